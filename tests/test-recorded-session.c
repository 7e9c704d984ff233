/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Sessions with their history: the start row is durable before the light
 * goes on, a session that cannot be recorded does not start, the dose is
 * checkpointed while it runs, a crash leaves a row that the next start-up
 * closes as interrupted, and the rolling 24-hour dose comes from the
 * history.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "pbm-manual-clock.h"
#include "pbm-panel-monitor.h"
#include "pbm-recorded-session.h"
#include "pbm-test-files.h"

#define MS(x) ((gint64)(x)*1000)
#define S(x) ((gint64)(x)*G_USEC_PER_SEC)

typedef struct {
	gchar *dir;
	gchar *db;
	PbmClock *clock;
	PbmPanelMonitor *monitor;
	PbmSimTransport *transport;
	PbmConfig *config;
	PbmHistory *history;
} Fixture;

static void
advance(Fixture *f, gint64 us)
{
	pbm_manual_clock_advance(PBM_MANUAL_CLOCK(f->clock), us);
}

static int
setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	const gchar *dirs[] = { NULL };
	PbmSimConfig sim;
	g_autoptr(GError) error = NULL;

	f->dir = g_dir_make_tmp("pbm-recorded-session-XXXXXX", NULL);
	f->db = g_build_filename(f->dir, "history.db", NULL);
	f->clock = pbm_manual_clock_new();
	f->monitor = pbm_panel_monitor_new(f->clock);
	pbm_sim_config_init(&sim, "RUNNER");
	f->transport = pbm_panel_monitor_add_sim(f->monitor, &sim, NULL);
	f->config = pbm_config_new_default(dirs);
	f->config->limits.min_gap_us = 0;
	f->history = pbm_history_open(f->db, &error);
	assert_non_null(f->history);
	advance(f, S(1));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	Fixture *f = *state;

	pbm_panel_monitor_shutdown(f->monitor);
	g_object_unref(f->monitor);
	g_object_unref(f->transport);
	pbm_test_drain_main_context();
	g_clear_pointer(&f->history, pbm_history_free);
	g_object_unref(f->clock);
	pbm_config_free(f->config);
	pbm_test_rm_rf(f->dir);
	g_free(f->dir);
	g_free(f->db);
	g_free(f);
	return 0;
}

static PbmProfile *
shipped(const gchar *name)
{
	g_autofree gchar *file = g_strconcat(name, ".conf", NULL);
	g_autofree gchar *path = g_build_filename(PBM_SOURCE_DIR, "data", "profiles", file, NULL);

	return pbm_profile_load(path, NULL);
}

static PbmSession *
run(Fixture *f, const gchar *profile_name, GError **error)
{
	g_autoptr(PbmProfile) profile = shipped(profile_name);
	PbmSession *s = pbm_recorded_session_start(
	        f->clock, f->history, profile, &(PbmPlanRequest){ 0 },
	        pbm_panel_monitor_get_panels(f->monitor), &f->config->limits, FALSE, 1000, error);

	advance(f, 0);
	return s;
}

