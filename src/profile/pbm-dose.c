/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-dose.h"

#include <math.h>
#include <string.h>

gdouble
pbm_eye_ir_limit(gint64 duration_us)
{
	gdouble t = MAX(duration_us, 1) / (gdouble)G_USEC_PER_SEC;

	return t <= 1000.0 ? 18000.0 * pow(t, 0.25) : 100.0 * t;
}

static gboolean
level_fits(const PbmStep *step, const PbmChannel *ch, guint16 level, GError **error)
{
	if (level <= ch->max_level)
		return TRUE;
	g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_RANGE,
	            "step \"%s\" asks %.1f %% of the %u nm channel, above its limit of %.1f %%",
	            step->name, level / 10.0, ch->wavelength_nm, ch->max_level / 10.0);
	return FALSE;
}

static gboolean
channel_covers(const PbmChannel *ch, guint mm)
{
	return ch->point_count > 0 && mm >= ch->points[0].distance_mm &&
	       mm <= ch->points[ch->point_count - 1].distance_mm;
}

static gboolean
level_lights(const PbmLevel *level)
{
	return level->kind == PBM_LEVEL_IRRADIANCE ||
	       (level->kind == PBM_LEVEL_PERCENT && level->permille > 0);
}

static gboolean
step_lights_channel(const PbmStep *step, const PbmChannel *ch)
{
	if (!step->by_wavelength)
		return level_lights(&step->band[pbm_band_index_of(ch->band)]);
	for (guint w = 0; w < step->n_wavelengths; w++) {
		if (step->wavelengths[w].wavelength_nm == ch->wavelength_nm &&
		    level_lights(&step->wavelengths[w].level))
			return TRUE;
	}
	return FALSE;
}

gboolean
pbm_profile_check_distance(const PbmProfile *profile, const PbmChannel *channels, guint n,
                           gdouble distance_cm, GError **error)
{
	guint mm = (guint)lround(distance_cm * 10.0);

	for (guint i = 0; i < n; i++) {
		const PbmChannel *ch = &channels[i];
		gboolean lit = FALSE;

		for (guint s = 0; s < profile->steps->len && !lit; s++)
			lit = step_lights_channel(g_ptr_array_index(profile->steps, s), ch);
		if (!lit || channel_covers(ch, mm))
			continue;
		g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_RANGE,
		            "profile %s is for %.1f cm but the panel is calibrated only from %.1f "
		            "to %.1f cm (%u nm); its dose there is unknown",
		            profile->name, distance_cm, ch->points[0].distance_mm / 10.0,
		            ch->points[ch->point_count - 1].distance_mm / 10.0, ch->wavelength_nm);
		return FALSE;
	}
	return TRUE;
}

/* The channels a level applies to: a band's, or one wavelength's. */
typedef struct {
	const gchar *what; /* "nir", "850 nm" */
	gboolean member[PBM_MAX_CHANNELS];
} Target;

/* The one level of the target's channels that gives want mW/cm2 at mm,
 * rounded down to the panel's 0.1 % steps. */
static gboolean
prescribed_level(const PbmStep *step, const Target *t, const PbmChannel *channels, guint n,
                 gdouble distance_cm, gdouble want, guint16 *out, GError **error)
{
	guint mm = (guint)lround(distance_cm * 10.0);
	gdouble full = 0, level;
	guint16 cap = PBM_LEVEL_MAX;

	for (guint i = 0; i < n; i++) {
		if (!t->member[i])
			continue;
		if (!channel_covers(&channels[i], mm)) {
			g_set_error(
			        error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_RANGE,
			        "the %u nm channel is calibrated only from %.1f to %.1f cm, so "
			        "its irradiance at %.1f cm is unknown",
			        channels[i].wavelength_nm, channels[i].points[0].distance_mm / 10.0,
			        channels[i].points[channels[i].point_count - 1].distance_mm / 10.0,
			        distance_cm);
			return FALSE;
		}
		full += pbm_channel_irradiance_at(&channels[i], mm) * step->duty / 1000.0;
		cap = MIN(cap, channels[i].max_level);
	}
	level = full > 0 ? floor(want / full * 1000.0 + 1e-6) : G_MAXDOUBLE;
	if (level <= cap) {
		*out = (guint16)level;
		return TRUE;
	}
	g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_RANGE,
	            "step \"%s\" prescribes %.1f mW/cm² of %s at %.1f cm, but this panel gives "
	            "at most %.1f mW/cm² of it there%s; sit closer (pbmctl start --distance) or "
	            "use a stronger panel",
	            step->name, want, t->what, distance_cm, full * cap / 1000.0,
	            step->duty < PBM_DUTY_MAX ? " at the step's duty cycle" : "");
	return FALSE;
}

