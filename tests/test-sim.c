/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The virtual panel firmware, driven over its EP0 interface exactly as a
 * host drives the device, with time advanced by the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "pbm-sim.h"
#include "pbm-test-wire.h"

#define MS(x) ((guint64)(x)*1000ull)
#define S(x) ((guint64)(x)*G_USEC_PER_SEC)

static PbmSim *
sim_new(void)
{
	PbmSimConfig config;
	g_autoptr(GError) error = NULL;
	PbmSim *sim;

	pbm_sim_config_init(&config, "TEST01");
	sim = pbm_sim_new(&config, &error);
	assert_null(error);
	assert_non_null(sim);
	return sim;
}

static gboolean
ctl(PbmSim *sim, guint8 type, guint8 request, guint16 value, guint8 *data, guint16 length,
    gsize *actual, GError **error)
{
	struct pbm_wire_setup setup = { .request_type = type,
		                        .request = request,
		                        .value = value,
		                        .index = PBM_USB_INTERFACE,
		                        .length = length };
	gsize dummy;

	return pbm_sim_control(sim, &setup, data, actual != NULL ? actual : &dummy, error);
}

static gboolean
ctl_out(PbmSim *sim, guint8 request, guint16 value, GError **error)
{
	return ctl(sim, PBM_REQTYPE_OUT, request, value, NULL, 0, NULL, error);
}

static void
heartbeat(PbmSim *sim, guint16 timeout_ms)
{
	g_autoptr(GError) error = NULL;

	assert_true(ctl_out(sim, PBM_REQ_HEARTBEAT, timeout_ms, &error));
}

static gboolean
set_output_full(PbmSim *sim, const PbmOutput *o, GError **error)
{
	guint8 buf[sizeof(struct pbm_wire_output)];

	assert_true(pbm_output_encode(o, buf, NULL));
	return ctl(sim, PBM_REQTYPE_OUT, PBM_REQ_SET_OUTPUT, 0, buf, sizeof(buf), NULL, error);
}

static gboolean
set_output(PbmSim *sim, guint16 red, guint16 nir, guint16 cap_s, guint16 ramp_ms, GError **error)
{
	PbmOutput o = { .level = { red, nir },
		        .duty = PBM_DUTY_MAX,
		        .ramp_ms = ramp_ms,
		        .session_cap_s = cap_s };
	return set_output_full(sim, &o, error);
}

static void
light(PbmSim *sim, guint16 red, guint16 nir, guint16 cap_s)
{
	g_autoptr(GError) error = NULL;

	heartbeat(sim, 3000);
	if (!set_output(sim, red, nir, cap_s, 0, &error))
		fail_msg("set-output refused: %s", error->message);
	assert_true(pbm_sim_is_lit(sim));
}

static guint16 drain_events(PbmSim *sim, guint *count);

/* A host that feeds the watchdog every second, as pbmd does, and reads the
 * interrupt endpoint as it goes. Returns the events seen. */
static guint16
run_fed(PbmSim *sim, guint64 usec)
{
	guint16 events = 0;

	while (usec > 0) {
		guint64 step = MIN(usec, S(1));
		heartbeat(sim, 3000);
		pbm_sim_advance(sim, step);
		events |= drain_events(sim, NULL);
		usec -= step;
	}
	return events;
}

/* Time passing with nobody feeding the watchdog. */
static guint16
run_unfed(PbmSim *sim, guint64 usec)
{
	guint16 events = 0;

	while (usec > 0) {
		guint64 step = MIN(usec, S(1));
		pbm_sim_advance(sim, step);
		events |= drain_events(sim, NULL);
		usec -= step;
	}
	return events;
}

static PbmStatus
status_of(PbmSim *sim)
{
	guint8 buf[sizeof(struct pbm_wire_status)];
	gsize actual = 0;
	PbmStatus s;
	g_autoptr(GError) error = NULL;

	assert_true(
	        ctl(sim, PBM_REQTYPE_IN, PBM_REQ_GET_STATUS, 0, buf, sizeof(buf), &actual, &error));
	assert_int_equal(actual, sizeof(buf));
	assert_true(pbm_status_decode(buf, actual, &s, &error));
	return s;
}

/* Pops every queued report; returns the OR of their events. */
static guint16
drain_events(PbmSim *sim, guint *count)
{
	guint8 buf[sizeof(struct pbm_wire_report)];
	guint16 events = 0;
	guint n = 0;

	while (pbm_sim_pop_report(sim, buf)) {
		PbmReport r;
		g_autoptr(GError) error = NULL;
		if (!pbm_report_decode(buf, sizeof(buf), &r, &error))
			fail_msg("model sent an invalid report: %s", error->message);
		events |= r.events;
		n++;
	}
	if (count != NULL)
		*count = n;
	return events;
}

/* error is passed by address: it is read after the call under test ran. */
static void
assert_stall(gboolean ok, GError **errorp, const gchar *needle)
{
	GError *error = *errorp;

	assert_false(ok);
	assert_non_null(error);
	assert_true(g_error_matches(error, PBM_SIM_ERROR, PBM_SIM_ERROR_STALL));
	if (needle != NULL && strstr(error->message, needle) == NULL)
		fail_msg("stall reason '%s' does not mention '%s'", error->message, needle);
}

/* ---- tests ---- */

static void
test_power_on_dark(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	guint8 buf[sizeof(struct pbm_wire_report)];
	PbmReport r;
	PbmStatus s = status_of(sim);

	assert_false(pbm_sim_is_lit(sim));
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++)
		assert_int_equal(s.level[i], 0);
	assert_int_equal(s.watchdog, PBM_WATCHDOG_DISARMED);
	assert_int_equal(s.faults, 0);
	assert_int_equal(s.flags & PBM_STATUS_LIT, 0);

	assert_true(pbm_sim_pop_report(sim, buf));
	assert_true(pbm_report_decode(buf, sizeof(buf), &r, NULL));
	assert_int_equal(r.seq, 0);
	assert_int_equal(r.events, PBM_EVENT_RESET);
}

static void
test_get_info_and_channels(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	guint8 buf[512];
	gsize actual = 0;
	PbmInfo info;
	PbmChannel ch[PBM_MAX_CHANNELS];
	g_autoptr(GError) error = NULL;

	/* a host may ask for more than the reply: it gets a short transfer */
	assert_true(
	        ctl(sim, PBM_REQTYPE_IN, PBM_REQ_GET_INFO, 0, buf, sizeof(buf), &actual, &error));
	assert_int_equal(actual, sizeof(struct pbm_wire_info));
	assert_true(pbm_info_decode(buf, actual, &info, &error));
	assert_string_equal(info.serial, "TEST01");
	assert_int_equal(info.proto_major, PBM_PROTOCOL_MAJOR);
	assert_int_equal(info.channel_count, 2);
	assert_int_equal(info.max_session_s, 3600);

	assert_true(ctl(sim, PBM_REQTYPE_IN, PBM_REQ_GET_CHANNELS, 0, buf, sizeof(buf), &actual,
	                &error));
	assert_int_equal(actual, PBM_CHANNELS_REPLY_SIZE(2));
	assert_true(pbm_channels_decode(buf, actual, info.channel_count, ch, &error));
	assert_int_equal(ch[0].band, PBM_BAND_RED);
	assert_int_equal(ch[0].wavelength_nm, 660);
	assert_int_equal(ch[1].band, PBM_BAND_NIR);
	assert_int_equal(ch[1].wavelength_nm, 850);
	/* about 100 mW/cm2 at 5 cm and 25 at 60 cm, both bands together */
	assert_float_equal(pbm_channel_irradiance_at(&ch[0], 50) +
	                           pbm_channel_irradiance_at(&ch[1], 50),
	                   100.0, 5.0);
	assert_float_equal(pbm_channel_irradiance_at(&ch[0], 600) +
	                           pbm_channel_irradiance_at(&ch[1], 600),
	                   25.0, 2.0);
}

