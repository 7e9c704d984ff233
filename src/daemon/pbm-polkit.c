/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-polkit.h"

#include "pbm-auth.h"
#include "pbm-dbus-error.h"

#define POLKIT_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
#define POLKIT_ALLOW_USER_INTERACTION 1u

/* The checks waiting for polkit: sender -> count, and their total. */
static GMutex waiting_lock;
static GHashTable *waiting;
static guint waiting_total;
static guint next_cancellation;

typedef struct {
	GDBusConnection *connection;
	gchar *sender;
	gchar *cancellation_id;
	gboolean interactive;
	gint timeout_ms;
} Check;

static void
check_free(Check *c)
{
	g_object_unref(c->connection);
	g_free(c->sender);
	g_free(c->cancellation_id);
	g_free(c);
}

/* NULL when the check may wait for polkit (and is counted), else why not. */
static gchar *
admit(const gchar *sender)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&waiting_lock);
	guint mine;

	if (waiting == NULL)
		waiting = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	mine = GPOINTER_TO_UINT(g_hash_table_lookup(waiting, sender));
	if (mine >= PBM_AUTH_CHECKS_PER_SENDER)
		return g_strdup_printf("%u authorization checks of this client are waiting for "
		                       "polkit, the most pbmd asks at once for one client; answer "
		                       "or dismiss them first",
		                       mine);
	if (waiting_total >= PBM_AUTH_CHECKS_TOTAL)
		return g_strdup_printf("%u authorization checks are waiting for polkit, the most "
		                       "pbmd asks at once; try again in a moment",
		                       waiting_total);
	g_hash_table_insert(waiting, g_strdup(sender), GUINT_TO_POINTER(mine + 1));
	waiting_total++;
	return NULL;
}

static void
release(const gchar *sender)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&waiting_lock);
	guint mine = GPOINTER_TO_UINT(g_hash_table_lookup(waiting, sender));

	waiting_total--;
	if (mine <= 1)
		g_hash_table_remove(waiting, sender);
	else
		g_hash_table_insert(waiting, g_strdup(sender), GUINT_TO_POINTER(mine - 1));
}

static void
refuse(GTask *task, const gchar *why)
{
	g_task_return_new_error(task, PBM_DBUS_ERROR, PBM_DBUS_ERROR_NOT_AUTHORIZED, "%s", why);
}

/* So that polkit stops waiting too, and closes its dialog. */
static void
cancel_at_polkit(Check *c)
{
	g_dbus_connection_call(c->connection, POLKIT_NAME, POLKIT_PATH, POLKIT_INTERFACE,
	                       "CancelCheckAuthorization", g_variant_new("(s)", c->cancellation_id),
	                       NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
}

static void
refuse_for_error(GTask *task, const GError *error)
{
	Check *c = g_task_get_task_data(task);
	g_autofree gchar *remote = g_dbus_error_get_remote_error(error);
	g_autofree gchar *why = NULL;

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
		cancel_at_polkit(c);
		why = g_strdup_printf("polkit did not answer within %d s", c->timeout_ms / 1000);
	} else if (g_strcmp0(remote, "org.freedesktop.DBus.Error.ServiceUnknown") == 0 ||
	           g_strcmp0(remote, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0) {
		why = g_strdup("polkit is not running");
	} else {
		g_autoptr(GError) copy = g_error_copy(error);
		g_dbus_error_strip_remote_error(copy);
		why = g_strdup_printf("polkit could not be asked: %s", copy->message);
	}
	refuse(task, why);
}

static void
answered(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	Check *c = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
	g_autoptr(GVariant) details = NULL;
	gboolean authorized = FALSE, challenge = FALSE;
	const gchar *dismissed = NULL;

	release(c->sender);
	if (reply == NULL) {
		refuse_for_error(task, error);
		return;
	}
	g_variant_get(reply, "((bb@a{ss}))", &authorized, &challenge, &details);
	if (authorized) {
		g_task_return_boolean(task, TRUE);
		return;
	}
	if (g_variant_lookup(details, "polkit.dismissed", "&s", &dismissed))
		refuse(task, "the authentication was dismissed");
	else if (challenge && !c->interactive)
		refuse(task, "polkit would ask for a password, and the call did not allow it "
		             "(ALLOW_INTERACTIVE_AUTHORIZATION)");
	else
		refuse(task, "polkit said no");
}

void
pbm_polkit_check_async(GDBusConnection *connection, const gchar *sender, const gchar *action_id,
                       gboolean interactive, GAsyncReadyCallback callback, gpointer user_data)
{
	GTask *task = g_task_new(NULL, NULL, callback, user_data);
	Check *c = g_new0(Check, 1);
	g_autofree gchar *busy = admit(sender);
	GVariantBuilder subject;

	c->connection = g_object_ref(connection);
	c->sender = g_strdup(sender);
	c->interactive = interactive;
	c->timeout_ms = interactive ? PBM_AUTH_INTERACTIVE_TIMEOUT_MS : PBM_AUTH_TIMEOUT_MS;
	c->cancellation_id =
	        g_strdup_printf("pbmd-%u", (guint)g_atomic_int_add(&next_cancellation, 1));
	g_task_set_task_data(task, c, (GDestroyNotify)check_free);
	if (busy != NULL) {
		g_task_return_new_error(task, PBM_DBUS_ERROR, PBM_DBUS_ERROR_BUSY, "%s", busy);
		g_object_unref(task);
		return;
	}
	g_variant_builder_init(&subject, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&subject, "{sv}", "name", g_variant_new_string(sender));
	g_dbus_connection_call(
	        connection, POLKIT_NAME, POLKIT_PATH, POLKIT_INTERFACE, "CheckAuthorization",
	        g_variant_new("((sa{sv})sa{ss}us)", "system-bus-name", &subject, action_id, NULL,
	                      interactive ? POLKIT_ALLOW_USER_INTERACTION : 0u, c->cancellation_id),
	        G_VARIANT_TYPE("((bba{ss}))"), G_DBUS_CALL_FLAGS_NONE, c->timeout_ms, NULL,
	        answered, task);
}

gboolean
pbm_polkit_check_finish(GAsyncResult *result, GError **error)
{
	return g_task_propagate_boolean(G_TASK(result), error);
}
