/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libusb on the GLib main loop. PbmUsbContext owns the
 * libusb context, turns its file descriptors into a GSource (libusb runs only
 * when one of them is ready: no polling timer, no busy loop), watches hotplug
 * for the configured VID:PID pairs, and hands out one PbmUsbTransport per
 * opened panel. Nothing above src/panel/ sees libusb.
 */
#pragma once

#include "pbm-usb-transport.h"

G_BEGIN_DECLS

typedef struct {
	guint16 vid;
	guint16 pid;
} PbmUsbId;

#define PBM_TYPE_USB_CONTEXT (pbm_usb_context_get_type())
G_DECLARE_FINAL_TYPE(PbmUsbContext, pbm_usb_context, PBM, USB_CONTEXT, GObject)

/* Fails with PBM_PANEL_ERROR_UNAVAILABLE when libusb cannot initialise
 * (no USB support on this machine). */
PbmUsbContext *pbm_usb_context_new(const PbmUsbId *ids, guint n_ids, GError **error);
/* Registers for hotplug (devices already present are reported too) and
 * starts opening matching devices. Signals:
 *   device-added(PbmUsbTransport *)  a matching device was opened and claimed
 *   device-error(GError *)           a matching device could not be used
 */
void pbm_usb_context_start(PbmUsbContext *self);
/* Matching devices that have arrived but are not opened yet: libusb reports
 * them from its hotplug callback, and they are opened on the next main loop
 * iteration. */
guint pbm_usb_context_get_pending_arrivals(PbmUsbContext *self);
/* Finishes pending transfers before the context goes (bounded wait). */
void pbm_usb_context_shutdown(PbmUsbContext *self);

G_END_DECLS
