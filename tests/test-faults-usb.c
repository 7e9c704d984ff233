/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The fault matrix on USB: the real pbmd on a private bus, its real libusb
 * transport against a panel emulated under umockdev, and one fault per
 * case: a STALL on set-output (at start, at a step change), heartbeats
 * that time out (one, then for good), unplug and replug, malformed,
 * truncated and over-long reports, a panel of another protocol major
 * version, a flood of reports, over-temperature, a stalled fan, a sensor
 * that cannot be read, the panel's stop button, SIGTERM of pbmd, and
 * protocol 1.1: a panel that refuses without a STALL (as a FunctionFS
 * gadget must), one whose count of commands does not move, and a 1.0
 * panel. Every case checks that the
 * LEDs go dark in time (measured on the firmware model and printed), the
 * outcome in the history and on the Session object, and that pbmd still
 * serves afterwards and, where the fault can be cleared, runs a new
 * session.
 *
 * Error names stay literal here: they are the contract as a client sees it,
 * not a name to take from pbm-names.h.
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

#define SERIAL "FAULTPANEL"
#define PANEL_PATH PBM_DBUS_PATH_PANEL "/" SERIAL
/* pbmd.conf defaults this test relies on (man/pbmd.conf.5) */
#define WATCHDOG_MS 3000
/* An event the panel reports (button, fault, a malformed report) reaches
 * pbmd at once; from there to dark is one control transfer. */
#define REACT_LIMIT_MS 500
/* light someone else switched on: the next report (1 s apart while idle),
 * then one GET_STATUS and ALL_OFF */
#define STRAY_LIMIT_MS 1500

static const gchar profile_steps[] =
        "name = \"steps\";\n"
        "title = \"Fault test: two steps\";\n"
        "description = \"A short first step, then a long one.\";\n"
        "distance_cm = 15.0;\n"
        "steps = (\n"
        "  { name = \"first\";  duration = \"2s\";  percent_red = 40; },\n"
        "  { name = \"second\"; duration = \"60s\"; percent_red = 60; percent_nir = 60; }\n"
        ");\n";

static const gchar profile_long[] =
        "name = \"long\";\n"
        "title = \"Fault test: one long step\";\n"
        "description = \"Five minutes of red and NIR.\";\n"
        "distance_cm = 15.0;\n"
        "steps = (\n"
        "  { name = \"only\"; duration = \"5m\"; percent_red = 40; percent_nir = 40; }\n"
        ");\n";

/* Everything but the panel: each test plugs its own (some need a special
 * model, or a fault armed before pbmd sees the panel). */
static const PbmFixtureOptions options = {
	.usb = TRUE,
	.profiles = (const gchar *const[]){ "steps", profile_steps, "long", profile_long, NULL },
};

static gchar *
log_path(PbmFixture *f)
{
	return g_build_filename(f->dir, "pbmd.log", NULL);
}

/* pbmd with its standard error in log_path(), to check what it logs. */
static void
spawn_logged(PbmFixture *f)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *log = log_path(f);
	g_autofree gchar *env_state = g_strconcat("STATE_DIRECTORY=", f->state, NULL);
	g_autofree gchar *env_log = g_strconcat("PBM_FAULTS_LOG=", log, NULL);
	const gchar *env[] = { env_state, env_log, NULL };
	const gchar *binary = pbm_test_daemon_get_binary(&error);
	const gchar *argv[] = { "/bin/sh",  "-c",        "exec \"$0\" \"$@\" 2>\"$PBM_FAULTS_LOG\"",
		                binary,     "--address", pbm_test_bus_get_address(f->bus),
		                "--config", f->config,   NULL };

	if (binary == NULL)
		fail_msg("%s", error->message);
	f->daemon = pbm_test_daemon_spawn_command(f->bus, argv, env, &error);
	if (f->daemon == NULL)
		fail_msg("%s", error->message);
	pbm_fixture_wait_ready(f);
}

static gboolean
has_fault(PbmFixture *f, const gchar *name)
{
	g_autoptr(GVariant) v =
	        pbm_fixture_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "Faults");
	g_autofree const gchar **faults = g_variant_get_strv(v, NULL);

	return g_strv_contains(faults, name);
}

static gboolean
wait_fault(PbmFixture *f, const gchar *name, guint timeout_ms)
{
	gint64 until = g_get_monotonic_time() + timeout_ms * 1000;

	while (g_get_monotonic_time() < until) {
		if (has_fault(f, name))
			return TRUE;
		g_usleep(20000);
	}
	return FALSE;
}

static void
sim_status(PbmFixture *f, PbmStatus *status)
{
	pbm_sim_get_status(pbm_mock_panel_lock_sim(f->panel), status);
	pbm_mock_panel_unlock_sim(f->panel);
}

static gdouble
sim_temperature(PbmFixture *f)
{
	gdouble t = pbm_sim_get_temperature(pbm_mock_panel_lock_sim(f->panel));

	pbm_mock_panel_unlock_sim(f->panel);
	return t;
}

static void
sim_set_ambient(PbmFixture *f, gdouble celsius)
{
	pbm_sim_set_ambient(pbm_mock_panel_lock_sim(f->panel), celsius);
	pbm_mock_panel_unlock_sim(f->panel);
}

static gboolean
wait_lit(PbmFixture *f, guint timeout_ms)
{
	gint64 until = g_get_monotonic_time() + timeout_ms * 1000;

	while (g_get_monotonic_time() < until) {
		if (pbm_mock_panel_is_lit(f->panel))
			return TRUE;
		g_usleep(5000);
	}
	return FALSE;
}

/* Polls the model until the LEDs are off and prints the time from t0 to
 * the first dark sample. The assertion is on the last sample that was
 * still lit, so the polling interval never excuses a late switch-off. */
