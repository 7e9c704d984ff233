/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmd panel wire protocol, version 1.1.
 *
 * This header is the single source of truth for the protocol between the
 * host (pbmd) and the panel firmware. It depends on nothing but the C
 * standard library so that firmware can include it as it is. The prose
 * description, with offsets and firmware rules, is man/pbmd-protocol.7.
 *
 * All multi-byte fields are little-endian. Structs are packed; their sizes
 * are part of the protocol and asserted below. A change of any size, field
 * meaning or request semantics bumps PBM_PROTOCOL_MAJOR; a minor bump may
 * only add requests, fault bits, event bits or result codes.
 *
 * 1.1 adds GET_RESULT and PBM_FAULT_SENSOR. A Linux USB gadget (FunctionFS)
 * acknowledges the data stage of an OUT request before the firmware sees
 * the data, so it cannot STALL a SET_OUTPUT it refuses: the host asks
 * GET_RESULT instead.
 */
#pragma once

#include <stdint.h>

#define PBM_PROTOCOL_MAJOR 1
#define PBM_PROTOCOL_MINOR 1

/* USB identity. 0x1209 is the pid.codes open-source vendor id. The product id
 * is this project's default and not yet registered; the daemon matches the
 * VID:PID pairs listed in its configuration, so a panel with another PID only
 * needs a configuration line. */
#define PBM_USB_VID 0x1209
#define PBM_USB_PID 0x7062
#define PBM_USB_INTERFACE 0
#define PBM_USB_INTERFACE_CLASS 0xff
/* Interrupt IN. A panel should use it; hosts take the first interrupt IN
 * endpoint of interface 0 from the descriptor, as a device controller may
 * number it otherwise. */
#define PBM_USB_EP_REPORT 0x81
#define PBM_USB_EP_REPORT_MAX_PACKET 64
#define PBM_USB_EP_REPORT_INTERVAL_MS 10

/* bmRequestType for vendor requests addressed to interface 0. */
#define PBM_REQTYPE_IN 0xc1  /* device-to-host | vendor | interface */
#define PBM_REQTYPE_OUT 0x41 /* host-to-device | vendor | interface */

/* Vendor requests (bRequest). wIndex is always PBM_USB_INTERFACE.
 * Any other request, a wrong direction, or a wLength other than the one
 * listed (for IN: smaller than the reply) is answered with a STALL. */
enum pbm_request {
	PBM_REQ_GET_INFO = 0x01,     /* IN, reply struct pbm_wire_info */
	PBM_REQ_GET_CHANNELS = 0x02, /* IN, reply header + count channels */
	PBM_REQ_GET_STATUS = 0x03,   /* IN, reply struct pbm_wire_status */
	PBM_REQ_GET_RESULT = 0x04,   /* 1.1: IN, wValue = OUT bRequest; struct pbm_wire_result */
	PBM_REQ_SET_OUTPUT = 0x10,   /* OUT, data struct pbm_wire_output */
	PBM_REQ_ALL_OFF = 0x11,      /* OUT, no data; also disarms the watchdog */
	PBM_REQ_HEARTBEAT = 0x12,    /* OUT, no data; wValue = timeout in ms */
	PBM_REQ_CLEAR_FAULT = 0x13,  /* OUT, no data */
	PBM_REQ_IDENTIFY = 0x14,     /* OUT, no data; wValue = seconds */
};

/* Results of OUT requests (struct pbm_wire_result.result): whether the panel
 * applied the latest request of a kind and, if not, the first check it
 * failed. A 1.1 panel still STALLs what it refuses when its USB stack lets
 * it, and records the result either way. A later minor version may add
 * codes: a host treats every code but PBM_RESULT_OK as a refusal. */