static void
test_bad_requests_stall(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	guint8 buf[128] = { 0 };
	GError *error = NULL;

	assert_stall(ctl(sim, PBM_REQTYPE_IN, 0x7f, 0, buf, 64, NULL, &error), &error, "unknown");
	g_clear_error(&error);
	assert_stall(ctl(sim, PBM_REQTYPE_OUT, 0x7f, 0, NULL, 0, NULL, &error), &error, "unknown");
	g_clear_error(&error);
	/* a GET sent as OUT, a SET sent as IN */
	assert_stall(ctl(sim, PBM_REQTYPE_OUT, PBM_REQ_GET_INFO, 0, NULL, 0, NULL, &error), &error,
	             NULL);
	g_clear_error(&error);
	assert_stall(ctl(sim, PBM_REQTYPE_IN, PBM_REQ_ALL_OFF, 0, buf, 64, NULL, &error), &error,
	             NULL);
	g_clear_error(&error);
	/* standard (not vendor) request type, device recipient */
	assert_stall(ctl(sim, 0x80, PBM_REQ_GET_INFO, 0, buf, 80, NULL, &error), &error,
	             "bmRequestType");
	g_clear_error(&error);
	{
		struct pbm_wire_setup setup = { PBM_REQTYPE_IN, PBM_REQ_GET_INFO, 0, 1, 80 };
		gsize actual;
		assert_stall(pbm_sim_control(sim, &setup, buf, &actual, &error), &error, "wIndex");
		g_clear_error(&error);
	}
	/* wLength too small for the reply */
	assert_stall(ctl(sim, PBM_REQTYPE_IN, PBM_REQ_GET_INFO, 0, buf, 79, NULL, &error), &error,
	             "wLength");
	g_clear_error(&error);
	assert_stall(ctl(sim, PBM_REQTYPE_IN, PBM_REQ_GET_STATUS, 0, buf, 43, NULL, &error), &error,
	             "wLength");
	g_clear_error(&error);
	/* data on a request that takes none; wrong SET_OUTPUT length */
	assert_stall(ctl(sim, PBM_REQTYPE_OUT, PBM_REQ_HEARTBEAT, 3000, buf, 4, NULL, &error),
	             &error, "no data");
	g_clear_error(&error);
	assert_stall(ctl(sim, PBM_REQTYPE_OUT, PBM_REQ_SET_OUTPUT, 0, buf, 27, NULL, &error),
	             &error, "bytes");
	g_clear_error(&error);
	assert_stall(ctl(sim, PBM_REQTYPE_OUT, PBM_REQ_SET_OUTPUT, 0, buf, 29, NULL, &error),
	             &error, "bytes");
	g_clear_error(&error);
	assert_stall(ctl_out(sim, PBM_REQ_ALL_OFF, 1, &error), &error, "wValue");
	g_clear_error(&error);
	assert_stall(ctl_out(sim, PBM_REQ_CLEAR_FAULT, 7, &error), &error, "wValue");
	g_clear_error(&error);
	/* heartbeat timeouts outside the advertised range */
	assert_stall(ctl_out(sim, PBM_REQ_HEARTBEAT, 499, &error), &error, "timeout");
	g_clear_error(&error);
	assert_stall(ctl_out(sim, PBM_REQ_HEARTBEAT, 10001, &error), &error, "timeout");
	g_clear_error(&error);
	assert_false(pbm_sim_is_lit(sim));
}

static void
test_no_light_without_watchdog(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	GError *error = NULL;

	assert_stall(set_output(sim, 800, 600, 600, 0, &error), &error, "watchdog");
	g_clear_error(&error);
	assert_false(pbm_sim_is_lit(sim));

	/* dark output needs no watchdog */
	assert_true(set_output(sim, 0, 0, 0, 0, &error));

	light(sim, 800, 600, 600);
	PbmStatus s = status_of(sim);
	assert_int_equal(s.level[0], 800);
	assert_int_equal(s.level[1], 600);
	assert_true(s.flags & PBM_STATUS_LIT);
	assert_int_equal(s.watchdog, PBM_WATCHDOG_ARMED);
	assert_int_equal(s.session_left_s, 600);
}

static void
test_watchdog_expiry(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	guint16 events;

	light(sim, 1000, 1000, 600);
	/* fed every second for a minute: stays lit */
	run_fed(sim, S(60));
	assert_true(pbm_sim_is_lit(sim));
	drain_events(sim, NULL);

	/* then the host goes quiet: dark exactly at the 3 s timeout */
	heartbeat(sim, 3000);
	pbm_sim_advance(sim, MS(2999));
	assert_true(pbm_sim_is_lit(sim));
	events = drain_events(sim, NULL);
	assert_int_equal(events & PBM_EVENT_WATCHDOG_EXPIRED, 0);
	pbm_sim_advance(sim, MS(1));
	assert_false(pbm_sim_is_lit(sim));
	assert_int_equal(status_of(sim).watchdog, PBM_WATCHDOG_EXPIRED);
	/* the event is reported at once, not with the next periodic report */
	events = drain_events(sim, NULL);
	assert_true(events & PBM_EVENT_WATCHDOG_EXPIRED);

	/* a late heartbeat re-arms the watchdog but does not relight */
	heartbeat(sim, 3000);
	pbm_sim_advance(sim, S(1));
	assert_false(pbm_sim_is_lit(sim));
	assert_int_equal(status_of(sim).watchdog, PBM_WATCHDOG_ARMED);
}

static void
test_session_cap(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	g_autoptr(GError) error = NULL;

	light(sim, 500, 500, 5);
	run_fed(sim, MS(4990));
	assert_true(pbm_sim_is_lit(sim));
	/* a later request may not extend the cap promised at switch-on */
	assert_true(set_output(sim, 600, 600, 600, 0, &error));
	assert_int_equal(status_of(sim).session_left_s, 1);
	drain_events(sim, NULL);
	assert_true(run_fed(sim, MS(10)) & PBM_EVENT_SESSION_CAP);
	assert_false(pbm_sim_is_lit(sim));
	assert_int_equal(status_of(sim).session_left_s, 0);

	/* but it may shorten it */
	light(sim, 500, 500, 600);
	assert_true(set_output(sim, 500, 500, 2, 0, &error));
	run_fed(sim, S(2));
	assert_false(pbm_sim_is_lit(sim));

	/* a cap beyond what the panel advertises is refused */
	GError *e = NULL;
	heartbeat(sim, 3000);
	assert_stall(set_output(sim, 500, 500, 3601, 0, &e), &e, "3600");
	g_clear_error(&e);
}

