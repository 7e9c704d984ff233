/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-export-history.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pbm-dbus-error.h"
#include "pbm-export-variant.h"

#define HISTORY_NICE 10

struct _PbmExportHistory {
	gchar *path;
	GThreadPool *pool;   /* one thread */
	PbmHistory *reader;  /* the pool's thread only; opened at the first query */
	gboolean niced;      /* the pool's thread only */
	GMutex lock;         /* guards what follows */
	GHashTable *waiting; /* caller uid (text) -> queries waiting or running */
	GHashTable *clients; /* sender -> calls admitted */
};

typedef struct {
	PbmExportHistory *self;
	GDBusMethodInvocation *invocation;
	PbmHistoryQuery query;
	guint32 caller;
} Query;

/* Places in progress per key (a user, a connection): one more for key
 * unless it has max already. Holds the lock. */
static gboolean
take_place(GHashTable *places, const gchar *key, guint max)
{
	guint n = GPOINTER_TO_UINT(g_hash_table_lookup(places, key));

	if (n >= max)
		return FALSE;
	g_hash_table_insert(places, g_strdup(key), GUINT_TO_POINTER(n + 1));
	return TRUE;
}

static void
give_place(GHashTable *places, const gchar *key)
{
	guint n = GPOINTER_TO_UINT(g_hash_table_lookup(places, key));

	if (n <= 1)
		g_hash_table_remove(places, key);
	else
		g_hash_table_insert(places, g_strdup(key), GUINT_TO_POINTER(n - 1));
}

static gboolean
count_in(PbmExportHistory *self, guint32 uid)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&self->lock);
	gchar key[16];

	g_snprintf(key, sizeof key, "%u", uid);
	return take_place(self->waiting, key, PBM_EXPORT_HISTORY_PER_USER);
}

static void
count_out(PbmExportHistory *self, guint32 uid)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&self->lock);
	gchar key[16];

	g_snprintf(key, sizeof key, "%u", uid);
	give_place(self->waiting, key);
}

gboolean
pbm_export_history_admit(PbmExportHistory *self, GDBusMethodInvocation *invocation)
{
	const gchar *sender = g_dbus_method_invocation_get_sender(invocation);
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&self->lock);

	if (!take_place(self->clients, sender, PBM_EXPORT_HISTORY_PER_CLIENT)) {
		g_dbus_method_invocation_return_error(
		        invocation, PBM_DBUS_ERROR, PBM_DBUS_ERROR_BUSY,
		        "%u GetHistory calls of this connection are in progress already; ask "
		        "again when they are answered",
		        PBM_EXPORT_HISTORY_PER_CLIENT);
		return FALSE;
	}
	return TRUE;
}

void
pbm_export_history_dismiss(PbmExportHistory *self, GDBusMethodInvocation *invocation)
{
	const gchar *sender = g_dbus_method_invocation_get_sender(invocation);
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&self->lock);

	give_place(self->clients, sender);
}

static void
query_free(Query *q)
{
	count_out(q->self, q->caller);
	pbm_export_history_dismiss(q->self, q->invocation);
	g_object_unref(q->invocation);
	g_free(q);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Query, query_free)

static GVariant *
rows_variant(GPtrArray *rows)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("(aa{sv})"));
	g_variant_builder_open(&b, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < rows->len; i++)
		g_variant_builder_add_value(&b,
		                            pbm_export_history_variant(g_ptr_array_index(rows, i)));
	g_variant_builder_close(&b);
	return g_variant_builder_end(&b);
}

static GPtrArray *
run_query(PbmExportHistory *self, Query *q, GError **error)
{
	if (!self->niced) {
		/* Linux: a thread's own nice value, by its id */
		if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), HISTORY_NICE) != 0)
			g_debug("history thread keeps its priority: %s", g_strerror(errno));
		self->niced = TRUE;
	}
	if (self->reader == NULL)
		self->reader = pbm_history_open_reader(self->path, error);
	if (self->reader == NULL)
		return NULL;
	return pbm_history_list(self->reader, &q->query, error);
}

static void
answer(gpointer data, gpointer user_data)
{
	g_autoptr(Query) q = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) rows = run_query(user_data, q, &error);

	if (rows == NULL) {
		g_dbus_method_invocation_return_error_literal(
		        q->invocation, PBM_DBUS_ERROR, PBM_DBUS_ERROR_DEVICE, error->message);
		return;
	}
	g_dbus_method_invocation_return_value(q->invocation, rows_variant(rows));
}

PbmExportHistory *
pbm_export_history_new(const gchar *path)
{
	PbmExportHistory *self = g_new0(PbmExportHistory, 1);

	self->path = g_strdup(path);
	g_mutex_init(&self->lock);
	self->waiting = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->clients = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->pool = g_thread_pool_new(answer, self, 1, FALSE, NULL);
	return self;
}

void
pbm_export_history_query(PbmExportHistory *self, GDBusMethodInvocation *invocation, gint64 since,
                         guint limit, gint64 owner_uid, guint32 caller_uid)
{
	Query *q;

	if (!count_in(self, caller_uid)) {
		pbm_export_history_dismiss(self, invocation);
		g_dbus_method_invocation_return_error(
		        invocation, PBM_DBUS_ERROR, PBM_DBUS_ERROR_BUSY,
		        "%u history queries of this user are waiting already; ask again when "
		        "they are answered",
		        PBM_EXPORT_HISTORY_PER_USER);
		return;
	}
	q = g_new0(Query, 1);
	q->self = self;
	q->caller = caller_uid;
	q->invocation = g_object_ref(invocation);
	q->query.since = since;
	q->query.limit = limit;
	q->query.owner_uid = owner_uid;
	g_thread_pool_push(self->pool, q, NULL);
}

void
pbm_export_history_free(PbmExportHistory *self)
{
	if (self == NULL)
		return;
	g_thread_pool_free(self->pool, FALSE, TRUE);
	g_clear_pointer(&self->reader, pbm_history_free);
	g_hash_table_unref(self->waiting);
	g_hash_table_unref(self->clients);
	g_mutex_clear(&self->lock);
	g_free(self->path);
	g_free(self);
}
