/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-recorded-session.h"

/* The history's rolling-dose sessions as the planner takes them. recent
 * holds what usage points to; free it with g_free(). */
static gboolean
usage_from_history(PbmHistory *history, gint64 now, PbmUsage *usage, PbmRecentDose **recent,
                   GError **error)
{
	g_autoptr(GArray) doses = pbm_history_recent_doses(history, now, error);
	gint64 last_end = 0;

	if (doses == NULL || !pbm_history_last_end(history, &last_end, error))
		return FALSE;
	*recent = g_new0(PbmRecentDose, MAX(doses->len, 1));
	for (guint i = 0; i < doses->len; i++) {
		const PbmHistoryDose *d = &g_array_index(doses, PbmHistoryDose, i);
		(*recent)[i] = (PbmRecentDose){
			.ended_at = d->ended_at,
			.dose = { d->dose[0], d->dose[1] },
		};
	}
	*usage = (PbmUsage){ .recent = *recent, .n_recent = doses->len, .last_end = last_end };
	return TRUE;
}

/* What a running session needs to write itself down. The history outlives
 * every session (the Manager owns both). */
typedef struct {
	PbmHistory *history;
	PbmClock *clock;
} Recorder;

static void
recorder_free(Recorder *r)
{
	g_object_unref(r->clock);
	g_free(r);
}

static void
on_checkpoint(PbmSession *session, gpointer user_data)
{
	Recorder *r = user_data;
	PbmHistory *history = r->history;
	g_autoptr(GError) error = NULL;
	gdouble dose[PBM_N_BANDS];

	pbm_session_get_dose(session, dose);
	/* A failed checkpoint loses at most a few seconds of dose accounting
	 * after a crash; it is not a reason to switch the light off. */
	if (!pbm_history_checkpoint(history, pbm_session_get_id(session),
	                            pbm_clock_now_wall(r->clock), dose,
	                            pbm_session_get_lit_time(session),
	                            pbm_session_get_max_temperature(session), &error))
		g_warning("%s", error->message);
}

static void
on_finished(PbmSession *session, gpointer user_data)
{
	Recorder *r = user_data;
	PbmHistory *history = r->history;
	g_autoptr(GError) error = NULL;
	gdouble dose[PBM_N_BANDS];

	pbm_session_get_dose(session, dose);
	if (!pbm_history_finish(history, pbm_session_get_id(session), pbm_clock_now_wall(r->clock),
	                        pbm_outcome_to_string(pbm_session_get_outcome(session)), dose,
	                        pbm_session_get_lit_time(session),
	                        pbm_session_get_max_temperature(session),
	                        pbm_session_get_faults(session), &error))
		g_warning("%s", error->message);
}

static void
started(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GError) error = NULL;

	/* The outcome is already recorded by on_finished. */
	if (!pbm_session_start_finish(PBM_SESSION(source), result, &error))
		g_warning("%s", error->message);
}

PbmSession *
pbm_recorded_session_start(PbmClock *clock, PbmHistory *history, PbmProfile *profile,
                           const PbmPlanRequest *request, GPtrArray *panels,
                           const PbmLimits *limits, gboolean session_active, guint32 owner_uid,
                           GError **error)
{
	gint64 now = pbm_clock_now_wall(clock);
	g_autofree PbmRecentDose *recent = NULL;
	g_autoptr(PbmPlan) plan = NULL;
	g_autoptr(GPtrArray) serials = g_ptr_array_new();
	g_autoptr(GError) local = NULL;
	PbmUsage usage;
	PbmHistoryStart start;
	gint64 id = 0;
	PbmSession *session;
	Recorder *recorder;

	/* Plan on a whole history: a session end that a full disk kept out
	 * goes in first, or nothing starts. */
	if (!pbm_history_flush(history, &local)) {
		g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_DEVICE,
		            "the session was not started because it cannot be recorded: %s",
		            local->message);
		return NULL;
	}
	if (!usage_from_history(history, now, &usage, &recent, &local)) {
		g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_DEVICE,
		            "the session was not started: the history cannot be read: %s",
		            local->message);
		return NULL;
	}
	usage.session_active = session_active;
	if (!pbm_history_last_profile_end(history, profile->name, &usage.last_profile_end,
	                                  &local)) {
		g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_DEVICE,
		            "the session was not started: the history cannot be read: %s",
		            local->message);
		return NULL;
	}
	plan = pbm_plan_new(profile, request, panels, limits, &usage, now, error);
	if (plan == NULL)
		return NULL;
	for (guint i = 0; i < plan->panels->len; i++)
		g_ptr_array_add(
		        serials,
		        (gpointer)pbm_panel_get_serial(
		                ((PbmPanelPlan *)g_ptr_array_index(plan->panels, i))->panel));
	g_ptr_array_add(serials, NULL);
	start = (PbmHistoryStart){
		.profile = profile->name,
		.panels = (const gchar *const *)serials->pdata,
		.owner_uid = owner_uid,
		.started_at = now,
		.planned_duration_us = plan->duration_us,
		.planned_dose = { plan->dose[0], plan->dose[1] },
		.distance_cm = plan->distance_cm,
		.goggles = plan->goggles,
	};
	/* Durable before the light goes on: a session that cannot be recorded
	 * does not run. */
	if (!pbm_history_begin(history, &start, &id, &local)) {
		g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_DEVICE,
		            "the session was not started because it cannot be recorded: %s",
		            local->message);
		return NULL;
	}
	session = pbm_session_new(clock, plan, id, owner_uid);
	recorder = g_new0(Recorder, 1);
	recorder->history = history;
	recorder->clock = g_object_ref(clock);
	g_object_set_data_full(G_OBJECT(session), "pbm-recorder", recorder,
	                       (GDestroyNotify)recorder_free);
	g_signal_connect(session, "checkpoint", G_CALLBACK(on_checkpoint), recorder);
	g_signal_connect(session, "finished", G_CALLBACK(on_finished), recorder);
	pbm_session_start_async(session, NULL, started, NULL);
	return session;
}
