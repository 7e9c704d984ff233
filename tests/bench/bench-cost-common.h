/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What the cost benchmarks read about a process from /proc: per-thread
 * context switches (voluntary + nonvoluntary, /proc/PID/task/TID/status) and
 * CPU time (utime + stime of /proc/PID/stat and of each thread, in clock
 * ticks; and the process's CPU-time clock, clock_getcpuclockid(), which
 * counts nanoseconds where ticks are 10 ms), memory
 * (VmRSS, VmHWM, and Pss from /proc/PID/smaps_rollup), and min/median/max
 * of repeated timings; and starting pbmd or the floor service (a minimal
 * GDBus service, bench-cost-floor.c) on the harness's private bus; and the
 * fixture every case starts from, with its Manager calls.
 *
 * A wakeup, here, is a context switch: a thread that sleeps in poll() and
 * is woken counts one voluntary switch; a busy thread preempted counts
 * nonvoluntary ones.
 */
#pragma once

#include <glib.h>

#include "pbm-test-harness.h"

G_BEGIN_DECLS

typedef struct {
	gint tid;
	gchar *comm;
	guint64 switches; /* voluntary + nonvoluntary */
	guint64 cpu_ticks;
} BenchCostThread;

typedef struct {
	GPid pid;
	gint64 at_us;       /* monotonic */
	guint64 cpu_ticks;  /* process utime + stime, dead threads included */
	gint64 cpu_ns;      /* the process CPU-time clock; -1 when unreadable */
	GPtrArray *threads; /* BenchCostThread */
} BenchCostSample;

typedef struct {
	gdouble seconds;
	guint64 switches;
	gdouble switches_per_s;
	gdouble cpu_ms; /* process utime + stime over the window */
	gdouble cpu_ms_per_s;
	gdouble cpu_clock_ms; /* the CPU-time clock over the window; < 0: unreadable */
	guint threads_gone;   /* threads that ended inside the window: their switches are lost */
} BenchCostDelta;

/* NULL and error when the process (or its /proc) is gone. */
BenchCostSample *bench_cost_sample_take(GPid pid, GError **error);
void bench_cost_sample_free(BenchCostSample *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BenchCostSample, bench_cost_sample_free)

/* The difference b - a, with one "# " line per thread (label first). */
void bench_cost_delta(const gchar *label, const BenchCostSample *a, const BenchCostSample *b,
                      BenchCostDelta *out);

typedef struct {
	guint64 rss_kb;
	guint64 hwm_kb;
	guint64 pss_kb;
	guint64 pss_anon_kb;
	guint threads;
} BenchCostMemory;

gboolean bench_cost_memory_read(GPid pid, BenchCostMemory *out, GError **error);

/* Sorts values in place. */
void bench_cost_stats(GArray *values, gdouble *min, gdouble *median, gdouble *max);

/* The integer in environment variable name, or fallback when unset or bad. */
guint bench_cost_env_uint(const gchar *name, guint fallback);

/* Generous: the machine may be busy compiling. */
#define BENCH_COST_WAIT_MS 30000

/* Writes DIR/pbmd.conf: profile_dirs = [profile_dir], the panel's USB id,
 * min_gap 0, and extra (NULL or libconfig text) at the end. */
gchar *bench_cost_write_config(const gchar *dir, const gchar *profile_dir, const gchar *extra);

/* The history size the benchmarks use: three sessions a day for nine years. */
#define BENCH_COST_HISTORY_ROWS 10000

/* STATE/history.db with pbmd's schema (made by pbm_history_open()) and rows
 * finished sessions, one every 8 hours back from now, written with sqlite3
 * in one transaction. */
gboolean bench_cost_write_history(const gchar *state, guint rows, GError **error);

/* Runs pbmd --config config extra_args... with STATE_DIRECTORY=state_dir
 * (NULL: the harness's own), without the umockdev preload when
 * no_preload, and waits for READY=1 and for it to own org.pbmd on client's
 * bus. ready_us (may be NULL) gets the time from just before the spawn to
 * READY=1. */
PbmTestDaemon *bench_cost_spawn_pbmd(PbmTestBus *bus, GDBusConnection *client, const gchar *config,
                                     const gchar *state_dir, const gchar *const *extra_args,
                                     gboolean no_preload, gint64 *ready_us, GError **error);
/* The floor service ($BENCH_COST_FLOOR) on the same bus, owning org.pbmd,
 * without the umockdev preload; the same wait and timing. */
PbmTestDaemon *bench_cost_spawn_floor(PbmTestBus *bus, GDBusConnection *client, gint64 *ready_us,
                                      GError **error);
/* SIGTERM and a bounded wait; FALSE when it did not exit cleanly. */
gboolean bench_cost_stop(PbmTestDaemon *daemon);

/* The rows of a benchmark's summary table, filled case by case and printed
 * at the end: each row is a g_malloc()ed struct of the benchmark's own whose
 * first member is its gchar *label; both are freed with the array. */
GPtrArray *bench_cost_rows_new(void);

/* ---- what every case of a cost benchmark starts from (CMocka) ---- */

/* A temp dir, the private bus, a client connection, and with polkit a fake
 * authority that allows everything (sessions start without root). The
 * daemon slot is the process the case measures. Each benchmark's Fixture
 * embeds one; its own fields come after. */
typedef struct {
	gchar *dir;
	PbmTestBus *bus;
	PbmTestPolkit *polkit;
	GDBusConnection *client;
	PbmTestDaemon *daemon;
} BenchCostBase;

/* Fills base (dir from g_dir_make_tmp(dir_template)); fails the test with
 * the reason when it cannot. */
void bench_cost_base_setup(BenchCostBase *base, const gchar *dir_template, gboolean polkit);
/* The daemon, the client, polkit and the bus, then the dir. A benchmark
 * with other clients of the bus or of an emulated panel ends them first. */
void bench_cost_base_teardown(BenchCostBase *base);
/* bench_cost_stop() with a note when the exit was not clean (the numbers
 * stand), then frees the daemon. */
void bench_cost_base_stop_daemon(BenchCostBase *base);

/* Manager.method(params) on pbmd; fails the test naming method. */
GVariant *bench_cost_manager_call(BenchCostBase *base, const gchar *method, GVariant *params,
                                  const GVariantType *reply_type);
/* The Manager's State property; fails the test when it cannot be read. */
gchar *bench_cost_manager_state(BenchCostBase *base);

G_END_DECLS