static gdouble
expect_dark(PbmFixture *f, const gchar *name, gint64 t0, guint limit_ms)
{
	gint64 until = t0 + (gint64)(limit_ms + PBM_FIXTURE_WAIT_MS) * 1000;
	gint64 last_lit = t0, dark = 0;

	while (g_get_monotonic_time() < until) {
		gint64 before = g_get_monotonic_time();
		if (!pbm_mock_panel_is_lit(f->panel)) {
			dark = g_get_monotonic_time();
			break;
		}
		last_lit = before;
		g_usleep(2000);
	}
	if (dark == 0)
		fail_msg("%s: still lit %u ms after the fault (limit %u ms)", name,
		         limit_ms + PBM_FIXTURE_WAIT_MS, limit_ms);
	print_message("# %s: dark after %.0f ms (limit %u ms; last seen lit at %.0f ms)\n", name,
	              (dark - t0) / 1000.0, limit_ms, MAX(last_lit - t0, 0) / 1000.0);
	assert_true(last_lit - t0 <= (gint64)limit_ms * 1000);
	return (dark - t0) / 1000.0;
}

/* Nothing lights the panel again by itself. */
static void
expect_stays_dark(PbmFixture *f, guint ms)
{
	gint64 until = g_get_monotonic_time() + ms * 1000;

	while (g_get_monotonic_time() < until) {
		assert_false(pbm_mock_panel_is_lit(f->panel));
		g_usleep(10000);
	}
}

static gint
count_outcome(PbmFixture *f, const gchar *outcome)
{
	return pbm_test_count_outcome(f->history_db, outcome);
}

/* The session ended with outcome, on the bus and in the history. */
static void
expect_outcome(PbmFixture *f, const gchar *session, const gchar *outcome, gint rows)
{
	g_autofree gchar *state = NULL;

	assert_true(pbm_fixture_wait_property(f, session, PBM_DBUS_INTERFACE_SESSION, "Outcome",
	                                      outcome, PBM_FIXTURE_WAIT_MS));
	state = pbm_fixture_string_property(f, session, PBM_DBUS_INTERFACE_SESSION, "State");
	assert_string_equal(state, "finished");
	assert_int_equal(count_outcome(f, outcome), rows);
}

/* pbmd answers on the bus. */
static void
expect_serving(PbmFixture *f)
{
	g_autoptr(GVariant) v =
	        pbm_fixture_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "Version");

	assert_true(g_variant_get_string(v, NULL)[0] != '\0');
	assert_false(pbm_test_daemon_has_exited(f->daemon, NULL));
}

/* A new session starts and lights the panel; then it is stopped. */
static void
expect_new_session(PbmFixture *f)
{
	gint stopped = count_outcome(f, "stopped");
	g_autofree gchar *path = pbm_fixture_start(f, "long", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;

	assert_true(wait_lit(f, PBM_FIXTURE_WAIT_MS));
	reply = pbm_fixture_call(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StopSession", NULL,
	                         &error);
	if (reply == NULL)
		fail_msg("StopSession: %s", error->message);
	expect_outcome(f, path, "stopped", stopped + 1);
	expect_dark(f, "new session stopped", g_get_monotonic_time(), REACT_LIMIT_MS);
}

/* Plug, start pbmd, wait for the panel, and start profile until lit. */
static gchar *
run_lit(PbmFixture *f, const gchar *profile)
{
	gchar *path;

	if (f->panel == NULL)
		pbm_fixture_plug(f, SERIAL, NULL);
	if (f->daemon == NULL)
		pbm_fixture_spawn(f, NULL);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "Connected",
	                                      "true", PBM_FIXTURE_WAIT_MS));
	path = pbm_fixture_start(f, profile, NULL);
	assert_true(wait_lit(f, PBM_FIXTURE_WAIT_MS));
	return path;
}

static void
clear_fault(PbmFixture *f, GError **error)
{
	g_autoptr(GVariant) reply = NULL;

	pbm_fixture_grant_admin(f);
	reply = pbm_fixture_call(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "ClearFault", NULL,
	                         error);
}

/* ---- 1. STALL on set output ---- */

static void
test_stall_at_start(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = NULL;
	gint64 until;

	pbm_fixture_plug(f, SERIAL, NULL);
	pbm_fixture_spawn(f, NULL);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "Connected",
	                                      "true", PBM_FIXTURE_WAIT_MS));
	pbm_mock_panel_set_stall(f->panel, PBM_REQ_SET_OUTPUT, TRUE);
	path = pbm_fixture_start(f, "long", NULL);
	/* the panel refuses the output: never lit, the session ends as a fault */
	until = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
	while (g_get_monotonic_time() < until) {
		assert_false(pbm_mock_panel_is_lit(f->panel));
		g_usleep(2000);
	}
	expect_outcome(f, path, "fault", 1);
	print_message("# stall at start: dark after 0 ms (limit 0 ms): never lit\n");
	expect_serving(f);
	/* the stall is not latched: once the panel accepts output again, it runs */
	pbm_mock_panel_set_stall(f->panel, PBM_REQ_SET_OUTPUT, FALSE);
	expect_new_session(f);
}

static void
test_stall_at_step_change(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = NULL;
	g_autofree gchar *step = NULL;
	gint64 before;

	pbm_fixture_plug(f, SERIAL, NULL);
	pbm_fixture_spawn(f, NULL);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "Connected",
	                                      "true", PBM_FIXTURE_WAIT_MS));
	before = g_get_monotonic_time();
	path = pbm_fixture_start(f, "steps", NULL);
	assert_true(wait_lit(f, PBM_FIXTURE_WAIT_MS));
	step = pbm_fixture_string_property(f, path, PBM_DBUS_INTERFACE_SESSION, "StepName");
	assert_string_equal(step, "first");
	pbm_mock_panel_set_stall(f->panel, PBM_REQ_SET_OUTPUT, TRUE);
	/* the first step ends 2 s after the session started, at the latest
	 * 2 s after the call went out: measured from there, conservatively */
	expect_dark(f, "stall at step change", before + 2 * G_USEC_PER_SEC, REACT_LIMIT_MS);
	expect_outcome(f, path, "fault", 1);
	expect_stays_dark(f, 1000);
	expect_serving(f);
	pbm_mock_panel_set_stall(f->panel, PBM_REQ_SET_OUTPUT, FALSE);
	expect_new_session(f);
}

