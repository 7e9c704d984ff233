/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What each profile would give at a distance, asked of pbmd's
 * EstimateSession one profile at a time (a burst would meet pbmd's
 * per-client cap on calls in flight).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* estimate is EstimateSession's a{sv}, or NULL with error set. */
typedef void (*PbmEstimateFunc)(const gchar *name, GVariant *estimate, const GError *error,
                                gpointer user_data);

/* Calls func once per name, in order, until cancel is cancelled. An older
 * pbmd without EstimateSession ends the run quietly. */
void pbm_estimates_run(GDBusProxy *manager, const gchar *const *names, gdouble distance_cm,
                       GCancellable *cancel, PbmEstimateFunc func, gpointer user_data);
/* One line for people: "8 min · red 2.9 J/cm² · NIR 8.0 J/cm² at 20 cm". */
gchar *pbm_estimate_text(GVariant *estimate, gdouble distance_cm);

G_END_DECLS
