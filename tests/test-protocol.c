/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The wire codec: every message round-trips, sits at the documented offsets,
 * and every decoder refuses short, long, wrong-version and out-of-range
 * input with its own error code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "pbm-protocol.h"
#include "pbm-sim.h"
#include "pbm-test-wire.h"

#define assert_error(err, want)                                                                  \
	do {                                                                                     \
		assert_non_null(err);                                                            \
		if (!g_error_matches(err, PBM_PROTOCOL_ERROR, want))                             \
			fail_msg("expected code %d, got %d: %s", want, err->code, err->message); \
	} while (0)

static PbmInfo
sample_info(void)
{
	PbmInfo info = {
		.proto_major = PBM_PROTOCOL_MAJOR,
		.proto_minor = PBM_PROTOCOL_MINOR,
		.channel_count = 2,
		.max_session_s = 3600,
		.t_derate_dc = 400,
		.t_max_dc = 550,
		.watchdog_min_ms = 500,
		.watchdog_max_ms = 10000,
	};
	g_strlcpy(info.serial, "PBM-0042_a", sizeof(info.serial));
	g_strlcpy(info.model, "Panel 300 (red/NIR)", sizeof(info.model));
	g_strlcpy(info.firmware, "1.2.3", sizeof(info.firmware));
	return info;
}

static void
sample_channels(PbmChannel channels[PBM_MAX_CHANNELS])
{
	PbmSimConfig config;

	pbm_sim_config_init(&config, "X");
	memcpy(channels, config.channels, sizeof(config.channels));
}

/* ---- info ---- */

static void
test_info_round_trip(void **state)
{
	PbmInfo in = sample_info(), out;
	guint8 buf[sizeof(struct pbm_wire_info)];
	g_autoptr(GError) error = NULL;

	assert_true(pbm_info_encode(&in, buf, &error));
	/* Spot-check the documented layout, little-endian. */
	assert_int_equal(buf[0], PBM_PROTOCOL_MAJOR);
	assert_int_equal(buf[2], 2);
	assert_memory_equal(buf + 4, "PBM-0042_a\0\0\0\0\0\0", 16);
	assert_int_equal(buf[68], 3600 & 0xff);
	assert_int_equal(buf[69], 3600 >> 8);
	assert_int_equal(buf[72], 550 & 0xff);
	assert_int_equal(buf[73], 550 >> 8);

	assert_true(pbm_info_decode(buf, sizeof(buf), &out, &error));
	assert_null(error);
	assert_string_equal(out.serial, "PBM-0042_a");
	assert_string_equal(out.model, "Panel 300 (red/NIR)");
	assert_string_equal(out.firmware, "1.2.3");
	assert_int_equal(out.channel_count, 2);
	assert_int_equal(out.max_session_s, 3600);
	assert_int_equal(out.t_derate_dc, 400);
	assert_int_equal(out.t_max_dc, 550);
	assert_int_equal(out.watchdog_min_ms, 500);
	assert_int_equal(out.watchdog_max_ms, 10000);
}

static void
encode_info(const PbmInfo *info, guint8 *buf)
{
	assert_true(pbm_info_encode(info, buf, NULL));
}

static void
test_info_lengths(void **state)
{
	PbmInfo info = sample_info(), out;
	guint8 buf[sizeof(struct pbm_wire_info) + 1] = { 0 };

	encode_info(&info, buf);
	for (gsize len = 0; len < sizeof(struct pbm_wire_info); len++) {
		g_autoptr(GError) error = NULL;
		assert_false(pbm_info_decode(buf, len, &out, &error));
		assert_error(error, PBM_PROTOCOL_ERROR_SHORT);
	}
	{
		g_autoptr(GError) error = NULL;
		assert_false(pbm_info_decode(buf, sizeof(buf), &out, &error));
		assert_error(error, PBM_PROTOCOL_ERROR_LONG);
	}
}

static void
test_info_version(void **state)
{
	PbmInfo info = sample_info(), out;
	guint8 buf[sizeof(struct pbm_wire_info)];
	g_autoptr(GError) error = NULL;

	encode_info(&info, buf);
	buf[0] = PBM_PROTOCOL_MAJOR + 1;
	buf[1] = 3;
	/* A v2 panel may send a longer or shorter info: the version is named,
	 * not the length. */
	assert_false(pbm_info_decode(buf, 2, &out, &error));
	assert_error(error, PBM_PROTOCOL_ERROR_VERSION);
	assert_non_null(strstr(error->message, "2.3"));
	assert_non_null(strstr(error->message, "pbmd speaks 1.1"));
	g_clear_error(&error);

	buf[0] = 0;
	assert_false(pbm_info_decode(buf, sizeof(buf), &out, &error));
	assert_error(error, PBM_PROTOCOL_ERROR_VERSION);
	g_clear_error(&error);

	/* A newer minor of the same major is accepted, and so is 1.0. */
	buf[0] = PBM_PROTOCOL_MAJOR;
	buf[1] = PBM_PROTOCOL_MINOR + 5;
	assert_true(pbm_info_decode(buf, sizeof(buf), &out, &error));
	assert_int_equal(out.proto_minor, PBM_PROTOCOL_MINOR + 5);
	buf[1] = 0;
	assert_true(pbm_info_decode(buf, sizeof(buf), &out, &error));
	assert_int_equal(out.proto_minor, 0);
}

static void
expect_info_error(const guint8 *buf, PbmProtocolError code)
{
	g_autoptr(GError) error = NULL;
	PbmInfo out;

	assert_false(pbm_info_decode(buf, sizeof(struct pbm_wire_info), &out, &error));
	assert_error(error, code);
}

