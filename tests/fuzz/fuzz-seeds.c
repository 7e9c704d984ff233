/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Writes the seed corpora of fuzz-protocol and fuzz-dbus-args: valid
 * encodings from the protocol encoders and serialized D-Bus arguments, each
 * behind the selector byte its target dispatches on. Run once, by hand:
 *   build/tests/fuzz/fuzz-seeds tests/fuzz/corpus
 * The files it writes are committed; the fuzzers add what they find.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "pbm-names.h"
#include "pbm-profile.h"
#include "pbm-protocol.h"
#include "pbm-sim.h"

static const gchar *root;

static void
write_seed(const gchar *target, const gchar *name, guint8 selector, const void *data, gsize len)
{
	g_autofree gchar *dir = g_build_filename(root, target, NULL);
	g_autofree gchar *file = g_strconcat(name, ".bin", NULL);
	g_autofree gchar *path = g_build_filename(dir, file, NULL);
	g_autoptr(GByteArray) bytes = g_byte_array_new();
	g_autoptr(GError) error = NULL;

	g_byte_array_append(bytes, &selector, 1);
	g_byte_array_append(bytes, data, len);
	if (g_mkdir_with_parents(dir, 0755) < 0 ||
	    !g_file_set_contents(path, (const gchar *)bytes->data, bytes->len, &error)) {
		fprintf(stderr, "cannot write %s: %s\n", path,
		        error != NULL ? error->message : g_strerror(errno));
		exit(EXIT_FAILURE);
	}
}

static void
must(gboolean ok, const GError *error)
{
	if (!ok) {
		fprintf(stderr, "encoder refused a seed: %s\n",
		        error != NULL ? error->message : "no reason given");
		exit(EXIT_FAILURE);
	}
}

static void
protocol_info(const gchar *name, const PbmSimConfig *c, guint8 major)
{
	PbmInfo info = { .proto_major = PBM_PROTOCOL_MAJOR,
		         .proto_minor = PBM_PROTOCOL_MINOR,
		         .channel_count = c->channel_count,
		         .max_session_s = c->max_session_s,
		         .t_derate_dc = c->t_derate_dc,
		         .t_max_dc = c->t_max_dc,
		         .watchdog_min_ms = c->watchdog_min_ms,
		         .watchdog_max_ms = c->watchdog_max_ms };
	guint8 buf[sizeof(struct pbm_wire_info)];
	GError *error = NULL;

	g_strlcpy(info.serial, c->serial, sizeof(info.serial));
	g_strlcpy(info.model, c->model, sizeof(info.model));
	g_strlcpy(info.firmware, c->firmware, sizeof(info.firmware));
	must(pbm_info_encode(&info, buf, &error), error);
	buf[offsetof(struct pbm_wire_info, proto_major)] = major;
	write_seed("protocol", name, 0, buf, sizeof(buf));
}

static void
protocol_channels(const gchar *name, const PbmSimConfig *c)
{
	guint8 buf[1 + PBM_CHANNELS_REPLY_SIZE(PBM_MAX_CHANNELS)];
	GError *error = NULL;
	gsize n;

	buf[0] = (guint8)c->channel_count;
	n = pbm_channels_encode(c->channels, c->channel_count, buf + 1, sizeof(buf) - 1, &error);
	must(n > 0, error);
	write_seed("protocol", name, 1, buf, 1 + n);
}

static void
protocol_status(const gchar *name, const PbmStatus *s)
{
	guint8 buf[sizeof(struct pbm_wire_status)];
	GError *error = NULL;

	must(pbm_status_encode(s, buf, &error), error);
	write_seed("protocol", name, 2, buf, sizeof(buf));
}

static void
protocol_report(const gchar *name, guint16 seq, guint16 events, const PbmStatus *s)
{
	PbmReport r = { .type = PBM_REPORT_STATUS, .seq = seq, .events = events, .status = *s };
	guint8 buf[sizeof(struct pbm_wire_report)];
	GError *error = NULL;

	must(pbm_report_encode(&r, buf, &error), error);
	write_seed("protocol", name, 3, buf, sizeof(buf));
}

static void
protocol_output(const gchar *name, const PbmOutput *o)
{
	guint8 buf[sizeof(struct pbm_wire_output)];
	GError *error = NULL;

	must(pbm_output_encode(o, buf, &error), error);
	write_seed("protocol", name, 4, buf, sizeof(buf));
}

static void
protocol_result(const gchar *name, guint8 asked, const PbmResult *r)
{
	guint8 buf[1 + sizeof(struct pbm_wire_result)];
	GError *error = NULL;

	buf[0] = asked;
	must(pbm_result_encode(r, buf + 1, &error), error);
	write_seed("protocol", name, 5, buf, sizeof(buf));
}

