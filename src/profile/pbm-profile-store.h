/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The profiles pbmd offers: every NAME.conf of the profile search path,
 * loaded once, with the problems and overrides found on the way.
 */
#pragma once

#include "pbm-file-trust.h"
#include "pbm-profile.h"

G_BEGIN_DECLS

typedef struct _PbmProfileStore PbmProfileStore;

/* Loads NAME.conf from each directory in order; the first directory that
 * has a name wins (an admin's file overrides a shipped one, even when the
 * admin's file is broken: that profile is then unavailable, not silently
 * replaced). Missing directories are fine. Never fails: problems are kept
 * in pbm_profile_store_get_problems(). */
/* Only files and directories trust allows are believed (NULL: root and
 * the process's own user); a directory it does not allow is skipped whole,
 * as one problem. */
PbmProfileStore *pbm_profile_store_load(const gchar *const *dirs, const PbmFileTrust *trust);
void pbm_profile_store_free(PbmProfileStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmProfileStore, pbm_profile_store_free)

PbmProfile *pbm_profile_store_lookup(PbmProfileStore *store, const gchar *name);
/* Sorted by name. */
GPtrArray *pbm_profile_store_list(PbmProfileStore *store);
/* GError * for every file that was skipped, in load order. */
GPtrArray *pbm_profile_store_get_problems(PbmProfileStore *store);
/* name -> GError *: why the file that claimed that name was skipped. */
GHashTable *pbm_profile_store_get_skipped(PbmProfileStore *store);
/* Human-readable notes: which files were overridden by which. */
GPtrArray *pbm_profile_store_get_notes(PbmProfileStore *store);

G_END_DECLS
