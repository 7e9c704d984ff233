/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Fault matrix of pbmd itself: the real pbmd binary on a private bus, its
 * real USB transport against a panel emulated under umockdev.
 *
 *  - SIGKILL at many random points of a session (ramp-up, steps, the step
 *    change): the panel's own watchdog switches the light off in time, and
 *    the next pbmd leaves no history row open.
 *  - The disk holding the history fills up (a tiny tmpfs; run by another
 *    user than root, in a user namespace the test enters at start):
 *    StartSession is refused with an error that says what to do, nothing
 *    lights, the rows written before stay, pbmd keeps serving, and once
 *    space is free sessions run and are recorded again; a session running
 *    while the disk fills ends as planned and its outcome is recorded once
 *    space is back.
 *  - A corrupt or truncated history.db: pbmd starts, keeps the damaged file
 *    byte for byte and records new sessions in a fresh database.
 *  - Configuration reloads (SIGHUP and ReloadConfig, valid and invalid
 *    files) racing a running session: the session is not disturbed, bad
 *    files are refused with file and line, the last good one stays in
 *    force, and new limits apply to the next session.
 *
 * argv[1]: how many SIGKILL points (default 50); argv[2]: a pattern, run
 * only the tests it matches. PBM_TEST_SEED replays the random kill points
 * of an earlier run.
 *
 * Error names stay literal here: they are the contract as a client sees it,
 * not a name to take from pbm-names.h.
 */
#define _GNU_SOURCE /* unshare(), CLONE_NEWUSER */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "pbm-mock-panel.h"
#include "pbm-test-fixture.h"

#define HEARTBEAT_MS 250
#define WATCHDOG_MS 1000
/* The firmware model runs on a timer thread of the emulator, and pbmd's
 * last heartbeat may still be in flight when it dies. */
#define DARK_MARGIN_MS 300
#define PANEL PBM_DBUS_PATH_PANEL "/FAULTS01"

static guint n_kill_points = 50;

/* Two 1 s steps, the first ramping up over 0.5 s: kill points cover the
 * ramp, both steps and the change between them. */
static const gchar kill_profile[] =
        "name = \"kill-points\";\n"
        "title = \"Kill points\";\n"
        "description = \"Ramp, step change, second step.\";\n"
        "distance_cm = 15.0;\n"
        "steps = (\n"
        "  { name = \"ramp\"; duration = \"1s\"; percent_red = 60; ramp_s = 0.5; },\n"
        "  { name = \"both\"; duration = \"1s\"; percent_red = 70; percent_nir = 60; }\n"
        ");\n";
#define KILL_PROFILE_US (2 * G_USEC_PER_SEC)

/* Long enough for a history checkpoint (every 5 s) while the disk is full,
 * and for many reloads. */
static const gchar long_profile[] =
        "name = \"long-run\";\n"
        "title = \"Long run\";\n"
        "description = \"Two 3.5 s steps.\";\n"
        "distance_cm = 15.0;\n"
        "steps = (\n"
        "  { name = \"red\"; duration = \"3s\"; percent_red = 50; ramp_s = 0.2; },\n"
        "  { name = \"both\"; duration = \"4s\"; percent_red = 60; percent_nir = 60; }\n"
        ");\n";
#define LONG_PROFILE_US (7 * G_USEC_PER_SEC)

/* The tiny tmpfs mounted on f->state, to be unmounted in the teardown. */
static gboolean state_mounted;

/* ---- files ---- */

/* pbmd.conf with a fast heartbeat and watchdog, so that kill points are
 * many; limits stay on line 3. */
static gchar *
config_text_with(const PbmFixture *f, gint heartbeat_ms, gint watchdog_ms, const gchar *limits)
{
	g_autofree gchar *all =
	        g_strdup_printf("heartbeat_interval_ms = %d; watchdog_timeout_ms = "
	                        "%d; %s",
	                        heartbeat_ms, watchdog_ms, limits != NULL ? limits : "");

	return pbm_fixture_config_text(f, all);
}

