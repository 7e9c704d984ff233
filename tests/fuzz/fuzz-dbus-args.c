/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libFuzzer target: the validation of D-Bus method arguments
 * (src/daemon/pbm-dbus-args.h) on arbitrary serialized GVariants, as an
 * untrusted peer could send them. The first byte picks the method whose
 * arguments the rest of the bytes are:
 *   0  StartSession options, a{sv}
 *   1  StartSession and EstimateSession arguments, (sa{sv})
 *   2  GetProfile arguments, (s)
 *   3  GetHistory arguments, (xu)
 * Whatever the input, the validation either refuses it with an InvalidArgs
 * error whose message is non-empty UTF-8 (it goes on the bus), under 1 KiB
 * for anything the bus can deliver, and leaves its outputs alone; or it
 * accepts it with outputs in range.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pbm-dbus-args.h"
#include "pbm-dbus-error.h"
#include "pbm-profile.h"
#include "pbm-protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* D-Bus limits a signature to 255 characters, so the bus never delivers a
 * value whose type string is longer. */
#define DBUS_SIGNATURE_MAX 255
/* An error message quotes at most an excerpt of what the caller sent. */
#define MESSAGE_MAX 1024

static void
check_refusal(const GError *error, gboolean bus_sized)
{
	if (error == NULL || !g_error_matches(error, PBM_DBUS_ERROR, PBM_DBUS_ERROR_INVALID_ARGS) ||
	    error->message == NULL || error->message[0] == '\0' ||
	    !g_utf8_validate(error->message, -1, NULL))
		abort();
	if (bus_sized && strlen(error->message) > MESSAGE_MAX)
		abort();
}

static gboolean
types_fit_dbus(GVariant *options)
{
	GVariantIter iter;
	const gchar *key;
	GVariant *next;

	g_variant_iter_init(&iter, options);
	while (g_variant_iter_next(&iter, "{&sv}", &key, &next)) {
		g_autoptr(GVariant) value = next;
		if (strlen(g_variant_get_type_string(value)) > DBUS_SIGNATURE_MAX)
			return FALSE;
	}
	return TRUE;
}

static void
check_options(GVariant *options)
{
	g_autoptr(GError) error = NULL;
	/* Sentinels: a refusal must not touch them. */
	gchar *untouched[] = { NULL };
	gchar **serials = untouched;
	PbmPlanRequest request = { .distance_cm = -1.0, .goggles = 2 };
	gdouble distance_cm;

	if (!pbm_dbus_args_parse_start_options(options, &serials, &request, &error)) {
		check_refusal(error, types_fit_dbus(options));
		if (serials != untouched || request.distance_cm != -1.0 || request.goggles != 2)
			abort();
		return;
	}
	if (error != NULL || (request.goggles != TRUE && request.goggles != FALSE))
		abort();
	distance_cm = request.distance_cm;
	if (serials != NULL) {
		guint n = g_strv_length(serials);
		if (n < 1 || n > PBM_DBUS_ARGS_PANELS_MAX)
			abort();
		for (guint i = 0; i < n; i++) {
			gsize len = strlen(serials[i]);
			if (len < 1 || len > PBM_STRING_SERIAL_LEN ||
			    !g_utf8_validate(serials[i], -1, NULL))
				abort();
		}
	}
	if (distance_cm != 0.0 && !(distance_cm >= PBM_PROFILE_DISTANCE_MIN_CM &&
	                            distance_cm <= PBM_PROFILE_DISTANCE_MAX_CM))
		abort();
	/* An accepted dictionary names only the known keys, with their types. */
	{
		GVariantIter iter;
		const gchar *key;
		GVariant *next;

		g_variant_iter_init(&iter, options);
		while (g_variant_iter_next(&iter, "{&sv}", &key, &next)) {
			g_autoptr(GVariant) value = next;
			if (!(g_str_equal(key, "panels") &&
			      g_variant_is_of_type(value, G_VARIANT_TYPE_STRING_ARRAY)) &&
			    !(g_str_equal(key, "distance_cm") &&
			      g_variant_is_of_type(value, G_VARIANT_TYPE_DOUBLE)) &&
			    !(g_str_equal(key, "goggles") &&
			      g_variant_is_of_type(value, G_VARIANT_TYPE_BOOLEAN)))
				abort();
		}
	}
	g_strfreev(serials);
}

static void
check_profile_name(const gchar *name)
{
	g_autoptr(GError) error = NULL;
	gsize len = strlen(name);

	if (!pbm_dbus_args_check_profile_name(name, &error)) {
		check_refusal(error, TRUE);
		return;
	}
	/* Accepted names are safe as file names: NAME.conf in a profile directory. */
	if (error != NULL || len == 0 || len > PBM_PROFILE_NAME_MAX || name[0] == '-' ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != len)
		abort();
}

static void
check_history_limit(guint limit)
{
	g_autoptr(GError) error = NULL;
	guint effective = G_MAXUINT;

	if (!pbm_dbus_args_check_history_limit(limit, &effective, &error)) {
		check_refusal(error, TRUE);
		if (effective != G_MAXUINT || limit <= PBM_DBUS_HISTORY_MAX_LIMIT)
			abort();
		return;
	}
	if (effective < 1 || effective > PBM_DBUS_HISTORY_MAX_LIMIT ||
	    (limit != 0 && effective != limit))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const gchar *const types[] = { "a{sv}", "(sa{sv})", "(s)", "(xu)" };
	g_autoptr(GVariant) args = NULL;
	guint which;

	if (size < 1)
		return 0;
	which = data[0] % G_N_ELEMENTS(types);
	args = g_variant_ref_sink(g_variant_new_from_data(G_VARIANT_TYPE(types[which]), data + 1,
	                                                  size - 1, FALSE, NULL, NULL));
	switch (which) {
	case 0:
		check_options(args);
		break;
	case 1: {
		g_autoptr(GVariant) name = g_variant_get_child_value(args, 0);
		g_autoptr(GVariant) options = g_variant_get_child_value(args, 1);
		check_profile_name(g_variant_get_string(name, NULL));
		check_options(options);
		break;
	}
	case 2: {
		g_autoptr(GVariant) name = g_variant_get_child_value(args, 0);
		check_profile_name(g_variant_get_string(name, NULL));
		break;
	}
	case 3: {
		guint32 limit;
		gint64 since;
		g_variant_get(args, "(xu)", &since, &limit);
		check_history_limit(limit);
		break;
	}
	}
	return 0;
}
