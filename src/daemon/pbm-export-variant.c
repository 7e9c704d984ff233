/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-export-variant.h"

GVariant *
pbm_export_channels_variant(PbmPanel *panel)
{
	const PbmChannel *ch = pbm_panel_get_channels(panel);
	GVariantBuilder list;

	g_variant_builder_init(&list, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < pbm_panel_get_channel_count(panel); i++) {
		GVariantBuilder c, points;
		g_variant_builder_init(&c, G_VARIANT_TYPE("a{sv}"));
		g_variant_builder_init(&points, G_VARIANT_TYPE("a(dd)"));
		for (guint p = 0; p < ch[i].point_count; p++)
			g_variant_builder_add(&points, "(dd)", ch[i].points[p].distance_mm / 10.0,
			                      ch[i].points[p].irradiance_cmw / 100.0);
		g_variant_builder_add(&c, "{sv}", "band",
		                      g_variant_new_string(pbm_band_to_string(ch[i].band)));
		g_variant_builder_add(&c, "{sv}", "wavelength_nm",
		                      g_variant_new_uint32(ch[i].wavelength_nm));
		g_variant_builder_add(&c, "{sv}", "max_level",
		                      g_variant_new_double(ch[i].max_level / 10.0));
		g_variant_builder_add(&c, "{sv}", "irradiance", g_variant_builder_end(&points));
		g_variant_builder_add(&list, "a{sv}", &c);
	}
	return g_variant_builder_end(&list);
}

/* A band's level as the file gave it: percent (red, nir) or a prescribed
 * irradiance (irradiance_red, irradiance_nir); 0 for the other. */
static void
add_band_level(GVariantBuilder *b, const PbmStep *s, PbmBandIndex band)
{
	const PbmLevel *l = &s->band[band];
	const gchar *name = pbm_band_index_to_string(band);
	g_autofree gchar *irradiance_key = g_strconcat("irradiance_", name, NULL);

	g_variant_builder_add(
	        b, "{sv}", name,
	        g_variant_new_double(l->kind == PBM_LEVEL_PERCENT ? l->permille / 10.0 : 0));
	g_variant_builder_add(
	        b, "{sv}", irradiance_key,
	        g_variant_new_double(l->kind == PBM_LEVEL_IRRADIANCE ? l->irradiance : 0));
}

static GVariant *
step_variant(const PbmStep *s)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "name", g_variant_new_string(s->name));
	g_variant_builder_add(&b, "{sv}", "duration_s",
	                      g_variant_new_uint64((guint64)(s->duration_us / G_USEC_PER_SEC)));
	g_variant_builder_add(&b, "{sv}", "dose_red", g_variant_new_double(s->dose_target[0]));
	g_variant_builder_add(&b, "{sv}", "dose_nir", g_variant_new_double(s->dose_target[1]));
	add_band_level(&b, s, PBM_BAND_INDEX_RED);
	add_band_level(&b, s, PBM_BAND_INDEX_NIR);
	g_variant_builder_add(&b, "{sv}", "pulse_hz", g_variant_new_double(s->pulse_mhz / 1000.0));
	g_variant_builder_add(&b, "{sv}", "duty", g_variant_new_double(s->duty / 10.0));
	g_variant_builder_add(&b, "{sv}", "ramp_s", g_variant_new_double(s->ramp_ms / 1000.0));
	return g_variant_builder_end(&b);
}

static GVariant *
steps_variant(PbmProfile *p)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < p->steps->len; i++)
		g_variant_builder_add_value(&b, step_variant(g_ptr_array_index(p->steps, i)));
	return g_variant_builder_end(&b);
}

static void
add_estimate(GVariantBuilder *b, PbmProfile *p, const PbmExportEstimate *e)
{
	const PbmEstimate *estimate = e->estimate;

	if (e->panel != NULL)
		g_variant_builder_add(b, "{sv}", "estimate_panel", g_variant_new_string(e->panel));
	if (e->error != NULL)
		g_variant_builder_add(b, "{sv}", "estimate_error", g_variant_new_string(e->error));
	if (estimate == NULL)
		return;
	g_variant_builder_add(
	        b, "{sv}", "duration_s",
	        g_variant_new_uint64((guint64)(estimate->duration_us / G_USEC_PER_SEC)));
	g_variant_builder_add(b, "{sv}", "dose_red", g_variant_new_double(estimate->dose[0]));
	g_variant_builder_add(b, "{sv}", "dose_nir", g_variant_new_double(estimate->dose[1]));
	g_variant_builder_add(b, "{sv}", "eye_exposure",
	                      g_variant_new_double(estimate->eye_exposure));
	g_variant_builder_add(b, "{sv}", "eye_limit",
	                      g_variant_new_double(pbm_eye_ir_limit(estimate->duration_us)));
}

