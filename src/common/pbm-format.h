/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Durations as people write and read them, shared by the daemon,
 * its configuration files and pbmctl.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Parses "90", "90s", "5m", "1h", "1m30s", "2h 5m" into microseconds.
 * Plain numbers are seconds. Refuses empty, negative, fractional, unknown
 * units, repeated units and values beyond max_us; the error says what is
 * allowed. */
gboolean pbm_duration_parse(const gchar *text, gint64 max_us, gint64 *out_us, GError **error);
/* "10 min", "1 min 30 s", "45 s", "1 h 5 min" (seconds rounded down). */
gchar *pbm_duration_format(gint64 us);

/* "14:05" in local time when unix_us falls on the same day as now, else
 * with the day ("Thu 03 Dec 14:05"): when a refusal frees. */
gchar *pbm_format_day_time(gint64 unix_us, gint64 now);

G_END_DECLS
