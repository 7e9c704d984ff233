/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-gadget-outputs.h"

#include "pbm-gadget-pwm.h"

/* The name is the error domain's string at run time; clang-format would
 * read it as a subtraction and space it out. */
/* clang-format off */
G_DEFINE_QUARK(pbm-gadget-outputs-error-quark, pbm_gadget_outputs_error)
/* clang-format on */

#define NSEC_PER_SEC G_GUINT64_CONSTANT(1000000000)
#define MILLIHERTZ_PER_HZ 1000
#define PERMILLE 1000

struct _PbmGadgetOutputs {
	PbmGadgetOutputsKind kind;
	guint channel_count;
	guint64 carrier_period_ns;
	gchar *state_file;
	gchar *shown; /* the state file's line as last written */
	PbmGadgetPwm *pwm[PBM_MAX_CHANNELS];
};

/* ---- the light ---- */

static gboolean
check_light(const PbmGadgetLight *light, guint channel_count, GError **error)
{
	if (light->channel_count != channel_count) {
		g_set_error(error, PBM_GADGET_OUTPUTS_ERROR, PBM_GADGET_OUTPUTS_ERROR_LIGHT,
		            "a light for %u channels cannot be shown on %u configured channels",
		            light->channel_count, channel_count);
		return FALSE;
	}
	for (guint i = 0; i < channel_count; i++) {
		if (light->level[i] > PBM_LEVEL_MAX) {
			g_set_error(error, PBM_GADGET_OUTPUTS_ERROR, PBM_GADGET_OUTPUTS_ERROR_LIGHT,
			            "channel %u: level %u permille is above the maximum of %u",
			            i + 1, (guint)light->level[i], (guint)PBM_LEVEL_MAX);
			return FALSE;
		}
	}
	if (light->pulse_mhz != 0 &&
	    (light->pulse_mhz < PBM_PULSE_MIN_MHZ || light->pulse_mhz > PBM_PULSE_MAX_MHZ)) {
		g_set_error(error, PBM_GADGET_OUTPUTS_ERROR, PBM_GADGET_OUTPUTS_ERROR_LIGHT,
		            "a pulse frequency of %u mHz is outside %u to %u mHz", light->pulse_mhz,
		            PBM_PULSE_MIN_MHZ, PBM_PULSE_MAX_MHZ);
		return FALSE;
	}
	if (light->pulse_mhz != 0 && light->duty > PBM_DUTY_MAX) {
		g_set_error(error, PBM_GADGET_OUTPUTS_ERROR, PBM_GADGET_OUTPUTS_ERROR_LIGHT,
		            "a pulse duty of %u permille is above the maximum of %u",
		            (guint)light->duty, (guint)PBM_DUTY_MAX);
		return FALSE;
	}
	return TRUE;
}

static gboolean
light_is_lit(const PbmGadgetLight *light)
{
	if (light->pulse_mhz != 0 && light->duty == 0)
		return FALSE;
	for (guint i = 0; i < light->channel_count; i++) {
		if (light->level[i] > 0)
			return TRUE;
	}
	return FALSE;
}

static PbmGadgetLight
dark_light(guint channel_count)
{
	return (PbmGadgetLight){ .channel_count = channel_count };
}

/* Continuous light: the carrier with the level as duty cycle. Pulsed: one
 * period a pulse, level x duty of it lit. Rounded down, never brighter. */
static void
channel_timing(const PbmGadgetOutputs *outputs, const PbmGadgetLight *light, guint channel,
               guint64 *period_ns, guint64 *duty_ns)
{
	guint64 level = light->level[channel];

	if (light->pulse_mhz == 0) {
		*period_ns = outputs->carrier_period_ns;
		*duty_ns = *period_ns * level / PERMILLE;
		return;
	}
	*period_ns = NSEC_PER_SEC * MILLIHERTZ_PER_HZ / light->pulse_mhz;
	*duty_ns = *period_ns * level * light->duty / (PERMILLE * PERMILLE);
}

/* ---- the none backend's state file ---- */

