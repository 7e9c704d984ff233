/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-plan.h"

#include <math.h>
#include <string.h>

#include "pbm-format.h"

/* The name is the error domain's string at run time; clang-format would
 * read it as a subtraction and space it out. */
/* clang-format off */
G_DEFINE_QUARK(pbm-session-error-quark, pbm_session_error)
/* clang-format on */

#define DAY_US (G_GINT64_CONSTANT(24) * 3600 * G_USEC_PER_SEC)
/* pbmd stays this far below the panel's own cut-out temperature. */
#define PANEL_TEMP_MARGIN_C 5.0

gchar *
pbm_format_clock_time(gint64 unix_us)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local(unix_us / G_USEC_PER_SEC);

	return dt != NULL ? g_date_time_format(dt, "%H:%M") : g_strdup("?");
}

static void
panel_plan_free(PbmPanelPlan *pp)
{
	g_object_unref(pp->panel);
	g_free(pp->levels);
	g_free(pp);
}

PbmPlan *
pbm_plan_ref(PbmPlan *plan)
{
	g_atomic_int_inc(&plan->ref_count);
	return plan;
}

void
pbm_plan_unref(PbmPlan *plan)
{
	if (plan == NULL || !g_atomic_int_dec_and_test(&plan->ref_count))
		return;
	pbm_profile_unref(plan->profile);
	g_ptr_array_unref(plan->panels);
	g_strfreev(plan->warnings);
	g_free(plan);
}

const PbmStep *
pbm_plan_get_step(PbmPlan *plan, guint index)
{
	return g_ptr_array_index(plan->profile->steps, index);
}

guint
pbm_plan_get_step_count(PbmPlan *plan)
{
	return plan->profile->steps->len;
}

/* ---- the checks, in the order a person can act on them ---- */

static gboolean
check_panels(GPtrArray *panels, GError **error)
{
	if (panels == NULL || panels->len == 0) {
		g_set_error_literal(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_NO_PANEL,
		                    "no panel is connected; check the cable and that the panel is "
		                    "powered (lsusb lists it), and that the pbmd udev rule is "
		                    "installed");
		return FALSE;
	}
	for (guint i = 0; i < panels->len; i++) {
		PbmPanel *panel = g_ptr_array_index(panels, i);
		const PbmStatus *status = pbm_panel_get_status(panel);

		if (!pbm_panel_is_connected(panel)) {
			g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_NO_PANEL,
			            "panel %s is not connected; check its cable",
			            pbm_panel_get_serial(panel));
			return FALSE;
		}
		if (pbm_panel_get_faulty_reason(panel) != NULL) {
			g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_FAULT, "%s",
			            pbm_panel_get_faulty_reason(panel)->message);
			return FALSE;
		}
		if (status != NULL && status->faults != 0) {
			g_autofree gchar *faults = pbm_faults_describe(status->faults);
			g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_FAULT,
			            "panel %s has a latched fault (%s); let it cool, check the "
			            "fan, then clear it with the panel's ClearFault",
			            pbm_panel_get_serial(panel), faults);
			return FALSE;
		}
	}
	return TRUE;
}

gdouble
pbm_plan_temperature_limit(const PbmLimits *limits, PbmPanel *panel)
{
	gdouble panel_max = pbm_panel_get_info(panel)->t_max_dc / 10.0 - PANEL_TEMP_MARGIN_C;

	return MIN(limits->max_temperature_c, panel_max);
}

