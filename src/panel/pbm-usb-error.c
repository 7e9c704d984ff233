/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-usb-error.h"

#include <libusb.h>

GError *
pbm_usb_error_new(gint code, const gchar *devnode, const gchar *what)
{
	switch (code) {
	case LIBUSB_ERROR_ACCESS:
		return g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_PERMISSION,
		                   "%s: permission denied on %s; install the pbmd udev rule "
		                   "(70-pbmd.rules) and run pbmd as the user pbmd (pbmd.service)",
		                   what, devnode);
	case LIBUSB_ERROR_NO_DEVICE:
	case LIBUSB_ERROR_NOT_FOUND:
		return g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_NO_DEVICE,
		                   "%s: %s is gone (unplugged)", what, devnode);
	case LIBUSB_ERROR_BUSY:
		return g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_BUSY,
		                   "%s: %s is claimed by another program; stop it and replug "
		                   "the panel",
		                   what, devnode);
	case LIBUSB_ERROR_TIMEOUT:
		return g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_TIMEOUT,
		                   "%s: %s did not answer in time", what, devnode);
	case LIBUSB_ERROR_PIPE:
		return g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_STALL,
		                   "%s: %s refused the request (STALL)", what, devnode);
	default:
		return g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_IO, "%s: %s: %s", what, devnode,
		                   libusb_strerror(code));
	}
}
