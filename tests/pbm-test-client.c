/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-test-client.h"

#include <sqlite3.h>

GVariant *
pbm_test_call(GDBusConnection *connection, const gchar *path, const gchar *iface,
              const gchar *method, GVariant *args, const GVariantType *reply_type, guint timeout_ms,
              GError **error)
{
	return g_dbus_connection_call_sync(connection, PBM_DBUS_NAME, path, iface, method, args,
	                                   reply_type, G_DBUS_CALL_FLAGS_NONE, (gint)timeout_ms,
	                                   NULL, error);
}

#define HISTORY_PAGE 100u

GVariant *
pbm_test_history(GDBusConnection *connection, guint timeout_ms, GError **error)
{
	GVariantBuilder all;
	gint64 since = 0;
	gsize n;

	g_variant_builder_init(&all, G_VARIANT_TYPE("aa{sv}"));
	do {
		g_autoptr(GVariant) reply =
		        pbm_test_call(connection, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
		                      "GetHistory", g_variant_new("(xu)", since, HISTORY_PAGE),
		                      G_VARIANT_TYPE("(aa{sv})"), timeout_ms, error);
		g_autoptr(GVariant) page = NULL;

		if (reply == NULL) {
			g_variant_builder_clear(&all);
			return NULL;
		}
		page = g_variant_get_child_value(reply, 0);
		n = g_variant_n_children(page);
		for (gsize i = 0; i < n; i++) {
			g_autoptr(GVariant) row = g_variant_get_child_value(page, i);
			g_variant_lookup(row, "started_at", "x", &since);
			g_variant_builder_add_value(&all, row);
		}
		since++;
	} while (n == HISTORY_PAGE);
	return g_variant_ref_sink(g_variant_builder_end(&all));
}

GVariant *
pbm_test_get_property(GDBusConnection *connection, const gchar *path, const gchar *iface,
                      const gchar *name, guint timeout_ms, GError **error)
{
	g_autoptr(GVariant) reply =
	        pbm_test_call(connection, path, "org.freedesktop.DBus.Properties", "Get",
	                      g_variant_new("(ss)", iface, name), NULL, timeout_ms, error);
	GVariant *value = NULL;

	if (reply == NULL)
		return NULL;
	g_variant_get(reply, "(v)", &value);
	return value;
}

gboolean
pbm_test_wait_property(GDBusConnection *connection, const gchar *path, const gchar *iface,
                       const gchar *name, const gchar *want, guint poll_ms, guint timeout_ms)
{
	gint64 until = g_get_monotonic_time() + timeout_ms * (gint64)1000;

	while (g_get_monotonic_time() < until) {
		/* a Get that fails (no such object yet) is retried like a wrong value */
		g_autoptr(GVariant) v =
		        pbm_test_get_property(connection, path, iface, name, timeout_ms, NULL);

		if (v != NULL && g_variant_is_of_type(v, G_VARIANT_TYPE_STRING) &&
		    g_str_equal(g_variant_get_string(v, NULL), want))
			return TRUE;
		if (v != NULL && g_variant_is_of_type(v, G_VARIANT_TYPE_BOOLEAN) &&
		    g_variant_get_boolean(v) == g_str_equal(want, "true"))
			return TRUE;
		g_usleep(poll_ms * 1000);
	}
	return FALSE;
}

gchar *
pbm_test_start_session(GDBusConnection *connection, const gchar *profile, GVariant *options,
                       guint timeout_ms, GError **error)
{
	g_autoptr(GVariant) reply = pbm_test_call(
	        connection, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession",
	        g_variant_new("(s@a{sv})", profile,
	                      options != NULL
	                              ? options
	                              : g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)),
	        G_VARIANT_TYPE("(o)"), timeout_ms, error);
	gchar *path = NULL;

	if (reply == NULL)
		return NULL;
	g_variant_get(reply, "(o)", &path);
	return path;
}

gboolean
pbm_test_daemon_wait_ready(PbmTestDaemon *daemon, GDBusConnection *connection, guint timeout_ms,
                           GError **error)
{
	return pbm_test_daemon_wait_notify(daemon, "READY=1", timeout_ms, NULL, error) &&
	       pbm_test_daemon_wait_name(daemon, connection, timeout_ms, error);
}

PbmTestDaemon *
pbm_test_spawn_pbmd_ready(PbmTestBus *bus, GDBusConnection *connection, const gchar *const *args,
                          const gchar *state_dir, guint timeout_ms, GError **error)
{
	g_autofree gchar *env_state =
	        state_dir != NULL ? g_strconcat("STATE_DIRECTORY=", state_dir, NULL) : NULL;
	const gchar *env[] = { env_state, NULL };
	g_autoptr(PbmTestDaemon) daemon = pbm_test_daemon_spawn(bus, args, env, error);

	if (daemon == NULL || !pbm_test_daemon_wait_ready(daemon, connection, timeout_ms, error))
		return NULL;
	return g_steal_pointer(&daemon);
}

gint
pbm_test_count_outcome(const gchar *db, const gchar *outcome)
{
	sqlite3 *conn = NULL;
	sqlite3_stmt *stmt = NULL;
	gint n = -1;

	if (sqlite3_open_v2(db, &conn, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		/* sqlite3_open_v2() allocates a handle even when it fails */
		sqlite3_close(conn);
		return -1;
	}
	sqlite3_busy_timeout(conn, 2000);
	if (sqlite3_prepare_v2(conn, "SELECT count(*) FROM sessions WHERE outcome = ?", -1, &stmt,
	                       NULL) == SQLITE_OK) {
		sqlite3_bind_text(stmt, 1, outcome, -1, SQLITE_STATIC);
		if (sqlite3_step(stmt) == SQLITE_ROW)
			n = sqlite3_column_int(stmt, 0);
	}
	sqlite3_finalize(stmt);
	sqlite3_close(conn);
	return n;
}
