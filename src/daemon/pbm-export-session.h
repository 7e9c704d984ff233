/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One session on the bus: PBM_DBUS_PATH_SESSION/<id>, org.pbmd1.Session,
 * with its properties and its Stop, Pause and Resume. The object holds its
 * session, so that it stays readable after the session has finished, until
 * the exporter replaces it with the next one.
 */
#pragma once

#include "pbm-export-control.h"

G_BEGIN_DECLS

typedef struct _PbmExportSession PbmExportSession;

/* "/org/pbmd/session/<id>" */
gchar *pbm_export_session_path(PbmSession *session);

/* Made on the safety context, exported on the bus thread. */
PbmExportSession *pbm_export_session_new(PbmExportShared *shared, PbmSession *session);
/* Unexported on the bus thread, then freed on the safety context. */
/* Unexports the object. */
void pbm_export_session_free(PbmExportSession *self);
PbmSession *pbm_export_session_get_session(PbmExportSession *self);
/* State, outcome, reason and step. */
void pbm_export_session_update_state(PbmExportSession *self);
/* Elapsed, remaining, progress and dose: the caller paces them. */
void pbm_export_session_update_progress(PbmExportSession *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmExportSession, pbm_export_session_free)

G_END_DECLS
