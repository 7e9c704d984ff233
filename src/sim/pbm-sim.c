/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-sim.h"

#include <math.h>
#include <string.h>

/* The name is the error domain's string at run time; clang-format would
 * read it as a subtraction and space it out. */
/* clang-format off */
G_DEFINE_QUARK(pbm-sim-error-quark, pbm_sim_error)
/* clang-format on */

/* The thermal model is integrated in steps no longer than this. */
#define SIM_TICK_US 10000
#define SIM_FAN_STALL_RPM 300

/* The OUT requests the model knows, each with a result for GET_RESULT. */
static const guint8 sim_out_requests[] = { PBM_REQ_SET_OUTPUT, PBM_REQ_ALL_OFF, PBM_REQ_HEARTBEAT,
	                                   PBM_REQ_CLEAR_FAULT, PBM_REQ_IDENTIFY };
#define SIM_OUT_REQUESTS G_N_ELEMENTS(sim_out_requests)

/* The latest of one kind of OUT request. */
typedef struct {
	enum pbm_result result;
	guint16 count; /* since power-up; 0 = none */
} SimResult;

struct _PbmSim {
	PbmSimConfig config;
	PbmInfo info;

	guint64 now;

	/* Output: the level is ramped linearly from ramp_from to target. */
	guint16 ramp_from[PBM_MAX_CHANNELS];
	guint16 target[PBM_MAX_CHANNELS];
	guint64 ramp_start;
	guint64 ramp_end;
	guint32 pulse_mhz;
	guint16 duty;
	guint64 cap_deadline; /* 0 while dark */
	guint64 output_changes;
	guint64 output_changed_at;

	enum pbm_watchdog_state watchdog;
	guint64 watchdog_deadline;

	gdouble temperature;
	gdouble ambient;
	/* On a real board a sensor and a tachometer replace the thermal model
	 * and the ideal fan. */
	gboolean temperature_measured;
	gboolean fan_measured;
	guint16 fan_measured_rpm;
	gboolean fan_unmonitored;
	gboolean sensor_failed;
	gboolean derating;
	gboolean fan_stalled;
	gboolean fan_stalling; /* commanded on but not turning since fan_stall_since */
	guint64 fan_stall_since;
	guint32 led_faulty; /* injected per-channel over-current */
	guint32 faults;
	guint64 identify_until;

	SimResult results[SIM_OUT_REQUESTS];

	guint16 seq;
	guint16 pending_events;
	guint64 next_periodic;
	GQueue reports;
};

/* One panel the model can be: its name on the command line, the model
 * string it reports, its calibration and the thermal constants that go with
 * its power. */
typedef struct {
	const gchar *name;
	const gchar *model;
	/* mW/cm2 x 100 at the distances of sim_distances_mm */
	guint16 red[PBM_SIM_CAL_POINTS];
	guint16 nir[PBM_SIM_CAL_POINTS];
	gdouble heat_w; /* per channel at full level */
	gdouble heat_capacity_j_k;
	gdouble conductance_fan_w_k;
	gdouble conductance_still_w_k;
	guint16 fan_rpm;
} SimModel;

/* Near a large panel the fall-off is far slower than 1/d^2 (see shared
 * notes on distance); every model keeps the standard one's shape. */
static const guint16 sim_distances_mm[PBM_SIM_CAL_POINTS] = { 50, 100, 150, 200, 300, 450, 600 };

static const SimModel sim_models[] = {
	/* About 36 and 34 mW/cm2 at 15 cm. 15 K rise at full output with the
	 * fan, time constant 150 s: it never derates in a 22 C room. */
	{ .name = "standard",
	  .model = "pbm virtual panel 660/850",
	  .red = { 5200, 4400, 3600, 3000, 2200, 1600, 1300 },
	  .nir = { 4800, 4100, 3400, 2800, 2100, 1500, 1200 },
	  .heat_w = 45.0,
	  .heat_capacity_j_k = 900.0,
	  .conductance_fan_w_k = 6.0,
	  .conductance_still_w_k = 1.2,
	  .fan_rpm = 3000 },
	/* A small, weak panel: 12 and 10 mW/cm2 at 15 cm, 10 K rise at full. */
	{ .name = "low",
	  .model = "pbm virtual panel 660/850 low",
	  .red = { 1730, 1470, 1200, 1000, 730, 530, 430 },
	  .nir = { 1410, 1210, 1000, 820, 620, 440, 350 },
	  .heat_w = 15.0,
	  .heat_capacity_j_k = 450.0,
	  .conductance_fan_w_k = 3.0,
	  .conductance_still_w_k = 0.6,
	  .fan_rpm = 2400 },
	/* 100 mW/cm2 per band at 15 cm on a larger heat sink: 10 K rise at
	 * 40 % (40 mW/cm2 per band), so usual sessions never derate; full
	 * output of both bands would settle at 47 C and derates from 40 C. */
	{ .name = "high",
	  .model = "pbm virtual panel 660/850 high",
	  .red = { 14400, 12200, 10000, 8300, 6100, 4400, 3600 },
	  .nir = { 14100, 12100, 10000, 8200, 6200, 4400, 3500 },
	  .heat_w = 125.0,
	  .heat_capacity_j_k = 1500.0,
	  .conductance_fan_w_k = 10.0,
	  .conductance_still_w_k = 2.0,
	  .fan_rpm = 3600 },
};

