/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmctl monitor: every signal pbmd emits, one line each, until Ctrl-C.
 */
#include <glib-unix.h>
#include <stdio.h>

#include "pbm-names.h"
#include "pbmctl-commands.h"

static void
print_signal_json(const gchar *path, const gchar *iface, const gchar *name, GVariant *params)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "path");
	json_builder_add_string_value(b, path);
	json_builder_set_member_name(b, "interface");
	json_builder_add_string_value(b, iface);
	json_builder_set_member_name(b, "signal");
	json_builder_add_string_value(b, name);
	json_builder_set_member_name(b, "args");
	json_builder_add_value(b, json_gvariant_serialize(params));
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	pbm_ctl_print_json(root);
}

static void
on_signal(GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
          const gchar *name, GVariant *params, gpointer user_data)
{
	PbmCtl *ctl = user_data;

	if (ctl->json) {
		/* one JSON object per line, for scripts that follow pbmd */
		print_signal_json(path, iface, name, params);
	} else {
		g_autofree gchar *text = g_variant_print(params, FALSE);
		g_print("%s %s.%s %s\n", path, iface, name, text);
	}
	/* a pipe (pbmctl monitor | grep ...) sees each event as it happens */
	fflush(stdout);
}

static gboolean
quit_loop(gpointer user_data)
{
	g_main_loop_quit(user_data);
	return G_SOURCE_REMOVE;
}

gint
pbm_ctl_monitor(PbmCtl *ctl, gint argc, gchar **argv)
{
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	GError *error = NULL;
	g_autoptr(GVariant) m =
	        pbm_ctl_get_all(ctl, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, &error);

	if (m == NULL)
		return pbm_ctl_fail(ctl, error);
	g_dbus_connection_signal_subscribe(ctl->bus, PBM_DBUS_NAME, NULL, NULL, NULL, NULL,
	                                   G_DBUS_SIGNAL_FLAGS_NONE, on_signal, ctl, NULL);
	g_unix_signal_add(SIGINT, quit_loop, loop);
	g_unix_signal_add(SIGTERM, quit_loop, loop);
	if (!ctl->json)
		g_print("following pbmd %s (Ctrl-C to stop)\n", pbm_ctl_lookup_s(m, "Version"));
	g_main_loop_run(loop);
	return PBM_CTL_EXIT_OK;
}
