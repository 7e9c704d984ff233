/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The session history: every field round-trips, a start is on disk before
 * begin returns, a crash (a freed handle, a child killed without closing)
 * leaves a row that recovery closes as "interrupted" with its checkpointed
 * dose, bad outcomes and double finishes are refused, damaged files are
 * moved aside while unreachable ones are left alone, the sessions of the
 * rolling dose (open ones as ending now, an unwritten end as written) ignore
 * midnight, the files are pbmd's alone (0600), and queries stay fast at
 * 10,000 sessions.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "pbm-history.h"
#include "pbm-test-files.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sqlite3_stmt, sqlite3_finalize)

/* 2024-06-14 21:20:00 UTC, a Friday. */
#define NOW (G_GINT64_CONSTANT(1718400000) * G_USEC_PER_SEC)
/* every row, oldest first, as far as a list goes */
static const PbmHistoryQuery everything = { .owner_uid = PBM_HISTORY_ANY_OWNER };

#define MINUTE G_TIME_SPAN_MINUTE
#define HOUR G_TIME_SPAN_HOUR

typedef struct {
	gchar *dir;
	gchar *path;
} Fixture;

/* ---- helpers ---- */

static int
fixture_setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);

	f->dir = g_dir_make_tmp("pbm-history-XXXXXX", NULL);
	if (f->dir == NULL)
		return -1;
	f->path = g_build_filename(f->dir, "history.db", NULL);
	*state = f;
	return 0;
}

static int
fixture_teardown(void **state)
{
	Fixture *f = *state;

	pbm_test_rm_rf(f->dir);
	g_free(f->dir);
	g_free(f->path);
	g_free(f);
	return 0;
}

static PbmHistory *
open_history(const gchar *path)
{
	g_autoptr(GError) error = NULL;
	PbmHistory *h = pbm_history_open_at(path, NOW, &error);

	if (h == NULL)
		fail_msg("%s", error->message);
	return h;
}

static gint64
begin_at(PbmHistory *h, const gchar *profile, gint64 started_at)
{
	const gchar *const panels[] = { "PBM0001", NULL };
	PbmHistoryStart start = {
		.profile = profile,
		.panels = panels,
		.owner_uid = 1000,
		.started_at = started_at,
		.planned_duration_us = 10 * MINUTE,
		.planned_dose = { 10.0, 20.0 },
		.distance_cm = 15.0,
	};
	g_autoptr(GError) error = NULL;
	gint64 id = 0;

	if (!pbm_history_begin(h, &start, &id, &error))
		fail_msg("%s", error->message);
	return id;
}

static void
finish_at(PbmHistory *h, gint64 id, gint64 ended_at, gdouble red, gdouble nir)
{
	const gdouble dose[2] = { red, nir };
	g_autoptr(GError) error = NULL;

	if (!pbm_history_finish(h, id, ended_at, "completed", dose, 5 * MINUTE, 30.0, NULL, &error))
		fail_msg("%s", error->message);
}

static void
checkpoint_at(PbmHistory *h, gint64 id, gint64 now, gdouble red, gdouble nir)
{
	const gdouble dose[2] = { red, nir };
	g_autoptr(GError) error = NULL;

	if (!pbm_history_checkpoint(h, id, now, dose, 2 * MINUTE, 31.5, &error))
		fail_msg("%s", error->message);
}

static PbmHistoryEntry *
get_entry(PbmHistory *h, gint64 id)
{
	g_autoptr(GError) error = NULL;
	PbmHistoryEntry *e = NULL;

	if (!pbm_history_get(h, id, &e, &error))
		fail_msg("%s", error->message);
	return e;
}

static sqlite3 *
raw_open(const gchar *path, gint flags)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK)
		fail_msg("%s: %s", path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void
raw_exec(sqlite3 *db, const gchar *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const gchar *const *)a, *(const gchar *const *)b);
}

