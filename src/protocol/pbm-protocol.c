/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-protocol.h"

#include <stddef.h>
#include <string.h>

/* The name is the error domain's string at run time; clang-format would
 * read it as a subtraction and space it out. */
/* clang-format off */
G_DEFINE_QUARK(pbm-protocol-error-quark, pbm_protocol_error)
/* clang-format on */

/* Byte-wise little-endian access: wire buffers have no alignment and the
 * host may be big-endian. */
static guint16
get_u16(const guint8 *buf, gsize offset)
{
	return (guint16)(buf[offset] | (buf[offset + 1] << 8));
}

static gint16
get_s16(const guint8 *buf, gsize offset)
{
	return (gint16)get_u16(buf, offset);
}

static guint32
get_u32(const guint8 *buf, gsize offset)
{
	return (guint32)buf[offset] | ((guint32)buf[offset + 1] << 8) |
	       ((guint32)buf[offset + 2] << 16) | ((guint32)buf[offset + 3] << 24);
}

static void
put_u16(guint8 *buf, gsize offset, guint16 v)
{
	buf[offset] = v & 0xff;
	buf[offset + 1] = v >> 8;
}

static void
put_u32(guint8 *buf, gsize offset, guint32 v)
{
	for (guint i = 0; i < 4; i++)
		buf[offset + i] = (v >> (8 * i)) & 0xff;
}

static gboolean
check_length(const gchar *what, gsize len, gsize want, GError **error)
{
	if (len < want) {
		g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_SHORT,
		            "%s is %" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " expected", what,
		            len, want);
		return FALSE;
	}
	if (len > want) {
		g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_LONG,
		            "%s is %" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " expected", what,
		            len, want);
		return FALSE;
	}
	return TRUE;
}

static gboolean
check_range(const gchar *what, gint64 value, gint64 min, gint64 max, GError **error)
{
	if (value >= min && value <= max)
		return TRUE;
	g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_RANGE,
	            "%s is %" G_GINT64_FORMAT ", allowed %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT,
	            what, value, min, max);
	return FALSE;
}

/* ---- strings ---- */

static gboolean
serial_char_ok(gchar c)
{
	return g_ascii_isalnum(c) || c == '-' || c == '_';
}

static gboolean
decode_string(const gchar *what, const guint8 *field, gsize size, gboolean is_serial, gchar *out,
              GError **error)
{
	gsize n = 0;

	while (n < size && field[n] != '\0')
		n++;
	for (gsize i = n; i < size; i++) {
		if (field[i] != '\0') {
			g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_FORMAT,
			            "%s has a byte after its terminating NUL at offset "
			            "%" G_GSIZE_FORMAT,
			            what, i);
			return FALSE;
		}
	}
	if (n == 0 && is_serial) {
		g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_FORMAT, "%s is empty",
		            what);
		return FALSE;
	}
	for (gsize i = 0; i < n; i++) {
		gchar c = (gchar)field[i];
		gboolean ok = is_serial ? serial_char_ok(c) : (c >= 0x20 && c <= 0x7e);
		if (!ok) {
			g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_FORMAT,
			            "%s has byte 0x%02x at offset %" G_GSIZE_FORMAT
			            ", only %s allowed",
			            what, field[i], i,
			            is_serial ? "A-Z a-z 0-9 - _" : "printable ASCII");
			return FALSE;
		}
	}
	memcpy(out, field, n);
	out[n] = '\0';
	return TRUE;
}

static gboolean
encode_string(const gchar *what, const gchar *in, gboolean is_serial, guint8 *field, gsize size,
              GError **error)
{
	gsize n = strlen(in);

	if (n > size) {
		g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_RANGE,
		            "%s is %" G_GSIZE_FORMAT " characters, at most %" G_GSIZE_FORMAT, what,
		            n, size);
		return FALSE;
	}
	memset(field, 0, size);
	memcpy(field, in, n);
	/* Run the decoder's checks so an encoder never emits what a decoder refuses. */
	g_autofree gchar *check = g_malloc(size + 1);
	return decode_string(what, field, size, is_serial, check, error);
}

/* ---- info ---- */

