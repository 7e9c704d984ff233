/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-exporter.h"

#include "config.h"
#include "pbm-dbus-generated.h"
#include "pbm-export-manager.h"
#include "pbm-export-panel.h"
#include "pbm-export-session.h"
#include "pbm-export-variant.h"

struct _PbmExporter {
	GObject parent_instance;

	PbmManager *manager;
	PbmExportShared shared;
	PbmDBusManager *manager_skel;
	GHashTable *panels;        /* PbmPanel * -> PbmExportPanel * */
	PbmExportSession *session; /* the active one, or the last until the next starts */
	guint tick;                /* 1 Hz while something moves */
};

G_DEFINE_TYPE(PbmExporter, pbm_exporter, G_TYPE_OBJECT)

/* ---- the manager object's properties ---- */

/* id: the active session's, 0 for none. The safety context sets the
 * current id, the bus thread the path of a new one once it is exported,
 * unless that session has ended by then. */
static void
set_active_session(PbmExporter *self, gint64 id, const gchar *path)
{
	g_mutex_lock(&self->shared.lock);
	self->shared.active_id = id;
	pbm_dbus_manager_set_active_session(self->manager_skel, path);
	g_mutex_unlock(&self->shared.lock);
}

/* The profiles as clients read them: a stale catalog is dropped at once,
 * and a new one made when a client first asks (with a thousand profiles
 * their estimates take 80 ms, which start-up need not wait for). */
static void
update_catalog(PbmExporter *self)
{
	const gchar *group = pbm_manager_get_config(self->manager)->control_group;

	if (g_strcmp0(self->shared.control_group, group) != 0) {
		g_mutex_lock(&self->shared.lock);
		g_free(self->shared.control_group);
		self->shared.control_group = g_strdup(group);
		g_mutex_unlock(&self->shared.lock);
	}
	pbm_export_shared_drop_stale_catalog(&self->shared);
}

/* The limits change only on a reload; the skeleton announces a value that
 * differs from the one it has, and only then. */
static void
update_limits(PbmExporter *self)
{
	const PbmConfig *config = pbm_manager_get_config(self->manager);

	pbm_dbus_manager_set_limits(self->manager_skel, pbm_export_limits_variant(&config->limits));
}

static void
update_manager(PbmExporter *self)
{
	GPtrArray *panels = pbm_manager_get_panels(self->manager);
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	g_auto(GStrv) paths = NULL;

	for (guint i = 0; i < panels->len; i++) {
		PbmPanel *panel = g_ptr_array_index(panels, i);
		g_autofree gchar *path = pbm_export_panel_path(pbm_panel_get_serial(panel));
		g_strv_builder_add(b, path);
	}
	paths = g_strv_builder_end(b);
	pbm_dbus_manager_set_panels(self->manager_skel, (const gchar *const *)paths);
	pbm_dbus_manager_set_state(self->manager_skel, pbm_manager_get_state(self->manager));
	/* a new one is set on the bus thread, once its object is there */
	if (pbm_manager_get_session(self->manager) == NULL)
		set_active_session(self, 0, PBM_DBUS_PATH_NONE);
	update_limits(self);
	update_catalog(self);
}

/* ---- the 1 Hz tick: progress and telemetry, only while they move ---- */

static gboolean
anything_moves(PbmExporter *self)
{
	GPtrArray *panels = pbm_manager_get_panels(self->manager);

	if (pbm_manager_session_active(self->manager))
		return TRUE;
	for (guint i = 0; i < panels->len; i++) {
		if (pbm_panel_get_state(g_ptr_array_index(panels, i)) == PBM_PANEL_STATE_LIT)
			return TRUE;
	}
	return FALSE;
}

static gboolean
tick(gpointer user_data)
{
	PbmExporter *self = user_data;
	GHashTableIter iter;
	gpointer panel;

	if (self->session != NULL)
		pbm_export_session_update_progress(self->session);
	g_hash_table_iter_init(&iter, self->panels);
	while (g_hash_table_iter_next(&iter, NULL, &panel))
		pbm_export_panel_update_telemetry(panel);
	if (anything_moves(self))
		return G_SOURCE_CONTINUE;
	self->tick = 0;
	return G_SOURCE_REMOVE;
}

static void
ensure_tick(PbmExporter *self)
{
	if (self->tick == 0 && anything_moves(self))
		self->tick = g_timeout_add_seconds(1, tick, self);
}

/* ---- panels ---- */

static void
on_panel_notify(PbmPanel *panel, GParamSpec *pspec, PbmExporter *self)
{
	pbm_export_panel_update(g_hash_table_lookup(self->panels, panel));
	ensure_tick(self);
}

/* While something moves, the tick publishes telemetry once a second. An
 * idle panel reports once a second too, and its temperature still changes
 * (cooling down after a session, a warm room): published as it comes, or a
 * widget would show the temperature the last session ended with. */