/* In the order of sim_models (test-sim.c initializes each by name). */
static const gchar *const sim_model_names[] = { "standard", "low", "high", NULL };
G_STATIC_ASSERT(G_N_ELEMENTS(sim_model_names) == G_N_ELEMENTS(sim_models) + 1);

const gchar *const *
pbm_sim_model_names(void)
{
	return sim_model_names;
}

static PbmChannel
sim_channel(guint index, enum pbm_band band, guint16 wavelength_nm, const guint16 *irradiance)
{
	PbmChannel ch = { .index = index,
		          .band = band,
		          .wavelength_nm = wavelength_nm,
		          .max_level = PBM_LEVEL_MAX,
		          .point_count = PBM_SIM_CAL_POINTS };

	for (guint i = 0; i < PBM_SIM_CAL_POINTS; i++)
		ch.points[i] = (PbmCalPoint){ sim_distances_mm[i], irradiance[i] };
	return ch;
}

static void
config_from_model(PbmSimConfig *c, const gchar *serial, const SimModel *m)
{
	memset(c, 0, sizeof(*c));
	g_strlcpy(c->serial, serial != NULL ? serial : "SIM0001", sizeof(c->serial));
	g_strlcpy(c->model, m->model, sizeof(c->model));
	g_strlcpy(c->firmware, "sim-1.0.0", sizeof(c->firmware));
	c->channel_count = 2;
	c->channels[0] = sim_channel(0, PBM_BAND_RED, 660, m->red);
	c->channels[1] = sim_channel(1, PBM_BAND_NIR, 850, m->nir);
	c->max_session_s = 3600;
	c->t_derate_dc = 400;
	c->t_max_dc = 550;
	c->watchdog_min_ms = PBM_WATCHDOG_MIN_MS;
	c->watchdog_max_ms = PBM_WATCHDOG_MAX_MS;
	c->ambient_c = 22.0;
	c->heat_w[0] = m->heat_w;
	c->heat_w[1] = m->heat_w;
	c->heat_capacity_j_k = m->heat_capacity_j_k;
	c->conductance_fan_w_k = m->conductance_fan_w_k;
	c->conductance_still_w_k = m->conductance_still_w_k;
	c->fan_rpm = m->fan_rpm;
	c->protocol_minor = PBM_PROTOCOL_MINOR;
}

void
pbm_sim_config_init(PbmSimConfig *c, const gchar *serial)
{
	config_from_model(c, serial, &sim_models[0]);
}

gboolean
pbm_sim_config_init_model(PbmSimConfig *c, const gchar *serial, const gchar *model, GError **error)
{
	g_autofree gchar *known = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(sim_models); i++) {
		if (g_strcmp0(model, sim_models[i].name) == 0) {
			config_from_model(c, serial, &sim_models[i]);
			return TRUE;
		}
	}
	known = g_strjoinv(", ", (gchar **)pbm_sim_model_names());
	g_set_error(error, PBM_SIM_ERROR, PBM_SIM_ERROR_UNKNOWN_MODEL,
	            "no virtual panel model \"%s\"; the models are %s", model ? model : "", known);
	return FALSE;
}

static gboolean
config_check(const PbmSimConfig *c, PbmInfo *info, GError **error)
{
	guint8 scratch[sizeof(struct pbm_wire_info)];

	*info = (PbmInfo){
		.proto_major = PBM_PROTOCOL_MAJOR,
		.proto_minor = c->protocol_minor,
		.channel_count = (guint8)MIN(c->channel_count, 255u),
		.max_session_s = c->max_session_s,
		.t_derate_dc = c->t_derate_dc,
		.t_max_dc = c->t_max_dc,
		.watchdog_min_ms = c->watchdog_min_ms,
		.watchdog_max_ms = c->watchdog_max_ms,
	};
	g_strlcpy(info->serial, c->serial, sizeof(info->serial));
	g_strlcpy(info->model, c->model, sizeof(info->model));
	g_strlcpy(info->firmware, c->firmware, sizeof(info->firmware));
	/* The device can only be what the protocol can describe. */
	if (!pbm_info_encode(info, scratch, error))
		goto fail;
	for (guint i = 0; i < c->channel_count; i++) {
		if (!pbm_channel_validate(&c->channels[i], i, error))
			goto fail;
	}
	if (c->protocol_minor > PBM_PROTOCOL_MINOR) {
		g_set_error(error, PBM_SIM_ERROR, PBM_SIM_ERROR_CONFIG,
		            "virtual panel configuration: protocol 1.%u is newer than the model's "
		            "1.%u",
		            c->protocol_minor, (guint)PBM_PROTOCOL_MINOR);
		return FALSE;
	}
	if (c->heat_capacity_j_k <= 0 || c->conductance_fan_w_k <= 0 ||
	    c->conductance_still_w_k <= 0) {
		g_set_error_literal(error, PBM_SIM_ERROR, PBM_SIM_ERROR_CONFIG,
		                    "thermal constants must be positive");
		return FALSE;
	}
	return TRUE;
fail:
	g_prefix_error(error, "virtual panel configuration: ");
	return FALSE;
}

