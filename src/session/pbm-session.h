/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * PbmSession runs a plan on its panels in lockstep: arms each panel's
 * watchdog and on-device cap, sets the output of every step, feeds
 * heartbeats, ends steps on time (scheduled from the monotonic clock, not
 * from accumulated ticks) or on dose, counts the dose actually delivered
 * from the panels' own reports, and switches everything off on every way
 * out. It never resumes by itself after a fault or a disconnect.
 *
 * Time bound: a session may be active (pauses excluded) for its plan's
 * duration; a plan with a dose-ended step up to twice that (thermal
 * derating can halve the output); never more than limits.max_session.
 * Every set-output carries the on-device cap: that bound minus the active
 * time so far plus 10 s, rounded up to whole seconds, within the panel's
 * 1..max_session_s. It is renewed with each set-output, and resuming
 * re-lights with a fresh one, so a pbmd that hangs while its heartbeats go
 * on is stopped by the panel 10 s after the planned end. A timed plan ends
 * by its step timers; a plan with a dose-ended step that has not reached
 * its targets by the bound ends as a fault.
 */
#pragma once

#include "pbm-clock.h"
#include "pbm-plan.h"

G_BEGIN_DECLS

typedef enum {
	PBM_SESSION_STATE_STARTING,
	PBM_SESSION_STATE_RUNNING,
	PBM_SESSION_STATE_PAUSED,
	PBM_SESSION_STATE_FINISHED,
} PbmSessionState;

typedef enum {
	PBM_OUTCOME_NONE,
	PBM_OUTCOME_COMPLETED,
	PBM_OUTCOME_STOPPED,
	PBM_OUTCOME_STOPPED_AT_PANEL,
	PBM_OUTCOME_FAULT,
	PBM_OUTCOME_DISCONNECTED,
	PBM_OUTCOME_DAEMON_STOPPED,
	PBM_OUTCOME_INTERRUPTED,
} PbmOutcome;

const gchar *pbm_outcome_to_string(PbmOutcome outcome);
const gchar *pbm_session_state_to_string(PbmSessionState state);

/* How often a running session asks to be checkpointed to the history. */
#define PBM_SESSION_CHECKPOINT_US (5 * G_USEC_PER_SEC)
/* With thermal_action = derate, output drops to this share over the limit. */
#define PBM_SESSION_THERMAL_SCALE 0.5
/* ... and the session ends if the board still climbs this far past it. */
#define PBM_SESSION_THERMAL_MARGIN_C 3.0

#define PBM_TYPE_SESSION (pbm_session_get_type())
G_DECLARE_FINAL_TYPE(PbmSession, pbm_session, PBM, SESSION, GObject)

/* Signals:
 *   progress()      the dose or the elapsed time moved (often: coalesce)
 *   step-changed()  a new step began
 *   state-changed() running, paused or finished
 *   checkpoint()    time to write the dose so far to the history
 *   finished()      the session ended; the outcome is set, LEDs are off
 */

PbmSession *pbm_session_new(PbmClock *clock, PbmPlan *plan, gint64 id, guint32 owner_uid);

/* Lights the panels. Fails when a panel refuses; the session has then
 * finished (outcome fault or disconnected) with every panel switched off. */
void pbm_session_start_async(PbmSession *self, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
gboolean pbm_session_start_finish(PbmSession *self, GAsyncResult *result, GError **error);

gboolean pbm_session_pause(PbmSession *self, GError **error);
gboolean pbm_session_resume(PbmSession *self, GError **error);
gboolean pbm_session_stop(PbmSession *self, GError **error);
/* Ends the session from outside (daemon stopping, suspend) with outcome. */
void pbm_session_abort(PbmSession *self, PbmOutcome outcome, const gchar *reason);

gint64 pbm_session_get_id(PbmSession *self);
guint32 pbm_session_get_owner_uid(PbmSession *self);
PbmPlan *pbm_session_get_plan(PbmSession *self);
PbmSessionState pbm_session_get_state(PbmSession *self);
PbmOutcome pbm_session_get_outcome(PbmSession *self);
/* Why it ended, in a sentence; NULL while it runs. */
const gchar *pbm_session_get_reason(PbmSession *self);
gint64 pbm_session_get_started_at(PbmSession *self); /* unix usec */
guint pbm_session_get_step(PbmSession *self);
const gchar *pbm_session_get_step_name(PbmSession *self);
gint64 pbm_session_get_elapsed(PbmSession *self); /* active time, pauses excluded */
gint64 pbm_session_get_remaining(PbmSession *self);
gdouble pbm_session_get_progress(PbmSession *self);
/* J/cm2 delivered so far, per band: the highest of the panels. */
void pbm_session_get_dose(PbmSession *self, gdouble dose[PBM_N_BANDS]);
gint64 pbm_session_get_lit_time(PbmSession *self);
gdouble pbm_session_get_max_temperature(PbmSession *self);
/* Faults the panels reported during the session, "" if none. */
const gchar *pbm_session_get_faults(PbmSession *self);

G_END_DECLS