static gboolean
info_validate(const PbmInfo *info, GError **error)
{
	if (!check_range("channel count", info->channel_count, 1, PBM_MAX_CHANNELS, error) ||
	    !check_range("max session length (s)", info->max_session_s, 1, PBM_SESSION_CAP_MAX_S,
	                 error) ||
	    !check_range("derating temperature (0.1 C)", info->t_derate_dc, PBM_TEMP_MIN_DC,
	                 PBM_TEMP_MAX_DC, error) ||
	    !check_range("maximum temperature (0.1 C)", info->t_max_dc, info->t_derate_dc + 1,
	                 PBM_TEMP_MAX_DC, error) ||
	    !check_range("minimum watchdog timeout (ms)", info->watchdog_min_ms,
	                 PBM_WATCHDOG_MIN_MS, PBM_WATCHDOG_MAX_MS, error) ||
	    !check_range("maximum watchdog timeout (ms)", info->watchdog_max_ms,
	                 info->watchdog_min_ms, PBM_WATCHDOG_MAX_MS, error))
		return FALSE;
	return TRUE;
}

gboolean
pbm_info_decode(const guint8 *buf, gsize len, PbmInfo *out, GError **error)
{
	PbmInfo info = { 0 };

	/* The version comes first so that a panel of another major version gets
	 * a version error, not a length error. */
	if (len < 2) {
		g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_SHORT,
		            "device info is %" G_GSIZE_FORMAT " bytes, too short to hold a version",
		            len);
		return FALSE;
	}
	info.proto_major = buf[offsetof(struct pbm_wire_info, proto_major)];
	info.proto_minor = buf[offsetof(struct pbm_wire_info, proto_minor)];
	if (info.proto_major != PBM_PROTOCOL_MAJOR) {
		g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_VERSION,
		            "panel speaks protocol %u.%u but pbmd speaks %u.%u; "
		            "update %s",
		            info.proto_major, info.proto_minor, (guint)PBM_PROTOCOL_MAJOR,
		            (guint)PBM_PROTOCOL_MINOR,
		            info.proto_major > PBM_PROTOCOL_MAJOR ? "pbmd" : "the panel firmware");
		return FALSE;
	}
	if (!check_length("device info", len, sizeof(struct pbm_wire_info), error))
		return FALSE;

	info.channel_count = buf[offsetof(struct pbm_wire_info, channel_count)];
	if (!decode_string("serial", buf + offsetof(struct pbm_wire_info, serial),
	                   PBM_STRING_SERIAL_LEN, TRUE, info.serial, error) ||
	    !decode_string("model", buf + offsetof(struct pbm_wire_info, model),
	                   PBM_STRING_MODEL_LEN, FALSE, info.model, error) ||
	    !decode_string("firmware version", buf + offsetof(struct pbm_wire_info, firmware),
	                   PBM_STRING_FIRMWARE_LEN, FALSE, info.firmware, error))
		return FALSE;
	info.max_session_s = get_u16(buf, offsetof(struct pbm_wire_info, max_session_s));
	info.t_derate_dc = get_s16(buf, offsetof(struct pbm_wire_info, t_derate_dc));
	info.t_max_dc = get_s16(buf, offsetof(struct pbm_wire_info, t_max_dc));
	info.watchdog_min_ms = get_u16(buf, offsetof(struct pbm_wire_info, watchdog_min_ms));
	info.watchdog_max_ms = get_u16(buf, offsetof(struct pbm_wire_info, watchdog_max_ms));
	if (!info_validate(&info, error))
		return FALSE;
	*out = info;
	return TRUE;
}

gboolean
pbm_info_encode(const PbmInfo *info, guint8 buf[sizeof(struct pbm_wire_info)], GError **error)
{
	if (info->proto_major != PBM_PROTOCOL_MAJOR) {
		g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_VERSION,
		            "protocol major %u cannot be encoded by a v%u codec", info->proto_major,
		            (guint)PBM_PROTOCOL_MAJOR);
		return FALSE;
	}
	if (!info_validate(info, error))
		return FALSE;
	memset(buf, 0, sizeof(struct pbm_wire_info));
	buf[offsetof(struct pbm_wire_info, proto_major)] = info->proto_major;
	buf[offsetof(struct pbm_wire_info, proto_minor)] = info->proto_minor;
	buf[offsetof(struct pbm_wire_info, channel_count)] = info->channel_count;
	if (!encode_string("serial", info->serial, TRUE,
	                   buf + offsetof(struct pbm_wire_info, serial), PBM_STRING_SERIAL_LEN,
	                   error) ||
	    !encode_string("model", info->model, FALSE, buf + offsetof(struct pbm_wire_info, model),
	                   PBM_STRING_MODEL_LEN, error) ||
	    !encode_string("firmware version", info->firmware, FALSE,
	                   buf + offsetof(struct pbm_wire_info, firmware), PBM_STRING_FIRMWARE_LEN,
	                   error))
		return FALSE;
	put_u16(buf, offsetof(struct pbm_wire_info, max_session_s), info->max_session_s);
	put_u16(buf, offsetof(struct pbm_wire_info, t_derate_dc), (guint16)info->t_derate_dc);
	put_u16(buf, offsetof(struct pbm_wire_info, t_max_dc), (guint16)info->t_max_dc);
	put_u16(buf, offsetof(struct pbm_wire_info, watchdog_min_ms), info->watchdog_min_ms);
	put_u16(buf, offsetof(struct pbm_wire_info, watchdog_max_ms), info->watchdog_max_ms);
	return TRUE;
}