/* ---- 2. heartbeats that time out ---- */

static void
test_heartbeat_timeout_once(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = run_lit(f, "long");
	g_autofree gchar *session_state = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GError) error = NULL;
	PbmStatus st;
	guint low = G_MAXUINT;
	gint64 until;

	/* one heartbeat never answered: the model's watchdog is not fed, so
	 * its time left drops below what a heartbeat a second leaves */
	pbm_mock_panel_set_hang(f->panel, PBM_REQ_HEARTBEAT, TRUE);
	until = g_get_monotonic_time() + PBM_FIXTURE_WAIT_MS * 1000;
	do {
		g_usleep(5000);
		sim_status(f, &st);
		assert_true(g_get_monotonic_time() < until);
	} while (st.watchdog_left_ms > WATCHDOG_MS - 1000 - 200);
	pbm_mock_panel_set_hang(f->panel, PBM_REQ_HEARTBEAT, FALSE);
	/* one miss is covered by the watchdog (at least twice the interval):
	 * the session goes on, lit, and its watchdog never runs out */
	until = g_get_monotonic_time() + 4 * G_USEC_PER_SEC;
	while (g_get_monotonic_time() < until) {
		sim_status(f, &st);
		assert_int_equal(st.watchdog, PBM_WATCHDOG_ARMED);
		assert_true(st.flags & PBM_STATUS_LIT);
		low = MIN(low, st.watchdog_left_ms);
		g_usleep(5000);
	}
	session_state = pbm_fixture_string_property(f, path, PBM_DBUS_INTERFACE_SESSION, "State");
	assert_string_equal(session_state, "running");
	print_message("# heartbeat timeout once: session went on, lit, watchdog never below "
	              "%u ms left\n",
	              low);
	/* and it still stops at once on request */
	reply = pbm_fixture_call(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StopSession", NULL,
	                         &error);
	if (reply == NULL)
		fail_msg("StopSession: %s", error->message);
	expect_dark(f, "heartbeat timeout once, then Stop", g_get_monotonic_time(), REACT_LIMIT_MS);
	expect_outcome(f, path, "stopped", 1);
	expect_serving(f);
}

static void
test_heartbeat_timeouts_in_a_row(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = run_lit(f, "long");
	g_autofree gchar *reason = NULL;
	PbmStatus st;
	gint64 now, last_heartbeat;

	g_usleep(1500 * 1000);
	pbm_mock_panel_set_hang(f->panel, PBM_REQ_HEARTBEAT, TRUE);
	sim_status(f, &st);
	now = g_get_monotonic_time();
	assert_int_equal(st.watchdog, PBM_WATCHDOG_ARMED);
	/* when the panel last heard a heartbeat, from its own watchdog (whose
	 * time left is in whole milliseconds) */
	last_heartbeat = now - (gint64)(WATCHDOG_MS - st.watchdog_left_ms - 1) * 1000;
	expect_dark(f, "heartbeat timeouts in a row", last_heartbeat, WATCHDOG_MS);
	expect_outcome(f, path, "fault", 1);
	reason = pbm_fixture_string_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Reason");
	print_message("# reason: %s\n", reason);
	expect_stays_dark(f, 1000);
	expect_serving(f);
	pbm_mock_panel_set_hang(f->panel, PBM_REQ_HEARTBEAT, FALSE);
	expect_new_session(f);
}

/* ---- 3. unplug mid-step and replug ---- */

static void
test_unplug_and_replug(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = run_lit(f, "steps");
	g_autofree gchar *active = NULL;
	gint64 t0;

	g_usleep(500 * 1000);
	g_clear_pointer(&f->panel, pbm_mock_panel_unplug);
	t0 = g_get_monotonic_time();
	expect_outcome(f, path, "disconnected", 1);
	print_message("# unplug: session ended as disconnected after %.0f ms\n",
	              (g_get_monotonic_time() - t0) / 1000.0);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "Connected",
	                                      "false", PBM_FIXTURE_WAIT_MS));
	expect_serving(f);
	/* the same serial again: the same object, idle, dark, and the session
	 * does not resume by itself */
	pbm_fixture_plug(f, SERIAL, NULL);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "Connected",
	                                      "true", PBM_FIXTURE_WAIT_MS));
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "State",
	                                      "idle", PBM_FIXTURE_WAIT_MS));
	t0 = g_get_monotonic_time();
	expect_stays_dark(f, 3000);
	print_message("# replug: dark for %.0f ms after replug (limit: never relit)\n",
	              (g_get_monotonic_time() - t0) / 1000.0);
	assert_true(pbm_fixture_wait_property(f, path, PBM_DBUS_INTERFACE_SESSION, "State",
	                                      "finished", PBM_FIXTURE_WAIT_MS));
	assert_true(pbm_fixture_wait_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "State",
	                                      "idle", PBM_FIXTURE_WAIT_MS));
	active = pbm_fixture_string_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	                                     "ActiveSession");
	assert_string_equal(active, PBM_DBUS_PATH_NONE);
	expect_new_session(f);
}

/* ---- 4. bad reports, another protocol version, a flood ---- */

