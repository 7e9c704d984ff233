/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Benchmark: the D-Bus round trip of a property read from pbmd
 * (Properties.Get of org.pbmd1.Manager State), against the floor of any
 * round trip on the same bus: org.freedesktop.DBus.Peer.Ping answered by
 * dbus-daemon itself. One client connection, synchronous calls, the two
 * kinds interleaved in blocks so that both see the same machine load.
 * pbmd runs with a simulated panel on the harness's private system-style
 * bus. A third kind, Peer.Ping on pbmd, shows what is left of pbmd's share
 * without its main loop: GDBus answers it in pbmd's worker thread.
 * PBM_BENCH_CALLS sets the number of calls of each kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "bench-latency-util.h"

#define BLOCK 500
#define WARMUP 500

typedef gboolean (*CallFunc)(GDBusConnection *client, GError **error);

static gboolean
get_state(GDBusConnection *client, GError **error)
{
	return pbm_bench_get_state(client, NULL, error);
}

static void
time_calls(GDBusConnection *client, CallFunc func, guint n, GArray *samples)
{
	for (guint i = 0; i < n; i++) {
		g_autoptr(GError) error = NULL;
		gint64 t = g_get_monotonic_time();

		if (!func(client, &error))
			fail_msg("call %u: %s", i, error->message);
		t = g_get_monotonic_time() - t;
		if (samples != NULL)
			g_array_append_val(samples, t);
	}
}

static void
print_row(const gchar *what, const PbmBenchStats *s)
{
	pbm_bench_report("%-40s %8.0f %8.0f %8.0f %8.1f", what, s->p50_us, s->p99_us, s->max_us,
	                 s->mean_us);
}

static int
setup(void **state)
{
	return pbm_bench_setup(state, FALSE, NULL, NULL);
}

static void
bench_get_vs_ping(void **state)
{
	PbmBench *bench = *state;
	guint n = pbm_bench_env_uint("PBM_BENCH_CALLS", 5000);
	g_autoptr(GArray) get = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_autoptr(GArray) ping = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_autoptr(GArray) ping_pbmd = g_array_new(FALSE, FALSE, sizeof(gint64));
	PbmBenchStats sg, sp, spp;
	gdouble load;

	time_calls(bench->client, get_state, WARMUP, NULL);
	time_calls(bench->client, pbm_bench_ping_bus, WARMUP, NULL);
	time_calls(bench->client, pbm_bench_ping_pbmd, WARMUP, NULL);
	for (guint done = 0; done < n; done += BLOCK) {
		guint block = MIN(BLOCK, n - done);
		time_calls(bench->client, get_state, block, get);
		time_calls(bench->client, pbm_bench_ping_bus, block, ping);
		time_calls(bench->client, pbm_bench_ping_pbmd, block, ping_pbmd);
	}
	pbm_bench_stats(get, &sg);
	pbm_bench_stats(ping, &sp);
	pbm_bench_stats(ping_pbmd, &spp);
	assert_int_equal(sg.n, n);
	assert_int_equal(sp.n, n);
	assert_int_equal(spp.n, n);
	load = pbm_bench_load_average();
	pbm_bench_report("D-Bus round trip, %u calls of each kind, one connection, synchronous "
	                 "GDBus calls, in blocks of %d (load average %.2f)",
	                 n, BLOCK, load);
	pbm_bench_report("%-40s %8s %8s %8s %8s", "call (microseconds)", "p50", "p99", "max",
	                 "mean");
	print_row("Properties.Get Manager.State (pbmd)", &sg);
	print_row("Peer.Ping (dbus-daemon, the floor)", &sp);
	print_row("Peer.Ping (pbmd, no main loop)", &spp);
	pbm_bench_report("pbmd adds %.0f us at p50 and %.0f us at p99 to the floor (%.2fx at p50)",
	                 sg.p50_us - sp.p50_us, sg.p99_us - sp.p99_us,
	                 sp.p50_us > 0 ? sg.p50_us / sp.p50_us : 0.0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bench_get_vs_ping, setup, pbm_bench_teardown),
	};

	return cmocka_run_group_tests_name("bench-latency-dbus", tests, NULL, NULL);
}
