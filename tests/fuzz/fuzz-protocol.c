/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libFuzzer target: every decoder of bytes that come from the panel, plus
 * the output request the host sends. The first byte picks the decoder, the
 * rest is the message:
 *   0  device info (GET_INFO reply)
 *   1  channel table (GET_CHANNELS reply); the second byte is the channel
 *      count the device info announced, the message follows it
 *   2  status (GET_STATUS reply)
 *   3  interrupt report
 *   4  output request (SET_OUTPUT data)
 *   5  command result (GET_RESULT reply); the second byte is the request
 *      asked about (wValue), the message follows it
 * Whatever the input, a decoder fails with a PBM_PROTOCOL_ERROR or accepts
 * a message that encodes back to the same bytes, reserved and padding bytes
 * aside: nothing read is lost or misread, and nothing out of range passes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pbm-protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Byte ranges a decoder ignores and an encoder writes as zero. */
typedef struct {
	gsize offset;
	gsize len;
} Hole;

static void
check_refusal(gboolean ok, const GError *error)
{
	if (ok || error == NULL || error->domain != PBM_PROTOCOL_ERROR || error->message[0] == '\0')
		abort();
}

/* The encoding must equal the input with its holes zeroed. */
static void
check_same(const guint8 *in, const guint8 *encoded, gsize len, const Hole *holes, guint n_holes)
{
	g_autofree guint8 *want = g_memdup2(in, len);

	for (guint i = 0; i < n_holes; i++) {
		if (holes[i].offset + holes[i].len <= len)
			memset(want + holes[i].offset, 0, holes[i].len);
	}
	if (memcmp(want, encoded, len) != 0)
		abort();
}

static void
fuzz_info(const guint8 *buf, gsize len)
{
	static const Hole holes[] = {
		{ offsetof(struct pbm_wire_info, reserved0), 1 },
		{ offsetof(struct pbm_wire_info, reserved1), 2 },
	};
	g_autoptr(GError) error = NULL;
	guint8 out[sizeof(struct pbm_wire_info)];
	PbmInfo info;

	if (!pbm_info_decode(buf, len, &info, &error)) {
		check_refusal(FALSE, error);
		return;
	}
	if (len != sizeof(out) || strlen(info.serial) == 0 || !pbm_info_encode(&info, out, NULL))
		abort();
	check_same(buf, out, len, holes, G_N_ELEMENTS(holes));
}

static void
check_irradiance(const PbmChannel *ch)
{
	guint lo = G_MAXUINT, hi = 0;

	for (guint i = 0; i < ch->point_count; i++) {
		lo = MIN(lo, ch->points[i].irradiance_cmw);
		hi = MAX(hi, ch->points[i].irradiance_cmw);
	}
	/* Interpolation stays between the calibration points, everywhere, and
	 * meets each point exactly. */
	for (guint d = 0; d <= G_MAXUINT16 + 1u; d += 251) {
		gdouble e = pbm_channel_irradiance_at(ch, d) * 100.0;
		if (!(e >= lo - 1e-6 && e <= hi + 1e-6))
			abort();
	}
	for (guint i = 0; i < ch->point_count; i++) {
		if (pbm_channel_irradiance_at(ch, ch->points[i].distance_mm) !=
		    ch->points[i].irradiance_cmw / 100.0)
			abort();
	}
}

static void
fuzz_channels(const guint8 *buf, gsize len)
{
	Hole holes[1 + 2 * PBM_MAX_CHANNELS] = {
		{ offsetof(struct pbm_wire_channels_header, reserved), 3 },
	};
	g_autoptr(GError) error = NULL;
	guint8 out[PBM_CHANNELS_REPLY_SIZE(PBM_MAX_CHANNELS)];
	PbmChannel channels[PBM_MAX_CHANNELS];
	guint expected, n_holes = 1;

	if (len < 1)
		return;
	expected = buf[0];
	buf++;
	len--;
	if (!pbm_channels_decode(buf, len, expected, channels, &error)) {
		check_refusal(FALSE, error);
		return;
	}
	if (expected < 1 || expected > PBM_MAX_CHANNELS ||
	    pbm_channels_encode(channels, expected, out, sizeof(out), NULL) != len)
		abort();
	for (guint i = 0; i < expected; i++) {
		gsize base = PBM_CHANNELS_REPLY_SIZE(i);
		gsize points = offsetof(struct pbm_wire_channel, points) +
		               channels[i].point_count * sizeof(struct pbm_wire_cal_point);

		holes[n_holes++] = (Hole){ base + offsetof(struct pbm_wire_channel, reserved), 1 };
		holes[n_holes++] =
		        (Hole){ base + points, sizeof(struct pbm_wire_channel) - points };
		check_irradiance(&channels[i]);
	}
	check_same(buf, out, len, holes, n_holes);
}

