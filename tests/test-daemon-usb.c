/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The real pbmd with its real USB transport, the panel emulated under
 * umockdev, on a private bus: a session on USB, unplug mid-session and
 * replug, and SIGKILL of pbmd mid-session, after which the panel's own
 * watchdog switches the light off and the next pbmd records the session
 * as interrupted.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "pbm-mock-panel.h"
#include "pbm-test-daemon.h"

#define WAIT_MS 10000

typedef struct {
	gchar *dir;
	gchar *config;
	gchar *state;
	PbmMockBus *usb;
	PbmMockPanel *panel;
	PbmTestBus *bus;
	PbmTestDaemon *daemon;
	GDBusConnection *client;
} Fixture;

static int
setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;
	PbmSimConfig sim;

	f->dir = g_dir_make_tmp("pbm-dusb-XXXXXX", NULL);
	f->config = g_build_filename(f->dir, "pbmd.conf", NULL);
	f->state = g_build_filename(f->dir, "state", NULL);
	g_mkdir(f->state, 0700);
	text = g_strdup_printf("profile_dirs = [ \"%s/data/profiles\" ];\n"
	                       "devices = [ \"1209:7062\" ];\n"
	                       "limits = { min_gap = 0; };\n",
	                       PBM_SOURCE_DIR);
	assert_true(g_file_set_contents(f->config, text, -1, NULL));
	f->usb = pbm_mock_bus_new(&error);
	if (f->usb == NULL)
		fail_msg("%s", error->message);
	pbm_sim_config_init(&sim, "USBPANEL");
	f->panel = pbm_mock_panel_plug(f->usb, &sim, PBM_USB_VID, PBM_USB_PID, &error);
	assert_non_null(f->panel);
	f->bus = pbm_test_bus_new(&error);
	if (f->bus == NULL)
		fail_msg("%s", error->message);
	f->client = pbm_test_bus_connect(f->bus, &error);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	Fixture *f = *state;

	/* pbmd goes before the emulated device (it would hang in an ioctl) */
	g_clear_pointer(&f->daemon, pbm_test_daemon_free);
	g_clear_object(&f->client);
	g_clear_pointer(&f->bus, pbm_test_bus_free);
	g_clear_pointer(&f->panel, pbm_mock_panel_unplug);
	g_clear_pointer(&f->usb, pbm_mock_bus_free);
	pbm_test_rm_rf(f->dir);
	g_free(f->dir);
	g_free(f->config);
	g_free(f->state);
	g_free(f);
	return 0;
}

static void
spawn(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *env_state = g_strconcat("STATE_DIRECTORY=", f->state, NULL);
	const gchar *env[] = { env_state, NULL };
	const gchar *args[] = { "--config", f->config, NULL };

	f->daemon = pbm_test_daemon_spawn(f->bus, args, env, &error);
	if (f->daemon == NULL ||
	    !pbm_test_daemon_wait_notify(f->daemon, "READY=1", WAIT_MS, NULL, &error) ||
	    !pbm_test_daemon_wait_name(f->daemon, f->client, WAIT_MS, &error))
		fail_msg("%s", error->message);
}

static GVariant *
get(Fixture *f, const gchar *path, const gchar *iface, const gchar *name)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	        f->client, "org.pbmd", path, "org.freedesktop.DBus.Properties", "Get",
	        g_variant_new("(ss)", iface, name), NULL, G_DBUS_CALL_FLAGS_NONE, WAIT_MS, NULL,
	        &error);
	GVariant *v = NULL;

	if (reply == NULL)
		fail_msg("%s: %s", name, error->message);
	g_variant_get(reply, "(v)", &v);
	return v;
}

/* Polls a string property until it has the wanted value. */
static gboolean
wait_property(Fixture *f, const gchar *path, const gchar *iface, const gchar *name,
              const gchar *want, guint timeout_ms)
{
	gint64 until = g_get_monotonic_time() + timeout_ms * 1000;

	while (g_get_monotonic_time() < until) {
		g_autoptr(GVariant) v = get(f, path, iface, name);
		if (g_variant_is_of_type(v, G_VARIANT_TYPE_STRING) &&
		    g_str_equal(g_variant_get_string(v, NULL), want))
			return TRUE;
		if (g_variant_is_of_type(v, G_VARIANT_TYPE_BOOLEAN) &&
		    g_variant_get_boolean(v) == g_str_equal(want, "true"))
			return TRUE;
		g_usleep(50000);
	}
	return FALSE;
}