static gchar *
state_line(const PbmGadgetLight *light)
{
	GString *line = g_string_new(NULL);

	g_string_append_printf(
	        line, "lit=%d pulse_mhz=%u duty=%u level=", light_is_lit(light) ? 1 : 0,
	        light->pulse_mhz, light->pulse_mhz != 0 ? (guint)light->duty : (guint)PBM_DUTY_MAX);
	for (guint i = 0; i < light->channel_count; i++)
		g_string_append_printf(line, "%s%u", i > 0 ? "," : "", light->level[i]);
	g_string_append_c(line, '\n');
	return g_string_free(line, FALSE);
}

/* g_file_set_contents() writes a temporary file and renames it over the
 * state file: a reader sees the old line or the new one, never half. */
static gboolean
write_state_file(const gchar *path, const gchar *line, GError **error)
{
	g_autoptr(GError) local = NULL;

	if (!g_file_set_contents(path, line, -1, &local)) {
		g_set_error(error, PBM_GADGET_OUTPUTS_ERROR, PBM_GADGET_OUTPUTS_ERROR_STATE_FILE,
		            "cannot write the state file: %s; check outputs.state_file in the "
		            "configuration and that its directory is writable",
		            local->message);
		return FALSE;
	}
	return TRUE;
}

static gboolean
show_state(PbmGadgetOutputs *outputs, const PbmGadgetLight *light, GError **error)
{
	g_autofree gchar *line = NULL;

	if (outputs->state_file == NULL)
		return TRUE;
	line = state_line(light);
	if (g_strcmp0(line, outputs->shown) == 0)
		return TRUE;
	g_clear_pointer(&outputs->shown, g_free);
	if (!write_state_file(outputs->state_file, line, error))
		return FALSE;
	outputs->shown = g_steal_pointer(&line);
	return TRUE;
}

/* ---- switching off ---- */

static void
keep_first_error(GError **first, GError *error)
{
	if (*first == NULL)
		*first = error;
	else
		g_error_free(error);
}

gboolean
pbm_gadget_outputs_off(PbmGadgetOutputs *outputs, GError **error)
{
	GError *first = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	for (guint i = 0; i < outputs->channel_count; i++) {
		GError *local = NULL;
		if (outputs->pwm[i] != NULL && !pbm_gadget_pwm_set_dark(outputs->pwm[i], &local))
			keep_first_error(&first, local);
	}
	if (outputs->kind == PBM_GADGET_OUTPUTS_NONE) {
		PbmGadgetLight dark = dark_light(outputs->channel_count);
		GError *local = NULL;
		if (!show_state(outputs, &dark, &local))
			keep_first_error(&first, local);
	}
	if (first != NULL) {
		g_propagate_error(error, first);
		return FALSE;
	}
	return TRUE;
}

/* After a failure: everything off, and the error says so. */
static gboolean
fail_dark(PbmGadgetOutputs *outputs, GError *cause, GError **error)
{
	g_autoptr(GError) off_error = NULL;

	if (pbm_gadget_outputs_off(outputs, &off_error))
		g_prefix_error(&cause, "every output was switched off: ");
	else
		g_prefix_error(&cause,
		               "switching every output off failed too (%s): ", off_error->message);
	g_propagate_error(error, cause);
	return FALSE;
}

/* ---- showing light ---- */

static gboolean
apply_pwm(PbmGadgetOutputs *outputs, const PbmGadgetLight *light, GError **error)
{
	for (guint i = 0; i < outputs->channel_count; i++) {
		guint64 period, duty;
		channel_timing(outputs, light, i, &period, &duty);
		if (!pbm_gadget_pwm_set(outputs->pwm[i], period, duty, error))
			return FALSE;
	}
	return TRUE;
}

gboolean
pbm_gadget_outputs_apply(PbmGadgetOutputs *outputs, const PbmGadgetLight *light, GError **error)
{
	GError *local = NULL;
	gboolean ok;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!check_light(light, outputs->channel_count, &local))
		return fail_dark(outputs, local, error);
	if (outputs->kind == PBM_GADGET_OUTPUTS_PWM)
		ok = apply_pwm(outputs, light, &local);
	else
		ok = show_state(outputs, light, &local);
	if (!ok)
		return fail_dark(outputs, local, error);
	return TRUE;
}

