/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Benchmark: pbmd's start-up, from just before the spawn to READY=1 on its
 * NOTIFY_SOCKET (the moment systemd would consider it started), with
 *   - the shipped profiles (6) and an empty history,
 *   - 100 and 1,000 profiles generated into a profile directory named by
 *     profile_dirs in a test pbmd.conf (copies of the shipped ones, renamed),
 *   - the shipped profiles and a history of 10,000 finished sessions
 *     (bench_cost_write_history()),
 * against the floor service (a minimal GDBus service, bench-cost-floor.c)
 * measured the same way in the same run. What the profiles and the history
 * cost by themselves is measured in this process too, with the libraries
 * pbmd uses: pbm_profile_store_load() on the profile directory, and
 * pbm_history_open() + pbm_history_recover_interrupted() on the database. No panel: pbmd says READY
 * as soon as it owns its name. Each case runs once to warm the caches (printed, not counted), then
 * BENCH_COST_RUNS times (5, NULL); min/median/max are printed. After the runs, ListProfiles and
 * GetHistory must show what was generated: otherwise the benchmark measured something else, and
 * fails.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "bench-cost-common.h"
#include "pbm-test-client.h"
#include "pbm-history.h"
#include "pbm-profile-store.h"

#define HISTORY_ROWS BENCH_COST_HISTORY_ROWS

typedef struct {
	gchar *label;
	gdouble min, median, max;
	guint n;
} Row;

static GPtrArray *rows;

typedef struct {
	BenchCostBase base;
} Fixture;

static int
setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);

	bench_cost_base_setup(&f->base, "bc-start-XXXXXX", FALSE);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	Fixture *f = *state;

	bench_cost_base_teardown(&f->base);
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

/* ---- measuring ---- */

static void
record(const gchar *label, GArray *ms)
{
	Row *row = g_new0(Row, 1);

	row->label = g_strdup(label);
	row->n = ms->len;
	bench_cost_stats(ms, &row->min, &row->median, &row->max);
	print_message("# %s: min %.1f ms, median %.1f ms, max %.1f ms (%u runs)\n", label, row->min,
	              row->median, row->max, row->n);
	g_ptr_array_add(rows, row);
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

		if (f->base.daemon != NULL)
			bench_cost_base_stop_daemon(&f->base);
		f->base.daemon =
		        config != NULL
		                ? bench_cost_spawn_pbmd(f->base.bus, f->base.client, config, state,
		                                        NULL, TRUE, &us, &error)
		                : bench_cost_spawn_floor(f->base.bus, f->base.client, &us, &error);
		if (f->base.daemon == NULL)
			fail_msg("%s did not start: %s", label, error->message);
		value = us / 1000.0;
		print_message("# %s: run %u: %.1f ms%s\n", label, i, value,
		              i == 0 ? " (warm-up, not counted)" : "");
		if (i > 0)
			g_array_append_val(ms, value);
	}
	record(label, ms);
}

/* In this process: loading the profiles of dir, runs() times. */
static void
measure_profile_store(const gchar *label, const gchar *dir, guint expected)
{
	g_autoptr(GArray) ms = g_array_new(FALSE, FALSE, sizeof(gdouble));
	const gchar *dirs[] = { dir, NULL };

	for (guint i = 0; i < runs(); i++) {
		gint64 start = g_get_monotonic_time();
		g_autoptr(PbmProfileStore) store = pbm_profile_store_load(dirs, NULL);
		gdouble value = (g_get_monotonic_time() - start) / 1000.0;
		g_autoptr(GPtrArray) list = pbm_profile_store_list(store);

		assert_int_equal(list->len, expected);
		assert_int_equal(pbm_profile_store_get_problems(store)->len, 0);
		g_array_append_val(ms, value);
	}
	record(label, ms);
}

/* In this process: what pbmd does with the history at start-up. */
static void
measure_history_open(const gchar *label, const gchar *state)
{
	g_autoptr(GArray) ms = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autofree gchar *path = g_build_filename(state, "history.db", NULL);

	for (guint i = 0; i < runs(); i++) {
		g_autoptr(GError) error = NULL;
		gint64 start = g_get_monotonic_time();
		g_autoptr(PbmHistory) history = pbm_history_open(path, &error);
		gdouble value;

		if (history == NULL || pbm_history_recover_interrupted(history, &error) < 0)
			fail_msg("%s: %s", path, error->message);
		g_clear_pointer(&history, pbm_history_free);
		value = (g_get_monotonic_time() - start) / 1000.0;
		g_array_append_val(ms, value);
	}
	record(label, ms);
}