static gchar *
start(Fixture *f, const gchar *profile)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	        f->client, "org.pbmd", "/org/pbmd", "org.pbmd1.Manager", "StartSession",
	        g_variant_new("(s@a{sv})", profile,
	                      g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)),
	        G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE, WAIT_MS, NULL, &error);
	gchar *path = NULL;

	if (reply == NULL)
		fail_msg("%s", error->message);
	g_variant_get(reply, "(o)", &path);
	return path;
}

static gboolean
lit(Fixture *f)
{
	gboolean on = pbm_sim_is_lit(pbm_mock_panel_lock_sim(f->panel));

	pbm_mock_panel_unlock_sim(f->panel);
	return on;
}

static gint
count_outcome(const gchar *db, const gchar *outcome)
{
	sqlite3 *conn = NULL;
	sqlite3_stmt *stmt = NULL;
	gint n = -1;

	if (sqlite3_open_v2(db, &conn, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
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

static void
test_unplug_mid_session_and_replug(void **state)
{
	Fixture *f = *state;
	g_autofree gchar *path = NULL;
	const gchar *panel = "/org/pbmd/panel/USBPANEL";
	PbmSimConfig sim;
	g_autoptr(GError) error = NULL;

	spawn(f);
	assert_true(wait_property(f, panel, "org.pbmd1.Panel", "Connected", "true", WAIT_MS));
	path = start(f, "demo");
	assert_true(wait_property(f, panel, "org.pbmd1.Panel", "State", "lit", WAIT_MS));
	assert_true(lit(f));
	g_clear_pointer(&f->panel, pbm_mock_panel_unplug);
	assert_true(
	        wait_property(f, path, "org.pbmd1.Session", "Outcome", "disconnected", WAIT_MS));
	assert_true(wait_property(f, panel, "org.pbmd1.Panel", "Connected", "false", WAIT_MS));
	/* back in: the same object, idle, and sessions run again */
	pbm_sim_config_init(&sim, "USBPANEL");
	f->panel = pbm_mock_panel_plug(f->usb, &sim, PBM_USB_VID, PBM_USB_PID, &error);
	assert_true(wait_property(f, panel, "org.pbmd1.Panel", "Connected", "true", WAIT_MS));
	assert_true(wait_property(f, panel, "org.pbmd1.Panel", "State", "idle", WAIT_MS));
	assert_false(lit(f));
	g_free(path);
	path = start(f, "demo");
	assert_true(wait_property(f, panel, "org.pbmd1.Panel", "State", "lit", WAIT_MS));
}

static void
test_sigkill_panel_goes_dark_by_itself(void **state)
{
	Fixture *f = *state;
	g_autofree gchar *path = NULL;
	g_autofree gchar *db = g_build_filename(f->state, "history.db", NULL);
	gint64 killed, dark = 0;
	gint status;

	spawn(f);
	assert_true(wait_property(f, "/org/pbmd/panel/USBPANEL", "org.pbmd1.Panel", "Connected",
	                          "true", WAIT_MS));
	path = start(f, "back-pain");
	g_usleep(G_USEC_PER_SEC);
	assert_true(lit(f));
	status = pbm_test_daemon_signal_and_wait(f->daemon, SIGKILL, WAIT_MS);
	killed = g_get_monotonic_time();
	assert_true(WIFSIGNALED(status));
	/* nobody switches it off: the firmware watchdog does, within 3 s */
	while (g_get_monotonic_time() - killed < 10 * G_USEC_PER_SEC) {
		if (!lit(f)) {
			dark = g_get_monotonic_time();
			break;
		}
		g_usleep(10000);
	}
	assert_true(dark != 0);
	print_message("# pbmd killed; the panel went dark %.2f s later (watchdog 3 s)\n",
	              (dark - killed) / 1e6);
	assert_true(dark - killed <= 3500 * 1000);
	g_clear_pointer(&f->daemon, pbm_test_daemon_free);
	/* the next pbmd closes the row as interrupted */
	spawn(f);
	assert_int_equal(count_outcome(db, "interrupted"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unplug_mid_session_and_replug, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_sigkill_panel_goes_dark_by_itself, setup,
		                                teardown),
	};

	return cmocka_run_group_tests_name("daemon-usb", tests, NULL, NULL);
}
