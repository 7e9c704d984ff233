/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Running pbmd in tests the way systemd runs it: on a private dbus-daemon
 * with system-bus policy, with NOTIFY_SOCKET and STATE_DIRECTORY, next to a
 * fake polkit authority.
 *
 * The bus (PbmTestBus) is a dbus-daemon with a system-bus-style configuration
 * written into a fresh short temp dir: anyone may connect (EXTERNAL auth),
 * method calls are denied and owning names is denied unless a rule allows
 * it, exactly as on the system bus, and the project's policy file
 * data/org.pbmd.conf is included (ignore_missing). On top of the system
 * defaults, the user running the tests may own org.pbmd (so pbmd can run
 * without root) and org.freedesktop.PolicyKit1 (the fake authority), and
 * anyone may call org.freedesktop.PolicyKit1. Calls to org.pbmd pass only if
 * data/org.pbmd.conf allows them.
 *
 * A daemon (PbmTestDaemon) is pbmd, or any command, spawned with:
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
 * the test to run a main loop. Call everything but the polkit getters and
 * setters from the thread that spawned (the parent-death signal is tied to
 * that thread). Keep the objects in the test fixture and free them in the
 * teardown: a failing assertion longjmps past g_autoptr cleanups.
 */
#pragma once

#include <gio/gio.h>
#include <sys/types.h>

G_BEGIN_DECLS

#define PBM_TEST_ERROR (pbm_test_error_quark())
GQuark pbm_test_error_quark(void);

typedef enum {
	PBM_TEST_ERROR_FAILED,    /* a temp dir, socket, spawn or D-Bus call failed */
	PBM_TEST_ERROR_NOT_FOUND, /* a program to run (pbmd, dbus-daemon) is missing */
	PBM_TEST_ERROR_TIMED_OUT, /* what was awaited did not happen in time */
	PBM_TEST_ERROR_EXITED,    /* the process exited before it happened */
} PbmTestError;

/* The name pbmd owns, and what pbm_test_daemon_wait_name() waits for. */
#define PBM_TEST_DAEMON_BUS_NAME "org.pbmd"

typedef struct _PbmTestBus PbmTestBus;
typedef struct _PbmTestDaemon PbmTestDaemon;
typedef struct _PbmTestPolkit PbmTestPolkit;

/* ---- the private bus ---- */

/* Starts dbus-daemon (DBUS_DAEMON, else found in PATH) on unix:path=DIR/bus
 * and waits for its address (--print-address). The policy file included is
 * $PBM_BUS_POLICY, else PBM_SOURCE_DIR/data/org.pbmd.conf. */
PbmTestBus *pbm_test_bus_new(GError **error);
/* SIGTERM, at most 5 s to exit, then SIGKILL; reaps; removes the dir. */
void pbm_test_bus_free(PbmTestBus *bus);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmTestBus, pbm_test_bus_free)

const gchar *pbm_test_bus_get_address(PbmTestBus *bus);
const gchar *pbm_test_bus_get_dir(PbmTestBus *bus);
GPid pbm_test_bus_get_pid(PbmTestBus *bus);
/* A new client connection (exit-on-close off), registered with the bus. */
GDBusConnection *pbm_test_bus_connect(PbmTestBus *bus, GError **error);

/* ---- a daemon ---- */

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

/* Waits until org.pbmd has an owner on connection's bus and checks that the
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

/* ---- the fake polkit authority ---- */

/* Owns org.freedesktop.PolicyKit1 on the bus from a thread of its own and
 * exports /org/freedesktop/PolicyKit1/Authority:
 * CheckAuthorization(subject (sa{sv}), action_id s, details a{ss}, flags u,
 * cancellation_id s) -> ((bba{ss})) answers (answer, FALSE, {}), or
 * org.freedesktop.PolicyKit1.Error.Failed for a subject polkit would refuse
 * (kinds unix-process with pid u, system-bus-name with name s, unix-session
 * with session-id s); CancelCheckAuthorization(s) ends a delayed check with
 * org.freedesktop.PolicyKit1.Error.Cancelled; BackendName, BackendVersion and
 * BackendFeatures properties. Returns once the name is owned. */
PbmTestPolkit *pbm_test_polkit_new(PbmTestBus *bus, gboolean answer, GError **error);
void pbm_test_polkit_free(PbmTestPolkit *polkit);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmTestPolkit, pbm_test_polkit_free)

/* The answer to every action without an answer of its own. */
void pbm_test_polkit_set_answer(PbmTestPolkit *polkit, gboolean answer);
/* The answer for one action id, overriding set_answer(). */
void pbm_test_polkit_set_action_answer(PbmTestPolkit *polkit, const gchar *action_id,
                                       gboolean answer);
/* Answers only after delay_ms (0: at once), like an authentication dialog. */
void pbm_test_polkit_set_delay(PbmTestPolkit *polkit, guint delay_ms);
/* CheckAuthorization calls received for action_id, answered or not. */
guint pbm_test_polkit_get_calls(PbmTestPolkit *polkit, const gchar *action_id);
/* The parameters of the latest CheckAuthorization call, (sa{sv}sa{ss}us), or
 * NULL before the first; g_variant_unref it. */
GVariant *pbm_test_polkit_get_last_parameters(PbmTestPolkit *polkit);

/* ---- helpers ---- */

/* Removes path and everything below it; TRUE when nothing is left. */
gboolean pbm_test_rm_rf(const gchar *path);

G_END_DECLS
