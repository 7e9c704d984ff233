/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The D-Bus face of the Manager: exports /org/pbmd (its methods are
 * pbm-export-manager.c's), one object per panel (pbm-export-panel.c) and
 * one for the current or last session (pbm-export-session.c), emits
 * SessionStarted and SessionFinished, and keeps properties in step with
 * PropertiesChanged (progress and telemetry at most once a second, nothing
 * while idle).
 */
#pragma once

#include "pbm-manager.h"
#include "pbm-names.h"

G_BEGIN_DECLS

#define PBM_TYPE_EXPORTER (pbm_exporter_get_type())
G_DECLARE_FINAL_TYPE(PbmExporter, pbm_exporter, PBM, EXPORTER, GObject)

/* Serves the manager on connection from a bus thread of its own
 * (pbm-bus-thread.h); GetHistory reads history_path there. */
PbmExporter *pbm_exporter_new(PbmManager *manager, GDBusConnection *connection,
                              const gchar *history_path, GError **error);

G_END_DECLS
