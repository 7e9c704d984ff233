/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * PbmExportHistory: GetHistory's queries, one at a time on a thread of
 * their own at a lower CPU priority (nice 10), through an SQLite
 * connection of their own that only reads, so that neither the safety
 * context nor the bus thread ever waits on a query, and many clients
 * asking at once share one core's spare time. At most
 * PBM_EXPORT_HISTORY_PER_USER queries of one user wait at a time, however
 * many connections they open (the bus guard counts per connection), so
 * that one user's flood of queries and their replies cannot crowd the bus.
 */
#pragma once

#include <gio/gio.h>

#include "pbm-history.h"

G_BEGIN_DECLS

typedef struct _PbmExportHistory PbmExportHistory;

#define PBM_EXPORT_HISTORY_PER_USER 4u
/* GetHistory calls of one client (connection) in progress at once,
 * counted before the caller is even identified, so that a flood costs pbmd
 * and the bus no credentials lookups. */
#define PBM_EXPORT_HISTORY_PER_CLIENT 2u

/* On the bus thread, as a GetHistory call arrives: TRUE, and the call takes
 * one of its client's places, or FALSE, having replied Busy. The place is
 * given back by pbm_export_history_query() once answered, or by
 * pbm_export_history_dismiss() if the call ends before a query. */
gboolean pbm_export_history_admit(PbmExportHistory *self, GDBusMethodInvocation *invocation);
void pbm_export_history_dismiss(PbmExportHistory *self, GDBusMethodInvocation *invocation);

PbmExportHistory *pbm_export_history_new(const gchar *path);
/* For an admitted invocation: replies with the rows (pbm_history_list(): owner_uid
 * PBM_HISTORY_ANY_OWNER or one user's), Device naming the problem, or Busy
 * when caller_uid has PBM_EXPORT_HISTORY_PER_USER queries waiting. */
void pbm_export_history_query(PbmExportHistory *self, GDBusMethodInvocation *invocation,
                              gint64 since, guint limit, gint64 owner_uid, guint32 caller_uid);
/* Answers what is queued, then ends the thread. */
void pbm_export_history_free(PbmExportHistory *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmExportHistory, pbm_export_history_free)

G_END_DECLS
