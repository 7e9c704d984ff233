/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmctl profile show NAME: one profile with its steps, from pbmd;
 * pbmctl profile check FILE: validates a file offline, with pbmd's rules.
 */
#include "pbm-names.h"
#include "pbm-profile.h"
#include "pbmctl-commands.h"

static void
print_check_json(const PbmProfile *p, const GError *error)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "valid");
	json_builder_add_boolean_value(b, p != NULL);
	if (p == NULL) {
		json_builder_set_member_name(b, "error");
		json_builder_add_string_value(b, error->message);
	} else {
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, p->name);
		json_builder_set_member_name(b, "steps");
		json_builder_add_int_value(b, p->steps->len);
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	pbm_ctl_print_json(root);
}

static gint
check(PbmCtl *ctl, const gchar *file)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmProfile) p = pbm_profile_load(file, &error);

	if (p == NULL)
		g_printerr("%s\n", error->message);
	if (ctl->json)
		print_check_json(p, error);
	else if (p != NULL)
		g_print("%s: profile %s is valid (%u steps)\n", file, p->name, p->steps->len);
	return p != NULL ? PBM_CTL_EXIT_OK : PBM_CTL_EXIT_USAGE;
}

/* "12.5 mW/cm²" for a prescription, "40.0 %" of the panel, or "-". */
static gchar *
band_text(GVariant *step, const gchar *band)
{
	g_autofree gchar *irradiance_key = g_strconcat("irradiance_", band, NULL);
	gdouble irradiance = pbm_ctl_lookup_d(step, irradiance_key);
	gdouble percent = pbm_ctl_lookup_d(step, band);

	if (irradiance > 0)
		return g_strdup_printf("%.1f mW/cm²", irradiance);
	if (percent > 0)
		return g_strdup_printf("%.1f %% of the panel", percent);
	return g_strdup("-");
}

static void
print_steps(GVariant *p)
{
	g_autoptr(GVariant) steps =
	        g_variant_lookup_value(p, "steps_detail", G_VARIANT_TYPE("aa{sv}"));
	GVariantIter iter;
	GVariant *s;

	g_variant_iter_init(&iter, steps);
	while ((s = g_variant_iter_next_value(&iter)) != NULL) {
		guint64 duration = 0;
		g_autofree gchar *red = band_text(s, "red");
		g_autofree gchar *nir = band_text(s, "nir");
		g_autofree gchar *length = NULL;

		g_variant_lookup(s, "duration_s", "t", &duration);
		length = duration > 0 ? g_strdup_printf("%5" G_GUINT64_FORMAT " s", duration)
		                      : g_strdup("to dose");
		g_print("  %-14s %7s  red %s  NIR %s  pulse %g Hz\n", pbm_ctl_lookup_s(s, "name"),
		        length, red, nir, pbm_ctl_lookup_d(s, "pulse_hz"));
		g_variant_unref(s);
	}
}

static gint
show(PbmCtl *ctl, const gchar *name)
{
	GError *error = NULL;
	g_autoptr(GVariant) reply =
	        pbm_ctl_call(ctl, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "GetProfile",
	                     g_variant_new("(s)", name), G_VARIANT_TYPE("(a{sv})"), &error);
	g_autoptr(GVariant) p = NULL;
	gboolean goggles = FALSE;

	if (reply == NULL)
		return pbm_ctl_fail(ctl, error);
	p = g_variant_get_child_value(reply, 0);
	if (ctl->json) {
		pbm_ctl_print_variant_json(p);
		return PBM_CTL_EXIT_OK;
	}
	g_variant_lookup(p, "goggles_required", "b", &goggles);
	g_print("%s: %s\n%s\ndistance %.1f cm, goggles %s\n", pbm_ctl_lookup_s(p, "name"),
	        pbm_ctl_lookup_s(p, "title"), pbm_ctl_lookup_s(p, "description"),
	        pbm_ctl_lookup_d(p, "distance_cm"), goggles ? "required" : "not required");
	print_steps(p);
	return PBM_CTL_EXIT_OK;
}

gint
pbm_ctl_profile(PbmCtl *ctl, gint argc, gchar **argv)
{
	if (argc == 3 && g_str_equal(argv[1], "check"))
		return check(ctl, argv[2]);
	if (argc != 3 || !g_str_equal(argv[1], "show")) {
		g_printerr("pbmctl: usage: pbmctl profile show NAME | pbmctl profile check FILE\n");
		return PBM_CTL_EXIT_USAGE;
	}
	return show(ctl, argv[2]);
}