static void
on_panel_status(PbmPanel *panel, gconstpointer status, PbmExporter *self)
{
	if (self->tick == 0)
		pbm_export_panel_update_telemetry(g_hash_table_lookup(self->panels, panel));
}

static void
on_panel_added(PbmManager *manager, PbmPanel *panel, PbmExporter *self)
{
	PbmExportPanel *exported = pbm_export_panel_new(&self->shared, panel);

	g_hash_table_insert(self->panels, g_object_ref(panel), exported);
	g_signal_connect(panel, "notify::state", G_CALLBACK(on_panel_notify), self);
	g_signal_connect(panel, "notify::connected", G_CALLBACK(on_panel_notify), self);
	g_signal_connect(panel, "status", G_CALLBACK(on_panel_status), self);
	update_manager(self);
}

/* ---- sessions ---- */

static void
update_session(PbmExporter *self, PbmSession *session)
{
	if (self->session == NULL || pbm_export_session_get_session(self->session) != session)
		return;
	pbm_export_session_update_state(self->session);
	pbm_export_session_update_progress(self->session);
	ensure_tick(self);
}

/* Clients read properties on the bus thread at any moment: the outcome
 * shows once the history has it (on_session_finished), never before. */
static void
on_session_state(PbmSession *session, PbmExporter *self)
{
	if (pbm_session_get_state(session) != PBM_SESSION_STATE_FINISHED)
		update_session(self, session);
}

/* What clients see of a session starting or ending, in order, on the bus
 * thread: after its object is exported there. */
typedef struct {
	PbmExporter *self; /* outlives the bus thread */
	gint64 id;
	gchar *path;
	gchar *outcome; /* NULL: started */
	GVariant *summary;
} Announcement;

static void
announcement_free(gpointer data)
{
	Announcement *a = data;

	g_free(a->path);
	g_free(a->outcome);
	g_clear_pointer(&a->summary, g_variant_unref);
	g_free(a);
}

static gboolean
announce(gpointer data)
{
	Announcement *a = data;
	PbmExporter *self = a->self;

	if (a->outcome != NULL) {
		pbm_dbus_manager_emit_session_finished(self->manager_skel, a->path, a->outcome,
		                                       a->summary);
		return G_SOURCE_REMOVE;
	}
	g_mutex_lock(&self->shared.lock);
	if (self->shared.active_id == a->id)
		pbm_dbus_manager_set_active_session(self->manager_skel, a->path);
	g_mutex_unlock(&self->shared.lock);
	pbm_dbus_manager_emit_session_started(self->manager_skel, a->path);
	return G_SOURCE_REMOVE;
}

static void
post_announcement(PbmExporter *self, PbmSession *s, const gchar *outcome, GVariant *summary)
{
	Announcement *a = g_new0(Announcement, 1);

	a->self = self;
	a->id = pbm_session_get_id(s);
	a->path = pbm_export_session_path(s);
	a->outcome = g_strdup(outcome);
	a->summary = summary != NULL ? g_variant_ref_sink(summary) : NULL;
	pbm_bus_thread_invoke(self->shared.bus, announce, a, announcement_free);
}

static void
on_session_started(PbmManager *manager, PbmSession *s, PbmExporter *self)
{
	/* The previous session stays readable until this one starts. */
	g_clear_pointer(&self->session, pbm_export_session_free);
	self->session = pbm_export_session_new(&self->shared, s);
	g_signal_connect_object(s, "state-changed", G_CALLBACK(on_session_state), self, 0);
	g_signal_connect_object(s, "step-changed", G_CALLBACK(on_session_state), self, 0);
	g_mutex_lock(&self->shared.lock);
	self->shared.active_id = pbm_session_get_id(s);
	self->shared.active_owner = pbm_session_get_owner_uid(s);
	g_mutex_unlock(&self->shared.lock);
	update_manager(self);
	post_announcement(self, s, NULL, NULL);
	ensure_tick(self);
}

/* ActiveSession goes back to / on the manager's "changed" that follows. */
static void
on_session_finished(PbmManager *manager, PbmSession *s, PbmExporter *self)
{
	update_session(self, s);
	post_announcement(self, s, pbm_outcome_to_string(pbm_session_get_outcome(s)),
	                  pbm_export_summary_variant(s));
}

static void
on_manager_changed(PbmManager *manager, PbmExporter *self)
{
	update_manager(self);
	ensure_tick(self);
}

/* ---- lifecycle ---- */