static void
test_info_strings(void **state)
{
	PbmInfo info = sample_info();
	guint8 good[sizeof(struct pbm_wire_info)], buf[sizeof(good)];
	PbmInfo out;

	encode_info(&info, good);

	memcpy(buf, good, sizeof(buf));
	buf[4 + 3] = ' '; /* serials become object paths: no spaces */
	expect_info_error(buf, PBM_PROTOCOL_ERROR_FORMAT);

	memcpy(buf, good, sizeof(buf));
	memset(buf + 4, 0, 16);
	expect_info_error(buf, PBM_PROTOCOL_ERROR_FORMAT);

	memcpy(buf, good, sizeof(buf));
	buf[20 + 2] = 0x07;
	expect_info_error(buf, PBM_PROTOCOL_ERROR_FORMAT);

	memcpy(buf, good, sizeof(buf));
	buf[52 + 14] = 'x'; /* a byte after the NUL that ends "1.2.3" */
	expect_info_error(buf, PBM_PROTOCOL_ERROR_FORMAT);

	memcpy(buf, good, sizeof(buf));
	buf[20] = 0xc3; /* not ASCII */
	expect_info_error(buf, PBM_PROTOCOL_ERROR_FORMAT);

	/* A serial that fills its field needs no NUL. */
	memcpy(buf, good, sizeof(buf));
	memcpy(buf + 4, "ABCDEFGHIJKLMNOP", 16);
	assert_true(pbm_info_decode(buf, sizeof(buf), &out, NULL));
	assert_string_equal(out.serial, "ABCDEFGHIJKLMNOP");
}

static void
test_info_ranges(void **state)
{
	PbmInfo info = sample_info();
	guint8 good[sizeof(struct pbm_wire_info)], buf[sizeof(good)];
	const struct {
		gsize offset;
		guint8 lo, hi;
	} cases[] = {
		{ offsetof(struct pbm_wire_info, channel_count), 0, 0 },
		{ offsetof(struct pbm_wire_info, channel_count), 9, 0 },
		{ offsetof(struct pbm_wire_info, max_session_s), 0, 0 },
		{ offsetof(struct pbm_wire_info, max_session_s), 0xff, 0xff },
		{ offsetof(struct pbm_wire_info, t_max_dc), 400 & 0xff, 400 >> 8 }, /* = t_derate */
		{ offsetof(struct pbm_wire_info, t_derate_dc), 0x00, 0x80 },        /* -3276.8 C */
		{ offsetof(struct pbm_wire_info, watchdog_min_ms), 100, 0 },
	};

	encode_info(&info, good);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		memcpy(buf, good, sizeof(buf));
		buf[cases[i].offset] = cases[i].lo;
		if (cases[i].offset != offsetof(struct pbm_wire_info, channel_count))
			buf[cases[i].offset + 1] = cases[i].hi;
		expect_info_error(buf, PBM_PROTOCOL_ERROR_RANGE);
	}
	/* watchdog max below min */
	memcpy(buf, good, sizeof(buf));
	buf[offsetof(struct pbm_wire_info, watchdog_min_ms)] = 0xe8; /* 1000 */
	buf[offsetof(struct pbm_wire_info, watchdog_min_ms) + 1] = 0x03;
	buf[offsetof(struct pbm_wire_info, watchdog_max_ms)] = 0xf4; /* 500 */
	buf[offsetof(struct pbm_wire_info, watchdog_max_ms) + 1] = 0x01;
	expect_info_error(buf, PBM_PROTOCOL_ERROR_RANGE);
}

static void
test_info_encode_refuses(void **state)
{
	PbmInfo info = sample_info();
	guint8 buf[sizeof(struct pbm_wire_info)];
	g_autoptr(GError) error = NULL;

	g_strlcpy(info.serial, "has space", sizeof(info.serial));
	assert_false(pbm_info_encode(&info, buf, &error));
	assert_error(error, PBM_PROTOCOL_ERROR_FORMAT);
	g_clear_error(&error);

	info = sample_info();
	info.channel_count = 0;
	assert_false(pbm_info_encode(&info, buf, &error));
	assert_error(error, PBM_PROTOCOL_ERROR_RANGE);
}

/* ---- channels ---- */

static void
test_channels_round_trip(void **state)
{
	PbmChannel in[PBM_MAX_CHANNELS], out[PBM_MAX_CHANNELS];
	guint8 buf[PBM_CHANNELS_REPLY_SIZE(PBM_MAX_CHANNELS)];
	g_autoptr(GError) error = NULL;
	gsize n;

	sample_channels(in);
	n = pbm_channels_encode(in, 2, buf, sizeof(buf), &error);
	assert_int_equal(n, 4 + 2 * 40);
	assert_int_equal(buf[0], 2);
	/* channel 1 starts at 4 + 40; its wavelength is at +2, little-endian */
	assert_int_equal(buf[44], 1);
	assert_int_equal(buf[45], PBM_BAND_NIR);
	assert_int_equal(buf[46], 850 & 0xff);
	assert_int_equal(buf[47], 850 >> 8);
	/* first calibration point of channel 0: 50 mm, 52.00 mW/cm2 */
	assert_int_equal(buf[4 + 8], 50);
	assert_int_equal(buf[4 + 10] | (buf[4 + 11] << 8), 5200);

	assert_true(pbm_channels_decode(buf, n, 2, out, &error));
	for (guint i = 0; i < 2; i++) {
		assert_int_equal(out[i].band, in[i].band);
		assert_int_equal(out[i].wavelength_nm, in[i].wavelength_nm);
		assert_int_equal(out[i].max_level, in[i].max_level);
		assert_int_equal(out[i].point_count, in[i].point_count);
		assert_memory_equal(out[i].points, in[i].points,
		                    in[i].point_count * sizeof(PbmCalPoint));
	}
}

static void
expect_channels_error(const guint8 *buf, gsize len, guint expected, PbmProtocolError code)
{
	g_autoptr(GError) error = NULL;
	PbmChannel out[PBM_MAX_CHANNELS];

	assert_false(pbm_channels_decode(buf, len, expected, out, &error));
	assert_error(error, code);
}

