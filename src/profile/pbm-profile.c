/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-profile.h"

#include <math.h>
#include <string.h>

static const gchar *const profile_keys[] = {
	"name",
	"title",
	"description",
	"distance_cm",
	"goggles_required",
	"allow_visible_pulse",
	"pulse_warning",
	"min_interval",
	"steps",
	NULL,
};

static const gchar *const step_keys[] = {
	"name",           "duration",    "dose_red",    "dose_nir",    "irradiance_red",
	"irradiance_nir", "percent_red", "percent_nir", "wavelengths", "pulse_hz",
	"duty",           "ramp_s",      NULL,
};

static const gchar *const wavelength_keys[] = { "nm", "irradiance", "percent", NULL };

/* Keys of 0.1, where a level in percent meant a different dose on every
 * panel: refused with the way to say what the author meant. */
static const struct {
	const gchar *key;
	const gchar *instead;
} retired_keys[] = {
	{ "red", "irradiance_red (mW/cm² at the skin) or dose_red (J/cm²), or percent_red" },
	{ "nir", "irradiance_nir (mW/cm² at the skin) or dose_nir (J/cm²), or percent_nir" },
	{ "level", "irradiance (mW/cm² at the skin), or percent" },
};

PbmBandIndex
pbm_band_index_of(enum pbm_band band)
{
	return band == PBM_BAND_NIR ? PBM_BAND_INDEX_NIR : PBM_BAND_INDEX_RED;
}

const gchar *
pbm_band_index_to_string(PbmBandIndex band)
{
	return band == PBM_BAND_INDEX_NIR ? "nir" : "red";
}

gboolean
pbm_profile_name_is_valid(const gchar *name)
{
	gsize len = name != NULL ? strlen(name) : 0;

	if (len == 0 || len > PBM_PROFILE_NAME_MAX || name[0] == '-' || name[len - 1] == '-')
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!(g_ascii_islower(name[i]) || g_ascii_isdigit(name[i]) || name[i] == '-'))
			return FALSE;
	}
	return TRUE;
}

static void
step_free(PbmStep *step)
{
	g_free(step->name);
	g_free(step);
}

PbmProfile *
pbm_profile_ref(PbmProfile *profile)
{
	g_atomic_int_inc(&profile->ref_count);
	return profile;
}

void
pbm_profile_unref(PbmProfile *profile)
{
	if (profile == NULL || !g_atomic_int_dec_and_test(&profile->ref_count))
		return;
	g_free(profile->path);
	g_free(profile->name);
	g_free(profile->title);
	g_free(profile->description);
	g_free(profile->pulse_warning);
	g_ptr_array_unref(profile->steps);
	g_free(profile);
}

/* ---- reading one step ---- */

/* value * scale must be whole: finer values are refused, not rounded. */
static gboolean
check_resolution(PbmConfFile *cfg, const config_setting_t *group, const gchar *key, gdouble value,
                 gdouble scale, const gchar *step_text, GError **error)
{
	gdouble scaled = value * scale;

	if (fabs(scaled - round(scaled)) <= 1e-6)
		return TRUE;
	pbm_conf_file_error(cfg, config_setting_get_member(group, key), key, PBM_CONFIG_ERROR_RANGE,
	                    error, "%g is finer than this key allows; it goes in steps of %s",
	                    value, step_text);
	return FALSE;
}

static gboolean
check_retired(PbmConfFile *cfg, const config_setting_t *group, GError **error)
{
	for (guint i = 0; i < G_N_ELEMENTS(retired_keys); i++) {
		config_setting_t *old = config_setting_get_member(group, retired_keys[i].key);
		if (old == NULL)
			continue;
		pbm_conf_file_error(cfg, old, retired_keys[i].key, PBM_CONFIG_ERROR_INVALID, error,
		                    "a level in percent gives a different dose on every panel; "
		                    "write %s instead (see pbmd.profile(5))",
		                    retired_keys[i].instead);
		return FALSE;
	}
	return TRUE;
}

