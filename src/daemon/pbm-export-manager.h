/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The methods of org.pbmd1.Manager: each has a handler of its own that
 * checks its arguments, authorizes the caller where a right is needed and
 * hands the request to the PbmManager. Its properties and signals are the
 * exporter's.
 */
#pragma once

#include "pbm-dbus-generated.h"
#include "pbm-export-control.h"

G_BEGIN_DECLS

/* On the bus thread; skeleton must not outlive shared. */
void pbm_export_manager_connect(PbmDBusManager *skeleton, PbmExportShared *shared);

G_END_DECLS