static void
test_channels_malformed(void **state)
{
	PbmChannel in[PBM_MAX_CHANNELS];
	guint8 good[PBM_CHANNELS_REPLY_SIZE(PBM_MAX_CHANNELS) + 1], buf[sizeof(good)];
	gsize n;
	const gsize ch1 = PBM_CHANNELS_REPLY_SIZE(1);

	sample_channels(in);
	n = pbm_channels_encode(in, 2, good, sizeof(good), NULL);
	assert_int_equal(n, 84);

	expect_channels_error(good, 0, 2, PBM_PROTOCOL_ERROR_SHORT);
	expect_channels_error(good, 3, 2, PBM_PROTOCOL_ERROR_SHORT);
	expect_channels_error(good, n - 1, 2, PBM_PROTOCOL_ERROR_SHORT);
	expect_channels_error(good, n + 1, 2, PBM_PROTOCOL_ERROR_LONG);
	expect_channels_error(good, n, 3, PBM_PROTOCOL_ERROR_FORMAT);

	memcpy(buf, good, sizeof(buf));
	buf[0] = 0;
	expect_channels_error(buf, n, 2, PBM_PROTOCOL_ERROR_RANGE);
	buf[0] = PBM_MAX_CHANNELS + 1;
	expect_channels_error(buf, n, 2, PBM_PROTOCOL_ERROR_RANGE);

	memcpy(buf, good, sizeof(buf));
	buf[ch1 + 0] = 0; /* index must equal position */
	expect_channels_error(buf, n, 2, PBM_PROTOCOL_ERROR_FORMAT);

	memcpy(buf, good, sizeof(buf));
	buf[ch1 + 1] = 3; /* band */
	expect_channels_error(buf, n, 2, PBM_PROTOCOL_ERROR_RANGE);

	memcpy(buf, good, sizeof(buf));
	buf[ch1 + 1] = PBM_BAND_RED; /* 850 nm is not red */
	expect_channels_error(buf, n, 2, PBM_PROTOCOL_ERROR_RANGE);

	memcpy(buf, good, sizeof(buf));
	buf[ch1 + 2] = 0x60; /* 1120 nm */
	buf[ch1 + 3] = 0x04;
	expect_channels_error(buf, n, 2, PBM_PROTOCOL_ERROR_RANGE);

	memcpy(buf, good, sizeof(buf));
	buf[ch1 + 4] = 0; /* max level 0 */
	buf[ch1 + 5] = 0;
	expect_channels_error(buf, n, 2, PBM_PROTOCOL_ERROR_RANGE);
	buf[ch1 + 4] = 0xe9; /* 1001 */
	buf[ch1 + 5] = 0x03;
	expect_channels_error(buf, n, 2, PBM_PROTOCOL_ERROR_RANGE);

	memcpy(buf, good, sizeof(buf));
	buf[ch1 + 6] = 0;
	expect_channels_error(buf, n, 2, PBM_PROTOCOL_ERROR_RANGE);
	buf[ch1 + 6] = PBM_CAL_POINTS_MAX + 1;
	expect_channels_error(buf, n, 2, PBM_PROTOCOL_ERROR_RANGE);

	memcpy(buf, good, sizeof(buf));
	buf[ch1 + 8 + 4] = 50; /* second point at the same distance as the first */
	buf[ch1 + 8 + 5] = 0;
	expect_channels_error(buf, n, 2, PBM_PROTOCOL_ERROR_FORMAT);

	memcpy(buf, good, sizeof(buf));
	buf[ch1 + 8 + 2] = 0; /* zero irradiance */
	buf[ch1 + 8 + 3] = 0;
	expect_channels_error(buf, n, 2, PBM_PROTOCOL_ERROR_RANGE);
}

static void
test_irradiance_interpolation(void **state)
{
	PbmChannel ch[PBM_MAX_CHANNELS];

	sample_channels(ch);
	/* red: 52.00 at 50 mm, 44.00 at 100 mm, 36.00 at 150 mm, 13.00 at 600 mm */
	assert_float_equal(pbm_channel_irradiance_at(&ch[0], 50), 52.0, 1e-9);
	assert_float_equal(pbm_channel_irradiance_at(&ch[0], 125), 40.0, 1e-9);
	assert_float_equal(pbm_channel_irradiance_at(&ch[0], 110), 42.4, 1e-9);
	assert_float_equal(pbm_channel_irradiance_at(&ch[0], 600), 13.0, 1e-9);
	/* outside the table: the nearest point, never an extrapolation */
	assert_float_equal(pbm_channel_irradiance_at(&ch[0], 10), 52.0, 1e-9);
	assert_float_equal(pbm_channel_irradiance_at(&ch[0], 2000), 13.0, 1e-9);
	/* not inverse-square: at 30 cm red is 22, 1/d^2 from 15 cm would give 9 */
	assert_float_equal(pbm_channel_irradiance_at(&ch[0], 300), 22.0, 1e-9);
}

/* ---- status and reports ---- */

static PbmStatus
sample_status(void)
{
	PbmStatus s = {
		.level = { 800, 600 },
		.pulse_mhz = 10000,
		.duty = 500,
		.temperature_dc = -55,
		.fan_rpm = 3000,
		.derate = 875,
		.faults = PBM_FAULT_FAN_STALL,
		.watchdog = PBM_WATCHDOG_ARMED,
		.flags = PBM_STATUS_LIT | PBM_STATUS_DERATING,
		.watchdog_left_ms = 2750,
		.session_left_s = 599,
		.uptime_ms = 0xfedcba98,
	};
	return s;
}

static void
assert_status_equal(const PbmStatus *a, const PbmStatus *b)
{
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++)
		assert_int_equal(a->level[i], b->level[i]);
	assert_int_equal(a->pulse_mhz, b->pulse_mhz);
	assert_int_equal(a->duty, b->duty);
	assert_int_equal(a->temperature_dc, b->temperature_dc);
	assert_int_equal(a->fan_rpm, b->fan_rpm);
	assert_int_equal(a->derate, b->derate);
	assert_int_equal(a->faults, b->faults);
	assert_int_equal(a->watchdog, b->watchdog);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->watchdog_left_ms, b->watchdog_left_ms);
	assert_int_equal(a->session_left_s, b->session_left_s);
	assert_int_equal(a->uptime_ms, b->uptime_ms);
}

