/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * How a PbmPanel reaches its device: EP0 control transfers and a stream of
 * raw interrupt reports. Two implementations: `usb` (libusb) and `sim` (the
 * firmware model in-process). The panel above never knows which.
 */
#pragma once

#include <gio/gio.h>

#include "pbm-protocol.h"

G_BEGIN_DECLS

#define PBM_PANEL_ERROR (pbm_panel_error_quark())
GQuark pbm_panel_error_quark(void);

typedef enum {
	PBM_PANEL_ERROR_STALL,         /* the device refused the request */
	PBM_PANEL_ERROR_TIMEOUT,       /* the device did not answer in time */
	PBM_PANEL_ERROR_NO_DEVICE,     /* unplugged */
	PBM_PANEL_ERROR_PERMISSION,    /* cannot open the device node */
	PBM_PANEL_ERROR_BUSY,          /* another program has the device */
	PBM_PANEL_ERROR_IO,            /* any other transfer failure */
	PBM_PANEL_ERROR_PROTOCOL,      /* the device answered garbage */
	PBM_PANEL_ERROR_VERSION,       /* protocol major version mismatch */
	PBM_PANEL_ERROR_UNTRUSTED,     /* marked faulty earlier; replug it */
	PBM_PANEL_ERROR_NOT_CONNECTED, /* the panel is known but not plugged in */
	PBM_PANEL_ERROR_INVALID,       /* the request breaks a panel limit */
	PBM_PANEL_ERROR_UNAVAILABLE,   /* no USB on this machine */
} PbmPanelError;

/* Transfers get this long before they count as a timeout. */
#define PBM_TRANSPORT_TIMEOUT_MS 1000

#define PBM_TYPE_TRANSPORT (pbm_transport_get_type())
G_DECLARE_INTERFACE(PbmTransport, pbm_transport, PBM, TRANSPORT, GObject)

struct _PbmTransportInterface {
	GTypeInterface parent_iface;

	/* A vendor control transfer. For IN requests data is NULL and the
	 * result holds the reply; for OUT requests data holds setup->length
	 * bytes and the result is empty. */
	void (*control_async)(PbmTransport *self, const struct pbm_wire_setup *setup, GBytes *data,
	                      GCancellable *cancellable, GAsyncReadyCallback callback,
	                      gpointer user_data);
	GBytes *(*control_finish)(PbmTransport *self, GAsyncResult *result, GError **error);
	/* Begins delivering reports through the ::report signal. */
	void (*start)(PbmTransport *self);
	/* Stops all I/O; pending operations fail with G_IO_ERROR_CANCELLED. */
	void (*close)(PbmTransport *self);
	/* For logs: "usb 001/004", "sim". */
	const gchar *(*get_location)(PbmTransport *self);
};

/* Signals:
 *   report(GBytes *raw)   an interrupt report, not yet decoded
 *   disconnected()        the device is gone; emitted once
 *   failed(GError *error) the report stream stopped for another reason
 */

void pbm_transport_control_async(PbmTransport *self, const struct pbm_wire_setup *setup,
                                 GBytes *data, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
GBytes *pbm_transport_control_finish(PbmTransport *self, GAsyncResult *result, GError **error);
void pbm_transport_start(PbmTransport *self);
void pbm_transport_close(PbmTransport *self);
const gchar *pbm_transport_get_location(PbmTransport *self);

/* For implementations. */
void pbm_transport_emit_report(PbmTransport *self, GBytes *raw);
void pbm_transport_emit_disconnected(PbmTransport *self);
void pbm_transport_emit_failed(PbmTransport *self, const GError *error);

G_END_DECLS