static gint
count_rows(const gchar *db, const gchar *where)
{
	sqlite3 *conn = NULL;
	sqlite3_stmt *stmt = NULL;
	g_autofree gchar *sql = NULL;
	gint n = -1;

	assert_int_equal(sqlite3_open_v2(db, &conn, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	/* The table is the history's; only the row count matters here. */
	sql = g_strdup_printf("SELECT count(*) FROM sessions %s", where);
	if (sqlite3_prepare_v2(conn, sql, -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(conn);
	return n;
}

static void
test_recorded_end_to_end(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmSession) s = run(f, "demo", &error);
	g_autoptr(PbmHistoryEntry) entry = NULL;
	gdouble dose[PBM_N_BANDS];

	assert_non_null(s);
	/* the start row is on disk, seen by another connection, while lit */
	assert_true(pbm_sim_is_lit(pbm_sim_transport_get_sim(f->transport)));
	assert_int_equal(count_rows(f->db, "WHERE ended_at = 0 OR ended_at IS NULL"), 1);
	advance(f, S(31));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_COMPLETED);
	assert_true(pbm_history_get(f->history, pbm_session_get_id(s), &entry, &error));
	assert_string_equal(entry->profile, "demo");
	assert_string_equal(entry->outcome, "completed");
	assert_string_equal(entry->panels[0], "RUNNER");
	assert_int_equal(entry->owner_uid, 1000);
	pbm_session_get_dose(s, dose);
	assert_float_equal(entry->dose[0], dose[0], 1e-9);
	assert_float_equal(entry->dose[1], dose[1], 1e-9);
	assert_int_equal(entry->lit_us, S(30));
	assert_int_equal(entry->ended_at - entry->started_at, S(30));
}

static void
test_not_recordable_not_started(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmSession) s = NULL;
	sqlite3 *locker = NULL;

	/* another process holds the database: the row cannot be written */
	assert_int_equal(sqlite3_open(f->db, &locker), SQLITE_OK);
	assert_int_equal(sqlite3_exec(locker, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	s = run(f, "demo", &error);
	assert_null(s);
	assert_true(g_error_matches(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_DEVICE));
	assert_non_null(strstr(error->message, "cannot be recorded"));
	assert_false(pbm_sim_is_lit(pbm_sim_transport_get_sim(f->transport)));
	sqlite3_exec(locker, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(locker);
	/* and once the database is free again, sessions run */
	g_clear_error(&error);
	s = run(f, "demo", &error);
	assert_non_null(s);
}

static void
test_crash_mid_session_is_interrupted(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmSession) s = run(f, "demo", &error);
	g_autoptr(PbmHistory) restarted = NULL;
	g_autoptr(PbmHistoryEntry) entry = NULL;
	gint64 id = pbm_session_get_id(s);
	gdouble at_checkpoint[PBM_N_BANDS];

	advance(f, S(12)); /* two checkpoints, at 5 s and 10 s */
	/* pbmd dies here; a new pbmd opens the same history */
	restarted = pbm_history_open(f->db, &error);
	assert_non_null(restarted);
	assert_int_equal(pbm_history_recover_interrupted(restarted, &error), 1);
	assert_true(pbm_history_get(restarted, id, &entry, &error));
	assert_string_equal(entry->outcome, "interrupted");
	/* the dose known at the last checkpoint (10 s: warm-up done) */
	at_checkpoint[0] = (0.4 * 36 * 9) / 1000;
	assert_float_equal(entry->dose[0], at_checkpoint[0], 0.01);
	assert_int_equal(pbm_history_recover_interrupted(restarted, &error), 0);
}

static void
test_rolling_dose_from_history(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmSession) first = NULL;
	g_autoptr(PbmSession) second = NULL;

	/* demo gives 0.204 J/cm2 of NIR; allow two, not three */
	f->config->limits.daily_dose_max[PBM_BAND_INDEX_NIR] = 0.5;
	f->config->limits.min_gap_us = 0;
	first = run(f, "demo", &error);
	assert_non_null(first);
	advance(f, S(31));
	assert_int_equal(pbm_session_get_outcome(first), PBM_OUTCOME_COMPLETED);
	second = run(f, "demo", &error);
	assert_non_null(second);
	advance(f, S(31));
	assert_null(run(f, "demo", &error));
	assert_true(g_error_matches(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_SAFETY_LIMIT));
	assert_non_null(strstr(error->message, "limits.daily_dose_nir"));
	assert_non_null(strstr(error->message, "it fits again from"));
	g_clear_error(&error);
	/* a day later the first has rolled out of the window */
	advance(f, S(24 * 3600) - S(20));
	g_autoptr(PbmSession) third = run(f, "demo", &error);
	assert_non_null(third);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_recorded_end_to_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_recordable_not_started, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_mid_session_is_interrupted, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_rolling_dose_from_history, setup, teardown),
	};

	return cmocka_run_group_tests_name("recorded-session", tests, NULL, NULL);
}