static void
test_status_round_trip(void **state)
{
	PbmStatus in = sample_status(), out;
	guint8 buf[sizeof(struct pbm_wire_status)];
	g_autoptr(GError) error = NULL;

	assert_true(pbm_status_encode(&in, buf, &error));
	assert_int_equal(buf[22] | (buf[23] << 8), (guint16)-55);
	assert_int_equal(buf[32], PBM_WATCHDOG_ARMED);
	assert_int_equal(buf[40], 0x98);
	assert_int_equal(buf[43], 0xfe);
	assert_true(pbm_status_decode(buf, sizeof(buf), &out, &error));
	assert_status_equal(&in, &out);
}

static void
expect_status_error(const PbmStatus *s, PbmProtocolError code)
{
	guint8 buf[sizeof(struct pbm_wire_status)];
	g_autoptr(GError) error = NULL;
	PbmStatus out;

	/* The encoder refuses the same values the decoder refuses. */
	assert_false(pbm_status_encode(s, buf, &error));
	assert_error(error, code);
	g_clear_error(&error);

	/* Write the raw bytes as a misbehaving device would. */
	PbmStatus valid = sample_status();
	assert_true(pbm_status_encode(&valid, buf, NULL));
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++) {
		buf[2 * i] = s->level[i] & 0xff;
		buf[2 * i + 1] = s->level[i] >> 8;
	}
	memcpy(buf + 16, &(guint32){ GUINT32_TO_LE(s->pulse_mhz) }, 4);
	memcpy(buf + 20, &(guint16){ GUINT16_TO_LE(s->duty) }, 2);
	memcpy(buf + 22, &(gint16){ GINT16_TO_LE(s->temperature_dc) }, 2);
	memcpy(buf + 26, &(guint16){ GUINT16_TO_LE(s->derate) }, 2);
	buf[32] = (guint8)s->watchdog;
	memcpy(buf + 34, &(guint16){ GUINT16_TO_LE(s->watchdog_left_ms) }, 2);
	memcpy(buf + 36, &(guint16){ GUINT16_TO_LE(s->session_left_s) }, 2);
	assert_false(pbm_status_decode(buf, sizeof(buf), &out, &error));
	assert_error(error, code);
}

static void
test_status_malformed(void **state)
{
	PbmStatus s;
	guint8 buf[sizeof(struct pbm_wire_status) + 1] = { 0 };
	PbmStatus valid = sample_status(), out;

	assert_true(pbm_status_encode(&valid, buf, NULL));
	for (gsize len = 0; len <= sizeof(buf); len++) {
		g_autoptr(GError) error = NULL;
		if (len == sizeof(struct pbm_wire_status))
			continue;
		assert_false(pbm_status_decode(buf, len, &out, &error));
		assert_error(error, len < sizeof(struct pbm_wire_status) ? PBM_PROTOCOL_ERROR_SHORT
		                                                         : PBM_PROTOCOL_ERROR_LONG);
	}

	s = sample_status();
	s.level[7] = 1001;
	expect_status_error(&s, PBM_PROTOCOL_ERROR_RANGE);
	s = sample_status();
	s.pulse_mhz = 0;
	s.duty = 500; /* continuous output at half duty is nonsense */
	expect_status_error(&s, PBM_PROTOCOL_ERROR_RANGE);
	s = sample_status();
	s.pulse_mhz = 999;
	expect_status_error(&s, PBM_PROTOCOL_ERROR_RANGE);
	s = sample_status();
	s.pulse_mhz = PBM_PULSE_MAX_MHZ + 1;
	expect_status_error(&s, PBM_PROTOCOL_ERROR_RANGE);
	s = sample_status();
	s.duty = 0;
	expect_status_error(&s, PBM_PROTOCOL_ERROR_RANGE);
	s = sample_status();
	s.temperature_dc = PBM_TEMP_MAX_DC + 1;
	expect_status_error(&s, PBM_PROTOCOL_ERROR_RANGE);
	s = sample_status();
	s.temperature_dc = PBM_TEMP_MIN_DC - 1;
	expect_status_error(&s, PBM_PROTOCOL_ERROR_RANGE);
	s = sample_status();
	s.derate = 1001;
	expect_status_error(&s, PBM_PROTOCOL_ERROR_RANGE);
	s = sample_status();
	s.watchdog = 3;
	expect_status_error(&s, PBM_PROTOCOL_ERROR_RANGE);
	s = sample_status();
	s.watchdog_left_ms = PBM_WATCHDOG_MAX_MS + 1;
	expect_status_error(&s, PBM_PROTOCOL_ERROR_RANGE);
	s = sample_status();
	s.session_left_s = PBM_SESSION_CAP_MAX_S + 1;
	expect_status_error(&s, PBM_PROTOCOL_ERROR_RANGE);
}

static void
test_status_unknown_fault_bits_kept(void **state)
{
	PbmStatus in = sample_status(), out;
	guint8 buf[sizeof(struct pbm_wire_status)];
	g_autofree gchar *text = NULL;

	/* A fault bit from a newer minor version is still a fault. */
	in.faults = PBM_FAULT_OVER_TEMP | (1u << 9);
	assert_true(pbm_status_encode(&in, buf, NULL));
	assert_true(pbm_status_decode(buf, sizeof(buf), &out, NULL));
	assert_int_equal(out.faults, in.faults);
	text = pbm_faults_describe(out.faults);
	assert_string_equal(text, "over-temperature,bit-9");
}

