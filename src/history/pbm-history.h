/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The session history: one SQLite database (WAL, synchronous=FULL) with a
 * row per session, written when the session starts and completed when it
 * ends, so that a crash or power loss leaves an open row that the next
 * start closes as "interrupted". The safety rules read it back: the
 * sessions of the rolling 24-hour dose and the end of the last session.
 *
 * Times are unix microseconds, doses J/cm2 per band ([0] red, [1] nir).
 * Every function gets the wall-clock time from its caller.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PBM_HISTORY_ERROR (pbm_history_error_quark())
GQuark pbm_history_error_quark(void);

typedef enum {
	PBM_HISTORY_ERROR_OPEN,      /* cannot open or set up the database */
	PBM_HISTORY_ERROR_WRITE,     /* a write failed (disk full, permissions, I/O) */
	PBM_HISTORY_ERROR_READ,      /* a query failed */
	PBM_HISTORY_ERROR_NOT_FOUND, /* no such session, or it is no longer open */
	PBM_HISTORY_ERROR_INVALID,   /* an argument the history refuses to record */
} PbmHistoryError;

/* pbm_history_list() never returns more rows than this. */
#define PBM_HISTORY_LIST_MAX 10000
/* The outcome recover gives to sessions a crash left open. */
#define PBM_HISTORY_OUTCOME_INTERRUPTED "interrupted"

typedef struct {
	const gchar *profile;
	const gchar *const *panels; /* serials; NULL for none */
	guint32 owner_uid;
	gint64 started_at;
	gint64 planned_duration_us;
	gdouble planned_dose[2];
	gdouble distance_cm;
	gboolean goggles; /* the person acknowledged eye protection */
} PbmHistoryStart;

typedef struct {
	gint64 id;
	gchar *profile;
	gchar **panels; /* never NULL */
	guint32 owner_uid;
	gint64 started_at;
	gint64 planned_duration_us;
	gdouble planned_dose[2];
	gdouble distance_cm;
	gint64 ended_at; /* 0 while open */
	gchar *outcome;  /* NULL while open */
	gdouble dose[2];
	gint64 lit_us;
	gdouble max_temperature_c;
	gchar *faults;        /* "" if none */
	gint64 checkpoint_at; /* 0 before the first checkpoint */
	gboolean goggles;
} PbmHistoryEntry;

void pbm_history_entry_free(PbmHistoryEntry *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmHistoryEntry, pbm_history_entry_free)

typedef struct _PbmHistory PbmHistory;

/* Opens or creates the database at path. A damaged file is moved aside to
 * PATH.corrupt-<unix seconds> (with its -wal and -shm) and a new database
 * started; see pbm_history_get_recovery_note(). A path that cannot be
 * opened for any other reason is a PBM_HISTORY_ERROR_OPEN and is left alone. */
PbmHistory *pbm_history_open(const gchar *path, GError **error);
/* The same, with the wall-clock time that names a moved-aside file. */
PbmHistory *pbm_history_open_at(const gchar *path, gint64 now, GError **error);
/* A connection of its own that only reads (the history's queries), for
 * another thread than the writer's; the writer must have opened the
 * history first. */
PbmHistory *pbm_history_open_reader(const gchar *path, GError **error);
void pbm_history_free(PbmHistory *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmHistory, pbm_history_free)

/* Set when open found a corrupt database, moved it aside and started a new
 * one: a sentence for the log naming both paths. NULL otherwise. */
const gchar *pbm_history_get_recovery_note(PbmHistory *h);

/* Closes rows left open by a crash or power loss as outcome "interrupted",
 * ended_at = their last checkpoint (or started_at), dose = the checkpointed
 * dose. Call it at startup, before any session begins. Returns how many (or
 * -1 with error). */
gint pbm_history_recover_interrupted(PbmHistory *h, GError **error);

/* Writes the start row and commits it durably before returning: pbmd
 * switches LEDs on only after this succeeds. The new row id is the session
 * id; ids are never reused. */
gboolean pbm_history_begin(PbmHistory *h, const PbmHistoryStart *start, gint64 *id_out,
                           GError **error);
/* What an open session has delivered so far, durably; it is what recover
 * keeps if the session never finishes. */
gboolean pbm_history_checkpoint(PbmHistory *h, gint64 id, gint64 now, const gdouble dose[2],
                                gint64 lit_us, gdouble max_temperature_c, GError **error);
/* faults: NULL or "" for none. Fails with NOT_FOUND when id is unknown or
 * already finished, INVALID for an outcome other than completed, stopped,
 * stopped-at-panel, fault, disconnected, daemon-stopped and interrupted. When the
 * write itself fails (WRITE: disk full, I/O error) the end is kept in
 * memory and written by pbm_history_flush(). */
gboolean pbm_history_finish(PbmHistory *h, gint64 id, gint64 ended_at, const gchar *outcome,
                            const gdouble dose[2], gint64 lit_us, gdouble max_temperature_c,
                            const gchar *faults, GError **error);
/* Writes the session ends pbm_history_finish() kept; FALSE (WRITE) while
 * they still cannot be written. pbm_history_begin() flushes first and fails
 * with it, so no session starts on a history missing another's outcome and
 * dose; pbm_history_list() tries too, and pbm_history_free() a last time. */
gboolean pbm_history_flush(PbmHistory *h, GError **error);

/* The rolling dose is over this window. */
#define PBM_HISTORY_DOSE_WINDOW_US (G_GINT64_CONSTANT(24) * G_TIME_SPAN_HOUR)

/* One session that counts towards the rolling dose. */
typedef struct {
	gint64 ended_at;
	gdouble dose[2];
} PbmHistoryDose;

/* The sessions of the rolling dose at now, oldest end first: each that
 * ended at or after now - PBM_HISTORY_DOSE_WINDOW_US with its delivered
 * dose, and each open one (running, or left by a crash not recovered yet)
 * as ending at now with its checkpointed dose, so that it counts for the
 * longest it can. An end pbm_history_finish() could not write counts as
 * written. The rolling dose is the sum of their doses; a dose cap frees as
 * they leave the window. */
GArray *pbm_history_recent_doses(PbmHistory *h, gint64 now, GError **error);
/* ended_at of the most recent finished session, 0 when there is none. */
gboolean pbm_history_last_end(PbmHistory *h, gint64 *ended_at_out, GError **error);
/* ended_at of the most recent finished session of profile that gave at
 * least half its planned dose (one stopped early does not hold back the
 * next), 0 when there is none. */
gboolean pbm_history_last_profile_end(PbmHistory *h, const gchar *profile, gint64 *ended_at_out,
                                      GError **error);
/* Which rows pbm_history_list() returns: started_at >= since, oldest
 * first (the next page starts at the last row's started_at + 1), at most
 * limit (0 or more than PBM_HISTORY_LIST_MAX: PBM_HISTORY_LIST_MAX), and
 * with owner_uid >= 0 only that user's. */
typedef struct {
	gint64 since;
	guint limit;
	gint64 owner_uid;
} PbmHistoryQuery;

#define PBM_HISTORY_ANY_OWNER (-1)

/* PbmHistoryEntry * as q asks. */
GPtrArray *pbm_history_list(PbmHistory *h, const PbmHistoryQuery *q, GError **error);
gboolean pbm_history_get(PbmHistory *h, gint64 id, PbmHistoryEntry **out, GError **error);

G_END_DECLS
