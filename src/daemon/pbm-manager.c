/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-manager.h"

#include <string.h>

#include "pbm-dbus-error.h"
#include "pbm-format.h"
#include "pbm-log.h"
#include "pbm-recorded-session.h"

/* How long shutdown waits for panels to confirm they are dark. */
#define SHUTDOWN_WAIT_US (2 * G_USEC_PER_SEC)

struct _PbmManager {
	GObject parent_instance;

	PbmClock *clock;
	gchar *config_path;
	gchar **default_profile_dirs;
	gchar *state_dir;
	guint simulate;
	gchar **simulate_models;
	PbmConfig *config;
	PbmProfileStore *profiles;
	guint profiles_serial;
	gchar *starts_held; /* why no session may start now, or NULL */
	PbmPanelMonitor *monitor;
	GPtrArray *sims; /* PbmSimTransport */
	PbmHistory *history;
	PbmSession *session; /* the active one; NULL once it has finished */
	guint pending_off;
	gchar *last_refusal; /* why the latest panel was refused, until one connects */
	gboolean stopping;   /* panels let go at shutdown are not logged as disconnected */
};

G_DEFINE_TYPE(PbmManager, pbm_manager, G_TYPE_OBJECT)

enum {
	SIGNAL_PANEL_ADDED,
	SIGNAL_SESSION_STARTED,
	SIGNAL_SESSION_FINISHED,
	SIGNAL_CHANGED,
	N_SIGNALS
};
static guint signals[N_SIGNALS];

/* ---- loading ---- */

static PbmConfig *
load_config(PbmManager *self, GError **error)
{
	if (self->config_path == NULL)
		return pbm_config_new_default((const gchar *const *)self->default_profile_dirs);
	return pbm_config_load(self->config_path, (const gchar *const *)self->default_profile_dirs,
	                       error);
}

static PbmProfileStore *
load_profiles(PbmConfig *config)
{
	PbmProfileStore *store =
	        pbm_profile_store_load((const gchar *const *)config->profile_dirs, NULL);
	GPtrArray *problems = pbm_profile_store_get_problems(store);
	GPtrArray *notes = pbm_profile_store_get_notes(store);

	for (guint i = 0; i < problems->len; i++)
		g_warning("profile skipped: %s",
		          ((GError *)g_ptr_array_index(problems, i))->message);
	for (guint i = 0; i < notes->len; i++)
		g_message("%s", (const gchar *)g_ptr_array_index(notes, i));
	return store;
}

static gchar *
history_path(PbmManager *self)
{
	if (self->config->history_path != NULL)
		return g_strdup(self->config->history_path);
	return g_build_filename(self->state_dir, "history.db", NULL);
}

static gboolean
open_history(PbmManager *self, GError **error)
{
	g_autofree gchar *path = history_path(self);
	gint recovered;

	self->history = pbm_history_open(path, error);
	if (self->history == NULL)
		return FALSE;
	if (pbm_history_get_recovery_note(self->history) != NULL)
		g_warning("%s", pbm_history_get_recovery_note(self->history));
	recovered = pbm_history_recover_interrupted(self->history, error);
	if (recovered < 0)
		return FALSE;
	if (recovered > 0)
		g_message(
		        "%d session(s) left open by a crash or power loss recorded as interrupted",
		        recovered);
	return TRUE;
}

static void
on_panel_added(PbmPanelMonitor *monitor, PbmPanel *panel, PbmManager *self)
{
	g_signal_emit(self, signals[SIGNAL_PANEL_ADDED], 0, panel);
}

