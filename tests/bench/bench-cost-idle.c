/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Benchmark: what an idle pbmd costs. Wakeups (context switches, voluntary
 * + nonvoluntary, of every pbmd thread) and CPU time (utime + stime) over a
 * window of BENCH_COST_IDLE_S seconds (30), with
 *   - no panel: pbmd without the umockdev preload, as on a machine with no
 *     panel; the reference is the floor service (bench-cost-floor.c);
 *   - no panel under umockdev: the preload and an empty testbed;
 *   - one idle panel emulated under umockdev, the real USB transport; the
 *     references are the panel's own reports (1 Hz when dark) and
 *     panel-driver, the same USB transport on a bare GLib main loop, on the
 *     same emulated panel in the same run: what the emulation itself costs
 *     per report (each emulated ioctl is a socket round trip); then the
 *     same after a session has run on the panel and been stopped;
 *   - one simulated panel (--simulate), whose model reports at 1 Hz, and
 *     the same after a session has run and been stopped (a timer the
 *     session left behind would show here).
 * Per-thread numbers are printed so a busy thread shows. It fails only when
 * it cannot measure (pbmd does not start, the panel does not connect).
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "bench-cost-common.h"
#include "pbm-mock-panel.h"
#include "pbmd/protocol.h"

#define SERIAL "IDLEPANEL"

typedef struct {
	gchar *label;
	BenchCostDelta cost;
	gdouble reports_per_s; /* < 0: not counted */
} Row;

static GPtrArray *rows;

typedef struct {
	BenchCostBase base;
	gchar *config;
	PbmMockBus *usb;
	PbmMockPanel *panel;
	GPid driver_pid;
	gint driver_in;
	gint driver_out;
} Fixture;

static guint
window_s(void)
{
	return bench_cost_env_uint("BENCH_COST_IDLE_S", 30);
}

static int
setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);

	f->driver_in = f->driver_out = -1;
	bench_cost_base_setup(&f->base, "bc-idle-XXXXXX", TRUE);
	f->config = bench_cost_write_config(f->base.dir, PBM_SOURCE_DIR "/data/profiles", NULL);
	assert_non_null(f->config);
	*state = f;
	return 0;
}

static void
driver_stop(Fixture *f)
{
	gint status;

	if (f->driver_pid == 0)
		return;
	if (f->driver_in >= 0 && write(f->driver_in, "quit\n", 5) != 5)
		print_message("# panel-driver: quit: %s\n", g_strerror(errno));
	for (gint i = 0; i < 500 && waitpid(f->driver_pid, &status, WNOHANG) == 0; i++)
		g_usleep(10000);
	if (waitpid(f->driver_pid, &status, WNOHANG) == 0) {
		kill(f->driver_pid, SIGKILL);
		waitpid(f->driver_pid, &status, 0);
	}
	g_spawn_close_pid(f->driver_pid);
	f->driver_pid = 0;
	if (f->driver_in >= 0)
		close(f->driver_in);
	if (f->driver_out >= 0)
		close(f->driver_out);
	f->driver_in = f->driver_out = -1;
}

static int
teardown(void **state)
{
	Fixture *f = *state;

	/* every client of the emulated device goes before the testbed */
	g_clear_pointer(&f->base.daemon, pbm_test_daemon_free);
	driver_stop(f);
	bench_cost_base_teardown(&f->base);
	g_clear_pointer(&f->panel, pbm_mock_panel_unplug);
	g_clear_pointer(&f->usb, pbm_mock_bus_free);
	g_free(f->config);
	g_free(f);
	return 0;
}

static void
plug(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	PbmSimConfig sim;

	f->usb = pbm_mock_bus_new(&error);
	if (f->usb == NULL)
		fail_msg("%s", error->message);
	pbm_sim_config_init(&sim, SERIAL);
	f->panel = pbm_mock_panel_plug(f->usb, &sim, PBM_USB_VID, PBM_USB_PID, &error);
	if (f->panel == NULL)
		fail_msg("%s", error->message);
}