/* Percent with at most one decimal -> permille; finer values are refused
 * rather than rounded. */
static gboolean
read_percent(PbmConfFile *cfg, const config_setting_t *group, const gchar *key, PbmLevel *out,
             gboolean *found, GError **error)
{
	gdouble pct = 0;
	gdouble permille;

	if (!pbm_conf_file_get_double(cfg, group, key, FALSE, 0.0, 100.0, "%", &pct, found, error))
		return FALSE;
	if (!*found)
		return TRUE;
	permille = pct * 10.0;
	if (fabs(permille - round(permille)) > 1e-6) {
		pbm_conf_file_error(cfg, config_setting_get_member(group, key), key,
		                    PBM_CONFIG_ERROR_RANGE, error,
		                    "%g %% has more than one decimal; levels go in steps of 0.1 %%",
		                    pct);
		return FALSE;
	}
	*out = (PbmLevel){ .kind = PBM_LEVEL_PERCENT, .permille = (guint16)round(permille) };
	return TRUE;
}

/* One of irradiance_key (a prescription) or percent_key (a share of the
 * panel), or neither. */
static gboolean
read_level(PbmConfFile *cfg, const config_setting_t *group, const gchar *irradiance_key,
           const gchar *percent_key, PbmLevel *out, GError **error)
{
	gboolean has_percent = FALSE, has_irradiance = FALSE;
	gdouble irradiance = 0;

	*out = (PbmLevel){ .kind = PBM_LEVEL_OFF };
	if (!read_percent(cfg, group, percent_key, out, &has_percent, error) ||
	    !pbm_conf_file_get_double(cfg, group, irradiance_key, FALSE, 0.01,
	                              PBM_PROFILE_IRRADIANCE_MAX, "mW/cm2", &irradiance,
	                              &has_irradiance, error))
		return FALSE;
	if (has_percent && has_irradiance) {
		pbm_conf_file_error(cfg, config_setting_get_member(group, percent_key), percent_key,
		                    PBM_CONFIG_ERROR_INVALID, error, "give %s or %s, not both",
		                    irradiance_key, percent_key);
		return FALSE;
	}
	if (has_irradiance)
		*out = (PbmLevel){ .kind = PBM_LEVEL_IRRADIANCE, .irradiance = irradiance };
	return TRUE;
}

static gboolean
level_lights(const PbmLevel *level)
{
	return level->kind == PBM_LEVEL_IRRADIANCE ||
	       (level->kind == PBM_LEVEL_PERCENT && level->permille > 0);
}

static gboolean
require_text(PbmConfFile *cfg, const config_setting_t *group, const gchar *key, const gchar *value,
             GError **error)
{
	if (value != NULL && value[0] != '\0')
		return TRUE;
	pbm_conf_file_error(cfg, config_setting_get_member(group, key), key, PBM_CONFIG_ERROR_RANGE,
	                    error, "must not be empty");
	return FALSE;
}

static gboolean
read_wavelength(PbmConfFile *cfg, config_setting_t *item, gint i, PbmStep *step, GError **error)
{
	gint64 nm = 0;

	if (config_setting_type(item) != CONFIG_TYPE_GROUP) {
		pbm_conf_file_error(cfg, item, "wavelengths", PBM_CONFIG_ERROR_TYPE, error,
		                    "entry %d must be a group { nm = ...; irradiance = ...; }",
		                    i + 1);
		return FALSE;
	}
	if (!check_retired(cfg, item, error) ||
	    !pbm_conf_file_check_keys(cfg, item, wavelength_keys, error) ||
	    !pbm_conf_file_get_int(cfg, item, "nm", TRUE, PBM_WAVELENGTH_MIN_NM,
	                           PBM_WAVELENGTH_MAX_NM, &nm, NULL, error) ||
	    !read_level(cfg, item, "irradiance", "percent", &step->wavelengths[i].level, error))
		return FALSE;
	if (step->wavelengths[i].level.kind == PBM_LEVEL_OFF) {
		pbm_conf_file_error(cfg, item, "irradiance", PBM_CONFIG_ERROR_MISSING, error,
		                    "entry %d needs irradiance = ... (mW/cm²) or percent = ...",
		                    i + 1);
		return FALSE;
	}
	for (gint j = 0; j < i; j++) {
		if (step->wavelengths[j].wavelength_nm == nm) {
			pbm_conf_file_error(cfg, item, "nm", PBM_CONFIG_ERROR_INVALID, error,
			                    "%" G_GINT64_FORMAT " nm is listed twice", nm);
			return FALSE;
		}
	}
	step->wavelengths[i].wavelength_nm = (guint16)nm;
	return TRUE;
}

