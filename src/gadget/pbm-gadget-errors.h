/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbm-gadget's error domain: what went wrong between the firmware model
 * and the board's kernel interfaces.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PBM_GADGET_ERROR (pbm_gadget_error_quark())
GQuark pbm_gadget_error_quark(void);

typedef enum {
	PBM_GADGET_ERROR_CONFIGFS, /* the gadget could not be made or bound in configfs */
	PBM_GADGET_ERROR_USB,      /* functionfs: descriptors, ep0, the endpoints */
	PBM_GADGET_ERROR_NO_UDC,   /* no (or no single) USB device controller */
	PBM_GADGET_ERROR_SENSOR,   /* a sensor or the stop button stopped answering */
} PbmGadgetError;

G_END_DECLS