static void
test_report_round_trip(void **state)
{
	PbmReport in = { .type = PBM_REPORT_STATUS,
		         .seq = 0xbeef,
		         .events = PBM_EVENT_BUTTON | PBM_EVENT_FAULT,
		         .status = sample_status() },
	          out;
	guint8 buf[sizeof(struct pbm_wire_report)];
	g_autoptr(GError) error = NULL;

	assert_true(pbm_report_encode(&in, buf, &error));
	assert_int_equal(buf[0], PBM_REPORT_STATUS);
	assert_int_equal(buf[2], 0xef);
	assert_int_equal(buf[3], 0xbe);
	assert_int_equal(buf[4], PBM_EVENT_BUTTON | PBM_EVENT_FAULT);
	assert_int_equal(buf[8], 800 & 0xff); /* status body at offset 8 */
	assert_true(pbm_report_decode(buf, sizeof(buf), &out, &error));
	assert_int_equal(out.seq, 0xbeef);
	assert_int_equal(out.events, in.events);
	assert_status_equal(&out.status, &in.status);
}

static void
test_report_malformed(void **state)
{
	PbmReport in = { .type = PBM_REPORT_STATUS, .seq = 7, .status = sample_status() }, out;
	guint8 good[sizeof(struct pbm_wire_report) + 1] = { 0 }, buf[sizeof(good)];

	assert_true(pbm_report_encode(&in, good, NULL));
	for (gsize len = 0; len <= sizeof(good); len++) {
		g_autoptr(GError) error = NULL;
		if (len == sizeof(struct pbm_wire_report))
			continue;
		assert_false(pbm_report_decode(good, len, &out, &error));
		assert_error(error, len < sizeof(struct pbm_wire_report) ? PBM_PROTOCOL_ERROR_SHORT
		                                                         : PBM_PROTOCOL_ERROR_LONG);
	}
	{
		g_autoptr(GError) error = NULL;
		memcpy(buf, good, sizeof(buf));
		buf[0] = 0x02;
		assert_false(pbm_report_decode(buf, sizeof(struct pbm_wire_report), &out, &error));
		assert_error(error, PBM_PROTOCOL_ERROR_FORMAT);
	}
	{
		g_autoptr(GError) error = NULL;
		memcpy(buf, good, sizeof(buf));
		buf[8 + 32] = 9; /* watchdog state inside the status body */
		assert_false(pbm_report_decode(buf, sizeof(struct pbm_wire_report), &out, &error));
		assert_error(error, PBM_PROTOCOL_ERROR_RANGE);
		assert_non_null(strstr(error->message, "report 7"));
	}
}

/* ---- output ---- */

static PbmOutput
sample_output(void)
{
	PbmOutput o = { .level = { 800, 600 },
		        .pulse_mhz = 0,
		        .duty = 1000,
		        .ramp_ms = 2000,
		        .session_cap_s = 660 };
	return o;
}

static void
test_output_round_trip(void **state)
{
	PbmOutput in = sample_output(), out;
	guint8 buf[sizeof(struct pbm_wire_output)];
	/* red 800, nir 600, continuous, ramp 2000 ms, cap 660 s */
	const guint8 expected[28] = { 0x20, 0x03, 0x58, 0x02, 0,    0,    0, 0, 0, 0,
		                      0,    0,    0,    0,    0,    0,    0, 0, 0, 0,
		                      0xe8, 0x03, 0xd0, 0x07, 0x94, 0x02, 0, 0 };
	g_autoptr(GError) error = NULL;

	assert_true(pbm_output_encode(&in, buf, &error));
	assert_memory_equal(buf, expected, sizeof(expected));
	assert_int_equal(pbm_output_decode_check(buf, sizeof(buf), NULL, 0, &out, &error),
	                 PBM_RESULT_OK);
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++)
		assert_int_equal(out.level[i], in.level[i]);
	assert_int_equal(out.pulse_mhz, in.pulse_mhz);
	assert_int_equal(out.duty, in.duty);
	assert_int_equal(out.ramp_ms, in.ramp_ms);
	assert_int_equal(out.session_cap_s, in.session_cap_s);
	assert_true(pbm_output_is_lit(&out));
}

static void
expect_output_error(const PbmOutput *o, const PbmChannel *channels, guint count,
                    PbmProtocolError code)
{
	g_autoptr(GError) error = NULL;

	assert_false(pbm_output_validate(o, channels, count, &error));
	assert_error(error, code);
}

static void
test_output_validation(void **state)
{
	PbmChannel ch[PBM_MAX_CHANNELS];
	PbmOutput o;
	guint8 buf[sizeof(struct pbm_wire_output) + 1] = { 0 };

	sample_channels(ch);

	o = sample_output();
	o.session_cap_s = 0; /* lit without an on-device cap */
	expect_output_error(&o, NULL, 0, PBM_PROTOCOL_ERROR_RANGE);
	o = sample_output();
	o.session_cap_s = PBM_SESSION_CAP_MAX_S + 1;
	expect_output_error(&o, NULL, 0, PBM_PROTOCOL_ERROR_RANGE);

	o = sample_output();
	o.pulse_mhz = PBM_PULSE_MIN_MHZ;
	o.duty = 1;
	assert_true(pbm_output_validate(&o, ch, 2, NULL));
	o.pulse_mhz = PBM_PULSE_MAX_MHZ;
	assert_true(pbm_output_validate(&o, ch, 2, NULL));
	o.pulse_mhz = PBM_PULSE_MAX_MHZ + 1;
	expect_output_error(&o, NULL, 0, PBM_PROTOCOL_ERROR_RANGE);
	o.pulse_mhz = 40000;
	o.duty = 0;
	expect_output_error(&o, NULL, 0, PBM_PROTOCOL_ERROR_RANGE);

	o = sample_output();
	o.ramp_ms = PBM_RAMP_MAX_MS + 1;
	expect_output_error(&o, NULL, 0, PBM_PROTOCOL_ERROR_RANGE);

	o = sample_output();
	o.level[0] = 1001;
	expect_output_error(&o, NULL, 0, PBM_PROTOCOL_ERROR_RANGE);

	/* channel caps are refused, never clamped */
	ch[1].max_level = 500;
	o = sample_output();
	o.level[1] = 501;
	expect_output_error(&o, ch, 2, PBM_PROTOCOL_ERROR_RANGE);
	o.level[1] = 500;
	assert_true(pbm_output_validate(&o, ch, 2, NULL));
	o.level[2] = 1; /* the panel has two channels */
	expect_output_error(&o, ch, 2, PBM_PROTOCOL_ERROR_RANGE);

	/* all dark needs no cap */
	o = (PbmOutput){ .duty = 1000 };
	assert_true(pbm_output_validate(&o, ch, 2, NULL));
	assert_false(pbm_output_is_lit(&o));

	o = sample_output();
	assert_true(pbm_output_encode(&o, buf, NULL));
	{
		g_autoptr(GError) error = NULL;
		PbmOutput out;
		assert_int_equal(pbm_output_decode_check(buf, 27, NULL, 0, &out, &error),
		                 PBM_RESULT_BAD_LENGTH);
		assert_error(error, PBM_PROTOCOL_ERROR_SHORT);
		g_clear_error(&error);
		assert_int_equal(pbm_output_decode_check(buf, 29, NULL, 0, &out, &error),
		                 PBM_RESULT_BAD_LENGTH);
		assert_error(error, PBM_PROTOCOL_ERROR_LONG);
	}
}

