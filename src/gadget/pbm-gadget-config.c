/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "pbm-conf-file.h"
#include "pbm-gadget-config.h"

static const gchar *const top_keys[] = { "usb",         "panel", "channels", "outputs",
	                                 "temperature", "fan",   "button",   NULL };
static const gchar *const usb_keys[] = { "product_id", "manufacturer", "product", "udc", NULL };
static const gchar *const panel_keys[] = { "serial",   "model", "max_session_s",
	                                   "derate_c", "max_c", NULL };
static const gchar *const channel_keys[] = { "band", "wavelength_nm", "max_level",
	                                     "pwm",  "calibration",   NULL };
static const gchar *const point_keys[] = { "distance_cm", "irradiance", NULL };
static const gchar *const pwm_keys[] = { "chip", "channel", NULL };
static const gchar *const outputs_keys[] = { "backend", "carrier_hz", "state_file", NULL };
static const gchar *const temperature_keys[] = { "backend", "path", NULL };
static const gchar *const fan_keys[] = { "tach", "pulses_per_rev", "enable", NULL };
static const gchar *const line_keys[] = { "chip", "line", "active_low", NULL };

/* Protocol limits of the panel this board claims to be. */
#define GADGET_SESSION_MIN_S 60
#define GADGET_TEMP_MIN_C 20.0
#define GADGET_TEMP_MAX_C 120.0
#define GADGET_CARRIER_MIN_HZ 100
#define GADGET_CARRIER_MAX_HZ 100000
#define GADGET_GPIO_LINE_MAX 4095
#define GADGET_USB_STRING_MAX 126 /* a USB string descriptor holds 126 UTF-16 units */

void
pbm_gadget_config_free(PbmGadgetConfig *config)
{
	if (config == NULL)
		return;
	g_free(config->path);
	g_free(config->manufacturer);
	g_free(config->product);
	g_free(config->udc);
	g_free(config->state_file);
	g_free(config->temperature_path);
	g_free(config);
}

/* A group, checked for unknown keys. *out is NULL when it is absent and
 * not required. */
static gboolean
get_group(PbmConfFile *cfg, config_setting_t *parent, const gchar *key, gboolean required,
          const gchar *const *keys, config_setting_t **out, GError **error)
{
	config_setting_t *s = config_setting_get_member(parent, key);

	*out = NULL;
	if (s == NULL) {
		if (!required)
			return TRUE;
		pbm_conf_file_error(cfg, parent, key, PBM_CONFIG_ERROR_MISSING, error,
		                    "missing; add a %s = { ... }; group", key);
		return FALSE;
	}
	if (!config_setting_is_group(s)) {
		pbm_conf_file_error(cfg, s, key, PBM_CONFIG_ERROR_TYPE, error,
		                    "must be a group: %s = { ... };", key);
		return FALSE;
	}
	if (!pbm_conf_file_check_keys(cfg, s, keys, error))
		return FALSE;
	*out = s;
	return TRUE;
}

static gboolean
read_usb(PbmConfFile *cfg, config_setting_t *root, PbmGadgetConfig *c, GError **error)
{
	config_setting_t *usb = NULL;
	gint64 pid = PBM_USB_PID;

	c->manufacturer = g_strdup("pbmd");
	c->product_id = PBM_USB_PID;
	if (!get_group(cfg, root, "usb", FALSE, usb_keys, &usb, error))
		return FALSE;
	if (usb == NULL)
		return TRUE;
	return pbm_conf_file_get_int(cfg, usb, "product_id", FALSE, 1, 0xffff, &pid, NULL, error) &&
	       (c->product_id = (guint16)pid, TRUE) &&
	       pbm_conf_file_get_string(cfg, usb, "manufacturer", FALSE, GADGET_USB_STRING_MAX,
	                                &c->manufacturer, NULL, error) &&
	       pbm_conf_file_get_string(cfg, usb, "product", FALSE, GADGET_USB_STRING_MAX,
	                                &c->product, NULL, error) &&
	       pbm_conf_file_get_string(cfg, usb, "udc", FALSE, 64, &c->udc, NULL, error);
}

static gboolean
serial_is_valid(const gchar *serial)
{
	if (*serial == '\0')
		return FALSE;
	for (const gchar *p = serial; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-')
			return FALSE;
	}
	return TRUE;
}

