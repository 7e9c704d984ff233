/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The fake polkit authority. See pbm-test-polkit.h.
 */
#include "pbm-test-polkit.h"
#include "pbm-test-process.h"

#define POLKIT_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_ERROR_FAILED "org.freedesktop.PolicyKit1.Error.Failed"
#define POLKIT_ERROR_CANCELLED "org.freedesktop.PolicyKit1.Error.Cancelled"

static const gchar polkit_xml[] = "<node>"
                                  "  <interface name='org.freedesktop.PolicyKit1.Authority'>"
                                  "    <method name='CheckAuthorization'>"
                                  "      <arg type='(sa{sv})' name='subject' direction='in'/>"
                                  "      <arg type='s' name='action_id' direction='in'/>"
                                  "      <arg type='a{ss}' name='details' direction='in'/>"
                                  "      <arg type='u' name='flags' direction='in'/>"
                                  "      <arg type='s' name='cancellation_id' direction='in'/>"
                                  "      <arg type='(bba{ss})' name='result' direction='out'/>"
                                  "    </method>"
                                  "    <method name='CancelCheckAuthorization'>"
                                  "      <arg type='s' name='cancellation_id' direction='in'/>"
                                  "    </method>"
                                  "    <property type='s' name='BackendName' access='read'/>"
                                  "    <property type='s' name='BackendVersion' access='read'/>"
                                  "    <property type='u' name='BackendFeatures' access='read'/>"
                                  "    <signal name='Changed'/>"
                                  "  </interface>"
                                  "</node>";

typedef struct {
	PbmTestPolkit *polkit;
	GDBusMethodInvocation *invocation;
	gchar *sender;
	gchar *cancellation_id;
	gboolean answer;
	GSource *source;
} PolkitPending;

struct _PbmTestPolkit {
	gchar *address;
	GDBusNodeInfo *node_info;
	GThread *thread;
	GMainContext *context;
	GMainLoop *loop;

	GMutex mutex;
	GCond cond;
	gboolean started; /* the thread has set up, or failed: error */
	GError *error;
	gboolean answer;
	GHashTable *action_answers; /* action id -> GINT_TO_POINTER(answer + 1) */
	GHashTable *calls;          /* action id -> GUINT_TO_POINTER(count) */
	guint delay_ms;
	GVariant *last_parameters;

	/* the thread's */
	GDBusConnection *connection;
	guint registration_id;
	GPtrArray *pending; /* PolkitPending */
};

static void
polkit_pending_free(gpointer data)
{
	PolkitPending *pending = data;

	if (pending->invocation != NULL)
		g_dbus_method_invocation_return_dbus_error(pending->invocation, POLKIT_ERROR_FAILED,
		                                           "The authority is going away");
	if (pending->source != NULL) {
		g_source_destroy(pending->source);
		g_source_unref(pending->source);
	}
	g_free(pending->sender);
	g_free(pending->cancellation_id);
	g_free(pending);
}

static GVariant *
polkit_result(gboolean answer)
{
	return g_variant_new("((bb@a{ss}))", answer, FALSE,
	                     g_variant_new_array(G_VARIANT_TYPE("{ss}"), NULL, 0));
}

static gboolean
polkit_pending_answer(gpointer data)
{
	PolkitPending *pending = data;

	g_dbus_method_invocation_return_value(g_steal_pointer(&pending->invocation),
	                                      polkit_result(pending->answer));
	g_ptr_array_remove(pending->polkit->pending, pending);
	return G_SOURCE_REMOVE;
}