static void
test_level_caps(void **state)
{
	PbmSimConfig config;
	g_autoptr(PbmSim) sim = NULL;
	GError *error = NULL;

	pbm_sim_config_init(&config, "CAPS");
	config.channels[1].max_level = 500;
	sim = pbm_sim_new(&config, NULL);
	heartbeat(sim, 3000);
	/* refused, never clamped */
	assert_stall(set_output(sim, 100, 501, 60, 0, &error), &error, "cap of 500");
	g_clear_error(&error);
	assert_false(pbm_sim_is_lit(sim));
	assert_true(set_output(sim, 100, 500, 60, 0, &error));
	assert_int_equal(status_of(sim).level[1], 500);
	/* a level on a channel the panel does not have */
	PbmOutput o = { .level = { 100, 100, 100 }, .duty = 1000, .session_cap_s = 60 };
	assert_stall(set_output_full(sim, &o, &error), &error, "only 2 channels");
	g_clear_error(&error);
}

static void
test_ramp(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	g_autoptr(GError) error = NULL;
	PbmStatus s;

	heartbeat(sim, 3000);
	assert_true(set_output(sim, 1000, 400, 60, 2000, &error));
	s = status_of(sim);
	assert_int_equal(s.level[0], 0);
	assert_true(s.flags & PBM_STATUS_RAMPING);
	assert_true(s.flags & PBM_STATUS_LIT);
	run_fed(sim, MS(1000));
	s = status_of(sim);
	assert_int_equal(s.level[0], 500);
	assert_int_equal(s.level[1], 200);
	run_fed(sim, MS(1000));
	s = status_of(sim);
	assert_int_equal(s.level[0], 1000);
	assert_int_equal(s.level[1], 400);
	assert_int_equal(s.flags & PBM_STATUS_RAMPING, 0);

	/* ramp down from the current level */
	assert_true(set_output(sim, 200, 400, 60, 1000, &error));
	run_fed(sim, MS(500));
	assert_int_equal(status_of(sim).level[0], 600);
}

static void
test_all_off(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	g_autoptr(GError) error = NULL;
	PbmStatus s;

	light(sim, 1000, 1000, 600);
	assert_true(ctl_out(sim, PBM_REQ_ALL_OFF, 0, &error));
	assert_false(pbm_sim_is_lit(sim));
	s = status_of(sim);
	assert_int_equal(s.level[0], 0);
	assert_int_equal(s.watchdog, PBM_WATCHDOG_DISARMED);
	assert_int_equal(s.session_left_s, 0);
	/* after ALL_OFF, lighting needs a fresh heartbeat */
	GError *e = NULL;
	assert_stall(set_output(sim, 100, 0, 60, 0, &e), &e, "watchdog");
	g_clear_error(&e);
}

static void
test_thermal_steady_state(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	PbmStatus s;

	light(sim, 1000, 1000, 3600);
	guint16 events = run_fed(sim, S(20 * 60));
	s = status_of(sim);
	/* with the fan, a full-power panel settles below derating */
	assert_true(pbm_sim_get_temperature(sim) > 33.0);
	assert_true(pbm_sim_get_temperature(sim) < 40.0);
	assert_int_equal(s.derate, 1000);
	assert_int_equal(s.fan_rpm, 3000);
	assert_int_equal(s.faults, 0);
	assert_int_equal(events & (PBM_EVENT_DERATE_START | PBM_EVENT_FAULT), 0);
}

static void
test_pulsed_heats_less(void **state)
{
	g_autoptr(PbmSim) cont = sim_new();
	g_autoptr(PbmSim) pulsed = sim_new();
	g_autoptr(GError) error = NULL;
	PbmOutput o = {
		.level = { 1000, 1000 }, .pulse_mhz = 10000, .duty = 500, .session_cap_s = 600
	};

	light(cont, 1000, 1000, 600);
	heartbeat(pulsed, 3000);
	assert_true(set_output_full(pulsed, &o, &error));
	PbmStatus s = status_of(pulsed);
	assert_int_equal(s.pulse_mhz, 10000);
	assert_int_equal(s.duty, 500);
	run_fed(cont, S(300));
	run_fed(pulsed, S(300));
	/* half the duty, about half the temperature rise */
	gdouble rise_c = pbm_sim_get_temperature(cont) - 22.0;
	gdouble rise_p = pbm_sim_get_temperature(pulsed) - 22.0;
	assert_float_equal(rise_p / rise_c, 0.5, 0.05);
}

static void
test_derating(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	guint16 events;
	PbmStatus s;

	pbm_sim_set_ambient(sim, 35.0);
	light(sim, 1000, 1000, 3600);
	events = run_fed(sim, S(15 * 60));
	s = status_of(sim);
	assert_true(events & PBM_EVENT_DERATE_START);
	assert_true(s.flags & PBM_STATUS_DERATING);
	assert_true(s.derate < 1000);
	assert_true(s.derate > 0);
	/* derating holds the board below the latch */
	assert_int_equal(s.faults, 0);
	assert_true(pbm_sim_is_lit(sim));
	/* the commanded level is reported as asked; derating is separate */
	assert_int_equal(s.level[0], 1000);

	/* switch off in a cool room: derating ends */
	pbm_sim_set_ambient(sim, 22.0);
	g_assert_true(ctl_out(sim, PBM_REQ_ALL_OFF, 0, NULL));
	events = run_unfed(sim, S(10 * 60));
	s = status_of(sim);
	assert_true(events & PBM_EVENT_DERATE_END);
	assert_int_equal(s.flags & PBM_STATUS_DERATING, 0);
	assert_int_equal(s.derate, 1000);
}

static void
test_over_temperature_latch(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	GError *error = NULL;
	PbmStatus s;

	pbm_sim_set_ambient(sim, 70.0);
	light(sim, 1000, 1000, 3600);
	assert_true(run_fed(sim, S(20 * 60)) & PBM_EVENT_FAULT);
	s = status_of(sim);
	assert_true(s.faults & PBM_FAULT_OVER_TEMP);
	assert_false(pbm_sim_is_lit(sim));

	heartbeat(sim, 3000);
	assert_stall(set_output(sim, 100, 0, 60, 0, &error), &error, "over-temperature");
	g_clear_error(&error);

	/* still hot: CLEAR_FAULT does not release the latch */
	assert_true(ctl_out(sim, PBM_REQ_CLEAR_FAULT, 0, &error));
	assert_true(status_of(sim).faults & PBM_FAULT_OVER_TEMP);

	/* cooled down: it does */
	pbm_sim_set_ambient(sim, 20.0);
	pbm_sim_advance(sim, S(30 * 60));
	assert_true(pbm_sim_get_temperature(sim) < 40.0);
	assert_true(status_of(sim).faults & PBM_FAULT_OVER_TEMP); /* latched until cleared */
	assert_true(ctl_out(sim, PBM_REQ_CLEAR_FAULT, 0, &error));
	assert_int_equal(status_of(sim).faults, 0);
	light(sim, 100, 0, 60);
}

