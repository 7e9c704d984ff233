/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-bus-guard.h"

#include "pbm-dbus-error.h"
#include "pbm-names.h"

struct _PbmBusGuard {
	GDBusConnection *connection;
	guint filter_id;
	PbmBusGuardLimits limits;
	GMutex lock;
	GHashTable *in_flight; /* sender -> GHashTable of its calls' serials */
	guint total;
};

/* The filter may still run on GDBus's thread after it is removed, so it
 * holds its own reference (g_dbus_connection_remove_filter()). */
static PbmBusGuard *
guard_ref(PbmBusGuard *guard)
{
	return g_atomic_rc_box_acquire(guard);
}

static void
guard_clear(PbmBusGuard *guard)
{
	g_hash_table_unref(guard->in_flight);
	g_mutex_clear(&guard->lock);
}

static void
guard_unref(gpointer guard)
{
	g_atomic_rc_box_release_full(guard, (GDestroyNotify)guard_clear);
}

static gboolean
is_stop(GDBusMessage *m)
{
	const gchar *member = g_dbus_message_get_member(m);
	const gchar *iface = g_dbus_message_get_interface(m);

	return g_strcmp0(iface, PBM_DBUS_INTERFACE_MANAGER) == 0
	               ? g_strcmp0(member, "StopSession") == 0
	               : g_strcmp0(iface, PBM_DBUS_INTERFACE_SESSION) == 0 &&
	                         g_strcmp0(member, "Stop") == 0;
}

static void
refuse(GDBusConnection *c, GDBusMessage *m, gint code, const gchar *text)
{
	g_autoptr(GError) error = g_error_new_literal(PBM_DBUS_ERROR, code, text);
	g_autofree gchar *name = g_dbus_error_encode_gerror(error);
	g_autoptr(GDBusMessage) reply = g_dbus_message_new_method_error_literal(m, name, text);

	g_dbus_connection_send_message(c, reply, G_DBUS_SEND_MESSAGE_FLAGS_NONE, NULL, NULL);
}

static gsize
body_size(GDBusMessage *m)
{
	GVariant *body = g_dbus_message_get_body(m);

	return body != NULL ? g_variant_get_size(body) : 0;
}

/* NULL when the call may go on, else why not. */
static gchar *
admit(PbmBusGuard *guard, GDBusMessage *m, gint *code)
{
	const gchar *sender = g_dbus_message_get_sender(m);
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&guard->lock);
	GHashTable *calls = g_hash_table_lookup(guard->in_flight, sender);
	guint mine = calls != NULL ? g_hash_table_size(calls) : 0;

	*code = PBM_DBUS_ERROR_BUSY;
	if (mine >= guard->limits.per_sender)
		return g_strdup_printf("this connection has %u calls waiting for a reply, the most "
		                       "pbmd serves from one client; wait for their replies",
		                       mine);
	if (guard->total >= guard->limits.total && !is_stop(m))
		return g_strdup_printf("pbmd is serving %u calls, the most it serves at once; "
		                       "try again in a moment",
		                       guard->total);
	if (calls == NULL) {
		calls = g_hash_table_new(g_direct_hash, g_direct_equal);
		g_hash_table_insert(guard->in_flight, g_strdup(sender), calls);
	}
	g_hash_table_add(calls, GUINT_TO_POINTER(g_dbus_message_get_serial(m)));
	guard->total++;
	return NULL;
}

static GDBusMessage *
incoming(PbmBusGuard *guard, GDBusConnection *c, GDBusMessage *m)
{
	g_autofree gchar *why = NULL;
	gint code = PBM_DBUS_ERROR_INVALID_ARGS;
	gsize size;

	if (g_dbus_message_get_message_type(m) != G_DBUS_MESSAGE_TYPE_METHOD_CALL ||
	    g_dbus_message_get_sender(m) == NULL)
		return m;
	if (g_dbus_message_get_flags(m) & G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED) {
		g_object_unref(m);
		return NULL;
	}
	size = body_size(m);
	if (g_dbus_message_get_num_unix_fds(m) > 0)
		why = g_strdup("no method of pbmd takes a file descriptor; call it without any");
	else if (size > guard->limits.max_body)
		why = g_strdup_printf("the arguments are %" G_GSIZE_FORMAT " bytes; no call to "
		                      "pbmd needs more than %" G_GSIZE_FORMAT,
		                      size, guard->limits.max_body);
	else
		why = admit(guard, m, &code);
	if (why == NULL)
		return m;
	refuse(c, m, code, why);
	g_object_unref(m);
	return NULL;
}

static void
outgoing(PbmBusGuard *guard, GDBusMessage *m)
{
	GDBusMessageType type = g_dbus_message_get_message_type(m);
	const gchar *destination = g_dbus_message_get_destination(m);
	g_autoptr(GMutexLocker) locker = NULL;
	GHashTable *calls;

	if ((type != G_DBUS_MESSAGE_TYPE_METHOD_RETURN && type != G_DBUS_MESSAGE_TYPE_ERROR) ||
	    destination == NULL)
		return;
	locker = g_mutex_locker_new(&guard->lock);
	calls = g_hash_table_lookup(guard->in_flight, destination);
	if (calls == NULL ||
	    !g_hash_table_remove(calls, GUINT_TO_POINTER(g_dbus_message_get_reply_serial(m))))
		return;
	guard->total--;
	if (g_hash_table_size(calls) == 0)
		g_hash_table_remove(guard->in_flight, destination);
}

static GDBusMessage *
filter(GDBusConnection *c, GDBusMessage *m, gboolean is_incoming, gpointer user_data)
{
	if (is_incoming)
		return incoming(user_data, c, m);
	outgoing(user_data, m);
	return m;
}

PbmBusGuard *
pbm_bus_guard_new(GDBusConnection *connection, const PbmBusGuardLimits *limits)
{
	PbmBusGuard *guard = g_atomic_rc_box_new0(PbmBusGuard);

	guard->connection = g_object_ref(connection);
	guard->limits = *limits;
	g_mutex_init(&guard->lock);
	guard->in_flight = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	                                         (GDestroyNotify)g_hash_table_unref);
	guard->filter_id =
	        g_dbus_connection_add_filter(connection, filter, guard_ref(guard), guard_unref);
	return guard;
}

void
pbm_bus_guard_free(PbmBusGuard *guard)
{
	g_dbus_connection_remove_filter(guard->connection, guard->filter_id);
	g_clear_object(&guard->connection);
	guard_unref(guard);
}
