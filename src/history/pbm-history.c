/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-history.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

/* A writer waits this long for a lock. Longer would stall the main loop
 * past the panel's 3 s heartbeat watchdog while a session runs. */
#define BUSY_TIMEOUT_MS 1000
/* Limits on what callers hand in: refused, never cut, so a runaway string
 * cannot bloat the file. Serials and profile names are far shorter. */
#define TEXT_MAX 4096
#define PANELS_MAX 64

/* A session end that could not be written (disk full, I/O error). */
typedef struct {
	gint64 id;
	gint64 ended_at;
	gchar *outcome;
	gdouble dose[2];
	gint64 lit_us;
	gdouble max_temperature_c;
	gchar *faults;
} Unwritten;

struct _PbmHistory {
	gchar *path;
	gchar *recovery_note;
	sqlite3 *db;
	gint last_rc;         /* of the last failure, to tell a damaged file from others */
	GPtrArray *unwritten; /* Unwritten, oldest first: see pbm_history_flush() */
};

/* The name is the error domain's string at run time; clang-format would
 * read it as a subtraction and space it out. */
/* clang-format off */
G_DEFINE_QUARK(pbm-history-error-quark, pbm_history_error)
/* clang-format on */

static void
unwritten_free(Unwritten *u)
{
	g_free(u->outcome);
	g_free(u->faults);
	g_free(u);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Unwritten, unwritten_free)

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sqlite3_stmt, sqlite3_finalize)

static const gchar *const outcomes[] = {
	"completed",
	"stopped",
	"stopped-at-panel",
	"fault",
	"disconnected",
	"daemon-stopped",
	PBM_HISTORY_OUTCOME_INTERRUPTED,
	NULL,
};

/* migrations[v] takes a database from user_version v to v + 1. Each runs
 * in one transaction with its version bump, so a crash leaves version v.
 * AUTOINCREMENT: a session id names a D-Bus object and log lines, so it
 * must not come back even if someone deletes the newest rows. ended_at is
 * NULL while a session is open, which puts open rows at the head of the
 * ended_at index. */
static const gchar *const migrations[] = {
	"CREATE TABLE sessions ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" profile TEXT NOT NULL,"
	" owner_uid INTEGER NOT NULL,"
	" started_at INTEGER NOT NULL,"
	" planned_duration_us INTEGER NOT NULL,"
	" planned_dose_red REAL NOT NULL,"
	" planned_dose_nir REAL NOT NULL,"
	" distance_cm REAL NOT NULL,"
	" ended_at INTEGER,"
	" outcome TEXT,"
	" dose_red REAL NOT NULL DEFAULT 0,"
	" dose_nir REAL NOT NULL DEFAULT 0,"
	" lit_us INTEGER NOT NULL DEFAULT 0,"
	" max_temperature_c REAL NOT NULL DEFAULT 0,"
	" faults TEXT NOT NULL DEFAULT '',"
	" checkpoint_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE session_panels ("
	" session_id INTEGER NOT NULL,"
	" position INTEGER NOT NULL,"
	" serial TEXT NOT NULL,"
	" PRIMARY KEY (session_id, position)) WITHOUT ROWID;"
	"CREATE INDEX sessions_by_end ON sessions (ended_at);"
	"CREATE INDEX sessions_by_start ON sessions (started_at);"
	"PRAGMA user_version = 1;",
	/* 2: whether the person acknowledged eye protection */
	"ALTER TABLE sessions ADD COLUMN goggles INTEGER NOT NULL DEFAULT 0;"
	"PRAGMA user_version = 2;",
};

#define ENTRY_COLUMNS                                                                    \
	"id, profile, owner_uid, started_at, planned_duration_us, planned_dose_red, "    \
	"planned_dose_nir, distance_cm, ended_at, outcome, dose_red, dose_nir, lit_us, " \
	"max_temperature_c, faults, checkpoint_at, goggles"

enum {
	COL_ID,
	COL_PROFILE,
	COL_OWNER_UID,
	COL_STARTED_AT,
	COL_PLANNED_DURATION,
	COL_PLANNED_DOSE_RED,
	COL_PLANNED_DOSE_NIR,
	COL_DISTANCE,
	COL_ENDED_AT,
	COL_OUTCOME,
	COL_DOSE_RED,
	COL_DOSE_NIR,
	COL_LIT_US,
	COL_MAX_TEMPERATURE,
	COL_FAULTS,
	COL_CHECKPOINT_AT,
	COL_GOGGLES,
};

static const gchar read_what[] = "cannot read the history";

static gboolean
outcome_is_valid(const gchar *outcome)
{
	return outcome != NULL && g_strv_contains(outcomes, outcome);
}

void
pbm_history_entry_free(PbmHistoryEntry *e)
{
	if (e == NULL)
		return;
	g_free(e->profile);
	g_strfreev(e->panels);
	g_free(e->outcome);
	g_free(e->faults);
	g_free(e);
}

/* ---- errors ---- */

