/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The main window: pbmd's state on top, the therapy and history pages.
 */
#pragma once

#include <adwaita.h>

#include "pbm-client.h"

G_BEGIN_DECLS

#define PBM_TYPE_WINDOW (pbm_window_get_type())
G_DECLARE_FINAL_TYPE(PbmWindow, pbm_window, PBM, WINDOW, AdwApplicationWindow)

GtkWidget *pbm_window_new(AdwApplication *app, PbmClient *client);

G_END_DECLS
