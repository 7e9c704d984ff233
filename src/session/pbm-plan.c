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
	for (guint s = 0; s < n_steps; s++) {
		if (!pbm_step_levels_for_panel(pbm_plan_get_step(plan, s), ch, n_ch, pp->levels[s],
		                               &local)) {
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
	plan->duration_us = MAX(plan->duration_us, pp->estimate.duration_us);
	for (guint b = 0; b < PBM_N_BANDS; b++)
		plan->dose[b] = MAX(plan->dose[b], pp->estimate.dose[b]);
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
check_daily_dose(PbmPlan *plan, const PbmUsage *usage, GError **error)
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
		clock_time = pbm_format_clock_time(frees);
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
pbm_plan_new(PbmProfile *profile, gdouble distance_cm, GPtrArray *panels, const PbmLimits *limits,
             const PbmUsage *usage, gint64 now, GError **error)
{
	g_autoptr(PbmPlan) plan = g_new0(PbmPlan, 1);

	plan->ref_count = 1;
	plan->profile = pbm_profile_ref(profile);
	plan->distance_cm = distance_cm > 0 ? distance_cm : profile->distance_cm;
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
	if (!check_length(plan, error) || !check_daily_dose(plan, usage, error) ||
	    !check_gap(limits, usage, now, error) || !check_temperature(panels, limits, error))
		return NULL;
	return g_steal_pointer(&plan);
}