enum pbm_result {
	PBM_RESULT_OK = 0,          /* accepted and applied */
	PBM_RESULT_BAD_LENGTH = 1,  /* wLength is not the size of the request's data */
	PBM_RESULT_BAD_VALUE = 2,   /* wValue outside the request's range */
	PBM_RESULT_LEVEL = 3,       /* a level above 1000 or its channel's max_level */
	PBM_RESULT_NO_CHANNEL = 4,  /* a level above 0 on a channel the panel lacks */
	PBM_RESULT_PULSE = 5,       /* pulse_mhz neither 0 nor 1 Hz..10 kHz */
	PBM_RESULT_DUTY = 6,        /* duty not 1000 when continuous, not 1..1000 pulsed */
	PBM_RESULT_RAMP = 7,        /* ramp_ms above PBM_RAMP_MAX_MS */
	PBM_RESULT_SESSION_CAP = 8, /* lit with session_cap_s 0 or above max_session_s */
	PBM_RESULT_WATCHDOG = 9,    /* lit while the watchdog is not armed */
	PBM_RESULT_FAULT = 10,      /* lit while a fault is latched */
};
#define PBM_RESULT_KNOWN_MAX PBM_RESULT_FAULT

/* Limits. */
#define PBM_MAX_CHANNELS 8
#define PBM_CAL_POINTS_MAX 8
#define PBM_LEVEL_MAX 1000          /* permille */
#define PBM_DUTY_MAX 1000           /* permille */
#define PBM_PULSE_MIN_MHZ 1000u     /* 1 Hz */
#define PBM_PULSE_MAX_MHZ 10000000u /* 10 kHz */
#define PBM_RAMP_MAX_MS 10000
#define PBM_WATCHDOG_MIN_MS 500
#define PBM_WATCHDOG_MAX_MS 10000
#define PBM_IDENTIFY_MAX_S 60
#define PBM_SESSION_CAP_MAX_S 7200 /* a panel may advertise less */
#define PBM_WAVELENGTH_MIN_NM 380
#define PBM_WAVELENGTH_MAX_NM 1100
#define PBM_TEMP_MIN_DC (-400) /* 0.1 deg C */
#define PBM_TEMP_MAX_DC 1500
#define PBM_DERATE_HYSTERESIS_DC 5 /* derating ends 0.5 C below t_derate */
#define PBM_STRING_SERIAL_LEN 16
#define PBM_STRING_MODEL_LEN 32
#define PBM_STRING_FIRMWARE_LEN 16

/* Report cadence on the interrupt endpoint. */
#define PBM_REPORT_PERIOD_LIT_MS 100
#define PBM_REPORT_PERIOD_IDLE_MS 1000

enum pbm_band {
	PBM_BAND_RED = 1, /* visible (red): 380-699 nm */
	PBM_BAND_NIR = 2, /* near infrared: 700-1100 nm */
};

/* Fault bits (struct pbm_wire_status.faults). Every fault switches all
 * outputs off and is latched: SET_OUTPUT with a non-zero level is refused
 * until CLEAR_FAULT succeeds, and CLEAR_FAULT only clears a fault whose
 * cause has gone (OVER_TEMP: the board is below t_derate again). Bits not listed here are still
 * faults: a host treats any set bit as a latched fault. */
enum pbm_fault {
	PBM_FAULT_OVER_TEMP = 1u << 0,  /* board reached t_max */
	PBM_FAULT_FAN_STALL = 1u << 1,  /* fan commanded on, not turning for 2 s */
	PBM_FAULT_LED_STRING = 1u << 2, /* over-current on an LED string */
	PBM_FAULT_SENSOR = 1u << 3,     /* 1.1: the temperature sensor cannot be read */
};
#define PBM_FAULT_KNOWN_MASK 0xfu

/* Event bits (struct pbm_wire_report.events): what happened since the
 * previous report. A report carrying events is sent at once. */
