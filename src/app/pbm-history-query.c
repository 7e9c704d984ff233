/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Paged history (pbm-history-query.h). The next page starts just after
 * the last row's start, as GetHistory's documentation says.
 */
#include "pbm-history-query.h"

/* GetHistory's largest page */
#define PBM_HISTORY_PAGE 100
/* 30 days of sessions many times a day is far below this; a pbmd that
 * kept answering full pages would otherwise keep the app asking. */
#define PBM_HISTORY_MAX_ROWS 5000

typedef struct {
	GDBusProxy *manager;
	GCancellable *cancel;
	GPtrArray *rows;
	PbmHistoryFunc func;
	gpointer user_data;
} Query;

static void
query_free(Query *q)
{
	g_object_unref(q->manager);
	g_object_unref(q->cancel);
	g_ptr_array_unref(q->rows);
	g_free(q);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Query, query_free)

static void ask_page(Query *q, gint64 since);

static gint64
started_at(GVariant *row)
{
	gint64 t = 0;

	g_variant_lookup(row, "started_at", "x", &t);
	return t;
}

static void
on_page(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(Query) q = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), result, &error);
	g_autoptr(GVariant) page = NULL;
	gsize n;

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	if (reply == NULL) {
		q->func(NULL, error, q->user_data);
		return;
	}
	page = g_variant_get_child_value(reply, 0);
	n = g_variant_n_children(page);
	for (gsize i = 0; i < n; i++)
		g_ptr_array_add(q->rows, g_variant_get_child_value(page, i));
	if (n < PBM_HISTORY_PAGE || q->rows->len >= PBM_HISTORY_MAX_ROWS) {
		q->func(q->rows, NULL, q->user_data);
		return;
	}
	ask_page(g_steal_pointer(&q), started_at(g_ptr_array_index(q->rows, q->rows->len - 1)) + 1);
}

static void
ask_page(Query *q, gint64 since)
{
	/* not interactive: without the right to read everyone's sessions,
	 * pbmd gives the caller's own, which is what the page is for; a
	 * password dialog each time the page shows would be in the way */
	g_dbus_proxy_call(q->manager, "GetHistory",
	                  g_variant_new("(xu)", since, (guint32)PBM_HISTORY_PAGE),
	                  G_DBUS_CALL_FLAGS_NONE, -1, q->cancel, on_page, q);
}

void
pbm_history_query(GDBusProxy *manager, gint64 since_unix_us, GCancellable *cancel,
                  PbmHistoryFunc func, gpointer user_data)
{
	Query *q = g_new0(Query, 1);

	q->manager = g_object_ref(manager);
	q->cancel = g_object_ref(cancel);
	q->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);
	q->func = func;
	q->user_data = user_data;
	ask_page(q, since_unix_us);
}
