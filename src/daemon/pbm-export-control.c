/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-export-control.h"

#include "pbm-dbus-error.h"
#include "pbm-export-session.h"

gchar *
pbm_export_shared_dup_control_group(PbmExportShared *shared)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&shared->lock);

	return g_strdup(shared->control_group);
}

PbmExportCatalog *
pbm_export_shared_get_catalog(PbmExportShared *shared)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&shared->lock);

	return shared->catalog != NULL ? pbm_export_catalog_ref(shared->catalog) : NULL;
}

/* Only the safety context sets shared->catalog, so it reads it unlocked. */
void
pbm_export_shared_drop_stale_catalog(PbmExportShared *shared)
{
	PbmExportCatalog *old = shared->catalog;

	if (old == NULL || pbm_export_catalog_is_for(old, shared->manager))
		return;
	g_mutex_lock(&shared->lock);
	shared->catalog = NULL;
	g_mutex_unlock(&shared->lock);
	pbm_export_catalog_unref(old);
}

PbmExportCatalog *
pbm_export_shared_ensure_catalog(PbmExportShared *shared)
{
	PbmExportCatalog *fresh;

	pbm_export_shared_drop_stale_catalog(shared);
	if (shared->catalog != NULL)
		return pbm_export_catalog_ref(shared->catalog);
	fresh = pbm_export_catalog_new(shared->manager);
	g_mutex_lock(&shared->lock);
	shared->catalog = pbm_export_catalog_ref(fresh);
	g_mutex_unlock(&shared->lock);
	return fresh;
}

/* ---- an authorized call ---- */

typedef struct {
	PbmExportShared *shared;
	GDBusMethodInvocation *invocation;
	PbmExportRun run;
	gpointer data;
	GDestroyNotify destroy;
	gint priority; /* on the safety context */
	guint32 uid;
	GError *refused;
} Call;

static void
call_free(gpointer data)
{
	Call *c = data;

	if (c->destroy != NULL)
		c->destroy(c->data);
	g_object_unref(c->invocation);
	g_clear_error(&c->refused);
	g_free(c);
}

static gboolean
call_run(gpointer data)
{
	Call *c = data;

	if (c->refused != NULL)
		g_dbus_method_invocation_return_gerror(c->invocation, c->refused);
	else
		c->run(c->invocation, c->uid, c->data);
	return G_SOURCE_REMOVE;
}

static void
call_authorized(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Call *c = user_data;

	pbm_auth_check_finish(result, &c->uid, &c->refused);
	pbm_bus_thread_to_safety(c->shared->bus, c->priority, call_run, c, call_free);
}

void
pbm_export_call(PbmExportShared *shared, GDBusMethodInvocation *invocation, PbmAuthAction action,
                gint64 owner, PbmExportRun run, gpointer data, GDestroyNotify destroy)
{
	Call *c = g_new0(Call, 1);
	g_autofree gchar *group = pbm_export_shared_dup_control_group(shared);

	c->shared = shared;
	c->invocation = g_object_ref(invocation);
	c->run = run;
	c->data = data;
	c->destroy = destroy;
	/* Darkening goes first; nothing else may starve SIGTERM or the clock. */
	c->priority = action == PBM_AUTH_STOP ? G_PRIORITY_HIGH : G_PRIORITY_DEFAULT;
	pbm_auth_check_async(invocation, action, group, owner, NULL, call_authorized, c);
}

typedef struct {
	GDBusMethodInvocation *invocation;
	GVariant *value;
} Reply;

static void
reply_free(gpointer data)
{
	Reply *r = data;

	g_object_unref(r->invocation);
	g_clear_pointer(&r->value, g_variant_unref);
	g_free(r);
}

static gboolean
reply_send(gpointer data)
{
	Reply *r = data;

	g_dbus_method_invocation_return_value(r->invocation, r->value);
	return G_SOURCE_REMOVE;
}

void
pbm_export_reply_on_bus(PbmExportShared *shared, GDBusMethodInvocation *invocation, GVariant *value)
{
	Reply *r = g_new0(Reply, 1);

	r->invocation = g_object_ref(invocation);
	r->value = g_variant_ref_sink(value);
	pbm_bus_thread_invoke(shared->bus, reply_send, r, reply_free);
}

/* ---- objects: exported and unexported on the bus thread ---- */

typedef struct {
	PbmExportShared *shared;
	GDBusInterfaceSkeleton *skel;
	gchar *path;
	gpointer handler_data;
	GDestroyNotify free_on_safety;
} Publication;

static void
publication_free(gpointer data)
{
	Publication *p = data;

	g_object_unref(p->skel);
	g_free(p->path);
	g_free(p);
}

static gboolean
publish(gpointer data)
{
	Publication *p = data;
	g_autoptr(GError) error = NULL;

	if (!g_dbus_interface_skeleton_export(p->skel, p->shared->connection, p->path, &error))
		g_warning("cannot export %s: %s", p->path, error->message);
	return G_SOURCE_REMOVE;
}