static void
test_fan_stall(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	GError *error = NULL;

	light(sim, 1000, 1000, 600);
	run_fed(sim, S(10));
	drain_events(sim, NULL);
	pbm_sim_set_fan_stalled(sim, TRUE);
	run_fed(sim, MS(1990));
	assert_true(pbm_sim_is_lit(sim));
	assert_int_equal(status_of(sim).fan_rpm, 0);
	assert_true(run_fed(sim, MS(20)) & PBM_EVENT_FAULT);
	assert_false(pbm_sim_is_lit(sim));
	assert_true(status_of(sim).faults & PBM_FAULT_FAN_STALL);

	assert_true(ctl_out(sim, PBM_REQ_CLEAR_FAULT, 0, &error));
	assert_true(status_of(sim).faults & PBM_FAULT_FAN_STALL);
	pbm_sim_set_fan_stalled(sim, FALSE);
	assert_true(ctl_out(sim, PBM_REQ_CLEAR_FAULT, 0, &error));
	assert_int_equal(status_of(sim).faults, 0);
	light(sim, 500, 500, 60);
}

/* A board's sensor replaces the thermal model: derating and the latch follow
 * the measurement, and light no longer warms the board by itself. */
static void
test_measured_temperature(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	GError *error = NULL;

	pbm_sim_set_measured_temperature(sim, 25.0);
	light(sim, 1000, 1000, 3600);
	run_fed(sim, S(20 * 60));
	assert_true(pbm_sim_get_temperature(sim) == 25.0);
	assert_int_equal(status_of(sim).derate, 1000);

	pbm_sim_set_measured_temperature(sim, 47.5);
	assert_true(drain_events(sim, NULL) & PBM_EVENT_DERATE_START);
	assert_int_equal(status_of(sim).derate, 500);
	assert_true(pbm_sim_is_lit(sim));

	pbm_sim_set_measured_temperature(sim, 55.0);
	assert_true(drain_events(sim, NULL) & PBM_EVENT_FAULT);
	assert_false(pbm_sim_is_lit(sim));
	assert_true(status_of(sim).faults & PBM_FAULT_OVER_TEMP);
	assert_true(ctl_out(sim, PBM_REQ_CLEAR_FAULT, 0, &error));
	assert_true(status_of(sim).faults & PBM_FAULT_OVER_TEMP);

	pbm_sim_set_measured_temperature(sim, 30.0);
	assert_true(ctl_out(sim, PBM_REQ_CLEAR_FAULT, 0, &error));
	assert_int_equal(status_of(sim).faults, 0);
}

/* A tachometer replaces the ideal fan: the firmware asks for the fan when
 * lit, and a commanded fan that reads 0 rpm for 2 s is a stall. */
static void
test_measured_fan(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	GError *error = NULL;

	pbm_sim_set_measured_fan_rpm(sim, 0);
	assert_false(pbm_sim_fan_commanded(sim));
	run_unfed(sim, S(5));
	assert_int_equal(status_of(sim).faults, 0);

	light(sim, 500, 500, 600);
	assert_true(pbm_sim_fan_commanded(sim));
	pbm_sim_set_measured_fan_rpm(sim, 2400);
	run_fed(sim, S(5));
	assert_int_equal(status_of(sim).fan_rpm, 2400);
	assert_true(pbm_sim_is_lit(sim));

	pbm_sim_set_measured_fan_rpm(sim, 0);
	run_fed(sim, MS(1990));
	assert_true(pbm_sim_is_lit(sim));
	assert_true(run_fed(sim, MS(20)) & PBM_EVENT_FAULT);
	assert_false(pbm_sim_is_lit(sim));
	assert_true(status_of(sim).faults & PBM_FAULT_FAN_STALL);

	assert_true(ctl_out(sim, PBM_REQ_CLEAR_FAULT, 0, &error));
	assert_int_equal(status_of(sim).faults, 0);
}

/* No tachometer: 0 rpm, and a lit panel is not taken for a stalled fan. */
static void
test_fan_unmonitored(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();

	pbm_sim_set_fan_unmonitored(sim);
	light(sim, 500, 500, 600);
	run_fed(sim, S(10));
	assert_true(pbm_sim_is_lit(sim));
	assert_int_equal(status_of(sim).fan_rpm, 0);
	assert_int_equal(status_of(sim).faults, 0);
}

static void
test_sensor_failure(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	GError *error = NULL;

	pbm_sim_set_measured_temperature(sim, 25.0);
	light(sim, 500, 500, 600);
	drain_events(sim, NULL);
	pbm_sim_set_sensor_failed(sim, TRUE);
	assert_true(drain_events(sim, NULL) & PBM_EVENT_FAULT);
	assert_false(pbm_sim_is_lit(sim));
	assert_true(status_of(sim).faults & PBM_FAULT_SENSOR);
	assert_true(ctl_out(sim, PBM_REQ_CLEAR_FAULT, 0, &error));
	assert_true(status_of(sim).faults & PBM_FAULT_SENSOR);
	heartbeat(sim, 3000);
	assert_stall(set_output(sim, 100, 0, 60, 0, &error), &error, NULL);
	g_clear_error(&error);

	pbm_sim_set_sensor_failed(sim, FALSE);
	assert_true(ctl_out(sim, PBM_REQ_CLEAR_FAULT, 0, &error));
	assert_int_equal(status_of(sim).faults, 0);
	light(sim, 100, 0, 60);
}

static void
test_led_string_fault(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	GError *error = NULL;

	light(sim, 800, 800, 600);
	drain_events(sim, NULL);
	pbm_sim_set_led_string_fault(sim, 1, TRUE);
	assert_false(pbm_sim_is_lit(sim));
	assert_true(status_of(sim).faults & PBM_FAULT_LED_STRING);
	assert_true(drain_events(sim, NULL) & PBM_EVENT_FAULT);

	/* while latched, even the healthy channel stays dark */
	heartbeat(sim, 3000);
	assert_stall(set_output(sim, 800, 0, 60, 0, &error), &error, "led-string");
	g_clear_error(&error);

	pbm_sim_set_led_string_fault(sim, 1, FALSE);
	assert_true(ctl_out(sim, PBM_REQ_CLEAR_FAULT, 0, &error));
	assert_int_equal(status_of(sim).faults, 0);

	/* a faulty string is detected at switch-on too */
	pbm_sim_set_led_string_fault(sim, 0, TRUE);
	assert_true(set_output(sim, 800, 0, 60, 0, &error));
	assert_false(pbm_sim_is_lit(sim));
	assert_true(status_of(sim).faults & PBM_FAULT_LED_STRING);
}

