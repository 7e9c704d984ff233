/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmctl identify [SERIAL]: blink the indicator of one panel, or of every
 * connected one.
 */
#include "pbm-names.h"
#include "pbmctl-commands.h"

/* Whether the panel at path is connected and, serial given, has it. */
static gboolean
wanted(PbmCtl *ctl, const gchar *path, const gchar *serial)
{
	g_autoptr(GVariant) p = pbm_ctl_get_all(ctl, path, PBM_DBUS_INTERFACE_PANEL, NULL);
	gboolean connected = FALSE;

	if (p == NULL || (serial != NULL && !g_str_equal(pbm_ctl_lookup_s(p, "Serial"), serial)))
		return FALSE;
	return g_variant_lookup(p, "Connected", "b", &connected) && connected;
}

/* At most a serial number: an option (--follow) is none, and bad usage
 * rather than "no panel with serial --follow". */
static gboolean
check_args(gint argc, gchar **argv)
{
	if (argc <= 1 || (argc == 2 && argv[1][0] != '-'))
		return TRUE;
	g_printerr("pbmctl identify: unexpected argument \"%s\"; identify takes at most a "
	           "panel's serial number\n",
	           argv[1][0] == '-' ? argv[1] : argv[2]);
	return FALSE;
}

gint
pbm_ctl_identify(PbmCtl *ctl, gint argc, gchar **argv)
{
	const gchar *serial = argc > 1 ? argv[1] : NULL;
	GError *error = NULL;
	g_autoptr(GVariant) m = NULL;
	g_autoptr(GVariant) paths = NULL;
	GVariantIter iter;
	const gchar *path;
	guint n = 0;

	if (!check_args(argc, argv))
		return PBM_CTL_EXIT_USAGE;
	m = pbm_ctl_get_all(ctl, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, &error);
	if (m == NULL)
		return pbm_ctl_fail(ctl, error);
	paths = g_variant_lookup_value(m, "Panels", G_VARIANT_TYPE("ao"));
	g_variant_iter_init(&iter, paths);
	while (g_variant_iter_next(&iter, "&o", &path)) {
		g_autoptr(GVariant) reply = NULL;
		if (!wanted(ctl, path, serial))
			continue;
		reply = pbm_ctl_call(ctl, path, PBM_DBUS_INTERFACE_PANEL, "Identify", NULL, NULL,
		                     &error);
		if (reply == NULL)
			return pbm_ctl_fail(ctl, error);
		n++;
	}
	if (n == 0) {
		g_printerr("pbmctl: no panel%s%s; pbmctl panels lists them\n",
		           serial != NULL ? " with serial " : "", serial != NULL ? serial : "");
		return PBM_CTL_EXIT_REFUSED;
	}
	if (!ctl->json)
		g_print("identifying %u panel%s: watch for the blinking indicator\n", n,
		        n == 1 ? "" : "s");
	else
		g_print("{\"ok\":true,\"panels\":%u}\n", n);
	return PBM_CTL_EXIT_OK;
}
