/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The USB gadget in configfs: the device identity of pbmd-protocol(7)
 * (VID 0x1209, the configured PID and strings, full speed) with one
 * FunctionFS function, its functionfs mount, and the binding to the
 * board's USB device controller (UDC). Binding is plugging the panel in;
 * unbinding is pulling the cable.
 */
#pragma once

#include <glib.h>

#include "pbm-gadget-config.h"

G_BEGIN_DECLS

typedef struct {
	const gchar *configfs;  /* where configfs is mounted: /sys/kernel/config */
	const gchar *udc_class; /* the UDCs: /sys/class/udc */
	const gchar *mount_dir; /* where the function's functionfs goes */
	const gchar *name;      /* the gadget's directory name */
} PbmGadgetConfigfsPaths;

typedef struct _PbmGadgetConfigfs PbmGadgetConfigfs;

/* Removes what a killed pbm-gadget left of the same gadget, then creates
 * it and mounts its functionfs at paths->mount_dir. */
PbmGadgetConfigfs *pbm_gadget_configfs_new(const PbmGadgetConfigfsPaths *paths,
                                           const PbmGadgetConfig *config, GError **error);
/* After the function's descriptors are written: config->udc, or the only
 * UDC of the board. */
gboolean pbm_gadget_configfs_bind(PbmGadgetConfigfs *gadget, GError **error);
const gchar *pbm_gadget_configfs_udc(PbmGadgetConfigfs *gadget);
void pbm_gadget_configfs_unbind(PbmGadgetConfigfs *gadget);
/* Unbinds, unmounts and removes the gadget. */
void pbm_gadget_configfs_free(PbmGadgetConfigfs *gadget);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmGadgetConfigfs, pbm_gadget_configfs_free)

G_END_DECLS
