/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-gadget-panel.h"

#include <string.h>

#include "pbm-gadget-errors.h"
#include "pbm-gadget-gpio.h"
#include "pbm-gadget-light.h"
#include "pbm-gadget-outputs.h"
#include "pbm-gadget-thermometer.h"

/* While a ramp runs the outputs follow it at this pace. */
#define PANEL_RAMP_STEP_US (20 * 1000)
/* How often the sensors are read: fast enough for the model's 2 s fan
 * stall rule and its thermal latch. */
#define PANEL_SENSE_PERIOD_US (250 * 1000)
/* A sensor read still under way after this is a sensor that hangs (a
 * DS18B20 at 12 bits takes 750 ms). */
#define PANEL_SENSE_TIMEOUT_US (2 * G_USEC_PER_SEC)

struct _PbmGadgetPanel {
	const PbmGadgetConfig *config;
	PbmClock *clock;
	gint64 epoch; /* the clock's time at the model's time 0 */
	PbmSim *sim;
	PbmGadgetFfs *ffs;
	guint tick;

	PbmGadgetOutputs *outputs;
	PbmGadgetLight shown;
	gboolean shown_valid;
	gboolean output_failed;
	gboolean stopped; /* switched off for good: pbm-gadget is ending */
	PbmGadgetPanelFatalFunc fatal;
	gpointer fatal_data;

	/* NULL while a read runs in a thread, which holds it meanwhile. */
	PbmGadgetThermometer *thermometer;
	gboolean has_thermometer;
	GCancellable *cancellable;
	PbmGadgetTach *tach;
	PbmGadgetOutputLine *fan;
	PbmGadgetButton *button;
	gint64 next_sense;
	gint64 read_started;
	gboolean sensor_failed;
	gboolean fan_on;
};

static void panel_update(PbmGadgetPanel *panel);

static void
catch_up(PbmGadgetPanel *panel)
{
	gint64 now = pbm_clock_now(panel->clock) - panel->epoch;
	guint64 model_now = pbm_sim_now(panel->sim);

	if (now > 0 && (guint64)now > model_now)
		pbm_sim_advance(panel->sim, (guint64)now - model_now);
}

static void
fatal(PbmGadgetPanel *panel, const GError *error)
{
	g_warning("%s; pbm-gadget cannot keep the panel safe and ends", error->message);
	if (panel->fatal != NULL)
		panel->fatal(error, panel->fatal_data);
}

void
pbm_gadget_panel_set_fatal_func(PbmGadgetPanel *panel, PbmGadgetPanelFatalFunc func,
                                gpointer user_data)
{
	panel->fatal = func;
	panel->fatal_data = user_data;
}

static void
sensor_failed(PbmGadgetPanel *panel, gboolean failed, const GError *error)
{
	if (failed == panel->sensor_failed)
		return;
	panel->sensor_failed = failed;
	if (failed)
		g_warning("%s; all outputs off until it reads again and the host clears the fault",
		          error->message);
	else
		g_message("the temperature sensor reads again");
	pbm_sim_set_sensor_failed(panel->sim, failed);
}

static void
take_temperature(PbmGadgetPanel *panel, gboolean read, gdouble celsius, const GError *error)
{
	if (!read) {
		sensor_failed(panel, TRUE, error);
		return;
	}
	pbm_sim_set_measured_temperature(panel->sim, celsius);
	sensor_failed(panel, FALSE, NULL);
}

/* A sensor read can block for most of a second (a 1-Wire DS18B20 takes up
 * to 750 ms): it runs in a thread, so that USB requests are answered
 * meanwhile. The thread holds the thermometer until it is done. */
typedef struct {
	PbmGadgetThermometer *thermometer;
	gdouble celsius;
} TemperatureRead;

static void
temperature_read_free(TemperatureRead *job)
{
	g_clear_pointer(&job->thermometer, pbm_gadget_thermometer_free);
	g_free(job);
}

static void
read_temperature_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	TemperatureRead *job = task_data;
	GError *error = NULL;

	if (!pbm_gadget_thermometer_read(job->thermometer, &job->celsius, &error)) {
		g_task_return_error(task, error);
		return;
	}
	g_task_return_boolean(task, TRUE);
}

static void
on_temperature(GObject *source, GAsyncResult *result, gpointer user_data)
{
	GTask *task = G_TASK(result);
	TemperatureRead *job = g_task_get_task_data(task);
	PbmGadgetPanel *panel = user_data;
	g_autoptr(GError) error = NULL;
	gboolean read;

	/* The panel is gone; the job frees the thermometer. */
	if (g_cancellable_is_cancelled(g_task_get_cancellable(task)))
		return;
	panel->thermometer = g_steal_pointer(&job->thermometer);
	read = g_task_propagate_boolean(task, &error);
	catch_up(panel);
	take_temperature(panel, read, job->celsius, error);
	panel_update(panel);
}

