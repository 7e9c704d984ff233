/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-format.h"

#include <string.h>

static gboolean
parse_error(GError **error, const gchar *text, const gchar *why)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
	            "'%s' is not a duration (%s); write seconds (\"90\"), or a number with a "
	            "unit: \"90s\", \"5m\", \"1h\", \"1m30s\"",
	            text, why);
	return FALSE;
}

static gint64
unit_us(gchar unit)
{
	switch (unit) {
	case 'h':
		return G_GINT64_CONSTANT(3600) * G_USEC_PER_SEC;
	case 'm':
		return G_GINT64_CONSTANT(60) * G_USEC_PER_SEC;
	case 's':
		return G_USEC_PER_SEC;
	default:
		return 0;
	}
}

gboolean
pbm_duration_parse(const gchar *text, gint64 max_us, gint64 *out_us, GError **error)
{
	const gchar *p = text;
	gint64 total = 0;
	guint seen = 0; /* bit per unit, in h > m > s order */
	gint last_rank = -1;
	gboolean any = FALSE;

	while (*p != '\0') {
		guint64 value = 0;
		const gchar *start;
		gint64 mul;
		gint rank;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (g_ascii_isdigit(*p)) {
			value = value * 10 + (guint64)(*p - '0');
			if (value > (guint64)G_MAXINT32)
				return parse_error(error, text, "number too large");
			p++;
		}
		if (p == start)
			return parse_error(error, text, "expected a whole number");
		while (*p == ' ')
			p++;
		if (*p == '\0' && !any) {
			/* a bare number is seconds */
			total = (gint64)value * G_USEC_PER_SEC;
			any = TRUE;
			break;
		}
		mul = unit_us(*p);
		if (mul == 0)
			return parse_error(error, text, "unknown unit");
		rank = *p == 'h' ? 0 : *p == 'm' ? 1 : 2;
		if (seen & (1u << rank) || rank <= last_rank)
			return parse_error(error, text, "units must appear once, as h, m, s");
		seen |= 1u << rank;
		last_rank = rank;
		total += (gint64)value * mul;
		any = TRUE;
		p++;
	}
	if (!any)
		return parse_error(error, text, "it is empty");
	if (total > max_us) {
		g_autofree gchar *max = pbm_duration_format(max_us);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		            "'%s' is longer than the maximum of %s", text, max);
		return FALSE;
	}
	*out_us = total;
	return TRUE;
}

gchar *
pbm_duration_format(gint64 us)
{
	gint64 s = MAX(us, 0) / G_USEC_PER_SEC;
	gint64 h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
	g_autoptr(GString) out = g_string_new(NULL);

	if (h > 0)
		g_string_append_printf(out, "%" G_GINT64_FORMAT " h", h);
	if (m > 0)
		g_string_append_printf(out, "%s%" G_GINT64_FORMAT " min", out->len ? " " : "", m);
	if (sec > 0 || out->len == 0)
		g_string_append_printf(out, "%s%" G_GINT64_FORMAT " s", out->len ? " " : "", sec);
	return g_string_free(g_steal_pointer(&out), FALSE);
}

gchar *
pbm_format_day_time(gint64 unix_us, gint64 now)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local(unix_us / G_USEC_PER_SEC);
	g_autoptr(GDateTime) today = g_date_time_new_from_unix_local(now / G_USEC_PER_SEC);

	if (dt == NULL || today == NULL)
		return g_strdup("?");
	if (g_date_time_get_day_of_year(dt) == g_date_time_get_day_of_year(today) &&
	    g_date_time_get_year(dt) == g_date_time_get_year(today))
		return g_date_time_format(dt, "%H:%M");
	return g_date_time_format(dt, "%a %d %b %H:%M");
}