static void
test_button(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();

	light(sim, 800, 800, 600);
	run_fed(sim, S(5));
	drain_events(sim, NULL);
	pbm_sim_press_button(sim);
	assert_false(pbm_sim_is_lit(sim));
	assert_int_equal(pbm_sim_pending_reports(sim), 1);
	assert_true(drain_events(sim, NULL) & PBM_EVENT_BUTTON);
	/* heartbeats alone never relight the panel */
	run_fed(sim, S(5));
	assert_false(pbm_sim_is_lit(sim));
	assert_int_equal(status_of(sim).session_left_s, 0);
}

static void
test_report_cadence(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	guint8 buf[sizeof(struct pbm_wire_report)];
	guint n;
	PbmReport r;

	drain_events(sim, NULL);
	pbm_sim_advance(sim, S(10));
	drain_events(sim, &n);
	assert_int_equal(n, 10); /* 1 Hz idle */

	light(sim, 500, 500, 600);
	pbm_sim_advance(sim, S(2));
	drain_events(sim, &n);
	assert_in_range(n, 19, 21); /* 10 Hz lit */

	/* an unread endpoint keeps the newest reports; the gap shows in seq */
	g_assert_true(ctl_out(sim, PBM_REQ_ALL_OFF, 0, NULL));
	pbm_sim_advance(sim, S(100));
	assert_int_equal(pbm_sim_pending_reports(sim), PBM_SIM_REPORT_QUEUE_MAX);
	assert_true(pbm_sim_pop_report(sim, buf));
	assert_true(pbm_report_decode(buf, sizeof(buf), &r, NULL));
	guint16 first = r.seq;
	assert_true(pbm_sim_pop_report(sim, buf));
	assert_true(pbm_report_decode(buf, sizeof(buf), &r, NULL));
	assert_int_equal(r.seq, (guint16)(first + 1));
	assert_true(first > 30 + 10);
}

static void
test_next_deadline(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();

	drain_events(sim, NULL);
	/* idle: the next periodic report, a second away */
	assert_int_equal(pbm_sim_next_deadline(sim), S(1));
	light(sim, 500, 500, 600);
	/* lit: at most 100 ms away */
	assert_true(pbm_sim_next_deadline(sim) <= pbm_sim_now(sim) + MS(100));
	/* a queued report is due now */
	pbm_sim_press_button(sim);
	assert_int_equal(pbm_sim_next_deadline(sim), pbm_sim_now(sim));
	drain_events(sim, NULL);
	/* an armed watchdog is a deadline of its own */
	heartbeat(sim, 500);
	assert_true(pbm_sim_next_deadline(sim) <= pbm_sim_now(sim) + MS(500));
}

static void
test_identify(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	GError *error = NULL;

	assert_true(ctl_out(sim, PBM_REQ_IDENTIFY, 2, &error));
	assert_true(status_of(sim).flags & PBM_STATUS_IDENTIFYING);
	assert_false(pbm_sim_is_lit(sim)); /* the indicator, not the therapy LEDs */
	pbm_sim_advance(sim, S(2));
	assert_int_equal(status_of(sim).flags & PBM_STATUS_IDENTIFYING, 0);
	assert_stall(ctl_out(sim, PBM_REQ_IDENTIFY, 0, &error), &error, NULL);
	g_clear_error(&error);
	assert_stall(ctl_out(sim, PBM_REQ_IDENTIFY, PBM_IDENTIFY_MAX_S + 1, &error), &error, NULL);
	g_clear_error(&error);
}

static void
test_reset(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	guint8 buf[sizeof(struct pbm_wire_report)];
	PbmReport r;

	light(sim, 800, 800, 600);
	pbm_sim_set_fan_stalled(sim, TRUE);
	run_fed(sim, S(3));
	assert_true(status_of(sim).faults != 0);
	pbm_sim_set_fan_stalled(sim, FALSE);
	pbm_sim_reset(sim);
	assert_false(pbm_sim_is_lit(sim));
	assert_int_equal(status_of(sim).faults, 0);
	assert_int_equal(status_of(sim).watchdog, PBM_WATCHDOG_DISARMED);
	assert_true(pbm_sim_pop_report(sim, buf));
	assert_true(pbm_report_decode(buf, sizeof(buf), &r, NULL));
	assert_int_equal(r.seq, 0);
	assert_true(r.events & PBM_EVENT_RESET);
}

/* ---- 1.1: GET_RESULT ---- */

static PbmResult
result_of(PbmSim *sim, guint8 request)
{
	guint8 buf[64];
	gsize actual = 0;
	PbmResult r;
	g_autoptr(GError) error = NULL;

	if (!ctl(sim, PBM_REQTYPE_IN, PBM_REQ_GET_RESULT, request, buf, sizeof(buf), &actual,
	         &error))
		fail_msg("get-result %s: %s", pbm_request_to_string(request), error->message);
	/* asked for more, the reply is exactly the struct */
	assert_int_equal(actual, sizeof(struct pbm_wire_result));
	if (!pbm_result_decode(buf, actual, request, &r, &error))
		fail_msg("model sent an invalid result: %s", error->message);
	return r;
}

/* The request was refused with a STALL and GET_RESULT says why: result,
 * one more of its kind counted. */
static void
expect_result(PbmSim *sim, gboolean ok, GError **errorp, guint8 request, enum pbm_result want,
              guint16 *count)
{
	PbmResult r = result_of(sim, request);

	if (want == PBM_RESULT_OK) {
		if (!ok)
			fail_msg("%s refused: %s", pbm_request_to_string(request),
			         (*errorp)->message);
	} else {
		assert_stall(ok, errorp, NULL);
		g_clear_error(errorp);
	}
	if (r.result != want)
		fail_msg("%s: result %u (%s), expected %s", pbm_request_to_string(request),
		         r.result, pbm_result_to_string(r.result), pbm_result_to_string(want));
	*count = pbm_result_count_next(*count);
	assert_int_equal(r.count, *count);
}

static gboolean
set_output_bytes(PbmSim *sim, const PbmOutput *o, guint16 value, guint16 len, GError **error)
{
	guint8 buf[sizeof(struct pbm_wire_output) + 1] = { 0 };

	pbm_test_wire_output_bytes(o, buf);
	return ctl(sim, PBM_REQTYPE_OUT, PBM_REQ_SET_OUTPUT, value, buf, len, NULL, error);
}

/* Every reason the model refuses SET_OUTPUT, each reported to GET_RESULT as
 * its own code, and still a STALL (umockdev and usbredir hosts see that). */