static void
sense_temperature(PbmGadgetPanel *panel)
{
	g_autoptr(GTask) task = NULL;
	TemperatureRead *job;

	if (panel->thermometer == NULL)
		return;
	job = g_new0(TemperatureRead, 1);
	job->thermometer = g_steal_pointer(&panel->thermometer);
	panel->read_started = pbm_clock_now(panel->clock);
	task = g_task_new(NULL, panel->cancellable, on_temperature, panel);
	g_task_set_task_data(task, job, (GDestroyNotify)temperature_read_free);
	g_task_run_in_thread(task, read_temperature_thread);
}

/* The first reading, before a host can ask for light. */
static void
sense_temperature_now(PbmGadgetPanel *panel)
{
	g_autoptr(GError) error = NULL;
	gdouble celsius = 0;
	gboolean read;

	if (panel->thermometer == NULL)
		return;
	read = pbm_gadget_thermometer_read(panel->thermometer, &celsius, &error);
	take_temperature(panel, read, celsius, error);
}

gboolean
pbm_gadget_panel_sensing(PbmGadgetPanel *panel)
{
	return panel->has_thermometer && panel->thermometer == NULL;
}

static void
drive_fan(PbmGadgetPanel *panel)
{
	gboolean on = pbm_sim_fan_commanded(panel->sim);
	g_autoptr(GError) error = NULL;

	if (panel->fan == NULL || on == panel->fan_on)
		return;
	if (!pbm_gadget_output_line_set(panel->fan, on, &error)) {
		g_warning("the fan: %s", error->message);
		return;
	}
	panel->fan_on = on;
}

static void
sense(PbmGadgetPanel *panel)
{
	gint64 now = pbm_clock_now(panel->clock);

	if (panel->tach != NULL)
		pbm_sim_set_measured_fan_rpm(panel->sim, pbm_gadget_tach_rpm(panel->tach, now));
	drive_fan(panel);
	if (now < panel->next_sense)
		return;
	panel->next_sense = now + PANEL_SENSE_PERIOD_US;
	if (pbm_gadget_panel_sensing(panel) && now - panel->read_started > PANEL_SENSE_TIMEOUT_US) {
		g_autoptr(GError) error =
		        g_error_new(PBM_GADGET_ERROR, PBM_GADGET_ERROR_SENSOR,
		                    "%s has not answered for %u s", panel->config->temperature_path,
		                    (guint)(PANEL_SENSE_TIMEOUT_US / G_USEC_PER_SEC));
		sensor_failed(panel, TRUE, error);
	}
	sense_temperature(panel);
}

/* What the LEDs must show: the model's levels after its thermal derating,
 * with its pulse frequency and duty. */
static PbmGadgetLight
light_of_model(PbmGadgetPanel *panel)
{
	PbmStatus s;
	PbmGadgetLight light = { .channel_count = panel->config->model.channel_count };

	pbm_sim_get_status(panel->sim, &s);
	light.pulse_mhz = s.pulse_mhz;
	light.duty = s.duty;
	if (!pbm_sim_is_lit(panel->sim))
		return light;
	for (guint i = 0; i < light.channel_count; i++)
		light.level[i] = (guint16)((guint32)s.level[i] * s.derate / PBM_LEVEL_MAX);
	return light;
}

static gboolean
model_ramping(PbmGadgetPanel *panel)
{
	PbmStatus s;

	pbm_sim_get_status(panel->sim, &s);
	return (s.flags & PBM_STATUS_RAMPING) != 0;
}

static gboolean
light_is_dark(const PbmGadgetLight *light)
{
	for (guint i = 0; i < light->channel_count; i++) {
		if (light->level[i] > 0)
			return FALSE;
	}
	return TRUE;
}

static void
log_light(const PbmGadgetLight *light, gboolean ramping)
{
	g_autoptr(GString) levels = g_string_new(NULL);

	if (light_is_dark(light)) {
		g_message("light off");
		return;
	}
	for (guint i = 0; i < light->channel_count; i++)
		g_string_append_printf(levels, "%s%u", i > 0 ? "," : "", light->level[i]);
	if (light->pulse_mhz == 0)
		g_message("light on: levels %s permille%s, continuous", levels->str,
		          ramping ? " and ramping" : "");
	else
		g_message("light on: levels %s permille%s, pulsed at %.3f Hz, duty %u permille",
		          levels->str, ramping ? " and ramping" : "", light->pulse_mhz / 1000.0,
		          light->duty);
}