static void
on_panel_changed(PbmPanelMonitor *monitor, PbmPanel *panel, PbmManager *self)
{
	g_clear_pointer(&self->last_refusal, g_free);
	pbm_log_panel_connected(panel);
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

/* Kept so that a refused session can say why no panel is there: the log
 * line alone is not where a pbmctl user looks. */
static void
on_probe_failed(PbmPanelMonitor *monitor, const gchar *location, const GError *error,
                PbmManager *self)
{
	g_free(self->last_refusal);
	/* most messages already name the panel's location */
	self->last_refusal = strstr(error->message, location) != NULL
	                             ? g_strdup(error->message)
	                             : g_strdup_printf("%s: %s", location, error->message);
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

static void
on_panel_state(PbmPanel *panel, GParamSpec *pspec, PbmManager *self)
{
	if (pbm_panel_get_state(panel) == PBM_PANEL_STATE_FAULT ||
	    pbm_panel_get_state(panel) == PBM_PANEL_STATE_FAULTY)
		pbm_log_panel_fault(panel);
	else if (pbm_panel_get_state(panel) == PBM_PANEL_STATE_DISCONNECTED && !self->stopping)
		pbm_log_panel_disconnected(panel);
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

static void
watch_panel(PbmPanelMonitor *monitor, PbmPanel *panel, PbmManager *self)
{
	g_signal_connect(panel, "notify::state", G_CALLBACK(on_panel_state), self);
}

/* Panels beyond the --simulate list of models are standard ones. */
static gboolean
simulated_config(PbmManager *self, guint i, const gchar *serial, PbmSimConfig *sim, GError **error)
{
	if (self->simulate_models == NULL || i >= g_strv_length(self->simulate_models)) {
		pbm_sim_config_init(sim, serial);
		return TRUE;
	}
	return pbm_sim_config_init_model(sim, serial, self->simulate_models[i], error);
}

static void
start_panels(PbmManager *self)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(PbmUsbId));
	guint n_sim = MAX(self->simulate, self->config->simulated->len);

	for (guint i = 0; i < self->config->devices->len; i++) {
		PbmDeviceMatch *m = &g_array_index(self->config->devices, PbmDeviceMatch, i);
		PbmUsbId id = { m->vid, m->pid };
		g_array_append_val(ids, id);
	}
	if (ids->len > 0 &&
	    !pbm_panel_monitor_add_usb(self->monitor, (PbmUsbId *)ids->data, ids->len, &error))
		g_message("%s; carrying on with simulated panels only", error->message);
	for (guint i = 0; i < n_sim; i++) {
		PbmSimConfig sim;
		g_autofree gchar *serial =
		        i < self->config->simulated->len
		                ? g_strdup(g_ptr_array_index(self->config->simulated, i))
		                : g_strdup_printf("SIM%04u", i + 1);
		g_autoptr(GError) sim_error = NULL;
		PbmSimTransport *t;

		if (!simulated_config(self, i, serial, &sim, &sim_error)) {
			g_warning("%s", sim_error->message);
			continue;
		}
		t = pbm_panel_monitor_add_sim(self->monitor, &sim, &sim_error);
		if (t == NULL)
			g_warning("%s", sim_error->message);
		else
			g_ptr_array_add(self->sims, t);
	}
}

PbmManager *
pbm_manager_new(const PbmManagerOptions *options, GError **error)
{
	g_autoptr(PbmManager) self = g_object_new(PBM_TYPE_MANAGER, NULL);

	self->clock = g_object_ref(options->clock);
	self->config_path = g_strdup(options->config_path);
	self->default_profile_dirs = g_strdupv((gchar **)options->profile_dirs);
	self->state_dir = g_strdup(options->state_dir);
	self->simulate = options->simulate;
	self->simulate_models = g_strdupv((gchar **)options->simulate_models);
	self->config = load_config(self, error);
	if (self->config == NULL)
		return NULL;
	self->profiles = load_profiles(self->config);
	if (!open_history(self, error))
		return NULL;
	self->monitor = pbm_panel_monitor_new(self->clock);
	g_signal_connect(self->monitor, "panel-added", G_CALLBACK(on_panel_added), self);
	g_signal_connect(self->monitor, "panel-added", G_CALLBACK(watch_panel), self);
	g_signal_connect(self->monitor, "panel-connected", G_CALLBACK(on_panel_changed), self);
	g_signal_connect(self->monitor, "probe-failed", G_CALLBACK(on_probe_failed), self);
	start_panels(self);
	return g_steal_pointer(&self);
}

/* ---- state ---- */

gboolean
pbm_manager_session_active(PbmManager *self)
{
	return self->session != NULL &&
	       pbm_session_get_state(self->session) != PBM_SESSION_STATE_FINISHED;
}

const gchar *
pbm_manager_get_state(PbmManager *self)
{
	GPtrArray *panels = pbm_panel_monitor_get_panels(self->monitor);
	gboolean any = FALSE;

	if (pbm_manager_session_active(self))
		return pbm_session_get_state(self->session) == PBM_SESSION_STATE_PAUSED ? "paused"
		                                                                        : "running";
	for (guint i = 0; i < panels->len; i++) {
		PbmPanel *panel = g_ptr_array_index(panels, i);
		PbmPanelState state = pbm_panel_get_state(panel);
		if (state == PBM_PANEL_STATE_FAULT || state == PBM_PANEL_STATE_FAULTY)
			return "fault";
		any |= pbm_panel_is_connected(panel);
	}
	return any ? "idle" : "no-panel";
}

GPtrArray *
pbm_manager_get_panels(PbmManager *self)
{
	return pbm_panel_monitor_get_panels(self->monitor);
}

PbmSession *
pbm_manager_get_session(PbmManager *self)
{
	return pbm_manager_session_active(self) ? self->session : NULL;
}

gchar *
pbm_manager_dup_history_path(PbmManager *self)
{
	return history_path(self);
}

PbmProfileStore *
pbm_manager_get_profiles(PbmManager *self)
{
	return self->profiles;
}

guint
pbm_manager_get_profiles_serial(PbmManager *self)
{
	return self->profiles_serial;
}

const PbmConfig *
pbm_manager_get_config(PbmManager *self)
{
	return self->config;
}

guint
pbm_manager_get_pending_probes(PbmManager *self)
{
	return pbm_panel_monitor_get_pending_probes(self->monitor);
}

PbmPanel *
pbm_manager_get_estimate_panel(PbmManager *self)
{
	GPtrArray *panels = pbm_panel_monitor_get_panels(self->monitor);

	for (guint i = 0; i < panels->len; i++) {
		PbmPanel *panel = g_ptr_array_index(panels, i);
		if (pbm_panel_is_connected(panel))
			return panel;
	}
	return NULL;
}

gboolean
pbm_manager_estimate(PbmManager *self, PbmProfile *profile, PbmEstimate *out, GError **error)
{
	PbmPanel *panel = pbm_manager_get_estimate_panel(self);

	if (panel == NULL) {
		g_set_error_literal(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_NO_PANEL,
		                    "no panel is connected");
		return FALSE;
	}
	return pbm_profile_estimate(profile, pbm_panel_get_channels(panel),
	                            pbm_panel_get_channel_count(panel), out, error);
}

/* ---- sessions ---- */

static gint
dbus_code_for(const GError *error)
{
	if (error->domain != PBM_SESSION_ERROR)
		return PBM_DBUS_ERROR_DEVICE;
	switch (error->code) {
	case PBM_SESSION_ERROR_BUSY:
		return PBM_DBUS_ERROR_BUSY;
	case PBM_SESSION_ERROR_NO_PANEL:
		return PBM_DBUS_ERROR_NO_PANEL;
	case PBM_SESSION_ERROR_FAULT:
		return PBM_DBUS_ERROR_FAULT;
	case PBM_SESSION_ERROR_SAFETY_LIMIT:
		return PBM_DBUS_ERROR_SAFETY_LIMIT;
	case PBM_SESSION_ERROR_INVALID:
		return PBM_DBUS_ERROR_INVALID_ARGS;
	case PBM_SESSION_ERROR_NOT_RUNNING:
		return PBM_DBUS_ERROR_NOT_RUNNING;
	default:
		return PBM_DBUS_ERROR_DEVICE;
	}
}

static void
propagate_for_bus(GError **error, GError *local)
{
	g_set_error_literal(error, PBM_DBUS_ERROR, dbus_code_for(local), local->message);
	g_error_free(local);
}

static GPtrArray *
select_panels(PbmManager *self, const gchar *const *serials, GError **error)
{
	GPtrArray *all = pbm_panel_monitor_get_panels(self->monitor);
	g_autoptr(GPtrArray) chosen = g_ptr_array_new();

	if (serials == NULL) {
		for (guint i = 0; i < all->len; i++) {
			if (pbm_panel_is_connected(g_ptr_array_index(all, i)))
				g_ptr_array_add(chosen, g_ptr_array_index(all, i));
		}
		return g_steal_pointer(&chosen);
	}
	for (guint i = 0; serials[i] != NULL; i++) {
		PbmPanel *panel = pbm_panel_monitor_find(self->monitor, serials[i]);
		if (panel == NULL) {
			g_set_error(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_NO_PANEL,
			            "there is no panel with serial \"%s\"; the Serial property of "
			            "each panel in Panels gives them",
			            serials[i]);
			return NULL;
		}
		if (!g_ptr_array_find(chosen, panel, NULL))
			g_ptr_array_add(chosen, panel);
	}
	return g_steal_pointer(&chosen);
}

/* The session is let go only after session-finished, so that its
 * listeners still see it as the active one; "changed" then tells them that
 * none is. */
static void
on_session_finished(PbmSession *session, PbmManager *self)
{
	pbm_log_session_finished(session);
	g_signal_emit(self, signals[SIGNAL_SESSION_FINISHED], 0, session);
	if (self->session == session) {
		g_signal_handlers_disconnect_by_data(session, self);
		g_clear_object(&self->session);
	}
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

static void
on_session_state(PbmSession *session, PbmManager *self)
{
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

static PbmProfile *
lookup_profile(PbmManager *self, const gchar *name, GError **error)
{
	PbmProfile *profile = pbm_profile_store_lookup(self->profiles, name);
	const GError *why = NULL;

	if (profile != NULL)
		return profile;
	why = g_hash_table_lookup(pbm_profile_store_get_skipped(self->profiles), name);
	pbm_manager_no_such_profile(name, why != NULL ? why->message : NULL, error);
	return NULL;
}

void
pbm_manager_no_such_profile(const gchar *name, const gchar *why, GError **error)
{
	if (why != NULL) {
		g_set_error(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_NO_SUCH_PROFILE,
		            "profile \"%s\" was not loaded: %s", name, why);
		return;
	}
	g_set_error(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_NO_SUCH_PROFILE,
	            "there is no profile \"%s\"; ListProfiles lists the installed ones", name);
}

/* A plan refused for want of a panel says why the last one was refused,
 * when none was selected: the log line alone is not where a client looks. */
static void
explain_no_panel(PbmManager *self, GPtrArray *panels, GError **local)
{
	if (panels->len > 0 || self->last_refusal == NULL ||
	    !g_error_matches(*local, PBM_SESSION_ERROR, PBM_SESSION_ERROR_NO_PANEL))
		return;
	g_clear_error(local);
	g_set_error(local, PBM_SESSION_ERROR, PBM_SESSION_ERROR_NO_PANEL, "no panel is usable: %s",
	            self->last_refusal);
}

PbmPlan *
pbm_manager_estimate_session(PbmManager *self, const gchar *name, const gchar *const *serials,
                             const PbmPlanRequest *request, GError **error)
{
	const PbmUsage no_history = { 0 };
	PbmPlanRequest acknowledged = *request;
	g_autoptr(GPtrArray) panels = NULL;
	GError *local = NULL;
	PbmProfile *profile = lookup_profile(self, name, error);
	PbmPlan *plan;

	if (profile == NULL)
		return NULL;
	panels = select_panels(self, serials, error);
	if (panels == NULL)
		return NULL;
	acknowledged.goggles = TRUE;
	plan = pbm_plan_new(profile, &acknowledged, panels, &self->config->limits, &no_history,
	                    pbm_clock_now_wall(self->clock), &local);
	if (plan == NULL) {
		explain_no_panel(self, panels, &local);
		propagate_for_bus(error, local);
	}
	return plan;
}

PbmSession *
pbm_manager_start_session(PbmManager *self, const gchar *name, const gchar *const *serials,
                          const PbmPlanRequest *request, guint32 owner_uid, GError **error)
{
	g_autoptr(GPtrArray) panels = NULL;
	GError *local = NULL;
	PbmSession *session;
	PbmProfile *profile = NULL;

	if (self->starts_held != NULL) {
		g_set_error(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_BUSY,
		            "no session may start now: %s", self->starts_held);
		pbm_log_session_refused(name, self->starts_held);
		return NULL;
	}
	profile = lookup_profile(self, name, &local);
	if (profile == NULL) {
		pbm_log_session_refused(name, local->message);
		g_propagate_error(error, local);
		return NULL;
	}
	panels = select_panels(self, serials, error);
	if (panels == NULL)
		return NULL;
	session = pbm_recorded_session_start(self->clock, self->history, profile, request, panels,
	                                     &self->config->limits,
	                                     pbm_manager_session_active(self), owner_uid, &local);
	if (session == NULL) {
		explain_no_panel(self, panels, &local);
		pbm_log_session_refused(name, local->message);
		propagate_for_bus(error, local);
		return NULL;
	}
	if (self->session != NULL)
		g_signal_handlers_disconnect_by_data(self->session, self);
	g_set_object(&self->session, session);
	g_object_unref(session);
	g_signal_connect(session, "finished", G_CALLBACK(on_session_finished), self);
	g_signal_connect(session, "state-changed", G_CALLBACK(on_session_state), self);
	pbm_log_session_started(session);
	g_signal_emit(self, signals[SIGNAL_SESSION_STARTED], 0, session);
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
	return session;
}

static gboolean
with_session(PbmManager *self, GError **error)
{
	if (pbm_manager_session_active(self))
		return TRUE;
	g_set_error_literal(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_NOT_RUNNING,
	                    "no session is running; StartSession starts one");
	return FALSE;
}

static gboolean
session_call(PbmManager *self, gboolean (*call)(PbmSession *, GError **), GError **error)
{
	GError *local = NULL;

	if (!with_session(self, error))
		return FALSE;
	if (!call(self->session, &local)) {
		propagate_for_bus(error, local);
		return FALSE;
	}
	return TRUE;
}

gboolean
pbm_manager_stop_session(PbmManager *self, GError **error)
{
	return session_call(self, pbm_session_stop, error);
}

gboolean
pbm_manager_pause_session(PbmManager *self, GError **error)
{
	return session_call(self, pbm_session_pause, error);
}

gboolean
pbm_manager_resume_session(PbmManager *self, GError **error)
{
	return session_call(self, pbm_session_resume, error);
}

gboolean
pbm_manager_reload(PbmManager *self, GError **error)
{
	GError *local = NULL;
	PbmConfig *config = load_config(self, &local);

	if (config == NULL) {
		g_warning("configuration not reloaded, the running one stays: %s", local->message);
		g_set_error(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_INVALID_ARGS,
		            "the configuration was not reloaded and the running one stays: %s",
		            local->message);
		g_error_free(local);
		return FALSE;
	}
	/* Limits apply from the next session on; panels and the history stay as
	 * they are until restart. */
	pbm_config_free(self->config);
	self->config = config;
	pbm_profile_store_free(self->profiles);
	self->profiles = load_profiles(self->config);
	self->profiles_serial++;
	g_message("configuration and profiles reloaded");
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
	return TRUE;
}

/* ---- stopping ---- */

static void
off_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	PbmManager *self = user_data;

	pbm_panel_all_off_finish(PBM_PANEL(source), result, NULL);
	self->pending_off--;
}

void
pbm_manager_end_session(PbmManager *self, PbmOutcome outcome, const gchar *reason)
{
	GPtrArray *panels = pbm_panel_monitor_get_panels(self->monitor);
	gint64 until = g_get_monotonic_time() + SHUTDOWN_WAIT_US;

	if (pbm_manager_session_active(self))
		pbm_session_abort(self->session, outcome, reason);
	/* Every panel, in or out of the session, confirms it is dark before
	 * pbmd goes on (bounded: the firmware watchdog covers the rest). */
	for (guint i = 0; i < panels->len; i++) {
		PbmPanel *panel = g_ptr_array_index(panels, i);
		if (!pbm_panel_is_connected(panel))
			continue;
		self->pending_off++;
		pbm_panel_all_off_async(panel, NULL, off_done, self);
	}
	while (self->pending_off > 0 && g_get_monotonic_time() < until)
		g_main_context_iteration(NULL, TRUE);
}

void
pbm_manager_shutdown(PbmManager *self)
{
	pbm_manager_hold_starts(self, "pbmd is stopping");
	pbm_manager_end_session(self, PBM_OUTCOME_DAEMON_STOPPED, "pbmd is stopping");
	self->stopping = TRUE;
	pbm_panel_monitor_shutdown(self->monitor);
}

void
pbm_manager_hold_starts(PbmManager *self, const gchar *reason)
{
	g_free(self->starts_held);
	self->starts_held = g_strdup(reason);
}

void
pbm_manager_release_starts(PbmManager *self)
{
	g_clear_pointer(&self->starts_held, g_free);
}

gchar *
pbm_manager_describe(PbmManager *self)
{
	GPtrArray *panels = pbm_panel_monitor_get_panels(self->monitor);
	guint connected = 0;

	for (guint i = 0; i < panels->len; i++)
		connected += pbm_panel_is_connected(g_ptr_array_index(panels, i));
	if (pbm_manager_session_active(self)) {
		g_autofree gchar *left =
		        pbm_duration_format(pbm_session_get_remaining(self->session));
		PbmPlan *plan = pbm_session_get_plan(self->session);
		return g_strdup_printf("%s %s on %u panel%s, %s left",
		                       pbm_session_get_state(self->session) ==
		                                       PBM_SESSION_STATE_PAUSED
		                               ? "Paused"
		                               : "Running",
		                       plan->profile->name, plan->panels->len,
		                       plan->panels->len == 1 ? "" : "s", left);
	}
	if (connected == 0)
		return g_strdup("Waiting for a panel");
	return g_strdup_printf("Idle, %u panel%s connected", connected, connected == 1 ? "" : "s");
}

/* ---- lifecycle ---- */

static void
pbm_manager_dispose(GObject *object)
{
	PbmManager *self = PBM_MANAGER(object);

	if (self->session != NULL)
		g_signal_handlers_disconnect_by_data(self->session, self);
	g_clear_object(&self->session);
	g_clear_pointer(&self->sims, g_ptr_array_unref);
	g_clear_object(&self->monitor);
	G_OBJECT_CLASS(pbm_manager_parent_class)->dispose(object);
}

static void
pbm_manager_finalize(GObject *object)
{
	PbmManager *self = PBM_MANAGER(object);

	g_clear_pointer(&self->history, pbm_history_free);
	g_clear_pointer(&self->profiles, pbm_profile_store_free);
	g_clear_pointer(&self->config, pbm_config_free);
	g_strfreev(self->default_profile_dirs);
	g_strfreev(self->simulate_models);
	g_free(self->config_path);
	g_free(self->state_dir);
	g_free(self->last_refusal);
	g_free(self->starts_held);
	g_clear_object(&self->clock);
	G_OBJECT_CLASS(pbm_manager_parent_class)->finalize(object);
}

static void
pbm_manager_class_init(PbmManagerClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = pbm_manager_dispose;
	object_class->finalize = pbm_manager_finalize;
	signals[SIGNAL_PANEL_ADDED] =
	        g_signal_new("panel-added", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
	                     NULL, NULL, G_TYPE_NONE, 1, PBM_TYPE_PANEL);
	signals[SIGNAL_SESSION_STARTED] =
	        g_signal_new("session-started", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
	                     NULL, NULL, NULL, G_TYPE_NONE, 1, PBM_TYPE_SESSION);
	signals[SIGNAL_SESSION_FINISHED] =
	        g_signal_new("session-finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
	                     NULL, NULL, NULL, G_TYPE_NONE, 1, PBM_TYPE_SESSION);
	signals[SIGNAL_CHANGED] =
	        g_signal_new("changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
	                     NULL, G_TYPE_NONE, 0);
}

static void
pbm_manager_init(PbmManager *self)
{
	self->sims = g_ptr_array_new_with_free_func(g_object_unref);
}