static gchar **
list_dir(const gchar *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const gchar *name;

	while (d != NULL && (name = g_dir_read_name(d)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, compare_names);
	g_ptr_array_add(names, NULL);
	return (gchar **)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

static gdouble
elapsed_ms(gint64 since)
{
	return (gdouble)(g_get_monotonic_time() - since) / 1000.0;
}

/* ---- round trip and durability ---- */

static void
test_round_trip(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	const gchar *const panels[] = { "PBM-A1", "p_2", "Z9", NULL };
	PbmHistoryStart start = {
		.profile = "back-pain",
		.panels = panels,
		.owner_uid = 4294967295u,
		.started_at = NOW,
		.planned_duration_us = 12 * MINUTE + 345678,
		.planned_dose = { 12.345678901234, 0.1 },
		.distance_cm = 17.25,
	};
	const gdouble dose[2] = { 11.9, 0.3333333333333333 };
	g_autoptr(PbmHistoryEntry) open = NULL;
	g_autoptr(PbmHistoryEntry) e = NULL;
	g_autoptr(GError) error = NULL;
	gint64 id = 0;

	assert_null(pbm_history_get_recovery_note(h));
	assert_true(pbm_history_begin(h, &start, &id, &error));
	assert_true(id > 0);

	open = get_entry(h, id);
	assert_int_equal(open->ended_at, 0);
	assert_null(open->outcome);
	assert_string_equal(open->faults, "");
	assert_int_equal(open->checkpoint_at, 0);
	assert_true(open->dose[0] == 0 && open->dose[1] == 0);

	checkpoint_at(h, id, NOW + 6 * MINUTE, 5.0, 0.1);
	assert_true(pbm_history_finish(h, id, NOW + 12 * MINUTE, "fault", dose, 11 * MINUTE + 7,
	                               41.75, "over-temperature,fan-stall", &error));
	assert_null(error);

	e = get_entry(h, id);
	assert_int_equal(e->id, id);
	assert_string_equal(e->profile, "back-pain");
	assert_int_equal(g_strv_length(e->panels), 3);
	assert_true(g_strv_equal((const gchar *const *)e->panels, panels));
	assert_int_equal(e->owner_uid, 4294967295u);
	assert_int_equal(e->started_at, NOW);
	assert_int_equal(e->planned_duration_us, 12 * MINUTE + 345678);
	assert_true(e->planned_dose[0] == 12.345678901234);
	assert_true(e->planned_dose[1] == 0.1);
	assert_true(e->distance_cm == 17.25);
	assert_int_equal(e->ended_at, NOW + 12 * MINUTE);
	assert_string_equal(e->outcome, "fault");
	assert_true(e->dose[0] == 11.9);
	assert_true(e->dose[1] == 0.3333333333333333);
	assert_int_equal(e->lit_us, 11 * MINUTE + 7);
	assert_true(e->max_temperature_c == 41.75);
	assert_string_equal(e->faults, "over-temperature,fan-stall");
	assert_int_equal(e->checkpoint_at, NOW + 6 * MINUTE);
}

static void
test_no_panels(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	PbmHistoryStart start = { .profile = "p", .started_at = NOW, .distance_cm = 10 };
	g_autoptr(PbmHistoryEntry) e = NULL;
	g_autoptr(GError) error = NULL;
	gint64 id = 0;

	assert_true(pbm_history_begin(h, &start, &id, &error));
	e = get_entry(h, id);
	assert_non_null(e->panels);
	assert_null(e->panels[0]);
}

static void
test_begin_is_durable(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	gint64 t = g_get_monotonic_time();
	gint64 id = begin_at(h, "durable", NOW);
	sqlite3 *db = NULL;
	g_autoptr(sqlite3_stmt) stmt = NULL;

	print_message("# begin, committed with synchronous=FULL: %.2f ms\n", elapsed_ms(t));
	t = g_get_monotonic_time();
	checkpoint_at(h, id, NOW + MINUTE, 1, 1);
	print_message("# checkpoint: %.2f ms\n", elapsed_ms(t));
	db = raw_open(f->path, SQLITE_OPEN_READONLY);

	/* A second connection sees the row: it is committed, not buffered. */
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT profile, started_at FROM sessions "
	                                    "WHERE id = ?1 AND ended_at IS NULL",
	                                    -1, &stmt, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int64(stmt, 1, id);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "durable");
	assert_int_equal(sqlite3_column_int64(stmt, 1), NOW);
	g_clear_pointer(&stmt, sqlite3_finalize);

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
	g_clear_pointer(&stmt, sqlite3_finalize);
	sqlite3_close(db);
}

/* ---- crashes ---- */

static void
test_crash_recover(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	g_autoptr(PbmHistoryEntry) crashed = NULL;
	g_autoptr(PbmHistoryEntry) done = NULL;
	g_autoptr(GError) error = NULL;
	gint64 finished = begin_at(h, "earlier", NOW - 2 * HOUR);
	gint64 id;

	finish_at(h, finished, NOW - 2 * HOUR + 10 * MINUTE, 3.0, 4.0);
	id = begin_at(h, "crashing", NOW);
	checkpoint_at(h, id, NOW + 1 * MINUTE, 1.0, 2.0);
	checkpoint_at(h, id, NOW + 2 * MINUTE, 2.5, 4.5);
	/* The crash: the handle goes away without a finish. */
	g_clear_pointer(&h, pbm_history_free);

	h = open_history(f->path);
	assert_int_equal(pbm_history_recover_interrupted(h, &error), 1);
	assert_null(error);
	crashed = get_entry(h, id);
	assert_string_equal(crashed->outcome, "interrupted");
	assert_int_equal(crashed->ended_at, NOW + 2 * MINUTE);
	assert_true(crashed->dose[0] == 2.5 && crashed->dose[1] == 4.5);
	assert_int_equal(crashed->lit_us, 2 * MINUTE);
	assert_true(crashed->max_temperature_c == 31.5);
	done = get_entry(h, finished);
	assert_string_equal(done->outcome, "completed");
	assert_int_equal(done->ended_at, NOW - 2 * HOUR + 10 * MINUTE);

	assert_int_equal(pbm_history_recover_interrupted(h, &error), 0);
	assert_null(error);
}

static void
test_recover_without_checkpoint(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	gint64 id = begin_at(h, "no-checkpoint", NOW);
	g_autoptr(PbmHistoryEntry) e = NULL;
	g_autoptr(GError) error = NULL;

	g_clear_pointer(&h, pbm_history_free);
	h = open_history(f->path);
	assert_int_equal(pbm_history_recover_interrupted(h, &error), 1);
	e = get_entry(h, id);
	assert_string_equal(e->outcome, "interrupted");
	assert_int_equal(e->ended_at, NOW);
	assert_true(e->dose[0] == 0 && e->dose[1] == 0);
}

/* Reachable to the end, so that valgrind in the child reports no leak. */
static PbmHistory *child_history;

static void G_GNUC_NORETURN
crash_in_child(const gchar *path)
{
	const gdouble dose[2] = { 7.25, 1.5 };
	const gchar *const panels[] = { "CHILD1", NULL };
	PbmHistoryStart start = {
		.profile = "forked", .panels = panels, .started_at = NOW, .distance_cm = 20
	};
	gint64 id = 0;

	child_history = pbm_history_open_at(path, NOW, NULL);
	if (child_history == NULL || !pbm_history_begin(child_history, &start, &id, NULL) ||
	    id != 1 ||
	    !pbm_history_checkpoint(child_history, id, NOW + 3 * MINUTE, dose, MINUTE, 30, NULL))
		_exit(1);
	_exit(0);
}

static void
test_crash_in_child(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = NULL;
	g_autoptr(PbmHistoryEntry) e = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *wal = NULL;
	gint status = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		crash_in_child(f->path);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The child never closed: its rows live only in the write-ahead log. */
	wal = g_strconcat(f->path, "-wal", NULL);
	assert_true(g_file_test(wal, G_FILE_TEST_EXISTS));

	h = open_history(f->path);
	assert_int_equal(pbm_history_recover_interrupted(h, &error), 1);
	e = get_entry(h, 1);
	assert_string_equal(e->profile, "forked");
	assert_string_equal(e->panels[0], "CHILD1");
	assert_string_equal(e->outcome, "interrupted");
	assert_int_equal(e->ended_at, NOW + 3 * MINUTE);
	assert_true(e->dose[0] == 7.25 && e->dose[1] == 1.5);
}

/* ---- refusals ---- */

static void
test_bad_outcome(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	const gchar *const bad[] = { "Completed", "done", "", "completed ", "interrupted;" };
	const gdouble dose[2] = { 1, 1 };
	gint64 id = begin_at(h, "p", NOW);
	g_autoptr(PbmHistoryEntry) e = NULL;

	for (gsize i = 0; i < G_N_ELEMENTS(bad) + 1; i++) {
		g_autoptr(GError) error = NULL;
		const gchar *outcome = i < G_N_ELEMENTS(bad) ? bad[i] : NULL;

		assert_false(pbm_history_finish(h, id, NOW + MINUTE, outcome, dose, 0, 20, NULL,
		                                &error));
		assert_true(g_error_matches(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_INVALID));
		assert_non_null(strstr(error->message, f->path));
	}
	e = get_entry(h, id);
	assert_null(e->outcome);
	assert_int_equal(e->ended_at, 0);
	/* and every outcome of the set is recorded */
	for (const gchar *const *o =
	             (const gchar *const[]){ "completed", "stopped", "stopped-at-panel", "fault",
	                                     "disconnected", "daemon-stopped", "interrupted",
	                                     NULL };
	     *o != NULL; o++) {
		gint64 other = begin_at(h, "p", NOW);
		g_autoptr(PbmHistoryEntry) done = NULL;

		assert_true(
		        pbm_history_finish(h, other, NOW + MINUTE, *o, dose, 0, 20, NULL, NULL));
		done = get_entry(h, other);
		assert_string_equal(done->outcome, *o);
	}
}

static void
test_finish_twice(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	const gdouble dose[2] = { 9, 9 };
	gint64 id = begin_at(h, "p", NOW);
	g_autoptr(PbmHistoryEntry) e = NULL;
	g_autoptr(GError) error = NULL;

	finish_at(h, id, NOW + MINUTE, 1.0, 2.0);
	assert_false(
	        pbm_history_finish(h, id, NOW + 2 * MINUTE, "stopped", dose, 0, 20, NULL, &error));
	assert_true(g_error_matches(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_NOT_FOUND));
	assert_non_null(strstr(error->message, "already ended as completed"));
	g_clear_error(&error);
	assert_false(pbm_history_checkpoint(h, id, NOW + 2 * MINUTE, dose, 0, 20, &error));
	assert_true(g_error_matches(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_NOT_FOUND));
	g_clear_error(&error);
	assert_false(pbm_history_finish(h, id + 100, NOW, "stopped", dose, 0, 20, NULL, &error));
	assert_true(g_error_matches(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_NOT_FOUND));
	assert_non_null(strstr(error->message, "no such session"));
	g_clear_error(&error);
	assert_false(pbm_history_checkpoint(h, -1, NOW, dose, 0, 20, &error));
	assert_true(g_error_matches(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_NOT_FOUND));
	g_clear_error(&error);
	assert_false(pbm_history_get(h, id + 100, &e, &error));
	assert_true(g_error_matches(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_NOT_FOUND));

	e = get_entry(h, id);
	assert_string_equal(e->outcome, "completed");
	assert_int_equal(e->ended_at, NOW + MINUTE);
	assert_true(e->dose[0] == 1.0 && e->dose[1] == 2.0);
}

static void
test_hostile_text(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	const gchar *profile =
	        "x'); DROP TABLE sessions; --\"\\ %s%n ☀️ Ωμέγα 𝔘𝔫𝔦 "
	        "\xe2\x80\xae"
	        "evil\t\r\n ' OR 1=1; --";
	const gchar *const panels[] = { "'; DELETE FROM session_panels; --", "a\"b", "ü", "A_b-9",
		                        NULL };
	const gchar *faults = "over-temperature'; UPDATE sessions SET outcome='x'; --";
	const gdouble dose[2] = { 1, 2 };
	PbmHistoryStart start = {
		.profile = profile, .panels = panels, .started_at = NOW, .distance_cm = 15
	};
	g_autoptr(PbmHistoryEntry) e = NULL;
	g_autoptr(GError) error = NULL;
	gint64 id = 0;
	gint64 other = begin_at(h, "plain", NOW - HOUR);

	assert_true(pbm_history_begin(h, &start, &id, &error));
	assert_true(
	        pbm_history_finish(h, id, NOW + MINUTE, "stopped", dose, 0, 20, faults, &error));
	e = get_entry(h, id);
	assert_string_equal(e->profile, profile);
	assert_true(g_strv_equal((const gchar *const *)e->panels, panels));
	assert_string_equal(e->faults, faults);
	assert_string_equal(e->outcome, "stopped");
	g_clear_pointer(&e, pbm_history_entry_free);
	e = get_entry(h, other);
	assert_string_equal(e->panels[0], "PBM0001");
	assert_null(e->outcome);
}

static void
assert_begin_invalid(PbmHistory *h, const gchar *path, const PbmHistoryStart *start)
{
	g_autoptr(GError) error = NULL;
	gint64 id = -7;

	assert_false(pbm_history_begin(h, start, &id, &error));
	assert_true(g_error_matches(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_INVALID));
	assert_non_null(strstr(error->message, path));
	assert_int_equal(id, -7);
}

static void
test_invalid_input(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	const gchar *const bad_panels[] = { "ok", "\xff\xfe", NULL };
	const gchar *const empty_panel[] = { "", NULL };
	PbmHistoryStart start = { .profile = "p", .started_at = NOW, .distance_cm = 15 };
	const gdouble nan_dose[2] = { NAN, 0 };
	const gdouble neg_dose[2] = { 0, -1 };
	const gdouble ok_dose[2] = { 0, 0 };
	g_autoptr(GPtrArray) all = NULL;
	g_autoptr(GError) error = NULL;
	gint64 id;

	start.profile = "bad \xc3\x28 utf-8";
	assert_begin_invalid(h, f->path, &start);
	start.profile = NULL;
	assert_begin_invalid(h, f->path, &start);
	start.profile = "";
	assert_begin_invalid(h, f->path, &start);
	start.profile = "p";
	start.panels = bad_panels;
	assert_begin_invalid(h, f->path, &start);
	start.panels = empty_panel;
	assert_begin_invalid(h, f->path, &start);
	start.panels = NULL;
	start.planned_dose[1] = INFINITY;
	assert_begin_invalid(h, f->path, &start);
	start.planned_dose[1] = 0;
	start.distance_cm = NAN;
	assert_begin_invalid(h, f->path, &start);

	/* Nothing of the refused starts reached the file. */
	all = pbm_history_list(h, &everything, &error);
	assert_non_null(all);
	assert_int_equal(all->len, 0);

	id = begin_at(h, "p", NOW);
	assert_false(pbm_history_checkpoint(h, id, NOW, nan_dose, 0, 20, &error));
	assert_true(g_error_matches(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_INVALID));
	g_clear_error(&error);
	assert_false(pbm_history_finish(h, id, NOW, "completed", neg_dose, 0, 20, NULL, &error));
	assert_true(g_error_matches(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_INVALID));
	g_clear_error(&error);
	assert_false(pbm_history_finish(h, id, NOW, "completed", ok_dose, 0, 20, "bad \xff fault",
	                                &error));
	assert_true(g_error_matches(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_INVALID));
}

/* ---- damaged and unreachable files ---- */

static void
assert_moved_aside(PbmHistory *h, const gchar *path, const gchar *aside)
{
	const gchar *note = pbm_history_get_recovery_note(h);
	gint64 id;
	g_autoptr(PbmHistoryEntry) e = NULL;

	assert_non_null(note);
	print_message("# %s\n", note);
	assert_non_null(strstr(note, path));
	assert_non_null(strstr(note, aside));
	assert_true(g_file_test(aside, G_FILE_TEST_IS_REGULAR));
	/* The new database works. */
	id = begin_at(h, "after", NOW);
	assert_int_equal(id, 1);
	finish_at(h, id, NOW + MINUTE, 1, 1);
	e = get_entry(h, id);
	assert_string_equal(e->outcome, "completed");
}

static void
test_garbage_file(void **state)
{
	Fixture *f = *state;
	g_autofree gchar *garbage = g_malloc(4096);
	g_autofree gchar *keep = g_build_filename(f->dir, "keep.txt", NULL);
	g_autofree gchar *aside = g_strdup_printf("%s.corrupt-1718400000", f->path);
	g_autofree gchar *aside2 = g_strdup_printf("%s.corrupt-1718400000.2", f->path);
	g_autofree gchar *moved = NULL;
	g_autoptr(PbmHistory) h = NULL;
	g_auto(GStrv) names = NULL;
	gsize len = 0;

	memset(garbage, 0xA5, 4096);
	assert_true(g_file_set_contents(f->path, garbage, 4096, NULL));
	assert_true(g_file_set_contents(keep, "mine", -1, NULL));

	h = open_history(f->path);
	assert_moved_aside(h, f->path, aside);
	assert_non_null(strstr(pbm_history_get_recovery_note(h), "not a database"));
	assert_true(g_file_get_contents(aside, &moved, &len, NULL));
	assert_int_equal(len, 4096);
	assert_memory_equal(moved, garbage, 4096);
	g_clear_pointer(&h, pbm_history_free);

	/* The same second again: the first aside file is not overwritten. */
	assert_true(g_file_set_contents(f->path, garbage, 4096, NULL));
	h = open_history(f->path);
	assert_moved_aside(h, f->path, aside2);
	g_clear_pointer(&h, pbm_history_free);

	names = list_dir(f->dir);
	assert_int_equal(g_strv_length(names), 4);
	assert_string_equal(names[0], "history.db");
	assert_string_equal(names[1], "history.db.corrupt-1718400000");
	assert_string_equal(names[2], "history.db.corrupt-1718400000.2");
	assert_string_equal(names[3], "keep.txt");
}

static void
fill_raw(const gchar *path, guint n)
{
	sqlite3 *db = raw_open(path, SQLITE_OPEN_READWRITE);
	g_autoptr(sqlite3_stmt) stmt = NULL;

	raw_exec(db, "BEGIN");
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "INSERT INTO sessions (profile, owner_uid, "
	                                    "started_at, planned_duration_us, planned_dose_red, "
	                                    "planned_dose_nir, distance_cm, ended_at, outcome, "
	                                    "dose_red, dose_nir, lit_us, max_temperature_c, "
	                                    "checkpoint_at) VALUES ('bulk', 1000, ?1, ?2, 1, 2, "
	                                    "15, ?3, 'completed', 1, 2, ?2, 35, ?3)",
	                                    -1, &stmt, NULL),
	                 SQLITE_OK);
	for (guint i = 0; i < n; i++) {
		/* One session every two hours, the newest ending at NOW. */
		gint64 start = NOW - 20 * MINUTE - (gint64)i * 2 * HOUR;

		sqlite3_reset(stmt);
		sqlite3_bind_int64(stmt, 1, start);
		sqlite3_bind_int64(stmt, 2, 20 * MINUTE);
		sqlite3_bind_int64(stmt, 3, start + 20 * MINUTE);
		assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
	}
	g_clear_pointer(&stmt, sqlite3_finalize);
	raw_exec(db, "INSERT INTO session_panels SELECT id, 0, 'PBM0001' FROM sessions");
	raw_exec(db, "COMMIT");
	sqlite3_close(db);
}