/* ---- state helpers ---- */

static guint16
level_now(const PbmSim *sim, guint ch)
{
	gint64 from = sim->ramp_from[ch], to = sim->target[ch];

	if (sim->now >= sim->ramp_end)
		return (guint16)to;
	gdouble t =
	        (gdouble)(sim->now - sim->ramp_start) / (gdouble)(sim->ramp_end - sim->ramp_start);
	return (guint16)lround((gdouble)from + (gdouble)(to - from) * t);
}

guint64
pbm_sim_get_output_changes(const PbmSim *sim, guint64 *changed_at)
{
	if (changed_at != NULL)
		*changed_at = sim->output_changed_at;
	return sim->output_changes;
}

gboolean
pbm_sim_is_lit(const PbmSim *sim)
{
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++) {
		if (level_now(sim, i) > 0 || sim->target[i] > 0)
			return TRUE;
	}
	return FALSE;
}

static guint16
derate_now(const PbmSim *sim)
{
	gdouble lo = sim->config.t_derate_dc / 10.0, hi = sim->config.t_max_dc / 10.0;

	if (sim->temperature <= lo)
		return PBM_LEVEL_MAX;
	if (sim->temperature >= hi)
		return 0;
	return (guint16)lround(PBM_LEVEL_MAX * (hi - sim->temperature) / (hi - lo));
}

static gboolean
fan_commanded(const PbmSim *sim)
{
	return pbm_sim_is_lit(sim) || sim->temperature > PBM_SIM_FAN_ON_C;
}

static guint16
fan_rpm_now(const PbmSim *sim)
{
	if (sim->fan_measured)
		return sim->fan_measured_rpm;
	return fan_commanded(sim) && !sim->fan_stalled ? sim->config.fan_rpm : 0;
}

/* What the output is commanded to be, to tell when it changes (as the
 * status reports it: continuous light has full duty). */
typedef struct {
	guint16 target[PBM_MAX_CHANNELS];
	guint32 pulse_mhz;
	guint16 duty;
} OutputState;

static OutputState
output_state(const PbmSim *sim)
{
	OutputState o = { .pulse_mhz = sim->pulse_mhz,
		          .duty = sim->pulse_mhz == 0 ? PBM_DUTY_MAX : sim->duty };

	memcpy(o.target, sim->target, sizeof(o.target));
	return o;
}

static void
note_output_change(PbmSim *sim, const OutputState *before)
{
	OutputState after = output_state(sim);

	if (memcmp(before->target, after.target, sizeof(after.target)) == 0 &&
	    before->pulse_mhz == after.pulse_mhz && before->duty == after.duty)
		return;
	sim->output_changes++;
	sim->output_changed_at = sim->now;
}

static void
outputs_off(PbmSim *sim)
{
	OutputState before = output_state(sim);

	memset(sim->ramp_from, 0, sizeof(sim->ramp_from));
	memset(sim->target, 0, sizeof(sim->target));
	sim->ramp_start = sim->ramp_end = sim->now;
	sim->pulse_mhz = 0;
	sim->duty = PBM_DUTY_MAX;
	sim->cap_deadline = 0;
	note_output_change(sim, &before);
}

static void
raise_fault(PbmSim *sim, guint32 fault)
{
	outputs_off(sim);
	if (sim->faults & fault)
		return;
	sim->faults |= fault;
	sim->pending_events |= PBM_EVENT_FAULT;
}

static void
check_led_strings(PbmSim *sim)
{
	for (guint i = 0; i < sim->config.channel_count; i++) {
		if ((sim->led_faulty & (1u << i)) && sim->target[i] > 0) {
			raise_fault(sim, PBM_FAULT_LED_STRING);
			return;
		}
	}
}