enum pbm_event {
	PBM_EVENT_RESET = 1u << 0,            /* first report after power-up */
	PBM_EVENT_BUTTON = 1u << 1,           /* physical stop button pressed */
	PBM_EVENT_FAULT = 1u << 2,            /* a fault bit was raised */
	PBM_EVENT_WATCHDOG_EXPIRED = 1u << 3, /* no heartbeat in time: outputs off */
	PBM_EVENT_SESSION_CAP = 1u << 4,      /* on-device session cap reached */
	PBM_EVENT_DERATE_START = 1u << 5,     /* thermal derating began */
	PBM_EVENT_DERATE_END = 1u << 6,       /* thermal derating ended */
};
#define PBM_EVENT_KNOWN_MASK 0x7fu

enum pbm_watchdog_state {
	PBM_WATCHDOG_DISARMED = 0,
	PBM_WATCHDOG_ARMED = 1,
	PBM_WATCHDOG_EXPIRED = 2,
};

/* struct pbm_wire_status.flags */
enum pbm_status_flag {
	PBM_STATUS_LIT = 1u << 0,      /* some output above zero */
	PBM_STATUS_RAMPING = 1u << 1,  /* a ramp is in progress */
	PBM_STATUS_DERATING = 1u << 2, /* set above t_derate, cleared below t_derate - hysteresis */
	PBM_STATUS_IDENTIFYING = 1u << 3, /* indicator LED blinking */
};
#define PBM_STATUS_FLAGS_KNOWN_MASK 0xfu

enum pbm_report_type {
	PBM_REPORT_STATUS = 0x01,
};

#define PBM_PACKED __attribute__((packed))

/* The standard 8-byte USB SETUP packet. */
struct PBM_PACKED pbm_wire_setup {
	uint8_t request_type;
	uint8_t request;
	uint16_t value;
	uint16_t index;
	uint16_t length;
};

/* GET_INFO reply. Strings are printable ASCII, NUL-padded, not necessarily
 * NUL-terminated when they fill the field. The serial is [A-Za-z0-9_-]. */
struct PBM_PACKED pbm_wire_info {
	uint8_t proto_major;                    /* 0 */
	uint8_t proto_minor;                    /* 1 */
	uint8_t channel_count;                  /* 2: 1..PBM_MAX_CHANNELS */
	uint8_t reserved0;                      /* 3 */
	char serial[PBM_STRING_SERIAL_LEN];     /* 4 */
	char model[PBM_STRING_MODEL_LEN];       /* 20 */
	char firmware[PBM_STRING_FIRMWARE_LEN]; /* 52 */
	uint16_t max_session_s;                 /* 68: on-device cap limit */
	int16_t t_derate_dc;                    /* 70: derating starts, 0.1 C */
	int16_t t_max_dc;                       /* 72: output zero, fault latches */
	uint16_t watchdog_min_ms;               /* 74 */
	uint16_t watchdog_max_ms;               /* 76 */
	uint16_t reserved1;                     /* 78 */
};

/* One point of a channel's calibration: irradiance at full level. */
struct PBM_PACKED pbm_wire_cal_point {
	uint16_t distance_mm;
	uint16_t irradiance_cmw; /* 0.01 mW/cm2 */
};

struct PBM_PACKED pbm_wire_channel {
	uint8_t index;                                        /* 0: equals its position */
	uint8_t band;                                         /* 1: enum pbm_band */
	uint16_t wavelength_nm;                               /* 2 */
	uint16_t max_level;                                   /* 4: permille cap, 1..1000 */
	uint8_t point_count;                                  /* 6: 1..PBM_CAL_POINTS_MAX */
	uint8_t reserved;                                     /* 7 */
	struct pbm_wire_cal_point points[PBM_CAL_POINTS_MAX]; /* 8: by distance */
};

/* GET_CHANNELS reply: this header followed by count struct pbm_wire_channel.
 * count equals pbm_wire_info.channel_count. */
struct PBM_PACKED pbm_wire_channels_header {
	uint8_t count;
	uint8_t reserved[3];
};