static gchar *
advice_for(gint rc, const gchar *path)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return g_strdup_printf("check free space on the disk holding %s", path);
	case SQLITE_PERM:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_AUTH:
		return g_strdup_printf("check permissions of %s and of its directory (pbmd also "
		                       "creates %s-wal and %s-shm there)",
		                       path, path, path);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return g_strdup_printf("another process holds %s locked; check that only one pbmd "
		                       "runs",
		                       path);
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return g_strdup_printf("the file is damaged: stop pbmd and move %s aside; the next "
		                       "start creates a new history",
		                       path);
	case SQLITE_IOERR:
		return g_strdup_printf("check the disk holding %s (kernel log) and its free space",
		                       path);
	default:
		return g_strdup_printf("check %s and the disk holding it", path);
	}
}

/* what: the failed action, ending in a preposition: "... in PATH". */
static void
set_db_error(PbmHistory *h, PbmHistoryError code, const gchar *what, GError **error)
{
	g_autofree gchar *advice = NULL;

	h->last_rc = sqlite3_extended_errcode(h->db);
	advice = advice_for(h->last_rc, h->path);
	g_set_error(error, PBM_HISTORY_ERROR, code, "%s %s: %s; %s", what, h->path,
	            sqlite3_errmsg(h->db), advice);
}

static gboolean
is_damage(gint rc)
{
	return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

static gboolean
set_invalid(PbmHistory *h, GError **error, const gchar *field, const gchar *problem)
{
	g_set_error(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_INVALID,
	            "refusing to write to the history in %s: %s %s; nothing was recorded", h->path,
	            field, problem);
	return FALSE;
}

/* ---- statements ---- */

static sqlite3_stmt *
prepare(PbmHistory *h, const gchar *sql, PbmHistoryError code, const gchar *what, GError **error)
{
	sqlite3_stmt *stmt = NULL;

	if (sqlite3_prepare_v2(h->db, sql, -1, &stmt, NULL) == SQLITE_OK)
		return stmt;
	set_db_error(h, code, what, error);
	return NULL;
}

static gboolean
step_done(PbmHistory *h, sqlite3_stmt *stmt, PbmHistoryError code, const gchar *what,
          GError **error)
{
	if (sqlite3_step(stmt) == SQLITE_DONE)
		return TRUE;
	set_db_error(h, code, what, error);
	return FALSE;
}

/* Only for constant SQL: nothing from outside ever reaches it. */
static gboolean
exec(PbmHistory *h, const gchar *sql, PbmHistoryError code, const gchar *what, GError **error)
{
	if (sqlite3_exec(h->db, sql, NULL, NULL, NULL) == SQLITE_OK)
		return TRUE;
	set_db_error(h, code, what, error);
	return FALSE;
}

static void
rollback(PbmHistory *h)
{
	/* SQLite rolls back by itself after some errors; the caller already
	 * holds the error that matters. */
	if (!sqlite3_get_autocommit(h->db))
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
}

static gboolean
exec_transaction(PbmHistory *h, const gchar *sql, PbmHistoryError code, const gchar *what,
                 GError **error)
{
	if (!exec(h, "BEGIN IMMEDIATE", code, what, error))
		return FALSE;
	if (exec(h, sql, code, what, error) && exec(h, "COMMIT", code, what, error))
		return TRUE;
	rollback(h);
	return FALSE;
}

/* The first column of the first row of constant SQL (a PRAGMA, a count). */
static gboolean
query_value(PbmHistory *h, const gchar *sql, gchar **text_out, gint64 *int_out, GError **error)
{
	static const gchar what[] = "cannot open the history";
	g_autoptr(sqlite3_stmt) stmt = prepare(h, sql, PBM_HISTORY_ERROR_OPEN, what, error);

	if (stmt == NULL)
		return FALSE;
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		set_db_error(h, PBM_HISTORY_ERROR_OPEN, what, error);
		return FALSE;
	}
	if (text_out != NULL)
		*text_out = g_strdup((const gchar *)sqlite3_column_text(stmt, 0));
	if (int_out != NULL)
		*int_out = sqlite3_column_int64(stmt, 0);
	return TRUE;
}

/* ---- opening ---- */

static void
close_db(PbmHistory *h)
{
	if (h->db != NULL && sqlite3_close(h->db) != SQLITE_OK)
		g_warning("closing the history %s: %s", h->path, sqlite3_errmsg(h->db));
	h->db = NULL;
}

/* SQLite's own suffixes, so that `sqlite3 PATH.corrupt-N` still reads the
 * rows the moved -wal holds; a -journal left behind would be replayed into
 * the new database. */
static const gchar *const companions[] = { "", "-wal", "-shm", "-journal", NULL };

/* The history is health data: the database is created 0600 whatever the
 * umask (SQLite gives its -wal and -shm the database's mode), and files an
 * older pbmd or a copy left readable are made 0600 too. */
