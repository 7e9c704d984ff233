/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * PbmManager: the daemon's state. It owns the configuration, the profiles,
 * the panels (through the monitor), the history and the active session,
 * and it is where every request is decided. The D-Bus exporter in front of
 * it only translates.
 */
#pragma once

#include "pbm-config.h"
#include "pbm-history.h"
#include "pbm-panel-monitor.h"
#include "pbm-profile-store.h"
#include "pbm-session.h"

G_BEGIN_DECLS

typedef struct {
	const gchar *config_path; /* NULL: the built-in defaults only */
	guint simulate;           /* extra virtual panels from --simulate */
	/* Their models (pbm_sim_model_names()), panel by panel; NULL or
	 * shorter than simulate: "standard" for the rest. */
	const gchar *const *simulate_models;
	const gchar *state_dir;           /* where history.db goes by default */
	const gchar *const *profile_dirs; /* the build's default search path */
	PbmClock *clock;
} PbmManagerOptions;

#define PBM_TYPE_MANAGER (pbm_manager_get_type())
G_DECLARE_FINAL_TYPE(PbmManager, pbm_manager, PBM, MANAGER, GObject)

/* Signals:
 *   panel-added(PbmPanel *)
 *   session-started(PbmSession *)
 *   session-finished(PbmSession *)  the session is still the active one
 *                                   during it, and no longer afterwards
 *   changed()   the manager state, the set of panels or the configuration
 *               changed
 *
 * It lives on the safety context (pbm-bus-thread.h): everything here is
 * called there, except pbm_manager_no_such_profile(), which is pure.
 */

/* Loads the configuration (a broken one is an error naming file and line),
 * the profiles (broken ones are logged and skipped), opens the history and
 * closes rows a crash left open, and starts watching for panels. */
PbmManager *pbm_manager_new(const PbmManagerOptions *options, GError **error);

/* no-panel, idle, running, paused or fault */
const gchar *pbm_manager_get_state(PbmManager *self);
GPtrArray *pbm_manager_get_panels(PbmManager *self);
/* The running or paused session; NULL when none is. */
PbmSession *pbm_manager_get_session(PbmManager *self);
gboolean pbm_manager_session_active(PbmManager *self);
PbmProfileStore *pbm_manager_get_profiles(PbmManager *self);
/* Changes whenever the profiles are loaded again. */
guint pbm_manager_get_profiles_serial(PbmManager *self);
const PbmConfig *pbm_manager_get_config(PbmManager *self);
/* The history's file, as it was opened. */
gchar *pbm_manager_dup_history_path(PbmManager *self);
/* Panels still being probed (start-up waits for them before READY). */
guint pbm_manager_get_pending_probes(PbmManager *self);

/* Errors are in PBM_DBUS_ERROR, ready for the bus. */
/* serials NULL: every connected panel.
 * The session returned is the manager's until it ends, when the manager
 * lets go of it: a caller that reads it afterwards takes a reference. */
PbmSession *pbm_manager_start_session(PbmManager *self, const gchar *profile,
                                      const gchar *const *serials, const PbmPlanRequest *request,
                                      guint32 owner_uid, GError **error);
/* What pbm_manager_start_session() would plan, starting nothing: the same
 * profile, panels and limits, and the same refusals, but none of the
 * history (the rolling dose, the gap, the profile's min_interval: health
 * data, which only StartSession reads, once its caller is authorized), no
 * Busy while a session runs, and eye protection taken as acknowledged, so
 * that a plan over the eye limit is returned (pbm_plan_needs_goggles())
 * rather than refused. The plan holds the panels: let go of it here. */
PbmPlan *pbm_manager_estimate_session(PbmManager *self, const gchar *profile,
                                      const gchar *const *serials, const PbmPlanRequest *request,
                                      GError **error);
gboolean pbm_manager_stop_session(PbmManager *self, GError **error);
gboolean pbm_manager_pause_session(PbmManager *self, GError **error);
gboolean pbm_manager_resume_session(PbmManager *self, GError **error);
/* Re-reads the configuration and profiles; on error the old ones stay. */
gboolean pbm_manager_reload(PbmManager *self, GError **error);
/* Estimate of a profile on the first connected panel, which the other
 * returns (NULL: none). */
gboolean pbm_manager_estimate(PbmManager *self, PbmProfile *profile, PbmEstimate *out,
                              GError **error);
PbmPanel *pbm_manager_get_estimate_panel(PbmManager *self);
/* NoSuchProfile for name, saying why when its file was skipped (why: the
 * problem, or NULL); pure, so any thread may call it. */
void pbm_manager_no_such_profile(const gchar *name, const gchar *why, GError **error);

/* Ends the active session with outcome (daemon-stopped, interrupted),
 * switches every panel off and waits briefly for them to acknowledge. */
void pbm_manager_end_session(PbmManager *self, PbmOutcome outcome, const gchar *reason);
void pbm_manager_shutdown(PbmManager *self);
/* From now until released, StartSession is refused (Busy) with reason:
 * between SIGTERM and exit, and from PrepareForSleep(true) to resume, so
 * that no light starts while pbmd or the system is going away. */
void pbm_manager_hold_starts(PbmManager *self, const gchar *reason);
void pbm_manager_release_starts(PbmManager *self);
/* One line for systemd's STATUS=. */
gchar *pbm_manager_describe(PbmManager *self);

G_END_DECLS
