/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-export-manager.h"

#include "pbm-dbus-args.h"
#include "pbm-export-control.h"
#include "pbm-export-history.h"
#include "pbm-export-session.h"
#include "pbm-export-variant.h"
#include "pbm-dbus-error.h"

/* ---- reading: open to everyone, on the bus thread ---- */

/* ListProfiles (name NULL) or GetProfile(name) from catalog. */
static void
answer_profiles(PbmExportCatalog *catalog, GDBusMethodInvocation *invocation, const gchar *name)
{
	g_autoptr(GVariant) value = NULL;
	GError *error = NULL;

	value = name == NULL ? pbm_export_catalog_list(catalog)
	                     : pbm_export_catalog_lookup(catalog, name, &error);
	if (value == NULL) {
		g_dbus_method_invocation_take_error(invocation, error);
		return;
	}
	g_dbus_method_invocation_return_value(invocation, g_variant_new_tuple(&value, 1));
}

typedef struct {
	PbmExportShared *shared;
	GDBusMethodInvocation *invocation;
	gchar *name;
} ProfilesCall;

static void
profiles_call_free(gpointer data)
{
	ProfilesCall *c = data;

	g_object_unref(c->invocation);
	g_free(c->name);
	g_free(c);
}

static gboolean
answer_profiles_on_safety(gpointer data)
{
	ProfilesCall *c = data;
	g_autoptr(PbmExportCatalog) catalog = pbm_export_shared_ensure_catalog(c->shared);

	answer_profiles(catalog, c->invocation, c->name);
	return G_SOURCE_REMOVE;
}

/* From the catalog here, or, while there is none, where it is made. */
static void
serve_profiles(PbmExportShared *shared, GDBusMethodInvocation *invocation, const gchar *name)
{
	g_autoptr(PbmExportCatalog) catalog = pbm_export_shared_get_catalog(shared);
	ProfilesCall *c;

	if (catalog != NULL) {
		answer_profiles(catalog, invocation, name);
		return;
	}
	c = g_new0(ProfilesCall, 1);
	c->shared = shared;
	c->invocation = g_object_ref(invocation);
	c->name = g_strdup(name);
	pbm_bus_thread_to_safety(shared->bus, G_PRIORITY_DEFAULT, answer_profiles_on_safety, c,
	                         profiles_call_free);
}