static gboolean
check_temperature(GPtrArray *panels, const PbmLimits *limits, GError **error)
{
	for (guint i = 0; i < panels->len; i++) {
		PbmPanel *panel = g_ptr_array_index(panels, i);
		const PbmStatus *status = pbm_panel_get_status(panel);
		gdouble limit = pbm_plan_temperature_limit(limits, panel);

		if (status != NULL && status->temperature_dc / 10.0 >= limit) {
			g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_SAFETY_LIMIT,
			            "panel %s is at %.1f °C, at or above the %.1f °C limit "
			            "(limits.max_temperature_c); let it cool and try again",
			            pbm_panel_get_serial(panel), status->temperature_dc / 10.0,
			            limit);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
check_watchdog(GPtrArray *panels, const PbmLimits *limits, GError **error)
{
	gint64 ms = limits->watchdog_timeout_us / 1000;

	for (guint i = 0; i < panels->len; i++) {
		PbmPanel *panel = g_ptr_array_index(panels, i);
		const PbmInfo *info = pbm_panel_get_info(panel);

		if (ms < info->watchdog_min_ms || ms > info->watchdog_max_ms) {
			g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_SAFETY_LIMIT,
			            "limits.watchdog_timeout_ms is %" G_GINT64_FORMAT
			            " ms but panel %s accepts %u to %u ms; change pbmd.conf",
			            ms, pbm_panel_get_serial(panel), info->watchdog_min_ms,
			            info->watchdog_max_ms);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
check_pulse(PbmProfile *profile, const PbmLimits *limits, GError **error)
{
	if (!pbm_profile_has_visible_pulse(profile) || limits->allow_visible_pulse)
		return TRUE;
	g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_SAFETY_LIMIT,
	            "profile %s pulses visible light at 3-60 Hz, which this system does not "
	            "allow (limits.allow_visible_pulse = false in pbmd.conf)",
	            profile->name);
	return FALSE;
}

/* A channel below 780 nm is visible whatever band the panel files it
 * under, so a step given per band can flicker visibly through nir. */
static const PbmChannel *
visible_flicker(PbmPlan *plan, PbmPanelPlan *pp, const PbmStep **step_out)
{
	const PbmChannel *ch = pbm_panel_get_channels(pp->panel);

	for (guint s = 0; s < pbm_plan_get_step_count(plan); s++) {
		const PbmStep *step = pbm_plan_get_step(plan, s);
		if (!pbm_step_pulse_is_flicker(step))
			continue;
		for (guint i = 0; i < pbm_panel_get_channel_count(pp->panel); i++) {
			if (pp->levels[s][i] > 0 && ch[i].wavelength_nm < PBM_VISIBLE_MAX_NM) {
				*step_out = step;
				return &ch[i];
			}
		}
	}
	return NULL;
}

/* Skin heats under strong light (shared domain notes: above about 50-100
 * mW/cm2); the limit is on both bands together, averaged over a pulse. */
static gboolean
check_irradiance(PbmPlan *plan, PbmPanelPlan *pp, GError **error)
{
	if (pp->estimate.max_irradiance <= plan->limits.max_irradiance + 1e-9)
		return TRUE;
	g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_SAFETY_LIMIT,
	            "profile %s gives up to %.1f mW/cm² (red and near-infrared together) at "
	            "%.1f cm on panel %s, above the %.1f mW/cm² limit for the skin "
	            "(limits.max_irradiance), which does not free with time; choose a profile with "
	            "a lower prescription%s",
	            plan->profile->name, pp->estimate.max_irradiance, plan->distance_cm,
	            pbm_panel_get_serial(pp->panel), plan->limits.max_irradiance,
	            pbm_profile_is_prescribed(plan->profile) ? ""
	                                                     : " or sit further from the panel");
	return FALSE;
}

static gboolean
check_panel_flicker(PbmPlan *plan, PbmPanelPlan *pp, GError **error)
{
	const PbmStep *step = NULL;
	const PbmChannel *ch = visible_flicker(plan, pp, &step);

	if (ch == NULL || (plan->profile->allow_visible_pulse && plan->limits.allow_visible_pulse))
		return TRUE;
	g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_SAFETY_LIMIT,
	            "step \"%s\" of %s pulses the %u nm channel of panel %s at %g Hz: light "
	            "below 780 nm is visible, and flicker at 3-60 Hz can trigger seizures; %s",
	            step->name, plan->profile->name, ch->wavelength_nm,
	            pbm_panel_get_serial(pp->panel), step->pulse_mhz / 1000.0,
	            plan->profile->allow_visible_pulse
	                    ? "this system does not allow it (limits.allow_visible_pulse)"
	                    : "the profile must opt in with allow_visible_pulse and a "
	                      "pulse_warning");
	return FALSE;
}

static gboolean
plan_panel(PbmPlan *plan, PbmPanel *panel, GError **error)
{
	PbmPanelPlan *pp = g_new0(PbmPanelPlan, 1);
	guint n_steps = pbm_plan_get_step_count(plan);
	const PbmChannel *ch = pbm_panel_get_channels(panel);
	guint n_ch = pbm_panel_get_channel_count(panel);
	g_autoptr(GError) local = NULL;
	PbmProfile at_distance;

	pp->panel = g_object_ref(panel);
	pp->levels = g_malloc0_n(n_steps, sizeof(*pp->levels));
	g_ptr_array_add(plan->panels, pp);
	if (!pbm_profile_check_distance(plan->profile, ch, n_ch, plan->distance_cm, &local)) {
		g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_INVALID, "panel %s: %s",
		            pbm_panel_get_serial(panel), local->message);
		return FALSE;
	}
	for (guint s = 0; s < n_steps; s++) {
		if (!pbm_step_levels_for_panel(pbm_plan_get_step(plan, s), ch, n_ch,
		                               plan->distance_cm, pp->levels[s], &local)) {
			g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_SAFETY_LIMIT,
			            "panel %s: %s", pbm_panel_get_serial(panel), local->message);
			return FALSE;
		}
	}
	/* The estimate is made at the session's distance, which may differ from
	 * the profile's. */
	at_distance = *plan->profile;
	at_distance.distance_cm = plan->distance_cm;
	if (!pbm_profile_estimate(&at_distance, ch, n_ch, &pp->estimate, &local)) {
		g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_INVALID, "panel %s: %s",
		            pbm_panel_get_serial(panel), local->message);
		return FALSE;
	}
	if (!check_panel_flicker(plan, pp, error) || !check_irradiance(plan, pp, error))
		return FALSE;
	plan->duration_us = MAX(plan->duration_us, pp->estimate.duration_us);
	for (guint b = 0; b < PBM_N_BANDS; b++)
		plan->dose[b] = MAX(plan->dose[b], pp->estimate.dose[b]);
	plan->eye_exposure += pp->estimate.eye_exposure;
	return TRUE;
}