/* ---- channels ---- */

gboolean
pbm_channel_validate(const PbmChannel *ch, guint position, GError **error)
{
	g_autofree gchar *what = NULL;

	if (ch->index != position) {
		g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_FORMAT,
		            "channel at position %u claims index %u", position, ch->index);
		return FALSE;
	}
	if (ch->band != PBM_BAND_RED && ch->band != PBM_BAND_NIR) {
		g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_RANGE,
		            "channel %u has band %d, allowed 1 (red) or 2 (nir)", position,
		            (gint)ch->band);
		return FALSE;
	}
	what = g_strdup_printf("channel %u %s wavelength (nm)", position,
	                       pbm_band_to_string(ch->band));
	/* The band decides which safety rules apply, so it must agree with the
	 * wavelength: red is visible (flicker rules), NIR is not (eye rules). */
	if (ch->band == PBM_BAND_RED &&
	    !check_range(what, ch->wavelength_nm, PBM_WAVELENGTH_MIN_NM, 699, error))
		return FALSE;
	if (ch->band == PBM_BAND_NIR &&
	    !check_range(what, ch->wavelength_nm, 700, PBM_WAVELENGTH_MAX_NM, error))
		return FALSE;
	g_free(what);
	what = g_strdup_printf("channel %u max level (permille)", position);
	if (!check_range(what, ch->max_level, 1, PBM_LEVEL_MAX, error))
		return FALSE;
	g_free(what);
	what = g_strdup_printf("channel %u calibration point count", position);
	if (!check_range(what, ch->point_count, 1, PBM_CAL_POINTS_MAX, error))
		return FALSE;
	for (guint i = 0; i < ch->point_count; i++) {
		const PbmCalPoint *p = &ch->points[i];
		guint prev = i == 0 ? 0 : ch->points[i - 1].distance_mm;

		if (p->distance_mm <= prev) {
			g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_FORMAT,
			            "channel %u calibration point %u: distance %u mm is not "
			            "greater than the previous point's %u mm",
			            position, i, p->distance_mm, prev);
			return FALSE;
		}
		if (p->irradiance_cmw == 0) {
			g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_RANGE,
			            "channel %u calibration point %u has zero irradiance", position,
			            i);
			return FALSE;
		}
	}
	return TRUE;
}

static void
channel_read(const guint8 *p, PbmChannel *ch)
{
	memset(ch, 0, sizeof(*ch));
	ch->index = p[offsetof(struct pbm_wire_channel, index)];
	ch->band = p[offsetof(struct pbm_wire_channel, band)];
	ch->wavelength_nm = get_u16(p, offsetof(struct pbm_wire_channel, wavelength_nm));
	ch->max_level = get_u16(p, offsetof(struct pbm_wire_channel, max_level));
	ch->point_count = p[offsetof(struct pbm_wire_channel, point_count)];
	for (guint i = 0; i < PBM_CAL_POINTS_MAX; i++) {
		gsize off = offsetof(struct pbm_wire_channel, points) +
		            i * sizeof(struct pbm_wire_cal_point);
		/* Points past point_count are padding and ignored. */
		if (i >= ch->point_count)
			break;
		ch->points[i].distance_mm = get_u16(p, off);
		ch->points[i].irradiance_cmw = get_u16(p, off + 2);
	}
}

