/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The virtual panel: a model of the panel firmware that answers the v1
 * protocol (1.1, or 1.0 when configured so) exactly as the device does. Time never passes by
 * itself: the owner calls pbm_sim_advance(), so every test is deterministic and the same model
 * serves the in-process `sim` transport and the umockdev harness that emulates the USB device.
 */
#pragma once

#include <glib.h>

#include "pbm-protocol.h"

G_BEGIN_DECLS

#define PBM_SIM_ERROR (pbm_sim_error_quark())
GQuark pbm_sim_error_quark(void);

typedef enum {
	PBM_SIM_ERROR_STALL,         /* the request was answered with a STALL */
	PBM_SIM_ERROR_CONFIG,        /* a PbmSimConfig value is out of range */
	PBM_SIM_ERROR_UNKNOWN_MODEL, /* pbm_sim_config_init_model() knows no such model */
} PbmSimError;

/* Report queue depth: a host that does not read the interrupt endpoint loses
 * the oldest reports first, which it sees as a gap in the sequence numbers. */
#define PBM_SIM_REPORT_QUEUE_MAX 32
#define PBM_SIM_FAN_STALL_DETECT_US (2 * G_USEC_PER_SEC)
#define PBM_SIM_FAN_ON_C 30.0
/* Calibration points of every model, from 5 to 60 cm. */
#define PBM_SIM_CAL_POINTS 7

typedef struct {
	gchar serial[PBM_STRING_SERIAL_LEN + 1];
	gchar model[PBM_STRING_MODEL_LEN + 1];
	gchar firmware[PBM_STRING_FIRMWARE_LEN + 1];
	guint channel_count;
	PbmChannel channels[PBM_MAX_CHANNELS];
	guint16 max_session_s;
	gint16 t_derate_dc;
	gint16 t_max_dc;
	guint16 watchdog_min_ms;
	guint16 watchdog_max_ms;

	/* Thermal model: heat into the board at full level per channel, heat
	 * capacity, and conductance to ambient with the fan turning or not. */
	gdouble ambient_c;
	gdouble heat_w[PBM_MAX_CHANNELS];
	gdouble heat_capacity_j_k;
	gdouble conductance_fan_w_k;
	gdouble conductance_still_w_k;
	guint16 fan_rpm;

	/* The protocol minor version the panel speaks, up to PBM_PROTOCOL_MINOR
	 * (the default). 0 is a 1.0 panel: GET_INFO says 1.0 and GET_RESULT
	 * STALLs as an unknown request. */
	guint8 protocol_minor;
} PbmSimConfig;

/* The "standard" model: a 660 nm red + 850 nm NIR panel, about 36 and
 * 34 mW/cm2 at 15 cm, 100 mW/cm2 (both bands) at 5 cm, about 25 at 60 cm,
 * derating from 40 C to 55 C, 60 minute cap. */
void pbm_sim_config_init(PbmSimConfig *config, const gchar *serial);
/* One of the models of pbm_sim_model_names(), by name: "standard" (as
 * above), "low" (a weak panel: 12 and 10 mW/cm2 at 15 cm) or "high" (100
 * mW/cm2 per band at 15 cm). They differ in their model string, calibration
 * and thermal constants, not in the protocol. An unknown name is refused
 * with an error that lists the known ones. */
gboolean pbm_sim_config_init_model(PbmSimConfig *config, const gchar *serial, const gchar *model,
                                   GError **error);
/* The names pbm_sim_config_init_model() knows, NULL-terminated, "standard"
 * first. Static: do not free. */
const gchar *const *pbm_sim_model_names(void);

typedef struct _PbmSim PbmSim;

PbmSim *pbm_sim_new(const PbmSimConfig *config, GError **error);
void pbm_sim_free(PbmSim *sim);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmSim, pbm_sim_free)

/* EP0. data holds setup->length bytes: the OUT data, or room for the IN
 * reply. On success *actual is the number of bytes returned (IN) or taken
 * (OUT). FALSE means the device STALLs; error says why, for tests and logs
 * (the host on the wire sees only the STALL). Every OUT request the model
 * knows is counted and its result kept for GET_RESULT, refused or not: a
 * USB stack that cannot STALL an OUT data stage (FunctionFS) acknowledges
 * the transfer, and the host learns of the refusal from GET_RESULT. */
gboolean pbm_sim_control(PbmSim *sim, const struct pbm_wire_setup *setup, guint8 *data,
                         gsize *actual, GError **error);

/* Lets usec of device time pass. */
void pbm_sim_advance(PbmSim *sim, guint64 usec);
guint64 pbm_sim_now(const PbmSim *sim);
/* The device time at which the next report or timed transition is due:
 * a host driving the model from a real clock sleeps until then. */
guint64 pbm_sim_next_deadline(const PbmSim *sim);

/* Takes the oldest queued interrupt report (sizeof(struct pbm_wire_report)
 * bytes). FALSE when none is queued. */
gboolean pbm_sim_pop_report(PbmSim *sim, guint8 *buf);
guint pbm_sim_pending_reports(const PbmSim *sim);

/* Power cycle: everything off, faults and watchdog cleared, reset event. */
void pbm_sim_reset(PbmSim *sim);

/* The physical world around the device, for tests and the demo. */
void pbm_sim_press_button(PbmSim *sim);
void pbm_sim_set_ambient(PbmSim *sim, gdouble celsius);
void pbm_sim_set_fan_stalled(PbmSim *sim, gboolean stalled);
void pbm_sim_set_led_string_fault(PbmSim *sim, guint channel, gboolean faulty);

/* A real board measures what the model otherwise simulates. After the first
 * call the board temperature is the sensor's (the thermal model stops) and
 * the fan speed the tachometer's: the derating, over-temperature and
 * fan-stall rules then act on the measurements. */
void pbm_sim_set_measured_temperature(PbmSim *sim, gdouble celsius);
void pbm_sim_set_measured_fan_rpm(PbmSim *sim, guint16 rpm);
/* A board without a tachometer: the fan reads 0 rpm and no stall can be
 * detected (the temperature sensor still guards the LEDs). */
void pbm_sim_set_fan_unmonitored(PbmSim *sim);
/* A sensor the board cannot read any more: the model cannot protect the
 * board without it, so it latches PBM_FAULT_SENSOR (outputs off) until the
 * sensor reads again and the host clears the fault. */
void pbm_sim_set_sensor_failed(PbmSim *sim, gboolean failed);
/* Whether the firmware wants its fan turning (lit, or warm), for a board
 * that switches its fan. */
gboolean pbm_sim_fan_commanded(const PbmSim *sim);

/* What an observer with a probe would see. */
void pbm_sim_get_status(const PbmSim *sim, PbmStatus *status);
const PbmInfo *pbm_sim_get_info(const PbmSim *sim);
const PbmChannel *pbm_sim_get_channels(const PbmSim *sim);
gdouble pbm_sim_get_temperature(const PbmSim *sim);
gboolean pbm_sim_is_lit(const PbmSim *sim);
/* How many times the commanded output (the channels' target levels, pulse
 * frequency and duty) has changed since the model was created, and in
 * changed_at (may be NULL) the device time of the latest change: when the
 * light went on, changed level or went off, to the microsecond, for an
 * observer that polls only now and then. A ramp counts once, when it starts;
 * a command that repeats the current output counts nothing. */
guint64 pbm_sim_get_output_changes(const PbmSim *sim, guint64 *changed_at);

G_END_DECLS