/* ---- opening ---- */

static gboolean
check_config(const PbmGadgetConfig *config, GError **error)
{
	if (config->model.channel_count == 0 || config->model.channel_count > PBM_MAX_CHANNELS) {
		g_set_error(error, PBM_GADGET_OUTPUTS_ERROR, PBM_GADGET_OUTPUTS_ERROR_CONFIG,
		            "%s: %u channels; a panel has 1 to %u", config->path,
		            config->model.channel_count, (guint)PBM_MAX_CHANNELS);
		return FALSE;
	}
	if (config->outputs == PBM_GADGET_OUTPUTS_PWM &&
	    (config->carrier_hz == 0 || config->carrier_hz > NSEC_PER_SEC)) {
		g_set_error(error, PBM_GADGET_OUTPUTS_ERROR, PBM_GADGET_OUTPUTS_ERROR_CONFIG,
		            "%s: a PWM carrier of %u Hz has no period in whole nanoseconds",
		            config->path, config->carrier_hz);
		return FALSE;
	}
	return TRUE;
}

static guint64
carrier_period_ns(const PbmGadgetConfig *config)
{
	return NSEC_PER_SEC / config->carrier_hz;
}

PbmGadgetOutputs *
pbm_gadget_outputs_new(const PbmGadgetConfig *config, GError **error)
{
	g_autoptr(PbmGadgetOutputs) outputs = NULL;
	PbmGadgetLight dark;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!check_config(config, error))
		return NULL;
	outputs = g_new0(PbmGadgetOutputs, 1);
	outputs->kind = config->outputs;
	outputs->channel_count = config->model.channel_count;
	outputs->state_file = g_strdup(config->state_file);
	if (outputs->kind == PBM_GADGET_OUTPUTS_NONE) {
		dark = dark_light(outputs->channel_count);
		if (!show_state(outputs, &dark, error))
			return NULL;
		return g_steal_pointer(&outputs);
	}
	outputs->carrier_period_ns = carrier_period_ns(config);
	for (guint i = 0; i < outputs->channel_count; i++) {
		outputs->pwm[i] =
		        pbm_gadget_pwm_open(&config->pwm[i], outputs->carrier_period_ns, error);
		if (outputs->pwm[i] == NULL) {
			g_prefix_error(error, "channel %u: ", i + 1);
			return NULL;
		}
	}
	return g_steal_pointer(&outputs);
}

void
pbm_gadget_outputs_free(PbmGadgetOutputs *outputs)
{
	g_autoptr(GError) error = NULL;

	if (outputs == NULL)
		return;
	if (!pbm_gadget_outputs_off(outputs, &error))
		g_warning("cannot switch the outputs off: %s", error->message);
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++)
		pbm_gadget_pwm_free(outputs->pwm[i]);
	g_free(outputs->state_file);
	g_free(outputs->shown);
	g_free(outputs);
}

gboolean
pbm_gadget_outputs_all_off(const PbmGadgetConfig *config, GError **error)
{
	GError *first = NULL;
	g_autofree gchar *line = NULL;
	PbmGadgetLight dark;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!check_config(config, error))
		return FALSE;
	if (config->outputs == PBM_GADGET_OUTPUTS_NONE) {
		if (config->state_file == NULL)
			return TRUE;
		dark = dark_light(config->model.channel_count);
		line = state_line(&dark);
		return write_state_file(config->state_file, line, error);
	}
	for (guint i = 0; i < config->model.channel_count; i++) {
		GError *local = NULL;
		if (!pbm_gadget_pwm_switch_off(&config->pwm[i], carrier_period_ns(config),
		                               &local)) {
			g_prefix_error(&local, "channel %u: ", i + 1);
			keep_first_error(&first, local);
		}
	}
	if (first != NULL) {
		g_propagate_error(error, first);
		return FALSE;
	}
	return TRUE;
}
