/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Benchmark: pbmd's start-up, from just before the spawn to READY=1 on its
 * NOTIFY_SOCKET (the moment systemd would consider it started), with
 *   - the 6 shipped profiles and an empty history,
 *   - 100 and 1,000 profiles generated into a profile directory named by
 *     profile_dirs in a test pbmd.conf (copies of the shipped ones, renamed),
 *   - the shipped profiles and a history of 10,000 finished sessions (the
 *     schema made by pbm_history_open(), the rows written with sqlite3),
 * against the floor service (a minimal GDBus service, bench-cost-floor.c)
 * measured the same way in the same run. No panel: pbmd says READY as soon
 * as it owns its name. Each case runs once to warm the caches (printed, not
 * counted), then BENCH_COST_RUNS times (5); min/median/max are printed.
 * After the runs, ListProfiles and GetHistory must show what was generated:
 * otherwise the benchmark measured something else, and fails.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "bench-cost-common.h"
#include "pbm-history.h"

#define HISTORY_ROWS 10000

typedef struct {
	gchar *label;
	gdouble min, median, max;
	guint n;
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
	PbmTestBus *bus;
	GDBusConnection *client;
	PbmTestDaemon *daemon;
} Fixture;

static int
setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	g_autoptr(GError) error = NULL;

	f->dir = g_dir_make_tmp("bc-start-XXXXXX", &error);
	assert_non_null(f->dir);
	f->bus = pbm_test_bus_new(&error);
	if (f->bus == NULL)
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
	g_clear_pointer(&f->bus, pbm_test_bus_free);
	pbm_test_rm_rf(f->dir);
	g_free(f->dir);
	g_free(f);
	return 0;
}

static guint
runs(void)
{
	return bench_cost_env_uint("BENCH_COST_RUNS", 5);
}

/* ---- what the cases start with ---- */

/* n profiles in dir: the shipped ones in turn, each renamed gen-NNNN. */
static void
generate_profiles(const gchar *dir, guint n)
{
	const gchar *shipped_dir = PBM_SOURCE_DIR "/data/profiles";
	g_autoptr(GDir) d = g_dir_open(shipped_dir, 0, NULL);
	g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GRegex) name_line =
	        g_regex_new("^name = \"[^\"]*\";$", G_REGEX_MULTILINE, 0, NULL);
	const gchar *file;

	assert_non_null(d);
	while ((file = g_dir_read_name(d)) != NULL) {
		g_autofree gchar *path = g_build_filename(shipped_dir, file, NULL);
		gchar *text = NULL;

		if (!g_str_has_suffix(file, ".conf"))
			continue;
		assert_true(g_file_get_contents(path, &text, NULL, NULL));
		assert_true(g_regex_match(name_line, text, 0, NULL));
		g_ptr_array_add(texts, text);
	}
	assert_true(texts->len > 0);
	assert_int_equal(g_mkdir_with_parents(dir, 0700), 0);
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *name = g_strdup_printf("gen-%04u", i);
		g_autofree gchar *line = g_strdup_printf("name = \"%s\";", name);
		g_autofree gchar *file_name = g_strconcat(name, ".conf", NULL);
		g_autofree gchar *path = g_build_filename(dir, file_name, NULL);
		g_autofree gchar *text = g_regex_replace_literal(
		        name_line, g_ptr_array_index(texts, i % texts->len), -1, 0, line, 0, NULL);

		assert_true(g_file_set_contents(path, text, -1, NULL));
	}
}

static void
sql(sqlite3 *db, const gchar *text)
{
	gchar *message = NULL;

	if (sqlite3_exec(db, text, NULL, NULL, &message) != SQLITE_OK)
		fail_msg("%s: %s", text, message);
}

/* STATE/history.db with pbmd's schema and rows finished sessions, one
 * every 8 hours back from now. */
