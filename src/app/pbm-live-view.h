/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The live session: progress, step, time left, dose so far, warnings, and
 * at the end the outcome. It shows whatever session pbmd runs, also one
 * started by pbmctl or a timer.
 */
#pragma once

#include <adwaita.h>

#include "pbm-client.h"

G_BEGIN_DECLS

#define PBM_TYPE_LIVE_VIEW (pbm_live_view_get_type())
G_DECLARE_FINAL_TYPE(PbmLiveView, pbm_live_view, PBM, LIVE_VIEW, AdwBin)

GtkWidget *pbm_live_view_new(void);
void pbm_live_view_update(PbmLiveView *self, PbmClient *client);

G_END_DECLS