static gboolean
read_panel_strings(PbmConfFile *cfg, config_setting_t *panel, PbmSimConfig *m, GError **error)
{
	g_autofree gchar *serial = NULL;
	g_autofree gchar *model = NULL;

	if (!pbm_conf_file_get_string(cfg, panel, "serial", TRUE, PBM_STRING_SERIAL_LEN, &serial,
	                              NULL, error) ||
	    !pbm_conf_file_get_string(cfg, panel, "model", TRUE, PBM_STRING_MODEL_LEN, &model, NULL,
	                              error))
		return FALSE;
	if (!serial_is_valid(serial)) {
		pbm_conf_file_error(cfg, config_setting_get_member(panel, "serial"), "serial",
		                    PBM_CONFIG_ERROR_RANGE, error,
		                    "\"%s\": use letters, digits, '_' and '-' only", serial);
		return FALSE;
	}
	for (const gchar *p = model; *p != '\0'; p++) {
		if (!g_ascii_isprint(*p)) {
			pbm_conf_file_error(
			        cfg, config_setting_get_member(panel, "model"), "model",
			        PBM_CONFIG_ERROR_RANGE, error,
			        "use printable ASCII only (the protocol carries no more)");
			return FALSE;
		}
	}
	g_strlcpy(m->serial, serial, sizeof(m->serial));
	g_strlcpy(m->model, model, sizeof(m->model));
	return TRUE;
}

static gboolean
read_panel(PbmConfFile *cfg, config_setting_t *root, PbmSimConfig *m, GError **error)
{
	config_setting_t *panel = NULL;
	gint64 session_s = m->max_session_s;
	gdouble derate_c = 45.0, max_c = 60.0;

	if (!get_group(cfg, root, "panel", TRUE, panel_keys, &panel, error) ||
	    !read_panel_strings(cfg, panel, m, error) ||
	    !pbm_conf_file_get_int(cfg, panel, "max_session_s", FALSE, GADGET_SESSION_MIN_S,
	                           PBM_SESSION_CAP_MAX_S, &session_s, NULL, error) ||
	    !pbm_conf_file_get_double(cfg, panel, "derate_c", FALSE, GADGET_TEMP_MIN_C,
	                              GADGET_TEMP_MAX_C, "deg C", &derate_c, NULL, error) ||
	    !pbm_conf_file_get_double(cfg, panel, "max_c", FALSE, GADGET_TEMP_MIN_C,
	                              GADGET_TEMP_MAX_C, "deg C", &max_c, NULL, error))
		return FALSE;
	if (max_c < derate_c + 1.0) {
		pbm_conf_file_error(cfg, panel, "max_c", PBM_CONFIG_ERROR_INVALID, error,
		                    "%.1f C must be at least 1 C above derate_c (%.1f C): derating "
		                    "needs room before the over-temperature latch",
		                    max_c, derate_c);
		return FALSE;
	}
	m->max_session_s = (guint16)session_s;
	m->t_derate_dc = (gint16)(derate_c * 10.0);
	m->t_max_dc = (gint16)(max_c * 10.0);
	g_strlcpy(m->firmware, "pbm-gadget-" PACKAGE_VERSION, sizeof(m->firmware));
	return TRUE;
}

static gboolean
read_point(PbmConfFile *cfg, config_setting_t *s, guint i, PbmCalPoint *prev, PbmCalPoint *out,
           GError **error)
{
	gdouble distance_cm = 0, irradiance = 0;

	if (!config_setting_is_group(s)) {
		pbm_conf_file_error(cfg, s, "calibration", PBM_CONFIG_ERROR_TYPE, error,
		                    "point %u must be a group: { distance_cm = 15.0; irradiance = "
		                    "36.0; }",
		                    i + 1);
		return FALSE;
	}
	if (!pbm_conf_file_check_keys(cfg, s, point_keys, error) ||
	    !pbm_conf_file_get_double(cfg, s, "distance_cm", TRUE, 0.1, 6553.5, "cm", &distance_cm,
	                              NULL, error) ||
	    !pbm_conf_file_get_double(cfg, s, "irradiance", TRUE, 0.01, 655.35, "mW/cm2",
	                              &irradiance, NULL, error))
		return FALSE;
	out->distance_mm = (guint16)(distance_cm * 10.0 + 0.5);
	out->irradiance_cmw = (guint16)(irradiance * 100.0 + 0.5);
	if (prev != NULL && out->distance_mm <= prev->distance_mm) {
		pbm_conf_file_error(cfg, s, "distance_cm", PBM_CONFIG_ERROR_INVALID, error,
		                    "%.1f cm: list the points by increasing distance", distance_cm);
		return FALSE;
	}
	return TRUE;
}

