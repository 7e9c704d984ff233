/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The app's view of pbmd (pbm-client.h). Each owner of org.pbmd gets its
 * own cancellable: when pbmd goes away, every call still on its way is
 * cancelled, so a late reply from a dead pbmd never lands on a new one.
 */
#include "pbm-client.h"

#include "pbm-names.h"

#define PBM_CLIENT_CALL_TIMEOUT_MS 10000

struct _PbmClient {
	GObject parent_instance;
	GBusType bus_type;
	gchar *address;
	GDBusConnection *bus;
	guint watch_id;
	GCancellable *owner_cancel;   /* lives as long as the current owner */
	GCancellable *panels_cancel;  /* the latest rebuild of the panel list */
	GCancellable *session_cancel; /* the latest session proxy on its way */
	PbmDBusManager *manager;
	GPtrArray *panels;
	PbmDBusSession *session;
	GVariant *summary;
	GVariant *profiles;
	gchar *problem;
};

enum { SIGNAL_DAEMON, SIGNAL_PANELS, SIGNAL_SESSION, SIGNAL_PROFILES, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_TYPE(PbmClient, pbm_client, G_TYPE_OBJECT)

static gboolean
cancelled(const GError *error)
{
	return g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
cancel_and_clear(GCancellable **cancel)
{
	if (*cancel != NULL)
		g_cancellable_cancel(*cancel);
	g_clear_object(cancel);
}

/* Cancels what an earlier request still waits for and starts anew. */
static void
renew(GCancellable **cancel)
{
	cancel_and_clear(cancel);
	*cancel = g_cancellable_new();
}

static void
set_problem(PbmClient *self, const gchar *problem)
{
	g_free(self->problem);
	self->problem = g_strdup(problem);
	g_signal_emit(self, signals[SIGNAL_DAEMON], 0);
}

/* ---- panels ---- */

static void
on_panel_changed(GDBusProxy *proxy, GVariant *changed, GStrv invalidated, PbmClient *self)
{
	g_signal_emit(self, signals[SIGNAL_PANELS], 0);
}

static void
on_panel_proxy(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	PbmDBusPanel *panel = pbm_dbus_panel_proxy_new_finish(result, &error);
	PbmClient *self;

	if (panel == NULL) {
		if (!cancelled(error))
			g_warning("a panel of pbmd does not answer: %s", error->message);
		return;
	}
	self = user_data;
	g_signal_connect_object(panel, "g-properties-changed", G_CALLBACK(on_panel_changed), self,
	                        0);
	g_ptr_array_add(self->panels, panel);
	g_signal_emit(self, signals[SIGNAL_PANELS], 0);
}

static void
sync_panels(PbmClient *self)
{
	const gchar *const *paths = pbm_dbus_manager_get_panels(self->manager);

	renew(&self->panels_cancel);
	g_ptr_array_set_size(self->panels, 0);
	for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
		pbm_dbus_panel_proxy_new(self->bus, G_DBUS_PROXY_FLAGS_NONE,
		                         g_dbus_proxy_get_name(G_DBUS_PROXY(self->manager)),
		                         paths[i], self->panels_cancel, on_panel_proxy, self);
	g_signal_emit(self, signals[SIGNAL_PANELS], 0);
}

/* ---- the session ---- */

static void
on_session_changed(GDBusProxy *proxy, GVariant *changed, GStrv invalidated, PbmClient *self)
{
	g_signal_emit(self, signals[SIGNAL_SESSION], 0);
}

static void
on_session_proxy(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	PbmDBusSession *session = pbm_dbus_session_proxy_new_finish(result, &error);
	PbmClient *self;

	if (session == NULL) {
		if (!cancelled(error))
			g_warning("pbmd's session does not answer: %s", error->message);
		return;
	}
	self = user_data;
	g_clear_object(&self->session);
	g_clear_pointer(&self->summary, g_variant_unref);
	self->session = session;
	g_signal_connect_object(session, "g-properties-changed", G_CALLBACK(on_session_changed),
	                        self, 0);
	g_signal_emit(self, signals[SIGNAL_SESSION], 0);
}

static const gchar *
session_path(PbmClient *self)
{
	return self->session != NULL ? g_dbus_proxy_get_object_path(G_DBUS_PROXY(self->session))
	                             : NULL;
}

/* A session that ended stays on screen until the next one starts. */
static void
sync_session(PbmClient *self)
{
	const gchar *path = pbm_dbus_manager_get_active_session(self->manager);

	if (path == NULL || g_str_equal(path, PBM_DBUS_PATH_NONE) ||
	    g_strcmp0(path, session_path(self)) == 0)
		return;
	renew(&self->session_cancel);
	pbm_dbus_session_proxy_new(self->bus, G_DBUS_PROXY_FLAGS_NONE,
	                           g_dbus_proxy_get_name(G_DBUS_PROXY(self->manager)), path,
	                           self->session_cancel, on_session_proxy, self);
}

static void
on_session_finished(PbmDBusManager *manager, const gchar *path, const gchar *outcome,
                    GVariant *summary, PbmClient *self)
{
	if (g_strcmp0(path, session_path(self)) != 0)
		return;
	g_clear_pointer(&self->summary, g_variant_unref);
	self->summary = g_variant_ref(summary);
	g_signal_emit(self, signals[SIGNAL_SESSION], 0);
}

/* ---- profiles ---- */

static void
on_profiles(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) profiles = NULL;
	PbmClient *self;

	if (!pbm_dbus_manager_call_list_profiles_finish(PBM_DBUS_MANAGER(source), &profiles, result,
	                                                &error)) {
		if (!cancelled(error))
			g_warning("pbmd did not list its profiles: %s", error->message);
		return;
	}
	self = user_data;
	g_clear_pointer(&self->profiles, g_variant_unref);
	self->profiles = g_steal_pointer(&profiles);
	g_signal_emit(self, signals[SIGNAL_PROFILES], 0);
}

/* The estimates follow the panels (and a reload), so the list is asked
 * again whenever the panels or pbmd's state change. */
static void
load_profiles(PbmClient *self)
{
	pbm_dbus_manager_call_list_profiles(self->manager, G_DBUS_CALL_FLAGS_NONE, -1,
	                                    self->owner_cancel, on_profiles, self);
}

/* ---- the manager ---- */

static gboolean
changed_has(GVariant *changed, GStrv invalidated, const gchar *name)
{
	g_autoptr(GVariant) v = g_variant_lookup_value(changed, name, NULL);

	return v != NULL ||
	       (invalidated != NULL && g_strv_contains((const gchar *const *)invalidated, name));
}

static void
on_manager_changed(GDBusProxy *proxy, GVariant *changed, GStrv invalidated, PbmClient *self)
{
	if (changed_has(changed, invalidated, "Panels"))
		sync_panels(self);
	if (changed_has(changed, invalidated, "ActiveSession"))
		sync_session(self);
	if (changed_has(changed, invalidated, "Panels") ||
	    changed_has(changed, invalidated, "State"))
		load_profiles(self);
	g_signal_emit(self, signals[SIGNAL_DAEMON], 0);
}

static void
on_manager_proxy(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	PbmDBusManager *manager = pbm_dbus_manager_proxy_new_finish(result, &error);
	g_autofree gchar *why = NULL;
	PbmClient *self;

	if (manager == NULL) {
		if (cancelled(error))
			return;
		why = g_strdup_printf("pbmd is on the bus but does not answer (%s).",
		                      error->message);
		set_problem(user_data, why);
		return;
	}
	self = user_data;
	self->manager = manager;
	g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(manager), PBM_CLIENT_CALL_TIMEOUT_MS);
	g_signal_connect_object(manager, "g-properties-changed", G_CALLBACK(on_manager_changed),
	                        self, 0);
	g_signal_connect_object(manager, "session-finished", G_CALLBACK(on_session_finished), self,
	                        0);
	sync_panels(self);
	sync_session(self);
	load_profiles(self);
	set_problem(self, NULL);
}

