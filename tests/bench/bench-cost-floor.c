/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The floor the cost benchmarks compare pbmd with: a minimal GDBus service
 * that connects to the bus at --address, owns --name (pbmd's own name by
 * default, so the same bus policy applies), says READY=1 on $NOTIFY_SOCKET
 * once the name is owned, and does nothing else until SIGTERM. No
 * libsystemd: the notification is one datagram, written here.
 *
 *   bench-cost-floor --address ADDR [--name NAME]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "pbm-names.h"

static void
notify_ready(void)
{
	const gchar *path = g_getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	static const gchar ready[] = "READY=1";
	socklen_t len;
	gint fd;

	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(addr.sun_path))
		return;
	memcpy(addr.sun_path, path, strlen(path));
	if (addr.sun_path[0] == '@')
		addr.sun_path[0] = '\0';
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, ready, strlen(ready), MSG_NOSIGNAL, (struct sockaddr *)&addr, len) < 0)
		g_printerr("bench-cost-floor: notify: %s\n", g_strerror(errno));
	close(fd);
}

static void
on_acquired(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	notify_ready();
}

static void
on_lost(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	g_printerr("bench-cost-floor: cannot own %s\n", name);
	g_main_loop_quit(user_data);
}

static gboolean
on_term(gpointer user_data)
{
	g_main_loop_quit(user_data);
	return G_SOURCE_REMOVE;
}

int
main(int argc, char **argv)
{
	g_autofree gchar *address = NULL;
	g_autofree gchar *name = NULL;
	const GOptionEntry entries[] = {
		{ "address", 0, 0, G_OPTION_ARG_STRING, &address, "Bus address", "ADDR" },
		{ "name", 0, 0, G_OPTION_ARG_STRING, &name, "Name to own", "NAME" },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new("- the idle floor");
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusConnection) connection = NULL;
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	guint id;

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error) || address == NULL) {
		g_printerr("bench-cost-floor: %s\n",
		           error != NULL ? error->message : "--address is required");
		return 2;
	}
	connection = g_dbus_connection_new_for_address_sync(
	        address,
	        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
	                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	        NULL, NULL, &error);
	if (connection == NULL) {
		g_printerr("bench-cost-floor: %s\n", error->message);
		return 1;
	}
	g_unix_signal_add(SIGTERM, on_term, loop);
	id = g_bus_own_name_on_connection(connection, name != NULL ? name : PBM_DBUS_NAME,
	                                  G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE, on_acquired, on_lost,
	                                  loop, NULL);
	g_main_loop_run(loop);
	g_bus_unown_name(id);
	return 0;
}