static void
malformed_case(PbmFixture *f, const gchar *name, const guint8 *bytes, gsize len, guint copies)
{
	g_autofree gchar *path = run_lit(f, "long");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *again = NULL;
	gint64 t0 = g_get_monotonic_time();

	for (guint i = 0; i < copies; i++)
		pbm_mock_panel_inject_report(f->panel, bytes, len);
	/* a panel that talks nonsense is not trusted with light */
	expect_dark(f, name, t0, REACT_LIMIT_MS + copies * 200);
	expect_outcome(f, path, "fault", 1);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "State",
	                                      "faulty", PBM_FIXTURE_WAIT_MS));
	assert_true(has_fault(f, "untrusted"));
	assert_true(pbm_fixture_wait_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "State",
	                                      "fault", PBM_FIXTURE_WAIT_MS));
	expect_serving(f);
	/* and it stays untrusted until it is replugged */
	again = pbm_fixture_try_start(f, "long", NULL, &error);
	assert_null(again);
	assert_true(g_dbus_error_is_remote_error(error));
	g_autofree gchar *remote = g_dbus_error_get_remote_error(error);
	assert_string_equal(remote, "org.pbmd1.Error.Fault");
	print_message("# %s: refused afterwards: %s\n", name, error->message);
	expect_stays_dark(f, 500);
	g_clear_pointer(&f->panel, pbm_mock_panel_unplug);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "Connected",
	                                      "false", PBM_FIXTURE_WAIT_MS));
	pbm_fixture_plug(f, SERIAL, NULL);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "State",
	                                      "idle", PBM_FIXTURE_WAIT_MS));
	expect_new_session(f);
}

static void
test_garbage_report(void **state)
{
	guint8 garbage[sizeof(struct pbm_wire_report)];
	GRand *rand = g_rand_new_with_seed(7062);

	for (guint i = 0; i < sizeof(garbage); i++)
		garbage[i] = (guint8)g_rand_int_range(rand, 0, 256);
	garbage[0] = 0xee; /* no such report type */
	g_rand_free(rand);
	malformed_case(*state, "garbage report", garbage, sizeof(garbage), 1);
}

static void
test_truncated_report(void **state)
{
	const guint8 shorty[] = { PBM_REPORT_STATUS, 0, 0x10, 0x00, 0, 0, 0, 0, 0xe8, 0x03 };

	malformed_case(*state, "truncated report", shorty, sizeof(shorty), 1);
}

static void
test_overlong_reports(void **state)
{
	PbmFixture *f = *state;
	guint8 big[PBM_USB_EP_REPORT_MAX_PACKET + 36];

	memset(big, 0x5a, sizeof(big));
	big[0] = PBM_REPORT_STATUS;
	/* one babbling transfer is an error of the link, retried: the session
	 * goes on with its heartbeats */
	{
		g_autofree gchar *path = run_lit(f, "long");
		g_autofree gchar *session_state = NULL;
		PbmStatus st;

		pbm_mock_panel_inject_report(f->panel, big, sizeof(big));
		g_usleep(1500 * 1000);
		sim_status(f, &st);
		assert_true(st.flags & PBM_STATUS_LIT);
		assert_int_equal(st.watchdog, PBM_WATCHDOG_ARMED);
		session_state =
		        pbm_fixture_string_property(f, path, PBM_DBUS_INTERFACE_SESSION, "State");
		assert_string_equal(session_state, "running");
		print_message("# over-long report once: session went on, watchdog %u ms left\n",
		              st.watchdog_left_ms);
		g_autoptr(GVariant) reply = pbm_fixture_call(
		        f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StopSession", NULL, NULL);
		assert_non_null(reply);
		expect_outcome(f, path, "stopped", 1);
		expect_dark(f, "over-long report once, then Stop", g_get_monotonic_time(),
		            REACT_LIMIT_MS);
	}
	/* a stream of nothing else is a broken device: untrusted, dark */
	{
		g_autofree gchar *path = pbm_fixture_start(f, "long", NULL);
		gint64 t0;

		assert_true(wait_lit(f, PBM_FIXTURE_WAIT_MS));
		t0 = g_get_monotonic_time();
		for (guint i = 0; i < 40; i++)
			pbm_mock_panel_inject_report(f->panel, big, sizeof(big));
		/* ten failed transfers 100 ms apart end the stream */
		expect_dark(f, "over-long reports in a row", t0, 10 * 100 + REACT_LIMIT_MS);
		assert_true(pbm_fixture_wait_property(f, path, PBM_DBUS_INTERFACE_SESSION,
		                                      "Outcome", "fault", PBM_FIXTURE_WAIT_MS));
		assert_int_equal(count_outcome(f, "fault"), 1);
		assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL,
		                                      "State", "faulty", PBM_FIXTURE_WAIT_MS));
		assert_true(has_fault(f, "untrusted"));
		expect_serving(f);
	}
	g_clear_pointer(&f->panel, pbm_mock_panel_unplug);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "Connected",
	                                      "false", PBM_FIXTURE_WAIT_MS));
	pbm_fixture_plug(f, SERIAL, NULL);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "State",
	                                      "idle", PBM_FIXTURE_WAIT_MS));
	{
		g_autofree gchar *path = pbm_fixture_start(f, "long", NULL);
		g_autoptr(GVariant) reply = NULL;

		assert_true(wait_lit(f, PBM_FIXTURE_WAIT_MS));
		reply = pbm_fixture_call(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
		                         "StopSession", NULL, NULL);
		assert_non_null(reply);
		expect_dark(f, "after replug, stopped", g_get_monotonic_time(), REACT_LIMIT_MS);
	}
}

