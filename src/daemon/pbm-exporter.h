/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The D-Bus face of the Manager: exports /org/pbmd, one object per panel
 * and one for the current session, checks every argument and every
 * caller, and keeps properties in step with PropertiesChanged (progress
 * and telemetry at most once a second, nothing while idle).
 */
#pragma once

#include "pbm-manager.h"
#include "pbm-names.h"

G_BEGIN_DECLS

#define PBM_TYPE_EXPORTER (pbm_exporter_get_type())
G_DECLARE_FINAL_TYPE(PbmExporter, pbm_exporter, PBM, EXPORTER, GObject)

PbmExporter *pbm_exporter_new(PbmManager *manager, GDBusConnection *connection, GError **error);
/* "/org/pbmd/panel/SIM_2d0001": characters outside A-Z a-z 0-9 as _xx. */
gchar *pbm_exporter_panel_path(const gchar *serial);

G_END_DECLS
