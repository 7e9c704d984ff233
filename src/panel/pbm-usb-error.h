/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libusb's error codes as PBM_PANEL_ERROR, each saying what to do about it;
 * shared by the USB context (opening) and the USB transport (transfers).
 */
#pragma once

#include "pbm-transport.h"

G_BEGIN_DECLS

/* libusb error code -> GError, naming the device node where it matters. */
GError *pbm_usb_error_new(gint libusb_error, const gchar *devnode, const gchar *what);

G_END_DECLS