static void
generate_history(const gchar *state, guint n)
{
	g_autofree gchar *path = g_build_filename(state, "history.db", NULL);
	g_autoptr(GError) error = NULL;
	PbmHistory *history;
	sqlite3 *db = NULL;
	sqlite3_stmt *session = NULL;
	sqlite3_stmt *panel = NULL;
	gint64 now = g_get_real_time();
	const gint64 period = G_GINT64_CONSTANT(8) * 3600 * G_USEC_PER_SEC;
	const gint64 length = G_GINT64_CONSTANT(600) * G_USEC_PER_SEC;
	static const gchar *const profiles[] = { "back-pain", "joint", "skin", "recovery",
		                                 "inflammation" };

	assert_int_equal(g_mkdir_with_parents(state, 0700), 0);
	history = pbm_history_open(path, &error);
	if (history == NULL)
		fail_msg("%s", error->message);
	pbm_history_free(history);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sql(db, "BEGIN");
	assert_int_equal(
	        sqlite3_prepare_v2(db,
	                           "INSERT INTO sessions (profile, owner_uid, started_at, "
	                           "planned_duration_us, planned_dose_red, planned_dose_nir, "
	                           "distance_cm, ended_at, outcome, dose_red, dose_nir, lit_us, "
	                           "max_temperature_c, faults, checkpoint_at) VALUES "
	                           "(?, 1000, ?, ?, 9.0, 14.0, 15.0, ?, 'completed', 9.0, 14.0, "
	                           "?, 38.5, '', ?)",
	                           -1, &session, NULL),
	        SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "INSERT INTO session_panels (session_id, position, "
	                                    "serial) VALUES (?, 0, 'SIM0001')",
	                                    -1, &panel, NULL),
	                 SQLITE_OK);
	for (guint i = 0; i < n; i++) {
		gint64 started = now - (gint64)(n - i) * period;

		sqlite3_bind_text(session, 1, profiles[i % G_N_ELEMENTS(profiles)], -1,
		                  SQLITE_STATIC);
		sqlite3_bind_int64(session, 2, started);
		sqlite3_bind_int64(session, 3, length);
		sqlite3_bind_int64(session, 4, started + length);
		sqlite3_bind_int64(session, 5, length);
		sqlite3_bind_int64(session, 6, started + length - G_USEC_PER_SEC);
		assert_int_equal(sqlite3_step(session), SQLITE_DONE);
		sqlite3_reset(session);
		sqlite3_bind_int64(panel, 1, sqlite3_last_insert_rowid(db));
		assert_int_equal(sqlite3_step(panel), SQLITE_DONE);
		sqlite3_reset(panel);
	}
	sqlite3_finalize(session);
	sqlite3_finalize(panel);
	sql(db, "COMMIT");
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* ---- measuring ---- */

static void
record(const gchar *label, GArray *ms)
{
	Row *row = g_new0(Row, 1);

	row->label = g_strdup(label);
	row->n = ms->len;
	bench_cost_stats(ms, &row->min, &row->median, &row->max);
	print_message("# %s: start-up to READY=1 min %.1f ms, median %.1f ms, max %.1f ms "
	              "(%u runs)\n",
	              label, row->min, row->median, row->max, row->n);
	g_ptr_array_add(rows, row);
}

static void
stop_daemon(Fixture *f)
{
	if (!bench_cost_stop(f->daemon))
		print_message("# note: the process did not exit cleanly on SIGTERM\n");
	g_clear_pointer(&f->daemon, pbm_test_daemon_free);
}

/* Starts pbmd (floor when config is NULL) 1 + runs() times; keeps the last
 * one running for the checks. */
static void
measure(Fixture *f, const gchar *label, const gchar *config, const gchar *state)
{
	g_autoptr(GArray) ms = g_array_new(FALSE, FALSE, sizeof(gdouble));

	for (guint i = 0; i <= runs(); i++) {
		g_autoptr(GError) error = NULL;
		gint64 us = 0;
		gdouble value;

		if (f->daemon != NULL)
			stop_daemon(f);
		f->daemon = config != NULL ? bench_cost_spawn_pbmd(f->bus, f->client, config, state,
		                                                   NULL, TRUE, &us, &error)
		                           : bench_cost_spawn_floor(f->bus, f->client, &us, &error);
		if (f->daemon == NULL)
			fail_msg("%s did not start: %s", label, error->message);
		value = us / 1000.0;
		print_message("# %s: run %u: %.1f ms%s\n", label, i, value,
		              i == 0 ? " (warm-up, not counted)" : "");
		if (i > 0)
			g_array_append_val(ms, value);
	}
	record(label, ms);
}

