/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmd's log: the journal with structured fields and MESSAGE_IDs (see
 * data/pbmd.catalog) when stderr goes to journald, plain stderr otherwise.
 * Each event is one line, written here by the daemon; the rooms below only
 * signal it, so that nothing is logged twice.
 */
#pragma once

#include "pbm-panel.h"
#include "pbm-session.h"

G_BEGIN_DECLS

#define PBM_MESSAGE_SESSION_STARTED "6fa9d0792d6a483da672bbffaafdbfa9"
#define PBM_MESSAGE_SESSION_FINISHED "82d8d7fff71b435685cff6be7f6533e4"
#define PBM_MESSAGE_SESSION_REFUSED "db4a811bfcef4a9f989c1645cceda95c"
#define PBM_MESSAGE_PANEL_FAULT "fd329b1e77ad4e4d85a6ba9b8f42e7f4"
#define PBM_MESSAGE_PANEL_CONNECTED "51feef34298849399fe823e60c865bce"
#define PBM_MESSAGE_PANEL_DISCONNECTED "b467fd2177ec4c4899268474a6e6c867"

/* Installs the log writer; verbose shows debug messages too. */
void pbm_log_setup(gboolean verbose);

void pbm_log_session_started(PbmSession *session);
void pbm_log_session_finished(PbmSession *session);
void pbm_log_session_refused(const gchar *profile, const gchar *reason);
void pbm_log_panel_fault(PbmPanel *panel);
void pbm_log_panel_connected(PbmPanel *panel);
void pbm_log_panel_disconnected(PbmPanel *panel);

G_END_DECLS
