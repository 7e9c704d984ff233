/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-export-control.h"

#include "pbm-dbus-error.h"
#include "pbm-export-session.h"

typedef struct {
	PbmAuthAction auth;
	gboolean (*run)(PbmManager *manager, GError **error);
} ControlMethod;

/* The right each needs is here and nowhere else. */
static const ControlMethod control_methods[] = {
	[PBM_CONTROL_STOP] = { PBM_AUTH_CONTROL, pbm_manager_stop_session },
	[PBM_CONTROL_PAUSE] = { PBM_AUTH_CONTROL, pbm_manager_pause_session },
	[PBM_CONTROL_RESUME] = { PBM_AUTH_CONTROL, pbm_manager_resume_session },
	[PBM_CONTROL_RELOAD] = { PBM_AUTH_ADMIN, pbm_manager_reload },
};
G_STATIC_ASSERT(G_N_ELEMENTS(control_methods) == PBM_CONTROL_RELOAD + 1);

typedef struct {
	const ControlMethod *method;
	PbmManager *manager;
	PbmSession *session; /* NULL: a Manager method */
	GDBusMethodInvocation *invocation;
} ControlCall;

static void
control_call_free(ControlCall *c)
{
	g_object_unref(c->manager);
	g_clear_object(&c->session);
	g_object_unref(c->invocation);
	g_free(c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ControlCall, control_call_free)

void
pbm_export_authorize(PbmManager *manager, GDBusMethodInvocation *invocation, PbmAuthAction action,
                     GAsyncReadyCallback callback, gpointer user_data)
{
	pbm_auth_check_async(invocation, action, pbm_manager_get_config(manager)->control_group,
	                     NULL, callback, user_data);
}

gboolean
pbm_export_authorize_finish(GDBusMethodInvocation *invocation, GAsyncResult *result, guint32 *uid)
{
	GError *error = NULL;

	if (pbm_auth_check_finish(result, uid, &error))
		return TRUE;
	g_dbus_method_invocation_take_error(invocation, error);
	return FALSE;
}

/* A Session object outlives its session by design (clients read its
 * outcome), so its methods must not act on a newer one. */
static gboolean
check_still_active(ControlCall *c, GError **error)
{
	PbmSession *active = pbm_manager_get_session(c->manager);
	g_autofree gchar *path = NULL;

	if (c->session == NULL || c->session == active)
		return TRUE;
	if (active == NULL) {
		g_set_error_literal(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_NOT_RUNNING,
		                    "this session has ended; StartSession starts a new one");
		return FALSE;
	}
	path = pbm_export_session_path(active);
	g_set_error(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_NOT_RUNNING,
	            "this session has ended; the active one is %s", path);
	return FALSE;
}

static void
control_authorized(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(ControlCall) c = user_data;
	GError *error = NULL;
	guint32 uid;

	if (!pbm_export_authorize_finish(c->invocation, result, &uid))
		return;
	if (!check_still_active(c, &error) || !c->method->run(c->manager, &error)) {
		g_dbus_method_invocation_take_error(c->invocation, error);
		return;
	}
	g_dbus_method_invocation_return_value(c->invocation, NULL);
}

void
pbm_export_control_invoke(PbmControl control, PbmManager *manager, PbmSession *session,
                          GDBusMethodInvocation *invocation)
{
	ControlCall *c = g_new0(ControlCall, 1);

	c->method = &control_methods[control];
	c->manager = g_object_ref(manager);
	c->session = session != NULL ? g_object_ref(session) : NULL;
	c->invocation = g_object_ref(invocation);
	pbm_export_authorize(manager, invocation, c->method->auth, control_authorized, c);
}