static guint
count_profiles(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	        f->client, "org.pbmd", "/org/pbmd", "org.pbmd1.Manager", "ListProfiles", NULL,
	        G_VARIANT_TYPE("(aa{sv})"), G_DBUS_CALL_FLAGS_NONE, BENCH_COST_WAIT_MS, NULL,
	        &error);
	g_autoptr(GVariant) list = NULL;

	if (reply == NULL)
		fail_msg("ListProfiles: %s", error->message);
	list = g_variant_get_child_value(reply, 0);
	return (guint)g_variant_n_children(list);
}

static guint
count_history(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	        f->client, "org.pbmd", "/org/pbmd", "org.pbmd1.Manager", "GetHistory",
	        g_variant_new("(xu)", (gint64)0, (guint32)PBM_HISTORY_LIST_MAX),
	        G_VARIANT_TYPE("(aa{sv})"), G_DBUS_CALL_FLAGS_NONE, BENCH_COST_WAIT_MS, NULL,
	        &error);
	g_autoptr(GVariant) list = NULL;

	if (reply == NULL)
		fail_msg("GetHistory: %s", error->message);
	list = g_variant_get_child_value(reply, 0);
	return (guint)g_variant_n_children(list);
}

/* ---- the cases ---- */

static void
test_floor(void **state)
{
	Fixture *f = *state;

	measure(f, "floor: minimal GDBus service", NULL, NULL);
	stop_daemon(f);
}

static void
test_shipped_profiles(void **state)
{
	Fixture *f = *state;
	g_autofree gchar *config =
	        bench_cost_write_config(f->dir, PBM_SOURCE_DIR "/data/profiles", NULL);
	g_autofree gchar *state_dir = g_build_filename(f->dir, "state", NULL);

	assert_non_null(config);
	measure(f, "pbmd, 6 shipped profiles", config, state_dir);
	assert_int_equal(count_profiles(f), 6);
	stop_daemon(f);
}

static void
many_profiles(Fixture *f, guint n)
{
	g_autofree gchar *profiles = g_build_filename(f->dir, "profiles", NULL);
	g_autofree gchar *config = bench_cost_write_config(f->dir, profiles, NULL);
	g_autofree gchar *state_dir = g_build_filename(f->dir, "state", NULL);
	g_autofree gchar *label = g_strdup_printf("pbmd, %u profiles", n);

	assert_non_null(config);
	generate_profiles(profiles, n);
	measure(f, label, config, state_dir);
	assert_int_equal(count_profiles(f), n);
	stop_daemon(f);
}

static void
test_100_profiles(void **state)
{
	many_profiles(*state, 100);
}

static void
test_1000_profiles(void **state)
{
	many_profiles(*state, 1000);
}

static void
test_history_rows(void **state)
{
	Fixture *f = *state;
	g_autofree gchar *config =
	        bench_cost_write_config(f->dir, PBM_SOURCE_DIR "/data/profiles", NULL);
	g_autofree gchar *state_dir = g_build_filename(f->dir, "state", NULL);
	g_autofree gchar *label =
	        g_strdup_printf("pbmd, 6 profiles, %u history rows", HISTORY_ROWS);

	assert_non_null(config);
	generate_history(state_dir, HISTORY_ROWS);
	measure(f, label, config, state_dir);
	assert_int_equal(count_history(f), HISTORY_ROWS);
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

	print_message("# ---- start-up: spawn to READY=1, ms, no panel (+floor: median "
	              "beyond the minimal GDBus service's spawn to READY=1, same run) ----\n");
	print_message("# %-36s %5s %8s %8s %8s %8s\n", "case", "runs", "min", "median", "max",
	              "+floor");
	for (guint i = 0; i < rows->len; i++) {
		const Row *r = g_ptr_array_index(rows, i);
		print_message("# %-36s %5u %8.1f %8.1f %8.1f %+8.1f\n", r->label, r->n, r->min,
		              r->median, r->max, floor != NULL ? r->median - floor->median : 0.0);
	}
	g_ptr_array_unref(rows);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_floor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shipped_profiles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_100_profiles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_1000_profiles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_rows, setup, teardown),
	};

	return cmocka_run_group_tests_name("bench-cost-startup", tests, group_setup,
	                                   group_teardown);
}
