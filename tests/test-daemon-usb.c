/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The real pbmd with its real USB transport, the panel emulated under
 * umockdev, on a private bus: a session on USB, unplug mid-session and
 * replug, SIGKILL of pbmd mid-session, after which the panel's own
 * watchdog switches the light off and the next pbmd records the session
 * as interrupted, and suspend, which waits for the panel to be dark.
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
#include "pbm-test-fixture.h"
#include "pbm-test-logind.h"

/* Each test starts with the panel plugged in. */
static const PbmFixtureOptions usb_panel = { .usb = TRUE, .serial = "USBPANEL" };

static void
test_unplug_mid_session_and_replug(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = NULL;
	const gchar *panel = PBM_DBUS_PATH_PANEL "/USBPANEL";
	PbmSimConfig sim;
	g_autoptr(GError) error = NULL;

	pbm_fixture_spawn(f, NULL);
	assert_true(pbm_fixture_wait_property(f, panel, PBM_DBUS_INTERFACE_PANEL, "Connected",
	                                      "true", PBM_FIXTURE_WAIT_MS));
	path = pbm_fixture_start(f, "demo", NULL);
	assert_true(pbm_fixture_wait_property(f, panel, PBM_DBUS_INTERFACE_PANEL, "State", "lit",
	                                      PBM_FIXTURE_WAIT_MS));
	assert_true(pbm_mock_panel_is_lit(f->panel));
	g_clear_pointer(&f->panel, pbm_mock_panel_unplug);
	assert_true(pbm_fixture_wait_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Outcome",
	                                      "disconnected", PBM_FIXTURE_WAIT_MS));
	assert_true(pbm_fixture_wait_property(f, panel, PBM_DBUS_INTERFACE_PANEL, "Connected",
	                                      "false", PBM_FIXTURE_WAIT_MS));
	/* back in: the same object, idle, and sessions run again */
	pbm_sim_config_init(&sim, "USBPANEL");
	f->panel = pbm_mock_panel_plug(f->usb, &sim, PBM_USB_VID, PBM_USB_PID, &error);
	assert_true(pbm_fixture_wait_property(f, panel, PBM_DBUS_INTERFACE_PANEL, "Connected",
	                                      "true", PBM_FIXTURE_WAIT_MS));
	assert_true(pbm_fixture_wait_property(f, panel, PBM_DBUS_INTERFACE_PANEL, "State", "idle",
	                                      PBM_FIXTURE_WAIT_MS));
	assert_false(pbm_mock_panel_is_lit(f->panel));
	g_free(path);
	path = pbm_fixture_start(f, "demo", NULL);
	assert_true(pbm_fixture_wait_property(f, panel, PBM_DBUS_INTERFACE_PANEL, "State", "lit",
	                                      PBM_FIXTURE_WAIT_MS));
}

static void
test_sigkill_panel_goes_dark_by_itself(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = NULL;
	g_autofree gchar *db = g_build_filename(f->state, "history.db", NULL);
	gint64 killed, dark = 0;
	gint status;

	pbm_fixture_spawn(f, NULL);
	assert_true(pbm_fixture_wait_property(f, PBM_DBUS_PATH_PANEL "/USBPANEL",
	                                      PBM_DBUS_INTERFACE_PANEL, "Connected", "true",
	                                      PBM_FIXTURE_WAIT_MS));
	path = pbm_fixture_start(f, "back-pain", NULL);
	g_usleep(G_USEC_PER_SEC);
	assert_true(pbm_mock_panel_is_lit(f->panel));
	status = pbm_test_daemon_signal_and_wait(f->daemon, SIGKILL, PBM_FIXTURE_WAIT_MS);
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
	pbm_fixture_spawn(f, NULL);
	assert_int_equal(pbm_test_count_outcome(db, "interrupted"), 1);
}

/* The machine sleeps only once the light is off at the panel: pbmd lets go
 * of its delay inhibitor after the panel has acknowledged ALL_OFF. */