static void
check_status(const PbmStatus *s)
{
	g_autofree gchar *faults = pbm_faults_describe(s->faults);

	if (faults == NULL || faults[0] == '\0' ||
	    pbm_watchdog_state_to_string(s->watchdog) == NULL)
		abort();
}

static void
fuzz_status(const guint8 *buf, gsize len)
{
	static const Hole holes[] = {
		{ offsetof(struct pbm_wire_status, reserved), 2 },
	};
	g_autoptr(GError) error = NULL;
	guint8 out[sizeof(struct pbm_wire_status)];
	PbmStatus status;

	if (!pbm_status_decode(buf, len, &status, &error)) {
		check_refusal(FALSE, error);
		return;
	}
	if (len != sizeof(out) || !pbm_status_encode(&status, out, NULL))
		abort();
	check_same(buf, out, len, holes, G_N_ELEMENTS(holes));
	check_status(&status);
}

static void
fuzz_report(const guint8 *buf, gsize len)
{
	static const Hole holes[] = {
		{ offsetof(struct pbm_wire_report, reserved0), 1 },
		{ offsetof(struct pbm_wire_report, reserved1), 2 },
		{ offsetof(struct pbm_wire_report, status) +
		          offsetof(struct pbm_wire_status, reserved),
		  2 },
	};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *events = NULL;
	guint8 out[sizeof(struct pbm_wire_report)];
	PbmReport report;

	if (!pbm_report_decode(buf, len, &report, &error)) {
		check_refusal(FALSE, error);
		return;
	}
	if (len != sizeof(out) || !pbm_report_encode(&report, out, NULL))
		abort();
	check_same(buf, out, len, holes, G_N_ELEMENTS(holes));
	check_status(&report.status);
	events = pbm_events_describe(report.events);
	if (events == NULL || events[0] == '\0')
		abort();
}

static void
fuzz_output(const guint8 *buf, gsize len)
{
	static const Hole holes[] = {
		{ offsetof(struct pbm_wire_output, reserved), 2 },
	};
	g_autoptr(GError) error = NULL;
	guint8 out[sizeof(struct pbm_wire_output)];
	PbmOutput output;
	enum pbm_result result;

	result = pbm_output_decode_check(buf, len, NULL, 0, &output, &error);
	if (result != PBM_RESULT_OK) {
		/* a refusal a panel can name: a wrong length or a range */
		if (result != PBM_RESULT_BAD_LENGTH &&
		    (result < PBM_RESULT_LEVEL || result > PBM_RESULT_SESSION_CAP ||
		     result == PBM_RESULT_NO_CHANNEL))
			abort();
		check_refusal(FALSE, error);
		return;
	}
	if (len != sizeof(out) || !pbm_output_encode(&output, out, NULL))
		abort();
	check_same(buf, out, len, holes, G_N_ELEMENTS(holes));
	/* A lit request always carries an on-device time cap. */
	if (pbm_output_is_lit(&output) &&
	    (output.session_cap_s < 1 || output.session_cap_s > PBM_SESSION_CAP_MAX_S))
		abort();
}

static void
fuzz_result(const guint8 *buf, gsize len)
{
	static const Hole holes[] = {
		{ offsetof(struct pbm_wire_result, reserved), 4 },
	};
	g_autoptr(GError) error = NULL;
	guint8 out[sizeof(struct pbm_wire_result)];
	PbmResult result;
	guint8 request;

	if (len < 1)
		return;
	request = buf[0];
	buf++;
	len--;
	if (!pbm_result_decode(buf, len, request, &result, &error)) {
		check_refusal(FALSE, error);
		return;
	}
	if (len != sizeof(out) || !pbm_result_encode(&result, out, NULL))
		abort();
	check_same(buf, out, len, holes, G_N_ELEMENTS(holes));
	/* the answer is about what was asked, and nothing is refused before
	 * anything was received */
	if (result.request != request || (result.count == 0 && result.result != PBM_RESULT_OK))
		abort();
	if (pbm_result_describe(result.result)[0] == '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 6) {
	case 0:
		fuzz_info(data + 1, size - 1);
		break;
	case 1:
		fuzz_channels(data + 1, size - 1);
		break;
	case 2:
		fuzz_status(data + 1, size - 1);
		break;
	case 3:
		fuzz_report(data + 1, size - 1);
		break;
	case 4:
		fuzz_output(data + 1, size - 1);
		break;
	case 5:
		fuzz_result(data + 1, size - 1);
		break;
	}
	return 0;
}