static void
channel_write(const PbmChannel *ch, guint8 *p)
{
	memset(p, 0, sizeof(struct pbm_wire_channel));
	p[offsetof(struct pbm_wire_channel, index)] = ch->index;
	p[offsetof(struct pbm_wire_channel, band)] = (guint8)ch->band;
	put_u16(p, offsetof(struct pbm_wire_channel, wavelength_nm), ch->wavelength_nm);
	put_u16(p, offsetof(struct pbm_wire_channel, max_level), ch->max_level);
	p[offsetof(struct pbm_wire_channel, point_count)] = ch->point_count;
	for (guint i = 0; i < ch->point_count; i++) {
		gsize off = offsetof(struct pbm_wire_channel, points) +
		            i * sizeof(struct pbm_wire_cal_point);
		put_u16(p, off, ch->points[i].distance_mm);
		put_u16(p, off + 2, ch->points[i].irradiance_cmw);
	}
}

gboolean
pbm_channels_decode(const guint8 *buf, gsize len, guint expected_count,
                    PbmChannel out[PBM_MAX_CHANNELS], GError **error)
{
	PbmChannel channels[PBM_MAX_CHANNELS];
	guint count;

	if (len < sizeof(struct pbm_wire_channels_header)) {
		g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_SHORT,
		            "channel table is %" G_GSIZE_FORMAT " bytes, shorter than its header",
		            len);
		return FALSE;
	}
	count = buf[offsetof(struct pbm_wire_channels_header, count)];
	if (!check_range("channel table count", count, 1, PBM_MAX_CHANNELS, error))
		return FALSE;
	if (count != expected_count) {
		g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_FORMAT,
		            "channel table lists %u channels but device info said %u", count,
		            expected_count);
		return FALSE;
	}
	if (!check_length("channel table", len, PBM_CHANNELS_REPLY_SIZE(count), error))
		return FALSE;
	for (guint i = 0; i < count; i++) {
		channel_read(buf + PBM_CHANNELS_REPLY_SIZE(i), &channels[i]);
		if (!pbm_channel_validate(&channels[i], i, error))
			return FALSE;
	}
	memcpy(out, channels, count * sizeof(PbmChannel));
	return TRUE;
}

gsize
pbm_channels_encode(const PbmChannel *channels, guint count, guint8 *buf, gsize len, GError **error)
{
	if (!check_range("channel table count", count, 1, PBM_MAX_CHANNELS, error))
		return 0;
	if (len < PBM_CHANNELS_REPLY_SIZE(count)) {
		g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_SHORT,
		            "buffer of %" G_GSIZE_FORMAT " bytes cannot hold %u channels", len,
		            count);
		return 0;
	}
	for (guint i = 0; i < count; i++) {
		if (!pbm_channel_validate(&channels[i], i, error))
			return 0;
	}
	memset(buf, 0, sizeof(struct pbm_wire_channels_header));
	buf[offsetof(struct pbm_wire_channels_header, count)] = (guint8)count;
	for (guint i = 0; i < count; i++)
		channel_write(&channels[i], buf + PBM_CHANNELS_REPLY_SIZE(i));
	return PBM_CHANNELS_REPLY_SIZE(count);
}

gdouble
pbm_channel_irradiance_at(const PbmChannel *ch, guint distance_mm)
{
	const PbmCalPoint *p = ch->points;
	guint n = ch->point_count;

	if (n == 0)
		return 0.0;
	if (distance_mm <= p[0].distance_mm)
		return p[0].irradiance_cmw / 100.0;
	for (guint i = 1; i < n; i++) {
		if (distance_mm <= p[i].distance_mm) {
			gdouble span = p[i].distance_mm - p[i - 1].distance_mm;
			gdouble t = (distance_mm - p[i - 1].distance_mm) / span;
			gdouble a = p[i - 1].irradiance_cmw, b = p[i].irradiance_cmw;
			return (a + (b - a) * t) / 100.0;
		}
	}
	return p[n - 1].irradiance_cmw / 100.0;
}

/* ---- status ---- */

static gboolean
pulse_validate(guint32 pulse_mhz, guint16 duty, GError **error)
{
	if (pulse_mhz == 0) {
		if (duty == PBM_DUTY_MAX)
			return TRUE;
		g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_RANGE,
		            "duty is %u permille with continuous output, must be %u", duty,
		            (guint)PBM_DUTY_MAX);
		return FALSE;
	}
	return check_range("pulse frequency (mHz)", pulse_mhz, PBM_PULSE_MIN_MHZ, PBM_PULSE_MAX_MHZ,
	                   error) &&
	       check_range("duty (permille)", duty, 1, PBM_DUTY_MAX, error);
}

