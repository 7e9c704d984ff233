/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-export-catalog.h"

#include "pbm-export-variant.h"

struct _PbmExportCatalog {
	guint profiles_serial; /* what it was made from */
	gconstpointer panel;   /* compared, never used */
	GVariant *list;        /* aa{sv} */
	GHashTable *by_name;   /* name -> a{sv} with steps */
	GHashTable *skipped;   /* name -> why its file was not loaded */
};

static GVariant *
profile_variant(PbmManager *manager, PbmProfile *profile, gboolean with_steps)
{
	PbmEstimate estimate;
	g_autoptr(GError) error = NULL;
	PbmPanel *panel = pbm_manager_get_estimate_panel(manager);
	gboolean known = pbm_manager_estimate(manager, profile, &estimate, &error);
	PbmExportEstimate e = {
		.panel = panel != NULL ? pbm_panel_get_serial(panel) : NULL,
		.estimate = known ? &estimate : NULL,
		.error = panel != NULL && !known ? error->message : NULL,
	};

	return pbm_export_profile_variant(profile, &e, with_steps);
}

PbmExportCatalog *
pbm_export_catalog_new(PbmManager *manager)
{
	PbmExportCatalog *self = g_atomic_rc_box_new0(PbmExportCatalog);
	PbmProfileStore *store = pbm_manager_get_profiles(manager);
	g_autoptr(GPtrArray) profiles = pbm_profile_store_list(store);
	GVariantBuilder b;
	GHashTableIter iter;
	gpointer name, why;

	self->profiles_serial = pbm_manager_get_profiles_serial(manager);
	self->panel = pbm_manager_get_estimate_panel(manager);
	self->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	                                      (GDestroyNotify)g_variant_unref);
	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < profiles->len; i++) {
		PbmProfile *p = g_ptr_array_index(profiles, i);
		g_variant_builder_add_value(&b, profile_variant(manager, p, FALSE));
		g_hash_table_insert(self->by_name, g_strdup(p->name),
		                    g_variant_ref_sink(profile_variant(manager, p, TRUE)));
	}
	self->list = g_variant_ref_sink(g_variant_builder_end(&b));
	self->skipped = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_hash_table_iter_init(&iter, pbm_profile_store_get_skipped(store));
	while (g_hash_table_iter_next(&iter, &name, &why))
		g_hash_table_insert(self->skipped, g_strdup(name),
		                    g_strdup(((const GError *)why)->message));
	return self;
}

PbmExportCatalog *
pbm_export_catalog_ref(PbmExportCatalog *self)
{
	return g_atomic_rc_box_acquire(self);
}

static void
catalog_clear(PbmExportCatalog *self)
{
	g_variant_unref(self->list);
	g_hash_table_unref(self->by_name);
	g_hash_table_unref(self->skipped);
}

void
pbm_export_catalog_unref(PbmExportCatalog *self)
{
	g_atomic_rc_box_release_full(self, (GDestroyNotify)catalog_clear);
}

gboolean
pbm_export_catalog_is_for(PbmExportCatalog *self, PbmManager *manager)
{
	return self->profiles_serial == pbm_manager_get_profiles_serial(manager) &&
	       self->panel == (gconstpointer)pbm_manager_get_estimate_panel(manager);
}

GVariant *
pbm_export_catalog_list(PbmExportCatalog *self)
{
	return g_variant_ref(self->list);
}

GVariant *
pbm_export_catalog_lookup(PbmExportCatalog *self, const gchar *name, GError **error)
{
	GVariant *profile = g_hash_table_lookup(self->by_name, name);

	if (profile == NULL) {
		pbm_manager_no_such_profile(name, g_hash_table_lookup(self->skipped, name), error);
		return NULL;
	}
	return g_variant_ref(profile);
}