static guint
count_profiles(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	        f->base.client, PBM_DBUS_NAME, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	        "ListProfiles", NULL, G_VARIANT_TYPE("(aa{sv})"), G_DBUS_CALL_FLAGS_NONE,
	        BENCH_COST_WAIT_MS, NULL, &error);
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
	g_autoptr(GVariant) list = pbm_test_history(f->base.client, BENCH_COST_WAIT_MS, &error);

	if (list == NULL)
		fail_msg("GetHistory: %s", error->message);
	return (guint)g_variant_n_children(list);
}

/* ---- the cases ---- */

static void
test_floor(void **state)
{
	Fixture *f = *state;

	measure(f, "floor: minimal GDBus service", NULL, NULL);
	bench_cost_base_stop_daemon(&f->base);
}

static guint
count_shipped(void)
{
	g_autoptr(GDir) d = g_dir_open(PBM_SOURCE_DIR "/data/profiles", 0, NULL);
	const gchar *file;
	guint n = 0;

	assert_non_null(d);
	while ((file = g_dir_read_name(d)) != NULL)
		n += g_str_has_suffix(file, ".conf") && file[0] != '.';
	return n;
}

static void
test_shipped_profiles(void **state)
{
	Fixture *f = *state;
	g_autofree gchar *config =
	        bench_cost_write_config(f->base.dir, PBM_SOURCE_DIR "/data/profiles", NULL);
	g_autofree gchar *state_dir = g_build_filename(f->base.dir, "state", NULL);
	guint n = count_shipped();
	g_autofree gchar *label = g_strdup_printf("pbmd, %u shipped profiles", n);
	g_autofree gchar *load = g_strdup_printf("  in-process: load %u profiles", n);

	assert_non_null(config);
	measure(f, label, config, state_dir);
	assert_int_equal(count_profiles(f), n);
	bench_cost_base_stop_daemon(&f->base);
	measure_profile_store(load, PBM_SOURCE_DIR "/data/profiles", n);
	measure_history_open("  in-process: open empty history", state_dir);
}

static void
many_profiles(Fixture *f, guint n)
{
	g_autofree gchar *profiles = g_build_filename(f->base.dir, "profiles", NULL);
	g_autofree gchar *config = bench_cost_write_config(f->base.dir, profiles, NULL);
	g_autofree gchar *state_dir = g_build_filename(f->base.dir, "state", NULL);
	g_autofree gchar *label = g_strdup_printf("pbmd, %u profiles", n);
	g_autofree gchar *load = g_strdup_printf("  in-process: load %u profiles", n);

	assert_non_null(config);
	generate_profiles(profiles, n);
	measure(f, label, config, state_dir);
	assert_int_equal(count_profiles(f), n);
	bench_cost_base_stop_daemon(&f->base);
	measure_profile_store(load, profiles, n);
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
	        bench_cost_write_config(f->base.dir, PBM_SOURCE_DIR "/data/profiles", NULL);
	g_autofree gchar *state_dir = g_build_filename(f->base.dir, "state", NULL);
	g_autofree gchar *label = g_strdup_printf("pbmd, %d history rows", HISTORY_ROWS);
	g_autofree gchar *open = g_strdup_printf("  in-process: open %d-row history", HISTORY_ROWS);
	g_autoptr(GError) error = NULL;

	assert_non_null(config);
	if (!bench_cost_write_history(state_dir, HISTORY_ROWS, &error))
		fail_msg("%s", error->message);
	measure(f, label, config, state_dir);
	assert_int_equal(count_history(f), HISTORY_ROWS);
	bench_cost_base_stop_daemon(&f->base);
	measure_history_open(open, state_dir);
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

	print_message("# ---- start-up: spawn to READY=1, ms, no panel (+floor: median "
	              "beyond the minimal GDBus service's spawn to READY=1, same run; "
	              "in-process: the same work in this process, no spawn) ----\n");
	print_message("# %-36s %5s %8s %8s %8s %8s\n", "case", "runs", "min", "median", "max",
	              "+floor");
	for (guint i = 0; i < rows->len; i++) {
		const Row *r = g_ptr_array_index(rows, i);
		g_autofree gchar *beyond =
		        floor != NULL && !g_str_has_prefix(r->label, " ")
		                ? g_strdup_printf("%+8.1f", r->median - floor->median)
		                : g_strdup("-");
		print_message("# %-36s %5u %8.1f %8.1f %8.1f %8s\n", r->label, r->n, r->min,
		              r->median, r->max, beyond);
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
