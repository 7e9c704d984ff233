/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Validation of the arguments that D-Bus callers pass to org.pbmd1.Manager.
 * Pure: no bus, no manager. Every refusal is a PBM_DBUS_ERROR_INVALID_ARGS
 * error whose message says what a valid argument is. The exporter calls
 * these before it asks for authorization, and the fuzzers call them on
 * arbitrary serialized GVariants.
 */
#pragma once

#include <glib.h>

#include "pbm-plan.h"

G_BEGIN_DECLS

#define PBM_DBUS_ARGS_PANELS_MAX 16u
/* GetHistory pages: since the next page starts after the last row, a
 * client reads all it wants in pages this small. */
#define PBM_DBUS_HISTORY_DEFAULT_LIMIT 100u
#define PBM_DBUS_HISTORY_MAX_LIMIT 100u
/* Characters of a caller's string quoted back in an error message. */
#define PBM_DBUS_ARGS_EXCERPT_MAX 64u

/* The profile name of StartSession, EstimateSession and GetProfile. */
gboolean pbm_dbus_args_check_profile_name(const gchar *name, GError **error);

/* StartSession's and EstimateSession's a{sv} options: "panels" (as, 1 to PBM_DBUS_ARGS_PANELS_MAX
 * serials of 1 to PBM_STRING_SERIAL_LEN bytes), "distance_cm" (d, within
 * the profile distance range) and "goggles" (b); any other key, or a known key of
 * another type, is refused. On success
 * *serials is set to a new strv, or to NULL (every panel), and request to
 * the distance, or 0 (the profile's own), and the goggles acknowledgement;
 * on failure neither is touched. */
gboolean pbm_dbus_args_parse_start_options(GVariant *options, gchar ***serials,
                                           PbmPlanRequest *request, GError **error);

/* GetHistory's limit: 0 means PBM_DBUS_HISTORY_DEFAULT_LIMIT, at most
 * PBM_DBUS_HISTORY_MAX_LIMIT. On success *effective is the row limit. */
gboolean pbm_dbus_args_check_history_limit(guint limit, guint *effective, GError **error);

G_END_DECLS