static gboolean
read_wavelengths(PbmConfFile *cfg, const config_setting_t *list, PbmStep *step, GError **error)
{
	gint n = config_setting_length(list);

	if (config_setting_type(list) != CONFIG_TYPE_LIST || n < 1 || n > PBM_MAX_CHANNELS) {
		pbm_conf_file_error(
		        cfg, list, "wavelengths", PBM_CONFIG_ERROR_TYPE, error,
		        "must be a list of 1 to %d groups: ( { nm = 660; irradiance = 20.0; } )",
		        PBM_MAX_CHANNELS);
		return FALSE;
	}
	for (gint i = 0; i < n; i++) {
		if (!read_wavelength(cfg, config_setting_get_elem(list, (guint)i), i, step, error))
			return FALSE;
	}
	step->n_wavelengths = (guint)n;
	step->by_wavelength = TRUE;
	return TRUE;
}

static gboolean
read_levels(PbmConfFile *cfg, const config_setting_t *s, PbmStep *step, GError **error)
{
	config_setting_t *wl = config_setting_get_member(s, "wavelengths");
	gboolean by_band;

	if (!read_level(cfg, s, "irradiance_red", "percent_red", &step->band[PBM_BAND_INDEX_RED],
	                error) ||
	    !read_level(cfg, s, "irradiance_nir", "percent_nir", &step->band[PBM_BAND_INDEX_NIR],
	                error))
		return FALSE;
	by_band = step->band[0].kind != PBM_LEVEL_OFF || step->band[1].kind != PBM_LEVEL_OFF;
	if (wl != NULL && by_band) {
		pbm_conf_file_error(cfg, wl, "wavelengths", PBM_CONFIG_ERROR_INVALID, error,
		                    "give levels per band (irradiance_red, ...) or per wavelength, "
		                    "not both");
		return FALSE;
	}
	return wl != NULL ? read_wavelengths(cfg, wl, step, error) : TRUE;
}

static gboolean
step_visible(const PbmStep *step)
{
	if (!step->by_wavelength)
		return level_lights(&step->band[PBM_BAND_INDEX_RED]);
	for (guint i = 0; i < step->n_wavelengths; i++) {
		if (level_lights(&step->wavelengths[i].level) &&
		    step->wavelengths[i].wavelength_nm < PBM_VISIBLE_MAX_NM)
			return TRUE;
	}
	return FALSE;
}

static gboolean
step_lights(const PbmStep *step, PbmBandIndex band)
{
	if (!step->by_wavelength)
		return level_lights(&step->band[band]);
	for (guint i = 0; i < step->n_wavelengths; i++) {
		gboolean nir = step->wavelengths[i].wavelength_nm >= 700;
		if (level_lights(&step->wavelengths[i].level) &&
		    (nir ? PBM_BAND_INDEX_NIR : PBM_BAND_INDEX_RED) == band)
			return TRUE;
	}
	return FALSE;
}

/* A dose over a fixed duration is a prescription of the band's
 * irradiance: dose / duration. */
