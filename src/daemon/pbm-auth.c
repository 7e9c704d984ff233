/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-auth.h"

#include <grp.h>
#include <pwd.h>
#include <string.h>

#include "pbm-dbus-error.h"
#include "pbm-names.h"

typedef struct {
	PbmAuthAction action;
	gchar *group;
	gchar *sender;
	GDBusConnection *connection;
	guint32 uid;
	guint32 pid;
	GVariant *gids; /* au from the bus, or NULL */
} Check;

static void
check_free(Check *c)
{
	g_free(c->sender);
	g_free(c->group);
	g_clear_pointer(&c->gids, g_variant_unref);
	g_object_unref(c->connection);
	g_free(c);
}

static const gchar *
action_id(PbmAuthAction action)
{
	return action == PBM_AUTH_ADMIN ? PBM_POLKIT_ACTION_ADMIN : PBM_POLKIT_ACTION_CONTROL;
}

static void
deny(GTask *task, const gchar *why)
{
	Check *c = g_task_get_task_data(task);

	if (c->action == PBM_AUTH_ADMIN)
		g_task_return_new_error(task, PBM_DBUS_ERROR, PBM_DBUS_ERROR_NOT_AUTHORIZED,
		                        "not authorized%s: this needs root or the polkit action %s",
		                        why, PBM_POLKIT_ACTION_ADMIN);
	else
		g_task_return_new_error(task, PBM_DBUS_ERROR, PBM_DBUS_ERROR_NOT_AUTHORIZED,
		                        "not authorized%s: this needs root, membership of the "
		                        "group %s, or the polkit action %s",
		                        why, c->group, PBM_POLKIT_ACTION_CONTROL);
}

static gboolean
line_lists_gid(const gchar *text, const gchar *key, gid_t gid)
{
	const gchar *line = strstr(text, key);
	g_autofree gchar *rest = NULL;
	g_auto(GStrv) ids = NULL;

	if (line == NULL)
		return FALSE;
	line += strlen(key);
	rest = g_strndup(line, strcspn(line, "\n"));
	ids = g_strsplit_set(g_strstrip(rest), " \t", -1);
	for (guint i = 0; ids[i] != NULL; i++) {
		if (ids[i][0] != '\0' && g_ascii_strtoull(ids[i], NULL, 10) == (guint64)gid)
			return TRUE;
	}
	return FALSE;
}

static gboolean
gids_list(GVariant *gids, gid_t gid)
{
	gsize n = 0;
	const guint32 *ids = g_variant_get_fixed_array(gids, &n, sizeof(guint32));

	for (gsize i = 0; i < n; i++) {
		if (ids[i] == gid)
			return TRUE;
	}
	return FALSE;
}

/* The caller's groups as the bus saw them when it connected (race-free, and
 * the only source under systemd's ProtectProc=invisible), else as the kernel
 * has them now in /proc, else as the group database lists them. */
static gboolean
in_group(const Check *c, gid_t gid)
{
	g_autofree gchar *path = g_strdup_printf("/proc/%u/status", c->pid);
	g_autofree gchar *text = NULL;
	struct passwd *pw;
	gid_t groups[256];
	gint n = G_N_ELEMENTS(groups);

	if (c->gids != NULL)
		return gids_list(c->gids, gid);
	if (c->pid != 0 && g_file_get_contents(path, &text, NULL, NULL) &&
	    strstr(text, "\nGroups:") != NULL)
		return line_lists_gid(text, "\nGid:", gid) ||
		       line_lists_gid(text, "\nGroups:", gid);
	pw = getpwuid(c->uid);
	if (pw == NULL || getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		return FALSE;
	for (gint i = 0; i < n; i++) {
		if (groups[i] == gid)
			return TRUE;
	}
	return FALSE;
}

static void
polkit_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
	gboolean authorized = FALSE;

	if (reply == NULL) {
		g_debug("polkit: %s", error->message);
		deny(task, " (polkit is not available)");
		return;
	}
	g_variant_get(reply, "((bb@a{ss}))", &authorized, NULL, NULL);
	if (!authorized) {
		deny(task, "");
		return;
	}
	g_task_return_boolean(task, TRUE);
}

static void
ask_polkit(GTask *task)
{
	Check *c = g_task_get_task_data(task);
	GVariantBuilder subject;

	g_variant_builder_init(&subject, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&subject, "{sv}", "name", g_variant_new_string(c->sender));
	g_dbus_connection_call(c->connection, "org.freedesktop.PolicyKit1",
	                       "/org/freedesktop/PolicyKit1/Authority",
	                       "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization",
	                       g_variant_new("((sa{sv})sa{ss}us)", "system-bus-name", &subject,
	                                     action_id(c->action), NULL,
	                                     1 /* AllowUserInteraction */, ""),
	                       G_VARIANT_TYPE("((bba{ss}))"), G_DBUS_CALL_FLAGS_NONE, 25000,
	                       g_task_get_cancellable(task), polkit_done, task);
}

static void
credentials_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	GTask *task = user_data;
	Check *c = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
	g_autoptr(GVariant) creds = NULL;
	struct group *group;

	if (reply == NULL) {
		deny(task, " (the caller's credentials are unknown)");
		g_object_unref(task);
		return;
	}
	creds = g_variant_get_child_value(reply, 0);
	if (!g_variant_lookup(creds, "UnixUserID", "u", &c->uid)) {
		deny(task, " (the caller's user is unknown)");
		g_object_unref(task);
		return;
	}
	g_variant_lookup(creds, "ProcessID", "u", &c->pid);
	c->gids = g_variant_lookup_value(creds, "UnixGroupIDs", G_VARIANT_TYPE("au"));
	if (c->uid == 0) {
		g_task_return_boolean(task, TRUE);
		g_object_unref(task);
		return;
	}
	group = getgrnam(c->group);
	if (c->action == PBM_AUTH_CONTROL && group != NULL && in_group(c, group->gr_gid)) {
		g_task_return_boolean(task, TRUE);
		g_object_unref(task);
		return;
	}
	ask_polkit(task);
}

void
pbm_auth_check_async(GDBusMethodInvocation *invocation, PbmAuthAction action, const gchar *group,
                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	GTask *task = g_task_new(NULL, cancellable, callback, user_data);
	Check *c = g_new0(Check, 1);

	c->action = action;
	c->group = g_strdup(group != NULL ? group : PBM_AUTH_GROUP);
	c->sender = g_strdup(g_dbus_method_invocation_get_sender(invocation));
	c->connection = g_object_ref(g_dbus_method_invocation_get_connection(invocation));
	g_task_set_task_data(task, c, (GDestroyNotify)check_free);
	g_dbus_connection_call(c->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
	                       "org.freedesktop.DBus", "GetConnectionCredentials",
	                       g_variant_new("(s)", c->sender), G_VARIANT_TYPE("(a{sv})"),
	                       G_DBUS_CALL_FLAGS_NONE, -1, cancellable, credentials_done, task);
}

gboolean
pbm_auth_check_finish(GAsyncResult *result, guint32 *uid, GError **error)
{
	Check *c = g_task_get_task_data(G_TASK(result));

	if (!g_task_propagate_boolean(G_TASK(result), error))
		return FALSE;
	*uid = c->uid;
	return TRUE;
}
