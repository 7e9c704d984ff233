/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * PbmExportHistory: GetHistory's queries, one at a time on a thread of
 * their own at a lower CPU priority (nice 10), through an SQLite
 * connection of their own that only reads, so that neither the safety
 * context nor the bus thread ever waits on a query, and many clients
 * asking at once share one core's spare time. How many may wait is
 * bounded by the bus guard.
 */
#pragma once

#include <gio/gio.h>

#include "pbm-history.h"

G_BEGIN_DECLS

typedef struct _PbmExportHistory PbmExportHistory;

PbmExportHistory *pbm_export_history_new(const gchar *path);
/* Replies to invocation with the rows (pbm_history_list(): owner_uid
 * PBM_HISTORY_ANY_OWNER or one user's), or Device naming the problem. */
void pbm_export_history_query(PbmExportHistory *self, GDBusMethodInvocation *invocation,
                              gint64 since, guint limit, gint64 owner_uid);
/* Answers what is queued, then ends the thread. */
void pbm_export_history_free(PbmExportHistory *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmExportHistory, pbm_export_history_free)

G_END_DECLS