static enum pbm_result
output_check(const PbmOutput *o, const PbmChannel *channels, guint count, GError **error)
{
	guint8 buf[sizeof(struct pbm_wire_output)];
	PbmOutput out;

	pbm_test_wire_output_bytes(o, buf);
	return pbm_output_decode_check(buf, sizeof(buf), channels, count, &out, error);
}

static void
expect_refusal_code(const PbmOutput *o, const PbmChannel *channels, guint count,
                    enum pbm_result want, const gchar *needle)
{
	g_autoptr(GError) error = NULL;
	enum pbm_result got = output_check(o, channels, count, &error);

	if (got != want)
		fail_msg("expected result %s, got %s (%s)", pbm_result_to_string(want),
		         pbm_result_to_string(got), error != NULL ? error->message : "no error");
	assert_error(error, PBM_PROTOCOL_ERROR_RANGE);
	if (strstr(error->message, needle) == NULL)
		fail_msg("'%s' does not mention '%s'", error->message, needle);
	assert_false(pbm_output_validate(o, channels, count, NULL));
}

/* What a panel answers GET_RESULT with: one code per SET_OUTPUT check, in
 * the order of pbmd-protocol(7), the same checks pbm_output_validate() makes
 * for the host. */
static void
test_output_check_results(void **state)
{
	PbmChannel ch[PBM_MAX_CHANNELS];
	PbmOutput o = sample_output(), out;
	guint8 buf[sizeof(struct pbm_wire_output) + 1] = { 0 };
	g_autoptr(GError) error = NULL;

	sample_channels(ch);
	ch[1].max_level = 500;
	assert_int_equal(output_check(&o, ch, 2, NULL), PBM_RESULT_LEVEL);
	o.level[1] = 500;
	assert_int_equal(output_check(&o, ch, 2, &error), PBM_RESULT_OK);
	assert_null(error);

	o.level[0] = 1001;
	expect_refusal_code(&o, NULL, 0, PBM_RESULT_LEVEL, "1001");
	o = sample_output();
	o.level[1] = 501;
	expect_refusal_code(&o, ch, 2, PBM_RESULT_LEVEL, "cap of 500");
	o = sample_output();
	o.level[1] = 500;
	o.level[2] = 1;
	expect_refusal_code(&o, ch, 2, PBM_RESULT_NO_CHANNEL, "only 2 channels");
	o = sample_output();
	o.pulse_mhz = PBM_PULSE_MIN_MHZ - 1;
	o.duty = 500;
	expect_refusal_code(&o, NULL, 0, PBM_RESULT_PULSE, "pulse frequency");
	o.pulse_mhz = PBM_PULSE_MAX_MHZ + 1;
	expect_refusal_code(&o, NULL, 0, PBM_RESULT_PULSE, "pulse frequency");
	o.pulse_mhz = 40000;
	o.duty = 0;
	expect_refusal_code(&o, NULL, 0, PBM_RESULT_DUTY, "duty");
	o.duty = PBM_DUTY_MAX + 1;
	expect_refusal_code(&o, NULL, 0, PBM_RESULT_DUTY, "duty");
	o = sample_output();
	o.duty = 999; /* continuous light is full duty */
	expect_refusal_code(&o, NULL, 0, PBM_RESULT_DUTY, "continuous");
	o = sample_output();
	o.ramp_ms = PBM_RAMP_MAX_MS + 1;
	expect_refusal_code(&o, NULL, 0, PBM_RESULT_RAMP, "ramp");
	o = sample_output();
	o.session_cap_s = 0;
	expect_refusal_code(&o, NULL, 0, PBM_RESULT_SESSION_CAP, "session cap");
	o.session_cap_s = PBM_SESSION_CAP_MAX_S + 1;
	expect_refusal_code(&o, NULL, 0, PBM_RESULT_SESSION_CAP, "session cap");
	/* the first failed check is the one reported */
	o.level[0] = 1001;
	assert_int_equal(output_check(&o, NULL, 0, NULL), PBM_RESULT_LEVEL);

	/* decoding: the length first, then the checks with the channel table */
	o = sample_output();
	o.level[1] = 501;
	assert_true(pbm_output_encode(&o, buf, NULL));
	assert_int_equal(pbm_output_decode_check(buf, 27, ch, 2, &out, &error),
	                 PBM_RESULT_BAD_LENGTH);
	assert_error(error, PBM_PROTOCOL_ERROR_SHORT);
	g_clear_error(&error);
	assert_int_equal(pbm_output_decode_check(buf, 29, ch, 2, &out, &error),
	                 PBM_RESULT_BAD_LENGTH);
	assert_error(error, PBM_PROTOCOL_ERROR_LONG);
	g_clear_error(&error);
	assert_int_equal(pbm_output_decode_check(buf, 28, ch, 2, &out, &error), PBM_RESULT_LEVEL);
	g_clear_error(&error);
	/* without the table the same bytes are a valid request */
	assert_int_equal(pbm_output_decode_check(buf, 28, NULL, 0, &out, &error), PBM_RESULT_OK);
	assert_int_equal(out.level[1], 501);
}