/* An output the board cannot drive is a fault of the LED string: the
 * model switches everything off and the host is told. */
static void
output_failed(PbmGadgetPanel *panel, const GError *error)
{
	g_autoptr(GError) off_error = NULL;

	g_warning("%s; all outputs off, reported to the host as an LED string fault",
	          error->message);
	panel->output_failed = TRUE;
	panel->shown_valid = FALSE;
	/* Every channel: whichever is lit now or later, the fault latches. */
	for (guint i = 0; i < panel->config->model.channel_count; i++)
		pbm_sim_set_led_string_fault(panel->sim, i, TRUE);
	if (!pbm_gadget_outputs_off(panel->outputs, &off_error))
		fatal(panel, off_error);
}

static void
drive_outputs(PbmGadgetPanel *panel)
{
	PbmGadgetLight light = light_of_model(panel);
	g_autoptr(GError) error = NULL;

	/* The backend switched everything off when it failed; until a restart
	 * the board is not trusted with light again. */
	if (panel->output_failed || panel->stopped)
		return;
	if (panel->shown_valid && memcmp(&light, &panel->shown, sizeof(light)) == 0)
		return;
	if (!pbm_gadget_outputs_apply(panel->outputs, &light, &error)) {
		output_failed(panel, error);
		return;
	}
	if (!panel->shown_valid || light_is_dark(&light) != light_is_dark(&panel->shown))
		log_light(&light, model_ramping(panel));
	panel->shown = light;
	panel->shown_valid = TRUE;
}

static void
pump_reports(PbmGadgetPanel *panel)
{
	guint8 report[sizeof(struct pbm_wire_report)];

	while (pbm_sim_pop_report(panel->sim, report)) {
		if (panel->ffs != NULL)
			pbm_gadget_ffs_send(panel->ffs, report, sizeof(report));
	}
}

static gboolean
on_tick(gpointer user_data)
{
	PbmGadgetPanel *panel = user_data;

	panel->tick = 0;
	panel_update(panel);
	return G_SOURCE_REMOVE;
}

static void
schedule(PbmGadgetPanel *panel)
{
	gint64 next = panel->epoch + (gint64)pbm_sim_next_deadline(panel->sim);

	if (model_ramping(panel))
		next = MIN(next, pbm_clock_now(panel->clock) + PANEL_RAMP_STEP_US);
	if (panel->has_thermometer || panel->tach != NULL)
		next = MIN(next, panel->next_sense);
	pbm_clock_clear(panel->clock, &panel->tick);
	panel->tick = pbm_clock_add_deadline(panel->clock, next, on_tick, panel, NULL);
}

static void
panel_update(PbmGadgetPanel *panel)
{
	catch_up(panel);
	sense(panel);
	drive_outputs(panel);
	pump_reports(panel);
	schedule(panel);
}

/* ---- USB ---- */

static gboolean
on_control(const struct pbm_wire_setup *setup, guint8 *data, gsize *actual, gpointer user_data)
{
	PbmGadgetPanel *panel = user_data;
	g_autoptr(GError) error = NULL;
	gboolean ok;

	catch_up(panel);
	ok = pbm_sim_control(panel->sim, setup, data, actual, &error);
	if (!ok)
		g_debug("request 0x%02x (%s) refused: %s", setup->request,
		        pbm_request_to_string(setup->request), error->message);
	panel_update(panel);
	return ok;
}

static const gchar *
link_name(PbmGadgetLink link)
{
	switch (link) {
	case PBM_GADGET_LINK_UP:
		return "configured by the host";
	case PBM_GADGET_LINK_SUSPENDED:
		return "suspended by the host";
	case PBM_GADGET_LINK_DOWN:
	default:
		return "disconnected";
	}
}

/* Without a host that is awake, nothing may stay lit: the firmware does
 * what ALL_OFF does, and keeps its fault latches. */
static void
on_link_changed(PbmGadgetLink link, gpointer user_data)
{
	PbmGadgetPanel *panel = user_data;
	struct pbm_wire_setup all_off = { .request_type = PBM_REQTYPE_OUT,
		                          .request = PBM_REQ_ALL_OFF,
		                          .index = PBM_USB_INTERFACE };
	gsize actual = 0;

	g_message("USB: %s", link_name(link));
	catch_up(panel);
	if (link != PBM_GADGET_LINK_UP)
		(void)pbm_sim_control(panel->sim, &all_off, NULL, &actual, NULL);
	panel_update(panel);
}

