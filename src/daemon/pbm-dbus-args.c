/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-dbus-args.h"

#include <string.h>

#include "pbm-dbus-error.h"
#include "pbm-profile.h"

/* What a caller sent, cut to fit an error message: a 1 MiB key must not
 * come back as a 1 MiB message. Cut at a character, so it stays UTF-8. */
static gchar *
excerpt(const gchar *text)
{
	g_autofree gchar *head = NULL;

	if (strlen(text) <= PBM_DBUS_ARGS_EXCERPT_MAX)
		return g_strdup(text);
	head = g_utf8_substring(text, 0, PBM_DBUS_ARGS_EXCERPT_MAX);
	return g_strconcat(head, "...", NULL);
}

gboolean
pbm_dbus_args_check_profile_name(const gchar *name, GError **error)
{
	if (pbm_profile_name_is_valid(name))
		return TRUE;
	g_set_error_literal(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_INVALID_ARGS,
	                    "a profile name is 1 to 64 characters of a-z, 0-9 and '-'");
	return FALSE;
}

#define OPTIONS "panels (as), distance_cm (d) and goggles (b)"

gboolean
pbm_dbus_args_parse_start_options(GVariant *options, gchar ***serials, PbmPlanRequest *request,
                                  GError **error)
{
	g_auto(GStrv) panels = NULL;
	gdouble distance = 0.0;
	gboolean goggles = FALSE;
	GVariantIter iter;
	const gchar *key;
	GVariant *next;

	g_return_val_if_fail(g_variant_is_of_type(options, G_VARIANT_TYPE_VARDICT), FALSE);

	g_variant_iter_init(&iter, options);
	/* Not g_variant_iter_loop(): a refusal leaves the loop early, which
	 * would leak the value it holds. */
	while (g_variant_iter_next(&iter, "{&sv}", &key, &next)) {
		g_autoptr(GVariant) value = next;

		if (g_str_equal(key, "panels") &&
		    g_variant_is_of_type(value, G_VARIANT_TYPE_STRING_ARRAY)) {
			g_strfreev(panels);
			panels = g_variant_dup_strv(value, NULL);
			if (panels[0] == NULL || g_strv_length(panels) > PBM_DBUS_ARGS_PANELS_MAX) {
				g_set_error(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_INVALID_ARGS,
				            "option panels must list 1 to %u serials",
				            PBM_DBUS_ARGS_PANELS_MAX);
				return FALSE;
			}
			for (guint i = 0; panels[i] != NULL; i++) {
				g_autofree gchar *bad = NULL;
				if (panels[i][0] != '\0' &&
				    strlen(panels[i]) <= PBM_STRING_SERIAL_LEN)
					continue;
				bad = excerpt(panels[i]);
				g_set_error(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_INVALID_ARGS,
				            "option panels takes serials of 1 to %u characters as "
				            "the Panels' Serial property gives them, not object "
				            "paths; \"%s\" is not one",
				            (guint)PBM_STRING_SERIAL_LEN, bad);
				return FALSE;
			}
		} else if (g_str_equal(key, "distance_cm") &&
		           g_variant_is_of_type(value, G_VARIANT_TYPE_DOUBLE)) {
			distance = g_variant_get_double(value);
			if (!(distance >= PBM_PROFILE_DISTANCE_MIN_CM &&
			      distance <= PBM_PROFILE_DISTANCE_MAX_CM)) {
				g_set_error(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_INVALID_ARGS,
				            "option distance_cm must be %g to %g cm",
				            PBM_PROFILE_DISTANCE_MIN_CM,
				            PBM_PROFILE_DISTANCE_MAX_CM);
				return FALSE;
			}
		} else if (g_str_equal(key, "goggles") &&
		           g_variant_is_of_type(value, G_VARIANT_TYPE_BOOLEAN)) {
			goggles = g_variant_get_boolean(value);
		} else if (g_str_equal(key, "panels") || g_str_equal(key, "distance_cm") ||
		           g_str_equal(key, "goggles")) {
			g_set_error(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_INVALID_ARGS,
			            "option %s of type %s is not accepted; StartSession and "
			            "EstimateSession take " OPTIONS,
			            key, g_variant_get_type_string(value));
			return FALSE;
		} else {
			g_autofree gchar *name = excerpt(key);
			g_set_error(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_INVALID_ARGS,
			            "unknown option \"%s\" of type %s; StartSession and "
			            "EstimateSession take " OPTIONS,
			            name, g_variant_get_type_string(value));
			return FALSE;
		}
	}
	*serials = g_steal_pointer(&panels);
	*request = (PbmPlanRequest){ .distance_cm = distance, .goggles = goggles };
	return TRUE;
}

gboolean
pbm_dbus_args_check_history_limit(guint limit, guint *effective, GError **error)
{
	if (limit > PBM_DBUS_HISTORY_MAX_LIMIT) {
		g_set_error(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_INVALID_ARGS,
		            "limit must be 0 (meaning %u) to %u; for more, ask again with since "
		            "= the last row's started_at + 1",
		            PBM_DBUS_HISTORY_DEFAULT_LIMIT, PBM_DBUS_HISTORY_MAX_LIMIT);
		return FALSE;
	}
	*effective = limit == 0 ? PBM_DBUS_HISTORY_DEFAULT_LIMIT : limit;
	return TRUE;
}
