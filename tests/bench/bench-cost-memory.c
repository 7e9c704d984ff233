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

static void
row_free(gpointer data)
{
	Row *r = data;

	g_free(r->label);
	g_free(r);
}

typedef struct {
	gchar *dir;
	gchar *config;
	PbmTestBus *bus;
	PbmTestPolkit *polkit;
	GDBusConnection *client;
	PbmTestDaemon *daemon;
} Fixture;

static int
setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	g_autoptr(GError) error = NULL;

	f->dir = g_dir_make_tmp("bc-mem-XXXXXX", &error);
	assert_non_null(f->dir);
	f->config = bench_cost_write_config(f->dir, PBM_SOURCE_DIR "/data/profiles", NULL);
	assert_non_null(f->config);
	f->bus = pbm_test_bus_new(&error);
	if (f->bus == NULL)
		fail_msg("%s", error->message);
	/* sessions start without root too */
	f->polkit = pbm_test_polkit_new(f->bus, TRUE, &error);
	if (f->polkit == NULL)
		fail_msg("%s", error->message);
	f->client = pbm_test_bus_connect(f->bus, &error);
	if (f->client == NULL)
		fail_msg("%s", error->message);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	Fixture *f = *state;

	g_clear_pointer(&f->daemon, pbm_test_daemon_free);
	g_clear_object(&f->client);
	g_clear_pointer(&f->polkit, pbm_test_polkit_free);
	g_clear_pointer(&f->bus, pbm_test_bus_free);
	pbm_test_rm_rf(f->dir);
	g_free(f->dir);
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

	if (!bench_cost_memory_read(pbm_test_daemon_get_pid(f->daemon), &row->mem, &error))
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
stop_daemon(Fixture *f)
{
	if (!bench_cost_stop(f->daemon))
		print_message("# note: the process did not exit cleanly on SIGTERM\n");
	g_clear_pointer(&f->daemon, pbm_test_daemon_free);
}

static void
spawn_pbmd(Fixture *f, const gchar *const *args)
{
	g_autoptr(GError) error = NULL;

	f->daemon =
	        bench_cost_spawn_pbmd(f->bus, f->client, f->config, NULL, args, TRUE, NULL, &error);
	if (f->daemon == NULL)
		fail_msg("pbmd did not start: %s", error->message);
}

static GVariant *
call(Fixture *f, const gchar *method, GVariant *params, const GVariantType *type)
{
	g_autoptr(GError) error = NULL;
	GVariant *reply = g_dbus_connection_call_sync(
	        f->client, "org.pbmd", "/org/pbmd", "org.pbmd1.Manager", method, params, type,
	        G_DBUS_CALL_FLAGS_NONE, BENCH_COST_WAIT_MS, NULL, &error);

	if (reply == NULL)
		fail_msg("%s: %s", method, error->message);
	return reply;
}

static gchar *
manager_state(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	        f->client, "org.pbmd", "/org/pbmd", "org.freedesktop.DBus.Properties", "Get",
	        g_variant_new("(ss)", "org.pbmd1.Manager", "State"), G_VARIANT_TYPE("(v)"),
	        G_DBUS_CALL_FLAGS_NONE, BENCH_COST_WAIT_MS, NULL, &error);
	g_autoptr(GVariant) v = NULL;

	if (reply == NULL)
		fail_msg("State: %s", error->message);
	g_variant_get(reply, "(v)", &v);
	return g_variant_dup_string(v, NULL);
}

static void
test_floor(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;

	f->daemon = bench_cost_spawn_floor(f->bus, f->client, NULL, &error);
	if (f->daemon == NULL)
		fail_msg("the floor service did not start: %s", error->message);
	settle();
	record(f, "floor: minimal GDBus service");
	stop_daemon(f);
}

static void
test_no_panel(void **state)
{
	Fixture *f = *state;

	spawn_pbmd(f, NULL);
	settle();
	record(f, "pbmd, no panel, idle");
	stop_daemon(f);
}

static void
test_history_rows(void **state)
{
	Fixture *f = *state;
	g_autofree gchar *state_dir = g_build_filename(f->dir, "state", NULL);
	g_autofree gchar *label =
	        g_strdup_printf("pbmd, no panel, %u history rows", BENCH_COST_HISTORY_ROWS);
	g_autoptr(GError) error = NULL;

	if (!bench_cost_write_history(state_dir, BENCH_COST_HISTORY_ROWS, &error))
		fail_msg("%s", error->message);
	f->daemon = bench_cost_spawn_pbmd(f->bus, f->client, f->config, state_dir, NULL, TRUE, NULL,
	                                  &error);
	if (f->daemon == NULL)
		fail_msg("pbmd did not start: %s", error->message);
	settle();
	record(f, label);
	stop_daemon(f);
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
	reply = call(f, "StartSession",
	             g_variant_new("(s@a{sv})", "demo",
	                           g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)),
	             G_VARIANT_TYPE("(o)"));
	g_usleep(5 * G_USEC_PER_SEC);
	now = manager_state(f);
	if (!g_str_equal(now, "running"))
		fail_msg("the session is %s, not running: cannot measure it", now);
	record(f, "pbmd --simulate, session 5 s");
	g_usleep(10 * G_USEC_PER_SEC);
	record(f, "pbmd --simulate, session 15 s");
	g_variant_unref(call(f, "StopSession", NULL, NULL));
	settle();
	record(f, "pbmd --simulate, after session");
	stop_daemon(f);
}

static int
group_setup(void **state)
{
	rows = g_ptr_array_new_with_free_func(row_free);
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