static void
protocol_seeds(void)
{
	PbmSimConfig two, eight;
	PbmStatus dark = { .duty = PBM_DUTY_MAX, .temperature_dc = 221, .derate = 1000 };
	PbmStatus lit = { .level = { 800, 600 },
		          .pulse_mhz = 10000,
		          .duty = 500,
		          .temperature_dc = 412,
		          .fan_rpm = 3000,
		          .derate = 940,
		          .watchdog = PBM_WATCHDOG_ARMED,
		          .flags = PBM_STATUS_LIT | PBM_STATUS_DERATING,
		          .watchdog_left_ms = 2400,
		          .session_left_s = 598,
		          .uptime_ms = 123456 };
	PbmStatus fault = { .duty = PBM_DUTY_MAX,
		            .temperature_dc = 551,
		            .derate = 0,
		            .faults = PBM_FAULT_OVER_TEMP | PBM_FAULT_FAN_STALL | (1u << 31),
		            .watchdog = PBM_WATCHDOG_EXPIRED,
		            .flags = 0xf0,
		            .uptime_ms = G_MAXUINT32 };
	PbmOutput on = { .level = { 1000, 1000 }, .duty = PBM_DUTY_MAX, .session_cap_s = 600 };
	PbmOutput pulsed = { .level = { 500, 0, 0, 0, 0, 0, 0, 1000 },
		             .pulse_mhz = PBM_PULSE_MAX_MHZ,
		             .duty = 1,
		             .ramp_ms = PBM_RAMP_MAX_MS,
		             .session_cap_s = PBM_SESSION_CAP_MAX_S };
	PbmOutput off = { .duty = PBM_DUTY_MAX };

	pbm_sim_config_init(&two, "SIM0001");
	pbm_sim_config_init(&eight, "PANEL_8-ch");
	g_strlcpy(eight.model, "eight channels, eight points ~~~", sizeof(eight.model));
	g_strlcpy(eight.firmware, "16-chars-exactly", sizeof(eight.firmware));
	eight.channel_count = PBM_MAX_CHANNELS;
	eight.t_derate_dc = PBM_TEMP_MIN_DC;
	eight.t_max_dc = PBM_TEMP_MAX_DC;
	eight.max_session_s = PBM_SESSION_CAP_MAX_S;
	eight.watchdog_max_ms = PBM_WATCHDOG_MIN_MS;
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++) {
		PbmChannel *ch = &eight.channels[i];
		ch->index = (guint8)i;
		ch->band = i % 2 == 0 ? PBM_BAND_RED : PBM_BAND_NIR;
		ch->wavelength_nm =
		        i % 2 == 0 ? PBM_WAVELENGTH_MIN_NM + i : PBM_WAVELENGTH_MAX_NM - i;
		ch->max_level = (guint16)(1 + i * 100);
		ch->point_count = PBM_CAL_POINTS_MAX;
		for (guint p = 0; p < PBM_CAL_POINTS_MAX; p++)
			ch->points[p] =
			        (PbmCalPoint){ (guint16)(1 + p * 9000), (guint16)(65535 - p) };
	}

	protocol_info("info-sim", &two, PBM_PROTOCOL_MAJOR);
	protocol_info("info-8ch", &eight, PBM_PROTOCOL_MAJOR);
	protocol_info("info-major2", &two, PBM_PROTOCOL_MAJOR + 1);
	protocol_channels("channels-sim", &two);
	protocol_channels("channels-8ch", &eight);
	two.channel_count = 1;
	two.channels[0].point_count = 1;
	protocol_channels("channels-1pt", &two);
	protocol_status("status-dark", &dark);
	protocol_status("status-lit", &lit);
	protocol_status("status-fault", &fault);
	protocol_report("report-reset", 0, PBM_EVENT_RESET, &dark);
	protocol_report("report-lit", 4711, 0, &lit);
	protocol_report("report-events", G_MAXUINT16, 0xffff, &fault);
	protocol_output("output-on", &on);
	protocol_output("output-pulsed", &pulsed);
	protocol_output("output-off", &off);
	protocol_result("result-none", PBM_REQ_SET_OUTPUT,
	                &(PbmResult){ .request = PBM_REQ_SET_OUTPUT });
	protocol_result("result-ok", PBM_REQ_SET_OUTPUT,
	                &(PbmResult){ .request = PBM_REQ_SET_OUTPUT, .count = 1 });
	protocol_result("result-watchdog", PBM_REQ_SET_OUTPUT,
	                &(PbmResult){ .request = PBM_REQ_SET_OUTPUT,
	                              .result = PBM_RESULT_WATCHDOG,
	                              .count = G_MAXUINT16 });
	protocol_result("result-other-request", PBM_REQ_SET_OUTPUT,
	                &(PbmResult){ .request = PBM_REQ_HEARTBEAT,
	                              .result = PBM_RESULT_BAD_VALUE,
	                              .count = 3 });
}

static void
dbus_seed(const gchar *name, guint8 selector, GVariant *value)
{
	g_autoptr(GVariant) v = g_variant_ref_sink(value);

	write_seed("dbus-args", name, selector, g_variant_get_data(v), g_variant_get_size(v));
}