static gboolean
levels_validate(const guint16 *level, GError **error)
{
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++) {
		g_autofree gchar *what = g_strdup_printf("channel %u level (permille)", i);
		if (!check_range(what, level[i], 0, PBM_LEVEL_MAX, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean
status_validate(const PbmStatus *s, GError **error)
{
	if (!levels_validate(s->level, error) || !pulse_validate(s->pulse_mhz, s->duty, error) ||
	    !check_range("temperature (0.1 C)", s->temperature_dc, PBM_TEMP_MIN_DC, PBM_TEMP_MAX_DC,
	                 error) ||
	    !check_range("derating (permille)", s->derate, 0, PBM_LEVEL_MAX, error) ||
	    !check_range("watchdog state", s->watchdog, PBM_WATCHDOG_DISARMED, PBM_WATCHDOG_EXPIRED,
	                 error) ||
	    !check_range("watchdog time left (ms)", s->watchdog_left_ms, 0, PBM_WATCHDOG_MAX_MS,
	                 error) ||
	    !check_range("session time left (s)", s->session_left_s, 0, PBM_SESSION_CAP_MAX_S,
	                 error))
		return FALSE;
	return TRUE;
}

static void
status_read(const guint8 *buf, PbmStatus *s)
{
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++)
		s->level[i] = get_u16(buf, offsetof(struct pbm_wire_status, level) + 2 * i);
	s->pulse_mhz = get_u32(buf, offsetof(struct pbm_wire_status, pulse_mhz));
	s->duty = get_u16(buf, offsetof(struct pbm_wire_status, duty));
	s->temperature_dc = get_s16(buf, offsetof(struct pbm_wire_status, temperature_dc));
	s->fan_rpm = get_u16(buf, offsetof(struct pbm_wire_status, fan_rpm));
	s->derate = get_u16(buf, offsetof(struct pbm_wire_status, derate));
	s->faults = get_u32(buf, offsetof(struct pbm_wire_status, faults));
	s->watchdog = buf[offsetof(struct pbm_wire_status, watchdog)];
	s->flags = buf[offsetof(struct pbm_wire_status, flags)];
	s->watchdog_left_ms = get_u16(buf, offsetof(struct pbm_wire_status, watchdog_left_ms));
	s->session_left_s = get_u16(buf, offsetof(struct pbm_wire_status, session_left_s));
	s->uptime_ms = get_u32(buf, offsetof(struct pbm_wire_status, uptime_ms));
}

static void
status_write(const PbmStatus *s, guint8 *buf)
{
	memset(buf, 0, sizeof(struct pbm_wire_status));
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++)
		put_u16(buf, offsetof(struct pbm_wire_status, level) + 2 * i, s->level[i]);
	put_u32(buf, offsetof(struct pbm_wire_status, pulse_mhz), s->pulse_mhz);
	put_u16(buf, offsetof(struct pbm_wire_status, duty), s->duty);
	put_u16(buf, offsetof(struct pbm_wire_status, temperature_dc), (guint16)s->temperature_dc);
	put_u16(buf, offsetof(struct pbm_wire_status, fan_rpm), s->fan_rpm);
	put_u16(buf, offsetof(struct pbm_wire_status, derate), s->derate);
	put_u32(buf, offsetof(struct pbm_wire_status, faults), s->faults);
	buf[offsetof(struct pbm_wire_status, watchdog)] = (guint8)s->watchdog;
	buf[offsetof(struct pbm_wire_status, flags)] = s->flags;
	put_u16(buf, offsetof(struct pbm_wire_status, watchdog_left_ms), s->watchdog_left_ms);
	put_u16(buf, offsetof(struct pbm_wire_status, session_left_s), s->session_left_s);
	put_u32(buf, offsetof(struct pbm_wire_status, uptime_ms), s->uptime_ms);
}

gboolean
pbm_status_decode(const guint8 *buf, gsize len, PbmStatus *out, GError **error)
{
	PbmStatus s;

	if (!check_length("status", len, sizeof(struct pbm_wire_status), error))
		return FALSE;
	status_read(buf, &s);
	if (!status_validate(&s, error))
		return FALSE;
	*out = s;
	return TRUE;
}

gboolean
pbm_status_encode(const PbmStatus *status, guint8 buf[sizeof(struct pbm_wire_status)],
                  GError **error)
{
	if (!status_validate(status, error))
		return FALSE;
	status_write(status, buf);
	return TRUE;
}

/* ---- report ---- */

gboolean
pbm_report_decode(const guint8 *buf, gsize len, PbmReport *out, GError **error)
{
	PbmReport r = { 0 };

	if (!check_length("report", len, sizeof(struct pbm_wire_report), error))
		return FALSE;
	r.type = buf[offsetof(struct pbm_wire_report, type)];
	if (r.type != PBM_REPORT_STATUS) {
		g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_FORMAT,
		            "report type 0x%02x is unknown, expected 0x%02x", r.type,
		            (guint)PBM_REPORT_STATUS);
		return FALSE;
	}
	r.seq = get_u16(buf, offsetof(struct pbm_wire_report, seq));
	r.events = get_u16(buf, offsetof(struct pbm_wire_report, events));
	status_read(buf + offsetof(struct pbm_wire_report, status), &r.status);
	if (!status_validate(&r.status, error)) {
		g_prefix_error(error, "report %u: ", r.seq);
		return FALSE;
	}
	*out = r;
	return TRUE;
}