static gboolean
handle_list_profiles(PbmDBusManager *skel, GDBusMethodInvocation *invocation,
                     PbmExportShared *shared)
{
	serve_profiles(shared, invocation, NULL);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_profile(PbmDBusManager *skel, GDBusMethodInvocation *invocation, const gchar *name,
                   PbmExportShared *shared)
{
	GError *error = NULL;

	if (!pbm_dbus_args_check_profile_name(name, &error)) {
		g_dbus_method_invocation_take_error(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	serve_profiles(shared, invocation, name);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- GetHistory: on the history thread (pbm-export-history.c) ---- */

typedef struct {
	PbmExportShared *shared;
	GDBusMethodInvocation *invocation;
	gint64 since;
	guint limit;
	gboolean admitted; /* holds one of its client's places */
} HistoryCall;

static void
history_call_free(HistoryCall *c)
{
	if (c->admitted)
		pbm_export_history_dismiss(c->shared->history, c->invocation);
	g_object_unref(c->invocation);
	g_free(c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(HistoryCall, history_call_free)

/* Health data: everyone's sessions to root, the control group and
 * org.pbmd.read-history; anyone else gets their own. */
static void
history_authorized(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(HistoryCall) c = user_data;
	g_autoptr(GError) error = NULL;
	guint32 uid = G_MAXUINT32;
	gboolean everyone = pbm_auth_check_finish(result, &uid, &error);

	if (!everyone && (uid == G_MAXUINT32 ||
	                  !g_error_matches(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_NOT_AUTHORIZED))) {
		g_dbus_method_invocation_return_gerror(c->invocation, error);
		return;
	}
	c->admitted = FALSE; /* the query gives the place back */
	pbm_export_history_query(c->shared->history, c->invocation, c->since, c->limit,
	                         everyone ? PBM_HISTORY_ANY_OWNER : (gint64)uid, uid);
}

static gboolean
handle_get_history(PbmDBusManager *skel, GDBusMethodInvocation *invocation, gint64 since,
                   guint limit, PbmExportShared *shared)
{
	g_autoptr(HistoryCall) c = g_new0(HistoryCall, 1);
	g_autofree gchar *group = pbm_export_shared_dup_control_group(shared);
	GError *error = NULL;

	c->shared = shared;
	c->invocation = g_object_ref(invocation);
	c->since = since;
	if (!pbm_dbus_args_check_history_limit(limit, &c->limit, &error)) {
		g_dbus_method_invocation_take_error(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (!pbm_export_history_admit(shared->history, invocation))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	c->admitted = TRUE;
	pbm_auth_check_async(invocation, PBM_AUTH_READ_HISTORY, group, PBM_AUTH_NO_OWNER, NULL,
	                     history_authorized, g_steal_pointer(&c));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- StartSession ---- */

typedef struct {
	PbmExportShared *shared;
	PbmManager *manager;
	gchar *profile;
	gchar **serials;
	PbmPlanRequest request;
} StartCall;

static void
start_call_free(gpointer data)
{
	StartCall *c = data;

	g_object_unref(c->manager);
	g_free(c->profile);
	g_strfreev(c->serials);
	g_free(c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(StartCall, start_call_free)

/* On the safety context. The reply goes out from the bus thread, after the
 * new session's object is exported there. */
static void
start_run(GDBusMethodInvocation *invocation, guint32 uid, gpointer data)
{
	StartCall *c = data;
	GError *error = NULL;
	PbmSession *session = pbm_manager_start_session(
	        c->manager, c->profile, (const gchar *const *)c->serials, &c->request, uid, &error);
	g_autofree gchar *path = NULL;

	if (session == NULL) {
		g_dbus_method_invocation_take_error(invocation, error);
		return;
	}
	path = pbm_export_session_path(session);
	pbm_export_reply_on_bus(c->shared, invocation, g_variant_new("(o)", path));
}

static gboolean
handle_start_session(PbmDBusManager *skel, GDBusMethodInvocation *invocation, const gchar *profile,
                     GVariant *options, PbmExportShared *shared)
{
	g_autoptr(StartCall) c = g_new0(StartCall, 1);
	GError *error = NULL;

	c->shared = shared;
	c->manager = g_object_ref(shared->manager);
	if (!pbm_dbus_args_check_profile_name(profile, &error) ||
	    !pbm_dbus_args_parse_start_options(options, &c->serials, &c->request, &error)) {
		g_dbus_method_invocation_take_error(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	c->profile = g_strdup(profile);
	pbm_export_call(shared, invocation, PBM_AUTH_CONTROL, PBM_AUTH_NO_OWNER, start_run,
	                g_steal_pointer(&c), start_call_free);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- EstimateSession: open to everyone, planned on the safety context ---- */

/* The plan needs the panels, which live on the safety context: one plan
 * of one profile, a bounded piece of work that takes its turn after every
 * command there, as many at once as the bus guard lets a client have. */
typedef struct {
	PbmManager *manager;
	GDBusMethodInvocation *invocation;
	gchar *profile;
	gchar **serials;
	PbmPlanRequest request;
} EstimateCall;

static void
estimate_call_free(gpointer data)
{
	EstimateCall *c = data;

	g_object_unref(c->manager);
	g_object_unref(c->invocation);
	g_free(c->profile);
	g_strfreev(c->serials);
	g_free(c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(EstimateCall, estimate_call_free)

static gboolean
estimate_on_safety(gpointer data)
{
	EstimateCall *c = data;
	GError *error = NULL;
	g_autoptr(PbmPlan) plan = pbm_manager_estimate_session(
	        c->manager, c->profile, (const gchar *const *)c->serials, &c->request, &error);

	if (plan == NULL) {
		g_dbus_method_invocation_take_error(c->invocation, error);
		return G_SOURCE_REMOVE;
	}
	g_dbus_method_invocation_return_value(
	        c->invocation, g_variant_new("(@a{sv})", pbm_export_estimate_variant(plan)));
	return G_SOURCE_REMOVE;
}

static gboolean
handle_estimate_session(PbmDBusManager *skel, GDBusMethodInvocation *invocation,
                        const gchar *profile, GVariant *options, PbmExportShared *shared)
{
	g_autoptr(EstimateCall) c = g_new0(EstimateCall, 1);
	GError *error = NULL;

	c->manager = g_object_ref(shared->manager);
	c->invocation = g_object_ref(invocation);
	if (!pbm_dbus_args_check_profile_name(profile, &error) ||
	    !pbm_dbus_args_parse_start_options(options, &c->serials, &c->request, &error)) {
		g_dbus_method_invocation_take_error(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	c->profile = g_strdup(profile);
	pbm_bus_thread_to_safety(shared->bus, G_PRIORITY_DEFAULT_IDLE, estimate_on_safety,
	                         g_steal_pointer(&c), estimate_call_free);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- the active session and the daemon ---- */

static gboolean
handle_stop_session(PbmDBusManager *skel, GDBusMethodInvocation *invocation,
                    PbmExportShared *shared)
{
	pbm_export_control_invoke(shared, PBM_CONTROL_STOP, NULL, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_pause_session(PbmDBusManager *skel, GDBusMethodInvocation *invocation,
                     PbmExportShared *shared)
{
	pbm_export_control_invoke(shared, PBM_CONTROL_PAUSE, NULL, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_resume_session(PbmDBusManager *skel, GDBusMethodInvocation *invocation,
                      PbmExportShared *shared)
{
	pbm_export_control_invoke(shared, PBM_CONTROL_RESUME, NULL, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_reload_config(PbmDBusManager *skel, GDBusMethodInvocation *invocation,
                     PbmExportShared *shared)
{
	pbm_export_control_invoke(shared, PBM_CONTROL_RELOAD, NULL, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
pbm_export_manager_connect(PbmDBusManager *skel, PbmExportShared *shared)
{
	g_signal_connect(skel, "handle-list-profiles", G_CALLBACK(handle_list_profiles), shared);
	g_signal_connect(skel, "handle-get-profile", G_CALLBACK(handle_get_profile), shared);
	g_signal_connect(skel, "handle-get-history", G_CALLBACK(handle_get_history), shared);
	g_signal_connect(skel, "handle-estimate-session", G_CALLBACK(handle_estimate_session),
	                 shared);
	g_signal_connect(skel, "handle-start-session", G_CALLBACK(handle_start_session), shared);
	g_signal_connect(skel, "handle-stop-session", G_CALLBACK(handle_stop_session), shared);
	g_signal_connect(skel, "handle-pause-session", G_CALLBACK(handle_pause_session), shared);
	g_signal_connect(skel, "handle-resume-session", G_CALLBACK(handle_resume_session), shared);
	g_signal_connect(skel, "handle-reload-config", G_CALLBACK(handle_reload_config), shared);
}