/* ---- the name ---- */

static void
forget_daemon(PbmClient *self)
{
	cancel_and_clear(&self->owner_cancel);
	cancel_and_clear(&self->panels_cancel);
	cancel_and_clear(&self->session_cancel);
	g_clear_object(&self->manager);
	g_ptr_array_set_size(self->panels, 0);
	g_clear_object(&self->session);
	g_clear_pointer(&self->summary, g_variant_unref);
	g_clear_pointer(&self->profiles, g_variant_unref);
}

static void
on_appeared(GDBusConnection *bus, const gchar *name, const gchar *owner, gpointer user_data)
{
	PbmClient *self = user_data;

	forget_daemon(self);
	self->owner_cancel = g_cancellable_new();
	/* bound to this owner: a restarted pbmd gets new proxies */
	pbm_dbus_manager_proxy_new(bus, G_DBUS_PROXY_FLAGS_NONE, owner, PBM_DBUS_PATH,
	                           self->owner_cancel, on_manager_proxy, self);
}

static void
on_vanished(GDBusConnection *bus, const gchar *name, gpointer user_data)
{
	PbmClient *self = user_data;

	forget_daemon(self);
	if (bus == NULL) {
		set_problem(self, "The bus is not reachable, so pbmd cannot be either.");
		return;
	}
	set_problem(self, "pbmd is not running. It starts when a panel is plugged in, or with "
	                  "“systemctl start pbmd”. Waiting for it…");
	g_signal_emit(self, signals[SIGNAL_PANELS], 0);
	g_signal_emit(self, signals[SIGNAL_SESSION], 0);
	g_signal_emit(self, signals[SIGNAL_PROFILES], 0);
}