/* What polkitd accepts as a subject (polkit_subject_new_for_gvariant). */
static gboolean
polkit_subject_valid(const gchar *kind, GVariant *details, gchar **why)
{
	g_autoptr(GVariant) pid = g_variant_lookup_value(details, "pid", NULL);
	g_autoptr(GVariant) pidfd = g_variant_lookup_value(details, "pidfd", NULL);
	g_autoptr(GVariant) start_time = g_variant_lookup_value(details, "start-time", NULL);
	g_autoptr(GVariant) uid = g_variant_lookup_value(details, "uid", NULL);
	g_autoptr(GVariant) name = g_variant_lookup_value(details, "name", NULL);
	g_autoptr(GVariant) session_id = g_variant_lookup_value(details, "session-id", NULL);

	if (g_strcmp0(kind, "unix-process") == 0) {
		if (pid == NULL && pidfd == NULL)
			*why = g_strdup("unix-process subject without pid");
		else if (pid != NULL && !g_variant_is_of_type(pid, G_VARIANT_TYPE_UINT32))
			*why = g_strdup("unix-process pid is not of type u");
		else if (pidfd != NULL && !g_variant_is_of_type(pidfd, G_VARIANT_TYPE_HANDLE))
			*why = g_strdup("unix-process pidfd is not of type h");
		else if (start_time != NULL &&
		         !g_variant_is_of_type(start_time, G_VARIANT_TYPE_UINT64))
			*why = g_strdup("unix-process start-time is not of type t");
		else if (uid != NULL && !g_variant_is_of_type(uid, G_VARIANT_TYPE_INT32))
			*why = g_strdup("unix-process uid is not of type i");
	} else if (g_strcmp0(kind, "system-bus-name") == 0) {
		if (name == NULL || !g_variant_is_of_type(name, G_VARIANT_TYPE_STRING) ||
		    !g_dbus_is_name(g_variant_get_string(name, NULL)))
			*why = g_strdup("system-bus-name subject without a valid name (s)");
	} else if (g_strcmp0(kind, "unix-session") == 0) {
		if (session_id == NULL || !g_variant_is_of_type(session_id, G_VARIANT_TYPE_STRING))
			*why = g_strdup("unix-session subject without session-id (s)");
	} else {
		*why = g_strdup_printf("Unknown subject kind `%s'", kind);
	}
	return *why == NULL;
}

static void
polkit_check(PbmTestPolkit *p, const gchar *sender, GVariant *parameters,
             GDBusMethodInvocation *invocation)
{
	const gchar *kind;
	const gchar *action_id;
	const gchar *cancellation_id;
	g_autoptr(GVariant) subject_details = NULL;
	g_autoptr(GVariant) details = NULL;
	g_autofree gchar *why = NULL;
	guint32 flags;
	gpointer override;
	gboolean answer;
	guint delay_ms;
	PolkitPending *pending;

	g_variant_get(parameters, "((&s@a{sv})&s@a{ss}u&s)", &kind, &subject_details, &action_id,
	              &details, &flags, &cancellation_id);

	g_mutex_lock(&p->mutex);
	g_hash_table_insert(
	        p->calls, g_strdup(action_id),
	        GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(p->calls, action_id)) + 1));
	g_clear_pointer(&p->last_parameters, g_variant_unref);
	p->last_parameters = g_variant_ref(parameters);
	override = g_hash_table_lookup(p->action_answers, action_id);
	answer = override != NULL ? GPOINTER_TO_INT(override) - 1 : p->answer;
	delay_ms = p->delay_ms;
	g_mutex_unlock(&p->mutex);

	if (!polkit_subject_valid(kind, subject_details, &why)) {
		g_dbus_method_invocation_return_dbus_error(invocation, POLKIT_ERROR_FAILED, why);
		return;
	}
	if (delay_ms == 0) {
		g_dbus_method_invocation_return_value(invocation, polkit_result(answer));
		return;
	}
	pending = g_new0(PolkitPending, 1);
	pending->polkit = p;
	pending->invocation = invocation;
	pending->sender = g_strdup(sender);
	pending->cancellation_id = g_strdup(cancellation_id);
	pending->answer = answer;
	pending->source = g_timeout_source_new(delay_ms);
	g_source_set_callback(pending->source, polkit_pending_answer, pending, NULL);
	g_source_attach(pending->source, p->context);
	g_ptr_array_add(p->pending, pending);
}

