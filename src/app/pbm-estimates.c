/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Estimates, one call at a time (pbm-estimates.h).
 */
#include "pbm-estimates.h"

#include "pbm-format.h"

typedef struct {
	GDBusProxy *manager;
	GStrv names;
	guint next;
	gdouble distance_cm;
	GCancellable *cancel;
	PbmEstimateFunc func;
	gpointer user_data;
} Run;

static void
run_free(Run *run)
{
	g_object_unref(run->manager);
	g_strfreev(run->names);
	g_object_unref(run->cancel);
	g_free(run);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Run, run_free)

static void ask_next(Run *run);

static void
on_estimate(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(Run) run = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), result, &error);
	g_autoptr(GVariant) estimate = NULL;
	const gchar *name = run->names[run->next];

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD))
		return;
	if (reply != NULL)
		estimate = g_variant_get_child_value(reply, 0);
	run->func(name, estimate, error, run->user_data);
	run->next++;
	ask_next(g_steal_pointer(&run));
}

static void
ask_next(Run *run)
{
	GVariantBuilder options;

	if (run->names[run->next] == NULL || g_cancellable_is_cancelled(run->cancel)) {
		run_free(run);
		return;
	}
	g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&options, "{sv}", "distance_cm",
	                      g_variant_new_double(run->distance_cm));
	g_dbus_proxy_call(run->manager, "EstimateSession",
	                  g_variant_new("(sa{sv})", run->names[run->next], &options),
	                  G_DBUS_CALL_FLAGS_NONE, -1, run->cancel, on_estimate, run);
}

void
pbm_estimates_run(GDBusProxy *manager, const gchar *const *names, gdouble distance_cm,
                  GCancellable *cancel, PbmEstimateFunc func, gpointer user_data)
{
	Run *run = g_new0(Run, 1);

	run->manager = g_object_ref(manager);
	run->names = g_strdupv((gchar **)names);
	run->distance_cm = distance_cm;
	run->cancel = g_object_ref(cancel);
	run->func = func;
	run->user_data = user_data;
	ask_next(run);
}

gchar *
pbm_estimate_text(GVariant *estimate, gdouble distance_cm)
{
	guint64 duration_s = 0;
	gdouble red = 0, nir = 0;
	gboolean goggles = FALSE;
	g_autofree gchar *duration = NULL;

	g_variant_lookup(estimate, "duration_s", "t", &duration_s);
	g_variant_lookup(estimate, "dose_red", "d", &red);
	g_variant_lookup(estimate, "dose_nir", "d", &nir);
	g_variant_lookup(estimate, "goggles_needed", "b", &goggles);
	duration = pbm_duration_format((gint64)duration_s * G_USEC_PER_SEC);
	return g_strdup_printf("%s · red %.1f J/cm² · NIR %.1f J/cm² at %.0f cm%s", duration, red,
	                       nir, distance_cm,
	                       goggles ? " · over the eye limit: needs eye protection" : "");
}