static void
test_set_output_results(void **state)
{
	PbmSimConfig config;
	g_autoptr(PbmSim) sim = NULL;
	GError *error = NULL;
	const PbmOutput good = { .level = { 300, 300 }, .duty = 1000, .session_cap_s = 60 };
	PbmOutput o;
	guint16 count = 0;
	gboolean ok;

	pbm_sim_config_init(&config, "RESULTS");
	config.channels[1].max_level = 400;
	config.max_session_s = 600;
	sim = pbm_sim_new(&config, NULL);
	assert_int_equal(result_of(sim, PBM_REQ_SET_OUTPUT).count, 0);
	assert_int_equal(result_of(sim, PBM_REQ_SET_OUTPUT).result, PBM_RESULT_OK);

	ok = set_output_bytes(sim, &good, 0, sizeof(struct pbm_wire_output), &error);
	expect_result(sim, ok, &error, PBM_REQ_SET_OUTPUT, PBM_RESULT_WATCHDOG, &count);
	heartbeat(sim, 3000);
	ok = set_output_bytes(sim, &good, 1, sizeof(struct pbm_wire_output), &error);
	expect_result(sim, ok, &error, PBM_REQ_SET_OUTPUT, PBM_RESULT_BAD_VALUE, &count);
	ok = set_output_bytes(sim, &good, 0, sizeof(struct pbm_wire_output) - 1, &error);
	expect_result(sim, ok, &error, PBM_REQ_SET_OUTPUT, PBM_RESULT_BAD_LENGTH, &count);
	ok = set_output_bytes(sim, &good, 0, sizeof(struct pbm_wire_output) + 1, &error);
	expect_result(sim, ok, &error, PBM_REQ_SET_OUTPUT, PBM_RESULT_BAD_LENGTH, &count);
	o = good;
	o.level[0] = 1001;
	ok = set_output_bytes(sim, &o, 0, sizeof(struct pbm_wire_output), &error);
	expect_result(sim, ok, &error, PBM_REQ_SET_OUTPUT, PBM_RESULT_LEVEL, &count);
	o = good;
	o.level[1] = 401; /* above the channel's cap */
	ok = set_output_bytes(sim, &o, 0, sizeof(struct pbm_wire_output), &error);
	expect_result(sim, ok, &error, PBM_REQ_SET_OUTPUT, PBM_RESULT_LEVEL, &count);
	o = good;
	o.level[2] = 1;
	ok = set_output_bytes(sim, &o, 0, sizeof(struct pbm_wire_output), &error);
	expect_result(sim, ok, &error, PBM_REQ_SET_OUTPUT, PBM_RESULT_NO_CHANNEL, &count);
	o = good;
	o.pulse_mhz = PBM_PULSE_MIN_MHZ - 1;
	o.duty = 500;
	ok = set_output_bytes(sim, &o, 0, sizeof(struct pbm_wire_output), &error);
	expect_result(sim, ok, &error, PBM_REQ_SET_OUTPUT, PBM_RESULT_PULSE, &count);
	o.pulse_mhz = 10000;
	o.duty = 0;
	ok = set_output_bytes(sim, &o, 0, sizeof(struct pbm_wire_output), &error);
	expect_result(sim, ok, &error, PBM_REQ_SET_OUTPUT, PBM_RESULT_DUTY, &count);
	o = good;
	o.ramp_ms = PBM_RAMP_MAX_MS + 1;
	ok = set_output_bytes(sim, &o, 0, sizeof(struct pbm_wire_output), &error);
	expect_result(sim, ok, &error, PBM_REQ_SET_OUTPUT, PBM_RESULT_RAMP, &count);
	o = good;
	o.session_cap_s = 0;
	ok = set_output_bytes(sim, &o, 0, sizeof(struct pbm_wire_output), &error);
	expect_result(sim, ok, &error, PBM_REQ_SET_OUTPUT, PBM_RESULT_SESSION_CAP, &count);
	o.session_cap_s = 601; /* above this panel's max_session_s */
	ok = set_output_bytes(sim, &o, 0, sizeof(struct pbm_wire_output), &error);
	expect_result(sim, ok, &error, PBM_REQ_SET_OUTPUT, PBM_RESULT_SESSION_CAP, &count);
	assert_false(pbm_sim_is_lit(sim));

	ok = set_output_bytes(sim, &good, 0, sizeof(struct pbm_wire_output), &error);
	expect_result(sim, ok, &error, PBM_REQ_SET_OUTPUT, PBM_RESULT_OK, &count);
	assert_true(pbm_sim_is_lit(sim));
	/* heartbeats in between do not hide the result of the last set-output */
	heartbeat(sim, 3000);
	heartbeat(sim, 3000);
	assert_int_equal(result_of(sim, PBM_REQ_SET_OUTPUT).count, count);
	assert_int_equal(result_of(sim, PBM_REQ_SET_OUTPUT).result, PBM_RESULT_OK);
	assert_int_equal(result_of(sim, PBM_REQ_HEARTBEAT).count, 3);

	pbm_sim_set_led_string_fault(sim, 0, TRUE);
	assert_true(status_of(sim).faults & PBM_FAULT_LED_STRING);
	ok = set_output_bytes(sim, &good, 0, sizeof(struct pbm_wire_output), &error);
	expect_result(sim, ok, &error, PBM_REQ_SET_OUTPUT, PBM_RESULT_FAULT, &count);
	/* switching off is accepted in a fault */
	o = (PbmOutput){ .duty = 1000 };
	ok = set_output_bytes(sim, &o, 0, sizeof(struct pbm_wire_output), &error);
	expect_result(sim, ok, &error, PBM_REQ_SET_OUTPUT, PBM_RESULT_OK, &count);
}

/* The other OUT requests: every refusal is BAD_VALUE or BAD_LENGTH, each
 * kind counted on its own. */
