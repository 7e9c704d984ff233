/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Benchmark: pbmd's memory (VmRSS and VmHWM from /proc/PID/status, Pss and
 * Pss_Anon from /proc/PID/smaps_rollup) idle with no panel, idle with a
 * history of 10,000 sessions, idle with a simulated panel, during a session
 * and after it, against the floor: a
 * minimal GDBus service owning a name on the same bus (bench-cost-floor.c),
 * measured in the same run. It fails only when it cannot measure.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bench-cost-common.h"

typedef struct {
	gchar *label;
	BenchCostMemory mem;
} Row;

static GPtrArray *rows;

typedef struct {
	BenchCostBase base;
	gchar *config;
} Fixture;

static int
setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);

	bench_cost_base_setup(&f->base, "bc-mem-XXXXXX", TRUE);
	f->config = bench_cost_write_config(f->base.dir, PBM_SOURCE_DIR "/data/profiles", NULL);
	assert_non_null(f->config);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	Fixture *f = *state;

	bench_cost_base_teardown(&f->base);
	g_free(f->config);
	g_free(f);
	return 0;
}

static void
settle(void)
{
	g_usleep(bench_cost_env_uint("BENCH_COST_SETTLE_S", 2) * G_USEC_PER_SEC);
}

static void
record(Fixture *f, const gchar *label)
{
	g_autoptr(GError) error = NULL;
	Row *row = g_new0(Row, 1);

	if (!bench_cost_memory_read(pbm_test_daemon_get_pid(f->base.daemon), &row->mem, &error))
		fail_msg("%s: %s", label, error->message);
	row->label = g_strdup(label);
	print_message("# %s: VmRSS %" G_GUINT64_FORMAT " kB, Pss %" G_GUINT64_FORMAT
	              " kB (anon %" G_GUINT64_FORMAT " kB), VmHWM %" G_GUINT64_FORMAT
	              " kB, %u threads\n",
	              label, row->mem.rss_kb, row->mem.pss_kb, row->mem.pss_anon_kb,
	              row->mem.hwm_kb, row->mem.threads);
	g_ptr_array_add(rows, row);
}

static void
spawn_pbmd(Fixture *f, const gchar *const *args)
{
	g_autoptr(GError) error = NULL;

	f->base.daemon = bench_cost_spawn_pbmd(f->base.bus, f->base.client, f->config, NULL, args,
	                                       TRUE, NULL, &error);
	if (f->base.daemon == NULL)
		fail_msg("pbmd did not start: %s", error->message);
}

static void
test_floor(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;

	f->base.daemon = bench_cost_spawn_floor(f->base.bus, f->base.client, NULL, &error);
	if (f->base.daemon == NULL)
		fail_msg("the floor service did not start: %s", error->message);
	settle();
	record(f, "floor: minimal GDBus service");
	bench_cost_base_stop_daemon(&f->base);
}

static void
test_no_panel(void **state)
{
	Fixture *f = *state;

	spawn_pbmd(f, NULL);
	settle();
	record(f, "pbmd, no panel, idle");
	bench_cost_base_stop_daemon(&f->base);
}

static void
test_history_rows(void **state)
{
	Fixture *f = *state;
	g_autofree gchar *state_dir = g_build_filename(f->base.dir, "state", NULL);
	g_autofree gchar *label =
	        g_strdup_printf("pbmd, no panel, %d history rows", BENCH_COST_HISTORY_ROWS);
	g_autoptr(GError) error = NULL;

	if (!bench_cost_write_history(state_dir, BENCH_COST_HISTORY_ROWS, &error))
		fail_msg("%s", error->message);
	f->base.daemon = bench_cost_spawn_pbmd(f->base.bus, f->base.client, f->config, state_dir,
	                                       NULL, TRUE, NULL, &error);
	if (f->base.daemon == NULL)
		fail_msg("pbmd did not start: %s", error->message);
	settle();
	record(f, label);
	bench_cost_base_stop_daemon(&f->base);
}

static void
test_session(void **state)
{
	Fixture *f = *state;
	const gchar *args[] = { "--simulate", NULL };
	g_autoptr(GVariant) reply = NULL;
	g_autofree gchar *now = NULL;

	spawn_pbmd(f, args);
	settle();
	record(f, "pbmd --simulate, idle");
	reply = bench_cost_manager_call(
	        &f->base, "StartSession",
	        g_variant_new("(s@a{sv})", "demo",
	                      g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)),
	        G_VARIANT_TYPE("(o)"));
	g_usleep(5 * G_USEC_PER_SEC);
	now = bench_cost_manager_state(&f->base);
	if (!g_str_equal(now, "running"))
		fail_msg("the session is %s, not running: cannot measure it", now);
	record(f, "pbmd --simulate, session 5 s");
	g_usleep(10 * G_USEC_PER_SEC);
	record(f, "pbmd --simulate, session 15 s");
	g_variant_unref(bench_cost_manager_call(&f->base, "StopSession", NULL, NULL));
	settle();
	record(f, "pbmd --simulate, after session");
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
	const Row *floor = rows->len > 0 ? g_ptr_array_index(rows, 0) : NULL;

	print_message("# ---- memory, kB (Pss from smaps_rollup; +floor: beyond the "
	              "minimal GDBus service, same bus, same run) ----\n");
	print_message("# %-36s %7s %7s %8s %7s %10s %10s\n", "process", "VmRSS", "Pss", "PssAnon",
	              "VmHWM", "+floor rss", "+floor pss");
	for (guint i = 0; i < rows->len; i++) {
		const Row *r = g_ptr_array_index(rows, i);
		print_message(
		        "# %-36s %7" G_GUINT64_FORMAT " %7" G_GUINT64_FORMAT " %8" G_GUINT64_FORMAT
		        " %7" G_GUINT64_FORMAT " %+10" G_GINT64_FORMAT " %+10" G_GINT64_FORMAT "\n",
		        r->label, r->mem.rss_kb, r->mem.pss_kb, r->mem.pss_anon_kb, r->mem.hwm_kb,
		        floor != NULL ? (gint64)r->mem.rss_kb - (gint64)floor->mem.rss_kb : 0,
		        floor != NULL ? (gint64)r->mem.pss_kb - (gint64)floor->mem.pss_kb : 0);
	}
	g_ptr_array_unref(rows);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_floor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_panel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session, setup, teardown),
	};

	return cmocka_run_group_tests_name("bench-cost-memory", tests, group_setup, group_teardown);
}