static gboolean
read_calibration(PbmConfFile *cfg, config_setting_t *ch, PbmChannel *out, GError **error)
{
	config_setting_t *list = config_setting_get_member(ch, "calibration");
	gint n;

	if (list == NULL || !config_setting_is_list(list)) {
		pbm_conf_file_error(
		        cfg, list != NULL ? list : ch, "calibration",
		        list == NULL ? PBM_CONFIG_ERROR_MISSING : PBM_CONFIG_ERROR_TYPE, error,
		        "needs a list of measured points: calibration = ( { distance_cm "
		        "= 15.0; irradiance = 36.0; }, ... ); (pbm-gadget.conf(5) says how "
		        "to measure them)");
		return FALSE;
	}
	n = config_setting_length(list);
	if (n < 1 || n > PBM_CAL_POINTS_MAX) {
		pbm_conf_file_error(cfg, list, "calibration", PBM_CONFIG_ERROR_RANGE, error,
		                    "%d points; give 1 to %d", n, PBM_CAL_POINTS_MAX);
		return FALSE;
	}
	for (gint i = 0; i < n; i++) {
		if (!read_point(cfg, config_setting_get_elem(list, (guint)i), (guint)i,
		                i > 0 ? &out->points[i - 1] : NULL, &out->points[i], error))
			return FALSE;
	}
	out->point_count = (guint8)n;
	return TRUE;
}

static gboolean
read_band(PbmConfFile *cfg, config_setting_t *ch, PbmChannel *out, GError **error)
{
	g_autofree gchar *band = NULL;

	if (!pbm_conf_file_get_string(cfg, ch, "band", TRUE, 8, &band, NULL, error))
		return FALSE;
	if (g_strcmp0(band, "red") == 0) {
		out->band = PBM_BAND_RED;
		return TRUE;
	}
	if (g_strcmp0(band, "nir") == 0) {
		out->band = PBM_BAND_NIR;
		return TRUE;
	}
	pbm_conf_file_error(cfg, config_setting_get_member(ch, "band"), "band",
	                    PBM_CONFIG_ERROR_RANGE, error, "\"%s\": use \"red\" or \"nir\"", band);
	return FALSE;
}

/* The protocol's split (pbmd-protocol(7)): red is visible and under the
 * flicker rules, NIR is not and under the eye rules. */
static gboolean
check_band(PbmConfFile *cfg, config_setting_t *ch, const PbmChannel *out, GError **error)
{
	gboolean red = out->band == PBM_BAND_RED;
	guint lo = red ? PBM_WAVELENGTH_MIN_NM : 700, hi = red ? 699 : PBM_WAVELENGTH_MAX_NM;

	if (out->wavelength_nm >= lo && out->wavelength_nm <= hi)
		return TRUE;
	pbm_conf_file_error(cfg, config_setting_get_member(ch, "wavelength_nm"), "wavelength_nm",
	                    PBM_CONFIG_ERROR_INVALID, error,
	                    "%u nm is not %s light (%u..%u nm); fix the band or the wavelength",
	                    out->wavelength_nm, red ? "red" : "NIR", lo, hi);
	return FALSE;
}

static gboolean
read_pwm(PbmConfFile *cfg, config_setting_t *ch, gboolean required, PbmGadgetPwmOutput *out,
         GError **error)
{
	config_setting_t *pwm = NULL;
	g_autofree gchar *chip = NULL;
	gint64 channel = 0;

	if (!get_group(cfg, ch, "pwm", required, pwm_keys, &pwm, error))
		return FALSE;
	if (pwm == NULL)
		return TRUE;
	if (!pbm_conf_file_get_string(cfg, pwm, "chip", TRUE, sizeof(out->chip) - 1, &chip, NULL,
	                              error) ||
	    !pbm_conf_file_get_int(cfg, pwm, "channel", TRUE, 0, 1023, &channel, NULL, error))
		return FALSE;
	if (!g_str_has_prefix(chip, "pwmchip") || strchr(chip, '/') != NULL) {
		pbm_conf_file_error(
		        cfg, config_setting_get_member(pwm, "chip"), "chip", PBM_CONFIG_ERROR_RANGE,
		        error, "\"%s\": name a chip of /sys/class/pwm, such as \"pwmchip0\"", chip);
		return FALSE;
	}
	g_strlcpy(out->chip, chip, sizeof(out->chip));
	out->channel = (guint)channel;
	return TRUE;
}