static void
test_truncated_database(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	g_autofree gchar *aside = g_strdup_printf("%s.corrupt-1718400000", f->path);
	GStatBuf st;

	fill_raw(f->path, 500);
	g_clear_pointer(&h, pbm_history_free);
	assert_int_equal(g_stat(f->path, &st), 0);
	print_message("# history with 500 sessions: %ld bytes, truncated to %ld\n",
	              (long)st.st_size, (long)(st.st_size / 2 / 4096 * 4096));
	assert_int_equal(truncate(f->path, st.st_size / 2 / 4096 * 4096), 0);

	h = open_history(f->path);
	assert_moved_aside(h, f->path, aside);
}

static void
test_missing_directory(void **state)
{
	Fixture *f = *state;
	g_autofree gchar *missing = g_build_filename(f->dir, "missing", NULL);
	g_autofree gchar *path = g_build_filename(missing, "history.db", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmHistory) h = pbm_history_open_at(path, NOW, &error);
	g_auto(GStrv) names = list_dir(f->dir);

	assert_null(h);
	assert_true(g_error_matches(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_OPEN));
	print_message("# %s\n", error->message);
	assert_non_null(strstr(error->message, path));
	assert_non_null(strstr(error->message, "does not exist"));
	assert_int_equal(g_strv_length(names), 0);
}

