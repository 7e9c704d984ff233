/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Asking polkit, bounded (pbm-auth.h gives the limits): at most
 * PBM_AUTH_CHECKS_PER_SENDER checks waiting for one caller and
 * PBM_AUTH_CHECKS_TOTAL for all, each with a timeout after which polkit is
 * told to cancel it (so its authentication dialog goes away too).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Whether sender may do action_id. interactive: polkit may ask the user. */
void pbm_polkit_check_async(GDBusConnection *connection, const gchar *sender,
                            const gchar *action_id, gboolean interactive,
                            GAsyncReadyCallback callback, gpointer user_data);
/* TRUE: authorized. FALSE: error is PBM_DBUS_ERROR_BUSY past the limits,
 * else PBM_DBUS_ERROR_NOT_AUTHORIZED whose message is why, in a few words
 * (polkit said no, is not running, did not answer, the user dismissed the
 * dialog, or it needed one the call did not allow). */
gboolean pbm_polkit_check_finish(GAsyncResult *result, GError **error);

G_END_DECLS