static void
test_wrong_protocol_version(void **state)
{
	PbmFixture *f = *state;
	guint8 info[sizeof(struct pbm_wire_info)];
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) panels = NULL;
	g_autofree gchar *manager_state = NULL;
	g_autofree gchar *log_file = log_path(f);
	g_autofree gchar *log = NULL;
	g_autofree gchar *path = NULL;
	g_auto(GStrv) lines = NULL;
	g_autofree gchar *remote = NULL;
	gint64 until;

	pbm_fixture_plug(f, SERIAL, NULL);
	/* the model's own info, as a panel of protocol 2.0 would send it */
	assert_true(
	        pbm_info_encode(pbm_sim_get_info(pbm_mock_panel_lock_sim(f->panel)), info, NULL));
	pbm_mock_panel_unlock_sim(f->panel);
	info[offsetof(struct pbm_wire_info, proto_major)] = PBM_PROTOCOL_MAJOR + 1;
	info[offsetof(struct pbm_wire_info, proto_minor)] = 0;
	pbm_mock_panel_override_reply(f->panel, PBM_REQ_GET_INFO, info, sizeof(info));
	spawn_logged(f);
	/* refused: no panel, nothing to run a session on, never lit */
	until = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
	while (g_get_monotonic_time() < until) {
		assert_false(pbm_mock_panel_is_lit(f->panel));
		g_usleep(10000);
	}
	panels = pbm_fixture_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "Panels");
	assert_int_equal(g_variant_n_children(panels), 0);
	manager_state =
	        pbm_fixture_string_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "State");
	assert_string_equal(manager_state, "no-panel");
	path = pbm_fixture_try_start(f, "long", NULL, &error);
	assert_null(path);
	remote = g_dbus_error_get_remote_error(error);
	assert_string_equal(remote, "org.pbmd1.Error.NoPanel");
	/* the refusal says why, not only the log */
	assert_non_null(strstr(error->message, "protocol 2.0"));
	assert_non_null(strstr(error->message, "update pbmd"));
	expect_stays_dark(f, 500);
	print_message("# wrong protocol version: dark after 0 ms (limit 0 ms): never lit\n");
	expect_serving(f);
	/* the log says what is wrong and what to do */
	assert_true(g_file_get_contents(log_file, &log, NULL, NULL));
	lines = g_strsplit(log, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		if (lines[i][0] != '\0')
			print_message("# [pbmd] %s\n", lines[i]);
	}
	assert_non_null(strstr(log, "panel speaks protocol 2.0 but pbmd speaks 1.1; update pbmd"));
	/* a panel that speaks v1 is taken at once */
	g_clear_pointer(&f->panel, pbm_mock_panel_unplug);
	pbm_fixture_plug(f, SERIAL, NULL);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "State",
	                                      "idle", PBM_FIXTURE_WAIT_MS));
	expect_new_session(f);
}

#define FLOOD_REPORTS 5000

static void
test_report_flood(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = run_lit(f, "long");
	g_autofree gchar *session_state = NULL;
	g_autoptr(GVariant) reply = NULL;
	PbmReport r = { .type = PBM_REPORT_STATUS };
	guint8 buf[sizeof(struct pbm_wire_report)];
	gint64 t0, slowest = 0, flood_end;
	guint64 sent0;
	PbmStatus st;

	/* thousands of well-formed reports, as fast as the test can queue
	 * them, each the panel's true status of the moment */
	g_usleep(500 * 1000);
	sent0 = pbm_mock_panel_get_reports_sent(f->panel);
	t0 = g_get_monotonic_time();
	for (guint i = 0; i < FLOOD_REPORTS; i++) {
		sim_status(f, &r.status);
		r.seq = (guint16)(0x8000 + i);
		assert_true(pbm_report_encode(&r, buf, NULL));
		pbm_mock_panel_inject_report(f->panel, buf, sizeof(buf));
	}
	flood_end = g_get_monotonic_time();
	/* pbmd keeps answering, and keeps the watchdog fed, while it reads */
	while (pbm_mock_panel_get_reports_sent(f->panel) - sent0 < FLOOD_REPORTS &&
	       g_get_monotonic_time() - t0 < 60 * G_USEC_PER_SEC) {
		gint64 before = g_get_monotonic_time();
		g_autoptr(GVariant) v =
		        pbm_fixture_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "State");
		slowest = MAX(slowest, g_get_monotonic_time() - before);
		assert_string_equal(g_variant_get_string(v, NULL), "running");
		sim_status(f, &st);
		assert_int_equal(st.watchdog, PBM_WATCHDOG_ARMED);
		assert_true(st.flags & PBM_STATUS_LIT);
		g_usleep(100000);
	}
	assert_true(pbm_mock_panel_get_reports_sent(f->panel) - sent0 >= FLOOD_REPORTS);
	print_message("# flood: %d reports queued in %.0f ms, read by pbmd in %.0f ms; slowest "
	              "Properties.Get meanwhile %.0f ms; watchdog always armed\n",
	              FLOOD_REPORTS, (flood_end - t0) / 1000.0,
	              (g_get_monotonic_time() - t0) / 1000.0, slowest / 1000.0);
	assert_true(slowest < 1000 * 1000);
	session_state = pbm_fixture_string_property(f, path, PBM_DBUS_INTERFACE_SESSION, "State");
	assert_string_equal(session_state, "running");
	reply = pbm_fixture_call(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StopSession", NULL,
	                         NULL);
	assert_non_null(reply);
	expect_dark(f, "flood, then Stop", g_get_monotonic_time(), REACT_LIMIT_MS);
	expect_outcome(f, path, "stopped", 1);
	expect_serving(f);
	expect_new_session(f);
}

/* ---- 5. over-temperature, 6. fan stall ---- */

