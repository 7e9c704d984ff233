/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Benchmark: from sending StartSession to the LEDs on, measured at the
 * panel. pbmd drives a panel emulated under umockdev with its real USB
 * transport; the firmware model records when its commanded output changes
 * (pbm_sim_get_output_changes()), so the instant the light went on is known
 * to the microsecond however often the benchmark looks. Many sessions, each
 * stopped as soon as it is lit (StopSession to dark is measured too), back to
 * back (min_gap = 0). The reference is a bare Properties.Get round trip to
 * the same pbmd, timed between the sessions. PBM_BENCH_SESSIONS sets the
 * number of sessions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "bench-latency-util.h"

#define GETS_PER_SESSION 5

static const gchar profile[] =
        "name = \"bench-start\";\n"
        "title = \"Benchmark: light on, then stopped\";\n"
        "distance_cm = 15.0;\n"
        "steps = ( { name = \"on\"; duration = \"1m\"; percent_red = 10; } );\n";

static int
setup(void **state)
{
	return pbm_bench_setup(state, TRUE, "bench-start", profile);
}

static void
print_row(const gchar *what, GArray *samples)
{
	PbmBenchStats s;

	pbm_bench_stats(samples, &s);
	pbm_bench_report("%-40s %8.2f %8.2f %8.2f %8.2f", what, s.p50_us / 1000, s.p99_us / 1000,
	                 s.max_us / 1000, s.mean_us / 1000);
}

/* Times a few bare Get round trips. */
static void
time_gets(PbmBench *bench, GArray *samples)
{
	for (guint i = 0; i < GETS_PER_SESSION; i++) {
		g_autoptr(GError) error = NULL;
		gint64 t = g_get_monotonic_time();

		if (!pbm_bench_get_state(bench->client, NULL, &error))
			fail_msg("Get: %s", error->message);
		t = g_get_monotonic_time() - t;
		g_array_append_val(samples, t);
	}
}

static void
bench_start_to_lit(void **state)
{
	PbmBench *bench = *state;
	guint n = pbm_bench_env_uint("PBM_BENCH_SESSIONS", 500);
	g_autoptr(GArray) sent = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_autoptr(GArray) lit_at = g_array_new(FALSE, FALSE, sizeof(guint64));
	g_autoptr(GArray) stop_sent = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_autoptr(GArray) dark_at = g_array_new(FALSE, FALSE, sizeof(guint64));
	g_autoptr(GArray) to_lit = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_autoptr(GArray) to_reply = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_autoptr(GArray) to_dark = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_autoptr(GArray) gets = g_array_new(FALSE, FALSE, sizeof(gint64));
	gdouble load;
	PbmBenchOutput out;

	time_gets(bench, gets); /* warm up */
	g_array_set_size(gets, 0);
	for (guint i = 0; i < n; i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *path = NULL;
		guint64 before;
		gint64 t;

		pbm_bench_read_output(bench, &out);
		if (out.lit)
			fail_msg("session %u: the panel is lit before StartSession", i);
		before = out.changes;
		t = g_get_monotonic_time();
		path = pbm_bench_start(bench, "bench-start", &error);
		if (path == NULL)
			fail_msg("session %u: StartSession: %s", i, error->message);
		g_array_append_val(sent, t);
		t = g_get_monotonic_time() - t;
		g_array_append_val(to_reply, t);
		if (!pbm_bench_wait_output_change(bench, before, 1000, PBM_BENCH_WAIT_MS, &out) ||
		    !out.lit)
			fail_msg("session %u: the panel did not light within %u ms", i,
			         PBM_BENCH_WAIT_MS);
		if (out.changes != before + 1)
			fail_msg("session %u: the output changed %" G_GUINT64_FORMAT
			         " times before the benchmark looked; cannot tell when it lit",
			         i, out.changes - before);
		g_array_append_val(lit_at, out.changed_at);

		before = out.changes;
		t = g_get_monotonic_time();
		if (!pbm_bench_stop(bench, &error))
			fail_msg("session %u: StopSession: %s", i, error->message);
		g_array_append_val(stop_sent, t);
		if (!pbm_bench_wait_output_change(bench, before, 1000, PBM_BENCH_WAIT_MS, &out) ||
		    out.lit || out.changes != before + 1)
			fail_msg("session %u: the panel did not go dark once within %u ms", i,
			         PBM_BENCH_WAIT_MS);
		g_array_append_val(dark_at, out.changed_at);
		if (!pbm_bench_wait_state(bench, "idle", PBM_BENCH_WAIT_MS, &error))
			fail_msg("session %u: %s", i, error->message);
		time_gets(bench, gets);
	}
	/* device times to ours, with the best estimate of the offset */
	for (guint i = 0; i < n; i++) {
		gint64 lit = bench->device_t0 + (gint64)g_array_index(lit_at, guint64, i);
		gint64 dark = bench->device_t0 + (gint64)g_array_index(dark_at, guint64, i);
		gint64 a = lit - g_array_index(sent, gint64, i);
		gint64 b = dark - g_array_index(stop_sent, gint64, i);

		if (a < 0 || b < 0)
			fail_msg("session %u: the light changed before the call was sent "
			         "(%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
			         " us): the clocks disagree",
			         i, a, b);
		g_array_append_val(to_lit, a);
		g_array_append_val(to_dark, b);
	}
	load = pbm_bench_load_average();
	pbm_bench_report("StartSession to LEDs on at the emulated USB panel, %u sessions, "
	                 "each stopped once lit (load average %.2f)",
	                 n, load);
	pbm_bench_report("%-40s %8s %8s %8s %8s", "milliseconds", "p50", "p99", "max", "mean");
	print_row("StartSession sent -> LEDs on", to_lit);
	print_row("StartSession sent -> its reply", to_reply);
	print_row("StopSession sent -> LEDs off", to_dark);
	print_row("reference: Properties.Get round trip", gets);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bench_start_to_lit, setup, pbm_bench_teardown),
	};

	return cmocka_run_group_tests_name("bench-latency-start", tests, NULL, NULL);
}