static gboolean
dose_over_duration(PbmConfFile *cfg, const config_setting_t *s, PbmStep *step, guint b,
                   const gchar *key, GError **error)
{
	const gchar *band = pbm_band_index_to_string(b);

	if (step->by_wavelength || step->band[b].kind != PBM_LEVEL_OFF) {
		pbm_conf_file_error(cfg, config_setting_get_member(s, key), key,
		                    PBM_CONFIG_ERROR_INVALID, error,
		                    "with a duration, %s sets the %s irradiance itself (dose / "
		                    "duration): drop the step's other %s level, or drop the "
		                    "duration to end the step when the dose is reached",
		                    key, band, band);
		return FALSE;
	}
	step->band[b] = (PbmLevel){
		.kind = PBM_LEVEL_IRRADIANCE,
		.irradiance = step->dose_target[b] * 1000.0 * G_USEC_PER_SEC / step->duration_us,
	};
	if (step->band[b].irradiance <= PBM_PROFILE_IRRADIANCE_MAX)
		return TRUE;
	pbm_conf_file_error(cfg, config_setting_get_member(s, key), key, PBM_CONFIG_ERROR_RANGE,
	                    error, "%g J/cm² in %g s is %.1f mW/cm², above %g mW/cm²",
	                    step->dose_target[b], step->duration_us / 1e6, step->band[b].irradiance,
	                    PBM_PROFILE_IRRADIANCE_MAX);
	return FALSE;
}

/* A dose-ended step: each dose needs a level to deliver it at. */
static gboolean
dose_at_level(PbmConfFile *cfg, const config_setting_t *s, PbmStep *step, guint b, const gchar *key,
              GError **error)
{
	if (step_lights(step, b))
		return TRUE;
	pbm_conf_file_error(cfg, config_setting_get_member(s, key), key, PBM_CONFIG_ERROR_INVALID,
	                    error,
	                    "this step has no duration and gives no %s light, so that dose is "
	                    "never reached: add irradiance_%s (or a duration)",
	                    pbm_band_index_to_string(b), pbm_band_index_to_string(b));
	return FALSE;
}

static gboolean
read_end(PbmConfFile *cfg, const config_setting_t *s, PbmStep *step, GError **error)
{
	gboolean has_duration = FALSE, has_dose[PBM_N_BANDS] = { FALSE, FALSE };
	const gchar *dose_key[PBM_N_BANDS] = { "dose_red", "dose_nir" };

	if (!pbm_conf_file_get_duration(cfg, s, "duration", FALSE, G_USEC_PER_SEC,
	                                PBM_PROFILE_STEP_MAX_US, &step->duration_us, &has_duration,
	                                error))
		return FALSE;
	for (guint b = 0; b < PBM_N_BANDS; b++) {
		if (!pbm_conf_file_get_double(cfg, s, dose_key[b], FALSE, 0.01,
		                              PBM_PROFILE_DOSE_MAX, "J/cm2", &step->dose_target[b],
		                              &has_dose[b], error))
			return FALSE;
		if (has_dose[b] &&
		    !(has_duration ? dose_over_duration(cfg, s, step, b, dose_key[b], error)
		                   : dose_at_level(cfg, s, step, b, dose_key[b], error)))
			return FALSE;
	}
	if (!has_duration && !has_dose[0] && !has_dose[1]) {
		pbm_conf_file_error(cfg, s, NULL, PBM_CONFIG_ERROR_INVALID, error,
		                    "step \"%s\" needs a duration, a target dose (dose_red, "
		                    "dose_nir), or both",
		                    step->name);
		return FALSE;
	}
	return TRUE;
}

