/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The panel's USB function through FunctionFS: writes the descriptors of
 * pbmd-protocol(7) to ep0, turns ep0's events into calls of the handlers
 * in the GLib main loop, and sends interrupt reports on the IN endpoint
 * from a thread of its own (a write there blocks until the host polls).
 */
#pragma once

#include <gio/gio.h>

#include "pbm-protocol.h"

G_BEGIN_DECLS

typedef enum {
	PBM_GADGET_LINK_DOWN,      /* unbound, disabled or reset: no host */
	PBM_GADGET_LINK_UP,        /* configured by a host: reports flow */
	PBM_GADGET_LINK_SUSPENDED, /* the host suspended the bus */
} PbmGadgetLink;

typedef struct {
	/* A vendor request for interface 0. data holds setup->length bytes: the
	 * OUT data stage already received, or room for the IN reply. Returns
	 * FALSE to STALL (possible for IN and data-less OUT requests only:
	 * FunctionFS has acknowledged an OUT data stage before the function
	 * sees it). */
	gboolean (*control)(const struct pbm_wire_setup *setup, guint8 *data, gsize *actual,
	                    gpointer user_data);
	void (*link_changed)(PbmGadgetLink link, gpointer user_data);
} PbmGadgetFfsHandlers;

/* ep0 failed: the function is gone for good, and pbm-gadget must start
 * again (its unit restarts it). */
typedef void (*PbmGadgetFfsFailedFunc)(const GError *error, gpointer user_data);

typedef struct _PbmGadgetFfs PbmGadgetFfs;

/* mount_dir is where the function's functionfs instance is mounted. */
PbmGadgetFfs *pbm_gadget_ffs_new(const gchar *mount_dir, const gchar *interface_name,
                                 const PbmGadgetFfsHandlers *handlers, gpointer user_data,
                                 GError **error);
void pbm_gadget_ffs_free(PbmGadgetFfs *ffs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmGadgetFfs, pbm_gadget_ffs_free)

void pbm_gadget_ffs_set_failed_func(PbmGadgetFfs *ffs, PbmGadgetFfsFailedFunc func,
                                    gpointer user_data);
/* Queues one report for the host; dropped (the host sees a gap in the
 * sequence numbers) while no host is configured or too many wait. */
void pbm_gadget_ffs_send(PbmGadgetFfs *ffs, const guint8 *report, gsize len);

G_END_DECLS