static gboolean
check_length(PbmPlan *plan, GError **error)
{
	g_autofree gchar *planned = NULL, *limit = NULL;

	if (plan->duration_us <= plan->limits.max_session_us)
		return TRUE;
	planned = pbm_duration_format(plan->duration_us);
	limit = pbm_duration_format(plan->limits.max_session_us);
	g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_SAFETY_LIMIT,
	            "profile %s lasts %s at %.1f cm, longer than the %s limit "
	            "(limits.max_session)",
	            plan->profile->name, planned, plan->distance_cm, limit);
	return FALSE;
}

static gint
compare_recent(gconstpointer a, gconstpointer b)
{
	const PbmRecentDose *x = a, *y = b;

	return x->ended_at < y->ended_at ? -1 : x->ended_at > y->ended_at;
}

/* When enough of the window's dose has rolled out for this session to fit. */
static gint64
dose_frees_at(const PbmUsage *usage, guint band, gdouble total, gdouble max)
{
	g_autofree PbmRecentDose *sorted =
	        g_memdup2(usage->recent, usage->n_recent * sizeof(PbmRecentDose));

	qsort(sorted, usage->n_recent, sizeof(PbmRecentDose), compare_recent);
	for (guint i = 0; i < usage->n_recent; i++) {
		total -= sorted[i].dose[band];
		if (total <= max)
			return sorted[i].ended_at + DAY_US;
	}
	return 0;
}

static gboolean
check_daily_dose(PbmPlan *plan, const PbmUsage *usage, gint64 now, GError **error)
{
	for (guint b = 0; b < PBM_N_BANDS; b++) {
		gdouble used = 0, max = plan->limits.daily_dose_max[b], total;
		gint64 frees;
		g_autofree gchar *when = NULL, *clock_time = NULL;

		for (guint i = 0; i < usage->n_recent; i++)
			used += usage->recent[i].dose[b];
		total = used + plan->dose[b];
		if (plan->dose[b] <= 0 || total <= max)
			continue;
		frees = dose_frees_at(usage, b, total, max);
		clock_time = pbm_format_day_time(frees, now);
		when = frees > 0 ? g_strdup_printf("it fits again from %s", clock_time)
		                 : g_strdup("this profile alone exceeds it");
		g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_SAFETY_LIMIT,
		            "this session would bring the %s dose of the last 24 h to %.1f J/cm², "
		            "above the %.1f J/cm² limit (limits.daily_dose_%s); %s",
		            pbm_band_index_to_string(b), total, max, pbm_band_index_to_string(b),
		            when);
		return FALSE;
	}
	return TRUE;
}

