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
	GDBusConnection *connection;
	PbmDBusManager *manager_skel;
	GHashTable *panels;        /* PbmPanel * -> PbmExportPanel * */
	PbmExportSession *session; /* the active one, or the last until the next starts */
	guint tick;                /* 1 Hz while something moves */
};

G_DEFINE_TYPE(PbmExporter, pbm_exporter, G_TYPE_OBJECT)

/* ---- the manager object's properties ---- */

static gchar *
active_session_path(PbmExporter *self)
{
	PbmSession *active = pbm_manager_get_session(self->manager);

	return active != NULL ? pbm_export_session_path(active) : g_strdup(PBM_DBUS_PATH_NONE);
}

static void
update_manager(PbmExporter *self)
{
	GPtrArray *panels = pbm_manager_get_panels(self->manager);
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	g_auto(GStrv) paths = NULL;
	g_autofree gchar *active = active_session_path(self);

	for (guint i = 0; i < panels->len; i++) {
		PbmPanel *panel = g_ptr_array_index(panels, i);
		g_autofree gchar *path = pbm_export_panel_path(pbm_panel_get_serial(panel));
		g_strv_builder_add(b, path);
	}
	paths = g_strv_builder_end(b);
	pbm_dbus_manager_set_panels(self->manager_skel, (const gchar *const *)paths);
	pbm_dbus_manager_set_state(self->manager_skel, pbm_manager_get_state(self->manager));
	pbm_dbus_manager_set_active_session(self->manager_skel, active);
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

static void
on_panel_added(PbmManager *manager, PbmPanel *panel, PbmExporter *self)
{
	g_autoptr(GError) error = NULL;
	PbmExportPanel *exported = pbm_export_panel_new(manager, panel, self->connection, &error);

	if (exported == NULL) {
		g_warning("cannot export panel %s: %s", pbm_panel_get_serial(panel),
		          error->message);
		return;
	}
	g_hash_table_insert(self->panels, g_object_ref(panel), exported);
	g_signal_connect(panel, "notify::state", G_CALLBACK(on_panel_notify), self);
	g_signal_connect(panel, "notify::connected", G_CALLBACK(on_panel_notify), self);
	update_manager(self);
}

/* ---- sessions ---- */

static void
on_session_state(PbmSession *session, PbmExporter *self)
{
	if (self->session == NULL || pbm_export_session_get_session(self->session) != session)
		return;
	pbm_export_session_update_state(self->session);
	pbm_export_session_update_progress(self->session);
	ensure_tick(self);
}

static void
on_session_started(PbmManager *manager, PbmSession *s, PbmExporter *self)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = pbm_export_session_path(s);

	/* The previous session stays readable until this one starts. */
	g_clear_pointer(&self->session, pbm_export_session_free);
	self->session = pbm_export_session_new(manager, s, self->connection, &error);
	if (self->session == NULL)
		g_warning("cannot export %s: %s", path, error->message);
	g_signal_connect_object(s, "state-changed", G_CALLBACK(on_session_state), self, 0);
	g_signal_connect_object(s, "step-changed", G_CALLBACK(on_session_state), self, 0);
	update_manager(self);
	pbm_dbus_manager_emit_session_started(self->manager_skel, path);
	ensure_tick(self);
}

/* ActiveSession goes back to / on the manager's "changed" that follows. */
static void
on_session_finished(PbmManager *manager, PbmSession *s, PbmExporter *self)
{
	g_autofree gchar *path = pbm_export_session_path(s);

	on_session_state(s, self);
	pbm_dbus_manager_emit_session_finished(self->manager_skel, path,
	                                       pbm_outcome_to_string(pbm_session_get_outcome(s)),
	                                       pbm_export_summary_variant(s));
}

static void
on_manager_changed(PbmManager *manager, PbmExporter *self)
{
	update_manager(self);
	ensure_tick(self);
}

/* ---- lifecycle ---- */

static void
pbm_exporter_dispose(GObject *object)
{
	PbmExporter *self = PBM_EXPORTER(object);

	g_clear_handle_id(&self->tick, g_source_remove);
	if (self->manager != NULL)
		g_signal_handlers_disconnect_by_data(self->manager, self);
	if (self->panels != NULL) {
		GHashTableIter iter;
		gpointer panel;
		g_hash_table_iter_init(&iter, self->panels);
		while (g_hash_table_iter_next(&iter, &panel, NULL))
			g_signal_handlers_disconnect_by_data(panel, self);
		g_clear_pointer(&self->panels, g_hash_table_unref);
	}
	g_clear_pointer(&self->session, pbm_export_session_free);
	if (self->manager_skel != NULL) {
		GDBusInterfaceSkeleton *skel = G_DBUS_INTERFACE_SKELETON(self->manager_skel);
		g_signal_handlers_disconnect_by_data(skel, self->manager);
		/* not exported when pbm_exporter_new() failed */
		if (g_dbus_interface_skeleton_get_connection(skel) != NULL)
			g_dbus_interface_skeleton_unexport(skel);
		g_clear_object(&self->manager_skel);
	}
	g_clear_object(&self->manager);
	g_clear_object(&self->connection);
	G_OBJECT_CLASS(pbm_exporter_parent_class)->dispose(object);
}

static void
pbm_exporter_class_init(PbmExporterClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = pbm_exporter_dispose;
}

static void
pbm_exporter_init(PbmExporter *self)
{
	self->panels = g_hash_table_new_full(g_direct_hash, g_direct_equal, g_object_unref,
	                                     (GDestroyNotify)pbm_export_panel_free);
}

PbmExporter *
pbm_exporter_new(PbmManager *manager, GDBusConnection *connection, GError **error)
{
	g_autoptr(PbmExporter) self = g_object_new(PBM_TYPE_EXPORTER, NULL);
	GPtrArray *panels = pbm_manager_get_panels(manager);

	self->manager = g_object_ref(manager);
	self->connection = g_object_ref(connection);
	self->manager_skel = pbm_dbus_manager_skeleton_new();
	pbm_dbus_manager_set_version(self->manager_skel, PACKAGE_VERSION);
	pbm_export_manager_connect(self->manager_skel, manager);
	if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(self->manager_skel),
	                                      connection, PBM_DBUS_PATH, error))
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