static gboolean
read_pulse(PbmConfFile *cfg, const config_setting_t *s, PbmStep *step, GError **error)
{
	gdouble hz = 0, duty = 100, ramp = 0;
	gboolean has_hz, has_duty;

	if (!pbm_conf_file_get_double(cfg, s, "pulse_hz", FALSE, PBM_PULSE_MIN_MHZ / 1000.0,
	                              PBM_PULSE_MAX_MHZ / 1000.0, "Hz", &hz, &has_hz, error) ||
	    !pbm_conf_file_get_double(cfg, s, "duty", FALSE, 1.0, 100.0, "%", &duty, &has_duty,
	                              error) ||
	    !pbm_conf_file_get_double(cfg, s, "ramp_s", FALSE, 0.0, PBM_RAMP_MAX_MS / 1000.0, "s",
	                              &ramp, NULL, error))
		return FALSE;
	if ((has_hz && !check_resolution(cfg, s, "pulse_hz", hz, 1000.0, "0.001 Hz", error)) ||
	    (has_duty && !check_resolution(cfg, s, "duty", duty, 10.0, "0.1 %", error)) ||
	    !check_resolution(cfg, s, "ramp_s", ramp, 1000.0, "0.001 s", error))
		return FALSE;
	if (has_duty && !has_hz) {
		pbm_conf_file_error(cfg, config_setting_get_member(s, "duty"), "duty",
		                    PBM_CONFIG_ERROR_INVALID, error,
		                    "a duty cycle needs pulse_hz; continuous light has no duty");
		return FALSE;
	}
	step->pulse_mhz = has_hz ? (guint32)round(hz * 1000.0) : 0;
	step->duty = has_hz ? (guint16)round(duty * 10.0) : PBM_DUTY_MAX;
	step->ramp_ms = (guint16)round(ramp * 1000.0);
	return TRUE;
}

static PbmStep *
read_step(PbmConfFile *cfg, const config_setting_t *s, guint index, GError **error)
{
	g_autoptr(GPtrArray) holder = g_ptr_array_new_with_free_func((GDestroyNotify)step_free);
	PbmStep *step = g_new0(PbmStep, 1);

	g_ptr_array_add(holder, step);
	step->line = pbm_conf_file_line(s);
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		pbm_conf_file_error(cfg, s, "steps", PBM_CONFIG_ERROR_TYPE, error,
		                    "step %u must be a group { name = ...; duration = ...; ... }",
		                    index + 1);
		return NULL;
	}
	if (!check_retired(cfg, s, error) || !pbm_conf_file_check_keys(cfg, s, step_keys, error) ||
	    !pbm_conf_file_get_string(cfg, s, "name", TRUE, PBM_PROFILE_NAME_MAX, &step->name, NULL,
	                              error) ||
	    !require_text(cfg, s, "name", step->name, error) || !read_levels(cfg, s, step, error) ||
	    !read_end(cfg, s, step, error) || !read_pulse(cfg, s, step, error))
		return NULL;
	if (!step->by_wavelength && step->band[0].kind == PBM_LEVEL_OFF &&
	    step->band[1].kind == PBM_LEVEL_OFF) {
		pbm_conf_file_error(cfg, s, "irradiance_red", PBM_CONFIG_ERROR_MISSING, error,
		                    "a step needs a level: irradiance_red = ..., irradiance_nir = "
		                    "... (mW/cm²), a dose with a duration, percent_red = ..., or "
		                    "wavelengths = ( ... )");
		return NULL;
	}
	if (!step_lights(step, PBM_BAND_INDEX_RED) && !step_lights(step, PBM_BAND_INDEX_NIR)) {
		pbm_conf_file_error(cfg, s, NULL, PBM_CONFIG_ERROR_INVALID, error,
		                    "step \"%s\" gives no light: every level is 0", step->name);
		return NULL;
	}
	return g_ptr_array_steal_index(holder, 0);
}

/* ---- reading the profile ---- */

static gboolean
check_name(PbmConfFile *cfg, PbmProfile *profile, GError **error)
{
	config_setting_t *root = pbm_conf_file_root(cfg);
	g_autofree gchar *base = g_path_get_basename(cfg->path);
	config_setting_t *s = config_setting_get_member(root, "name");

	if (!pbm_profile_name_is_valid(profile->name)) {
		pbm_conf_file_error(cfg, s, "name", PBM_CONFIG_ERROR_NAME, error,
		                    "\"%s\" is not a valid profile name; use 1 to %d characters of "
		                    "a-z, 0-9 and '-'",
		                    profile->name, PBM_PROFILE_NAME_MAX);
		return FALSE;
	}
	if (!g_str_has_suffix(base, ".conf") ||
	    strlen(base) != strlen(profile->name) + strlen(".conf") ||
	    strncmp(base, profile->name, strlen(profile->name)) != 0) {
		pbm_conf_file_error(cfg, s, "name", PBM_CONFIG_ERROR_NAME, error,
		                    "\"%s\" does not match the file name %s; name the file %s.conf",
		                    profile->name, base, profile->name);
		return FALSE;
	}
	return TRUE;
}

