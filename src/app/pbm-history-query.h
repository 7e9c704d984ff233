/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every session since a moment, fetched through pbmd's paged GetHistory
 * one page at a time.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* rows: GVariant a{sv} of GetHistory, oldest first; NULL with error. */
typedef void (*PbmHistoryFunc)(GPtrArray *rows, const GError *error, gpointer user_data);

void pbm_history_query(GDBusProxy *manager, gint64 since_unix_us, GCancellable *cancel,
                       PbmHistoryFunc func, gpointer user_data);

G_END_DECLS
