/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * PbmExportCatalog: the profiles as ListProfiles and GetProfile give them,
 * with their estimates on the panel they would run on, made once on the
 * safety context whenever the profiles or that panel change, and read as
 * they are (immutable, reference-counted) on the bus thread, so that
 * listing profiles never takes the safety context's time.
 */
#pragma once

#include "pbm-manager.h"

G_BEGIN_DECLS

typedef struct _PbmExportCatalog PbmExportCatalog;

PbmExportCatalog *pbm_export_catalog_new(PbmManager *manager);
PbmExportCatalog *pbm_export_catalog_ref(PbmExportCatalog *self);
void pbm_export_catalog_unref(PbmExportCatalog *self);
/* Whether it was made from the manager's profiles and estimate panel as
 * they are now (safety context). */
gboolean pbm_export_catalog_is_for(PbmExportCatalog *self, PbmManager *manager);

/* ListProfiles' aa{sv} (a new reference). */
GVariant *pbm_export_catalog_list(PbmExportCatalog *self);
/* GetProfile's a{sv} (a new reference), or NoSuchProfile. */
GVariant *pbm_export_catalog_lookup(PbmExportCatalog *self, const gchar *name, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmExportCatalog, pbm_export_catalog_unref)

G_END_DECLS
