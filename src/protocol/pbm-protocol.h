/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Pure encoders and decoders for the wire structs of <pbmd/protocol.h>.
 * Decoders treat every byte as hostile: they check length, version and the
 * range of every field, and fail with a distinct PbmProtocolError code.
 * Encoders write exactly the wire size and validate what they are given the
 * same way, so neither side can put an out-of-range message on the wire.
 */
#pragma once

#include <glib.h>

#include "pbmd/protocol.h"

G_BEGIN_DECLS

#define PBM_PROTOCOL_ERROR (pbm_protocol_error_quark())
GQuark pbm_protocol_error_quark(void);

typedef enum {
	PBM_PROTOCOL_ERROR_SHORT,   /* fewer bytes than the message needs */
	PBM_PROTOCOL_ERROR_LONG,    /* more bytes than the message has */
	PBM_PROTOCOL_ERROR_VERSION, /* protocol major version differs */
	PBM_PROTOCOL_ERROR_RANGE,   /* a field outside its allowed range */
	PBM_PROTOCOL_ERROR_FORMAT,  /* malformed: bad string, order, type */
} PbmProtocolError;

typedef struct {
	guint16 distance_mm;
	guint16 irradiance_cmw; /* 0.01 mW/cm2 at full level */
} PbmCalPoint;

typedef struct {
	guint8 index;
	enum pbm_band band;
	guint16 wavelength_nm;
	guint16 max_level;
	guint8 point_count;
	PbmCalPoint points[PBM_CAL_POINTS_MAX];
} PbmChannel;

typedef struct {
	guint8 proto_major;
	guint8 proto_minor;
	guint8 channel_count;
	gchar serial[PBM_STRING_SERIAL_LEN + 1];
	gchar model[PBM_STRING_MODEL_LEN + 1];
	gchar firmware[PBM_STRING_FIRMWARE_LEN + 1];
	guint16 max_session_s;
	gint16 t_derate_dc;
	gint16 t_max_dc;
	guint16 watchdog_min_ms;
	guint16 watchdog_max_ms;
} PbmInfo;

typedef struct {
	guint16 level[PBM_MAX_CHANNELS];
	guint32 pulse_mhz;
	guint16 duty;
	gint16 temperature_dc;
	guint16 fan_rpm;
	guint16 derate;
	guint32 faults;
	enum pbm_watchdog_state watchdog;
	guint8 flags;
	guint16 watchdog_left_ms;
	guint16 session_left_s;
	guint32 uptime_ms;
} PbmStatus;

typedef struct {
	enum pbm_report_type type;
	guint16 seq;
	guint16 events;
	PbmStatus status;
} PbmReport;

typedef struct {
	guint16 level[PBM_MAX_CHANNELS];
	guint32 pulse_mhz;
	guint16 duty;
	guint16 ramp_ms;
	guint16 session_cap_s;
} PbmOutput;

/* GET_RESULT reply. result is a guint8, not the enum: a newer panel may
 * send a code this host does not know, which is still a refusal. */
typedef struct {
	guint8 request;
	guint8 result;
	guint16 count;
} PbmResult;

gboolean pbm_info_decode(const guint8 *buf, gsize len, PbmInfo *out, GError **error);
gboolean pbm_info_encode(const PbmInfo *info, guint8 buf[sizeof(struct pbm_wire_info)],
                         GError **error);

gboolean pbm_channel_validate(const PbmChannel *channel, guint position, GError **error);
gboolean pbm_channels_decode(const guint8 *buf, gsize len, guint expected_count,
                             PbmChannel out[PBM_MAX_CHANNELS], GError **error);
/* Returns the number of bytes written (PBM_CHANNELS_REPLY_SIZE(count)), 0 on error. */
gsize pbm_channels_encode(const PbmChannel *channels, guint count, guint8 *buf, gsize len,
                          GError **error);

gboolean pbm_status_decode(const guint8 *buf, gsize len, PbmStatus *out, GError **error);
gboolean pbm_status_encode(const PbmStatus *status, guint8 buf[sizeof(struct pbm_wire_status)],
                           GError **error);

gboolean pbm_report_decode(const guint8 *buf, gsize len, PbmReport *out, GError **error);
gboolean pbm_report_encode(const PbmReport *report, guint8 buf[sizeof(struct pbm_wire_report)],
                           GError **error);

/* Checks an output request against the protocol ranges and, when channels
 * is not NULL, against the channel table (level caps, channel count). */
gboolean pbm_output_validate(const PbmOutput *output, const PbmChannel *channels,
                             guint channel_count, GError **error);
/* Decodes SET_OUTPUT data as a panel does: the length, the same checks as
 * pbm_output_validate() in the order of pbmd-protocol(7), and the channel
 * table unless channels is NULL. Returns the first check that fails as the
 * panel reports it to GET_RESULT, PBM_RESULT_OK (and *out) when none. */
enum pbm_result pbm_output_decode_check(const guint8 *buf, gsize len, const PbmChannel *channels,
                                        guint channel_count, PbmOutput *out, GError **error);
gboolean pbm_output_encode(const PbmOutput *output, guint8 buf[sizeof(struct pbm_wire_output)],
                           GError **error);
gboolean pbm_output_is_lit(const PbmOutput *output);

/* A GET_RESULT reply about request (the wValue that was sent): a reply about
 * another request is malformed. */
gboolean pbm_result_decode(const guint8 *buf, gsize len, guint8 request, PbmResult *out,
                           GError **error);
gboolean pbm_result_encode(const PbmResult *result, guint8 buf[sizeof(struct pbm_wire_result)],
                           GError **error);
/* The count after count: +1, from 65535 on to 1 (0 means none received). */
guint16 pbm_result_count_next(guint16 count);

/* Irradiance in mW/cm2 at full level and distance_mm, linearly interpolated
 * between calibration points; outside the table, the nearest point (a
 * distance beyond the table is refused by callers that need accuracy). */
gdouble pbm_channel_irradiance_at(const PbmChannel *channel, guint distance_mm);

const gchar *pbm_request_to_string(guint8 request);
const gchar *pbm_band_to_string(enum pbm_band band);
/* Names of single bits; NULL for unknown bits. */
const gchar *pbm_fault_to_string(guint32 fault_bit);
const gchar *pbm_watchdog_state_to_string(enum pbm_watchdog_state state);
/* "watchdog" for PBM_RESULT_WATCHDOG; NULL for codes this host does not know. */
const gchar *pbm_result_to_string(guint8 result);
/* Why a panel refused, as a phrase for messages: "its watchdog was not
 * armed: no heartbeat came in time"; for an unknown code, "a reason unknown
 * to pbmd". */
const gchar *pbm_result_describe(guint8 result);
/* "over-temp,fan-stall" or "none"; unknown bits as "bit-N". */
gchar *pbm_faults_describe(guint32 faults);
gchar *pbm_events_describe(guint16 events);

G_END_DECLS