static gboolean
check_session_dose(PbmPlan *plan, GError **error)
{
	gdouble total = plan->dose[0] + plan->dose[1];

	if (total <= plan->limits.session_dose_max + 1e-9)
		return TRUE;
	g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_SAFETY_LIMIT,
	            "profile %s gives %.1f J/cm² (red and near-infrared together) at %.1f cm, "
	            "above the %.1f J/cm² limit for one session (limits.session_dose_max), which "
	            "does not free with time; more light is not better (the dose response is "
	            "biphasic): choose a profile with a smaller dose",
	            plan->profile->name, total, plan->distance_cm, plan->limits.session_dose_max);
	return FALSE;
}

static gboolean
check_daily_total(PbmPlan *plan, const PbmUsage *usage, gint64 now, GError **error)
{
	g_autofree PbmRecentDose *combined = g_new0(PbmRecentDose, MAX(usage->n_recent, 1));
	PbmUsage as_one = *usage;
	gdouble total = plan->dose[0] + plan->dose[1], max = plan->limits.daily_dose_total;
	gint64 frees;
	g_autofree gchar *when = NULL, *day_time = NULL;

	/* the rolling window of both bands is that of one band holding both */
	for (guint i = 0; i < usage->n_recent; i++) {
		combined[i].ended_at = usage->recent[i].ended_at;
		combined[i].dose[0] = usage->recent[i].dose[0] + usage->recent[i].dose[1];
		total += combined[i].dose[0];
	}
	if (total <= max + 1e-9)
		return TRUE;
	as_one.recent = combined;
	frees = dose_frees_at(&as_one, 0, total, max);
	day_time = pbm_format_day_time(frees, now);
	when = frees > 0 ? g_strdup_printf("it fits again from %s", day_time)
	                 : g_strdup("this profile alone exceeds it");
	g_set_error(
	        error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_SAFETY_LIMIT,
	        "this session would bring the dose of the last 24 h (red and near-infrared "
	        "together) to %.1f J/cm², above the %.1f J/cm² limit (limits.daily_dose_total); "
	        "%s",
	        total, max, when);
	return FALSE;
}

static gboolean
check_min_interval(PbmPlan *plan, const PbmUsage *usage, gint64 now, GError **error)
{
	gint64 interval = plan->profile->min_interval_us;
	gint64 frees = usage->last_profile_end + interval;
	g_autofree gchar *length = NULL, *last = NULL, *when = NULL;

	if (interval == 0 || usage->last_profile_end == 0 || now >= frees)
		return TRUE;
	length = pbm_duration_format(interval);
	last = pbm_format_day_time(usage->last_profile_end, now);
	when = pbm_format_day_time(frees, now);
	g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_SAFETY_LIMIT,
	            "profile %s is meant to run at most every %s (its min_interval); its last "
	            "session ended at %s, so the next can start from %s",
	            plan->profile->name, length, last, when);
	return FALSE;
}

gboolean
pbm_plan_needs_goggles(const PbmPlan *plan)
{
	return plan->eye_exposure > plan->eye_limit;
}

/* IEC 62471: near-infrared gives no blink reflex, so the cornea and lens
 * take whatever the session sends them. */
static gboolean
check_eyes(PbmPlan *plan, GError **error)
{
	g_autofree gchar *length = NULL;

	plan->eye_limit = pbm_eye_ir_limit(plan->duration_us);
	if (!pbm_plan_needs_goggles(plan) || plan->goggles)
		return TRUE;
	length = pbm_duration_format(plan->duration_us);
	g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_SAFETY_LIMIT,
	            "at %.1f cm this session gives unprotected eyes %.0f J/m² of near-infrared "
	            "in %s, %.1f times the IEC 62471 limit of %.0f J/m²; wear goggles and say so "
	            "(pbmctl start --goggles, or the StartSession option goggles = true)%s",
	            plan->distance_cm, plan->eye_exposure, length,
	            plan->eye_exposure / plan->eye_limit, plan->eye_limit,
	            /* a prescription gives the eyes the same at any distance */
	            pbm_profile_is_prescribed(plan->profile) ? ""
	                                                     : ", or sit further from the panel");
	return FALSE;
}