static void
polkit_cancel(PbmTestPolkit *p, const gchar *sender, GVariant *parameters,
              GDBusMethodInvocation *invocation)
{
	const gchar *cancellation_id;

	g_variant_get(parameters, "(&s)", &cancellation_id);
	for (guint i = 0; cancellation_id[0] != '\0' && i < p->pending->len; i++) {
		PolkitPending *pending = g_ptr_array_index(p->pending, i);

		if (g_strcmp0(pending->sender, sender) == 0 &&
		    g_strcmp0(pending->cancellation_id, cancellation_id) == 0) {
			g_dbus_method_invocation_return_dbus_error(
			        g_steal_pointer(&pending->invocation), POLKIT_ERROR_CANCELLED,
			        "The authentication was cancelled");
			g_ptr_array_remove_index(p->pending, i);
			g_dbus_method_invocation_return_value(invocation, NULL);
			return;
		}
	}
	g_dbus_method_invocation_return_dbus_error(
	        invocation, POLKIT_ERROR_FAILED,
	        "No such cancellation_id for this caller (or the check has ended)");
}

static void
polkit_method_call(GDBusConnection *connection, const gchar *sender, const gchar *object_path,
                   const gchar *interface_name, const gchar *method_name, GVariant *parameters,
                   GDBusMethodInvocation *invocation, gpointer user_data)
{
	PbmTestPolkit *p = user_data;

	if (g_strcmp0(method_name, "CheckAuthorization") == 0)
		polkit_check(p, sender, parameters, invocation);
	else if (g_strcmp0(method_name, "CancelCheckAuthorization") == 0)
		polkit_cancel(p, sender, parameters, invocation);
	else
		g_dbus_method_invocation_return_error(invocation, G_DBUS_ERROR,
		                                      G_DBUS_ERROR_UNKNOWN_METHOD, "No method %s",
		                                      method_name);
}

static GVariant *
polkit_get_property(GDBusConnection *connection, const gchar *sender, const gchar *object_path,
                    const gchar *interface_name, const gchar *property_name, GError **error,
                    gpointer user_data)
{
	if (g_strcmp0(property_name, "BackendName") == 0)
		return g_variant_new_string("pbm-test-polkit");
	if (g_strcmp0(property_name, "BackendVersion") == 0)
		return g_variant_new_string("0.1");
	if (g_strcmp0(property_name, "BackendFeatures") == 0)
		return g_variant_new_uint32(0);
	g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "No property %s",
	            property_name);
	return NULL;
}

static const GDBusInterfaceVTable polkit_vtable = {
	.method_call = polkit_method_call,
	.get_property = polkit_get_property,
};

static gboolean
polkit_setup(PbmTestPolkit *p, GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	guint32 result;

	p->connection = g_dbus_connection_new_for_address_sync(
	        p->address,
	        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
	                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	        NULL, NULL, error);
	if (p->connection == NULL)
		return FALSE;
	p->registration_id = g_dbus_connection_register_object(p->connection, POLKIT_PATH,
	                                                       p->node_info->interfaces[0],
	                                                       &polkit_vtable, p, NULL, error);
	if (p->registration_id == 0)
		return FALSE;
	/* 4: DBUS_NAME_FLAG_DO_NOT_QUEUE */
	reply = g_dbus_connection_call_sync(
	        p->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
	        "org.freedesktop.DBus", "RequestName", g_variant_new("(su)", POLKIT_NAME, 4u),
	        G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, error);
	if (reply == NULL)
		return FALSE;
	g_variant_get(reply, "(u)", &result);
	if (result != 1) {
		g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_FAILED,
		            "RequestName %s answered %u, not 1 (primary owner)", POLKIT_NAME,
		            result);
		return FALSE;
	}
	return TRUE;
}

static gpointer
polkit_thread(gpointer data)
{
	PbmTestPolkit *p = data;
	GError *error = NULL;
	gboolean ok;

	g_main_context_push_thread_default(p->context);
	ok = polkit_setup(p, &error);

	g_mutex_lock(&p->mutex);
	p->error = error;
	p->started = TRUE;
	g_cond_signal(&p->cond);
	g_mutex_unlock(&p->mutex);

	if (ok)
		g_main_loop_run(p->loop);

	g_ptr_array_set_size(p->pending, 0);
	if (p->registration_id != 0)
		g_dbus_connection_unregister_object(p->connection, p->registration_id);
	if (p->connection != NULL) {
		g_dbus_connection_close_sync(p->connection, NULL, NULL);
		g_clear_object(&p->connection);
	}
	/* sources the connection left (e.g. idle replies) go with the context */
	while (g_main_context_iteration(p->context, FALSE))
		;
	g_main_context_pop_thread_default(p->context);
	return NULL;
}

