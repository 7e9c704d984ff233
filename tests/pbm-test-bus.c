/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The private system-style bus. See pbm-test-bus.h.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "pbm-names.h"
#include "pbm-test-bus.h"
#include "pbm-test-files.h"
#include "pbm-test-process.h"

#ifndef PBM_SOURCE_DIR
#error "PBM_SOURCE_DIR must be defined (the project's source root)"
#endif

#define BUS_START_TIMEOUT_MS 10000
#define BUS_STOP_TIMEOUT_MS 5000

struct _PbmTestBus {
	PbmTestProcess process;
	gchar *dir;
	gchar *address;
};

static const gchar bus_config_format[] =
        "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
        " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
        "<!-- Written by tests/pbm-test-daemon.c: a private bus with the system bus's\n"
        "     policy (dbus-1/system.conf), plus what the tests need. -->\n"
        "<busconfig>\n"
        "  <type>system</type>\n"
        "  <listen>unix:path=%s</listen>\n"
        "  <auth>EXTERNAL</auth>\n"
        "  <policy context=\"default\">\n"
        "    <allow user=\"*\"/>\n"
        "    <deny own=\"*\"/>\n"
        "    <deny send_type=\"method_call\"/>\n"
        "    <allow send_type=\"signal\"/>\n"
        "    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
        "    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
        "    <allow receive_type=\"method_call\"/>\n"
        "    <allow receive_type=\"method_return\"/>\n"
        "    <allow receive_type=\"error\"/>\n"
        "    <allow receive_type=\"signal\"/>\n"
        "    <allow send_destination=\"org.freedesktop.DBus\"\n"
        "           send_interface=\"org.freedesktop.DBus\"/>\n"
        "    <allow send_destination=\"org.freedesktop.DBus\"\n"
        "           send_interface=\"org.freedesktop.DBus.Introspectable\"/>\n"
        "    <allow send_destination=\"org.freedesktop.DBus\"\n"
        "           send_interface=\"org.freedesktop.DBus.Properties\"/>\n"
        "    <deny send_destination=\"org.freedesktop.DBus\"\n"
        "          send_interface=\"org.freedesktop.DBus\"\n"
        "          send_member=\"UpdateActivationEnvironment\"/>\n"
        "    <deny send_destination=\"org.freedesktop.DBus\"\n"
        "          send_interface=\"org.freedesktop.DBus.Debug.Stats\"/>\n"
        "    <!-- as polkit's own policy: anyone may ask the authority -->\n"
        "    <allow send_destination=\"org.freedesktop.PolicyKit1\"/>\n"
        "    <!-- as logind's own policy: anyone may ask it (Inhibit) -->\n"
        "    <allow send_destination=\"org.freedesktop.login1\"/>\n"
        "  </policy>\n"
        "  <!-- the user running the tests runs pbmd, the fake authority and a\n"
        "       stand-in for logind (PrepareForSleep) -->\n"
        "  <policy user=\"%u\">\n"
        "    <allow own=\"" PBM_DBUS_NAME "\"/>\n"
        "    <allow own=\"org.freedesktop.PolicyKit1\"/>\n"
        "    <allow own=\"org.freedesktop.login1\"/>\n"
        "  </policy>\n"
        "  <include ignore_missing=\"yes\">%s</include>\n"
        "  <!-- empty unless a test activates a service (no servicehelper:\n"
        "       the bus runs the Exec= line itself, as the user running it) -->\n"
        "  <servicedir>%s</servicedir>\n"
        "</busconfig>\n";

static gchar *
bus_policy_path(void)
{
	const gchar *path = g_getenv("PBM_BUS_POLICY");

	if (path != NULL && path[0] != '\0')
		return g_strdup(path);
	return g_build_filename(PBM_SOURCE_DIR, "data", "org.pbmd.conf", NULL);
}

