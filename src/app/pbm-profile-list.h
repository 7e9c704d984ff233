/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The profiles, one radio row each: the title, and below it how long the
 * session lasts and what dose it gives at the chosen distance.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define PBM_TYPE_PROFILE_LIST (pbm_profile_list_get_type())
G_DECLARE_FINAL_TYPE(PbmProfileList, pbm_profile_list, PBM, PROFILE_LIST, AdwBin)

GtkWidget *pbm_profile_list_new(void);
/* ListProfiles' reply (aa{sv}); NULL: none (pbmd is gone). */
void pbm_profile_list_set_profiles(PbmProfileList *self, GVariant *profiles);
/* The selected profile's entry of ListProfiles (a{sv}), or NULL. */
GVariant *pbm_profile_list_get_selected(PbmProfileList *self);
/* The names of the listed profiles, in order (NULL-terminated; free with
 * g_strfreev). */
gchar **pbm_profile_list_dup_names(PbmProfileList *self);
/* What name gives at the chosen distance, replacing the listing's text
 * until the profiles change. */
void pbm_profile_list_set_estimate(PbmProfileList *self, const gchar *name, const gchar *text);

G_END_DECLS