static gboolean
panel_connected(Fixture *f, guint timeout_ms)
{
	gint64 until = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	while (g_get_monotonic_time() < until) {
		g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
		        f->base.client, PBM_DBUS_NAME, PBM_DBUS_PATH_PANEL "/" SERIAL,
		        "org.freedesktop.DBus.Properties", "Get",
		        g_variant_new("(ss)", PBM_DBUS_INTERFACE_PANEL, "Connected"),
		        G_VARIANT_TYPE("(v)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
		if (reply != NULL) {
			g_autoptr(GVariant) v = NULL;
			g_variant_get(reply, "(v)", &v);
			if (g_variant_get_boolean(v))
				return TRUE;
		}
		g_usleep(100000);
	}
	return FALSE;
}

static void
spawn_pbmd(Fixture *f, const gchar *const *args, gboolean no_preload)
{
	g_autoptr(GError) error = NULL;

	f->base.daemon = bench_cost_spawn_pbmd(f->base.bus, f->base.client, f->config, NULL, args,
	                                       no_preload, NULL, &error);
	if (f->base.daemon == NULL)
		fail_msg("pbmd did not start: %s", error->message);
}

/* Lets start-up settle, then measures pid over the window. */
static void
measure(Fixture *f, const gchar *label, GPid pid, gboolean count_reports)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(BenchCostSample) a = NULL;
	g_autoptr(BenchCostSample) b = NULL;
	Row *row = g_new0(Row, 1);
	guint64 reports = 0;

	g_usleep(bench_cost_env_uint("BENCH_COST_SETTLE_S", 3) * G_USEC_PER_SEC);
	print_message("# %s: measuring pid %d for %u s\n", label, (gint)pid, window_s());
	if (count_reports)
		reports = pbm_mock_panel_get_reports_sent(f->panel);
	a = bench_cost_sample_take(pid, &error);
	if (a == NULL)
		fail_msg("%s: %s", label, error->message);
	g_usleep(window_s() * G_USEC_PER_SEC);
	b = bench_cost_sample_take(pid, &error);
	if (b == NULL)
		fail_msg("%s: the process went away: %s", label, error->message);
	row->label = g_strdup(label);
	bench_cost_delta(label, a, b, &row->cost);
	row->reports_per_s = count_reports ? (pbm_mock_panel_get_reports_sent(f->panel) - reports) /
	                                             row->cost.seconds
	                                   : -1.0;
	print_message("# %s: %.2f wakeups/s, cpu %.0f ms (utime+stime), %.2f ms (cpu clock) "
	              "in %.1f s",
	              label, row->cost.switches_per_s, row->cost.cpu_ms, row->cost.cpu_clock_ms,
	              row->cost.seconds);
	if (row->reports_per_s >= 0)
		print_message("; the panel sent %.2f reports/s", row->reports_per_s);
	print_message("\n");
	g_ptr_array_add(rows, row);
}

static const Row *
row_named(const gchar *label)
{
	for (guint i = 0; i < rows->len; i++) {
		const Row *r = g_ptr_array_index(rows, i);
		if (g_str_equal(r->label, label))
			return r;
	}
	return NULL;
}

/* ---- panel-driver: the same USB transport alone ---- */

static gboolean
driver_expect(Fixture *f, const gchar *prefix, guint timeout_ms)
{
	g_autoptr(GString) buf = g_string_new(NULL);
	gint64 until = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	while (g_get_monotonic_time() < until) {
		struct pollfd pfd = { .fd = f->driver_out, .events = POLLIN };
		gchar chunk[512];
		gchar *nl;
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(f->driver_out, chunk, sizeof(chunk));
		if (n <= 0)
			return FALSE;
		g_string_append_len(buf, chunk, n);
		while ((nl = strchr(buf->str, '\n')) != NULL) {
			gboolean match = strncmp(buf->str, prefix, strlen(prefix)) == 0;
			*nl = '\0';
			print_message("# [panel-driver] %s\n", buf->str);
			g_string_erase(buf, 0, nl - buf->str + 1);
			if (match)
				return TRUE;
		}
	}
	return FALSE;
}