static void
test_other_results(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	guint8 data[4] = { 0 };
	GError *error = NULL;
	guint16 heartbeats = 0, offs = 0, clears = 0, identifies = 0;
	gboolean ok;

	ok = ctl_out(sim, PBM_REQ_HEARTBEAT, 499, &error);
	expect_result(sim, ok, &error, PBM_REQ_HEARTBEAT, PBM_RESULT_BAD_VALUE, &heartbeats);
	ok = ctl(sim, PBM_REQTYPE_OUT, PBM_REQ_HEARTBEAT, 3000, data, sizeof(data), NULL, &error);
	expect_result(sim, ok, &error, PBM_REQ_HEARTBEAT, PBM_RESULT_BAD_LENGTH, &heartbeats);
	ok = ctl_out(sim, PBM_REQ_HEARTBEAT, 3000, &error);
	expect_result(sim, ok, &error, PBM_REQ_HEARTBEAT, PBM_RESULT_OK, &heartbeats);
	ok = ctl_out(sim, PBM_REQ_ALL_OFF, 1, &error);
	expect_result(sim, ok, &error, PBM_REQ_ALL_OFF, PBM_RESULT_BAD_VALUE, &offs);
	ok = ctl_out(sim, PBM_REQ_ALL_OFF, 0, &error);
	expect_result(sim, ok, &error, PBM_REQ_ALL_OFF, PBM_RESULT_OK, &offs);
	ok = ctl_out(sim, PBM_REQ_CLEAR_FAULT, 7, &error);
	expect_result(sim, ok, &error, PBM_REQ_CLEAR_FAULT, PBM_RESULT_BAD_VALUE, &clears);
	ok = ctl(sim, PBM_REQTYPE_OUT, PBM_REQ_CLEAR_FAULT, 0, data, 1, NULL, &error);
	expect_result(sim, ok, &error, PBM_REQ_CLEAR_FAULT, PBM_RESULT_BAD_LENGTH, &clears);
	ok = ctl_out(sim, PBM_REQ_IDENTIFY, 0, &error);
	expect_result(sim, ok, &error, PBM_REQ_IDENTIFY, PBM_RESULT_BAD_VALUE, &identifies);
	ok = ctl_out(sim, PBM_REQ_IDENTIFY, PBM_IDENTIFY_MAX_S + 1, &error);
	expect_result(sim, ok, &error, PBM_REQ_IDENTIFY, PBM_RESULT_BAD_VALUE, &identifies);
	ok = ctl_out(sim, PBM_REQ_IDENTIFY, 5, &error);
	expect_result(sim, ok, &error, PBM_REQ_IDENTIFY, PBM_RESULT_OK, &identifies);
	assert_int_equal(result_of(sim, PBM_REQ_SET_OUTPUT).count, 0);

	/* a power cycle forgets every count */
	pbm_sim_reset(sim);
	assert_int_equal(result_of(sim, PBM_REQ_HEARTBEAT).count, 0);
	assert_int_equal(result_of(sim, PBM_REQ_IDENTIFY).count, 0);

	/* the count wraps from 65535 to 1: 0 stays "none since power-up" */
	for (guint i = 0; i < G_MAXUINT16; i++)
		assert_true(ctl_out(sim, PBM_REQ_ALL_OFF, 0, NULL));
	assert_int_equal(result_of(sim, PBM_REQ_ALL_OFF).count, G_MAXUINT16);
	assert_true(ctl_out(sim, PBM_REQ_ALL_OFF, 0, NULL));
	assert_int_equal(result_of(sim, PBM_REQ_ALL_OFF).count, 1);
}

static void
test_get_result_requests(void **state)
{
	g_autoptr(PbmSim) sim = sim_new();
	guint8 buf[64] = { 0 };
	gsize actual = 0;
	GError *error = NULL;
	const guint16 bad_values[] = {
		0,    PBM_REQ_GET_INFO,           PBM_REQ_GET_STATUS, PBM_REQ_GET_RESULT,
		0x7f, 0x0100 | PBM_REQ_SET_OUTPUT
	};

	/* only the OUT requests the panel knows can be asked about */
	for (guint i = 0; i < G_N_ELEMENTS(bad_values); i++) {
		assert_stall(ctl(sim, PBM_REQTYPE_IN, PBM_REQ_GET_RESULT, bad_values[i], buf,
		                 sizeof(buf), NULL, &error),
		             &error, "wValue");
		g_clear_error(&error);
	}
	assert_stall(ctl(sim, PBM_REQTYPE_IN, PBM_REQ_GET_RESULT, PBM_REQ_SET_OUTPUT, buf, 7, NULL,
	                 &error),
	             &error, "wLength");
	g_clear_error(&error);
	assert_stall(ctl(sim, PBM_REQTYPE_OUT, PBM_REQ_GET_RESULT, PBM_REQ_SET_OUTPUT, NULL, 0,
	                 NULL, &error),
	             &error, "unknown");
	g_clear_error(&error);
	assert_true(ctl(sim, PBM_REQTYPE_IN, PBM_REQ_GET_RESULT, PBM_REQ_SET_OUTPUT, buf, 8,
	                &actual, &error));
	assert_int_equal(actual, 8);

	/* an unknown OUT request is not counted anywhere; asking counts nothing */
	assert_false(ctl(sim, PBM_REQTYPE_OUT, 0x7f, 0, NULL, 0, NULL, NULL));
	assert_int_equal(result_of(sim, PBM_REQ_SET_OUTPUT).count, 0);
	light(sim, 100, 100, 60);
	assert_int_equal(result_of(sim, PBM_REQ_SET_OUTPUT).count, 1);
	assert_int_equal(result_of(sim, PBM_REQ_SET_OUTPUT).count, 1);
}

/* A model configured as a 1.0 panel: what a 1.1 host must still drive. */
static void
test_protocol_1_0(void **state)
{
	PbmSimConfig config;
	g_autoptr(PbmSim) sim = NULL;
	g_autoptr(GError) error = NULL;
	GError *stall = NULL;
	guint8 buf[128];
	gsize actual = 0;
	PbmInfo info;

	pbm_sim_config_init(&config, "OLD10");
	assert_int_equal(config.protocol_minor, PBM_PROTOCOL_MINOR);
	config.protocol_minor = 0;
	sim = pbm_sim_new(&config, &error);
	assert_non_null(sim);
	assert_true(
	        ctl(sim, PBM_REQTYPE_IN, PBM_REQ_GET_INFO, 0, buf, sizeof(buf), &actual, &error));
	assert_true(pbm_info_decode(buf, actual, &info, &error));
	assert_int_equal(info.proto_major, 1);
	assert_int_equal(info.proto_minor, 0);
	assert_stall(ctl(sim, PBM_REQTYPE_IN, PBM_REQ_GET_RESULT, PBM_REQ_SET_OUTPUT, buf,
	                 sizeof(buf), NULL, &stall),
	             &stall, "unknown");
	g_clear_error(&stall);
	light(sim, 500, 500, 60);
	{
		const PbmOutput o = { .level = { 1001 }, .duty = 1000, .session_cap_s = 60 };
		assert_stall(set_output_bytes(sim, &o, 0, sizeof(struct pbm_wire_output), &stall),
		             &stall, "1001");
		g_clear_error(&stall);
	}
	assert_true(pbm_sim_is_lit(sim));

	/* a model cannot speak a minor version newer than itself */
	g_clear_pointer(&sim, pbm_sim_free);
	config.protocol_minor = PBM_PROTOCOL_MINOR + 1;
	assert_null(pbm_sim_new(&config, &error));
	assert_true(g_error_matches(error, PBM_SIM_ERROR, PBM_SIM_ERROR_CONFIG));
	assert_non_null(strstr(error->message, "protocol 1.2"));
}

static void
test_bad_config(void **state)
{
	PbmSimConfig config;
	g_autoptr(GError) error = NULL;

	pbm_sim_config_init(&config, "bad serial!");
	assert_null(pbm_sim_new(&config, &error));
	assert_non_null(error);
	assert_non_null(strstr(error->message, "serial"));
	g_clear_error(&error);

	pbm_sim_config_init(&config, "OK");
	config.channels[0].wavelength_nm = 850; /* red band at an NIR wavelength */
	assert_null(pbm_sim_new(&config, &error));
	assert_non_null(strstr(error->message, "wavelength"));
}