static void
test_suspend_dark_before_sleep(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmTestLogind) logind = NULL;
	g_autofree gchar *path = NULL;

	pbm_fixture_spawn(f, NULL);
	logind = pbm_test_logind_new(f->bus, &error);
	assert_non_null(logind);
	assert_true(pbm_fixture_wait_property(f, PBM_DBUS_PATH_PANEL "/USBPANEL",
	                                      PBM_DBUS_INTERFACE_PANEL, "Connected", "true",
	                                      PBM_FIXTURE_WAIT_MS));
	path = pbm_fixture_start(f, "demo", NULL);
	assert_true(pbm_test_logind_wait(logind, 1, TRUE, PBM_FIXTURE_WAIT_MS));
	assert_true(pbm_fixture_wait_property(f, PBM_DBUS_PATH_PANEL "/USBPANEL",
	                                      PBM_DBUS_INTERFACE_PANEL, "State", "lit",
	                                      PBM_FIXTURE_WAIT_MS));
	assert_true(pbm_mock_panel_is_lit(f->panel));
	assert_true(pbm_test_logind_prepare_for_sleep(logind, TRUE, &error));
	assert_true(pbm_test_logind_wait(logind, 1, FALSE, PBM_FIXTURE_WAIT_MS));
	assert_false(pbm_mock_panel_is_lit(f->panel));
	assert_int_equal(pbm_test_count_outcome(f->history_db, "interrupted"), 1);
}

static gdouble
panel_temperature(PbmFixture *f)
{
	g_autoptr(GVariant) t = pbm_fixture_property(f, PBM_DBUS_PATH_PANEL "/USBPANEL",
	                                             PBM_DBUS_INTERFACE_PANEL, "Temperature");

	return g_variant_get_double(t);
}

/* An idle panel's temperature still reaches its readers (a warm room, a
 * board cooling down after a session): it stood still at its first value
 * until something moved, found by the full-system test. */
static void
test_idle_temperature_published(void **state)
{
	PbmFixture *f = *state;
	gdouble t0;
	gint64 until = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
	PbmSim *sim;

	pbm_fixture_spawn(f, NULL);
	assert_true(pbm_fixture_wait_property(f, PBM_DBUS_PATH_PANEL "/USBPANEL",
	                                      PBM_DBUS_INTERFACE_PANEL, "Connected", "true",
	                                      PBM_FIXTURE_WAIT_MS));
	t0 = panel_temperature(f);
	sim = pbm_mock_panel_lock_sim(f->panel);
	pbm_sim_set_ambient(sim, 300.0);
	pbm_mock_panel_unlock_sim(f->panel);
	while (panel_temperature(f) < t0 + 0.5 && g_get_monotonic_time() < until)
		g_usleep(100000);
	assert_true(panel_temperature(f) >= t0 + 0.5);
}

/* The on-device cap pbmd sends follows the plan: the 30 s demo is capped
 * at 40 s on the panel, not at limits.max_session (30 min) + 10 s. */
static void
test_cap_follows_plan(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = NULL;
	PbmStatus status;

	pbm_fixture_spawn(f, NULL);
	assert_true(pbm_fixture_wait_property(f, PBM_DBUS_PATH_PANEL "/USBPANEL",
	                                      PBM_DBUS_INTERFACE_PANEL, "Connected", "true",
	                                      PBM_FIXTURE_WAIT_MS));
	path = pbm_fixture_start(f, "demo", NULL);
	assert_true(pbm_fixture_wait_property(f, PBM_DBUS_PATH_PANEL "/USBPANEL",
	                                      PBM_DBUS_INTERFACE_PANEL, "State", "lit",
	                                      PBM_FIXTURE_WAIT_MS));
	pbm_sim_get_status(pbm_mock_panel_lock_sim(f->panel), &status);
	pbm_mock_panel_unlock_sim(f->panel);
	print_message("# the panel's cap: %u s left\n", status.session_left_s);
	/* at most 40 s; well above what a slow start could use up */
	assert_true(status.session_left_s <= 40);
	assert_true(status.session_left_s >= 20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		pbm_fixture_test(test_unplug_mid_session_and_replug, &usb_panel),
		pbm_fixture_test(test_sigkill_panel_goes_dark_by_itself, &usb_panel),
		pbm_fixture_test(test_suspend_dark_before_sleep, &usb_panel),
		pbm_fixture_test(test_idle_temperature_published, &usb_panel),
		pbm_fixture_test(test_cap_follows_plan, &usb_panel),
	};

	return cmocka_run_group_tests_name("daemon-usb", tests, NULL, NULL);
}
