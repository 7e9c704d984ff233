/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmctl profiles: the profiles pbmd can load, with duration and dose.
 */
#include "pbm-format.h"
#include "pbm-names.h"
#include "pbmctl-commands.h"

static void
print_profile(GVariant *p)
{
	guint64 duration = 0;
	g_autofree gchar *d = NULL;

	if (g_variant_lookup(p, "duration_s", "t", &duration))
		d = pbm_duration_format((gint64)duration * G_USEC_PER_SEC);
	if (d != NULL)
		g_print("%-14s %-28s %10s  red %5.1f  NIR %5.1f J/cm²\n",
		        pbm_ctl_lookup_s(p, "name"), pbm_ctl_lookup_s(p, "title"), d,
		        pbm_ctl_lookup_d(p, "dose_red"), pbm_ctl_lookup_d(p, "dose_nir"));
	else /* without a panel there is no calibration to compute them from */
		g_print("%-14s %-28s (duration and dose known once a panel is connected)\n",
		        pbm_ctl_lookup_s(p, "name"), pbm_ctl_lookup_s(p, "title"));
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
