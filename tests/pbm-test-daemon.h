/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmd, or any command, run the way systemd runs a service, on a private
 * bus (pbm-test-bus.h). A daemon (PbmTestDaemon) is spawned with:
 *   - its own fresh temp dir as STATE_DIRECTORY (history.db goes there), unless
 *     extra_env sets STATE_DIRECTORY (then the caller owns that directory);
 *   - NOTIFY_SOCKET, a unix datagram socket read by a harness thread at once
 *     (as systemd does: a full socket would block sd_notify()), every
 *     assignment kept in a log;
 *   - DBUS_SYSTEM_BUS_ADDRESS and DBUS_SESSION_BUS_ADDRESS set to the private bus,
 *     JOURNAL_STREAM, WATCHDOG_USEC, WATCHDOG_PID, LISTEN_FDS, LISTEN_PID unset
 *     (pass "WATCHDOG_USEC=..." in extra_env to enable the watchdog);
 *   - stdin from /dev/null, stdout and stderr relayed to the test's stdout with
 *     every line prefixed "# [name] " (TAP-safe), cwd /, umask 022, default
 *     signal dispositions and mask, and SIGKILL when the test process dies.
 *
 * pbm_test_daemon_spawn() puts the words of $PBMD_WRAPPER, when set, before
 * pbmd (meson test --setup memcheck runs every pbmd under memcheck).
 *
 * extra_env entries are "KEY=VALUE" (set) or "KEY" (unset), applied last.
 * Output and notifications go on while the test blocks; nothing here needs
 * the test to run a main loop. Call everything from the thread that spawned
 * (the parent-death signal is tied to that thread). Keep the daemon in the
 * test fixture and free it in the teardown: a failing assertion longjmps
 * past g_autoptr cleanups.
 */
#pragma once

#include <gio/gio.h>
#include <sys/types.h>

#include "pbm-names.h"
#include "pbm-test-bus.h"

G_BEGIN_DECLS

typedef struct _PbmTestDaemon PbmTestDaemon;

/* Runs $PBMD_BINARY --address ADDRESS extra_args... (see above). Fails with
 * NOT_FOUND when PBMD_BINARY is unset or not an executable file. */
PbmTestDaemon *pbm_test_daemon_spawn(PbmTestBus *bus, const gchar *const *extra_args,
                                     const gchar *const *extra_env, GError **error);
/* The same for any command line (argv[0] is looked up in PATH). */
PbmTestDaemon *pbm_test_daemon_spawn_command(PbmTestBus *bus, const gchar *const *argv,
                                             const gchar *const *extra_env, GError **error);
/* The pbmd path from PBMD_BINARY, or NULL and NOT_FOUND: lets a test skip
 * while the binary is not built. */
const gchar *pbm_test_daemon_get_binary(GError **error);

/* If still running: SIGTERM, at most 10 s to exit, then SIGKILL; reaps,
 * stops the relay and the notify socket, and removes the temp dir. */
void pbm_test_daemon_free(PbmTestDaemon *daemon);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmTestDaemon, pbm_test_daemon_free)

GPid pbm_test_daemon_get_pid(PbmTestDaemon *daemon);
const gchar *pbm_test_daemon_get_state_dir(PbmTestDaemon *daemon);
/* STATE_DIRECTORY/history.db */
const gchar *pbm_test_daemon_get_history_db_path(PbmTestDaemon *daemon);

/* Waits for a notification assignment (one line of a datagram) starting with
 * prefix that no earlier wait has returned, oldest first: waiting twice for
 * "WATCHDOG=1" needs two pings. line_out (may be NULL) gets the whole line.
 * Fails with TIMED_OUT, or EXITED at once when the process has exited
 * without sending it; the messages quote the log. */
gboolean pbm_test_daemon_wait_notify(PbmTestDaemon *daemon, const gchar *prefix, guint timeout_ms,
                                     gchar **line_out, GError **error);
/* Every assignment received so far, in order (a copy; g_strfreev it). */
gchar **pbm_test_daemon_get_notify_log(PbmTestDaemon *daemon);

/* Waits until PBM_DBUS_NAME has an owner on connection's bus and checks that the
 * owner is this process (FAILED otherwise); TIMED_OUT, EXITED as above. */
gboolean pbm_test_daemon_wait_name(PbmTestDaemon *daemon, GDBusConnection *connection,
                                   guint timeout_ms, GError **error);

/* Sends signum (0: none, only wait) and waits at most timeout_ms for the
 * process to exit. Returns its wait status (WIFEXITED() ...), or -1 when it
 * had to be killed with SIGKILL after the timeout (-1 is never a status
 * of a clean exit nor of a death by SIGKILL). After the process has exited
 * this returns its status again. */
gint pbm_test_daemon_signal_and_wait(PbmTestDaemon *daemon, gint signum, guint timeout_ms);
/* TRUE (and the wait status) when the process has exited; does not block. */
gboolean pbm_test_daemon_has_exited(PbmTestDaemon *daemon, gint *status_out);

G_END_DECLS