static gboolean
read_steps(PbmConfFile *cfg, PbmProfile *profile, GError **error)
{
	config_setting_t *root = pbm_conf_file_root(cfg);
	config_setting_t *steps = config_setting_get_member(root, "steps");
	gint n;

	if (steps == NULL) {
		pbm_conf_file_error(cfg, root, "steps", PBM_CONFIG_ERROR_MISSING, error,
		                    "required key is missing: steps = ( { name = ...; ... } );");
		return FALSE;
	}
	n = config_setting_length(steps);
	if (config_setting_type(steps) != CONFIG_TYPE_LIST || n < 1 || n > PBM_PROFILE_STEPS_MAX) {
		pbm_conf_file_error(cfg, steps, "steps", PBM_CONFIG_ERROR_TYPE, error,
		                    "must be a list of 1 to %d steps: ( { ... }, { ... } )",
		                    PBM_PROFILE_STEPS_MAX);
		return FALSE;
	}
	for (gint i = 0; i < n; i++) {
		PbmStep *step =
		        read_step(cfg, config_setting_get_elem(steps, (guint)i), (guint)i, error);
		if (step == NULL)
			return FALSE;
		g_ptr_array_add(profile->steps, step);
	}
	return TRUE;
}

static gboolean
profile_uses_band(const PbmProfile *profile, PbmBandIndex band)
{
	for (guint i = 0; i < profile->steps->len; i++) {
		if (step_lights(g_ptr_array_index(profile->steps, i), band))
			return TRUE;
	}
	return FALSE;
}

gboolean
pbm_step_pulse_is_flicker(const PbmStep *step)
{
	gdouble hz = step->pulse_mhz / 1000.0;

	return step->pulse_mhz != 0 && hz >= PBM_VISIBLE_PULSE_MIN_HZ &&
	       hz <= PBM_VISIBLE_PULSE_MAX_HZ;
}

/* Visible as far as the file tells: a panel may also file a visible
 * wavelength under NIR, which only the plan can see. */
static const PbmStep *
visible_pulse_step(const PbmProfile *profile)
{
	for (guint i = 0; i < profile->steps->len; i++) {
		const PbmStep *step = g_ptr_array_index(profile->steps, i);
		if (pbm_step_pulse_is_flicker(step) && step_visible(step))
			return step;
	}
	return NULL;
}

static gboolean
step_is_prescribed(const PbmStep *step)
{
	if (!step->by_wavelength)
		return step->band[0].kind != PBM_LEVEL_PERCENT &&
		       step->band[1].kind != PBM_LEVEL_PERCENT;
	for (guint i = 0; i < step->n_wavelengths; i++) {
		if (step->wavelengths[i].level.kind == PBM_LEVEL_PERCENT)
			return FALSE;
	}
	return TRUE;
}

gboolean
pbm_profile_is_prescribed(const PbmProfile *profile)
{
	for (guint i = 0; i < profile->steps->len; i++) {
		if (!step_is_prescribed(g_ptr_array_index(profile->steps, i)))
			return FALSE;
	}
	return TRUE;
}

gboolean
pbm_profile_has_visible_pulse(const PbmProfile *profile)
{
	return visible_pulse_step(profile) != NULL;
}