/* ---- result ---- */

static void
test_result_round_trip(void **state)
{
	PbmResult in = { .request = PBM_REQ_SET_OUTPUT,
		         .result = PBM_RESULT_WATCHDOG,
		         .count = 513 };
	PbmResult out;
	guint8 buf[sizeof(struct pbm_wire_result)];
	/* set-output, refused for the watchdog, the 513th since power-up */
	const guint8 expected[8] = { 0x10, 9, 0x01, 0x02, 0, 0, 0, 0 };
	g_autoptr(GError) error = NULL;

	assert_true(pbm_result_encode(&in, buf, &error));
	assert_memory_equal(buf, expected, sizeof(expected));
	assert_true(pbm_result_decode(buf, sizeof(buf), PBM_REQ_SET_OUTPUT, &out, &error));
	assert_null(error);
	assert_int_equal(out.request, PBM_REQ_SET_OUTPUT);
	assert_int_equal(out.result, PBM_RESULT_WATCHDOG);
	assert_int_equal(out.count, 513);

	/* none received yet */
	in = (PbmResult){ .request = PBM_REQ_HEARTBEAT };
	assert_true(pbm_result_encode(&in, buf, &error));
	assert_true(pbm_result_decode(buf, sizeof(buf), PBM_REQ_HEARTBEAT, &out, &error));
	assert_int_equal(out.count, 0);
	assert_int_equal(out.result, PBM_RESULT_OK);

	/* the count skips 0 when it wraps, so 0 always means none */
	assert_int_equal(pbm_result_count_next(0), 1);
	assert_int_equal(pbm_result_count_next(1), 2);
	assert_int_equal(pbm_result_count_next(G_MAXUINT16 - 1), G_MAXUINT16);
	assert_int_equal(pbm_result_count_next(G_MAXUINT16), 1);
}

static void
test_result_malformed(void **state)
{
	PbmResult r = { .request = PBM_REQ_SET_OUTPUT, .result = PBM_RESULT_FAULT, .count = 7 };
	PbmResult out = { 0 };
	guint8 good[sizeof(struct pbm_wire_result) + 1] = { 0 }, buf[sizeof(good)];
	g_autoptr(GError) error = NULL;

	assert_true(pbm_result_encode(&r, good, NULL));
	assert_false(pbm_result_decode(good, 7, PBM_REQ_SET_OUTPUT, &out, &error));
	assert_error(error, PBM_PROTOCOL_ERROR_SHORT);
	g_clear_error(&error);
	assert_false(pbm_result_decode(good, 9, PBM_REQ_SET_OUTPUT, &out, &error));
	assert_error(error, PBM_PROTOCOL_ERROR_LONG);
	g_clear_error(&error);
	assert_false(pbm_result_decode(good, 0, PBM_REQ_SET_OUTPUT, &out, &error));
	assert_error(error, PBM_PROTOCOL_ERROR_SHORT);
	g_clear_error(&error);

	/* an answer about another request than the one asked */
	assert_false(pbm_result_decode(good, 8, PBM_REQ_HEARTBEAT, &out, &error));
	assert_error(error, PBM_PROTOCOL_ERROR_FORMAT);
	assert_non_null(strstr(error->message, "set-output"));
	assert_non_null(strstr(error->message, "heartbeat"));
	g_clear_error(&error);

	/* a refusal of a request that never came */
	memcpy(buf, good, sizeof(buf));
	buf[2] = buf[3] = 0;
	assert_false(pbm_result_decode(buf, 8, PBM_REQ_SET_OUTPUT, &out, &error));
	assert_error(error, PBM_PROTOCOL_ERROR_FORMAT);
	g_clear_error(&error);
	r.count = 0;
	assert_false(pbm_result_encode(&r, buf, &error));
	assert_error(error, PBM_PROTOCOL_ERROR_FORMAT);
	g_clear_error(&error);

	/* reserved bytes are ignored; a code from a newer panel is kept: it is
	 * still a refusal, named by number */
	memcpy(buf, good, sizeof(buf));
	buf[1] = 200;
	memset(buf + 4, 0xff, 4);
	assert_true(pbm_result_decode(buf, 8, PBM_REQ_SET_OUTPUT, &out, &error));
	assert_int_equal(out.result, 200);
	assert_int_equal(out.count, 7);
	assert_null(pbm_result_to_string(200));
	assert_non_null(strstr(pbm_result_describe(200), "unknown"));
	/* out is untouched by a refused reply */
	out.count = 4242;
	buf[1] = 1;
	buf[2] = buf[3] = 0;
	assert_false(pbm_result_decode(buf, 8, PBM_REQ_SET_OUTPUT, &out, NULL));
	assert_int_equal(out.count, 4242);
}