void
pbm_export_publish(PbmExportShared *shared, GDBusInterfaceSkeleton *skel, const gchar *path)
{
	Publication *p = g_new0(Publication, 1);

	p->shared = shared;
	p->skel = g_object_ref(skel);
	p->path = g_strdup(path);
	pbm_bus_thread_invoke(shared->bus, publish, p, publication_free);
}

static gboolean
run_free_on_safety(gpointer data)
{
	Publication *p = data;

	p->free_on_safety(p->handler_data);
	return G_SOURCE_REMOVE;
}

static gboolean
retire(gpointer data)
{
	Publication *p = data;

	/* Here, where its handlers run: none is running now, none runs after. */
	g_signal_handlers_disconnect_by_data(p->skel, p->handler_data);
	if (g_dbus_interface_skeleton_get_connection(p->skel) != NULL)
		g_dbus_interface_skeleton_unexport(p->skel);
	pbm_bus_thread_to_safety(p->shared->bus, G_PRIORITY_DEFAULT, run_free_on_safety, p,
	                         publication_free);
	return G_SOURCE_REMOVE;
}

void
pbm_export_retire(PbmExportShared *shared, GDBusInterfaceSkeleton *skel, gpointer handler_data,
                  GDestroyNotify free_on_safety)
{
	Publication *p = g_new0(Publication, 1);

	p->shared = shared;
	p->skel = g_object_ref(skel);
	p->handler_data = handler_data;
	p->free_on_safety = free_on_safety;
	pbm_bus_thread_invoke(shared->bus, retire, p, NULL);
}

/* ---- the control methods ---- */

typedef struct {
	PbmAuthAction auth;
	gboolean owner_passes; /* the session's own user needs no right */
	gboolean (*run)(PbmManager *manager, GError **error);
} ControlMethod;

/* The right each needs is here and nowhere else. Stopping and pausing are
 * always safe and have their own action; resuming switches light on again,
 * which only its owner or who may start a session decides. */
static const ControlMethod control_methods[] = {
	[PBM_CONTROL_STOP] = { PBM_AUTH_STOP, TRUE, pbm_manager_stop_session },
	[PBM_CONTROL_PAUSE] = { PBM_AUTH_STOP, TRUE, pbm_manager_pause_session },
	[PBM_CONTROL_RESUME] = { PBM_AUTH_CONTROL, TRUE, pbm_manager_resume_session },
	[PBM_CONTROL_RELOAD] = { PBM_AUTH_ADMIN, FALSE, pbm_manager_reload },
};
G_STATIC_ASSERT(G_N_ELEMENTS(control_methods) == PBM_CONTROL_RELOAD + 1);

typedef struct {
	const ControlMethod *method;
	PbmManager *manager;
	gint64 session_id; /* what the call acts on; 0: whatever is active */
} ControlCall;

static void
control_call_free(gpointer data)
{
	ControlCall *c = data;

	g_object_unref(c->manager);
	g_free(c);
}

/* A Session object outlives its session by design (clients read its
 * outcome), so its methods must not act on a newer one; nor may a Manager
 * method called for one session act on the next. */
static gboolean
check_still_active(ControlCall *c, GError **error)
{
	PbmSession *active = pbm_manager_get_session(c->manager);
	g_autofree gchar *path = NULL;

	if (c->session_id == 0 || (active != NULL && pbm_session_get_id(active) == c->session_id))
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
control_run(GDBusMethodInvocation *invocation, guint32 uid, gpointer data)
{
	ControlCall *c = data;
	GError *error = NULL;

	if (!check_still_active(c, &error) || !c->method->run(c->manager, &error)) {
		g_dbus_method_invocation_take_error(invocation, error);
		return;
	}
	g_dbus_method_invocation_return_value(invocation, NULL);
}

void
pbm_export_control_invoke(PbmExportShared *shared, PbmControl control, PbmSession *session,
                          GDBusMethodInvocation *invocation)
{
	ControlCall *c = g_new0(ControlCall, 1);
	gint64 owner = PBM_AUTH_NO_OWNER;

	c->method = &control_methods[control];
	c->manager = g_object_ref(shared->manager);
	if (session != NULL) {
		/* both are set when the session is made and never change */
		c->session_id = pbm_session_get_id(session);
		owner = pbm_session_get_owner_uid(session);
	} else if (control != PBM_CONTROL_RELOAD) {
		g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&shared->lock);
		c->session_id = shared->active_id;
		owner = shared->active_id != 0 ? shared->active_owner : PBM_AUTH_NO_OWNER;
	}
	if (!c->method->owner_passes)
		owner = PBM_AUTH_NO_OWNER;
	pbm_export_call(shared, invocation, c->method->auth, owner, control_run, c,
	                control_call_free);
}