gboolean
pbm_report_encode(const PbmReport *report, guint8 buf[sizeof(struct pbm_wire_report)],
                  GError **error)
{
	if (report->type != PBM_REPORT_STATUS) {
		g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_FORMAT,
		            "report type 0x%02x is unknown", report->type);
		return FALSE;
	}
	if (!status_validate(&report->status, error))
		return FALSE;
	memset(buf, 0, sizeof(struct pbm_wire_report));
	buf[offsetof(struct pbm_wire_report, type)] = (guint8)report->type;
	put_u16(buf, offsetof(struct pbm_wire_report, seq), report->seq);
	put_u16(buf, offsetof(struct pbm_wire_report, events), report->events);
	status_write(&report->status, buf + offsetof(struct pbm_wire_report, status));
	return TRUE;
}

/* ---- output ---- */

gboolean
pbm_output_is_lit(const PbmOutput *output)
{
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++) {
		if (output->level[i] > 0)
			return TRUE;
	}
	return FALSE;
}

static enum pbm_result
output_check_channels(const PbmOutput *o, const PbmChannel *channels, guint count, GError **error)
{
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++) {
		if (i >= count && o->level[i] != 0) {
			g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_RANGE,
			            "channel %u level is %u permille but the panel has only %u "
			            "channels",
			            i, o->level[i], count);
			return PBM_RESULT_NO_CHANNEL;
		}
		if (i < count && o->level[i] > channels[i].max_level) {
			g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_RANGE,
			            "channel %u level is %u permille, above the channel's cap of "
			            "%u",
			            i, o->level[i], channels[i].max_level);
			return PBM_RESULT_LEVEL;
		}
	}
	return PBM_RESULT_OK;
}

/* The checks of pbm_output_validate(), in the order of pbmd-protocol(7),
 * naming the first that fails as a panel reports it to GET_RESULT. */
static enum pbm_result
output_check(const PbmOutput *o, const PbmChannel *channels, guint channel_count, GError **error)
{
	if (!levels_validate(o->level, error))
		return PBM_RESULT_LEVEL;
	if (o->pulse_mhz != 0 && !check_range("pulse frequency (mHz)", o->pulse_mhz,
	                                      PBM_PULSE_MIN_MHZ, PBM_PULSE_MAX_MHZ, error))
		return PBM_RESULT_PULSE;
	if (!pulse_validate(o->pulse_mhz, o->duty, error))
		return PBM_RESULT_DUTY;
	if (!check_range("ramp (ms)", o->ramp_ms, 0, PBM_RAMP_MAX_MS, error))
		return PBM_RESULT_RAMP;
	if (pbm_output_is_lit(o) &&
	    !check_range("session cap (s)", o->session_cap_s, 1, PBM_SESSION_CAP_MAX_S, error))
		return PBM_RESULT_SESSION_CAP;
	if (channels == NULL)
		return PBM_RESULT_OK;
	return output_check_channels(o, channels, channel_count, error);
}

gboolean
pbm_output_validate(const PbmOutput *o, const PbmChannel *channels, guint channel_count,
                    GError **error)
{
	return output_check(o, channels, channel_count, error) == PBM_RESULT_OK;
}

static void
output_read(const guint8 *buf, PbmOutput *o)
{
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++)
		o->level[i] = get_u16(buf, offsetof(struct pbm_wire_output, level) + 2 * i);
	o->pulse_mhz = get_u32(buf, offsetof(struct pbm_wire_output, pulse_mhz));
	o->duty = get_u16(buf, offsetof(struct pbm_wire_output, duty));
	o->ramp_ms = get_u16(buf, offsetof(struct pbm_wire_output, ramp_ms));
	o->session_cap_s = get_u16(buf, offsetof(struct pbm_wire_output, session_cap_s));
}