static void
assert_open_refused(const gchar *path, const gchar *substring)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmHistory) h = pbm_history_open_at(path, NOW, &error);

	assert_null(h);
	assert_true(g_error_matches(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_OPEN));
	print_message("# %s\n", error->message);
	assert_non_null(strstr(error->message, path));
	assert_non_null(strstr(error->message, substring));
}

static void
test_not_ours(void **state)
{
	Fixture *f = *state;
	sqlite3 *db = raw_open(f->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	g_autoptr(PbmHistory) h = NULL;
	g_auto(GStrv) names = NULL;

	raw_exec(db, "CREATE TABLE recipes (name TEXT)");
	sqlite3_close(db);
	assert_open_refused(f->path, "some other program");

	/* A newer pbmd's file is kept for it, not moved or downgraded. */
	g_unlink(f->path);
	h = open_history(f->path);
	g_clear_pointer(&h, pbm_history_free);
	db = raw_open(f->path, SQLITE_OPEN_READWRITE);
	raw_exec(db, "PRAGMA user_version = 3");
	sqlite3_close(db);
	assert_open_refused(f->path, "newer than this pbmd knows");

	names = list_dir(f->dir);
	assert_int_equal(g_strv_length(names), 1);
	assert_string_equal(names[0], "history.db");
}

static guint
mode_of(const gchar *path)
{
	GStatBuf st;

	if (g_stat(path, &st) != 0)
		fail_msg("%s: %s", path, g_strerror(errno));
	return st.st_mode & 07777;
}

/* Health data: the database and SQLite's files beside it are readable by
 * pbmd alone, whatever the umask, and a file left readable is made so. */
static void
test_files_private(void **state)
{
	Fixture *f = *state;
	g_autofree gchar *wal = g_strconcat(f->path, "-wal", NULL);
	g_autofree gchar *shm = g_strconcat(f->path, "-shm", NULL);
	g_autoptr(PbmHistory) h = NULL;
	mode_t old = umask(0);

	h = open_history(f->path);
	begin_at(h, "private", NOW);
	umask(old);
	assert_int_equal(mode_of(f->path), 0600);
	assert_int_equal(mode_of(wal), 0600);
	assert_int_equal(mode_of(shm), 0600);
	g_clear_pointer(&h, pbm_history_free);

	assert_int_equal(g_chmod(f->path, 0644), 0);
	if (g_file_test(wal, G_FILE_TEST_EXISTS))
		assert_int_equal(g_chmod(wal, 0666), 0);
	h = open_history(f->path);
	assert_int_equal(mode_of(f->path), 0600);
	if (g_file_test(wal, G_FILE_TEST_EXISTS))
		assert_int_equal(mode_of(wal), 0600);
}

/* Open must fail with OPEN naming the path, and leave the file where it is. */
static gboolean
refused_in_unwritable_directory(const gchar *dir, const gchar *path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmHistory) h = NULL;

	if (g_chmod(dir, 0500) != 0)
		return FALSE;
	h = pbm_history_open_at(path, NOW, &error);
	g_chmod(dir, 0700);
	if (h != NULL || !g_error_matches(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_OPEN))
		return FALSE;
	print_message("# %s\n", error->message);
	return strstr(error->message, path) != NULL &&
	       strstr(error->message, "check permissions") != NULL;
}

