/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One panel on the bus: PBM_DBUS_PATH_PANEL/<serial>, org.pbmd1.Panel,
 * with its identity, state and telemetry, and its Identify and ClearFault.
 */
#pragma once

#include "pbm-export-control.h"

G_BEGIN_DECLS

typedef struct _PbmExportPanel PbmExportPanel;

/* "/org/pbmd/panel/SIM_2d0001": characters outside A-Z a-z 0-9 as _xx. */
gchar *pbm_export_panel_path(const gchar *serial);

/* Made on the safety context, exported on the bus thread. */
PbmExportPanel *pbm_export_panel_new(PbmExportShared *shared, PbmPanel *panel);
/* Unexported on the bus thread, then freed on the safety context. */
/* Unexports the object. */
void pbm_export_panel_free(PbmExportPanel *self);
/* Identity (once connected), state, faults and telemetry. */
void pbm_export_panel_update(PbmExportPanel *self);
/* Levels, pulse, temperature and fan: the caller paces them. */
void pbm_export_panel_update_telemetry(PbmExportPanel *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmExportPanel, pbm_export_panel_free)

G_END_DECLS
