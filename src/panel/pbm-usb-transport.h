/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * PbmUsbTransport: one opened panel on libusb. Control requests are async
 * control transfers on EP0; reports come from an interrupt IN transfer that
 * is resubmitted as long as the transport runs. PbmUsbContext creates these
 * and tells them when their device leaves; nothing else constructs one.
 */
#pragma once

#include "pbm-transport.h"

G_BEGIN_DECLS

/* libusb's structs by tag, so that this header does not bring libusb.h to
 * the rooms above the panel. */
struct libusb_device;
struct libusb_device_handle;

#define PBM_TYPE_USB_TRANSPORT (pbm_usb_transport_get_type())
G_DECLARE_FINAL_TYPE(PbmUsbTransport, pbm_usb_transport, PBM, USB_TRANSPORT, GObject)

/* Takes the opened handle, whose panel interface is claimed; reports come
 * on the interrupt IN endpoint at report_endpoint. */
PbmUsbTransport *pbm_usb_transport_new(struct libusb_device *device,
                                       struct libusb_device_handle *handle, const gchar *devnode,
                                       guint8 report_endpoint);
struct libusb_device *pbm_usb_transport_get_device(PbmUsbTransport *self);
/* The device left (hotplug): emits "disconnected" unless already closed. */
void pbm_usb_transport_mark_gone(PbmUsbTransport *self);
/* TRUE while a transfer's callback has not run yet. */
gboolean pbm_usb_transport_is_busy(PbmUsbTransport *self);
/* Unplugged, or its transfers failed as if it were. */
gboolean pbm_usb_transport_is_gone(PbmUsbTransport *self);
/* Closes the handle once no transfer is in flight; not from inside a libusb
 * callback, where libusb_close() deadlocks. */
void pbm_usb_transport_release(PbmUsbTransport *self);

G_END_DECLS
