/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What the private bus (pbm-test-bus.h) and a daemon (pbm-test-daemon.h)
 * share: the harness's error domain, temp dirs, and one spawned process
 * whose stdout and stderr a thread relays to the test's stdout, each line
 * prefixed "# [name] " (TAP-safe), and whose notify socket, when it has
 * one, the same thread reads at once (a full socket would block
 * sd_notify()).
 *
 * PbmTestProcess is the harness's own: tests use PbmTestBus and
 * PbmTestDaemon. PBM_TEST_ERROR is for tests too.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PBM_TEST_ERROR (pbm_test_error_quark())
GQuark pbm_test_error_quark(void);

typedef enum {
	PBM_TEST_ERROR_FAILED,    /* a temp dir, socket, spawn or D-Bus call failed */
	PBM_TEST_ERROR_NOT_FOUND, /* a program to run (pbmd, dbus-daemon) is missing */
	PBM_TEST_ERROR_TIMED_OUT, /* what was awaited did not happen in time */
	PBM_TEST_ERROR_EXITED,    /* the process exited before it happened */
} PbmTestError;

/* ---- for the harness itself ---- */

/* A fresh directory under TMPDIR (or /tmp when that is long): unix socket
 * paths go inside. */
gchar *pbm_test_make_temp_dir(const gchar *template, GError **error);

/* One line "# [label] ..." on stdout, whole even among other threads. */
void pbm_test_note(const gchar *label, const gchar *format, ...) G_GNUC_PRINTF(2, 3);
/* "exited with status 1", "was killed by signal 9 (Killed)", ... */
gchar *pbm_test_describe_status(gint status);

typedef struct {
	gchar *line;
	gboolean taken; /* returned by a wait already */
} PbmTestNotifyEntry;

typedef struct {
	gchar *label;
	GPid pid; /* 0 before the spawn */
	gboolean reaped;
	gint status;
	gboolean killed_after_timeout;

	/* read ends, non-blocking; the relay thread's once it runs */
	gint out_fd;
	gint err_fd;
	GString *out_partial;
	GString *err_partial;
	gint wake_fd; /* eventfd: the relay thread drains and ends */
	GThread *thread;

	/* the notify socket (-1: none), read under the mutex */
	gint notify_fd;
	GMutex mutex;
	GCond cond;
	GPtrArray *notify_log; /* PbmTestNotifyEntry */
} PbmTestProcess;

/* label: the basename of argv0. */
void pbm_test_process_init(PbmTestProcess *p, const gchar *argv0);
/* Spawns argv (looked up in PATH) with envp, stdin from /dev/null, stdout
 * and stderr relayed, cwd /, umask 022, default signal dispositions and
 * mask, SIGKILL when the spawning thread dies; map_fd (-1: none) becomes
 * fd 3. Starts the relay thread, which also reads p->notify_fd if set. */
gboolean pbm_test_process_spawn(PbmTestProcess *p, const gchar *const *argv, gchar **envp,
                                gint map_fd, GError **error);
/* Receives every queued notification into p->notify_log; hold p->mutex. */
void pbm_test_process_notify_drain_locked(PbmTestProcess *p);
/* TRUE once the process has exited (reaped here, once; p->status). */
gboolean pbm_test_process_try_reap(PbmTestProcess *p);
/* FALSE when it has not exited within timeout_ms. */
gboolean pbm_test_process_wait(PbmTestProcess *p, guint timeout_ms);
void pbm_test_process_kill_and_reap(PbmTestProcess *p);
/* Kills if needed, reaps, ends the relay thread, closes everything. */
void pbm_test_process_clear(PbmTestProcess *p);

G_END_DECLS