static gboolean
make_private(PbmHistory *h, GError **error)
{
	gint fd = g_open(h->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0 || fchmod(fd, 0600) != 0) {
		gint saved = errno;
		g_autofree gchar *dir = g_path_get_dirname(h->path);

		if (fd >= 0)
			close(fd);
		if (saved == ENOENT && !g_file_test(dir, G_FILE_TEST_IS_DIR))
			g_set_error(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_OPEN,
			            "cannot open the history %s: directory %s does not exist; "
			            "create it or point history_path elsewhere",
			            h->path, dir);
		else
			g_set_error(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_OPEN,
			            "cannot open the history %s: %s; check permissions of %s",
			            h->path, g_strerror(saved), dir);
		return FALSE;
	}
	close(fd);
	for (guint i = 1; companions[i] != NULL; i++) {
		g_autofree gchar *file = g_strconcat(h->path, companions[i], NULL);

		if (g_chmod(file, 0600) != 0 && errno != ENOENT) {
			gint saved = errno;
			g_set_error(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_OPEN,
			            "cannot make %s readable by pbmd alone: %s", file,
			            g_strerror(saved));
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
connect_db(PbmHistory *h, GError **error)
{
	/* also what says that the directory is missing */
	if (!make_private(h, error))
		return FALSE;
	if (sqlite3_open_v2(h->path, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		set_db_error(h, PBM_HISTORY_ERROR_OPEN, "cannot open the history", error);
		return FALSE;
	}
	/* SQLite falls back to read-only without a word; every write would fail. */
	if (sqlite3_db_readonly(h->db, "main") == 1) {
		g_set_error(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_OPEN,
		            "cannot open the history %s for writing; check permissions of %s",
		            h->path, h->path);
		return FALSE;
	}
	sqlite3_busy_timeout(h->db, BUSY_TIMEOUT_MS);
	sqlite3_db_config(h->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	return TRUE;
}

static gboolean
migrate(PbmHistory *h, GError **error)
{
	gint64 version = 0;
	gint64 n_objects = 0;

	if (!query_value(h, "PRAGMA user_version", NULL, &version, error) ||
	    !query_value(h, "SELECT count(*) FROM sqlite_schema", NULL, &n_objects, error))
		return FALSE;
	if (version == 0 && n_objects > 0) {
		g_set_error(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_OPEN,
		            "%s is an SQLite database of some other program, not a pbmd history; "
		            "point history_path elsewhere",
		            h->path);
		return FALSE;
	}
	if (version > (gint64)G_N_ELEMENTS(migrations)) {
		g_set_error(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_OPEN,
		            "the history %s has format version %" G_GINT64_FORMAT
		            ", newer than this pbmd knows (%u); install the newer pbmd again",
		            h->path, version, (guint)G_N_ELEMENTS(migrations));
		return FALSE;
	}
	for (gsize v = (gsize)version; v < G_N_ELEMENTS(migrations); v++) {
		if (!exec_transaction(h, migrations[v], PBM_HISTORY_ERROR_OPEN,
		                      "cannot set up the history in", error))
			return FALSE;
	}
	return TRUE;
}

/* PRAGMA quick_check reads every page of the file. Through the default
 * page cache (2 MB) it would leave pbmd holding about 1.4 MB of heap per
 * 10,000 sessions for the rest of its life, pages it never reads again:
 * check through a small cache, then restore the configured size. */
static gboolean
quick_check(PbmHistory *h, gchar **check_out, GError **error)
{
	static const gchar what[] = "cannot open the history";
	g_autofree gchar *restore = NULL;
	gint64 cache_size = 0;

	/* a failed check leaves the connection to be closed: nothing to restore */
	if (!query_value(h, "PRAGMA cache_size", NULL, &cache_size, error) ||
	    !exec(h, "PRAGMA cache_size = -64", PBM_HISTORY_ERROR_OPEN, what, error) ||
	    !query_value(h, "PRAGMA quick_check", check_out, NULL, error))
		return FALSE;
	/* the number SQLite gave us, not text from outside */
	restore = g_strdup_printf("PRAGMA cache_size = %" G_GINT64_FORMAT, cache_size);
	return exec(h, restore, PBM_HISTORY_ERROR_OPEN, what, error);
}

/* On failure *damage is the reason when the file itself is bad. */
static gboolean
configure(PbmHistory *h, gchar **damage, GError **error)
{
	g_autofree gchar *mode = NULL;
	g_autofree gchar *check = NULL;

	if (!query_value(h, "PRAGMA journal_mode = WAL", &mode, NULL, error))
		return FALSE;
	if (g_ascii_strcasecmp(mode, "wal") != 0) {
		g_set_error(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_OPEN,
		            "cannot use write-ahead logging for the history %s (journal mode "
		            "stays %s); put it on a local file system",
		            h->path, mode);
		return FALSE;
	}
	/* FULL: in WAL mode this syncs every commit, so a recorded start
	 * survives a power cut that comes right after the LEDs go on. */
	if (!exec(h, "PRAGMA synchronous = FULL", PBM_HISTORY_ERROR_OPEN, "cannot open the history",
	          error) ||
	    !quick_check(h, &check, error))
		return FALSE;
	if (g_strcmp0(check, "ok") != 0) {
		*damage = g_strdup_printf("integrity check: %s", check);
		g_set_error(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_OPEN,
		            "the history %s is damaged (%s); stop pbmd and move it aside", h->path,
		            *damage);
		return FALSE;
	}
	return migrate(h, error);
}

static gboolean
setup(PbmHistory *h, gchar **damage, GError **error)
{
	h->last_rc = SQLITE_OK;
	if (!connect_db(h, error))
		return FALSE;
	if (configure(h, damage, error))
		return TRUE;
	if (*damage == NULL && is_damage(h->last_rc))
		*damage = g_strdup(sqlite3_errstr(h->last_rc));
	return FALSE;
}

static gchar *
aside_name(const gchar *path, gint64 now)
{
	gint64 secs = now / G_USEC_PER_SEC;
	gchar *name = g_strdup_printf("%s.corrupt-%" G_GINT64_FORMAT, path, secs);

	for (guint n = 2; g_file_test(name, G_FILE_TEST_EXISTS); n++) {
		g_free(name);
		name = g_strdup_printf("%s.corrupt-%" G_GINT64_FORMAT ".%u", path, secs, n);
	}
	return name;
}

static gchar *
move_aside(const gchar *path, gint64 now, GError **error)
{
	g_autofree gchar *aside = aside_name(path, now);

	for (guint i = 0; companions[i] != NULL; i++) {
		g_autofree gchar *from = g_strconcat(path, companions[i], NULL);
		g_autofree gchar *to = g_strconcat(aside, companions[i], NULL);
		gint saved_errno;

		if (g_rename(from, to) == 0)
			continue;
		saved_errno = errno;
		if (saved_errno == ENOENT && i > 0)
			continue;
		/* Stop here: a new database next to the old -wal would take it in. */
		g_set_error(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_OPEN,
		            "the history %s is damaged and cannot be moved aside: renaming %s to "
		            "%s: %s; check permissions of the directory holding %s",
		            path, from, to, g_strerror(saved_errno), path);
		return NULL;
	}
	return g_steal_pointer(&aside);
}

PbmHistory *
pbm_history_open_at(const gchar *path, gint64 now, GError **error)
{
	g_autoptr(PbmHistory) h = NULL;
	g_autoptr(GError) local = NULL;
	g_autofree gchar *damage = NULL;
	g_autofree gchar *again = NULL;
	g_autofree gchar *aside = NULL;

	g_return_val_if_fail(path != NULL, NULL);
	if (path[0] == '\0') {
		g_set_error(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_OPEN,
		            "the history path is empty; set it to a file in a writable directory");
		return NULL;
	}
	h = g_new0(PbmHistory, 1);
	h->path = g_strdup(path);
	h->unwritten = g_ptr_array_new_with_free_func((GDestroyNotify)unwritten_free);
	if (setup(h, &damage, &local))
		return g_steal_pointer(&h);
	if (damage == NULL) {
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	close_db(h);
	aside = move_aside(path, now, error);
	if (aside == NULL || !setup(h, &again, error))
		return NULL;
	h->recovery_note = g_strdup_printf("the history %s was damaged (%s); moved it aside to %s "
	                                   "and started a new history",
	                                   path, damage, aside);
	return g_steal_pointer(&h);
}

PbmHistory *
pbm_history_open(const gchar *path, GError **error)
{
	/* The clock only names a damaged file that is moved aside. */
	return pbm_history_open_at(path, g_get_real_time(), error);
}

PbmHistory *
pbm_history_open_reader(const gchar *path, GError **error)
{
	g_autoptr(PbmHistory) h = g_new0(PbmHistory, 1);

	h->path = g_strdup(path);
	h->unwritten = g_ptr_array_new_with_free_func((GDestroyNotify)unwritten_free);
	if (sqlite3_open_v2(path, &h->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		set_db_error(h, PBM_HISTORY_ERROR_OPEN, "cannot open the history", error);
		return NULL;
	}
	sqlite3_busy_timeout(h->db, BUSY_TIMEOUT_MS);
	return g_steal_pointer(&h);
}

void
pbm_history_free(PbmHistory *h)
{
	g_autoptr(GError) error = NULL;

	if (h == NULL)
		return;
	if (h->db != NULL && !pbm_history_flush(h, &error))
		g_warning("%s; the next start records that session as interrupted", error->message);
	g_clear_pointer(&h->unwritten, g_ptr_array_unref);
	close_db(h);
	g_free(h->path);
	g_free(h->recovery_note);
	g_free(h);
}

const gchar *
pbm_history_get_recovery_note(PbmHistory *h)
{
	return h->recovery_note;
}

/* ---- checking what callers hand in ---- */

static gboolean
check_text(PbmHistory *h, const gchar *field, const gchar *text, gboolean may_be_empty,
           GError **error)
{
	if (text == NULL || (!may_be_empty && text[0] == '\0'))
		return set_invalid(h, error, field, "is missing");
	if (strlen(text) > TEXT_MAX)
		return set_invalid(h, error, field,
		                   "is longer than " G_STRINGIFY(TEXT_MAX) " bytes");
	if (!g_utf8_validate(text, -1, NULL))
		return set_invalid(h, error, field, "is not valid UTF-8");
	return TRUE;
}

/* NaN would come back from SQLite as NULL, i.e. 0. */
static gboolean
check_number(PbmHistory *h, const gchar *field, gdouble value, gboolean may_be_negative,
             GError **error)
{
	if (!isfinite(value))
		return set_invalid(h, error, field, "is not a finite number");
	if (!may_be_negative && value < 0)
		return set_invalid(h, error, field, "is negative");
	return TRUE;
}

static gboolean
check_dose(PbmHistory *h, const gchar *field, const gdouble dose[2], GError **error)
{
	return check_number(h, field, dose[0], FALSE, error) &&
	       check_number(h, field, dose[1], FALSE, error);
}

static gboolean
check_start(PbmHistory *h, const PbmHistoryStart *s, GError **error)
{
	guint n = 0;

	if (!check_text(h, "the profile name", s->profile, FALSE, error) ||
	    !check_dose(h, "the planned dose", s->planned_dose, error) ||
	    !check_number(h, "the distance", s->distance_cm, FALSE, error))
		return FALSE;
	if (s->planned_duration_us < 0)
		return set_invalid(h, error, "the planned duration", "is negative");
	for (; s->panels != NULL && s->panels[n] != NULL; n++) {
		if (!check_text(h, "a panel serial", s->panels[n], FALSE, error))
			return FALSE;
	}
	if (n > PANELS_MAX)
		return set_invalid(h, error, "the panel list",
		                   "has more than " G_STRINGIFY(PANELS_MAX) " panels");
	return TRUE;
}

static gboolean
check_progress(PbmHistory *h, const gdouble dose[2], gint64 lit_us, gdouble max_temperature_c,
               GError **error)
{
	if (!check_dose(h, "the delivered dose", dose, error) ||
	    !check_number(h, "the maximum temperature", max_temperature_c, TRUE, error))
		return FALSE;
	if (lit_us < 0)
		return set_invalid(h, error, "the lit time", "is negative");
	return TRUE;
}

/* ---- writing ---- */

static gboolean
insert_session(PbmHistory *h, const PbmHistoryStart *s, gint64 *id_out, const gchar *what,
               GError **error)
{
	g_autoptr(sqlite3_stmt) stmt = NULL;

	stmt = prepare(h,
	               "INSERT INTO sessions (profile, owner_uid, started_at, "
	               "planned_duration_us, planned_dose_red, planned_dose_nir, distance_cm, "
	               "goggles) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	               PBM_HISTORY_ERROR_WRITE, what, error);
	if (stmt == NULL)
		return FALSE;
	sqlite3_bind_text(stmt, 1, s->profile, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, s->owner_uid);
	sqlite3_bind_int64(stmt, 3, s->started_at);
	sqlite3_bind_int64(stmt, 4, s->planned_duration_us);
	sqlite3_bind_double(stmt, 5, s->planned_dose[0]);
	sqlite3_bind_double(stmt, 6, s->planned_dose[1]);
	sqlite3_bind_double(stmt, 7, s->distance_cm);
	sqlite3_bind_int(stmt, 8, s->goggles ? 1 : 0);
	if (!step_done(h, stmt, PBM_HISTORY_ERROR_WRITE, what, error))
		return FALSE;
	*id_out = sqlite3_last_insert_rowid(h->db);
	return TRUE;
}

static gboolean
insert_panels(PbmHistory *h, gint64 id, const gchar *const *panels, const gchar *what,
              GError **error)
{
	g_autoptr(sqlite3_stmt) stmt = NULL;

	if (panels == NULL || panels[0] == NULL)
		return TRUE;
	stmt = prepare(h,
	               "INSERT INTO session_panels (session_id, position, serial) "
	               "VALUES (?1, ?2, ?3)",
	               PBM_HISTORY_ERROR_WRITE, what, error);
	if (stmt == NULL)
		return FALSE;
	for (guint i = 0; panels[i] != NULL; i++) {
		sqlite3_reset(stmt);
		sqlite3_bind_int64(stmt, 1, id);
		sqlite3_bind_int64(stmt, 2, i);
		sqlite3_bind_text(stmt, 3, panels[i], -1, SQLITE_STATIC);
		if (!step_done(h, stmt, PBM_HISTORY_ERROR_WRITE, what, error))
			return FALSE;
	}
	return TRUE;
}

gboolean
pbm_history_begin(PbmHistory *h, const PbmHistoryStart *start, gint64 *id_out, GError **error)
{
	static const gchar what[] = "cannot record the session start in";
	const PbmHistoryError code = PBM_HISTORY_ERROR_WRITE;
	gint64 id = 0;

	g_return_val_if_fail(h != NULL && start != NULL && id_out != NULL, FALSE);
	/* No session starts while another's outcome is missing from the file:
	 * its dose must count in the next plan and survive a crash. */
	if (!check_start(h, start, error) || !pbm_history_flush(h, error) ||
	    !exec(h, "BEGIN IMMEDIATE", code, what, error))
		return FALSE;
	if (!insert_session(h, start, &id, what, error) ||
	    !insert_panels(h, id, start->panels, what, error) ||
	    !exec(h, "COMMIT", code, what, error)) {
		rollback(h);
		return FALSE;
	}
	*id_out = id;
	return TRUE;
}

/* An update touched no row: say whether the id is unknown or finished. */
static gboolean
set_not_open(PbmHistory *h, gint64 id, const gchar *what, GError **error)
{
	g_autoptr(PbmHistoryEntry) e = NULL;

	if (!pbm_history_get(h, id, &e, NULL))
		g_set_error(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_NOT_FOUND,
		            "%s session %" G_GINT64_FORMAT " in %s: there is no such session; "
		            "session ids come from pbm_history_begin()",
		            what, id, h->path);
	else
		g_set_error(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_NOT_FOUND,
		            "%s session %" G_GINT64_FORMAT " in %s: it already ended as %s, and a "
		            "finished session's record stays as it is",
		            what, id, h->path, e->outcome);
	return FALSE;
}

gboolean
pbm_history_checkpoint(PbmHistory *h, gint64 id, gint64 now, const gdouble dose[2], gint64 lit_us,
                       gdouble max_temperature_c, GError **error)
{
	static const gchar what[] = "cannot record a checkpoint of";
	g_autoptr(sqlite3_stmt) stmt = NULL;

	g_return_val_if_fail(h != NULL && dose != NULL, FALSE);
	if (!check_progress(h, dose, lit_us, max_temperature_c, error))
		return FALSE;
	stmt = prepare(h,
	               "UPDATE sessions SET checkpoint_at = ?2, dose_red = ?3, dose_nir = ?4, "
	               "lit_us = ?5, max_temperature_c = ?6 WHERE id = ?1 AND ended_at IS NULL",
	               PBM_HISTORY_ERROR_WRITE, "cannot record a checkpoint in", error);
	if (stmt == NULL)
		return FALSE;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, now);
	sqlite3_bind_double(stmt, 3, dose[0]);
	sqlite3_bind_double(stmt, 4, dose[1]);
	sqlite3_bind_int64(stmt, 5, lit_us);
	sqlite3_bind_double(stmt, 6, max_temperature_c);
	if (!step_done(h, stmt, PBM_HISTORY_ERROR_WRITE, "cannot record a checkpoint in", error))
		return FALSE;
	if (sqlite3_changes(h->db) == 0)
		return set_not_open(h, id, what, error);
	return TRUE;
}

static gboolean
write_finish(PbmHistory *h, const Unwritten *u, GError **error)
{
	static const gchar what[] = "cannot record the session end in";
	g_autoptr(sqlite3_stmt) stmt = NULL;

	stmt = prepare(h,
	               "UPDATE sessions SET ended_at = ?2, outcome = ?3, dose_red = ?4, "
	               "dose_nir = ?5, lit_us = ?6, max_temperature_c = ?7, faults = ?8 "
	               "WHERE id = ?1 AND ended_at IS NULL",
	               PBM_HISTORY_ERROR_WRITE, what, error);
	if (stmt == NULL)
		return FALSE;
	sqlite3_bind_int64(stmt, 1, u->id);
	sqlite3_bind_int64(stmt, 2, u->ended_at);
	sqlite3_bind_text(stmt, 3, u->outcome, -1, SQLITE_STATIC);
	sqlite3_bind_double(stmt, 4, u->dose[0]);
	sqlite3_bind_double(stmt, 5, u->dose[1]);
	sqlite3_bind_int64(stmt, 6, u->lit_us);
	sqlite3_bind_double(stmt, 7, u->max_temperature_c);
	sqlite3_bind_text(stmt, 8, u->faults, -1, SQLITE_STATIC);
	if (!step_done(h, stmt, PBM_HISTORY_ERROR_WRITE, what, error))
		return FALSE;
	if (sqlite3_changes(h->db) == 0)
		return set_not_open(h, u->id, "cannot finish", error);
	return TRUE;
}

gboolean
pbm_history_finish(PbmHistory *h, gint64 id, gint64 ended_at, const gchar *outcome,
                   const gdouble dose[2], gint64 lit_us, gdouble max_temperature_c,
                   const gchar *faults, GError **error)
{
	g_autoptr(Unwritten) u = NULL;
	GError *local = NULL;

	g_return_val_if_fail(h != NULL && dose != NULL, FALSE);
	if (!outcome_is_valid(outcome))
		return set_invalid(h, error, "the outcome",
		                   "is none of completed, stopped, stopped-at-panel, fault, "
		                   "disconnected, daemon-stopped, interrupted");
	if (!check_progress(h, dose, lit_us, max_temperature_c, error) ||
	    !check_text(h, "the fault list", faults != NULL ? faults : "", TRUE, error))
		return FALSE;
	u = g_new0(Unwritten, 1);
	*u = (Unwritten){
		.id = id,
		.ended_at = ended_at,
		.outcome = g_strdup(outcome),
		.dose = { dose[0], dose[1] },
		.lit_us = lit_us,
		.max_temperature_c = max_temperature_c,
		.faults = g_strdup(faults != NULL ? faults : ""),
	};
	if (write_finish(h, u, &local))
		return TRUE;
	/* Kept, and written before the next session can begin. */
	if (g_error_matches(local, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_WRITE))
		g_ptr_array_add(h->unwritten, g_steal_pointer(&u));
	g_propagate_error(error, local);
	return FALSE;
}

gboolean
pbm_history_flush(PbmHistory *h, GError **error)
{
	g_return_val_if_fail(h != NULL, FALSE);
	while (h->unwritten->len > 0) {
		Unwritten *u = g_ptr_array_index(h->unwritten, 0);
		g_autoptr(GError) local = NULL;

		if (!write_finish(h, u, &local) &&
		    !g_error_matches(local, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_NOT_FOUND)) {
			g_set_error(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_WRITE,
			            "the end of session %" G_GINT64_FORMAT " (%s) is not recorded "
			            "yet: %s",
			            u->id, u->outcome, local->message);
			return FALSE;
		}
		g_ptr_array_remove_index(h->unwritten, 0);
	}
	return TRUE;
}

gint
pbm_history_recover_interrupted(PbmHistory *h, GError **error)
{
	static const gchar what[] = "cannot close interrupted sessions in";
	g_autoptr(sqlite3_stmt) stmt = NULL;

	g_return_val_if_fail(h != NULL, -1);
	/* max(): a wall clock stepped back must not end a session before it began. */
	stmt = prepare(h,
	               "UPDATE sessions SET outcome = ?1, ended_at = max(started_at, "
	               "checkpoint_at) WHERE ended_at IS NULL",
	               PBM_HISTORY_ERROR_WRITE, what, error);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, PBM_HISTORY_OUTCOME_INTERRUPTED, -1, SQLITE_STATIC);
	if (!step_done(h, stmt, PBM_HISTORY_ERROR_WRITE, what, error))
		return -1;
	return sqlite3_changes(h->db);
}

/* ---- reading ---- */

static const Unwritten *
find_unwritten(PbmHistory *h, gint64 id)
{
	for (guint i = 0; i < h->unwritten->len; i++) {
		const Unwritten *u = g_ptr_array_index(h->unwritten, i);
		if (u->id == id)
			return u;
	}
	return NULL;
}

/* A row of id, ended_at, dose_red, dose_nir. */
static PbmHistoryDose
dose_from_row(PbmHistory *h, sqlite3_stmt *stmt, gint64 now)
{
	PbmHistoryDose d = {
		.ended_at = sqlite3_column_int64(stmt, 1),
		.dose = { sqlite3_column_double(stmt, 2), sqlite3_column_double(stmt, 3) },
	};
	const Unwritten *u;

	if (sqlite3_column_type(stmt, 1) != SQLITE_NULL)
		return d;
	u = find_unwritten(h, sqlite3_column_int64(stmt, 0));
	if (u == NULL) {
		d.ended_at = now;
		return d;
	}
	return (PbmHistoryDose){ .ended_at = u->ended_at, .dose = { u->dose[0], u->dose[1] } };
}

static gint
compare_dose_end(gconstpointer a, gconstpointer b)
{
	const PbmHistoryDose *x = a, *y = b;

	return (x->ended_at > y->ended_at) - (x->ended_at < y->ended_at);
}

GArray *
pbm_history_recent_doses(PbmHistory *h, gint64 now, GError **error)
{
	g_autoptr(sqlite3_stmt) stmt = NULL;
	g_autoptr(GArray) doses = g_array_new(FALSE, FALSE, sizeof(PbmHistoryDose));
	gint64 since = now - PBM_HISTORY_DOSE_WINDOW_US;
	gint rc;

	g_return_val_if_fail(h != NULL, NULL);
	/* Two index ranges rather than one OR, which SQLite may scan. */
	stmt = prepare(h,
	               "SELECT id, ended_at, dose_red, dose_nir FROM sessions WHERE ended_at >= ?1"
	               " UNION ALL"
	               " SELECT id, ended_at, dose_red, dose_nir FROM sessions"
	               " WHERE ended_at IS NULL",
	               PBM_HISTORY_ERROR_READ, read_what, error);
	if (stmt == NULL)
		return NULL;
	sqlite3_bind_int64(stmt, 1, since);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		PbmHistoryDose d = dose_from_row(h, stmt, now);
		/* An unwritten end may lie before the window. */
		if (d.ended_at >= since)
			g_array_append_val(doses, d);
	}
	if (rc != SQLITE_DONE) {
		set_db_error(h, PBM_HISTORY_ERROR_READ, read_what, error);
		return NULL;
	}
	g_array_sort(doses, compare_dose_end);
	return g_steal_pointer(&doses);
}

gboolean
pbm_history_last_end(PbmHistory *h, gint64 *ended_at_out, GError **error)
{
	g_autoptr(sqlite3_stmt) stmt = NULL;

	g_return_val_if_fail(h != NULL && ended_at_out != NULL, FALSE);
	stmt = prepare(h, "SELECT max(ended_at) FROM sessions", PBM_HISTORY_ERROR_READ, read_what,
	               error);
	if (stmt == NULL)
		return FALSE;
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		set_db_error(h, PBM_HISTORY_ERROR_READ, read_what, error);
		return FALSE;
	}
	/* NULL (no finished session) reads as 0. */
	*ended_at_out = sqlite3_column_int64(stmt, 0);
	return TRUE;
}

gboolean
pbm_history_last_profile_end(PbmHistory *h, const gchar *profile, gint64 *ended_at_out,
                             GError **error)
{
	g_autoptr(sqlite3_stmt) stmt = NULL;

	g_return_val_if_fail(h != NULL && profile != NULL && ended_at_out != NULL, FALSE);
	stmt = prepare(h,
	               "SELECT max(ended_at) FROM sessions WHERE profile = ?1 AND "
	               "dose_red + dose_nir >= 0.5 * (planned_dose_red + planned_dose_nir)",
	               PBM_HISTORY_ERROR_READ, read_what, error);
	if (stmt == NULL)
		return FALSE;
	sqlite3_bind_text(stmt, 1, profile, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		set_db_error(h, PBM_HISTORY_ERROR_READ, read_what, error);
		return FALSE;
	}
	*ended_at_out = sqlite3_column_int64(stmt, 0);
	return TRUE;
}

static gchar *
column_strdup(sqlite3_stmt *stmt, gint col)
{
	return g_strdup((const gchar *)sqlite3_column_text(stmt, col));
}

static PbmHistoryEntry *
entry_from_row(sqlite3_stmt *stmt)
{
	PbmHistoryEntry *e = g_new0(PbmHistoryEntry, 1);

	e->id = sqlite3_column_int64(stmt, COL_ID);
	e->profile = column_strdup(stmt, COL_PROFILE);
	e->owner_uid = (guint32)sqlite3_column_int64(stmt, COL_OWNER_UID);
	e->started_at = sqlite3_column_int64(stmt, COL_STARTED_AT);
	e->planned_duration_us = sqlite3_column_int64(stmt, COL_PLANNED_DURATION);
	e->planned_dose[0] = sqlite3_column_double(stmt, COL_PLANNED_DOSE_RED);
	e->planned_dose[1] = sqlite3_column_double(stmt, COL_PLANNED_DOSE_NIR);
	e->distance_cm = sqlite3_column_double(stmt, COL_DISTANCE);
	e->ended_at = sqlite3_column_int64(stmt, COL_ENDED_AT);
	e->outcome = column_strdup(stmt, COL_OUTCOME);
	e->dose[0] = sqlite3_column_double(stmt, COL_DOSE_RED);
	e->dose[1] = sqlite3_column_double(stmt, COL_DOSE_NIR);
	e->lit_us = sqlite3_column_int64(stmt, COL_LIT_US);
	e->max_temperature_c = sqlite3_column_double(stmt, COL_MAX_TEMPERATURE);
	e->faults = column_strdup(stmt, COL_FAULTS);
	e->checkpoint_at = sqlite3_column_int64(stmt, COL_CHECKPOINT_AT);
	e->goggles = sqlite3_column_int(stmt, COL_GOGGLES) != 0;
	return e;
}

static gboolean
read_panels(PbmHistory *h, sqlite3_stmt *stmt, PbmHistoryEntry *e, GError **error)
{
	g_autoptr(GPtrArray) serials = g_ptr_array_new_with_free_func(g_free);
	gint rc;

	sqlite3_reset(stmt);
	sqlite3_bind_int64(stmt, 1, e->id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		g_ptr_array_add(serials, column_strdup(stmt, 0));
	if (rc != SQLITE_DONE) {
		set_db_error(h, PBM_HISTORY_ERROR_READ, read_what, error);
		return FALSE;
	}
	g_ptr_array_add(serials, NULL);
	e->panels = (gchar **)g_ptr_array_free(g_steal_pointer(&serials), FALSE);
	return TRUE;
}

/* Every row of rows, with its panels. Both statements run in the read
 * transaction rows opens, so the panels match their sessions. */
static GPtrArray *
read_entries(PbmHistory *h, sqlite3_stmt *rows, GError **error)
{
	g_autoptr(GPtrArray) entries =
	        g_ptr_array_new_with_free_func((GDestroyNotify)pbm_history_entry_free);
	g_autoptr(sqlite3_stmt) panels = NULL;
	gint rc;

	panels = prepare(h,
	                 "SELECT serial FROM session_panels WHERE session_id = ?1 "
	                 "ORDER BY position",
	                 PBM_HISTORY_ERROR_READ, read_what, error);
	if (panels == NULL)
		return NULL;
	while ((rc = sqlite3_step(rows)) == SQLITE_ROW) {
		PbmHistoryEntry *e = entry_from_row(rows);

		g_ptr_array_add(entries, e);
		if (!read_panels(h, panels, e, error))
			return NULL;
	}
	if (rc != SQLITE_DONE) {
		set_db_error(h, PBM_HISTORY_ERROR_READ, read_what, error);
		return NULL;
	}
	return g_steal_pointer(&entries);
}

GPtrArray *
pbm_history_list(PbmHistory *h, const PbmHistoryQuery *q, GError **error)
{
	g_autoptr(sqlite3_stmt) rows = NULL;

	g_return_val_if_fail(h != NULL && q != NULL, NULL);
	/* Best effort: once there is room, a kept session end shows. */
	pbm_history_flush(h, NULL);
	rows = prepare(h,
	               "SELECT " ENTRY_COLUMNS " FROM sessions WHERE started_at >= ?1 "
	               "AND (?3 < 0 OR owner_uid = ?3) "
	               "ORDER BY started_at, id LIMIT ?2",
	               PBM_HISTORY_ERROR_READ, read_what, error);
	if (rows == NULL)
		return NULL;
	sqlite3_bind_int64(rows, 1, q->since);
	sqlite3_bind_int64(rows, 2,
	                   q->limit == 0 || q->limit > PBM_HISTORY_LIST_MAX ? PBM_HISTORY_LIST_MAX
	                                                                    : q->limit);
	sqlite3_bind_int64(rows, 3, q->owner_uid);
	return read_entries(h, rows, error);
}

gboolean
pbm_history_get(PbmHistory *h, gint64 id, PbmHistoryEntry **out, GError **error)
{
	g_autoptr(sqlite3_stmt) rows = NULL;
	g_autoptr(GPtrArray) entries = NULL;

	g_return_val_if_fail(h != NULL && out != NULL, FALSE);
	rows = prepare(h, "SELECT " ENTRY_COLUMNS " FROM sessions WHERE id = ?1",
	               PBM_HISTORY_ERROR_READ, read_what, error);
	if (rows == NULL)
		return FALSE;
	sqlite3_bind_int64(rows, 1, id);
	entries = read_entries(h, rows, error);
	if (entries == NULL)
		return FALSE;
	if (entries->len == 0) {
		g_set_error(error, PBM_HISTORY_ERROR, PBM_HISTORY_ERROR_NOT_FOUND,
		            "no session %" G_GINT64_FORMAT
		            " in the history %s; check the session id",
		            id, h->path);
		return FALSE;
	}
	*out = g_ptr_array_steal_index(entries, 0);
	return TRUE;
}
