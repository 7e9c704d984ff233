/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmctl panels: every panel pbmd knows, connected or not.
 */
#include "pbm-names.h"
#include "pbmctl-commands.h"

static void
print_panel(GVariant *p)
{
	g_print("%-16s %-12s %-28s firmware %-10s %5.1f °C\n", pbm_ctl_lookup_s(p, "Serial"),
	        pbm_ctl_lookup_s(p, "State"), pbm_ctl_lookup_s(p, "Model"),
	        pbm_ctl_lookup_s(p, "FirmwareVersion"), pbm_ctl_lookup_d(p, "Temperature"));
}

gint
pbm_ctl_panels(PbmCtl *ctl, gint argc, gchar **argv)
{
	GError *error = NULL;
	g_autoptr(GVariant) m =
	        pbm_ctl_get_all(ctl, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, &error);
	g_autoptr(GVariant) paths = NULL;
	g_autoptr(GVariant) all = NULL;
	GVariantBuilder b;
	GVariantIter iter;
	const gchar *path;

	if (m == NULL)
		return pbm_ctl_fail(ctl, error);
	paths = g_variant_lookup_value(m, "Panels", G_VARIANT_TYPE("ao"));
	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	g_variant_iter_init(&iter, paths);
	while (g_variant_iter_next(&iter, "&o", &path)) {
		g_autoptr(GVariant) p =
		        pbm_ctl_get_all(ctl, path, PBM_DBUS_INTERFACE_PANEL, &error);
		if (p == NULL) {
			g_variant_builder_clear(&b);
			return pbm_ctl_fail(ctl, error);
		}
		if (!ctl->json)
			print_panel(p);
		g_variant_builder_add_value(&b, p);
	}
	all = g_variant_ref_sink(g_variant_builder_end(&b));
	if (ctl->json)
		pbm_ctl_print_variant_json(all);
	else if (g_variant_n_children(paths) == 0)
		g_print("no panel: check the cable and power, that lsusb lists it, and that the "
		        "pbmd udev rule is installed\n");
	return PBM_CTL_EXIT_OK;
}