static PbmSim *
sim_of_model(const gchar *model)
{
	PbmSimConfig config;
	g_autoptr(GError) error = NULL;
	PbmSim *sim;

	if (!pbm_sim_config_init_model(&config, "MODEL01", model, &error))
		fail_msg("%s", error->message);
	sim = pbm_sim_new(&config, &error);
	if (sim == NULL)
		fail_msg("model %s: %s", model, error->message);
	return sim;
}

static void
test_models(void **state)
{
	/* mW/cm2 at 15 cm, red and NIR */
	static const struct {
		const gchar *name;
		gdouble red, nir;
	} want[] = { { "standard", 36, 34 }, { "low", 12, 10 }, { "high", 100, 100 } };
	const gchar *const *names = pbm_sim_model_names();
	g_autoptr(GHashTable) models = g_hash_table_new(g_str_hash, g_str_equal);

	assert_int_equal(g_strv_length((gchar **)names), G_N_ELEMENTS(want));
	for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
		g_autoptr(PbmSim) sim = sim_of_model(want[i].name);
		const PbmChannel *ch = pbm_sim_get_channels(sim);

		assert_string_equal(names[i], want[i].name);
		assert_float_equal(pbm_channel_irradiance_at(&ch[0], 150), want[i].red, 1e-9);
		assert_float_equal(pbm_channel_irradiance_at(&ch[1], 150), want[i].nir, 1e-9);
		for (guint c = 0; c < 2; c++) {
			/* 7 points from 5 to 60 cm, falling far slower than 1/d^2:
			 * 144 times less at 60 cm than at 5 cm under that law */
			gdouble near = pbm_channel_irradiance_at(&ch[c], 50);
			gdouble far = pbm_channel_irradiance_at(&ch[c], 600);
			assert_int_equal(ch[c].point_count, 7);
			assert_int_equal(ch[c].points[0].distance_mm, 50);
			assert_int_equal(ch[c].points[6].distance_mm, 600);
			assert_true(near / far > 3.0 && near / far < 5.0);
		}
		/* each says which it is */
		assert_null(g_hash_table_lookup(models, pbm_sim_get_info(sim)->model));
		g_hash_table_add(models, (gpointer)g_intern_string(pbm_sim_get_info(sim)->model));
	}
	assert_true(g_hash_table_contains(models, "pbm virtual panel 660/850 low"));
}

static void
test_standard_is_default(void **state)
{
	PbmSimConfig a, b;

	pbm_sim_config_init(&a, "SAME");
	assert_true(pbm_sim_config_init_model(&b, "SAME", "standard", NULL));
	assert_memory_equal(&a, &b, sizeof(a));
	assert_string_equal(a.model, "pbm virtual panel 660/850");
}

static void
test_unknown_model(void **state)
{
	PbmSimConfig config;
	g_autoptr(GError) error = NULL;

	assert_false(pbm_sim_config_init_model(&config, "X", "bogus", &error));
	assert_true(g_error_matches(error, PBM_SIM_ERROR, PBM_SIM_ERROR_UNKNOWN_MODEL));
	assert_non_null(strstr(error->message, "\"bogus\""));
	assert_non_null(strstr(error->message, "standard, low, high"));
	g_clear_error(&error);
	/* names are exact */
	assert_false(pbm_sim_config_init_model(&config, "X", "High", &error));
	assert_false(pbm_sim_config_init_model(&config, "X", "", NULL));
}

/* 20 minutes at 40 mW/cm2 per band (40 %) on the high panel: no derating.
 * Both bands at full output do derate: the model is not simply cold. */
static void
test_high_thermal(void **state)
{
	g_autoptr(PbmSim) usual = sim_of_model("high");
	g_autoptr(PbmSim) full = sim_of_model("high");
	guint16 events;

	light(usual, 400, 400, 3600);
	events = run_fed(usual, S(20 * 60));
	assert_int_equal(events & (PBM_EVENT_DERATE_START | PBM_EVENT_FAULT), 0);
	assert_int_equal(status_of(usual).derate, 1000);
	assert_true(pbm_sim_get_temperature(usual) < 35.0);

	light(full, 1000, 1000, 3600);
	events = run_fed(full, S(20 * 60));
	assert_true(events & PBM_EVENT_DERATE_START);
	assert_int_equal(events & PBM_EVENT_FAULT, 0);
	assert_true(pbm_sim_is_lit(full));
}

/* The low panel at full output stays cool. */
static void
test_low_thermal(void **state)
{
	g_autoptr(PbmSim) sim = sim_of_model("low");
	guint16 events;

	light(sim, 1000, 1000, 3600);
	events = run_fed(sim, S(20 * 60));
	assert_int_equal(events & (PBM_EVENT_DERATE_START | PBM_EVENT_FAULT), 0);
	assert_true(pbm_sim_get_temperature(sim) < 35.0);
}

static void
test_deterministic(void **state)
{
	g_autoptr(PbmSim) a = sim_new();
	g_autoptr(PbmSim) b = sim_new();
	guint8 ra[sizeof(struct pbm_wire_report)], rb[sizeof(ra)];

	for (PbmSim *s = a; s != NULL; s = (s == a ? b : NULL)) {
		light(s, 900, 700, 600);
		run_fed(s, S(30));
		pbm_sim_press_button(s);
		pbm_sim_advance(s, S(5));
	}
	assert_int_equal(pbm_sim_pending_reports(a), pbm_sim_pending_reports(b));
	while (pbm_sim_pop_report(a, ra)) {
		assert_true(pbm_sim_pop_report(b, rb));
		assert_memory_equal(ra, rb, sizeof(ra));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_power_on_dark),
		cmocka_unit_test(test_get_info_and_channels),
		cmocka_unit_test(test_bad_requests_stall),
		cmocka_unit_test(test_measured_temperature),
		cmocka_unit_test(test_measured_fan),
		cmocka_unit_test(test_fan_unmonitored),
		cmocka_unit_test(test_sensor_failure),
		cmocka_unit_test(test_no_light_without_watchdog),
		cmocka_unit_test(test_watchdog_expiry),
		cmocka_unit_test(test_session_cap),
		cmocka_unit_test(test_level_caps),
		cmocka_unit_test(test_ramp),
		cmocka_unit_test(test_all_off),
		cmocka_unit_test(test_thermal_steady_state),
		cmocka_unit_test(test_pulsed_heats_less),
		cmocka_unit_test(test_derating),
		cmocka_unit_test(test_over_temperature_latch),
		cmocka_unit_test(test_fan_stall),
		cmocka_unit_test(test_led_string_fault),
		cmocka_unit_test(test_button),
		cmocka_unit_test(test_report_cadence),
		cmocka_unit_test(test_next_deadline),
		cmocka_unit_test(test_identify),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_set_output_results),
		cmocka_unit_test(test_other_results),
		cmocka_unit_test(test_get_result_requests),
		cmocka_unit_test(test_protocol_1_0),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_models),
		cmocka_unit_test(test_standard_is_default),
		cmocka_unit_test(test_unknown_model),
		cmocka_unit_test(test_high_thermal),
		cmocka_unit_test(test_low_thermal),
	};

	return cmocka_run_group_tests_name("sim", tests, NULL, NULL);
}
