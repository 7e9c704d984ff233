/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A private dbus-daemon with a system-bus-style configuration written into a
 * fresh short temp dir: anyone may connect (EXTERNAL auth), method calls are
 * denied and owning names is denied unless a rule allows it, exactly as on
 * the system bus, and the project's policy file data/org.pbmd.conf is
 * included (ignore_missing). On top of the system defaults, the user running
 * the tests may own org.pbmd (so pbmd can run without root) and
 * org.freedesktop.PolicyKit1 (the fake authority, pbm-test-polkit.h), and
 * anyone may call org.freedesktop.PolicyKit1. Calls to org.pbmd pass only if
 * data/org.pbmd.conf allows them. D-Bus activation finds its .service files
 * in DIR/services, empty unless a test writes one.
 *
 * Keep the bus in the test fixture and free it in the teardown: a failing
 * assertion longjmps past g_autoptr cleanups.
 */
#pragma once

#include <gio/gio.h>

#include "pbm-test-process.h"

G_BEGIN_DECLS

typedef struct _PbmTestBus PbmTestBus;

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

G_END_DECLS
