/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * PbmPanelMonitor: every panel pbmd knows, by serial. It probes each new
 * transport (USB hotplug or a simulated panel), creates a PbmPanel the first
 * time a serial is seen and re-attaches the same PbmPanel when that serial
 * comes back, so owners keep one object per physical panel.
 */
#pragma once

#include "pbm-clock.h"
#include "pbm-panel.h"
#include "pbm-sim-transport.h"
#include "pbm-usb-context.h"

G_BEGIN_DECLS

#define PBM_TYPE_PANEL_MONITOR (pbm_panel_monitor_get_type())
G_DECLARE_FINAL_TYPE(PbmPanelMonitor, pbm_panel_monitor, PBM, PANEL_MONITOR, GObject)

/* Signals:
 *   panel-added(PbmPanel *)               a serial seen for the first time
 *   panel-connected(PbmPanel *)           a panel (new or known) is attached
 *   probe-failed(gchar *location, GError *)  a device could not be used
 */

PbmPanelMonitor *pbm_panel_monitor_new(PbmClock *clock);

/* Watches USB for the given VID:PID pairs. Fails with
 * PBM_PANEL_ERROR_UNAVAILABLE when this machine has no usable USB; the
 * monitor then keeps working with simulated panels only. */
gboolean pbm_panel_monitor_add_usb(PbmPanelMonitor *self, const PbmUsbId *ids, guint n_ids,
                                   GError **error);
/* Plugs in a virtual panel (probed like a real one, asynchronously). */
PbmSimTransport *pbm_panel_monitor_add_sim(PbmPanelMonitor *self, const PbmSimConfig *config,
                                           GError **error);

/* PbmPanel *, in the order they were first seen. */
GPtrArray *pbm_panel_monitor_get_panels(PbmPanelMonitor *self);
PbmPanel *pbm_panel_monitor_find(PbmPanelMonitor *self, const gchar *serial);
/* Panels being opened or probed right now: pbmd says READY once there are
 * none (or after a bounded wait). */
guint pbm_panel_monitor_get_pending_probes(PbmPanelMonitor *self);
/* Switches every connected panel off and stops USB I/O (bounded wait). */
void pbm_panel_monitor_shutdown(PbmPanelMonitor *self);

G_END_DECLS