static void
test_over_temperature(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *remote = NULL;
	PbmSimConfig sim;
	gint64 until, crossed = 0;
	const gdouble limit_c = 45.0;

	/* a board that heats fast (small heat capacity) and whose own limits
	 * are far above pbmd's, so that pbmd's limit is what acts first */
	pbm_sim_config_init(&sim, SERIAL);
	sim.heat_capacity_j_k = 50.0;
	sim.t_derate_dc = 600;
	sim.t_max_dc = 800;
	pbm_fixture_plug(f, SERIAL, &sim);
	pbm_fixture_write_config(f, "max_temperature_c = 45.0; thermal_action = \"stop\";");
	path = run_lit(f, "long");
	sim_set_ambient(f, 200.0);
	until = g_get_monotonic_time() + PBM_FIXTURE_WAIT_MS * 1000;
	while (crossed == 0 && g_get_monotonic_time() < until) {
		if (sim_temperature(f) >= limit_c)
			crossed = g_get_monotonic_time();
		else
			g_usleep(2000);
	}
	assert_true(crossed != 0);
	expect_dark(f, "over-temperature (pbmd's limit)", crossed, REACT_LIMIT_MS);
	expect_outcome(f, path, "fault", 1);
	/* still heating: the panel latches its own fault at t_max */
	assert_true(wait_fault(f, "over-temperature", PBM_FIXTURE_WAIT_MS));
	print_message("# over-temperature latched at %.1f °C\n", sim_temperature(f));
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "State",
	                                      "fault", PBM_FIXTURE_WAIT_MS));
	expect_serving(f);
	/* not while the cause is there */
	sim_set_ambient(f, 22.0);
	clear_fault(f, &error);
	assert_non_null(error);
	remote = g_dbus_error_get_remote_error(error);
	assert_string_equal(remote, "org.pbmd1.Error.Fault");
	assert_true(has_fault(f, "over-temperature"));
	g_clear_error(&error);
	/* a fast cool-down, then ClearFault works */
	sim_set_ambient(f, -100.0);
	until = g_get_monotonic_time() + PBM_FIXTURE_WAIT_MS * 1000;
	while (sim_temperature(f) > 30.0 && g_get_monotonic_time() < until)
		g_usleep(10000);
	sim_set_ambient(f, 22.0);
	clear_fault(f, &error);
	if (error != NULL)
		fail_msg("ClearFault: %s", error->message);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "State",
	                                      "idle", PBM_FIXTURE_WAIT_MS));
	assert_false(has_fault(f, "over-temperature"));
	expect_new_session(f);
}

static void
test_fan_stall(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = run_lit(f, "long");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *remote = NULL;
	gint64 t0;

	pbm_sim_set_fan_stalled(pbm_mock_panel_lock_sim(f->panel), TRUE);
	pbm_mock_panel_unlock_sim(f->panel);
	t0 = g_get_monotonic_time();
	/* the firmware needs PBM_SIM_FAN_STALL_DETECT_US to tell a stall */
	expect_dark(f, "fan stall", t0, PBM_SIM_FAN_STALL_DETECT_US / 1000 + REACT_LIMIT_MS);
	expect_outcome(f, path, "fault", 1);
	assert_true(wait_fault(f, "fan-stall", PBM_FIXTURE_WAIT_MS));
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "State",
	                                      "fault", PBM_FIXTURE_WAIT_MS));
	assert_true(pbm_fixture_wait_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "State",
	                                      "fault", PBM_FIXTURE_WAIT_MS));
	expect_serving(f);
	/* a latched fault refuses sessions ... */
	g_autofree gchar *again = pbm_fixture_try_start(f, "long", NULL, &error);
	assert_null(again);
	remote = g_dbus_error_get_remote_error(error);
	assert_string_equal(remote, "org.pbmd1.Error.Fault");
	g_clear_error(&error);
	g_clear_pointer(&remote, g_free);
	/* ... and does not clear while the fan is still stuck */
	clear_fault(f, &error);
	assert_non_null(error);
	remote = g_dbus_error_get_remote_error(error);
	assert_string_equal(remote, "org.pbmd1.Error.Fault");
	g_clear_error(&error);
	pbm_sim_set_fan_stalled(pbm_mock_panel_lock_sim(f->panel), FALSE);
	pbm_mock_panel_unlock_sim(f->panel);
	clear_fault(f, &error);
	if (error != NULL)
		fail_msg("ClearFault: %s", error->message);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "State",
	                                      "idle", PBM_FIXTURE_WAIT_MS));
	assert_false(has_fault(f, "fan-stall"));
	expect_new_session(f);
}

/* The firmware cannot read its temperature sensor (protocol 1.1): it
 * latches the sensor fault, which pbmd names and treats as any other. */
static void
test_sensor_fault(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = run_lit(f, "long");
	g_autoptr(GError) error = NULL;
	gint64 t0 = g_get_monotonic_time();

	pbm_sim_set_sensor_failed(pbm_mock_panel_lock_sim(f->panel), TRUE);
	pbm_mock_panel_unlock_sim(f->panel);
	expect_dark(f, "sensor fault", t0, REACT_LIMIT_MS);
	expect_outcome(f, path, "fault", 1);
	assert_true(wait_fault(f, "sensor", PBM_FIXTURE_WAIT_MS));
	clear_fault(f, &error);
	assert_non_null(error);
	g_clear_error(&error);
	pbm_sim_set_sensor_failed(pbm_mock_panel_lock_sim(f->panel), FALSE);
	pbm_mock_panel_unlock_sim(f->panel);
	clear_fault(f, &error);
	if (error != NULL)
		fail_msg("ClearFault: %s", error->message);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "State",
	                                      "idle", PBM_FIXTURE_WAIT_MS));
	expect_new_session(f);
}

/* ---- 7. the stop button, 8. SIGTERM ---- */

static void
test_stop_button(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = run_lit(f, "steps");
	gint64 t0;

	g_usleep(500 * 1000);
	pbm_sim_press_button(pbm_mock_panel_lock_sim(f->panel));
	pbm_mock_panel_unlock_sim(f->panel);
	t0 = g_get_monotonic_time();
	expect_dark(f, "stop button", t0, REACT_LIMIT_MS);
	expect_outcome(f, path, "stopped-at-panel", 1);
	/* across the step change the session would have made: still dark */
	expect_stays_dark(f, 2000);
	expect_serving(f);
	expect_new_session(f);
}