static gboolean
read_channel(PbmConfFile *cfg, config_setting_t *ch, guint i, PbmGadgetConfig *c, GError **error)
{
	PbmChannel *out = &c->model.channels[i];
	gint64 wavelength = 0, max_level = PBM_LEVEL_MAX;
	g_autoptr(GError) invalid = NULL;

	if (!config_setting_is_group(ch)) {
		pbm_conf_file_error(cfg, ch, "channels", PBM_CONFIG_ERROR_TYPE, error,
		                    "channel %u must be a group { band = ...; ... }", i + 1);
		return FALSE;
	}
	memset(out, 0, sizeof(*out));
	out->index = (guint8)i;
	if (!pbm_conf_file_check_keys(cfg, ch, channel_keys, error) ||
	    !read_band(cfg, ch, out, error) ||
	    !pbm_conf_file_get_int(cfg, ch, "wavelength_nm", TRUE, PBM_WAVELENGTH_MIN_NM,
	                           PBM_WAVELENGTH_MAX_NM, &wavelength, NULL, error) ||
	    !pbm_conf_file_get_int(cfg, ch, "max_level", FALSE, 1, PBM_LEVEL_MAX, &max_level, NULL,
	                           error) ||
	    !read_calibration(cfg, ch, out, error) ||
	    !read_pwm(cfg, ch, c->outputs == PBM_GADGET_OUTPUTS_PWM, &c->pwm[i], error))
		return FALSE;
	out->wavelength_nm = (guint16)wavelength;
	out->max_level = (guint16)max_level;
	if (!check_band(cfg, ch, out, error))
		return FALSE;
	/* The protocol's own rules (band against wavelength, calibration). */
	if (!pbm_channel_validate(out, i, &invalid)) {
		pbm_conf_file_error(cfg, ch, "channels", PBM_CONFIG_ERROR_INVALID, error,
		                    "channel %u: %s", i + 1, invalid->message);
		return FALSE;
	}
	return TRUE;
}

static gboolean
read_channels(PbmConfFile *cfg, config_setting_t *root, PbmGadgetConfig *c, GError **error)
{
	config_setting_t *list = config_setting_get_member(root, "channels");
	gint n;

	if (list == NULL || !config_setting_is_list(list)) {
		pbm_conf_file_error(cfg, list != NULL ? list : root, "channels",
		                    list == NULL ? PBM_CONFIG_ERROR_MISSING : PBM_CONFIG_ERROR_TYPE,
		                    error, "needs a list: channels = ( { band = \"red\"; ... } );");
		return FALSE;
	}
	n = config_setting_length(list);
	if (n < 1 || n > PBM_MAX_CHANNELS) {
		pbm_conf_file_error(cfg, list, "channels", PBM_CONFIG_ERROR_RANGE, error,
		                    "%d channels; give 1 to %d", n, PBM_MAX_CHANNELS);
		return FALSE;
	}
	for (gint i = 0; i < n; i++) {
		if (!read_channel(cfg, config_setting_get_elem(list, (guint)i), (guint)i, c, error))
			return FALSE;
	}
	c->model.channel_count = (guint)n;
	return TRUE;
}

static gboolean
read_outputs(PbmConfFile *cfg, config_setting_t *root, PbmGadgetConfig *c, GError **error)
{
	config_setting_t *outputs = NULL;
	g_autofree gchar *backend = NULL;
	gint64 carrier = 1000;

	if (!get_group(cfg, root, "outputs", TRUE, outputs_keys, &outputs, error) ||
	    !pbm_conf_file_get_string(cfg, outputs, "backend", TRUE, 16, &backend, NULL, error) ||
	    !pbm_conf_file_get_int(cfg, outputs, "carrier_hz", FALSE, GADGET_CARRIER_MIN_HZ,
	                           GADGET_CARRIER_MAX_HZ, &carrier, NULL, error) ||
	    !pbm_conf_file_get_string(cfg, outputs, "state_file", FALSE, 4096, &c->state_file, NULL,
	                              error))
		return FALSE;
	c->carrier_hz = (guint)carrier;
	if (g_strcmp0(backend, "pwm") == 0)
		c->outputs = PBM_GADGET_OUTPUTS_PWM;
	else if (g_strcmp0(backend, "none") == 0)
		c->outputs = PBM_GADGET_OUTPUTS_NONE;
	else {
		pbm_conf_file_error(cfg, config_setting_get_member(outputs, "backend"), "backend",
		                    PBM_CONFIG_ERROR_RANGE, error,
		                    "\"%s\": use \"pwm\" (Linux PWM outputs) or \"none\" (drives "
		                    "nothing, for tests)",
		                    backend);
		return FALSE;
	}
	if (c->state_file != NULL && !g_path_is_absolute(c->state_file)) {
		pbm_conf_file_error(cfg, config_setting_get_member(outputs, "state_file"),
		                    "state_file", PBM_CONFIG_ERROR_RANGE, error,
		                    "\"%s\": give an absolute path", c->state_file);
		return FALSE;
	}
	return TRUE;
}