static GVariant *
options(const gchar *first_key, ...)
{
	g_autoptr(GVariantBuilder) b = g_variant_builder_new(G_VARIANT_TYPE_VARDICT);
	va_list ap;

	va_start(ap, first_key);
	for (const gchar *key = first_key; key != NULL; key = va_arg(ap, const gchar *))
		g_variant_builder_add(b, "{sv}", key, va_arg(ap, GVariant *));
	va_end(ap);
	return g_variant_builder_end(b);
}

static void
dbus_seeds(void)
{
	static const gchar *const one[] = { "SIM0001", NULL };
	static const gchar *const two[] = { "SIM0001", "SIM_2d0002", NULL };
	static const gchar *const none[] = { NULL };
	static const gchar *const empty[] = { "SIM0001", "", NULL };
	static const gchar *const path[] = { PBM_DBUS_PATH_PANEL "/SIM0001", NULL };
	const gchar *many[18];

	for (guint i = 0; i < 17; i++)
		many[i] = "SIM0001";
	many[17] = NULL;

	dbus_seed("options-empty", 0, options(NULL));
	dbus_seed("options-panels", 0, options("panels", g_variant_new_strv(one, -1), NULL));
	dbus_seed("options-distance", 0, options("distance_cm", g_variant_new_double(30.0), NULL));
	dbus_seed("options-both", 0,
	          options("panels", g_variant_new_strv(two, -1), "distance_cm",
	                  g_variant_new_double(PBM_PROFILE_DISTANCE_MAX_CM), NULL));
	dbus_seed("options-no-panels", 0, options("panels", g_variant_new_strv(none, -1), NULL));
	dbus_seed("options-17-panels", 0, options("panels", g_variant_new_strv(many, 17), NULL));
	dbus_seed("options-too-near", 0, options("distance_cm", g_variant_new_double(0.5), NULL));
	dbus_seed("options-nan", 0, options("distance_cm", g_variant_new_double(NAN), NULL));
	dbus_seed("options-goggles", 0, options("goggles", g_variant_new_boolean(TRUE), NULL));
	dbus_seed("options-goggles-string", 0,
	          options("goggles", g_variant_new_string("yes"), NULL));
	dbus_seed("options-distance-string", 0,
	          options("distance_cm", g_variant_new_string("30"), NULL));
	dbus_seed("options-panels-string", 0,
	          options("panels", g_variant_new_string("SIM0001"), NULL));
	dbus_seed("options-unknown", 0,
	          options("distance_cm", g_variant_new_double(20.0), "speed",
	                  g_variant_new_variant(g_variant_new_uint32(11)), NULL));
	dbus_seed("options-empty-serial", 0,
	          options("panels", g_variant_new_strv(empty, -1), NULL));
	dbus_seed("options-object-path", 0, options("panels", g_variant_new_strv(path, -1), NULL));
	dbus_seed("options-long-key", 0,
	          options("distance_cm_distance_cm_distance_cm_distance_cm_distance_cm_\u00e9\u00e9"
	                  "\u00e9\u00e9",
	                  g_variant_new_double(20.0), NULL));
	dbus_seed("start-ok", 1,
	          g_variant_new("(s@a{sv})", "back-pain",
	                        options("distance_cm", g_variant_new_double(15.0), NULL)));
	dbus_seed("start-bad-name", 1, g_variant_new("(s@a{sv})", "Back Pain", options(NULL)));
	/* EstimateSession takes StartSession's arguments, checked by the same code */
	dbus_seed("estimate-distance", 1,
	          g_variant_new("(s@a{sv})", "back-pain",
	                        options("distance_cm", g_variant_new_double(30.0), "goggles",
	                                g_variant_new_boolean(FALSE), NULL)));
	dbus_seed("estimate-all", 1,
	          g_variant_new("(s@a{sv})", "demo",
	                        options("panels", g_variant_new_strv(two, -1), "distance_cm",
	                                g_variant_new_double(PBM_PROFILE_DISTANCE_MIN_CM),
	                                "goggles", g_variant_new_boolean(TRUE), NULL)));
	dbus_seed("profile-ok", 2, g_variant_new("(s)", "demo"));
	dbus_seed("profile-empty", 2, g_variant_new("(s)", ""));
	dbus_seed("profile-dash", 2, g_variant_new("(s)", "-demo"));
	dbus_seed("profile-path", 2, g_variant_new("(s)", "../../etc/passwd"));
	dbus_seed("profile-65", 2,
	          g_variant_new("(s)", "a123456789012345678901234567890123456789012345678901234567"
	                               "8901234"));
	dbus_seed("history-default", 3, g_variant_new("(xu)", (gint64)0, 0u));
	dbus_seed("history-max", 3, g_variant_new("(xu)", (gint64)1700000000000000, 10000u));
	dbus_seed("history-over", 3, g_variant_new("(xu)", (gint64)-1, 10001u));
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return EXIT_FAILURE;
	}
	root = argv[1];
	protocol_seeds();
	dbus_seeds();
	return EXIT_SUCCESS;
}