/* HEARTBEAT (10 s, so that the firmware's watchdog lets the light be) and
 * SET_OUTPUT sent to the panel by someone else than pbmd, as anyone who
 * can open the device node could send them through usbfs. */
static void
light_behind_pbmds_back(PbmFixture *f)
{
	struct pbm_wire_setup heartbeat = {
		.request_type = PBM_REQTYPE_OUT,
		.request = PBM_REQ_HEARTBEAT,
		.value = PBM_WATCHDOG_MAX_MS,
	};
	PbmOutput out = { .level = { 500, 500 }, .duty = PBM_DUTY_MAX, .session_cap_s = 600 };
	guint8 buf[sizeof(struct pbm_wire_output)];
	struct pbm_wire_setup setup = {
		.request_type = PBM_REQTYPE_OUT,
		.request = PBM_REQ_SET_OUTPUT,
		.length = sizeof(buf),
	};
	g_autoptr(GError) error = NULL;
	gsize actual = 0;
	PbmSim *sim;
	gboolean ok;

	if (!pbm_output_encode(&out, buf, &error))
		fail_msg("SET_OUTPUT: %s", error->message);
	sim = pbm_mock_panel_lock_sim(f->panel);
	ok = pbm_sim_control(sim, &heartbeat, NULL, &actual, &error) &&
	     pbm_sim_control(sim, &setup, buf, &actual, &error);
	pbm_mock_panel_unlock_sim(f->panel);
	if (!ok)
		fail_msg("the model refused SET_OUTPUT: %s", error->message);
}

/* pbmd switches off light that none of its sessions asked for: on an idle
 * panel, and on the panel of a paused session. */
static void
test_stray_light(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = NULL;
	gint64 t0;

	pbm_fixture_plug(f, SERIAL, NULL);
	pbm_fixture_spawn(f, NULL);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "State",
	                                      "idle", PBM_FIXTURE_WAIT_MS));
	light_behind_pbmds_back(f);
	assert_true(pbm_mock_panel_is_lit(f->panel));
	t0 = g_get_monotonic_time();
	/* the next report shows it: 1 s apart while idle */
	expect_dark(f, "lit behind pbmd's back, idle", t0, STRAY_LIMIT_MS);
	expect_stays_dark(f, 1500);

	path = run_lit(f, "long");
	pbm_assert_reply(pbm_fixture_manager(f, "PauseSession", NULL, NULL));
	assert_true(pbm_fixture_wait_property(f, path, PBM_DBUS_INTERFACE_SESSION, "State",
	                                      "paused", PBM_FIXTURE_WAIT_MS));
	light_behind_pbmds_back(f);
	t0 = g_get_monotonic_time();
	expect_dark(f, "lit behind pbmd's back, paused", t0, STRAY_LIMIT_MS);
	/* the session itself goes on as it was */
	pbm_assert_reply(pbm_fixture_manager(f, "ResumeSession", NULL, NULL));
	assert_true(wait_lit(f, PBM_FIXTURE_WAIT_MS));
	pbm_assert_reply(pbm_fixture_manager(f, "StopSession", NULL, NULL));
	expect_outcome(f, path, "stopped", 1);
}

static void
test_sigterm(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = run_lit(f, "long");
	gint64 t0;
	gint status;

	g_usleep(500 * 1000);
	t0 = g_get_monotonic_time();
	assert_int_equal(kill(pbm_test_daemon_get_pid(f->daemon), SIGTERM), 0);
	/* pbmd switches off itself, long before the watchdog would */
	expect_dark(f, "SIGTERM", t0, REACT_LIMIT_MS);
	status = pbm_test_daemon_signal_and_wait(f->daemon, 0, PBM_FIXTURE_WAIT_MS);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	print_message("# SIGTERM: pbmd exited with status 0 after %.0f ms\n",
	              (g_get_monotonic_time() - t0) / 1000.0);
	assert_int_equal(count_outcome(f, "daemon-stopped"), 1);
	assert_int_equal(count_outcome(f, "interrupted"), 0);
	expect_stays_dark(f, 500);
	/* the next pbmd serves, keeps the outcome, and runs sessions */
	g_clear_pointer(&f->daemon, pbm_test_daemon_free);
	pbm_fixture_spawn(f, NULL);
	expect_serving(f);
	assert_int_equal(count_outcome(f, "daemon-stopped"), 1);
	assert_int_equal(count_outcome(f, "interrupted"), 0);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "State",
	                                      "idle", PBM_FIXTURE_WAIT_MS));
	expect_new_session(f);
}

/* ---- 9. protocol 1.1: the result of the last command ---- */

static gchar *
session_reason(PbmFixture *f, const gchar *path)
{
	gchar *reason = pbm_fixture_string_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Reason");

	print_message("# the session's reason: %s\n", reason);
	return reason;
}

/* After the case: a panel that keeps its word, plugged afresh, runs a
 * session. */
static void
expect_new_panel_runs(PbmFixture *f)
{
	g_clear_pointer(&f->panel, pbm_mock_panel_unplug);
	pbm_fixture_plug(f, SERIAL, NULL);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "State",
	                                      "idle", PBM_FIXTURE_WAIT_MS));
	expect_new_session(f);
}

/* A panel behind FunctionFS cannot STALL SET_OUTPUT: this one acknowledges
 * it, refuses it (its firmware enforces a shorter session cap than its
 * GET_INFO says) and reports why to GET_RESULT. The session never counts
 * the light as on and ends saying why. */
