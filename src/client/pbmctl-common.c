/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbmctl-common.h"

#include "config.h"
#include "pbm-dbus-error.h"
#include "pbm-names.h"

/* pbmd's messages speak the D-Bus API, for every client; these say it in
 * pbmctl's terms, by error name. */
static const struct {
	gint code; /* PbmDBusError */
	const gchar *hint;
} hints[] = {
	{ PBM_DBUS_ERROR_NO_SUCH_PROFILE, "pbmctl profiles lists them" },
	{ PBM_DBUS_ERROR_NOT_RUNNING,
	  "pbmctl status shows the active session; if there is none, start one with pbmctl "
	  "start PROFILE" },
	{ PBM_DBUS_ERROR_NO_PANEL,
	  "pbmctl panels lists them; plug the panel in and check that it is powered" },
	{ PBM_DBUS_ERROR_BUSY, "pbmctl status shows it and pbmctl stop stops it" },
	{ PBM_DBUS_ERROR_NOT_AUTHORIZED,
	  "root is allowed (sudo pbmctl ...); a group is joined with sudo usermod -aG GROUP "
	  "$USER and a new login; see AUTHORIZATION in pbmctl(1)" },
};

static const gchar *
hint_for_error(const GError *error)
{
	if (error->domain != PBM_DBUS_ERROR)
		return NULL;
	for (guint i = 0; i < G_N_ELEMENTS(hints); i++) {
		if (hints[i].code == error->code)
			return hints[i].hint;
	}
	return NULL;
}

gboolean
pbm_ctl_connect(PbmCtl *ctl, GError **error)
{
	if (ctl->address != NULL)
		ctl->bus = g_dbus_connection_new_for_address_sync(
		        ctl->address,
		        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		        NULL, NULL, error);
	else
		ctl->bus = g_bus_get_sync(ctl->bus_type, NULL, error);
	return ctl->bus != NULL;
}

/* ---- output ---- */

void
pbm_ctl_print_json(JsonNode *node)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree gchar *text = NULL;

	json_generator_set_root(gen, node);
	json_generator_set_pretty(gen, FALSE);
	text = json_generator_to_data(gen, NULL);
	g_print("%s\n", text);
}

void
pbm_ctl_print_variant_json(GVariant *v)
{
	g_autoptr(JsonNode) node = json_gvariant_serialize(v);

	pbm_ctl_print_json(node);
}

/* ---- errors ---- */

static gint
exit_for_error(const GError *error)
{
	if (g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
	    g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_FILE_NOT_FOUND))
		return PBM_CTL_EXIT_NO_DAEMON;
	if (error->domain != PBM_DBUS_ERROR)
		return PBM_CTL_EXIT_ERROR;
	switch (error->code) {
	case PBM_DBUS_ERROR_NOT_AUTHORIZED:
		return PBM_CTL_EXIT_NOT_AUTHORIZED;
	case PBM_DBUS_ERROR_NO_SUCH_PROFILE:
	case PBM_DBUS_ERROR_INVALID_ARGS:
		return PBM_CTL_EXIT_USAGE;
	case PBM_DBUS_ERROR_SAFETY_LIMIT:
	case PBM_DBUS_ERROR_BUSY:
	case PBM_DBUS_ERROR_NO_PANEL:
	case PBM_DBUS_ERROR_FAULT:
		return PBM_CTL_EXIT_REFUSED;
	default:
		return PBM_CTL_EXIT_ERROR;
	}
}

static void
print_error_json(const GError *error, gint code)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "error");
	json_builder_add_string_value(b, error->message);
	json_builder_set_member_name(b, "exit_code");
	json_builder_add_int_value(b, code);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	pbm_ctl_print_json(root);
}

gint
pbm_ctl_fail(PbmCtl *ctl, GError *error)
{
	gint code = exit_for_error(error);
	const gchar *hint = hint_for_error(error);

	g_dbus_error_strip_remote_error(error);
	if (code == PBM_CTL_EXIT_NO_DAEMON)
		g_printerr("pbmctl: pbmd is not running (%s). Start it with: sudo systemctl start "
		           "pbmd.service\n",
		           error->message);
	else
		g_printerr("pbmctl: %s\n", error->message);
	if (hint != NULL)
		g_printerr("pbmctl: hint: %s\n", hint);
	if (ctl->json)
		print_error_json(error, code);
	g_error_free(error);
	return code;
}

/* ---- calls ---- */

GVariant *
pbm_ctl_call(PbmCtl *ctl, const gchar *path, const gchar *iface, const gchar *method,
             GVariant *args, const GVariantType *reply_type, GError **error)
{
	GDBusCallFlags flags =
	        ctl->no_auto_start ? G_DBUS_CALL_FLAGS_NO_AUTO_START : G_DBUS_CALL_FLAGS_NONE;

	return g_dbus_connection_call_sync(ctl->bus, PBM_DBUS_NAME, path, iface, method, args,
	                                   reply_type, flags, 30000, NULL, error);
}

GVariant *
pbm_ctl_get_all(PbmCtl *ctl, const gchar *path, const gchar *iface, GError **error)
{
	g_autoptr(GVariant) reply =
	        pbm_ctl_call(ctl, path, "org.freedesktop.DBus.Properties", "GetAll",
	                     g_variant_new("(s)", iface), G_VARIANT_TYPE("(a{sv})"), error);

	return reply != NULL ? g_variant_get_child_value(reply, 0) : NULL;
}

gint
pbm_ctl_simple_call(PbmCtl *ctl, const gchar *method, const gchar *done)
{
	GError *error = NULL;
	g_autoptr(GVariant) reply = pbm_ctl_call(ctl, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	                                         method, NULL, NULL, &error);

	if (reply == NULL)
		return pbm_ctl_fail(ctl, error);
	if (!ctl->json)
		g_print("%s\n", done);
	else
		g_print("{\"ok\":true}\n");
	return PBM_CTL_EXIT_OK;
}

/* ---- replies ---- */

const gchar *
pbm_ctl_lookup_s(GVariant *dict, const gchar *key)
{
	g_autoptr(GVariant) v = g_variant_lookup_value(dict, key, NULL);

	if (v == NULL || !(g_variant_is_of_type(v, G_VARIANT_TYPE_STRING) ||
	                   g_variant_is_of_type(v, G_VARIANT_TYPE_OBJECT_PATH)))
		return "";
	/* the dictionary keeps the data alive */
	return g_variant_get_string(v, NULL);
}

gdouble
pbm_ctl_lookup_d(GVariant *dict, const gchar *key)
{
	gdouble d = 0;

	g_variant_lookup(dict, key, "d", &d);
	return d;
}

void
pbm_ctl_warn_version_skew(PbmCtl *ctl, GVariant *manager)
{
	const gchar *theirs = pbm_ctl_lookup_s(manager, "Version");
	g_auto(GStrv) a = g_strsplit(PACKAGE_VERSION, ".", 3), b = g_strsplit(theirs, ".", 3);

	if (g_strv_length(a) < 2 || g_strv_length(b) < 2 || g_strcmp0(a[0], b[0]) != 0 ||
	    g_strcmp0(a[1], b[1]) != 0)
		g_printerr("pbmctl: warning: pbmctl %s talks to pbmd %s; update the older one\n",
		           PACKAGE_VERSION, theirs);
}