/* Reads the first line dbus-daemon writes on fd (its address). */
static gchar *
read_address(gint fd, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	g_autoptr(GString) text = g_string_new(NULL);

	for (;;) {
		gint64 left = deadline - g_get_monotonic_time();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		gchar buf[256];
		ssize_t n;
		gchar *nl;

		if (left <= 0)
			return NULL;
		if (poll(&pfd, 1, (gint)(left / 1000) + 1) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return NULL;
		g_string_append_len(text, buf, n);
		nl = strchr(text->str, '\n');
		if (nl != NULL)
			return g_strndup(text->str, nl - text->str);
	}
}

PbmTestBus *
pbm_test_bus_new(GError **error)
{
	g_autoptr(PbmTestBus) bus = g_new0(PbmTestBus, 1);
	const gchar *dbus_daemon = g_getenv("DBUS_DAEMON");
	g_autofree gchar *policy = bus_policy_path();
	g_autofree gchar *socket_path = NULL;
	g_autofree gchar *services = NULL;
	g_autofree gchar *config_path = NULL;
	g_autofree gchar *config = NULL;
	g_autofree gchar *config_arg = NULL;
	g_auto(GStrv) envp = g_get_environ();
	g_autoptr(GError) local = NULL;
	gint pipe_fds[2];
	gboolean spawned;

	if (dbus_daemon == NULL || dbus_daemon[0] == '\0')
		dbus_daemon = "dbus-daemon";
	pbm_test_process_init(&bus->process, dbus_daemon);
	bus->dir = pbm_test_make_temp_dir("pbmbus-XXXXXX", error);
	if (bus->dir == NULL)
		return NULL;
	/* other users may connect, as to the system bus */
	g_chmod(bus->dir, 0755);

	socket_path = g_build_filename(bus->dir, "bus", NULL);
	services = g_build_filename(bus->dir, "services", NULL);
	g_mkdir(services, 0755);
	config_path = g_build_filename(bus->dir, "bus.conf", NULL);
	config = g_markup_printf_escaped(bus_config_format, socket_path, (guint)getuid(), policy,
	                                 services);
	if (!g_file_set_contents(config_path, config, -1, &local)) {
		g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_FAILED, "%s", local->message);
		return NULL;
	}

	/* dbus-daemon has no business with a test's preload nor with the
	 * NOTIFY_SOCKET of whatever runs the tests */
	envp = g_environ_unsetenv(envp, "LD_PRELOAD");
	envp = g_environ_unsetenv(envp, "NOTIFY_SOCKET");
	envp = g_environ_unsetenv(envp, "UMOCKDEV_DIR");

	if (!g_unix_open_pipe(pipe_fds, FD_CLOEXEC, &local)) {
		g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_FAILED, "pipe: %s",
		            local->message);
		return NULL;
	}
	config_arg = g_strconcat("--config-file=", config_path, NULL);
	{
		const gchar *argv[] = { dbus_daemon,   config_arg,   "--nofork",
			                "--nopidfile", "--nosyslog", "--print-address=3",
			                NULL };
		spawned = pbm_test_process_spawn(&bus->process, argv, envp, pipe_fds[1], error);
	}
	close(pipe_fds[1]);
	if (spawned)
		bus->address = read_address(pipe_fds[0], BUS_START_TIMEOUT_MS);
	close(pipe_fds[0]);
	if (!spawned)
		return NULL;
	if (bus->address == NULL) {
		g_autofree gchar *what = NULL;

		if (pbm_test_process_wait(&bus->process, 1000)) {
			what = pbm_test_describe_status(bus->process.status);
			g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_EXITED,
			            "dbus-daemon %s before it listened (its messages are above; "
			            "config %s, policy %s)",
			            what, config_path, policy);
		} else {
			g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_TIMED_OUT,
			            "dbus-daemon printed no address within %d ms",
			            BUS_START_TIMEOUT_MS);
		}
		return NULL;
	}
	pbm_test_note(bus->process.label, "pid %d listening on %s", (gint)bus->process.pid,
	              bus->address);
	return g_steal_pointer(&bus);
}

void
pbm_test_bus_free(PbmTestBus *bus)
{
	if (bus == NULL)
		return;
	if (bus->process.pid != 0 && !pbm_test_process_try_reap(&bus->process)) {
		kill(bus->process.pid, SIGTERM);
		if (!pbm_test_process_wait(&bus->process, BUS_STOP_TIMEOUT_MS))
			pbm_test_note(bus->process.label,
			              "did not exit within %d ms of SIGTERM: killing it",
			              BUS_STOP_TIMEOUT_MS);
	}
	pbm_test_process_clear(&bus->process);
	if (bus->dir != NULL && !pbm_test_rm_rf(bus->dir))
		g_warning("could not remove %s", bus->dir);
	g_free(bus->dir);
	g_free(bus->address);
	g_free(bus);
}

const gchar *
pbm_test_bus_get_address(PbmTestBus *bus)
{
	return bus->address;
}

const gchar *
pbm_test_bus_get_dir(PbmTestBus *bus)
{
	return bus->dir;
}

GPid
pbm_test_bus_get_pid(PbmTestBus *bus)
{
	return bus->process.pid;
}

GDBusConnection *
pbm_test_bus_connect(PbmTestBus *bus, GError **error)
{
	return g_dbus_connection_new_for_address_sync(
	        bus->address,
	        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
	                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	        NULL, NULL, error);
}