static gchar *
config_text(const PbmFixture *f, const gchar *limits)
{
	return config_text_with(f, HEARTBEAT_MS, WATCHDOG_MS, limits);
}

static void
write_config(const PbmFixture *f, const gchar *limits)
{
	g_autofree gchar *text = config_text(f, limits);

	assert_true(g_file_set_contents(f->config, text, -1, NULL));
}

/* ---- fixture ---- */

static const PbmFixtureOptions options = {
	.usb = TRUE,
	.serial = "FAULTS01",
	.profiles = (const gchar *const[]){ "kill-points", kill_profile, "long-run", long_profile,
	                                    NULL },
	.limits = "heartbeat_interval_ms = " G_STRINGIFY(
	        HEARTBEAT_MS) "; watchdog_timeout_ms = " G_STRINGIFY(WATCHDOG_MS) ";",
};

static int
teardown(void **state)
{
	PbmFixture *f = *state;

	/* pbmd goes before its state directory */
	g_clear_pointer(&f->daemon, pbm_test_daemon_free);
	if (state_mounted)
		umount2(f->state, MNT_DETACH);
	state_mounted = FALSE;
	return pbm_fixture_teardown(state);
}

/* ---- pbmd ---- */

static void
assert_alive(PbmFixture *f)
{
	gint status = 0;

	if (pbm_test_daemon_has_exited(f->daemon, &status))
		fail_msg("pbmd exited (wait status 0x%x)", status);
}

static guint64
get_u64(PbmFixture *f, const gchar *path, const gchar *iface, const gchar *name)
{
	g_autoptr(GVariant) v = pbm_fixture_property(f, path, iface, name);

	return g_variant_get_uint64(v);
}

static void
wait_panel_idle(PbmFixture *f)
{
	assert_true(pbm_fixture_wait_property(f, PANEL, PBM_DBUS_INTERFACE_PANEL, "Connected",
	                                      "true", PBM_FIXTURE_WAIT_MS));
	assert_true(pbm_fixture_wait_property(f, PANEL, PBM_DBUS_INTERFACE_PANEL, "State", "idle",
	                                      PBM_FIXTURE_WAIT_MS));
}

/* ---- the history, read behind pbmd's back ---- */