/* GET_STATUS reply, and the body of every report. */
struct PBM_PACKED pbm_wire_status {
	uint16_t level[PBM_MAX_CHANNELS]; /* 0: permille now, after ramp, before derating */
	uint32_t pulse_mhz;               /* 16: 0 = continuous */
	uint16_t duty;                    /* 20: permille, 1000 when continuous */
	int16_t temperature_dc;           /* 22: board, 0.1 C */
	uint16_t fan_rpm;                 /* 24 */
	uint16_t derate;                  /* 26: permille applied to every level */
	uint32_t faults;                  /* 28: enum pbm_fault bits */
	uint8_t watchdog;                 /* 32: enum pbm_watchdog_state */
	uint8_t flags;                    /* 33: enum pbm_status_flag bits */
	uint16_t watchdog_left_ms;        /* 34: 0 unless armed */
	uint16_t session_left_s;          /* 36: on-device cap left, 0 when dark */
	uint16_t reserved;                /* 38 */
	uint32_t uptime_ms;               /* 40: wraps */
};

/* Interrupt IN report. */
struct PBM_PACKED pbm_wire_report {
	uint8_t type; /* 0: enum pbm_report_type */
	uint8_t reserved0;
	uint16_t seq;    /* 2: +1 per report, wraps; a gap means reports were lost */
	uint16_t events; /* 4: enum pbm_event bits */
	uint16_t reserved1;
	struct pbm_wire_status status; /* 8 */
};

/* GET_RESULT reply: the latest OUT request with bRequest `request` (the
 * wValue of GET_RESULT). count is how many of them the panel received since
 * power-up, refused ones included; it goes from 65535 to 1, so that 0 always
 * means none yet, and then result is PBM_RESULT_OK. */
struct PBM_PACKED pbm_wire_result {
	uint8_t request;   /* 0: bRequest asked about */
	uint8_t result;    /* 1: enum pbm_result */
	uint16_t count;    /* 2: requests of that kind since power-up */
	uint32_t reserved; /* 4 */
};

/* SET_OUTPUT data. Refused (STALL, and from 1.1 a result other than OK)
 * when: a level exceeds its channel's max_level or is non-zero on a channel
 * that does not exist; pulse_mhz is neither 0 nor within [PBM_PULSE_MIN_MHZ,
 * PBM_PULSE_MAX_MHZ]; duty is 0 or above 1000 while pulsed; ramp_ms exceeds
 * PBM_RAMP_MAX_MS; and, when any level is non-zero: the watchdog is not
 * armed, a fault is latched, or session_cap_s is 0 or above the advertised
 * max_session_s. All levels zero is the same as ALL_OFF without disarming
 * the watchdog. */
struct PBM_PACKED pbm_wire_output {
	uint16_t level[PBM_MAX_CHANNELS]; /* 0: permille */
	uint32_t pulse_mhz;               /* 16: 0 = continuous */
	uint16_t duty;                    /* 20: permille */
	uint16_t ramp_ms;                 /* 22: linear ramp from the current levels */
	uint16_t session_cap_s;           /* 24: set when going lit; only ever lowered while lit */
	uint16_t reserved;                /* 26 */
};

_Static_assert(sizeof(struct pbm_wire_setup) == 8, "setup size");
_Static_assert(sizeof(struct pbm_wire_info) == 80, "info size");
_Static_assert(sizeof(struct pbm_wire_cal_point) == 4, "cal point size");
_Static_assert(sizeof(struct pbm_wire_channel) == 40, "channel size");
_Static_assert(sizeof(struct pbm_wire_channels_header) == 4, "channels header size");
_Static_assert(sizeof(struct pbm_wire_status) == 44, "status size");
_Static_assert(sizeof(struct pbm_wire_report) == 52, "report size");
_Static_assert(sizeof(struct pbm_wire_report) <= PBM_USB_EP_REPORT_MAX_PACKET,
               "a report fits one interrupt packet");
_Static_assert(sizeof(struct pbm_wire_output) == 28, "output size");
_Static_assert(sizeof(struct pbm_wire_result) == 8, "result size");

#define PBM_CHANNELS_REPLY_SIZE(count) \
	(sizeof(struct pbm_wire_channels_header) + (count) * sizeof(struct pbm_wire_channel))