static void
fill_status(const PbmSim *sim, PbmStatus *s)
{
	memset(s, 0, sizeof(*s));
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++)
		s->level[i] = level_now(sim, i);
	s->pulse_mhz = sim->pulse_mhz;
	s->duty = sim->pulse_mhz == 0 ? PBM_DUTY_MAX : sim->duty;
	s->temperature_dc =
	        (gint16)CLAMP(lround(sim->temperature * 10.0), PBM_TEMP_MIN_DC, PBM_TEMP_MAX_DC);
	s->fan_rpm = fan_rpm_now(sim);
	s->derate = derate_now(sim);
	s->faults = sim->faults;
	s->watchdog = sim->watchdog;
	if (pbm_sim_is_lit(sim))
		s->flags |= PBM_STATUS_LIT;
	if (sim->now < sim->ramp_end)
		s->flags |= PBM_STATUS_RAMPING;
	if (sim->derating)
		s->flags |= PBM_STATUS_DERATING;
	if (sim->now < sim->identify_until)
		s->flags |= PBM_STATUS_IDENTIFYING;
	if (sim->watchdog == PBM_WATCHDOG_ARMED)
		s->watchdog_left_ms = (guint16)((sim->watchdog_deadline - sim->now + 999) / 1000);
	if (sim->cap_deadline > 0)
		s->session_left_s = (guint16)((sim->cap_deadline - sim->now + G_USEC_PER_SEC - 1) /
		                              G_USEC_PER_SEC);
	s->uptime_ms = (guint32)(sim->now / 1000);
}

static void
queue_report(PbmSim *sim)
{
	PbmReport r = { .type = PBM_REPORT_STATUS,
		        .seq = sim->seq++,
		        .events = sim->pending_events };
	guint8 *buf = g_malloc(sizeof(struct pbm_wire_report));

	fill_status(sim, &r.status);
	/* The model only produces in-range fields; a failure here is a model bug. */
	if (!pbm_report_encode(&r, buf, NULL))
		g_error("virtual panel produced an unencodable report");
	sim->pending_events = 0;
	g_queue_push_tail(&sim->reports, buf);
	while (g_queue_get_length(&sim->reports) > PBM_SIM_REPORT_QUEUE_MAX)
		g_free(g_queue_pop_head(&sim->reports));
}

static guint64
report_period(const PbmSim *sim)
{
	return (pbm_sim_is_lit(sim) ? PBM_REPORT_PERIOD_LIT_MS : PBM_REPORT_PERIOD_IDLE_MS) *
	       1000ull;
}

/* Events go out at once; a host waiting for the next periodic report after
 * switching on should not wait up to a second for the faster cadence. */
static void
flush_events(PbmSim *sim)
{
	if (sim->pending_events != 0)
		queue_report(sim);
	sim->next_periodic = MIN(sim->next_periodic, sim->now + report_period(sim));
}

/* ---- time ---- */

static void
thermal_step(PbmSim *sim, guint64 dt_us)
{
	gdouble power = 0.0, derate = derate_now(sim) / 1000.0, g;
	gdouble duty = sim->pulse_mhz == 0 ? 1.0 : sim->duty / 1000.0;

	if (sim->temperature_measured)
		return;
	for (guint i = 0; i < sim->config.channel_count; i++)
		power += sim->config.heat_w[i] * level_now(sim, i) / 1000.0 * derate * duty;
	g = fan_rpm_now(sim) > SIM_FAN_STALL_RPM ? sim->config.conductance_fan_w_k
	                                         : sim->config.conductance_still_w_k;
	sim->temperature += (power - g * (sim->temperature - sim->ambient)) *
	                    ((gdouble)dt_us / G_USEC_PER_SEC) / sim->config.heat_capacity_j_k;
}

static void
check_thermal(PbmSim *sim)
{
	gdouble lo = sim->config.t_derate_dc / 10.0, hi = sim->config.t_max_dc / 10.0;

	if (sim->temperature >= hi)
		raise_fault(sim, PBM_FAULT_OVER_TEMP);
	if (!sim->derating && sim->temperature > lo) {
		sim->derating = TRUE;
		sim->pending_events |= PBM_EVENT_DERATE_START;
	} else if (sim->derating && sim->temperature < lo - PBM_DERATE_HYSTERESIS_DC / 10.0) {
		sim->derating = FALSE;
		sim->pending_events |= PBM_EVENT_DERATE_END;
	}
}

static void
check_fan(PbmSim *sim)
{
	if (sim->fan_unmonitored)
		return;
	if (!fan_commanded(sim) || fan_rpm_now(sim) > SIM_FAN_STALL_RPM) {
		sim->fan_stalling = FALSE;
		return;
	}
	if (!sim->fan_stalling) {
		sim->fan_stalling = TRUE;
		sim->fan_stall_since = sim->now;
	} else if (sim->now - sim->fan_stall_since >= PBM_SIM_FAN_STALL_DETECT_US) {
		raise_fault(sim, PBM_FAULT_FAN_STALL);
		sim->fan_stalling = FALSE;
	}
}

