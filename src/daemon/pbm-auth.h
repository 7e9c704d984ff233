/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Who may do what. Reading is open to everyone. Control (start, stop,
 * pause, resume, identify) is allowed to root, to members of the pbmd group
 * (cron jobs, timers, scripts) and through polkit org.pbmd.control;
 * administration (clear faults, reload) to root and through polkit
 * org.pbmd.admin. polkit is asked over D-Bus, asynchronously; without
 * polkit on the bus only root and the group pass.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
	PBM_AUTH_CONTROL,
	PBM_AUTH_ADMIN,
} PbmAuthAction;

#define PBM_AUTH_GROUP "pbmd"

/* group: its members pass for PBM_AUTH_CONTROL (pbmd.conf control_group). */
void pbm_auth_check_async(GDBusMethodInvocation *invocation, PbmAuthAction action,
                          const gchar *group, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data);
/* On success *uid is the caller's; failure is org.pbmd1.Error.NotAuthorized
 * saying which group or action would grant it. */
gboolean pbm_auth_check_finish(GAsyncResult *result, guint32 *uid, GError **error);

G_END_DECLS
