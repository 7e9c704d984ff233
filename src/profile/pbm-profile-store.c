/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-profile-store.h"

#include <string.h>

struct _PbmProfileStore {
	GHashTable *profiles; /* name -> PbmProfile */
	GHashTable *taken;    /* name -> path of the file that claimed it */
	GPtrArray *problems;  /* GError * */
	GHashTable *skipped;  /* name -> its GError in problems */
	GPtrArray *notes;     /* gchar * */
	PbmFileTrust trust;
};

static gint
compare_strings(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

static void
load_file(PbmProfileStore *store, const gchar *dir, const gchar *file)
{
	g_autofree gchar *path = g_build_filename(dir, file, NULL);
	g_autofree gchar *name = g_strndup(file, strlen(file) - strlen(".conf"));
	const gchar *owner = g_hash_table_lookup(store->taken, name);
	GError *error = NULL;
	PbmProfile *profile = NULL;

	if (owner != NULL) {
		g_ptr_array_add(store->notes,
		                g_strdup_printf("%s is overridden by %s", path, owner));
		return;
	}
	if (!pbm_profile_name_is_valid(name)) {
		g_ptr_array_add(store->problems,
		                g_error_new(PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_NAME,
		                            "%s: file name \"%s\" is not a valid profile name; use "
		                            "a-z, 0-9 and '-' followed by .conf",
		                            path, file));
		return;
	}
	g_hash_table_insert(store->taken, g_strdup(name), g_strdup(path));
	if (!pbm_file_trust_check(&store->trust, path, &error) ||
	    (profile = pbm_profile_load(path, &error)) == NULL) {
		g_ptr_array_add(store->problems, error);
		g_hash_table_insert(store->skipped, g_strdup(name), error);
		return;
	}
	g_hash_table_insert(store->profiles, g_strdup(name), profile);
}

static void
load_dir(PbmProfileStore *store, const gchar *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
	const gchar *file;
	GError *error = NULL;

	if (d == NULL)
		return;
	if (!pbm_file_trust_check(&store->trust, dir, &error)) {
		g_ptr_array_add(store->problems, error);
		return;
	}
	while ((file = g_dir_read_name(d)) != NULL) {
		if (g_str_has_suffix(file, ".conf") && file[0] != '.')
			g_ptr_array_add(files, g_strdup(file));
	}
	g_ptr_array_sort(files, compare_strings);
	for (guint i = 0; i < files->len; i++)
		load_file(store, dir, g_ptr_array_index(files, i));
}

PbmProfileStore *
pbm_profile_store_load(const gchar *const *dirs, const PbmFileTrust *trust)
{
	PbmProfileStore *store = g_new0(PbmProfileStore, 1);

	if (trust != NULL)
		store->trust = *trust;
	else
		pbm_file_trust_init(&store->trust);

	store->profiles = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	                                        (GDestroyNotify)pbm_profile_unref);
	store->taken = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	store->skipped = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	store->problems = g_ptr_array_new_with_free_func((GDestroyNotify)g_error_free);
	store->notes = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; dirs != NULL && dirs[i] != NULL; i++)
		load_dir(store, dirs[i]);
	return store;
}

void
pbm_profile_store_free(PbmProfileStore *store)
{
	if (store == NULL)
		return;
	g_hash_table_unref(store->profiles);
	g_hash_table_unref(store->taken);
	g_hash_table_unref(store->skipped);
	g_ptr_array_unref(store->problems);
	g_ptr_array_unref(store->notes);
	g_free(store);
}

PbmProfile *
pbm_profile_store_lookup(PbmProfileStore *store, const gchar *name)
{
	return g_hash_table_lookup(store->profiles, name);
}

static gint
compare_profiles(gconstpointer a, gconstpointer b)
{
	const PbmProfile *x = *(PbmProfile *const *)a, *y = *(PbmProfile *const *)b;

	return g_strcmp0(x->name, y->name);
}

GPtrArray *
pbm_profile_store_list(PbmProfileStore *store)
{
	GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)pbm_profile_unref);
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, store->profiles);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(list, pbm_profile_ref(value));
	g_ptr_array_sort(list, compare_profiles);
	return list;
}

GPtrArray *
pbm_profile_store_get_problems(PbmProfileStore *store)
{
	return store->problems;
}

GHashTable *
pbm_profile_store_get_skipped(PbmProfileStore *store)
{
	return store->skipped;
}

GPtrArray *
pbm_profile_store_get_notes(PbmProfileStore *store)
{
	return store->notes;
}
