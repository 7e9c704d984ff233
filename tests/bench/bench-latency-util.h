/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What the latency benchmarks share: sample statistics, and the real pbmd
 * on the private bus of tests/pbm-test-bus.h, either with a simulated
 * panel (--simulate) or with its USB transport against a panel emulated
 * under umockdev (tests/umockdev/pbm-mock-panel.h; the process then runs
 * under the umockdev preload). The pbmd.conf allows sessions back to back
 * (min_gap = 0) and names one profile directory of the benchmark's own.
 * The bus policy is pbmd's (data/org.pbmd.conf) plus one rule that lets
 * clients call org.freedesktop.DBus.Peer on dbus-daemon, which the system
 * bus denies: Peer.Ping there is the floor of every round trip.
 */
#pragma once

#include <gio/gio.h>

#include "pbm-mock-panel.h"
#include "pbm-test-harness.h"

G_BEGIN_DECLS

/* Generous: a wait that runs out means the benchmark cannot measure. */
#define PBM_BENCH_WAIT_MS 20000

typedef struct {
	guint n;
	gdouble min_us, mean_us, p50_us, p99_us, max_us;
} PbmBenchStats;

/* Statistics of samples (gint64 microseconds, sorted in place); the
 * percentiles are nearest-rank. */
void pbm_bench_stats(GArray *samples, PbmBenchStats *stats);
/* Prints one line of results, "# " first (TAP), on stderr: meson test -v
 * shows a TAP test's stderr, and keeps only its stdout for the log. */
void pbm_bench_report(const gchar *format, ...) G_GNUC_PRINTF(1, 2);
/* The number in the environment variable name (for longer runs by hand),
 * else fallback. */
guint pbm_bench_env_uint(const gchar *name, guint fallback);

typedef struct {
	gchar *dir;
	gchar *profile_dir;
	gchar *config;
	PbmMockBus *usb;
	PbmMockPanel *panel;
	PbmTestBus *bus;
	PbmTestDaemon *daemon;
	GDBusConnection *client;
	gint64 device_t0; /* see pbm_bench_read_output() */
} PbmBench;

/* A bus, and pbmd on it: with usb, driving one emulated panel (serial
 * PBM_BENCH_SERIAL) with the real USB transport; without, one simulated
 * panel. profile_text, if not NULL, is written as profile profile_name.
 * Returns once pbmd is READY, owns its name and its panel is connected. */
#define PBM_BENCH_SERIAL "BENCH001"
PbmBench *pbm_bench_new(gboolean usb, const gchar *profile_name, const gchar *profile_text,
                        GError **error);
/* pbmd goes first, then the bus, then the emulated panel. */
void pbm_bench_free(PbmBench *bench);

/* The CMocka fixture of every latency benchmark: *state is a PbmBench
 * (pbm_bench_new() with these arguments), or the test fails with the reason
 * it could not be set up; the teardown frees it. */
int pbm_bench_setup(void **state, gboolean usb, const gchar *profile_name,
                    const gchar *profile_text);
int pbm_bench_teardown(void **state);

/* The 1-minute load average, -1 when unknown: printed next to the numbers,
 * since a busy machine explains a slow run. */
gdouble pbm_bench_load_average(void);

/* Round trips from client: Properties.Get of org.pbmd1.Manager State on
 * pbmd, and org.freedesktop.DBus.Peer.Ping on dbus-daemon itself. */
gboolean pbm_bench_get_state(GDBusConnection *client, gchar **state_out, GError **error);
gboolean pbm_bench_ping_bus(GDBusConnection *client, GError **error);
/* Peer.Ping on pbmd: GDBus answers it in pbmd's D-Bus worker thread,
 * without pbmd's main loop. */
gboolean pbm_bench_ping_pbmd(GDBusConnection *client, GError **error);

/* StartSession(profile) with no options; the session's path. */
gchar *pbm_bench_start(PbmBench *bench, const gchar *profile, GError **error);
gboolean pbm_bench_stop(PbmBench *bench, GError **error);
/* Polls the Manager's State every millisecond until it is want. */
gboolean pbm_bench_wait_state(PbmBench *bench, const gchar *want, guint timeout_ms, GError **error);

/* The emulated panel's output as the model saw it (usb only), read under
 * the model's lock: changes and changed_at (device time, microseconds) as
 * pbm_sim_get_output_changes(), levels in permille. Each call also refines
 * device_t0, our monotonic time at device time 0 (the smallest difference
 * seen between our clock and the model's, which the harness brings up to
 * date when it is locked): device time t is our time device_t0 + t. */
typedef struct {
	guint64 changes;
	guint64 changed_at;
	gboolean lit;
	guint16 level[2];
} PbmBenchOutput;
void pbm_bench_read_output(PbmBench *bench, PbmBenchOutput *out);
/* Polls the output every poll_us until its change count exceeds
 * after_changes; FALSE on timeout. */
gboolean pbm_bench_wait_output_change(PbmBench *bench, guint64 after_changes, guint poll_us,
                                      guint timeout_ms, PbmBenchOutput *out);

G_END_DECLS