static void
check_timers(PbmSim *sim)
{
	if (sim->watchdog == PBM_WATCHDOG_ARMED && sim->now >= sim->watchdog_deadline) {
		sim->watchdog = PBM_WATCHDOG_EXPIRED;
		outputs_off(sim);
		sim->pending_events |= PBM_EVENT_WATCHDOG_EXPIRED;
	}
	if (sim->cap_deadline > 0 && sim->now >= sim->cap_deadline) {
		outputs_off(sim);
		sim->pending_events |= PBM_EVENT_SESSION_CAP;
	}
	if (sim->now >= sim->ramp_end)
		memcpy(sim->ramp_from, sim->target, sizeof(sim->target));
}

guint64
pbm_sim_next_deadline(const PbmSim *sim)
{
	guint64 next = sim->next_periodic;

	if (sim->reports.length > 0)
		return sim->now;
	if (sim->watchdog == PBM_WATCHDOG_ARMED)
		next = MIN(next, sim->watchdog_deadline);
	if (sim->cap_deadline > 0)
		next = MIN(next, sim->cap_deadline);
	if (sim->ramp_end > sim->now)
		next = MIN(next, sim->ramp_end);
	if (sim->fan_stalling)
		next = MIN(next, sim->fan_stall_since + PBM_SIM_FAN_STALL_DETECT_US);
	/* Everything due up to now has been handled; a deadline in the past
	 * would make a host's timer spin. */
	return MAX(next, sim->now + 1);
}

void
pbm_sim_advance(PbmSim *sim, guint64 usec)
{
	guint64 end = sim->now + usec;

	while (sim->now < end) {
		guint64 next = MIN(end, sim->now + SIM_TICK_US);

		if (sim->watchdog == PBM_WATCHDOG_ARMED)
			next = MIN(next, MAX(sim->watchdog_deadline, sim->now + 1));
		if (sim->cap_deadline > 0)
			next = MIN(next, MAX(sim->cap_deadline, sim->now + 1));
		if (sim->ramp_end > sim->now)
			next = MIN(next, sim->ramp_end);
		next = MIN(next, MAX(sim->next_periodic, sim->now + 1));

		thermal_step(sim, next - sim->now);
		sim->now = next;
		check_timers(sim);
		check_thermal(sim);
		check_fan(sim);
		flush_events(sim);
		if (sim->now >= sim->next_periodic) {
			queue_report(sim);
			sim->next_periodic = sim->now + report_period(sim);
		}
	}
}

guint64
pbm_sim_now(const PbmSim *sim)
{
	return sim->now;
}

/* ---- requests ---- */

static void set_stall(GError **error, const gchar *format, va_list args) G_GNUC_PRINTF(2, 0);

static void
set_stall(GError **error, const gchar *format, va_list args)
{
	g_autofree gchar *msg = g_strdup_vprintf(format, args);

	g_set_error_literal(error, PBM_SIM_ERROR, PBM_SIM_ERROR_STALL, msg);
}