static void
driver_start(Fixture *f)
{
	const gchar *driver = g_getenv("PBM_PANEL_DRIVER");
	const gchar *argv[] = { driver, NULL };
	g_autoptr(GError) error = NULL;

	if (driver == NULL)
		fail_msg("PBM_PANEL_DRIVER is not set (run under meson test --benchmark)");
	if (!g_spawn_async_with_pipes(NULL, (gchar **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
	                              NULL, &f->driver_pid, &f->driver_in, &f->driver_out, NULL,
	                              &error))
		fail_msg("spawning %s: %s", driver, error->message);
	if (!driver_expect(f, "connected " SERIAL, BENCH_COST_WAIT_MS))
		fail_msg("panel-driver did not connect to the emulated panel");
}

static void
manager_call(Fixture *f, const gchar *method, GVariant *params)
{
	g_variant_unref(bench_cost_manager_call(&f->base, method, params, NULL));
}

/* Runs the demo profile for 3 s, stops it and waits until pbmd is idle. */
static void
run_and_stop_session(Fixture *f)
{
	g_autofree gchar *running = NULL;
	g_autofree gchar *idle = NULL;

	manager_call(f, "StartSession",
	             g_variant_new("(s@a{sv})", "demo",
	                           g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)));
	g_usleep(3 * G_USEC_PER_SEC);
	running = bench_cost_manager_state(&f->base);
	if (!g_str_equal(running, "running"))
		fail_msg("the session is %s, not running", running);
	manager_call(f, "StopSession", NULL);
	for (gint i = 0; i < 100; i++) {
		g_free(idle);
		idle = bench_cost_manager_state(&f->base);
		if (g_str_equal(idle, "idle"))
			return;
		g_usleep(100000);
	}
	fail_msg("pbmd is %s after StopSession, not idle", idle);
}

static gdouble
tidy(gdouble x)
{
	return fabs(x) < 0.005 ? 0.0 : x;
}

/* ---- the cases ---- */

static void
test_no_panel(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;

	f->base.daemon = bench_cost_spawn_floor(f->base.bus, f->base.client, NULL, &error);
	if (f->base.daemon == NULL)
		fail_msg("the floor service did not start: %s", error->message);
	measure(f, "floor: minimal GDBus service", pbm_test_daemon_get_pid(f->base.daemon), FALSE);
	bench_cost_base_stop_daemon(&f->base);

	spawn_pbmd(f, NULL, TRUE);
	measure(f, "pbmd, no panel", pbm_test_daemon_get_pid(f->base.daemon), FALSE);
	bench_cost_base_stop_daemon(&f->base);
}

static void
test_no_panel_umockdev(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;

	f->usb = pbm_mock_bus_new(&error);
	if (f->usb == NULL)
		fail_msg("%s", error->message);
	spawn_pbmd(f, NULL, FALSE);
	measure(f, "pbmd, no panel, umockdev", pbm_test_daemon_get_pid(f->base.daemon), FALSE);
	bench_cost_base_stop_daemon(&f->base);
}

static void
test_usb_panel(void **state)
{
	Fixture *f = *state;

	plug(f);
	spawn_pbmd(f, NULL, FALSE);
	if (!panel_connected(f, BENCH_COST_WAIT_MS))
		fail_msg("pbmd did not connect the emulated panel");
	measure(f, "pbmd, 1 idle USB panel", pbm_test_daemon_get_pid(f->base.daemon), TRUE);
	run_and_stop_session(f);
	measure(f, "pbmd, USB panel, after session", pbm_test_daemon_get_pid(f->base.daemon), TRUE);
	bench_cost_base_stop_daemon(&f->base);

	/* the reference, on the same panel: the transport on a bare main loop */
	driver_start(f);
	measure(f, "panel-driver, same panel", f->driver_pid, TRUE);
	driver_stop(f);
}