static gboolean
read_safety(PbmConfFile *cfg, PbmProfile *profile, GError **error)
{
	config_setting_t *root = pbm_conf_file_root(cfg);
	const PbmStep *pulsed = visible_pulse_step(profile);
	gboolean has_goggles = FALSE, has_warning = FALSE;

	profile->goggles_required = profile_uses_band(profile, PBM_BAND_INDEX_NIR);
	if (!pbm_conf_file_get_bool(cfg, root, "goggles_required", FALSE,
	                            &profile->goggles_required, &has_goggles, error) ||
	    !pbm_conf_file_get_bool(cfg, root, "allow_visible_pulse", FALSE,
	                            &profile->allow_visible_pulse, NULL, error) ||
	    !pbm_conf_file_get_string(cfg, root, "pulse_warning", FALSE, 1000,
	                              &profile->pulse_warning, &has_warning, error))
		return FALSE;
	if (pulsed != NULL && !profile->allow_visible_pulse) {
		g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_INVALID,
		            "%s:%u: pulse_hz: step \"%s\" pulses visible red light at %g Hz, "
		            "which can trigger photosensitive seizures; pulse below %g or above "
		            "%g Hz, or opt in with allow_visible_pulse = true and a "
		            "pulse_warning",
		            cfg->path, pulsed->line, pulsed->name, pulsed->pulse_mhz / 1000.0,
		            PBM_VISIBLE_PULSE_MIN_HZ, PBM_VISIBLE_PULSE_MAX_HZ);
		return FALSE;
	}
	if (profile->allow_visible_pulse && !has_warning) {
		pbm_conf_file_error(cfg, config_setting_get_member(root, "allow_visible_pulse"),
		                    "pulse_warning", PBM_CONFIG_ERROR_MISSING, error,
		                    "allow_visible_pulse = true needs a pulse_warning text to show "
		                    "before the session");
		return FALSE;
	}
	return TRUE;
}

static PbmProfile *
profile_from_cfg(PbmConfFile *cfg, GError **error)
{
	const gchar *path = cfg->path;
	g_autoptr(PbmProfile) profile = NULL;
	config_setting_t *root;

	root = pbm_conf_file_root(cfg);
	profile = g_new0(PbmProfile, 1);
	profile->ref_count = 1;
	profile->path = g_strdup(path);
	profile->steps = g_ptr_array_new_with_free_func((GDestroyNotify)step_free);
	profile->distance_cm = 0;
	if (!pbm_conf_file_check_keys(cfg, root, profile_keys, error) ||
	    !pbm_conf_file_get_string(cfg, root, "name", TRUE, 256, &profile->name, NULL, error) ||
	    !check_name(cfg, profile, error) ||
	    !pbm_conf_file_get_string(cfg, root, "title", TRUE, 80, &profile->title, NULL, error) ||
	    !require_text(cfg, root, "title", profile->title, error) ||
	    !pbm_conf_file_get_string(cfg, root, "description", FALSE, 2000, &profile->description,
	                              NULL, error) ||
	    !pbm_conf_file_get_double(cfg, root, "distance_cm", TRUE, PBM_PROFILE_DISTANCE_MIN_CM,
	                              PBM_PROFILE_DISTANCE_MAX_CM, "cm", &profile->distance_cm,
	                              NULL, error) ||
	    !pbm_conf_file_get_duration(cfg, root, "min_interval", FALSE, 0,
	                                PBM_PROFILE_INTERVAL_MAX_US, &profile->min_interval_us,
	                                NULL, error) ||
	    !read_steps(cfg, profile, error) || !read_safety(cfg, profile, error))
		return NULL;
	if (profile->description == NULL)
		profile->description = g_strdup("");
	return g_steal_pointer(&profile);
}

PbmProfile *
pbm_profile_load(const gchar *path, GError **error)
{
	g_autoptr(PbmConfFile) cfg = pbm_conf_file_load(path, error);

	return cfg != NULL ? profile_from_cfg(cfg, error) : NULL;
}

PbmProfile *
pbm_profile_load_data(const gchar *path, const gchar *data, gsize len, GError **error)
{
	g_autoptr(PbmConfFile) cfg = pbm_conf_file_load_data(path, data, len, error);

	return cfg != NULL ? profile_from_cfg(cfg, error) : NULL;
}
