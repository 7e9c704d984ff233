/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The history page: the daily dose per band over the last 30 days against
 * the daily caps, and the sessions of a chosen day.
 */
#pragma once

#include <adwaita.h>

#include "pbm-client.h"

G_BEGIN_DECLS

#define PBM_TYPE_HISTORY_PAGE (pbm_history_page_get_type())
G_DECLARE_FINAL_TYPE(PbmHistoryPage, pbm_history_page, PBM, HISTORY_PAGE, AdwBin)

GtkWidget *pbm_history_page_new(PbmClient *client);

G_END_DECLS