static gboolean
polkit_quit(gpointer data)
{
	PbmTestPolkit *p = data;

	g_main_loop_quit(p->loop);
	return G_SOURCE_REMOVE;
}

PbmTestPolkit *
pbm_test_polkit_new(PbmTestBus *bus, gboolean answer, GError **error)
{
	PbmTestPolkit *p = g_new0(PbmTestPolkit, 1);

	p->address = g_strdup(pbm_test_bus_get_address(bus));
	p->node_info = g_dbus_node_info_new_for_xml(polkit_xml, NULL);
	g_assert(p->node_info != NULL);
	p->context = g_main_context_new();
	p->loop = g_main_loop_new(p->context, FALSE);
	g_mutex_init(&p->mutex);
	g_cond_init(&p->cond);
	p->answer = answer;
	p->action_answers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	p->calls = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	p->pending = g_ptr_array_new_with_free_func(polkit_pending_free);

	p->thread = g_thread_new("fake-polkit", polkit_thread, p);
	g_mutex_lock(&p->mutex);
	while (!p->started)
		g_cond_wait(&p->cond, &p->mutex);
	g_mutex_unlock(&p->mutex);
	if (p->error != NULL) {
		g_propagate_prefixed_error(error, g_steal_pointer(&p->error),
		                           "fake polkit authority: ");
		pbm_test_polkit_free(p);
		return NULL;
	}
	return p;
}

void
pbm_test_polkit_free(PbmTestPolkit *p)
{
	if (p == NULL)
		return;
	if (p->thread != NULL) {
		GSource *source = g_idle_source_new();

		g_source_set_callback(source, polkit_quit, p, NULL);
		g_source_attach(source, p->context);
		g_source_unref(source);
		g_thread_join(p->thread);
	}
	g_clear_error(&p->error);
	g_ptr_array_unref(p->pending);
	g_hash_table_unref(p->action_answers);
	g_hash_table_unref(p->calls);
	g_clear_pointer(&p->last_parameters, g_variant_unref);
	g_main_loop_unref(p->loop);
	g_main_context_unref(p->context);
	g_dbus_node_info_unref(p->node_info);
	g_mutex_clear(&p->mutex);
	g_cond_clear(&p->cond);
	g_free(p->address);
	g_free(p);
}

void
pbm_test_polkit_set_answer(PbmTestPolkit *p, gboolean answer)
{
	g_mutex_lock(&p->mutex);
	p->answer = answer;
	g_mutex_unlock(&p->mutex);
}

void
pbm_test_polkit_set_action_answer(PbmTestPolkit *p, const gchar *action_id, gboolean answer)
{
	g_mutex_lock(&p->mutex);
	g_hash_table_insert(p->action_answers, g_strdup(action_id),
	                    GINT_TO_POINTER((answer ? 1 : 0) + 1));
	g_mutex_unlock(&p->mutex);
}

void
pbm_test_polkit_set_delay(PbmTestPolkit *p, guint delay_ms)
{
	g_mutex_lock(&p->mutex);
	p->delay_ms = delay_ms;
	g_mutex_unlock(&p->mutex);
}

guint
pbm_test_polkit_get_calls(PbmTestPolkit *p, const gchar *action_id)
{
	guint calls;

	g_mutex_lock(&p->mutex);
	calls = GPOINTER_TO_UINT(g_hash_table_lookup(p->calls, action_id));
	g_mutex_unlock(&p->mutex);
	return calls;
}

GVariant *
pbm_test_polkit_get_last_parameters(PbmTestPolkit *p)
{
	GVariant *parameters;

	g_mutex_lock(&p->mutex);
	parameters = p->last_parameters != NULL ? g_variant_ref(p->last_parameters) : NULL;
	g_mutex_unlock(&p->mutex);
	return parameters;
}