GVariant *
pbm_export_profile_variant(PbmProfile *p, const PbmExportEstimate *e, gboolean with_steps)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "name", g_variant_new_string(p->name));
	g_variant_builder_add(&b, "{sv}", "title", g_variant_new_string(p->title));
	g_variant_builder_add(&b, "{sv}", "description", g_variant_new_string(p->description));
	g_variant_builder_add(&b, "{sv}", "distance_cm", g_variant_new_double(p->distance_cm));
	g_variant_builder_add(&b, "{sv}", "steps", g_variant_new_uint32(p->steps->len));
	g_variant_builder_add(&b, "{sv}", "goggles_required",
	                      g_variant_new_boolean(p->goggles_required));
	g_variant_builder_add(&b, "{sv}", "prescribed",
	                      g_variant_new_boolean(pbm_profile_is_prescribed(p)));
	if (p->min_interval_us > 0)
		g_variant_builder_add(
		        &b, "{sv}", "min_interval_s",
		        g_variant_new_uint64((guint64)(p->min_interval_us / G_USEC_PER_SEC)));
	g_variant_builder_add(&b, "{sv}", "visible_pulse",
	                      g_variant_new_boolean(pbm_profile_has_visible_pulse(p)));
	if (p->pulse_warning != NULL)
		g_variant_builder_add(&b, "{sv}", "pulse_warning",
		                      g_variant_new_string(p->pulse_warning));
	add_estimate(&b, p, e);
	if (with_steps)
		g_variant_builder_add(&b, "{sv}", "steps_detail", steps_variant(p));
	return g_variant_builder_end(&b);
}

GVariant *
pbm_export_history_variant(const PbmHistoryEntry *e)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "id", g_variant_new_int64(e->id));
	g_variant_builder_add(&b, "{sv}", "profile", g_variant_new_string(e->profile));
	g_variant_builder_add(&b, "{sv}", "panels",
	                      g_variant_new_strv((const gchar *const *)e->panels, -1));
	g_variant_builder_add(&b, "{sv}", "owner_uid", g_variant_new_uint32(e->owner_uid));
	g_variant_builder_add(&b, "{sv}", "started_at", g_variant_new_int64(e->started_at));
	g_variant_builder_add(&b, "{sv}", "ended_at", g_variant_new_int64(e->ended_at));
	g_variant_builder_add(&b, "{sv}", "outcome",
	                      g_variant_new_string(e->outcome != NULL ? e->outcome : ""));
	g_variant_builder_add(
	        &b, "{sv}", "duration_planned_s",
	        g_variant_new_uint64((guint64)(e->planned_duration_us / G_USEC_PER_SEC)));
	g_variant_builder_add(&b, "{sv}", "dose_red", g_variant_new_double(e->dose[0]));
	g_variant_builder_add(&b, "{sv}", "dose_nir", g_variant_new_double(e->dose[1]));
	g_variant_builder_add(&b, "{sv}", "lit_s", g_variant_new_double(e->lit_us / 1e6));
	g_variant_builder_add(&b, "{sv}", "max_temperature",
	                      g_variant_new_double(e->max_temperature_c));
	g_variant_builder_add(&b, "{sv}", "faults",
	                      g_variant_new_string(e->faults != NULL ? e->faults : ""));
	g_variant_builder_add(&b, "{sv}", "goggles", g_variant_new_boolean(e->goggles));
	return g_variant_builder_end(&b);
}

static GVariant *
panel_serials(PbmPlan *plan)
{
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	g_auto(GStrv) serials = NULL;

	for (guint i = 0; i < plan->panels->len; i++) {
		PbmPanelPlan *pp = g_ptr_array_index(plan->panels, i);
		g_strv_builder_add(b, pbm_panel_get_serial(pp->panel));
	}
	serials = g_strv_builder_end(b);
	return g_variant_new_strv((const gchar *const *)serials, -1);
}

/* The brightest panel, as the irradiance cap is checked panel by panel. */
static gdouble
max_irradiance(PbmPlan *plan)
{
	gdouble max = 0;

	for (guint i = 0; i < plan->panels->len; i++) {
		PbmPanelPlan *pp = g_ptr_array_index(plan->panels, i);
		max = MAX(max, pp->estimate.max_irradiance);
	}
	return max;
}