static gboolean
read_temperature(PbmConfFile *cfg, config_setting_t *root, PbmGadgetConfig *c, GError **error)
{
	config_setting_t *t = NULL;
	g_autofree gchar *backend = NULL;

	c->thermometer = PBM_GADGET_THERMOMETER_NONE;
	if (!get_group(cfg, root, "temperature", FALSE, temperature_keys, &t, error))
		return FALSE;
	if (t == NULL)
		return TRUE;
	if (!pbm_conf_file_get_string(cfg, t, "backend", TRUE, 16, &backend, NULL, error) ||
	    !pbm_conf_file_get_string(cfg, t, "path", FALSE, 4096, &c->temperature_path, NULL,
	                              error))
		return FALSE;
	if (g_strcmp0(backend, "model") == 0)
		return TRUE;
	if (g_strcmp0(backend, "file") != 0) {
		pbm_conf_file_error(
		        cfg, config_setting_get_member(t, "backend"), "backend",
		        PBM_CONFIG_ERROR_RANGE, error,
		        "\"%s\": use \"file\" (a hwmon or thermal-zone file) or \"model\" "
		        "(no sensor: the firmware model's thermal model, for tests)",
		        backend);
		return FALSE;
	}
	if (c->temperature_path == NULL || !g_path_is_absolute(c->temperature_path)) {
		pbm_conf_file_error(
		        cfg, t, "path", PBM_CONFIG_ERROR_MISSING, error,
		        "the file backend needs the absolute path of a millidegree file, "
		        "such as /sys/class/hwmon/hwmon0/temp1_input");
		return FALSE;
	}
	c->thermometer = PBM_GADGET_THERMOMETER_FILE;
	return TRUE;
}

static gboolean
read_line(PbmConfFile *cfg, config_setting_t *parent, const gchar *key, gboolean default_low,
          PbmGadgetGpioLine *out, GError **error)
{
	config_setting_t *s = NULL;
	g_autofree gchar *chip = NULL;
	gint64 line = 0;

	out->active_low = default_low;
	if (!get_group(cfg, parent, key, FALSE, line_keys, &s, error))
		return FALSE;
	if (s == NULL)
		return TRUE;
	if (!pbm_conf_file_get_string(cfg, s, "chip", TRUE, sizeof(out->chip) - 1, &chip, NULL,
	                              error) ||
	    !pbm_conf_file_get_int(cfg, s, "line", TRUE, 0, GADGET_GPIO_LINE_MAX, &line, NULL,
	                           error) ||
	    !pbm_conf_file_get_bool(cfg, s, "active_low", FALSE, &out->active_low, NULL, error))
		return FALSE;
	if (*chip == '\0') {
		pbm_conf_file_error(
		        cfg, config_setting_get_member(s, "chip"), "chip", PBM_CONFIG_ERROR_RANGE,
		        error, "name a GPIO chip, such as \"gpiochip0\" (gpiodetect lists them)");
		return FALSE;
	}
	g_strlcpy(out->chip, chip, sizeof(out->chip));
	out->line = (guint)line;
	return TRUE;
}

static gboolean
read_fan(PbmConfFile *cfg, config_setting_t *root, PbmGadgetConfig *c, GError **error)
{
	config_setting_t *fan = NULL;
	gint64 pulses = 2;

	c->fan_pulses_per_rev = 2;
	if (!get_group(cfg, root, "fan", FALSE, fan_keys, &fan, error))
		return FALSE;
	if (fan == NULL)
		return TRUE;
	if (!read_line(cfg, fan, "tach", FALSE, &c->fan_tach, error) ||
	    !read_line(cfg, fan, "enable", FALSE, &c->fan_enable, error) ||
	    !pbm_conf_file_get_int(cfg, fan, "pulses_per_rev", FALSE, 1, 16, &pulses, NULL, error))
		return FALSE;
	c->fan_pulses_per_rev = (guint)pulses;
	return TRUE;
}