static void
test_describe(void **state)
{
	g_autofree gchar *none = pbm_faults_describe(0);
	g_autofree gchar *two = pbm_faults_describe(PBM_FAULT_OVER_TEMP | PBM_FAULT_LED_STRING);
	g_autofree gchar *ev = pbm_events_describe(PBM_EVENT_WATCHDOG_EXPIRED | (1u << 15));

	assert_string_equal(none, "none");
	assert_string_equal(two, "over-temperature,led-string");
	assert_string_equal(ev, "watchdog-expired,bit-15");
	assert_string_equal(pbm_request_to_string(PBM_REQ_HEARTBEAT), "heartbeat");
	assert_string_equal(pbm_request_to_string(0x77), "unknown");
	assert_string_equal(pbm_band_to_string(PBM_BAND_NIR), "nir");
	/* 1.1 */
	assert_string_equal(pbm_request_to_string(PBM_REQ_GET_RESULT), "get-result");
	assert_string_equal(pbm_fault_to_string(PBM_FAULT_SENSOR), "sensor");
	{
		g_autofree gchar *all = pbm_faults_describe(PBM_FAULT_KNOWN_MASK | (1u << 4));
		assert_string_equal(all, "over-temperature,fan-stall,led-string,sensor,bit-4");
	}
	/* every known result has a name and a phrase of its own */
	for (guint r = 0; r <= PBM_RESULT_KNOWN_MAX; r++) {
		assert_non_null(pbm_result_to_string((guint8)r));
		assert_null(strstr(pbm_result_describe((guint8)r), "unknown"));
		for (guint q = 0; q < r; q++) {
			assert_string_not_equal(pbm_result_to_string((guint8)r),
			                        pbm_result_to_string((guint8)q));
			assert_string_not_equal(pbm_result_describe((guint8)r),
			                        pbm_result_describe((guint8)q));
		}
	}
	assert_string_equal(pbm_result_to_string(PBM_RESULT_WATCHDOG), "watchdog");
	assert_null(pbm_result_to_string(PBM_RESULT_KNOWN_MAX + 1));
}

/* Every decoder, fed random bytes of every length up to twice its message
 * and every single-bit flip of a valid message, either decodes to in-range
 * values or fails with an error: never a crash, never an out-of-bounds read
 * (this suite also runs under ASan/UBSan). */
static void
test_hostile_bytes(void **state)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(20261124);
	guint8 buf[256];
	PbmInfo info = sample_info();
	PbmReport report = { .type = PBM_REPORT_STATUS, .status = sample_status() };
	guint8 good_info[sizeof(struct pbm_wire_info)], good_report[sizeof(struct pbm_wire_report)];

	for (guint round = 0; round < 200; round++) {
		for (gsize len = 0; len <= 2 * sizeof(struct pbm_wire_info); len++) {
			g_autofree guint8 *exact = NULL;
			PbmInfo i;
			PbmChannel c[PBM_MAX_CHANNELS];
			PbmStatus s;
			PbmReport r;
			PbmOutput o;
			PbmResult res;
			GError *e = NULL;

			for (gsize k = 0; k < len; k++)
				buf[k] = (guint8)g_rand_int(rand);
			/* an exact-size heap copy lets ASan catch any over-read */
			exact = g_memdup2(buf, len);
			if (!pbm_info_decode(exact, len, &i, &e)) {
				assert_non_null(e);
				g_clear_error(&e);
			}
			if (!pbm_channels_decode(exact, len, exact && len ? exact[0] : 1, c, &e)) {
				assert_non_null(e);
				g_clear_error(&e);
			}
			if (!pbm_status_decode(exact, len, &s, &e)) {
				assert_non_null(e);
				g_clear_error(&e);
			}
			if (!pbm_report_decode(exact, len, &r, &e)) {
				assert_non_null(e);
				g_clear_error(&e);
			} else {
				/* anything accepted re-encodes: it was in range */
				guint8 again[sizeof(struct pbm_wire_report)];
				assert_true(pbm_report_encode(&r, again, NULL));
			}
			if (pbm_output_decode_check(exact, len, NULL, 0, &o, &e) != PBM_RESULT_OK) {
				assert_non_null(e);
				g_clear_error(&e);
			}
			if (!pbm_result_decode(exact, len, len > 0 ? exact[0] : 0, &res, &e)) {
				assert_non_null(e);
				g_clear_error(&e);
			} else {
				guint8 again[sizeof(struct pbm_wire_result)];
				assert_true(pbm_result_encode(&res, again, NULL));
				assert_memory_equal(again, exact, 4);
			}
		}
	}

	encode_info(&info, good_info);
	for (gsize bit = 0; bit < sizeof(good_info) * 8; bit++) {
		PbmInfo i;
		GError *e = NULL;
		memcpy(buf, good_info, sizeof(good_info));
		buf[bit / 8] ^= 1u << (bit % 8);
		if (pbm_info_decode(buf, sizeof(good_info), &i, &e)) {
			guint8 again[sizeof(good_info)];
			assert_true(pbm_info_encode(&i, again, NULL));
		} else {
			g_clear_error(&e);
		}
	}
	assert_true(pbm_report_encode(&report, good_report, NULL));
	for (gsize bit = 0; bit < sizeof(good_report) * 8; bit++) {
		PbmReport r;
		GError *e = NULL;
		memcpy(buf, good_report, sizeof(good_report));
		buf[bit / 8] ^= 1u << (bit % 8);
		if (pbm_report_decode(buf, sizeof(good_report), &r, &e)) {
			guint8 again[sizeof(good_report)];
			assert_true(pbm_report_encode(&r, again, NULL));
		} else {
			g_clear_error(&e);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_round_trip),
		cmocka_unit_test(test_info_lengths),
		cmocka_unit_test(test_info_version),
		cmocka_unit_test(test_info_strings),
		cmocka_unit_test(test_info_ranges),
		cmocka_unit_test(test_info_encode_refuses),
		cmocka_unit_test(test_channels_round_trip),
		cmocka_unit_test(test_channels_malformed),
		cmocka_unit_test(test_irradiance_interpolation),
		cmocka_unit_test(test_status_round_trip),
		cmocka_unit_test(test_status_malformed),
		cmocka_unit_test(test_status_unknown_fault_bits_kept),
		cmocka_unit_test(test_report_round_trip),
		cmocka_unit_test(test_report_malformed),
		cmocka_unit_test(test_output_round_trip),
		cmocka_unit_test(test_output_validation),
		cmocka_unit_test(test_output_check_results),
		cmocka_unit_test(test_result_round_trip),
		cmocka_unit_test(test_result_malformed),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_hostile_bytes),
	};

	return cmocka_run_group_tests_name("protocol", tests, NULL, NULL);
}
