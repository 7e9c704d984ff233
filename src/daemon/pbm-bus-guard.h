/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * PbmBusGuard: the bounds on what one client can make pbmd do, applied to
 * every method call as GDBus reads it, on GDBus's own thread, before any
 * of pbmd's code runs or any main loop sees it. A call that expects no
 * reply is dropped (every method of the contract has one, and such calls
 * escape the bus's own limit on pending replies); a call carrying file
 * descriptors, or whose arguments are larger than any valid call's, and a
 * call past its sender's or pbmd's limit of calls in flight, get an error
 * at once. A call is in flight from the moment it is read until pbmd sends
 * its reply, whichever thread sends it.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
	guint per_sender; /* calls in flight from one connection */
	guint total;      /* calls in flight from everyone; stopping is exempt */
	gsize max_body;   /* bytes of a call's arguments */
} PbmBusGuardLimits;

/* The limits pbmd runs with (pbmd(8), "LIMITS"). */
#define PBM_BUS_GUARD_PER_SENDER 16u
#define PBM_BUS_GUARD_TOTAL 256u
#define PBM_BUS_GUARD_MAX_BODY 16384u

typedef struct _PbmBusGuard PbmBusGuard;

PbmBusGuard *pbm_bus_guard_new(GDBusConnection *connection, const PbmBusGuardLimits *limits);
/* Stops guarding; calls still in flight are answered as usual. */
void pbm_bus_guard_free(PbmBusGuard *guard);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmBusGuard, pbm_bus_guard_free)

G_END_DECLS
