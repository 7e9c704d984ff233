/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What the integration tests do as a D-Bus client of pbmd, once: calls with
 * a timeout, property reads, polling a property, StartSession, waiting for
 * a spawned pbmd to be ready, and counting history rows.
 *
 * Every helper takes the client connection (and the timeout) rather than a
 * test's fixture, and reports failure through GError or its return value:
 * each test keeps its own fail_msg() wrappers, so its messages stay its own.
 */
#pragma once

#include <gio/gio.h>

#include "pbm-names.h"
#include "pbm-test-harness.h"

G_BEGIN_DECLS

/* A method call to PBM_DBUS_NAME with timeout_ms (a floating args
 * is consumed). reply_type may be NULL (any reply). */
GVariant *pbm_test_call(GDBusConnection *connection, const gchar *path, const gchar *iface,
                        const gchar *method, GVariant *args, const GVariantType *reply_type,
                        guint timeout_ms, GError **error);

/* Properties.Get: the value itself, unboxed from its (v). */
/* Every row of GetHistory the connection's user may read (aa{sv}), oldest
 * first, read a page of 100 at a time as clients do. */
GVariant *pbm_test_history(GDBusConnection *connection, guint timeout_ms, GError **error);
GVariant *pbm_test_get_property(GDBusConnection *connection, const gchar *path, const gchar *iface,
                                const gchar *name, guint timeout_ms, GError **error);

/* Polls a string or boolean property (want "true" / "false" for a boolean)
 * every poll_ms until it has the wanted value. A failed Get counts as "not
 * yet": an object appears only once pbmd has made it (a panel not yet
 * probed). FALSE after timeout_ms. */
gboolean pbm_test_wait_property(GDBusConnection *connection, const gchar *path, const gchar *iface,
                                const gchar *name, const gchar *want, guint poll_ms,
                                guint timeout_ms);

/* Manager.StartSession(profile, options); options NULL means none (a
 * floating options is consumed). The new session's object path. */
gchar *pbm_test_start_session(GDBusConnection *connection, const gchar *profile, GVariant *options,
                              guint timeout_ms, GError **error);

/* Waits for READY=1, then for daemon to own its name on connection's bus:
 * only then do calls reach the new process and not an old one. */
gboolean pbm_test_daemon_wait_ready(PbmTestDaemon *daemon, GDBusConnection *connection,
                                    guint timeout_ms, GError **error);

/* pbm_test_daemon_spawn(bus, args) with STATE_DIRECTORY=state_dir (NULL:
 * the harness's own temp dir), then pbm_test_daemon_wait_ready(). A daemon
 * that does not get ready is stopped and freed, and NULL returned. */
PbmTestDaemon *pbm_test_spawn_pbmd_ready(PbmTestBus *bus, GDBusConnection *connection,
                                         const gchar *const *args, const gchar *state_dir,
                                         guint timeout_ms, GError **error);

/* The number of history rows with outcome in the sqlite database db (pbmd's
 * history.db), read as a second reader that waits up to 2 s while pbmd
 * writes; -1 when it cannot be read. */
gint pbm_test_count_outcome(const gchar *db, const gchar *outcome);

G_END_DECLS