static gboolean
read_button(PbmConfFile *cfg, config_setting_t *root, PbmGadgetConfig *c, GError **error)
{
	/* A stop button usually closes to ground against a pull-up. */
	return read_line(cfg, root, "button", TRUE, &c->button, error);
}

static gboolean
check_lines_distinct(PbmGadgetConfig *c, GError **error)
{
	const PbmGadgetGpioLine *lines[] = { &c->fan_tach, &c->fan_enable, &c->button };
	const gchar *names[] = { "fan.tach", "fan.enable", "button" };

	for (guint i = 0; i < G_N_ELEMENTS(lines); i++) {
		for (guint j = i + 1; j < G_N_ELEMENTS(lines); j++) {
			if (!pbm_gadget_gpio_line_used(lines[i]) ||
			    !pbm_gadget_gpio_line_used(lines[j]) ||
			    g_strcmp0(lines[i]->chip, lines[j]->chip) != 0 ||
			    lines[i]->line != lines[j]->line)
				continue;
			g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_INVALID,
			            "%s: %s and %s both use line %u of %s; give each its own line",
			            c->path, names[i], names[j], lines[i]->line, lines[i]->chip);
			return FALSE;
		}
	}
	return TRUE;
}

/* The model's thermal model is a stand-in for tests: real LEDs behind PWM
 * outputs are protected only by a real sensor. */
static gboolean
check_sensor_for_leds(PbmGadgetConfig *c, GError **error)
{
	if (c->outputs != PBM_GADGET_OUTPUTS_PWM || c->thermometer == PBM_GADGET_THERMOMETER_FILE)
		return TRUE;
	g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_MISSING,
	            "%s: temperature: the pwm backend drives real LEDs and needs the board's "
	            "temperature sensor: add temperature = { backend = \"file\"; path = "
	            "\"/sys/class/hwmon/hwmonN/temp1_input\"; };",
	            c->path);
	return FALSE;
}

static gboolean
check_pwm_distinct(PbmGadgetConfig *c, GError **error)
{
	if (c->outputs != PBM_GADGET_OUTPUTS_PWM)
		return TRUE;
	for (guint i = 0; i < c->model.channel_count; i++) {
		for (guint j = i + 1; j < c->model.channel_count; j++) {
			if (g_strcmp0(c->pwm[i].chip, c->pwm[j].chip) != 0 ||
			    c->pwm[i].channel != c->pwm[j].channel)
				continue;
			g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_INVALID,
			            "%s: channels %u and %u both drive %s pwm%u; give each channel "
			            "its own PWM output",
			            c->path, i + 1, j + 1, c->pwm[i].chip, c->pwm[i].channel);
			return FALSE;
		}
	}
	return TRUE;
}

PbmGadgetConfig *
pbm_gadget_config_load(const gchar *path, GError **error)
{
	g_autoptr(PbmConfFile) cfg = pbm_conf_file_load(path, error);
	g_autoptr(PbmGadgetConfig) c = g_new0(PbmGadgetConfig, 1);
	config_setting_t *root;
	g_autoptr(GError) model_error = NULL;
	g_autoptr(PbmSim) probe = NULL;

	if (cfg == NULL)
		return NULL;
	root = pbm_conf_file_root(cfg);
	c->path = g_strdup(path);
	/* The thermal constants of the standard model stand in when the
	 * board has no sensor. */
	pbm_sim_config_init(&c->model, NULL);
	if (!pbm_conf_file_check_keys(cfg, root, top_keys, error) ||
	    !read_usb(cfg, root, c, error) || !read_outputs(cfg, root, c, error) ||
	    !read_panel(cfg, root, &c->model, error) || !read_channels(cfg, root, c, error) ||
	    !read_temperature(cfg, root, c, error) || !read_fan(cfg, root, c, error) ||
	    !read_button(cfg, root, c, error) || !check_lines_distinct(c, error) ||
	    !check_pwm_distinct(c, error) || !check_sensor_for_leds(c, error))
		return NULL;
	if (c->product == NULL)
		c->product = g_strdup(c->model.model);
	/* Whatever the file says, the model must be a panel the protocol can
	 * describe. */
	probe = pbm_sim_new(&c->model, &model_error);
	if (probe == NULL) {
		g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_INVALID, "%s: %s", path,
		            model_error->message);
		return NULL;
	}
	return g_steal_pointer(&c);
}