static gboolean stall(GError **error, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
stall(GError **error, const gchar *format, ...)
{
	va_list args;

	va_start(args, format);
	set_stall(error, format, args);
	va_end(args);
	return FALSE;
}

/* A refused OUT request: STALL, and the result GET_RESULT reports. */
static enum pbm_result refuse(GError **error, enum pbm_result result, const gchar *format, ...)
        G_GNUC_PRINTF(3, 4);

static enum pbm_result
refuse(GError **error, enum pbm_result result, const gchar *format, ...)
{
	va_list args;

	va_start(args, format);
	set_stall(error, format, args);
	va_end(args);
	return result;
}

static gboolean
reply(guint8 *data, gsize room, const guint8 *payload, gsize len, gsize *actual, GError **error)
{
	if (room < len)
		return stall(error,
		             "wLength %" G_GSIZE_FORMAT " is shorter than the %" G_GSIZE_FORMAT
		             "-byte reply",
		             room, len);
	memcpy(data, payload, len);
	*actual = len;
	return TRUE;
}

static gboolean
handle_get_info(PbmSim *sim, guint8 *data, gsize room, gsize *actual, GError **error)
{
	guint8 buf[sizeof(struct pbm_wire_info)];

	if (!pbm_info_encode(&sim->info, buf, error))
		return FALSE;
	return reply(data, room, buf, sizeof(buf), actual, error);
}

static gboolean
handle_get_channels(PbmSim *sim, guint8 *data, gsize room, gsize *actual, GError **error)
{
	guint8 buf[PBM_CHANNELS_REPLY_SIZE(PBM_MAX_CHANNELS)];
	gsize n = pbm_channels_encode(sim->config.channels, sim->config.channel_count, buf,
	                              sizeof(buf), error);

	if (n == 0)
		return FALSE;
	return reply(data, room, buf, n, actual, error);
}

static gboolean
handle_get_status(PbmSim *sim, guint8 *data, gsize room, gsize *actual, GError **error)
{
	guint8 buf[sizeof(struct pbm_wire_status)];
	PbmStatus s;

	fill_status(sim, &s);
	if (!pbm_status_encode(&s, buf, error))
		return FALSE;
	return reply(data, room, buf, sizeof(buf), actual, error);
}

static enum pbm_result
output_allowed(PbmSim *sim, const PbmOutput *o, GError **error)
{
	if (!pbm_output_is_lit(o))
		return PBM_RESULT_OK;
	if (sim->watchdog != PBM_WATCHDOG_ARMED)
		return refuse(error, PBM_RESULT_WATCHDOG,
		              "set-output: the watchdog is %s; send a heartbeat first",
		              pbm_watchdog_state_to_string(sim->watchdog));
	if (sim->faults != 0) {
		g_autofree gchar *f = pbm_faults_describe(sim->faults);
		return refuse(error, PBM_RESULT_FAULT,
		              "set-output: fault latched (%s); clear it first", f);
	}
	if (o->session_cap_s > sim->config.max_session_s)
		return refuse(error, PBM_RESULT_SESSION_CAP,
		              "set-output: session cap %u s is above the panel's %u s",
		              o->session_cap_s, sim->config.max_session_s);
	return PBM_RESULT_OK;
}

static void
apply_output(PbmSim *sim, const PbmOutput *o)
{
	gboolean was_lit = pbm_sim_is_lit(sim);
	OutputState before = output_state(sim);
	guint64 cap;

	if (!pbm_output_is_lit(o)) {
		outputs_off(sim);
		return;
	}
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++)
		sim->ramp_from[i] = level_now(sim, i);
	memcpy(sim->target, o->level, sizeof(sim->target));
	sim->ramp_start = sim->now;
	sim->ramp_end = sim->now + o->ramp_ms * 1000ull;
	sim->pulse_mhz = o->pulse_mhz;
	sim->duty = o->duty;
	/* The cap is a promise made when the light goes on: later requests may
	 * shorten it but never extend it. */
	cap = sim->now + o->session_cap_s * (guint64)G_USEC_PER_SEC;
	sim->cap_deadline = was_lit && sim->cap_deadline > 0 ? MIN(sim->cap_deadline, cap) : cap;
	note_output_change(sim, &before);
	check_led_strings(sim);
}

static enum pbm_result
handle_set_output(PbmSim *sim, guint16 value, const guint8 *data, gsize len, GError **error)
{
	g_autoptr(GError) local = NULL;
	enum pbm_result result;
	PbmOutput o;

	if (value != 0)
		return refuse(error, PBM_RESULT_BAD_VALUE, "set-output: wValue must be 0");
	result = pbm_output_decode_check(data, len, sim->config.channels, sim->config.channel_count,
	                                 &o, &local);
	if (result != PBM_RESULT_OK)
		return refuse(error, result, "set-output: %s", local->message);
	result = output_allowed(sim, &o, error);
	if (result == PBM_RESULT_OK)
		apply_output(sim, &o);
	return result;
}

static enum pbm_result
handle_heartbeat(PbmSim *sim, guint16 timeout_ms, GError **error)
{
	if (timeout_ms < sim->config.watchdog_min_ms || timeout_ms > sim->config.watchdog_max_ms)
		return refuse(error, PBM_RESULT_BAD_VALUE,
		              "heartbeat: timeout %u ms outside %u..%u ms", timeout_ms,
		              sim->config.watchdog_min_ms, sim->config.watchdog_max_ms);
	sim->watchdog = PBM_WATCHDOG_ARMED;
	sim->watchdog_deadline = sim->now + timeout_ms * 1000ull;
	return PBM_RESULT_OK;
}

static void
handle_clear_fault(PbmSim *sim)
{
	/* Only a fault whose cause has gone is released. */
	if (sim->temperature < sim->config.t_derate_dc / 10.0)
		sim->faults &= ~(guint32)PBM_FAULT_OVER_TEMP;
	/* A measured fan can only be judged while it is commanded on: clearing
	 * lets the next lit period judge it again within the detection time. */
	if (sim->fan_measured || !sim->fan_stalled) {
		sim->faults &= ~(guint32)PBM_FAULT_FAN_STALL;
		sim->fan_stalling = FALSE;
	}
	if (sim->led_faulty == 0)
		sim->faults &= ~(guint32)PBM_FAULT_LED_STRING;
	if (!sim->sensor_failed)
		sim->faults &= ~(guint32)PBM_FAULT_SENSOR;
}