/* One integer from constant SQL on the database file, -1 on any error. */
static gint64
db_value(const gchar *db, const gchar *sql)
{
	sqlite3 *conn = NULL;
	sqlite3_stmt *stmt = NULL;
	gint64 n = -1;

	if (sqlite3_open_v2(db, &conn, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(conn, sql, -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(conn);
	return n;
}

/* GetHistory as a client sees it: "id:outcome" per row, newest first. */
static gchar *
history_summary(PbmFixture *f)
{
	g_autoptr(GVariant) rows = pbm_fixture_history(f);
	g_autoptr(GString) out = g_string_new("");

	/* oldest first on the bus */
	for (gsize i = g_variant_n_children(rows); i > 0; i--) {
		g_autoptr(GVariant) row = g_variant_get_child_value(rows, i - 1);
		gint64 id = 0;
		const gchar *outcome = "?";
		g_variant_lookup(row, "id", "x", &id);
		g_variant_lookup(row, "outcome", "&s", &outcome);
		g_string_append_printf(out, "%s%" G_GINT64_FORMAT ":%s", out->len > 0 ? " " : "",
		                       id, outcome);
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* ---- 1. SIGKILL at random points of a session ---- */

static gint
compare_i64(gconstpointer a, gconstpointer b)
{
	gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

	return x < y ? -1 : x > y;
}

static void
test_sigkill_matrix(void **state)
{
	PbmFixture *f = *state;
	const gchar *seed_env = g_getenv("PBM_TEST_SEED");
	guint32 seed = seed_env != NULL ? (guint32)g_ascii_strtoull(seed_env, NULL, 10)
	                                : (guint32)g_get_real_time();
	g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
	g_autoptr(GArray) dark_ms = g_array_new(FALSE, FALSE, sizeof(gint64));
	guint n_lit = 0;
	g_autofree gchar *summary = NULL;

	print_message("# SIGKILL matrix: seed %u (replay with PBM_TEST_SEED=%u)\n", seed, seed);
	for (guint i = 0; i < n_kill_points; i++) {
		g_autofree gchar *path = NULL;
		gint64 delay_us, killed, dark = 0, ms;
		gint status;

		pbm_fixture_spawn(f, NULL);
		/* the previous pbmd's session is closed, as interrupted */
		assert_int_equal(db_value(f->history_db, "SELECT count(*) FROM sessions"), i);
		assert_int_equal(db_value(f->history_db,
		                          "SELECT count(*) FROM sessions WHERE outcome IS "
		                          "NULL OR ended_at IS NULL"),
		                 0);
		assert_int_equal(db_value(f->history_db, "SELECT count(*) FROM sessions WHERE "
		                                         "outcome = 'interrupted'"),
		                 i);
		wait_panel_idle(f);
		assert_false(pbm_mock_panel_is_lit(f->panel));
		path = pbm_fixture_start(f, "kill-points", NULL);
		/* from the reply on, across ramp, step change and second step;
		 * never after the session's own end */
		delay_us = g_rand_int_range(rand, 0, KILL_PROFILE_US - 150 * 1000);
		g_usleep(delay_us);
		n_lit += pbm_mock_panel_is_lit(f->panel);
		killed = g_get_monotonic_time();
		status = pbm_test_daemon_signal_and_wait(f->daemon, SIGKILL, PBM_FIXTURE_WAIT_MS);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		/* nobody switches it off but the panel itself */
		while (g_get_monotonic_time() - killed < 5 * G_USEC_PER_SEC) {
			if (!pbm_mock_panel_is_lit(f->panel)) {
				dark = g_get_monotonic_time();
				break;
			}
			g_usleep(2000);
		}
		if (dark == 0)
			fail_msg("kill %u (%" G_GINT64_FORMAT " ms into the session): the panel "
			         "is still lit 5 s after SIGKILL",
			         i, delay_us / 1000);
		ms = (dark - killed) / 1000;
		if (ms > WATCHDOG_MS + DARK_MARGIN_MS)
			fail_msg("kill %u (%" G_GINT64_FORMAT " ms into the session): dark only "
			         "after %" G_GINT64_FORMAT " ms (watchdog %d ms)",
			         i, delay_us / 1000, ms, WATCHDOG_MS);
		g_array_append_val(dark_ms, ms);
		g_clear_pointer(&f->daemon, pbm_test_daemon_free);
	}
	/* the last one too, and the history is whole on D-Bus */
	pbm_fixture_spawn(f, NULL);
	assert_int_equal(db_value(f->history_db, "SELECT count(*) FROM sessions WHERE outcome = "
	                                         "'interrupted' AND ended_at IS NOT NULL"),
	                 n_kill_points);
	summary = history_summary(f);
	{
		g_auto(GStrv) rows = g_strsplit(summary, " ", -1);
		assert_int_equal(g_strv_length(rows), n_kill_points);
		for (guint i = 0; rows[i] != NULL; i++)
			assert_true(g_str_has_suffix(rows[i], ":interrupted"));
	}
	g_array_sort(dark_ms, compare_i64);
	print_message("# SIGKILL at %u points: worst time-to-dark %" G_GINT64_FORMAT
	              " ms, median %" G_GINT64_FORMAT " ms (watchdog %d ms); lit at %u kills\n",
	              n_kill_points, g_array_index(dark_ms, gint64, dark_ms->len - 1),
	              g_array_index(dark_ms, gint64, dark_ms->len / 2), WATCHDOG_MS, n_lit);
	assert_true(g_array_index(dark_ms, gint64, dark_ms->len - 1) <=
	            WATCHDOG_MS + DARK_MARGIN_MS);
	/* most kill points find the light on */
	assert_true(n_lit * 2 > n_kill_points);
}

/* ---- 2. the disk holding the history fills up ---- */

/* The state directory on a tmpfs of its own, in a mount namespace of this
 * thread (the one that spawns pbmd, which inherits it). */
static void
mount_tiny_state(PbmFixture *f)
{
	static gboolean private_ns;

	if (!private_ns) {
		if (unshare(CLONE_NEWNS) != 0)
			fail_msg("unshare(CLONE_NEWNS): %s", g_strerror(errno));
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
			fail_msg("making / private: %s", g_strerror(errno));
		private_ns = TRUE;
	}
	if (mount("pbm-faults", f->state, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700") != 0)
		fail_msg("mounting a tmpfs on %s: %s", f->state, g_strerror(errno));
	state_mounted = TRUE;
}

/* Writes a file until the file system says ENOSPC. */
static void
fill_disk(const gchar *path)
{
	static const gchar block[4096];
	gint fd = g_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	gsize total = 0;

	assert_true(fd >= 0);
	for (;;) {
		gssize n = write(fd, block, sizeof block);
		if (n > 0) {
			total += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		assert_int_equal(errno, ENOSPC);
		break;
	}
	close(fd);
	print_message("# disk full after %" G_GSIZE_FORMAT " KiB of filler\n", total / 1024);
}

/* Runs a session to its end and returns its outcome on D-Bus. */
static gchar *
run_to_end(PbmFixture *f, const gchar *profile, guint timeout_ms)
{
	g_autofree gchar *path = pbm_fixture_start(f, profile, NULL);
	gint64 until = g_get_monotonic_time() + timeout_ms * 1000;

	while (g_get_monotonic_time() < until) {
		g_autofree gchar *st =
		        pbm_fixture_string_property(f, path, PBM_DBUS_INTERFACE_SESSION, "State");
		if (g_str_equal(st, "finished"))
			return pbm_fixture_string_property(f, path, PBM_DBUS_INTERFACE_SESSION,
			                                   "Outcome");
		g_usleep(50000);
	}
	fail_msg("session %s did not end in %u ms", path, timeout_ms);
	return NULL;
}

static void
test_history_disk_full(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *filler = g_build_filename(f->state, "filler", NULL);
	g_autofree gchar *before = NULL, *after = NULL, *outcome = NULL, *path = NULL;
	g_autofree gchar *manager_state = NULL, *active = NULL;
	g_autoptr(GError) error = NULL;
	gint64 until;

	mount_tiny_state(f);
	pbm_fixture_spawn(f, NULL);
	wait_panel_idle(f);
	/* rows written while there is room */
	outcome = run_to_end(f, "kill-points", PBM_FIXTURE_WAIT_MS);
	assert_string_equal(outcome, "completed");
	g_free(path);
	path = pbm_fixture_start(f, "long-run", NULL);
	pbm_assert_reply(pbm_fixture_manager(f, "StopSession", NULL, &error));
	assert_true(pbm_fixture_wait_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Outcome",
	                                      "stopped", PBM_FIXTURE_WAIT_MS));
	before = history_summary(f);
	assert_string_equal(before, "2:stopped 1:completed");

	fill_disk(filler);
	for (guint i = 0; i < 3; i++) {
		g_autofree gchar *refused = pbm_fixture_try_start(f, "kill-points", NULL, &error);
		assert_null(refused);
		/* a device problem, with what to do about it */
		pbm_assert_dbus_error(error, "org.pbmd1.Error.Device", "free space");
		assert_non_null(strstr(error->message, f->history_db));
		if (i == 0)
			print_message("# refused: %s\n", error->message);
		g_clear_error(&error);
	}
	/* nothing lit, nothing running, and pbmd still serves */
	until = g_get_monotonic_time() + 500 * 1000;
	while (g_get_monotonic_time() < until) {
		assert_false(pbm_mock_panel_is_lit(f->panel));
		g_usleep(20000);
	}
	assert_alive(f);
	manager_state =
	        pbm_fixture_string_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "State");
	assert_string_equal(manager_state, "idle");
	/* no refused one became the active session, and the last that ran
	 * stays readable */
	active = pbm_fixture_string_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	                                     "ActiveSession");
	assert_string_equal(active, PBM_DBUS_PATH_NONE);
	assert_true(pbm_fixture_wait_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Outcome",
	                                      "stopped", PBM_FIXTURE_WAIT_MS));
	{
		g_autoptr(GVariant) profiles = pbm_fixture_manager(f, "ListProfiles", NULL, &error);
		assert_non_null(profiles);
	}
	/* every row written before is there, on D-Bus and in the file */
	after = history_summary(f);
	assert_string_equal(after, before);
	assert_int_equal(db_value(f->history_db, "SELECT count(*) FROM sessions"), 2);
	assert_int_equal(
	        db_value(f->history_db, "SELECT count(*) FROM sessions WHERE outcome IS NULL"), 0);

	/* space again: sessions run and are recorded */
	assert_int_equal(g_unlink(filler), 0);
	g_free(outcome);
	outcome = run_to_end(f, "kill-points", PBM_FIXTURE_WAIT_MS);
	assert_string_equal(outcome, "completed");
	g_free(after);
	after = history_summary(f);
	assert_string_equal(after, "3:completed 2:stopped 1:completed");

	/* the disk fills while a session runs: the session goes on as planned
	 * (the start is recorded; a lost checkpoint is no reason to stop),
	 * ends on time with the light off, and its outcome reaches the
	 * history once there is room again */
	g_free(path);
	path = pbm_fixture_start(f, "long-run", NULL);
	assert_true(pbm_fixture_wait_property(f, PANEL, PBM_DBUS_INTERFACE_PANEL, "State", "lit",
	                                      PBM_FIXTURE_WAIT_MS));
	fill_disk(filler);
	assert_true(pbm_fixture_wait_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Outcome",
	                                      "completed",
	                                      LONG_PROFILE_US / 1000 + PBM_FIXTURE_WAIT_MS));
	assert_alive(f);
	assert_true(pbm_fixture_wait_property(f, PANEL, PBM_DBUS_INTERFACE_PANEL, "State", "idle",
	                                      PBM_FIXTURE_WAIT_MS));
	assert_false(pbm_mock_panel_is_lit(f->panel));
	{
		g_autofree gchar *refused = pbm_fixture_try_start(f, "kill-points", NULL, &error);
		assert_null(refused);
		pbm_assert_dbus_error(error, "org.pbmd1.Error.Device", "free space");
		g_clear_error(&error);
	}
	assert_int_equal(g_unlink(filler), 0);
	g_free(outcome);
	outcome = run_to_end(f, "kill-points", PBM_FIXTURE_WAIT_MS);
	assert_string_equal(outcome, "completed");
	g_free(after);
	after = history_summary(f);
	assert_string_equal(after, "5:completed 4:completed 3:completed 2:stopped 1:completed");
	/* with the dose the session delivered, not a stale checkpoint */
	assert_true(db_value(f->history_db, "SELECT lit_us FROM sessions WHERE id = 4") >=
	            LONG_PROFILE_US - G_USEC_PER_SEC);
}

/* ---- 3. a corrupt or truncated history file ---- */

/* The one PATH.corrupt-N file next to db that is not in known (its -wal and
 * -shm companions aside). */
static gchar *
find_aside(const PbmFixture *f, const gchar *known)
{
	g_autoptr(GDir) dir = g_dir_open(f->state, 0, NULL);
	const gchar *name;
	gchar *found = NULL;

	assert_non_null(dir);
	while ((name = g_dir_read_name(dir)) != NULL) {
		if (!g_str_has_prefix(name, "history.db.corrupt-") ||
		    g_str_has_suffix(name, "-wal") || g_str_has_suffix(name, "-shm") ||
		    g_strcmp0(name, known) == 0)
			continue;
		assert_null(found);
		found = g_strdup(name);
	}
	return found;
}

static void
assert_file_equals(const gchar *path, const gchar *want, gsize want_len)
{
	g_autofree gchar *got = NULL;
	gsize len = 0;
	g_autoptr(GError) error = NULL;

	if (!g_file_get_contents(path, &got, &len, &error))
		fail_msg("%s", error->message);
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, want_len);
}

/* pbmd starts on a damaged history, keeps it aside byte for byte, serves,
 * and records new sessions in a fresh database. Returns the aside name. */
static gchar *
expect_fresh_history(PbmFixture *f, const gchar *known, const gchar *bytes, gsize len)
{
	g_autofree gchar *aside = NULL, *aside_path = NULL, *summary = NULL, *outcome = NULL;

	pbm_fixture_spawn(f, NULL);
	aside = find_aside(f, known);
	if (aside == NULL)
		fail_msg("no history.db.corrupt-N next to %s", f->history_db);
	aside_path = g_build_filename(f->state, aside, NULL);
	assert_file_equals(aside_path, bytes, len);
	summary = history_summary(f);
	assert_string_equal(summary, "");
	wait_panel_idle(f);
	outcome = run_to_end(f, "kill-points", PBM_FIXTURE_WAIT_MS);
	assert_string_equal(outcome, "completed");
	g_free(summary);
	summary = history_summary(f);
	assert_string_equal(summary, "1:completed");
	assert_int_equal(db_value(f->history_db, "SELECT count(*) FROM sessions WHERE outcome = "
	                                         "'completed'"),
	                 1);
	/* and the damaged copy is still untouched */
	assert_file_equals(aside_path, bytes, len);
	return g_steal_pointer(&aside);
}

static void
test_corrupt_history(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(GRand) rand = g_rand_new_with_seed(7062);
	g_autofree gchar *garbage = g_malloc(8192);
	g_autofree gchar *first = NULL, *second = NULL, *valid = NULL;
	gsize valid_len = 0;
	gint status;

	/* garbage where the database should be */
	for (gsize i = 0; i < 8192; i++)
		garbage[i] = (gchar)g_rand_int_range(rand, 0, 256);
	assert_true(g_file_set_contents(f->history_db, garbage, 8192, NULL));
	first = expect_fresh_history(f, NULL, garbage, 8192);
	print_message("# garbage history.db kept as %s\n", first);

	/* a database cut short: stop pbmd cleanly (its WAL goes into the
	 * file), then keep only the first two pages */
	status = pbm_test_daemon_signal_and_wait(f->daemon, SIGTERM, PBM_FIXTURE_WAIT_MS);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	g_clear_pointer(&f->daemon, pbm_test_daemon_free);
	assert_true(g_file_get_contents(f->history_db, &valid, &valid_len, NULL));
	assert_true(valid_len > 8192);
	assert_int_equal(truncate(f->history_db, 8192), 0);
	second = expect_fresh_history(f, first, valid, 8192);
	print_message("# history.db cut from %" G_GSIZE_FORMAT " to 8192 bytes kept as %s\n",
	              valid_len, second);
}

/* ---- 4. configuration reloads racing a running session ---- */

typedef struct {
	const gchar *limits; /* NULL: the text is extra */
	const gchar *extra;
	const gchar *error; /* NULL when valid, else what the error names */
} Variant;

static void
test_reload_races_session(void **state)
{
	PbmFixture *f = *state;
	const Variant variants[] = {
		{ "max_session = \"1m\";", NULL, NULL },
		{ "max_sesion = \"1m\";", NULL, "pbmd.conf:3: max_sesion" },
		{ "daily_dose_red = 300.0; max_temperature_c = 50.0;", NULL, NULL },
		{ "max_pause = 5;", NULL, "pbmd.conf:3: max_pause" },
		{ NULL, "heartbeat", NULL }, /* other heartbeat and watchdog */
		{ "", "this is not libconfig\n", "pbmd.conf:4" },
	};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL, *outcome = NULL, *refused = NULL;
	guint n_ok = 0, n_refused = 0, n_hup = 0, n_dark = 0, i = 0;
	gint64 started, elapsed, row_len;

	f->polkit = pbm_test_polkit_new(f->bus, TRUE, &error);
	if (f->polkit == NULL)
		fail_msg("%s", error->message);
	pbm_fixture_spawn(f, NULL);
	wait_panel_idle(f);
	path = pbm_fixture_start(f, "long-run", NULL);
	started = g_get_monotonic_time();
	assert_int_equal(get_u64(f, path, PBM_DBUS_INTERFACE_SESSION, "Duration"), LONG_PROFILE_US);
	while ((elapsed = g_get_monotonic_time() - started) < LONG_PROFILE_US - 300 * 1000) {
		const Variant *v = &variants[i % G_N_ELEMENTS(variants)];
		g_autofree gchar *base = NULL, *text = NULL;

		if (v->limits == NULL)
			base = config_text_with(f, 400, 2000, "max_session = \"10m\";");
		else
			base = config_text(f, v->limits);
		text = g_strconcat(base, v->limits != NULL ? v->extra : NULL, NULL);
		assert_true(g_file_set_contents(f->config, text, -1, NULL));
		/* every file both ways, SIGHUP and ReloadConfig */
		if ((i + i / G_N_ELEMENTS(variants)) % 2 == 1) {
			assert_int_equal(kill(pbm_test_daemon_get_pid(f->daemon), SIGHUP), 0);
			n_hup++;
		} else {
			g_autoptr(GVariant) reply =
			        pbm_fixture_manager(f, "ReloadConfig", NULL, &error);
			if (v->error == NULL) {
				if (reply == NULL)
					fail_msg("reload %u: %s", i, error->message);
				n_ok++;
			} else {
				assert_null(reply);
				pbm_assert_dbus_error(error, "org.pbmd1.Error.InvalidArgs",
				                      v->error);
				g_clear_error(&error);
				n_refused++;
			}
		}
		/* the light stays on as planned throughout (after the ramp) */
		if (elapsed > 300 * 1000 && !pbm_mock_panel_is_lit(f->panel))
			n_dark++;
		i++;
		g_usleep(5000);
	}
	print_message("# %u reloads during a %.0f s session: %u ReloadConfig applied, %u refused, "
	              "%u SIGHUP; dark %u times\n",
	              i, LONG_PROFILE_US / 1e6, n_ok, n_refused, n_hup, n_dark);
	assert_int_equal(n_dark, 0);
	assert_true(n_refused > 0 && n_ok > 0);
	/* root needs no polkit; anyone else got org.pbmd.admin from it */
	if (geteuid() != 0)
		assert_int_equal(pbm_test_polkit_get_calls(f->polkit, PBM_POLKIT_ACTION_ADMIN),
		                 n_ok + n_refused);
	assert_true(pbm_fixture_wait_property(f, path, PBM_DBUS_INTERFACE_SESSION, "State",
	                                      "finished", PBM_FIXTURE_WAIT_MS));
	outcome = pbm_fixture_string_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Outcome");
	assert_string_equal(outcome, "completed");
	assert_int_equal(get_u64(f, path, PBM_DBUS_INTERFACE_SESSION, "Duration"), LONG_PROFILE_US);
	assert_int_equal(
	        db_value(f->history_db, "SELECT planned_duration_us FROM sessions WHERE id = 1"),
	        LONG_PROFILE_US);
	row_len =
	        db_value(f->history_db, "SELECT ended_at - started_at FROM sessions WHERE id = 1");
	assert_true(row_len >= LONG_PROFILE_US && row_len < LONG_PROFILE_US + G_USEC_PER_SEC);
	assert_true(db_value(f->history_db, "SELECT lit_us FROM sessions WHERE id = 1") >=
	            LONG_PROFILE_US - 300 * 1000);
	assert_alive(f);

	/* the new limits apply to the next session; a bad file leaves them */
	write_config(f, "max_session = \"3s\";");
	{
		g_autoptr(GVariant) reply = pbm_fixture_manager(f, "ReloadConfig", NULL, &error);
		if (reply == NULL)
			fail_msg("%s", error->message);
	}
	write_config(f, "max_sesion = \"1h\";");
	assert_int_equal(kill(pbm_test_daemon_get_pid(f->daemon), SIGHUP), 0);
	{
		g_autoptr(GVariant) reply = pbm_fixture_manager(f, "ReloadConfig", NULL, &error);
		assert_null(reply);
		pbm_assert_dbus_error(error, "org.pbmd1.Error.InvalidArgs",
		                      "pbmd.conf:3: max_sesion");
		g_clear_error(&error);
	}
	refused = pbm_fixture_try_start(f, "long-run", NULL, &error);
	assert_null(refused);
	pbm_assert_dbus_error(error, "org.pbmd1.Error.SafetyLimit", "limits.max_session");
	g_clear_error(&error);
	g_free(outcome);
	outcome = run_to_end(f, "kill-points", PBM_FIXTURE_WAIT_MS);
	assert_string_equal(outcome, "completed");
	write_config(f, NULL);
	{
		g_autoptr(GVariant) reply = pbm_fixture_manager(f, "ReloadConfig", NULL, &error);
		if (reply == NULL)
			fail_msg("%s", error->message);
	}
	g_free(path);
	path = pbm_fixture_start(f, "long-run", NULL);
	pbm_assert_reply(pbm_fixture_manager(f, "StopSession", NULL, &error));
	assert_true(pbm_fixture_wait_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Outcome",
	                                      "stopped", PBM_FIXTURE_WAIT_MS));
	assert_alive(f);
}

static gboolean
write_proc(const gchar *path, const gchar *text)
{
	gint fd = open(path, O_WRONLY | O_CLOEXEC);
	gssize len = (gssize)strlen(text);
	gboolean ok = fd >= 0 && write(fd, text, len) == len;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Mounting the tiny tmpfs takes CAP_SYS_ADMIN. Run by another user than
 * root, the test has it in a user namespace of its own, entered before any
 * thread exists (unshare() refuses CLONE_NEWUSER to a threaded process),
 * with the user's uid and gid mapped to themselves: pbmd, the bus and pbmd's
 * callers inside see the same ids as outside. */
static gboolean
enter_user_namespace(void)
{
	g_autofree gchar *uid_map = g_strdup_printf("%u %u 1\n", geteuid(), geteuid());
	g_autofree gchar *gid_map = g_strdup_printf("%u %u 1\n", getegid(), getegid());

	if (unshare(CLONE_NEWUSER) != 0) {
		fprintf(stderr,
		        "unshare(CLONE_NEWUSER): %s: the disk-full test needs root or "
		        "unprivileged user namespaces (sysctl user.max_user_namespaces)\n",
		        g_strerror(errno));
		return FALSE;
	}
	if (!write_proc("/proc/self/setgroups", "deny") ||
	    !write_proc("/proc/self/uid_map", uid_map) ||
	    !write_proc("/proc/self/gid_map", gid_map)) {
		fprintf(stderr, "mapping ids in the user namespace: %s\n", g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(test_history_disk_full, pbm_fixture_setup,
		                                         teardown, (void *)&options),
		cmocka_unit_test_prestate_setup_teardown(test_corrupt_history, pbm_fixture_setup,
		                                         teardown, (void *)&options),
		cmocka_unit_test_prestate_setup_teardown(
		        test_reload_races_session, pbm_fixture_setup, teardown, (void *)&options),
		cmocka_unit_test_prestate_setup_teardown(test_sigkill_matrix, pbm_fixture_setup,
		                                         teardown, (void *)&options),
	};

	if (geteuid() != 0 && !enter_user_namespace())
		return 1;
	if (argc > 1)
		n_kill_points = (guint)g_ascii_strtoull(argv[1], NULL, 10);
	if (n_kill_points == 0)
		n_kill_points = 1;
	/* argv[2]: run only the tests matching this pattern */
	if (argc > 2)
		cmocka_set_test_filter(argv[2]);
	return cmocka_run_group_tests_name("faults-daemon", tests, NULL, NULL);
}
