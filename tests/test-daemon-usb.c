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

#include "pbm-mock-panel.h"
#include "pbm-test-client.h"

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
	const gchar *args[] = { "--config", f->config, NULL };

	f->daemon = pbm_test_spawn_pbmd_ready(f->bus, f->client, args, f->state, WAIT_MS, &error);
	if (f->daemon == NULL)
		fail_msg("%s", error->message);
}

/* Polls a string or boolean property until it has the wanted value. */
static gboolean
wait_property(Fixture *f, const gchar *path, const gchar *iface, const gchar *name,
              const gchar *want, guint timeout_ms)
{
	return pbm_test_wait_property(f->client, path, iface, name, want, 50, timeout_ms);
}

static gchar *
start(Fixture *f, const gchar *profile)
{
	g_autoptr(GError) error = NULL;
	gchar *path = pbm_test_start_session(f->client, profile, NULL, WAIT_MS, &error);

	if (path == NULL)
		fail_msg("%s", error->message);
	return path;
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
	assert_true(pbm_mock_panel_is_lit(f->panel));
	g_clear_pointer(&f->panel, pbm_mock_panel_unplug);
	assert_true(
	        wait_property(f, path, "org.pbmd1.Session", "Outcome", "disconnected", WAIT_MS));
	assert_true(wait_property(f, panel, "org.pbmd1.Panel", "Connected", "false", WAIT_MS));
	/* back in: the same object, idle, and sessions run again */
	pbm_sim_config_init(&sim, "USBPANEL");
	f->panel = pbm_mock_panel_plug(f->usb, &sim, PBM_USB_VID, PBM_USB_PID, &error);
	assert_true(wait_property(f, panel, "org.pbmd1.Panel", "Connected", "true", WAIT_MS));
	assert_true(wait_property(f, panel, "org.pbmd1.Panel", "State", "idle", WAIT_MS));
	assert_false(pbm_mock_panel_is_lit(f->panel));
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
	assert_true(pbm_mock_panel_is_lit(f->panel));
	status = pbm_test_daemon_signal_and_wait(f->daemon, SIGKILL, WAIT_MS);
	killed = g_get_monotonic_time();
	assert_true(WIFSIGNALED(status));
	/* nobody switches it off: the firmware watchdog does, within 3 s */
	while (g_get_monotonic_time() - killed < 10 * G_USEC_PER_SEC) {
		if (!pbm_mock_panel_is_lit(f->panel)) {
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
	assert_int_equal(pbm_test_count_outcome(db, "interrupted"), 1);
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