enum pbm_result
pbm_output_decode_check(const guint8 *buf, gsize len, const PbmChannel *channels,
                        guint channel_count, PbmOutput *out, GError **error)
{
	PbmOutput o = { 0 };
	enum pbm_result result;

	if (!check_length("output request", len, sizeof(struct pbm_wire_output), error))
		return PBM_RESULT_BAD_LENGTH;
	output_read(buf, &o);
	result = output_check(&o, channels, channel_count, error);
	if (result == PBM_RESULT_OK)
		*out = o;
	return result;
}

gboolean
pbm_output_encode(const PbmOutput *o, guint8 buf[sizeof(struct pbm_wire_output)], GError **error)
{
	if (!pbm_output_validate(o, NULL, 0, error))
		return FALSE;
	memset(buf, 0, sizeof(struct pbm_wire_output));
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++)
		put_u16(buf, offsetof(struct pbm_wire_output, level) + 2 * i, o->level[i]);
	put_u32(buf, offsetof(struct pbm_wire_output, pulse_mhz), o->pulse_mhz);
	put_u16(buf, offsetof(struct pbm_wire_output, duty), o->duty);
	put_u16(buf, offsetof(struct pbm_wire_output, ramp_ms), o->ramp_ms);
	put_u16(buf, offsetof(struct pbm_wire_output, session_cap_s), o->session_cap_s);
	return TRUE;
}

/* ---- result ---- */

static gboolean
result_validate(const PbmResult *r, GError **error)
{
	/* A result without a request to be the result of would be invented. */
	if (r->count == 0 && r->result != PBM_RESULT_OK) {
		g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_FORMAT,
		            "result of %s is %u but the panel counts none received",
		            pbm_request_to_string(r->request), r->result);
		return FALSE;
	}
	return TRUE;
}

gboolean
pbm_result_decode(const guint8 *buf, gsize len, guint8 request, PbmResult *out, GError **error)
{
	PbmResult r;

	if (!check_length("command result", len, sizeof(struct pbm_wire_result), error))
		return FALSE;
	r.request = buf[offsetof(struct pbm_wire_result, request)];
	r.result = buf[offsetof(struct pbm_wire_result, result)];
	r.count = get_u16(buf, offsetof(struct pbm_wire_result, count));
	if (r.request != request) {
		g_set_error(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_FORMAT,
		            "command result is about request 0x%02x (%s) but 0x%02x (%s) was asked",
		            r.request, pbm_request_to_string(r.request), request,
		            pbm_request_to_string(request));
		return FALSE;
	}
	if (!result_validate(&r, error))
		return FALSE;
	*out = r;
	return TRUE;
}

gboolean
pbm_result_encode(const PbmResult *r, guint8 buf[sizeof(struct pbm_wire_result)], GError **error)
{
	if (!result_validate(r, error))
		return FALSE;
	memset(buf, 0, sizeof(struct pbm_wire_result));
	buf[offsetof(struct pbm_wire_result, request)] = r->request;
	buf[offsetof(struct pbm_wire_result, result)] = r->result;
	put_u16(buf, offsetof(struct pbm_wire_result, count), r->count);
	return TRUE;
}

guint16
pbm_result_count_next(guint16 count)
{
	return count == G_MAXUINT16 ? 1 : count + 1;
}

/* ---- names ---- */

const gchar *
pbm_request_to_string(guint8 request)
{
	switch (request) {
	case PBM_REQ_GET_INFO:
		return "get-info";
	case PBM_REQ_GET_CHANNELS:
		return "get-channels";
	case PBM_REQ_GET_STATUS:
		return "get-status";
	case PBM_REQ_GET_RESULT:
		return "get-result";
	case PBM_REQ_SET_OUTPUT:
		return "set-output";
	case PBM_REQ_ALL_OFF:
		return "all-off";
	case PBM_REQ_HEARTBEAT:
		return "heartbeat";
	case PBM_REQ_CLEAR_FAULT:
		return "clear-fault";
	case PBM_REQ_IDENTIFY:
		return "identify";
	default:
		return "unknown";
	}
}

const gchar *
pbm_band_to_string(enum pbm_band band)
{
	switch (band) {
	case PBM_BAND_RED:
		return "red";
	case PBM_BAND_NIR:
		return "nir";
	default:
		return "unknown";
	}
}

