/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmctl history [--since DATE] [--limit N]: past sessions, newest first.
 */
#include "pbm-names.h"
#include "pbmctl-commands.h"

/* since: YYYY-MM-DD, local midnight. FALSE when it is not a date. */
static gboolean
parse_since(const gchar *since, gint64 *since_us)
{
	g_autofree gchar *iso = g_strconcat(since, "T00:00:00", NULL);
	g_autoptr(GTimeZone) tz = g_time_zone_new_local();
	g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(iso, tz);

	if (dt == NULL)
		return FALSE;
	*since_us = g_date_time_to_unix(dt) * G_USEC_PER_SEC;
	return TRUE;
}

static void
print_row(GVariant *r)
{
	gint64 started = 0, id = 0;
	g_autoptr(GDateTime) dt = NULL;
	g_autofree gchar *when = NULL;

	g_variant_lookup(r, "started_at", "x", &started);
	g_variant_lookup(r, "id", "x", &id);
	dt = g_date_time_new_from_unix_local(started / G_USEC_PER_SEC);
	when = g_date_time_format(dt, "%Y-%m-%d %H:%M");
	g_print("%4" G_GINT64_FORMAT "  %s  %-14s %-16s red %5.1f  NIR %5.1f J/cm²\n", id, when,
	        pbm_ctl_lookup_s(r, "profile"),
	        *pbm_ctl_lookup_s(r, "outcome") ? pbm_ctl_lookup_s(r, "outcome") : "running",
	        pbm_ctl_lookup_d(r, "dose_red"), pbm_ctl_lookup_d(r, "dose_nir"));
}

/* pbmd answers a page of at most 100 rows, oldest first; this is the most
 * asked at once. */
#define PAGE_ROWS 100u

/* Every row since since_us, page by page; NULL after printing the error. */
static GPtrArray *
fetch_all(PbmCtl *ctl, gint64 since_us, gint *exit_code)
{
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);

	for (;;) {
		GError *error = NULL;
		g_autoptr(GVariant) reply =
		        pbm_ctl_call(ctl, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "GetHistory",
		                     g_variant_new("(xu)", since_us, PAGE_ROWS),
		                     G_VARIANT_TYPE("(aa{sv})"), &error);
		g_autoptr(GVariant) page = NULL;
		gsize n;

		if (reply == NULL) {
			*exit_code = pbm_ctl_fail(ctl, error);
			return NULL;
		}
		page = g_variant_get_child_value(reply, 0);
		n = g_variant_n_children(page);
		for (gsize i = 0; i < n; i++)
			g_ptr_array_add(rows, g_variant_get_child_value(page, i));
		if (n < PAGE_ROWS)
			return g_steal_pointer(&rows);
		g_variant_lookup(g_ptr_array_index(rows, rows->len - 1), "started_at", "x",
		                 &since_us);
		since_us++;
	}
}

/* The newest limit rows since since_us, newest first. */
static gint
list(PbmCtl *ctl, gint64 since_us, gint limit)
{
	gint code = PBM_CTL_EXIT_OK;
	g_autoptr(GPtrArray) rows = fetch_all(ctl, since_us, &code);
	GVariantBuilder b;
	g_autoptr(GVariant) newest = NULL;
	guint first;

	if (rows == NULL)
		return code;
	first = rows->len > (guint)limit ? rows->len - (guint)limit : 0;
	if (!ctl->json) {
		for (guint i = rows->len; i > first; i--)
			print_row(g_ptr_array_index(rows, i - 1));
		return PBM_CTL_EXIT_OK;
	}
	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = rows->len; i > first; i--)
		g_variant_builder_add_value(&b, g_ptr_array_index(rows, i - 1));
	newest = g_variant_ref_sink(g_variant_builder_end(&b));
	pbm_ctl_print_variant_json(newest);
	return PBM_CTL_EXIT_OK;
}

gint
pbm_ctl_history(PbmCtl *ctl, gint argc, gchar **argv)
{
	g_autofree gchar *since = NULL;
	gint limit = 20;
	GOptionEntry entries[] = {
		{ "since", 0, 0, G_OPTION_ARG_STRING, &since,
		  "Only sessions since DATE (YYYY-MM-DD)", "DATE" },
		{ "limit", 0, 0, G_OPTION_ARG_INT, &limit, "At most N sessions (default 20)", "N" },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new("- list past sessions");
	g_autoptr(GError) error = NULL;
	gint64 since_us = 0;

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("pbmctl history: %s\n", error->message);
		return PBM_CTL_EXIT_USAGE;
	}
	if (limit < 1 || limit > 10000) {
		g_printerr("pbmctl history: --limit must be 1 to 10000\n");
		return PBM_CTL_EXIT_USAGE;
	}
	if (since != NULL && !parse_since(since, &since_us)) {
		g_printerr("pbmctl history: --since takes a date as YYYY-MM-DD, not \"%s\"\n",
		           since);
		return PBM_CTL_EXIT_USAGE;
	}
	return list(ctl, since_us, limit);
}
