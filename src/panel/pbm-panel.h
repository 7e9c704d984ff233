/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * PbmPanel: one physical (or virtual) panel, the only thing the session
 * engine talks to. It outlives its transport: when the cable is pulled the
 * panel stays, disconnected, and a replug of the same serial attaches a new
 * transport to the same object.
 */
#pragma once

#include <gio/gio.h>

#include "pbm-protocol.h"
#include "pbm-transport.h"

G_BEGIN_DECLS

typedef enum {
	PBM_PANEL_STATE_DISCONNECTED,
	PBM_PANEL_STATE_IDLE,
	PBM_PANEL_STATE_LIT,
	PBM_PANEL_STATE_FAULT,  /* the device latched a fault */
	PBM_PANEL_STATE_FAULTY, /* the device answered garbage: not trusted */
} PbmPanelState;

const gchar *pbm_panel_state_to_string(PbmPanelState state);

#define PBM_TYPE_PANEL (pbm_panel_get_type())
G_DECLARE_FINAL_TYPE(PbmPanel, pbm_panel, PBM, PANEL, GObject)

/* Signals:
 *   report(gconstpointer PbmReport *)   every telemetry report, decoded
 *   events(guint events, gconstpointer PbmStatus *)   a report carried events
 *   status(gconstpointer PbmStatus *)   a new status, from a report or a refresh
 *   disconnected()                      the transport went away
 *   faulty(GError *)                    the device answered garbage
 * Properties (notify): "state", "connected".
 */

/* Reads device info and the channel table from a transport. */
void pbm_panel_probe_async(PbmTransport *transport, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
gboolean pbm_panel_probe_finish(GAsyncResult *result, PbmInfo *info,
                                PbmChannel channels[PBM_MAX_CHANNELS], GError **error);

PbmPanel *pbm_panel_new(const PbmInfo *info, const PbmChannel *channels);
/* Connects the panel to a probed transport and starts its telemetry. The
 * serial must match; the rest of the info may have changed (new firmware). */
gboolean pbm_panel_attach(PbmPanel *self, PbmTransport *transport, const PbmInfo *info,
                          const PbmChannel *channels, GError **error);
/* Drops the transport (unplug); the panel becomes disconnected. */
void pbm_panel_detach(PbmPanel *self);

const gchar *pbm_panel_get_serial(PbmPanel *self);
const PbmInfo *pbm_panel_get_info(PbmPanel *self);
const PbmChannel *pbm_panel_get_channels(PbmPanel *self);
guint pbm_panel_get_channel_count(PbmPanel *self);
/* The last status the device reported; NULL before the first. */
const PbmStatus *pbm_panel_get_status(PbmPanel *self);
PbmPanelState pbm_panel_get_state(PbmPanel *self);
gboolean pbm_panel_is_connected(PbmPanel *self);
/* Where the panel is attached ("usb 001/004", "sim:SERIAL"), or NULL. */
const gchar *pbm_panel_get_location(PbmPanel *self);
/* Why the panel is not trusted, or NULL. */
const GError *pbm_panel_get_faulty_reason(PbmPanel *self);

/* Refused before sending when it breaks the panel's limits (INVALID). With
 * a panel of protocol 1.1 or later it completes only once GET_RESULT says
 * the panel took this very request: a refusal the panel could not STALL,
 * or a count that did not go up by exactly one, fails as a STALL does
 * (PBM_PANEL_ERROR_STALL), naming the panel's reason. */
void pbm_panel_set_output_async(PbmPanel *self, const PbmOutput *output, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
gboolean pbm_panel_set_output_finish(PbmPanel *self, GAsyncResult *result, GError **error);
/* Switches every output off and disarms the watchdog. Attempted even on an
 * untrusted panel: turning light off is always allowed. */
void pbm_panel_all_off_async(PbmPanel *self, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
gboolean pbm_panel_all_off_finish(PbmPanel *self, GAsyncResult *result, GError **error);
void pbm_panel_heartbeat_async(PbmPanel *self, guint timeout_ms, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
gboolean pbm_panel_heartbeat_finish(PbmPanel *self, GAsyncResult *result, GError **error);
/* Completes once the status has been read again: pbm_panel_get_status()
 * then tells whether the fault is gone (CLEAR_FAULT keeps a fault whose
 * cause is still there). */
void pbm_panel_clear_fault_async(PbmPanel *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
gboolean pbm_panel_clear_fault_finish(PbmPanel *self, GAsyncResult *result, GError **error);
void pbm_panel_identify_async(PbmPanel *self, guint seconds, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
gboolean pbm_panel_identify_finish(PbmPanel *self, GAsyncResult *result, GError **error);

G_END_DECLS