static void
on_bus_closed(GDBusConnection *bus, gboolean remote_peer_vanished, GError *error, PbmClient *self)
{
	forget_daemon(self);
	set_problem(self, "The bus went away. Close the app and open it again.");
}

static void
on_bus(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(PbmClient) self = user_data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *why = NULL;

	self->bus = self->address != NULL ? g_dbus_connection_new_for_address_finish(result, &error)
	                                  : g_bus_get_finish(result, &error);
	if (self->bus == NULL) {
		why = g_strdup_printf("Cannot reach the bus to talk to pbmd (%s).", error->message);
		set_problem(self, why);
		return;
	}
	/* the system bus singleton would end the app when the bus restarts */
	g_dbus_connection_set_exit_on_close(self->bus, FALSE);
	g_signal_connect_object(self->bus, "closed", G_CALLBACK(on_bus_closed), self, 0);
	self->watch_id = g_bus_watch_name_on_connection(self->bus, PBM_DBUS_NAME,
	                                                G_BUS_NAME_WATCHER_FLAGS_AUTO_START,
	                                                on_appeared, on_vanished, self, NULL);
}

void
pbm_client_connect(PbmClient *self)
{
	g_return_if_fail(self->bus == NULL);
	if (self->address != NULL)
		g_dbus_connection_new_for_address(
		        self->address,
		        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		        NULL, NULL, on_bus, g_object_ref(self));
	else
		g_bus_get(self->bus_type, NULL, on_bus, g_object_ref(self));
}

/* ---- accessors ---- */

PbmDBusManager *
pbm_client_get_manager(PbmClient *self)
{
	return self->manager;
}

GPtrArray *
pbm_client_get_panels(PbmClient *self)
{
	return self->panels;
}

PbmDBusSession *
pbm_client_get_session(PbmClient *self)
{
	return self->session;
}

GVariant *
pbm_client_get_session_summary(PbmClient *self)
{
	return self->summary;
}

GVariant *
pbm_client_get_profiles(PbmClient *self)
{
	return self->profiles;
}

const gchar *
pbm_client_profile_title(PbmClient *self, const gchar *name)
{
	GVariant *profiles = self->profiles;
	const gchar *title = NULL;
	GVariantIter iter;
	GVariant *p;

	if (profiles == NULL)
		return name;
	g_variant_iter_init(&iter, profiles);
	while (title == NULL && (p = g_variant_iter_next_value(&iter)) != NULL) {
		const gchar *n = NULL;

		if (g_variant_lookup(p, "name", "&s", &n) && g_strcmp0(n, name) == 0)
			g_variant_lookup(p, "title", "&s", &title);
		g_variant_unref(p);
	}
	return title != NULL ? title : name;
}

const gchar *
pbm_client_get_problem(PbmClient *self)
{
	return self->problem;
}

/* ---- object ---- */

PbmClient *
pbm_client_new(GBusType bus_type, const gchar *address)
{
	PbmClient *self = g_object_new(PBM_TYPE_CLIENT, NULL);

	self->bus_type = bus_type;
	self->address = g_strdup(address);
	self->problem = g_strdup("Connecting to pbmd…");
	return self;
}

static void
pbm_client_dispose(GObject *object)
{
	PbmClient *self = PBM_CLIENT(object);

	if (self->watch_id != 0)
		g_bus_unwatch_name(self->watch_id);
	self->watch_id = 0;
	forget_daemon(self);
	g_clear_object(&self->bus);
	G_OBJECT_CLASS(pbm_client_parent_class)->dispose(object);
}

static void
pbm_client_finalize(GObject *object)
{
	PbmClient *self = PBM_CLIENT(object);

	g_ptr_array_unref(self->panels);
	g_free(self->address);
	g_free(self->problem);
	G_OBJECT_CLASS(pbm_client_parent_class)->finalize(object);
}

static void
pbm_client_class_init(PbmClientClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	static const gchar *const names[N_SIGNALS] = { "daemon-changed", "panels-changed",
		                                       "session-changed", "profiles-changed" };

	object_class->dispose = pbm_client_dispose;
	object_class->finalize = pbm_client_finalize;
	/* daemon-changed: reachability, the problem text or the Manager's
	 * properties; the others name what changed. */
	for (guint i = 0; i < N_SIGNALS; i++)
		signals[i] = g_signal_new(names[i], G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
		                          NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pbm_client_init(PbmClient *self)
{
	self->panels = g_ptr_array_new_with_free_func(g_object_unref);
}
