/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Who may do what. Reading the live state is open to everyone. Switching
 * light on (start, resume, identify) is allowed to root, to members of the
 * control group (cron jobs, timers, scripts) and through polkit
 * org.pbmd.control; stopping and pausing to them and through polkit
 * org.pbmd.stop; a session's own user stops, pauses and resumes it without
 * being asked (the owner a caller passes as); administration (clear faults, reload) to root and
 * through polkit org.pbmd.admin; reading every user's history to root, the
 * control group and through polkit org.pbmd.read-history (anyone reads
 * their own). polkit is asked over D-Bus, asynchronously, with user
 * interaction only when the caller's message allows it
 * (ALLOW_INTERACTIVE_AUTHORIZATION) and never to read; without polkit on
 * the bus only root and the group pass.
 *
 * polkit checks are bounded: PBM_AUTH_CHECKS_PER_SENDER waiting at once
 * for one client and PBM_AUTH_CHECKS_TOTAL for everyone (below the bus's
 * own limit on pbmd's pending calls, so that one user's checks left open
 * cannot make polkit unreachable for others), and each is cancelled at
 * polkit after PBM_AUTH_TIMEOUT_MS (interactive: PBM_AUTH_INTERACTIVE_TIMEOUT_MS).
 * Every way a check fails has its own text.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
	PBM_AUTH_CONTROL,
	PBM_AUTH_STOP,
	PBM_AUTH_ADMIN,
	PBM_AUTH_READ_HISTORY,
} PbmAuthAction;

#define PBM_AUTH_GROUP "pbmd-users"
/* owner: no user passes by owning what the call acts on */
#define PBM_AUTH_NO_OWNER ((gint64)-1)
#define PBM_AUTH_CHECKS_PER_SENDER 4u
#define PBM_AUTH_CHECKS_TOTAL 64u
#define PBM_AUTH_TIMEOUT_MS 5000
/* what the system bus gives a caller to wait for pbmd's reply */
#define PBM_AUTH_INTERACTIVE_TIMEOUT_MS 25000

/* group: its members pass for every action but PBM_AUTH_ADMIN (pbmd.conf
 * control_group). owner: the uid that passes without polkit, being the
 * owner of the session the call acts on, or PBM_AUTH_NO_OWNER. */
void pbm_auth_check_async(GDBusMethodInvocation *invocation, PbmAuthAction action,
                          const gchar *group, gint64 owner, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data);
/* On success *uid is the caller's; failure is org.pbmd1.Error.NotAuthorized
 * saying which group or action would grant it, or Busy past the limits.
 * *uid is also set on a refusal when the caller's user is known, and left
 * alone when it is not. */
gboolean pbm_auth_check_finish(GAsyncResult *result, guint32 *uid, GError **error);

G_END_DECLS
