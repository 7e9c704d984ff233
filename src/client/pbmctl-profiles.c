/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmctl profiles: the profiles pbmd can load, with duration and dose.
 */
#include "pbm-format.h"
#include "pbm-names.h"
#include "pbmctl-commands.h"

/* A prescription gives the same anywhere; a percentage only on the panel
 * the estimate was made on. */
static gchar *
estimate_note(GVariant *p)
{
	gboolean prescribed = TRUE;
	gdouble exposure = pbm_ctl_lookup_d(p, "eye_exposure"),
	        limit = pbm_ctl_lookup_d(p, "eye_limit");
	g_autofree gchar *eyes = NULL;

	g_variant_lookup(p, "prescribed", "b", &prescribed);
	if (limit > 0 && exposure > limit)
		eyes = g_strdup_printf(", goggles needed: %.1fx the eye limit", exposure / limit);
	if (prescribed)
		return g_strdup_printf("%s", eyes != NULL ? eyes : "");
	return g_strdup_printf(" (on panel %s; depends on the panel%s)",
	                       pbm_ctl_lookup_s(p, "estimate_panel"), eyes != NULL ? eyes : "");
}

static void
print_profile(GVariant *p)
{
	guint64 duration = 0;
	g_autofree gchar *d = NULL, *note = NULL;
	const gchar *why = NULL;

	if (g_variant_lookup(p, "duration_s", "t", &duration))
		d = pbm_duration_format((gint64)duration * G_USEC_PER_SEC);
	if (d != NULL) {
		note = estimate_note(p);
		g_print("%-14s %-28s %10s  red %5.1f  NIR %5.1f J/cm²%s\n",
		        pbm_ctl_lookup_s(p, "name"), pbm_ctl_lookup_s(p, "title"), d,
		        pbm_ctl_lookup_d(p, "dose_red"), pbm_ctl_lookup_d(p, "dose_nir"), note);
	} else if (g_variant_lookup(p, "estimate_error", "&s", &why)) {
		g_print("%-14s %-28s (cannot run on panel %s: %s)\n", pbm_ctl_lookup_s(p, "name"),
		        pbm_ctl_lookup_s(p, "title"), pbm_ctl_lookup_s(p, "estimate_panel"), why);
	} else { /* without a panel there is no calibration to compute them from */
		g_print("%-14s %-28s (duration and dose known once a panel is connected)\n",
		        pbm_ctl_lookup_s(p, "name"), pbm_ctl_lookup_s(p, "title"));
	}
}

gint
pbm_ctl_profiles(PbmCtl *ctl, gint argc, gchar **argv)
{
	GError *error = NULL;
	g_autoptr(GVariant) reply =
	        pbm_ctl_call(ctl, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "ListProfiles", NULL,
	                     G_VARIANT_TYPE("(aa{sv})"), &error);
	g_autoptr(GVariant) list = NULL;
	GVariantIter iter;
	GVariant *p;

	if (reply == NULL)
		return pbm_ctl_fail(ctl, error);
	list = g_variant_get_child_value(reply, 0);
	if (ctl->json) {
		pbm_ctl_print_variant_json(list);
		return PBM_CTL_EXIT_OK;
	}
	g_variant_iter_init(&iter, list);
	while ((p = g_variant_iter_next_value(&iter)) != NULL) {
		print_profile(p);
		g_variant_unref(p);
	}
	return PBM_CTL_EXIT_OK;
}