static enum pbm_result
handle_identify(PbmSim *sim, guint16 seconds, GError **error)
{
	if (seconds < 1 || seconds > PBM_IDENTIFY_MAX_S)
		return refuse(error, PBM_RESULT_BAD_VALUE, "identify: %u s outside 1..%u s",
		              (guint)seconds, (guint)PBM_IDENTIFY_MAX_S);
	sim->identify_until = sim->now + seconds * (guint64)G_USEC_PER_SEC;
	return PBM_RESULT_OK;
}

/* The index of an OUT request in sim->results, or -1 for a request the
 * model does not know. */
static gint
out_slot(guint request)
{
	for (guint i = 0; i < SIM_OUT_REQUESTS; i++) {
		if (sim_out_requests[i] == request)
			return (gint)i;
	}
	return -1;
}

static gboolean
handle_get_result(PbmSim *sim, guint16 value, guint8 *data, gsize room, gsize *actual,
                  GError **error)
{
	guint8 buf[sizeof(struct pbm_wire_result)];
	gint slot = out_slot(value);
	PbmResult r;

	if (slot < 0)
		return stall(error, "get-result: wValue 0x%04x is not an OUT request of this panel",
		             value);
	r = (PbmResult){ .request = (guint8)value,
		         .result = (guint8)sim->results[slot].result,
		         .count = sim->results[slot].count };
	if (!pbm_result_encode(&r, buf, error))
		return FALSE;
	return reply(data, room, buf, sizeof(buf), actual, error);
}

static gboolean
control_in(PbmSim *sim, const struct pbm_wire_setup *setup, guint8 *data, gsize *actual,
           GError **error)
{
	if (setup->request == PBM_REQ_GET_RESULT && sim->config.protocol_minor == 0)
		return stall(error, "IN request 0x%02x is unknown to a 1.0 panel", setup->request);
	if (setup->request == PBM_REQ_GET_RESULT)
		return handle_get_result(sim, setup->value, data, setup->length, actual, error);
	if (setup->value != 0)
		return stall(error, "%s: wValue must be 0", pbm_request_to_string(setup->request));
	switch (setup->request) {
	case PBM_REQ_GET_INFO:
		return handle_get_info(sim, data, setup->length, actual, error);
	case PBM_REQ_GET_CHANNELS:
		return handle_get_channels(sim, data, setup->length, actual, error);
	case PBM_REQ_GET_STATUS:
		return handle_get_status(sim, data, setup->length, actual, error);
	default:
		return stall(error, "IN request 0x%02x is unknown", setup->request);
	}
}

static enum pbm_result
control_out_no_data(PbmSim *sim, const struct pbm_wire_setup *setup, GError **error)
{
	const gchar *name = pbm_request_to_string(setup->request);

	if (setup->length != 0)
		return refuse(error, PBM_RESULT_BAD_LENGTH, "%s takes no data, wLength is %u", name,
		              setup->length);
	switch (setup->request) {
	case PBM_REQ_ALL_OFF:
		if (setup->value != 0)
			return refuse(error, PBM_RESULT_BAD_VALUE, "%s: wValue must be 0", name);
		outputs_off(sim);
		sim->watchdog = PBM_WATCHDOG_DISARMED;
		return PBM_RESULT_OK;
	case PBM_REQ_HEARTBEAT:
		return handle_heartbeat(sim, setup->value, error);
	case PBM_REQ_CLEAR_FAULT:
		if (setup->value != 0)
			return refuse(error, PBM_RESULT_BAD_VALUE, "%s: wValue must be 0", name);
		handle_clear_fault(sim);
		return PBM_RESULT_OK;
	default: /* PBM_REQ_IDENTIFY: control_out() lets only known requests in */
		return handle_identify(sim, setup->value, error);
	}
}

static gboolean
control_out(PbmSim *sim, const struct pbm_wire_setup *setup, const guint8 *data, gsize *actual,
            GError **error)
{
	gint slot = out_slot(setup->request);
	enum pbm_result result;

	if (slot < 0)
		return stall(error, "OUT request 0x%02x is unknown", setup->request);
	if (setup->request == PBM_REQ_SET_OUTPUT)
		result = handle_set_output(sim, setup->value, data, setup->length, error);
	else
		result = control_out_no_data(sim, setup, error);
	sim->results[slot].result = result;
	sim->results[slot].count = pbm_result_count_next(sim->results[slot].count);
	if (result != PBM_RESULT_OK)
		return FALSE;
	*actual = setup->length;
	return TRUE;
}

