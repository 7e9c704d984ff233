/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmctl status: the daemon's state and the active session.
 */
#include "pbm-format.h"
#include "pbm-names.h"
#include "pbmctl-commands.h"

static void
add_session_json(JsonBuilder *b, GVariant *session)
{
	guint64 remaining = 0;

	g_variant_lookup(session, "Remaining", "t", &remaining);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "profile");
	json_builder_add_string_value(b, pbm_ctl_lookup_s(session, "Profile"));
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, pbm_ctl_lookup_s(session, "State"));
	json_builder_set_member_name(b, "outcome");
	json_builder_add_string_value(b, pbm_ctl_lookup_s(session, "Outcome"));
	json_builder_set_member_name(b, "step");
	json_builder_add_string_value(b, pbm_ctl_lookup_s(session, "StepName"));
	json_builder_set_member_name(b, "remaining_s");
	json_builder_add_int_value(b, (gint64)(remaining / G_USEC_PER_SEC));
	json_builder_set_member_name(b, "progress");
	json_builder_add_double_value(b, pbm_ctl_lookup_d(session, "Progress"));
	json_builder_set_member_name(b, "dose_red");
	json_builder_add_double_value(b, pbm_ctl_lookup_d(session, "DoseRed"));
	json_builder_set_member_name(b, "dose_nir");
	json_builder_add_double_value(b, pbm_ctl_lookup_d(session, "DoseNir"));
	json_builder_end_object(b);
}

static void
print_json(GVariant *m, GVariant *session)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(GVariant) panels = g_variant_lookup_value(m, "Panels", NULL);
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "version");
	json_builder_add_string_value(b, pbm_ctl_lookup_s(m, "Version"));
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, pbm_ctl_lookup_s(m, "State"));
	json_builder_set_member_name(b, "panels");
	json_builder_add_int_value(b, panels != NULL ? g_variant_n_children(panels) : 0);
	json_builder_set_member_name(b, "session");
	if (session != NULL)
		add_session_json(b, session);
	else
		json_builder_add_null_value(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	pbm_ctl_print_json(root);
}

static void
print_text(GVariant *m, GVariant *session)
{
	guint64 remaining = 0;
	g_autofree gchar *left = NULL;

	g_print("pbmd %s: %s\n", pbm_ctl_lookup_s(m, "Version"), pbm_ctl_lookup_s(m, "State"));
	if (session == NULL)
		return;
	g_variant_lookup(session, "Remaining", "t", &remaining);
	left = pbm_duration_format((gint64)remaining);
	g_print("session: %s, %s%s%s, step %s, %s left, red %.1f J/cm², NIR %.1f J/cm²\n",
	        pbm_ctl_lookup_s(session, "Profile"), pbm_ctl_lookup_s(session, "State"),
	        *pbm_ctl_lookup_s(session, "Outcome") ? " " : "",
	        pbm_ctl_lookup_s(session, "Outcome"), pbm_ctl_lookup_s(session, "StepName"), left,
	        pbm_ctl_lookup_d(session, "DoseRed"), pbm_ctl_lookup_d(session, "DoseNir"));
}

gint
pbm_ctl_status(PbmCtl *ctl, gint argc, gchar **argv)
{
	GError *error = NULL;
	g_autoptr(GVariant) m =
	        pbm_ctl_get_all(ctl, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, &error);
	g_autoptr(GVariant) session = NULL;
	const gchar *active;

	if (m == NULL)
		return pbm_ctl_fail(ctl, error);
	pbm_ctl_warn_version_skew(ctl, m);
	active = pbm_ctl_lookup_s(m, "ActiveSession");
	if (!g_str_equal(active, PBM_DBUS_PATH_NONE))
		session = pbm_ctl_get_all(ctl, active, PBM_DBUS_INTERFACE_SESSION, NULL);
	if (ctl->json)
		print_json(m, session);
	else
		print_text(m, session);
	return PBM_CTL_EXIT_OK;
}
