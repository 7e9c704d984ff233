/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Methods that need a right: the caller is authorized first, then the
 * method runs. The methods that act on the active session or on the daemon
 * as a whole, with no argument and no reply, are one table that gives each
 * its right and what it runs; StartSession, Identify and ClearFault, which
 * take arguments or wait on a panel, authorize through
 * pbm_export_authorize() with a callback of their own.
 */
#pragma once

#include "pbm-auth.h"
#include "pbm-manager.h"

G_BEGIN_DECLS

typedef enum {
	PBM_CONTROL_STOP,
	PBM_CONTROL_PAUSE,
	PBM_CONTROL_RESUME,
	PBM_CONTROL_RELOAD,
} PbmControl;

/* Authorizes the caller for control, then runs it and replies. session:
 * the Session object's own session, which must still be the active one;
 * NULL for the Manager's methods. */
void pbm_export_control_invoke(PbmControl control, PbmManager *manager, PbmSession *session,
                               GDBusMethodInvocation *invocation);

/* The caller of invocation, checked for action against the manager's
 * control group. */
void pbm_export_authorize(PbmManager *manager, GDBusMethodInvocation *invocation,
                          PbmAuthAction action, GAsyncReadyCallback callback, gpointer user_data);
/* FALSE when refused, after returning the refusal to invocation. */
gboolean pbm_export_authorize_finish(GDBusMethodInvocation *invocation, GAsyncResult *result,
                                     guint32 *uid);

G_END_DECLS
