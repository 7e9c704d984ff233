/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-test-logind.h"

#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <glib-unix.h>
#include <poll.h>
#include <unistd.h>

#define LOGIND_NAME "org.freedesktop.login1"
#define LOGIND_PATH "/org/freedesktop/login1"
#define LOGIND_MANAGER "org.freedesktop.login1.Manager"

struct _PbmTestLogind {
	GDBusConnection *connection;
	guint object_id;
	guint inhibits;  /* Inhibit calls so far */
	GVariant *asked; /* the last one's arguments */
	gint held;       /* our end of the last inhibitor handed out, or -1 */
};

static const gchar introspection[] =
        "<node><interface name='" LOGIND_MANAGER "'>"
        "<method name='Inhibit'><arg type='s' direction='in'/><arg type='s' direction='in'/>"
        "<arg type='s' direction='in'/><arg type='s' direction='in'/>"
        "<arg type='h' direction='out'/></method></interface></node>";

static void
handle_call(GDBusConnection *connection, const gchar *sender, const gchar *path, const gchar *iface,
            const gchar *method, GVariant *params, GDBusMethodInvocation *invocation, gpointer data)
{
	PbmTestLogind *l = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GUnixFDList) fds = NULL;
	gint ends[2];

	if (!g_unix_open_pipe(ends, FD_CLOEXEC, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return;
	}
	fds = g_unix_fd_list_new_from_array(&ends[1], 1);
	if (l->held >= 0)
		close(l->held);
	l->held = ends[0];
	g_clear_pointer(&l->asked, g_variant_unref);
	l->asked = g_variant_ref(params);
	l->inhibits++;
	g_dbus_method_invocation_return_value_with_unix_fd_list(invocation, g_variant_new("(h)", 0),
	                                                        fds);
}

PbmTestLogind *
pbm_test_logind_new(PbmTestBus *bus, GError **error)
{
	static const GDBusInterfaceVTable vtable = { handle_call, NULL, NULL, { 0 } };
	g_autoptr(GDBusNodeInfo) node = g_dbus_node_info_new_for_xml(introspection, error);
	g_autoptr(PbmTestLogind) l = g_new0(PbmTestLogind, 1);
	g_autoptr(GVariant) owned = NULL;

	l->held = -1;
	if (node == NULL || (l->connection = pbm_test_bus_connect(bus, error)) == NULL)
		return NULL;
	l->object_id = g_dbus_connection_register_object(
	        l->connection, LOGIND_PATH, node->interfaces[0], &vtable, l, NULL, error);
	if (l->object_id == 0)
		return NULL;
	owned = g_dbus_connection_call_sync(
	        l->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
	        "org.freedesktop.DBus", "RequestName", g_variant_new("(su)", LOGIND_NAME, 4u),
	        G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
	if (owned == NULL)
		return NULL;
	return g_steal_pointer(&l);
}

void
pbm_test_logind_free(PbmTestLogind *l)
{
	if (l == NULL)
		return;
	if (l->object_id != 0)
		g_dbus_connection_unregister_object(l->connection, l->object_id);
	g_clear_object(&l->connection);
	g_clear_pointer(&l->asked, g_variant_unref);
	if (l->held >= 0)
		close(l->held);
	g_free(l);
}

static gboolean
prepare(PbmTestLogind *l, const gchar *signal, gboolean going, GError **error)
{
	return g_dbus_connection_emit_signal(l->connection, NULL, LOGIND_PATH, LOGIND_MANAGER,
	                                     signal, g_variant_new("(b)", going), error) &&
	       g_dbus_connection_flush_sync(l->connection, NULL, error);
}

gboolean
pbm_test_logind_prepare_for_sleep(PbmTestLogind *l, gboolean sleeping, GError **error)
{
	return prepare(l, "PrepareForSleep", sleeping, error);
}

gboolean
pbm_test_logind_prepare_for_shutdown(PbmTestLogind *l, GError **error)
{
	return prepare(l, "PrepareForShutdown", TRUE, error);
}

static gboolean
inhibited(PbmTestLogind *l)
{
	struct pollfd p = { .fd = l->held, .events = POLLIN };

	return l->held >= 0 && !(poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) != 0);
}

gboolean
pbm_test_logind_wait(PbmTestLogind *l, guint inhibits, gboolean held, guint timeout_ms)
{
	gint64 until = g_get_monotonic_time() + timeout_ms * (gint64)1000;

	while (g_get_monotonic_time() < until) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		if (l->inhibits == inhibits && inhibited(l) == held)
			return TRUE;
		g_usleep(1000);
	}
	return FALSE;
}

GVariant *
pbm_test_logind_get_last_inhibit(PbmTestLogind *l)
{
	return l->asked != NULL ? g_variant_ref(l->asked) : NULL;
}