static void
test_silent_refusal(void **state)
{
	PbmFixture *f = *state;
	PbmSimConfig sim;
	guint8 info[sizeof(struct pbm_wire_info)];
	g_autofree gchar *path = NULL;
	g_autofree gchar *reason = NULL;
	gint64 until;

	pbm_sim_config_init(&sim, SERIAL);
	{
		g_autoptr(PbmSim) advertised = pbm_sim_new(&sim, NULL);
		assert_true(pbm_info_encode(pbm_sim_get_info(advertised), info, NULL));
	}
	sim.max_session_s = 120; /* "long" asks for 5 minutes and 10 s */
	pbm_fixture_plug(f, SERIAL, &sim);
	pbm_mock_panel_override_reply(f->panel, PBM_REQ_GET_INFO, info, sizeof(info));
	pbm_mock_panel_set_ack_out_data(f->panel, TRUE);
	pbm_fixture_spawn(f, NULL);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "Connected",
	                                      "true", PBM_FIXTURE_WAIT_MS));
	path = pbm_fixture_start(f, "long", NULL);
	until = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
	while (g_get_monotonic_time() < until) {
		assert_false(pbm_mock_panel_is_lit(f->panel));
		g_usleep(2000);
	}
	expect_outcome(f, path, "fault", 1);
	reason = session_reason(f, path);
	assert_non_null(strstr(reason, "panel " SERIAL " refused set-output: the session cap was 0 "
	                               "or above the panel's limit (result 8, session-cap)"));
	print_message("# silent refusal: dark after 0 ms (limit 0 ms): never lit\n");
	expect_serving(f);
	expect_new_panel_runs(f);
}

/* GET_RESULT says the same count whatever pbmd sends: the panel did take
 * the command (the model lights), but pbmd cannot tell that it was its
 * own, so it switches the panel off and ends the session. */
static void
test_count_not_advancing(void **state)
{
	PbmFixture *f = *state;
	const guint8 stuck[sizeof(struct pbm_wire_result)] = { PBM_REQ_SET_OUTPUT, PBM_RESULT_OK, 7,
		                                               0 };
	g_autofree gchar *path = NULL;
	g_autofree gchar *reason = NULL;
	guint64 changes_before, changes_after;
	gint64 t0;

	pbm_fixture_plug(f, SERIAL, NULL);
	pbm_mock_panel_override_reply(f->panel, PBM_REQ_GET_RESULT, stuck, sizeof(stuck));
	pbm_fixture_spawn(f, NULL);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "Connected",
	                                      "true", PBM_FIXTURE_WAIT_MS));
	changes_before = pbm_sim_get_output_changes(pbm_mock_panel_lock_sim(f->panel), NULL);
	pbm_mock_panel_unlock_sim(f->panel);
	t0 = g_get_monotonic_time();
	path = pbm_fixture_start(f, "long", NULL);
	expect_dark(f, "count not advancing", t0, REACT_LIMIT_MS);
	expect_outcome(f, path, "fault", 1);
	reason = session_reason(f, path);
	assert_non_null(strstr(reason, "panel " SERIAL " did not receive set-output: its count of "
	                               "set-output requests stayed at 7"));
	/* it was lit by the command, and switched off again */
	changes_after = pbm_sim_get_output_changes(pbm_mock_panel_lock_sim(f->panel), NULL);
	pbm_mock_panel_unlock_sim(f->panel);
	assert_true(changes_after >= changes_before + 2);
	expect_stays_dark(f, 1000);
	expect_serving(f);
	expect_new_panel_runs(f);
}

/* A 1.0 panel STALLs GET_RESULT: pbmd does not ask it, and runs sessions. */
static void
test_protocol_1_0_panel(void **state)
{
	PbmFixture *f = *state;
	PbmSimConfig sim;
	g_autofree gchar *version = NULL;

	pbm_sim_config_init(&sim, SERIAL);
	sim.protocol_minor = 0;
	pbm_fixture_plug(f, SERIAL, &sim);
	pbm_fixture_spawn(f, NULL);
	assert_true(pbm_fixture_wait_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL, "State",
	                                      "idle", PBM_FIXTURE_WAIT_MS));
	version = pbm_fixture_string_property(f, PANEL_PATH, PBM_DBUS_INTERFACE_PANEL,
	                                      "ProtocolVersion");
	assert_string_equal(version, "1.0");
	expect_new_session(f);
	/* its refusals are STALLs, as ever */
	pbm_mock_panel_set_stall(f->panel, PBM_REQ_SET_OUTPUT, TRUE);
	{
		g_autofree gchar *path = pbm_fixture_start(f, "long", NULL);
		expect_outcome(f, path, "fault", 1);
	}
	assert_false(pbm_mock_panel_is_lit(f->panel));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		pbm_fixture_test(test_stall_at_start, &options),
		pbm_fixture_test(test_stall_at_step_change, &options),
		pbm_fixture_test(test_heartbeat_timeout_once, &options),
		pbm_fixture_test(test_heartbeat_timeouts_in_a_row, &options),
		pbm_fixture_test(test_unplug_and_replug, &options),
		pbm_fixture_test(test_garbage_report, &options),
		pbm_fixture_test(test_truncated_report, &options),
		pbm_fixture_test(test_overlong_reports, &options),
		pbm_fixture_test(test_wrong_protocol_version, &options),
		pbm_fixture_test(test_report_flood, &options),
		pbm_fixture_test(test_over_temperature, &options),
		pbm_fixture_test(test_fan_stall, &options),
		pbm_fixture_test(test_sensor_fault, &options),
		pbm_fixture_test(test_stop_button, &options),
		pbm_fixture_test(test_sigterm, &options),
		pbm_fixture_test(test_stray_light, &options),
		pbm_fixture_test(test_silent_refusal, &options),
		pbm_fixture_test(test_count_not_advancing, &options),
		pbm_fixture_test(test_protocol_1_0_panel, &options),
	};

	return cmocka_run_group_tests_name("faults-usb", tests, NULL, NULL);
}