static const PbmGadgetFfsHandlers usb_handlers = {
	.control = on_control,
	.link_changed = on_link_changed,
};

const PbmGadgetFfsHandlers *
pbm_gadget_panel_usb_handlers(void)
{
	return &usb_handlers;
}

void
pbm_gadget_panel_set_usb(PbmGadgetPanel *panel, PbmGadgetFfs *ffs)
{
	panel->ffs = ffs;
}

/* ---- lifecycle ---- */

static void
on_button(gboolean lost, gpointer user_data)
{
	PbmGadgetPanel *panel = user_data;

	if (!lost)
		g_message("stop button pressed: all outputs off");
	catch_up(panel);
	pbm_sim_press_button(panel->sim);
	panel_update(panel);
	if (lost) {
		g_autoptr(GError) error =
		        g_error_new(PBM_GADGET_ERROR, PBM_GADGET_ERROR_SENSOR,
		                    "the stop button's line %u of %s cannot be watched any more",
		                    panel->config->button.line, panel->config->button.chip);
		/* Dark for good; whatever this says, the unit's ExecStopPost=
		 * switches off again. */
		(void)pbm_gadget_panel_off(panel, NULL);
		fatal(panel, error);
	}
}

static gboolean
open_sensors(PbmGadgetPanel *panel, GError **error)
{
	const PbmGadgetConfig *c = panel->config;

	if (c->thermometer == PBM_GADGET_THERMOMETER_FILE) {
		panel->thermometer = pbm_gadget_thermometer_new(c->temperature_path, error);
		if (panel->thermometer == NULL)
			return FALSE;
		panel->has_thermometer = TRUE;
	}
	if (pbm_gadget_gpio_line_used(&c->fan_tach)) {
		panel->tach = pbm_gadget_tach_new(&c->fan_tach, c->fan_pulses_per_rev, error);
		if (panel->tach == NULL)
			return FALSE;
	} else if (c->outputs == PBM_GADGET_OUTPUTS_PWM) {
		/* Real LEDs and no tachometer: report no fan speed rather
		 * than the model's ideal fan. */
		pbm_sim_set_fan_unmonitored(panel->sim);
	}
	if (pbm_gadget_gpio_line_used(&c->fan_enable)) {
		panel->fan = pbm_gadget_output_line_new(&c->fan_enable, error);
		if (panel->fan == NULL)
			return FALSE;
	}
	if (pbm_gadget_gpio_line_used(&c->button)) {
		panel->button = pbm_gadget_button_new(&c->button, on_button, panel, error);
		if (panel->button == NULL)
			return FALSE;
	}
	return TRUE;
}

PbmGadgetPanel *
pbm_gadget_panel_new(const PbmGadgetConfig *config, PbmClock *clock, GError **error)
{
	g_autoptr(PbmGadgetPanel) panel = g_new0(PbmGadgetPanel, 1);

	panel->config = config;
	panel->clock = g_object_ref(clock);
	panel->cancellable = g_cancellable_new();
	panel->epoch = pbm_clock_now(clock);
	panel->outputs = pbm_gadget_outputs_new(config, error);
	if (panel->outputs == NULL)
		return NULL;
	panel->sim = pbm_sim_new(&config->model, error);
	if (panel->sim == NULL || !open_sensors(panel, error))
		return NULL;
	sense_temperature_now(panel);
	panel_update(panel);
	return g_steal_pointer(&panel);
}

gboolean
pbm_gadget_panel_off(PbmGadgetPanel *panel, GError **error)
{
	panel->stopped = TRUE;
	pbm_clock_clear(panel->clock, &panel->tick);
	return pbm_gadget_outputs_off(panel->outputs, error);
}

void
pbm_gadget_panel_free(PbmGadgetPanel *panel)
{
	if (panel == NULL)
		return;
	if (panel->clock != NULL)
		pbm_clock_clear(panel->clock, &panel->tick);
	if (panel->cancellable != NULL)
		g_cancellable_cancel(panel->cancellable);
	g_clear_object(&panel->cancellable);
	g_clear_pointer(&panel->outputs, pbm_gadget_outputs_free);
	g_clear_pointer(&panel->button, pbm_gadget_button_free);
	g_clear_pointer(&panel->fan, pbm_gadget_output_line_free);
	g_clear_pointer(&panel->tach, pbm_gadget_tach_free);
	g_clear_pointer(&panel->thermometer, pbm_gadget_thermometer_free);
	g_clear_pointer(&panel->sim, pbm_sim_free);
	g_clear_object(&panel->clock);
	g_free(panel);
}