static void
test_simulated_panel(void **state)
{
	Fixture *f = *state;
	const gchar *args[] = { "--simulate", NULL };

	spawn_pbmd(f, args, TRUE);
	measure(f, "pbmd --simulate, idle", pbm_test_daemon_get_pid(f->base.daemon), FALSE);
	bench_cost_base_stop_daemon(&f->base);
}

static void
test_simulated_panel_after_session(void **state)
{
	Fixture *f = *state;
	const gchar *args[] = { "--simulate", NULL };

	spawn_pbmd(f, args, TRUE);
	run_and_stop_session(f);
	measure(f, "pbmd --simulate, after session", pbm_test_daemon_get_pid(f->base.daemon),
	        FALSE);
	bench_cost_base_stop_daemon(&f->base);
}

static int
group_setup(void **state)
{
	rows = bench_cost_rows_new();
	return 0;
}

static int
group_teardown(void **state)
{
	const Row *usb = row_named("pbmd, 1 idle USB panel");
	const Row *usb_after = row_named("pbmd, USB panel, after session");
	const Row *driver = row_named("panel-driver, same panel");
	const Row *sim = row_named("pbmd --simulate, idle");
	const Row *after = row_named("pbmd --simulate, after session");
	const gdouble sim_reports = 1000.0 / PBM_REPORT_PERIOD_IDLE_MS;

	print_message("# ---- idle cost over %u s windows (wakeups = context switches of "
	              "all threads; cpu ms = utime + stime, %ld ticks/s; cpu clock ms = "
	              "clock_getcpuclockid) ----\n",
	              window_s(), sysconf(_SC_CLK_TCK));
	print_message("# %-32s %10s %11s %13s %10s\n", "process", "wakeups/s", "cpu ms",
	              "cpu clock ms", "reports/s");
	for (guint i = 0; i < rows->len; i++) {
		const Row *r = g_ptr_array_index(rows, i);
		g_autofree gchar *reports = r->reports_per_s >= 0
		                                    ? g_strdup_printf("%.2f", r->reports_per_s)
		                                    : g_strdup("-");
		print_message("# %-32s %10.2f %11.0f %13.2f %10s\n", r->label,
		              r->cost.switches_per_s, r->cost.cpu_ms, r->cost.cpu_clock_ms,
		              reports);
	}
	if (driver != NULL && driver->reports_per_s > 0) {
		gdouble per_report = driver->cost.switches_per_s / driver->reports_per_s;
		const Row *usb_rows[] = { usb, usb_after };

		print_message("# USB: the emulated transport alone (panel-driver) costs %.1f "
		              "wakeups per report\n",
		              per_report);
		for (guint i = 0; i < G_N_ELEMENTS(usb_rows); i++) {
			if (usb_rows[i] == NULL)
				continue;
			print_message("# %s: %+.2f wakeups/s beyond that at %.2f reports/s (goal: "
			              "at most 1/s)\n",
			              usb_rows[i]->label,
			              tidy(usb_rows[i]->cost.switches_per_s -
			                   per_report * usb_rows[i]->reports_per_s),
			              usb_rows[i]->reports_per_s);
		}
	}
	if (sim != NULL)
		print_message("# simulated: the model reports %.1f/s when dark; pbmd wakes %+.2f/s "
		              "beyond them (goal: at most 1/s)\n",
		              sim_reports, tidy(sim->cost.switches_per_s - sim_reports));
	if (after != NULL)
		print_message("# simulated, after a stopped session: pbmd wakes %+.2f/s beyond the "
		              "model's reports (goal: at most 1/s)\n",
		              tidy(after->cost.switches_per_s - sim_reports));
	g_ptr_array_unref(rows);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_panel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_panel_umockdev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usb_panel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simulated_panel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simulated_panel_after_session, setup,
		                                teardown),
	};

	return cmocka_run_group_tests_name("bench-cost-idle", tests, group_setup, group_teardown);
}
