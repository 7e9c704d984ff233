/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The therapy page: the panels, the profiles with what each gives at the
 * chosen distance, the distance, the goggles acknowledgement, Start,
 * Pause, Resume and Stop, and the live session below them.
 */
#pragma once

#include <adwaita.h>

#include "pbm-client.h"

G_BEGIN_DECLS

#define PBM_TYPE_THERAPY_PAGE (pbm_therapy_page_get_type())
G_DECLARE_FINAL_TYPE(PbmTherapyPage, pbm_therapy_page, PBM, THERAPY_PAGE, AdwBin)

GtkWidget *pbm_therapy_page_new(PbmClient *client);

G_END_DECLS
