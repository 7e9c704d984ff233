/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The panels pbmd sees, one row each: model, serial, connection,
 * temperature, faults.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

GtkWidget *pbm_panel_list_new(void);
/* panels: PbmDBusPanel proxies */
void pbm_panel_list_update(GtkWidget *list, GPtrArray *panels, gboolean daemon_up);

G_END_DECLS
