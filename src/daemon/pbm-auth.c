/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-auth.h"

#include <grp.h>
#include <pwd.h>
#include <string.h>

#include "pbm-dbus-error.h"
#include "pbm-names.h"
#include "pbm-polkit.h"

typedef struct {
	PbmAuthAction action;
	gchar *group;
	gint64 owner; /* passes without polkit, or PBM_AUTH_NO_OWNER */
	gchar *sender;
	GDBusConnection *connection;
	guint32 uid;
	gboolean uid_known;
	gboolean interactive; /* polkit may ask the user */
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
	switch (action) {
	case PBM_AUTH_ADMIN:
		return PBM_POLKIT_ACTION_ADMIN;
	case PBM_AUTH_READ_HISTORY:
		return PBM_POLKIT_ACTION_READ_HISTORY;
	case PBM_AUTH_STOP:
		return PBM_POLKIT_ACTION_STOP;
	case PBM_AUTH_CONTROL:
	default:
		return PBM_POLKIT_ACTION_CONTROL;
	}
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
		g_task_return_new_error(
		        task, PBM_DBUS_ERROR, PBM_DBUS_ERROR_NOT_AUTHORIZED,
		        "not authorized%s: this needs root, membership of the "
		        "group %s%s, or the polkit action %s",
		        why, c->group,
		        c->owner != PBM_AUTH_NO_OWNER ? ", being the session's own user" : "",
		        action_id(c->action));
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
	struct passwd entry, *pw = NULL;
	gchar buf[4096];
	gid_t groups[256];
	gint n = G_N_ELEMENTS(groups);

	if (c->gids != NULL)
		return gids_list(c->gids, gid);
	if (c->pid != 0 && g_file_get_contents(path, &text, NULL, NULL) &&
	    strstr(text, "\nGroups:") != NULL)
		return line_lists_gid(text, "\nGid:", gid) ||
		       line_lists_gid(text, "\nGroups:", gid);
	if (getpwuid_r(c->uid, &entry, buf, sizeof buf, &pw) != 0 || pw == NULL ||
	    getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
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
	g_autofree gchar *why = NULL;

	if (pbm_polkit_check_finish(result, &error)) {
		g_task_return_boolean(task, TRUE);
		return;
	}
	if (!g_error_matches(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_NOT_AUTHORIZED)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	why = g_strdup_printf(" (%s)", error->message);
	deny(task, why);
}

/* Reading never asks for a password; the rest may, when the call allows. */
static gboolean
may_interact(const Check *c, GDBusMethodInvocation *invocation)
{
	GDBusMessage *m = g_dbus_method_invocation_get_message(invocation);

	return c->action != PBM_AUTH_READ_HISTORY &&
	       (g_dbus_message_get_flags(m) & G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION);
}

static gboolean
group_gid(const gchar *name, gid_t *gid)
{
	struct group entry, *found = NULL;
	gchar buf[4096];

	if (getgrnam_r(name, &entry, buf, sizeof buf, &found) != 0 || found == NULL)
		return FALSE;
	*gid = found->gr_gid;
	return TRUE;
}

static gboolean
group_passes(const Check *c)
{
	gid_t gid;

	return c->action != PBM_AUTH_ADMIN && group_gid(c->group, &gid) && in_group(c, gid);
}

static void
credentials_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	Check *c = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
	g_autoptr(GVariant) creds = NULL;

	if (reply == NULL) {
		deny(task, " (the caller's credentials are unknown)");
		return;
	}
	creds = g_variant_get_child_value(reply, 0);
	if (!g_variant_lookup(creds, "UnixUserID", "u", &c->uid)) {
		deny(task, " (the caller's user is unknown)");
		return;
	}
	c->uid_known = TRUE;
	g_variant_lookup(creds, "ProcessID", "u", &c->pid);
	c->gids = g_variant_lookup_value(creds, "UnixGroupIDs", G_VARIANT_TYPE("au"));
	if (c->uid == 0 || (gint64)c->uid == c->owner || group_passes(c)) {
		g_task_return_boolean(task, TRUE);
		return;
	}
	pbm_polkit_check_async(c->connection, c->sender, action_id(c->action), c->interactive,
	                       polkit_done, g_steal_pointer(&task));
}

void
pbm_auth_check_async(GDBusMethodInvocation *invocation, PbmAuthAction action, const gchar *group,
                     gint64 owner, GCancellable *cancellable, GAsyncReadyCallback callback,
                     gpointer user_data)
{
	GTask *task = g_task_new(NULL, cancellable, callback, user_data);
	Check *c = g_new0(Check, 1);

	c->action = action;
	c->group = g_strdup(group != NULL ? group : PBM_AUTH_GROUP);
	c->owner = owner;
	c->sender = g_strdup(g_dbus_method_invocation_get_sender(invocation));
	c->connection = g_object_ref(g_dbus_method_invocation_get_connection(invocation));
	c->interactive = may_interact(c, invocation);
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

	if (c->uid_known)
		*uid = c->uid;
	return g_task_propagate_boolean(G_TASK(result), error);
}