const gchar *
pbm_fault_to_string(guint32 fault_bit)
{
	switch (fault_bit) {
	case PBM_FAULT_OVER_TEMP:
		return "over-temperature";
	case PBM_FAULT_FAN_STALL:
		return "fan-stall";
	case PBM_FAULT_LED_STRING:
		return "led-string";
	case PBM_FAULT_SENSOR:
		return "sensor";
	default:
		return NULL;
	}
}

static const gchar *
event_to_string(guint16 event_bit)
{
	switch (event_bit) {
	case PBM_EVENT_RESET:
		return "reset";
	case PBM_EVENT_BUTTON:
		return "button";
	case PBM_EVENT_FAULT:
		return "fault";
	case PBM_EVENT_WATCHDOG_EXPIRED:
		return "watchdog-expired";
	case PBM_EVENT_SESSION_CAP:
		return "session-cap";
	case PBM_EVENT_DERATE_START:
		return "derate-start";
	case PBM_EVENT_DERATE_END:
		return "derate-end";
	default:
		return NULL;
	}
}

const gchar *
pbm_watchdog_state_to_string(enum pbm_watchdog_state state)
{
	switch (state) {
	case PBM_WATCHDOG_DISARMED:
		return "disarmed";
	case PBM_WATCHDOG_ARMED:
		return "armed";
	case PBM_WATCHDOG_EXPIRED:
		return "expired";
	default:
		return "unknown";
	}
}

const gchar *
pbm_result_to_string(guint8 result)
{
	switch (result) {
	case PBM_RESULT_OK:
		return "ok";
	case PBM_RESULT_BAD_LENGTH:
		return "bad-length";
	case PBM_RESULT_BAD_VALUE:
		return "bad-value";
	case PBM_RESULT_LEVEL:
		return "level";
	case PBM_RESULT_NO_CHANNEL:
		return "no-channel";
	case PBM_RESULT_PULSE:
		return "pulse";
	case PBM_RESULT_DUTY:
		return "duty";
	case PBM_RESULT_RAMP:
		return "ramp";
	case PBM_RESULT_SESSION_CAP:
		return "session-cap";
	case PBM_RESULT_WATCHDOG:
		return "watchdog";
	case PBM_RESULT_FAULT:
		return "fault";
	default:
		return NULL;
	}
}

const gchar *
pbm_result_describe(guint8 result)
{
	switch (result) {
	case PBM_RESULT_OK:
		return "it was accepted";
	case PBM_RESULT_BAD_LENGTH:
		return "the request's data had the wrong length";
	case PBM_RESULT_BAD_VALUE:
		return "the request's wValue was out of range";
	case PBM_RESULT_LEVEL:
		return "a level was above 1000 permille or above its channel's cap";
	case PBM_RESULT_NO_CHANNEL:
		return "a level was set on a channel the panel does not have";
	case PBM_RESULT_PULSE:
		return "the pulse frequency was out of range";
	case PBM_RESULT_DUTY:
		return "the duty cycle was out of range";
	case PBM_RESULT_RAMP:
		return "the ramp was longer than the panel allows";
	case PBM_RESULT_SESSION_CAP:
		return "the session cap was 0 or above the panel's limit";
	case PBM_RESULT_WATCHDOG:
		return "its watchdog was not armed: no heartbeat came in time";
	case PBM_RESULT_FAULT:
		return "a fault is latched on the panel";
	default:
		return "a reason unknown to pbmd";
	}
}

static gchar *
bits_describe(guint32 bits, guint width, const gchar *(*name)(guint32))
{
	g_autoptr(GString) s = g_string_new(NULL);

	for (guint i = 0; i < width; i++) {
		guint32 bit = 1u << i;
		const gchar *n;

		if (!(bits & bit))
			continue;
		if (s->len > 0)
			g_string_append_c(s, ',');
		n = name(bit);
		if (n != NULL)
			g_string_append(s, n);
		else
			g_string_append_printf(s, "bit-%u", i);
	}
	if (s->len == 0)
		g_string_append(s, "none");
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static const gchar *
event_name32(guint32 bit)
{
	return event_to_string((guint16)bit);
}

gchar *
pbm_faults_describe(guint32 faults)
{
	return bits_describe(faults, 32, pbm_fault_to_string);
}

gchar *
pbm_events_describe(guint16 events)
{
	return bits_describe(events, 16, event_name32);
}