static gboolean
apply_level(const PbmStep *step, const PbmLevel *level, const Target *t, const PbmChannel *channels,
            guint n, gdouble distance_cm, guint16 levels[PBM_MAX_CHANNELS], GError **error)
{
	guint16 value = level->permille;

	if (level->kind == PBM_LEVEL_OFF)
		return TRUE;
	if (level->kind == PBM_LEVEL_IRRADIANCE &&
	    !prescribed_level(step, t, channels, n, distance_cm, level->irradiance, &value, error))
		return FALSE;
	for (guint i = 0; i < n; i++) {
		if (!t->member[i])
			continue;
		if (!level_fits(step, &channels[i], value, error))
			return FALSE;
		levels[i] = value;
	}
	return TRUE;
}

static gboolean
band_levels(const PbmStep *step, const PbmChannel *channels, guint n, gdouble distance_cm,
            guint16 levels[PBM_MAX_CHANNELS], GError **error)
{
	for (guint b = 0; b < PBM_N_BANDS; b++) {
		Target t = { .what = pbm_band_index_to_string(b) };
		gboolean present = FALSE;

		for (guint i = 0; i < n; i++) {
			t.member[i] = pbm_band_index_of(channels[i].band) == b;
			present |= t.member[i];
		}
		if (!present && step->band[b].kind != PBM_LEVEL_OFF) {
			g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_INVALID,
			            "step \"%s\" needs %s light but the panel has no %s channel",
			            step->name, t.what, t.what);
			return FALSE;
		}
		if (!apply_level(step, &step->band[b], &t, channels, n, distance_cm, levels, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean
wavelength_levels(const PbmStep *step, const PbmChannel *channels, guint n, gdouble distance_cm,
                  guint16 levels[PBM_MAX_CHANNELS], GError **error)
{
	for (guint w = 0; w < step->n_wavelengths; w++) {
		const PbmWavelengthLevel *want = &step->wavelengths[w];
		g_autofree gchar *what = g_strdup_printf("%u nm", want->wavelength_nm);
		Target t = { .what = what };
		gboolean present = FALSE;

		for (guint i = 0; i < n; i++) {
			t.member[i] = channels[i].wavelength_nm == want->wavelength_nm;
			present |= t.member[i];
		}
		if (!present && want->level.kind == PBM_LEVEL_PERCENT && want->level.permille == 0)
			continue;
		if (!present) {
			g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_INVALID,
			            "step \"%s\" needs %u nm but the panel has no such channel",
			            step->name, want->wavelength_nm);
			return FALSE;
		}
		if (!apply_level(step, &want->level, &t, channels, n, distance_cm, levels, error))
			return FALSE;
	}
	return TRUE;
}

gboolean
pbm_step_levels_for_panel(const PbmStep *step, const PbmChannel *channels, guint n_channels,
                          gdouble distance_cm, guint16 levels[PBM_MAX_CHANNELS], GError **error)
{
	memset(levels, 0, PBM_MAX_CHANNELS * sizeof(guint16));
	if (step->by_wavelength)
		return wavelength_levels(step, channels, n_channels, distance_cm, levels, error);
	return band_levels(step, channels, n_channels, distance_cm, levels, error);
}

/* ---- the estimate ---- */

/* Where the light stands between steps: each channel's level, which the
 * firmware ramps from linearly to the next step's. */
typedef struct {
	guint16 level[PBM_MAX_CHANNELS];
	PbmEstimate e;
} Walk;

/* mW/cm2 per band at distance for the given levels, duty included; and
 * of the 780-3000 nm light the eye limit counts. */
static void
irradiance(const PbmChannel *channels, guint n, guint mm, const guint16 *levels, guint16 duty,
           gdouble out[PBM_N_BANDS], gdouble *eye_ir)
{
	out[0] = out[1] = 0;
	*eye_ir = 0;
	for (guint i = 0; i < n; i++) {
		gdouble irr = pbm_channel_irradiance_at(&channels[i], mm) * levels[i] / 1000.0 *
		              duty / 1000.0;
		out[pbm_band_index_of(channels[i].band)] += irr;
		if (channels[i].wavelength_nm >= PBM_EYE_IR_MIN_NM &&
		    channels[i].wavelength_nm <= PBM_EYE_IR_MAX_NM)
			*eye_ir += irr;
	}
}

/* J/cm2 over the first t seconds of a linear ramp from `from` to `to`
 * mW/cm2 that lasts r seconds, then holds. */
static gdouble
ramped_dose(gdouble from, gdouble to, gdouble r, gdouble t)
{
	if (r <= 0 || t >= r)
		return ((from + to) / 2.0 * MAX(r, 0) + to * (t - MAX(r, 0))) / 1000.0;
	return (from * t + (to - from) * t * t / (2.0 * r)) / 1000.0;
}

/* Seconds until that ramp has given dose J/cm2. */
static gdouble
ramped_time(gdouble from, gdouble to, gdouble r, gdouble dose)
{
	gdouble mj = dose * 1000.0, in_ramp = (from + to) / 2.0 * r, a;

	if (r <= 0 || mj >= in_ramp)
		return MAX(r, 0) + (mj - MAX(in_ramp, 0)) / to;
	a = (to - from) / (2.0 * r);
	if (fabs(a) < 1e-12)
		return mj / from;
	return (-from + sqrt(from * from + 4.0 * a * mj)) / (2.0 * a);
}

/* A dose-ended step lasts until every targeted band has its dose. */
static gdouble
step_seconds(const PbmStep *step, const gdouble from[PBM_N_BANDS], const gdouble to[PBM_N_BANDS],
             gdouble r)
{
	gdouble seconds = 0;

	if (step->duration_us > 0)
		return step->duration_us / (gdouble)G_USEC_PER_SEC;
	for (guint b = 0; b < PBM_N_BANDS; b++) {
		if (step->dose_target[b] > 0 && to[b] > 0)
			seconds =
			        MAX(seconds, ramped_time(from[b], to[b], r, step->dose_target[b]));
	}
	return seconds;
}

static gboolean
targets_reachable(const PbmProfile *profile, const PbmStep *step, const gdouble irr[PBM_N_BANDS],
                  GError **error)
{
	for (guint b = 0; b < PBM_N_BANDS; b++) {
		if (step->duration_us == 0 && step->dose_target[b] > 0 && irr[b] <= 0) {
			g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_INVALID,
			            "step \"%s\" of %s targets a %s dose but gives no %s light on "
			            "this panel at %.1f cm",
			            step->name, profile->name, pbm_band_index_to_string(b),
			            pbm_band_index_to_string(b), profile->distance_cm);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
walk_step(const PbmProfile *profile, const PbmStep *step, const PbmChannel *channels, guint n,
          Walk *w, GError **error)
{
	guint mm = (guint)lround(profile->distance_cm * 10.0);
	guint16 levels[PBM_MAX_CHANNELS];
	gdouble from[PBM_N_BANDS], to[PBM_N_BANDS], eye_from, eye_to, r, seconds;

	if (!pbm_step_levels_for_panel(step, channels, n, profile->distance_cm, levels, error))
		return FALSE;
	irradiance(channels, n, mm, w->level, step->duty, from, &eye_from);
	irradiance(channels, n, mm, levels, step->duty, to, &eye_to);
	if (!targets_reachable(profile, step, to, error))
		return FALSE;
	r = step->ramp_ms / 1000.0;
	seconds = step_seconds(step, from, to, r);
	for (guint b = 0; b < PBM_N_BANDS; b++) {
		gboolean ends_on_dose = step->duration_us == 0 && step->dose_target[b] > 0;
		w->e.dose[b] += ends_on_dose ? step->dose_target[b]
		                             : ramped_dose(from[b], to[b], r, seconds);
	}
	w->e.eye_exposure += ramped_dose(eye_from, eye_to, r, seconds) * 1000.0 * 10.0;
	w->e.max_irradiance = MAX(w->e.max_irradiance, to[0] + to[1]);
	w->e.duration_us += (gint64)ceil(seconds * G_USEC_PER_SEC);
	/* a ramp the step cut short leaves the channels part of the way */
	for (guint i = 0; i < n; i++)
		w->level[i] =
		        r > seconds
		                ? (guint16)(w->level[i] + (levels[i] - w->level[i]) * seconds / r)
		                : levels[i];
	return TRUE;
}

gboolean
pbm_profile_estimate(const PbmProfile *profile, const PbmChannel *channels, guint n_channels,
                     PbmEstimate *out, GError **error)
{
	Walk w = { 0 };

	if (!pbm_profile_check_distance(profile, channels, n_channels, profile->distance_cm, error))
		return FALSE;
	for (guint s = 0; s < profile->steps->len; s++) {
		if (!walk_step(profile, g_ptr_array_index(profile->steps, s), channels, n_channels,
		               &w, error))
			return FALSE;
	}
	*out = w.e;
	return TRUE;
}