GVariant *
pbm_export_estimate_variant(PbmPlan *plan)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "profile", g_variant_new_string(plan->profile->name));
	g_variant_builder_add(&b, "{sv}", "distance_cm", g_variant_new_double(plan->distance_cm));
	g_variant_builder_add(&b, "{sv}", "panels", panel_serials(plan));
	g_variant_builder_add(&b, "{sv}", "duration_s",
	                      g_variant_new_uint64((guint64)(plan->duration_us / G_USEC_PER_SEC)));
	g_variant_builder_add(&b, "{sv}", "dose_red", g_variant_new_double(plan->dose[0]));
	g_variant_builder_add(&b, "{sv}", "dose_nir", g_variant_new_double(plan->dose[1]));
	g_variant_builder_add(&b, "{sv}", "max_irradiance",
	                      g_variant_new_double(max_irradiance(plan)));
	g_variant_builder_add(&b, "{sv}", "eye_exposure", g_variant_new_double(plan->eye_exposure));
	g_variant_builder_add(&b, "{sv}", "eye_limit", g_variant_new_double(plan->eye_limit));
	g_variant_builder_add(&b, "{sv}", "goggles_needed",
	                      g_variant_new_boolean(pbm_plan_needs_goggles(plan)));
	g_variant_builder_add(&b, "{sv}", "warnings",
	                      g_variant_new_strv((const gchar *const *)plan->warnings, -1));
	return g_variant_builder_end(&b);
}

static guint64
seconds(gint64 us)
{
	return (guint64)(us / G_USEC_PER_SEC);
}

GVariant *
pbm_export_limits_variant(const PbmLimits *l)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "max_session_s",
	                      g_variant_new_uint64(seconds(l->max_session_us)));
	g_variant_builder_add(&b, "{sv}", "daily_dose_red",
	                      g_variant_new_double(l->daily_dose_max[PBM_BAND_INDEX_RED]));
	g_variant_builder_add(&b, "{sv}", "daily_dose_nir",
	                      g_variant_new_double(l->daily_dose_max[PBM_BAND_INDEX_NIR]));
	g_variant_builder_add(&b, "{sv}", "daily_dose_total",
	                      g_variant_new_double(l->daily_dose_total));
	g_variant_builder_add(&b, "{sv}", "session_dose_max",
	                      g_variant_new_double(l->session_dose_max));
	g_variant_builder_add(&b, "{sv}", "max_irradiance",
	                      g_variant_new_double(l->max_irradiance));
	g_variant_builder_add(&b, "{sv}", "min_gap_s",
	                      g_variant_new_uint64(seconds(l->min_gap_us)));
	g_variant_builder_add(&b, "{sv}", "max_pause_s",
	                      g_variant_new_uint64(seconds(l->max_pause_us)));
	g_variant_builder_add(&b, "{sv}", "max_temperature",
	                      g_variant_new_double(l->max_temperature_c));
	g_variant_builder_add(&b, "{sv}", "allow_visible_pulse",
	                      g_variant_new_boolean(l->allow_visible_pulse));
	g_variant_builder_add(
	        &b, "{sv}", "thermal_action",
	        g_variant_new_string(l->thermal_action == PBM_THERMAL_STOP ? "stop" : "derate"));
	return g_variant_builder_end(&b);
}

GVariant *
pbm_export_summary_variant(PbmSession *s)
{
	GVariantBuilder b;
	gdouble dose[PBM_N_BANDS];

	pbm_session_get_dose(s, dose);
	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	/* a broadcast: no profile name, which is health data (the Session
	 * object has it) */
	g_variant_builder_add(&b, "{sv}", "reason",
	                      g_variant_new_string(pbm_session_get_reason(s)));
	g_variant_builder_add(&b, "{sv}", "dose_red", g_variant_new_double(dose[0]));
	g_variant_builder_add(&b, "{sv}", "dose_nir", g_variant_new_double(dose[1]));
	g_variant_builder_add(&b, "{sv}", "elapsed_s",
	                      g_variant_new_double(pbm_session_get_elapsed(s) / 1e6));
	g_variant_builder_add(&b, "{sv}", "lit_s",
	                      g_variant_new_double(pbm_session_get_lit_time(s) / 1e6));
	g_variant_builder_add(&b, "{sv}", "max_temperature",
	                      g_variant_new_double(pbm_session_get_max_temperature(s)));
	g_variant_builder_add(&b, "{sv}", "faults",
	                      g_variant_new_string(pbm_session_get_faults(s)));
	return g_variant_builder_end(&b);
}