static void
test_unwritable_directory(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	g_auto(GStrv) names = NULL;
	gint status = 0;
	pid_t pid;

	begin_at(h, "p", NOW);
	g_clear_pointer(&h, pbm_history_free);
	if (geteuid() != 0) {
		assert_true(refused_in_unwritable_directory(f->dir, f->path));
	} else {
		/* Root ignores permissions: try as nobody. */
		assert_int_equal(chown(f->dir, 65534, 65534), 0);
		assert_int_equal(chown(f->path, 65534, 65534), 0);
		fflush(stdout);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			if (setgid(65534) != 0 || setuid(65534) != 0)
				_exit(2);
			_exit(refused_in_unwritable_directory(f->dir, f->path) ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	names = list_dir(f->dir);
	assert_int_equal(g_strv_length(names), 1);
	assert_string_equal(names[0], "history.db");
}

/* ---- queries ---- */

static gint64
local_time(gint day, gint hour, gint minute)
{
	g_autoptr(GDateTime) t = g_date_time_new_local(2024, 6, day, hour, minute, 0);

	return g_date_time_to_unix(t) * G_USEC_PER_SEC;
}

static GArray *
recent_at(PbmHistory *h, gint64 now)
{
	g_autoptr(GError) error = NULL;
	GArray *recent = pbm_history_recent_doses(h, now, &error);

	if (recent == NULL)
		fail_msg("%s", error->message);
	return recent;
}

static const PbmHistoryDose *
recent_index(GArray *recent, guint i)
{
	return &g_array_index(recent, PbmHistoryDose, i);
}

/* The rolling dose at now, as the planner adds it up. */
static void
assert_rolling_dose(PbmHistory *h, gint64 now, gdouble red, gdouble nir)
{
	g_autoptr(GArray) recent = recent_at(h, now);
	gdouble sum[2] = { 0, 0 };

	for (guint i = 0; i < recent->len; i++) {
		sum[0] += recent_index(recent, i)->dose[0];
		sum[1] += recent_index(recent, i)->dose[1];
	}
	assert_float_equal(sum[0], red, 1e-9);
	assert_float_equal(sum[1], nir, 1e-9);
}

static void
test_rolling_dose_across_midnight(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	g_autoptr(GArray) recent = NULL;
	gint64 now = local_time(15, 9, 0);
	gint64 late = begin_at(h, "late", local_time(14, 23, 10));
	gint64 after = begin_at(h, "after-midnight", local_time(15, 0, 10));
	gint64 old = begin_at(h, "old", now - 25 * HOUR - 20 * MINUTE);
	gint64 edge = begin_at(h, "edge", now - 24 * HOUR - 20 * MINUTE);

	finish_at(h, late, local_time(14, 23, 30), 10.0, 5.0);
	finish_at(h, after, local_time(15, 0, 30), 20.0, 7.0);
	finish_at(h, old, now - 25 * HOUR, 100.0, 100.0);
	finish_at(h, edge, now - 24 * HOUR, 0.5, 0.25);

	/* Oldest end first, the one exactly 24 hours old included. */
	recent = recent_at(h, now);
	assert_int_equal(recent->len, 3);
	assert_int_equal(recent_index(recent, 0)->ended_at, now - 24 * HOUR);
	assert_int_equal(recent_index(recent, 1)->ended_at, local_time(14, 23, 30));
	assert_int_equal(recent_index(recent, 2)->ended_at, local_time(15, 0, 30));
	assert_rolling_dose(h, now, 30.5, 12.25);
	assert_rolling_dose(h, now + MINUTE, 30.0, 12.0);
}

static void
test_rolling_dose_open_sessions(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	g_autoptr(GArray) recent = NULL;
	gint64 straddling = begin_at(h, "straddling", NOW - 24 * HOUR - 30 * MINUTE);
	gint64 running, crashed;

	/* Started before the window, ended inside it: it counts whole. */
	finish_at(h, straddling, NOW - 23 * HOUR - 50 * MINUTE, 2.0, 3.0);
	/* Open rows count as ending now, with their checkpointed dose: one
	 * running, one a crash left 30 hours ago and nobody recovered yet. */
	running = begin_at(h, "running", NOW - 10 * MINUTE);
	checkpoint_at(h, running, NOW - MINUTE, 1.0, 0.5);
	crashed = begin_at(h, "crashed", NOW - 30 * HOUR);
	checkpoint_at(h, crashed, NOW - 29 * HOUR, 4.0, 4.0);

	recent = recent_at(h, NOW);
	assert_int_equal(recent->len, 3);
	assert_int_equal(recent_index(recent, 0)->ended_at, NOW - 23 * HOUR - 50 * MINUTE);
	assert_int_equal(recent_index(recent, 1)->ended_at, NOW);
	assert_int_equal(recent_index(recent, 2)->ended_at, NOW);
	assert_rolling_dose(h, NOW, 7.0, 7.5);
	/* Later, the straddling one has left; the open ones still end "now". */
	assert_rolling_dose(h, NOW + 2 * HOUR, 5.0, 4.5);
}

static void
test_rolling_dose_unwritten_end(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	g_autoptr(GArray) recent = NULL;
	g_autoptr(GError) error = NULL;
	const gdouble dose[2] = { 3.0, 4.0 };
	sqlite3 *locker = raw_open(f->path, SQLITE_OPEN_READWRITE);
	gint64 id = begin_at(h, "p", NOW - 10 * MINUTE);

	checkpoint_at(h, id, NOW - 5 * MINUTE, 1.0, 1.0);
	/* Another writer holds the database: the end stays in memory. */
	raw_exec(locker, "BEGIN EXCLUSIVE");
	assert_false(pbm_history_finish(h, id, NOW - MINUTE, "completed", dose, 9 * MINUTE, 30.0,
	                                NULL, &error));
	assert_true(g_error_matches(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_WRITE));

	/* It counts with its real end and dose, not as an open row. */
	recent = recent_at(h, NOW);
	assert_int_equal(recent->len, 1);
	assert_int_equal(recent_index(recent, 0)->ended_at, NOW - MINUTE);
	assert_rolling_dose(h, NOW, 3.0, 4.0);
	/* and leaves the window 24 hours after that end */
	assert_rolling_dose(h, NOW - MINUTE + 24 * HOUR + 1, 0, 0);
	raw_exec(locker, "ROLLBACK");
	sqlite3_close(locker);
}

static void
test_last_end(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	g_autoptr(GError) error = NULL;
	gint64 end = -1;
	gint64 a, b;

	assert_true(pbm_history_last_end(h, &end, &error));
	assert_int_equal(end, 0);
	a = begin_at(h, "a", NOW - 3 * HOUR);
	assert_true(pbm_history_last_end(h, &end, &error));
	assert_int_equal(end, 0);
	b = begin_at(h, "b", NOW - 2 * HOUR);
	finish_at(h, b, NOW - HOUR, 1, 1);
	finish_at(h, a, NOW - 2 * HOUR - 30 * MINUTE, 1, 1);
	assert_true(pbm_history_last_end(h, &end, &error));
	assert_int_equal(end, NOW - HOUR);
	begin_at(h, "open", NOW);
	assert_true(pbm_history_last_end(h, &end, &error));
	assert_int_equal(end, NOW - HOUR);
}

/* The min_interval of a profile counts its sessions that gave at least
 * half their planned dose (30 J/cm2 planned by begin_at). */
static void
test_last_profile_end(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	g_autoptr(GError) error = NULL;
	gint64 end = -1;
	gint64 full, stopped, other;

	assert_true(pbm_history_last_profile_end(h, "back", &end, &error));
	assert_int_equal(end, 0);
	full = begin_at(h, "back", NOW - 50 * HOUR);
	finish_at(h, full, NOW - 49 * HOUR, 10, 20);
	stopped = begin_at(h, "back", NOW - 3 * HOUR);
	finish_at(h, stopped, NOW - 3 * HOUR + MINUTE, 1, 2);
	other = begin_at(h, "skin", NOW - 2 * HOUR);
	finish_at(h, other, NOW - HOUR, 10, 20);
	assert_true(pbm_history_last_profile_end(h, "back", &end, &error));
	assert_int_equal(end, NOW - 49 * HOUR);
	assert_true(pbm_history_last_profile_end(h, "skin", &end, &error));
	assert_int_equal(end, NOW - HOUR);
}

/* A history of pbmd 0.1 (format 1) gains the goggles column, its rows
 * reading as not acknowledged; new rows record it. */
static void
test_goggles_recorded_and_migrated(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	g_autoptr(PbmHistoryEntry) old = NULL, acknowledged = NULL;
	g_autoptr(GError) error = NULL;
	PbmHistoryStart start = {
		.profile = "p", .started_at = NOW, .distance_cm = 15, .goggles = TRUE
	};
	gint64 old_id, id = 0;
	sqlite3 *db;

	old_id = begin_at(h, "p", NOW - HOUR);
	g_clear_pointer(&h, pbm_history_free);
	db = raw_open(f->path, SQLITE_OPEN_READWRITE);
	raw_exec(db, "ALTER TABLE sessions DROP COLUMN goggles; PRAGMA user_version = 1");
	sqlite3_close(db);
	h = open_history(f->path);
	assert_true(pbm_history_get(h, old_id, &old, &error));
	assert_false(old->goggles);
	assert_true(pbm_history_begin(h, &start, &id, &error));
	assert_true(pbm_history_get(h, id, &acknowledged, &error));
	assert_true(acknowledged->goggles);
}

static void
test_list(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmHistory) h = open_history(f->path);
	const PbmHistoryQuery from_one_hour = { .since = NOW + HOUR,
		                                .owner_uid = PBM_HISTORY_ANY_OWNER };
	const PbmHistoryQuery first_two = { .limit = 2, .owner_uid = PBM_HISTORY_ANY_OWNER };
	const PbmHistoryQuery too_late = { .since = NOW + 10 * HOUR,
		                           .owner_uid = PBM_HISTORY_ANY_OWNER };
	const PbmHistoryQuery of_1000 = { .owner_uid = 1000 };
	const PbmHistoryQuery of_1001 = { .owner_uid = 1001 };
	g_autoptr(GPtrArray) since = NULL;
	g_autoptr(GPtrArray) limited = NULL;
	g_autoptr(GPtrArray) none = NULL;
	g_autoptr(GPtrArray) mine = NULL;
	g_autoptr(GPtrArray) theirs = NULL;
	g_autoptr(GError) error = NULL;
	gint64 ids[5];

	/* Started out of id order, to show the order is by start time. */
	for (guint i = 0; i < 5; i++) {
		g_autofree gchar *name = g_strdup_printf("p%u", i);
		ids[i] = begin_at(h, name, NOW + (i == 4 ? -HOUR : (gint64)i * HOUR));
		if (i < 3)
			finish_at(h, ids[i], NOW + (gint64)i * HOUR + MINUTE, i, i);
	}
	since = pbm_history_list(h, &from_one_hour, &error);
	assert_non_null(since);
	assert_int_equal(since->len, 3);
	assert_int_equal(((PbmHistoryEntry *)since->pdata[0])->id, ids[1]);
	assert_int_equal(((PbmHistoryEntry *)since->pdata[1])->id, ids[2]);
	assert_int_equal(((PbmHistoryEntry *)since->pdata[2])->id, ids[3]);
	assert_string_equal(((PbmHistoryEntry *)since->pdata[1])->panels[0], "PBM0001");
	assert_null(((PbmHistoryEntry *)since->pdata[2])->outcome);

	/* a page, oldest first */
	limited = pbm_history_list(h, &first_two, &error);
	assert_int_equal(limited->len, 2);
	assert_int_equal(((PbmHistoryEntry *)limited->pdata[0])->id, ids[4]);
	assert_int_equal(((PbmHistoryEntry *)limited->pdata[1])->id, ids[0]);

	none = pbm_history_list(h, &too_late, &error);
	assert_int_equal(none->len, 0);

	/* one user's sessions only (begin_at records user 1000) */
	mine = pbm_history_list(h, &of_1000, &error);
	assert_int_equal(mine->len, 5);
	theirs = pbm_history_list(h, &of_1001, &error);
	assert_int_equal(theirs->len, 0);
}

static void
test_ten_thousand_sessions(void **state)
{
	Fixture *f = *state;
	const guint n = PBM_HISTORY_LIST_MAX + 50;
	g_autoptr(PbmHistory) h = open_history(f->path);
	g_autoptr(GPtrArray) page = NULL;
	g_autoptr(GPtrArray) all = NULL;
	g_autoptr(GArray) recent = NULL;
	g_autoptr(GError) error = NULL;
	gint64 end = 0;
	gint64 t;

	t = g_get_monotonic_time();
	fill_raw(f->path, n);
	print_message("# inserting %u rows in one transaction: %.1f ms\n", n, elapsed_ms(t));
	g_clear_pointer(&h, pbm_history_free);

	t = g_get_monotonic_time();
	h = open_history(f->path);
	print_message("# open with quick_check over %u rows: %.1f ms\n", n, elapsed_ms(t));

	t = g_get_monotonic_time();
	recent = recent_at(h, NOW);
	print_message("# recent_doses over %u rows: %.3f ms\n", n, elapsed_ms(t));
	assert_true(g_get_monotonic_time() - t < G_USEC_PER_SEC);
	/* Sessions end at NOW, NOW - 2 h, ... NOW - 24 h: 13 of them. */
	assert_int_equal(recent->len, 13);
	assert_rolling_dose(h, NOW, 13.0, 26.0);

	t = g_get_monotonic_time();
	assert_true(pbm_history_last_end(h, &end, &error));
	print_message("# last_end over %u rows: %.3f ms\n", n, elapsed_ms(t));
	assert_int_equal(end, NOW);

	t = g_get_monotonic_time();
	page = pbm_history_list(
	        h, &(PbmHistoryQuery){ .limit = 50, .owner_uid = PBM_HISTORY_ANY_OWNER }, &error);
	print_message("# list (limit 50) over %u rows: %.3f ms\n", n, elapsed_ms(t));
	assert_true(g_get_monotonic_time() - t < G_USEC_PER_SEC);
	assert_int_equal(page->len, 50);
	for (guint i = 1; i < page->len; i++)
		assert_true(((PbmHistoryEntry *)page->pdata[i - 1])->started_at <=
		            ((PbmHistoryEntry *)page->pdata[i])->started_at);

	t = g_get_monotonic_time();
	all = pbm_history_list(h, &everything, &error);
	print_message("# list (no limit) over %u rows: %.1f ms\n", n, elapsed_ms(t));
	assert_int_equal(all->len, PBM_HISTORY_LIST_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
		T(test_round_trip),
		T(test_no_panels),
		T(test_begin_is_durable),
		T(test_crash_recover),
		T(test_recover_without_checkpoint),
		T(test_crash_in_child),
		T(test_bad_outcome),
		T(test_finish_twice),
		T(test_hostile_text),
		T(test_invalid_input),
		T(test_garbage_file),
		T(test_truncated_database),
		T(test_missing_directory),
		T(test_not_ours),
		T(test_files_private),
		T(test_unwritable_directory),
		T(test_rolling_dose_across_midnight),
		T(test_rolling_dose_open_sessions),
		T(test_rolling_dose_unwritten_end),
		T(test_last_end),
		T(test_last_profile_end),
		T(test_goggles_recorded_and_migrated),
		T(test_list),
		T(test_ten_thousand_sessions),
#undef T
	};

	return cmocka_run_group_tests_name("history", tests, NULL, NULL);
}
