/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-export-manager.h"

#include "pbm-dbus-args.h"
#include "pbm-export-control.h"
#include "pbm-export-session.h"
#include "pbm-export-variant.h"

/* ---- reading: open to everyone ---- */

static GVariant *
profile_variant(PbmManager *manager, PbmProfile *profile, gboolean with_steps)
{
	PbmEstimate estimate;
	gboolean known = pbm_manager_estimate(manager, profile, &estimate);

	return pbm_export_profile_variant(profile, known ? &estimate : NULL, with_steps);
}

static gboolean
handle_list_profiles(PbmDBusManager *skel, GDBusMethodInvocation *invocation, PbmManager *manager)
{
	g_autoptr(GPtrArray) list = pbm_profile_store_list(pbm_manager_get_profiles(manager));
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < list->len; i++)
		g_variant_builder_add_value(
		        &b, profile_variant(manager, g_ptr_array_index(list, i), FALSE));
	pbm_dbus_manager_complete_list_profiles(skel, invocation, g_variant_builder_end(&b));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_profile(PbmDBusManager *skel, GDBusMethodInvocation *invocation, const gchar *name,
                   PbmManager *manager)
{
	GError *error = NULL;
	PbmProfile *p = NULL;

	if (!pbm_dbus_args_check_profile_name(name, &error) ||
	    (p = pbm_manager_lookup_profile(manager, name, &error)) == NULL) {
		g_dbus_method_invocation_take_error(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	pbm_dbus_manager_complete_get_profile(skel, invocation, profile_variant(manager, p, TRUE));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Its authorization is another matter (DESIGN.md wants the control right
 * or a polkit action of its own); until then it is open like the rest. */
static gboolean
handle_get_history(PbmDBusManager *skel, GDBusMethodInvocation *invocation, gint64 since,
                   guint limit, PbmManager *manager)
{
	g_autoptr(GPtrArray) rows = NULL;
	GError *error = NULL;
	GVariantBuilder b;

	if (!pbm_dbus_args_check_history_limit(limit, &limit, &error) ||
	    (rows = pbm_manager_get_history(manager, since, limit, &error)) == NULL) {
		g_dbus_method_invocation_take_error(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < rows->len; i++)
		g_variant_builder_add_value(&b,
		                            pbm_export_history_variant(g_ptr_array_index(rows, i)));
	pbm_dbus_manager_complete_get_history(skel, invocation, g_variant_builder_end(&b));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- StartSession ---- */

typedef struct {
	PbmManager *manager;
	GDBusMethodInvocation *invocation;
	gchar *profile;
	gchar **serials;
	gdouble distance_cm;
} StartCall;

static void
start_call_free(StartCall *c)
{
	g_object_unref(c->manager);
	g_object_unref(c->invocation);
	g_free(c->profile);
	g_strfreev(c->serials);
	g_free(c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(StartCall, start_call_free)

static void
start_authorized(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(StartCall) c = user_data;
	g_autofree gchar *path = NULL;
	GError *error = NULL;
	PbmSession *session;
	guint32 uid;

	if (!pbm_export_authorize_finish(c->invocation, result, &uid))
		return;
	session =
	        pbm_manager_start_session(c->manager, c->profile, (const gchar *const *)c->serials,
	                                  c->distance_cm, uid, &error);
	if (session == NULL) {
		g_dbus_method_invocation_take_error(c->invocation, error);
		return;
	}
	path = pbm_export_session_path(session);
	g_dbus_method_invocation_return_value(c->invocation, g_variant_new("(o)", path));
}

static gboolean
handle_start_session(PbmDBusManager *skel, GDBusMethodInvocation *invocation, const gchar *profile,
                     GVariant *options, PbmManager *manager)
{
	g_autoptr(StartCall) c = g_new0(StartCall, 1);
	GError *error = NULL;

	c->manager = g_object_ref(manager);
	c->invocation = g_object_ref(invocation);
	if (!pbm_dbus_args_check_profile_name(profile, &error) ||
	    !pbm_dbus_args_parse_start_options(options, &c->serials, &c->distance_cm, &error)) {
		g_dbus_method_invocation_take_error(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	c->profile = g_strdup(profile);
	pbm_export_authorize(manager, invocation, PBM_AUTH_CONTROL, start_authorized,
	                     g_steal_pointer(&c));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- the active session and the daemon ---- */

static gboolean
handle_stop_session(PbmDBusManager *skel, GDBusMethodInvocation *invocation, PbmManager *manager)
{
	pbm_export_control_invoke(PBM_CONTROL_STOP, manager, NULL, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_pause_session(PbmDBusManager *skel, GDBusMethodInvocation *invocation, PbmManager *manager)
{
	pbm_export_control_invoke(PBM_CONTROL_PAUSE, manager, NULL, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_resume_session(PbmDBusManager *skel, GDBusMethodInvocation *invocation, PbmManager *manager)
{
	pbm_export_control_invoke(PBM_CONTROL_RESUME, manager, NULL, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_reload_config(PbmDBusManager *skel, GDBusMethodInvocation *invocation, PbmManager *manager)
{
	pbm_export_control_invoke(PBM_CONTROL_RELOAD, manager, NULL, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
pbm_export_manager_connect(PbmDBusManager *skel, PbmManager *manager)
{
	g_signal_connect(skel, "handle-list-profiles", G_CALLBACK(handle_list_profiles), manager);
	g_signal_connect(skel, "handle-get-profile", G_CALLBACK(handle_get_profile), manager);
	g_signal_connect(skel, "handle-get-history", G_CALLBACK(handle_get_history), manager);
	g_signal_connect(skel, "handle-start-session", G_CALLBACK(handle_start_session), manager);
	g_signal_connect(skel, "handle-stop-session", G_CALLBACK(handle_stop_session), manager);
	g_signal_connect(skel, "handle-pause-session", G_CALLBACK(handle_pause_session), manager);
	g_signal_connect(skel, "handle-resume-session", G_CALLBACK(handle_resume_session), manager);
	g_signal_connect(skel, "handle-reload-config", G_CALLBACK(handle_reload_config), manager);
}