gboolean
pbm_sim_control(PbmSim *sim, const struct pbm_wire_setup *setup, guint8 *data, gsize *actual,
                GError **error)
{
	gboolean ok;

	*actual = 0;
	if (setup->index != PBM_USB_INTERFACE)
		return stall(error, "wIndex %u is not interface %u", (guint)setup->index,
		             (guint)PBM_USB_INTERFACE);
	if (setup->request_type == PBM_REQTYPE_IN)
		ok = control_in(sim, setup, data, actual, error);
	else if (setup->request_type == PBM_REQTYPE_OUT)
		ok = control_out(sim, setup, data, actual, error);
	else
		return stall(error, "bmRequestType 0x%02x is not a vendor interface request",
		             setup->request_type);
	if (ok)
		flush_events(sim);
	return ok;
}

/* ---- lifecycle and the physical world ---- */

static void
power_on(PbmSim *sim)
{
	outputs_off(sim);
	sim->watchdog = PBM_WATCHDOG_DISARMED;
	sim->watchdog_deadline = 0;
	sim->faults = 0;
	sim->derating = FALSE;
	sim->fan_stalling = FALSE;
	sim->identify_until = 0;
	memset(sim->results, 0, sizeof(sim->results));
	sim->seq = 0;
	g_queue_clear_full(&sim->reports, g_free);
	sim->next_periodic = sim->now + PBM_REPORT_PERIOD_IDLE_MS * 1000ull;
	sim->pending_events = PBM_EVENT_RESET;
	check_thermal(sim);
	queue_report(sim);
}

PbmSim *
pbm_sim_new(const PbmSimConfig *config, GError **error)
{
	g_autoptr(PbmSim) sim = g_new0(PbmSim, 1);

	g_queue_init(&sim->reports);
	if (!config_check(config, &sim->info, error))
		return NULL;
	sim->config = *config;
	sim->ambient = config->ambient_c;
	sim->temperature = config->ambient_c;
	power_on(sim);
	return g_steal_pointer(&sim);
}

void
pbm_sim_free(PbmSim *sim)
{
	if (sim == NULL)
		return;
	g_queue_clear_full(&sim->reports, g_free);
	g_free(sim);
}

void
pbm_sim_reset(PbmSim *sim)
{
	power_on(sim);
}

gboolean
pbm_sim_pop_report(PbmSim *sim, guint8 *buf)
{
	g_autofree guint8 *r = g_queue_pop_head(&sim->reports);

	if (r == NULL)
		return FALSE;
	memcpy(buf, r, sizeof(struct pbm_wire_report));
	return TRUE;
}

guint
pbm_sim_pending_reports(const PbmSim *sim)
{
	return sim->reports.length;
}

void
pbm_sim_press_button(PbmSim *sim)
{
	outputs_off(sim);
	sim->pending_events |= PBM_EVENT_BUTTON;
	flush_events(sim);
}

void
pbm_sim_set_ambient(PbmSim *sim, gdouble celsius)
{
	sim->ambient = celsius;
}

void
pbm_sim_set_measured_temperature(PbmSim *sim, gdouble celsius)
{
	sim->temperature_measured = TRUE;
	sim->temperature = celsius;
	check_thermal(sim);
	flush_events(sim);
}

void
pbm_sim_set_measured_fan_rpm(PbmSim *sim, guint16 rpm)
{
	sim->fan_measured = TRUE;
	sim->fan_measured_rpm = rpm;
}

void
pbm_sim_set_sensor_failed(PbmSim *sim, gboolean failed)
{
	sim->sensor_failed = failed;
	if (failed) {
		raise_fault(sim, PBM_FAULT_SENSOR);
		flush_events(sim);
	}
}

void
pbm_sim_set_fan_unmonitored(PbmSim *sim)
{
	sim->fan_measured = TRUE;
	sim->fan_measured_rpm = 0;
	sim->fan_unmonitored = TRUE;
	sim->fan_stalling = FALSE;
}

gboolean
pbm_sim_fan_commanded(const PbmSim *sim)
{
	return fan_commanded(sim);
}

void
pbm_sim_set_fan_stalled(PbmSim *sim, gboolean stalled)
{
	sim->fan_stalled = stalled;
}

void
pbm_sim_set_led_string_fault(PbmSim *sim, guint channel, gboolean faulty)
{
	g_return_if_fail(channel < PBM_MAX_CHANNELS);
	if (faulty)
		sim->led_faulty |= 1u << channel;
	else
		sim->led_faulty &= ~(1u << channel);
	check_led_strings(sim);
	flush_events(sim);
}

void
pbm_sim_get_status(const PbmSim *sim, PbmStatus *status)
{
	fill_status(sim, status);
}

const PbmInfo *
pbm_sim_get_info(const PbmSim *sim)
{
	return &sim->info;
}

const PbmChannel *
pbm_sim_get_channels(const PbmSim *sim)
{
	return sim->config.channels;
}

gdouble
pbm_sim_get_temperature(const PbmSim *sim)
{
	return sim->temperature;
}