static gboolean
plan_pulses_visibly(PbmPlan *plan)
{
	const PbmStep *step = NULL;

	if (pbm_profile_has_visible_pulse(plan->profile))
		return TRUE;
	for (guint i = 0; i < plan->panels->len; i++) {
		if (visible_flicker(plan, g_ptr_array_index(plan->panels, i), &step) != NULL)
			return TRUE;
	}
	return FALSE;
}

static void add_warning(GStrvBuilder *b, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

static void
add_warning(GStrvBuilder *b, const gchar *format, ...)
{
	g_autofree gchar *text = NULL;
	va_list args;

	va_start(args, format);
	text = g_strdup_vprintf(format, args);
	va_end(args);
	g_strv_builder_add(b, text);
}

static void
collect_warnings(PbmPlan *plan)
{
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	gdouble share = plan->eye_limit > 0 ? plan->eye_exposure / plan->eye_limit : 0;

	if (pbm_plan_needs_goggles(plan))
		add_warning(b,
		            "goggles: this session gives the eyes %.1f times the IEC 62471 "
		            "near-infrared limit at %.1f cm; keep the goggles on for the whole "
		            "session",
		            share, plan->distance_cm);
	else if (plan->profile->goggles_required)
		add_warning(
		        b,
		        "goggles: near-infrared light cannot be seen and gives no blink reflex; "
		        "wear the goggles and do not look into the panel (unprotected eyes "
		        "would get %.0f %% of the IEC 62471 limit at %.1f cm)",
		        share * 100, plan->distance_cm);
	if (plan_pulses_visibly(plan))
		add_warning(b, "visible-pulse: %s",
		            plan->profile->pulse_warning != NULL ? plan->profile->pulse_warning
		                                                 : "this session flickers visibly");
	plan->warnings = g_strv_builder_end(b);
}

static gboolean
check_gap(const PbmLimits *limits, const PbmUsage *usage, gint64 now, GError **error)
{
	gint64 frees = usage->last_end + limits->min_gap_us;
	g_autofree gchar *gap = NULL, *when = NULL;

	if (usage->last_end == 0 || now >= frees)
		return TRUE;
	gap = pbm_duration_format(limits->min_gap_us);
	when = pbm_format_clock_time(frees);
	g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_SAFETY_LIMIT,
	            "the last session ended less than %s ago (limits.min_gap); the next one can "
	            "start at %s",
	            gap, when);
	return FALSE;
}

PbmPlan *
pbm_plan_new(PbmProfile *profile, const PbmPlanRequest *request, GPtrArray *panels,
             const PbmLimits *limits, const PbmUsage *usage, gint64 now, GError **error)
{
	g_autoptr(PbmPlan) plan = g_new0(PbmPlan, 1);

	plan->ref_count = 1;
	plan->profile = pbm_profile_ref(profile);
	plan->distance_cm = request->distance_cm > 0 ? request->distance_cm : profile->distance_cm;
	plan->goggles = request->goggles;
	plan->limits = *limits;
	plan->watchdog_ms = limits->watchdog_timeout_us / 1000;
	plan->panels = g_ptr_array_new_with_free_func((GDestroyNotify)panel_plan_free);
	if (usage->session_active) {
		g_set_error_literal(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_BUSY,
		                    "a session is already running; StopSession stops it");
		return NULL;
	}
	if (!check_panels(panels, error) || !check_pulse(profile, limits, error) ||
	    !check_watchdog(panels, limits, error))
		return NULL;
	for (guint i = 0; i < panels->len; i++) {
		if (!plan_panel(plan, g_ptr_array_index(panels, i), error))
			return NULL;
	}
	if (!check_length(plan, error) || !check_session_dose(plan, error) ||
	    !check_eyes(plan, error) || !check_daily_dose(plan, usage, now, error) ||
	    !check_daily_total(plan, usage, now, error) ||
	    !check_min_interval(plan, usage, now, error) || !check_gap(limits, usage, now, error) ||
	    !check_temperature(panels, limits, error))
		return NULL;
	collect_warnings(plan);
	return g_steal_pointer(&plan);
}