static gboolean
unexport_manager(gpointer data)
{
	PbmExporter *self = data;
	GDBusInterfaceSkeleton *skel = G_DBUS_INTERFACE_SKELETON(self->manager_skel);

	g_signal_handlers_disconnect_by_data(skel, &self->shared);
	if (g_dbus_interface_skeleton_get_connection(skel) != NULL)
		g_dbus_interface_skeleton_unexport(skel);
	return G_SOURCE_REMOVE;
}

/* Every object leaves the bus on the bus thread, which ends after them;
 * what they leave to free on the safety context is freed before this
 * returns. */
static void
stop_serving(PbmExporter *self)
{
	GHashTableIter iter;
	gpointer panel;

	g_hash_table_iter_init(&iter, self->panels);
	while (g_hash_table_iter_next(&iter, &panel, NULL))
		g_signal_handlers_disconnect_by_data(panel, self);
	g_clear_pointer(&self->panels, g_hash_table_unref);
	g_clear_pointer(&self->session, pbm_export_session_free);
	pbm_bus_thread_invoke_sync(self->shared.bus, unexport_manager, self);
	/* not g_clear_pointer(), which clears the pointer first: until the
	 * thread has ended, what runs on it hands calls over through it */
	pbm_bus_thread_free(self->shared.bus);
	self->shared.bus = NULL;
	g_clear_pointer(&self->shared.history, pbm_export_history_free);
	while (g_main_context_pending(NULL))
		g_main_context_iteration(NULL, FALSE);
}

static void
pbm_exporter_dispose(GObject *object)
{
	PbmExporter *self = PBM_EXPORTER(object);

	g_clear_handle_id(&self->tick, g_source_remove);
	if (self->manager != NULL)
		g_signal_handlers_disconnect_by_data(self->manager, self);
	if (self->shared.bus != NULL)
		stop_serving(self);
	g_clear_object(&self->manager_skel);
	g_clear_pointer(&self->shared.catalog, pbm_export_catalog_unref);
	g_clear_pointer(&self->shared.control_group, g_free);
	g_clear_object(&self->shared.connection);
	self->shared.manager = NULL;
	g_clear_object(&self->manager);
	G_OBJECT_CLASS(pbm_exporter_parent_class)->dispose(object);
}

static void
pbm_exporter_finalize(GObject *object)
{
	g_mutex_clear(&PBM_EXPORTER(object)->shared.lock);
	G_OBJECT_CLASS(pbm_exporter_parent_class)->finalize(object);
}

static void
pbm_exporter_class_init(PbmExporterClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = pbm_exporter_dispose;
	G_OBJECT_CLASS(klass)->finalize = pbm_exporter_finalize;
}

static void
pbm_exporter_init(PbmExporter *self)
{
	self->panels = g_hash_table_new_full(g_direct_hash, g_direct_equal, g_object_unref,
	                                     (GDestroyNotify)pbm_export_panel_free);
	g_mutex_init(&self->shared.lock);
}

typedef struct {
	PbmExporter *self;
	GError **error;
	gboolean ok;
} ExportManager;

static gboolean
export_manager(gpointer data)
{
	ExportManager *e = data;
	PbmExporter *self = e->self;

	pbm_export_manager_connect(self->manager_skel, &self->shared);
	e->ok = g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(self->manager_skel),
	                                         self->shared.connection, PBM_DBUS_PATH, e->error);
	return G_SOURCE_REMOVE;
}

PbmExporter *
pbm_exporter_new(PbmManager *manager, GDBusConnection *connection, const gchar *history_path,
                 GError **error)
{
	g_autoptr(PbmExporter) self = g_object_new(PBM_TYPE_EXPORTER, NULL);
	g_autoptr(GMainContext) safety = g_main_context_ref_thread_default();
	GPtrArray *panels = pbm_manager_get_panels(manager);
	ExportManager e = { .self = self, .error = error };

	self->manager = g_object_ref(manager);
	self->shared.manager = manager;
	self->shared.connection = g_object_ref(connection);
	self->shared.history = pbm_export_history_new(history_path);
	self->shared.bus = pbm_bus_thread_new(safety);
	self->manager_skel = pbm_dbus_manager_skeleton_new();
	pbm_dbus_manager_set_version(self->manager_skel, PACKAGE_VERSION);
	update_manager(self);
	pbm_bus_thread_invoke_sync(self->shared.bus, export_manager, &e);
	if (!e.ok)
		return NULL;
	for (guint i = 0; i < panels->len; i++)
		on_panel_added(manager, g_ptr_array_index(panels, i), self);
	g_signal_connect(manager, "panel-added", G_CALLBACK(on_panel_added), self);
	g_signal_connect(manager, "session-started", G_CALLBACK(on_session_started), self);
	g_signal_connect(manager, "session-finished", G_CALLBACK(on_session_finished), self);
	g_signal_connect(manager, "changed", G_CALLBACK(on_manager_changed), self);
	update_manager(self);
	return g_steal_pointer(&self);
}
