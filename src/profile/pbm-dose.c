/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-dose.h"

#include <math.h>
#include <string.h>

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
band_levels(const PbmStep *step, const PbmChannel *channels, guint n,
            guint16 levels[PBM_MAX_CHANNELS], GError **error)
{
	for (guint b = 0; b < PBM_N_BANDS; b++) {
		gboolean present = FALSE;
		for (guint i = 0; i < n; i++) {
			if (pbm_band_index_of(channels[i].band) != b)
				continue;
			present = TRUE;
			if (!level_fits(step, &channels[i], step->band_level[b], error))
				return FALSE;
			levels[i] = step->band_level[b];
		}
		if (!present && step->band_level[b] > 0) {
			g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_INVALID,
			            "step \"%s\" needs %s light but the panel has no %s channel",
			            step->name, pbm_band_index_to_string(b),
			            pbm_band_index_to_string(b));
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
wavelength_levels(const PbmStep *step, const PbmChannel *channels, guint n,
                  guint16 levels[PBM_MAX_CHANNELS], GError **error)
{
	for (guint w = 0; w < step->n_wavelengths; w++) {
		const PbmWavelengthLevel *want = &step->wavelengths[w];
		gboolean present = FALSE;
		for (guint i = 0; i < n; i++) {
			if (channels[i].wavelength_nm != want->wavelength_nm)
				continue;
			present = TRUE;
			if (!level_fits(step, &channels[i], want->level, error))
				return FALSE;
			levels[i] = want->level;
		}
		if (!present && want->level > 0) {
			g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_INVALID,
			            "step \"%s\" needs %u nm but the panel has no such channel",
			            step->name, want->wavelength_nm);
			return FALSE;
		}
	}
	return TRUE;
}

gboolean
pbm_step_levels_for_panel(const PbmStep *step, const PbmChannel *channels, guint n_channels,
                          guint16 levels[PBM_MAX_CHANNELS], GError **error)
{
	memset(levels, 0, PBM_MAX_CHANNELS * sizeof(guint16));
	if (step->by_wavelength)
		return wavelength_levels(step, channels, n_channels, levels, error);
	return band_levels(step, channels, n_channels, levels, error);
}

/* mW/cm2 per band the step delivers on this panel at distance_cm, duty
 * included. */
static void
step_irradiance(const PbmStep *step, const PbmChannel *channels, guint n_channels,
                const guint16 levels[PBM_MAX_CHANNELS], gdouble distance_cm,
                gdouble out[PBM_N_BANDS])
{
	guint distance_mm = (guint)lround(distance_cm * 10.0);
	gdouble duty = step->duty / 1000.0;

	out[0] = out[1] = 0.0;
	for (guint i = 0; i < n_channels; i++) {
		gdouble full = pbm_channel_irradiance_at(&channels[i], distance_mm);
		out[pbm_band_index_of(channels[i].band)] += full * levels[i] / 1000.0 * duty;
	}
}

/* Only the channels the profile lights need a calibration at its distance. */
static gboolean
distance_covered(const PbmProfile *profile, const PbmChannel *channels, guint n,
                 const gboolean used[PBM_MAX_CHANNELS], GError **error)
{
	guint mm = (guint)lround(profile->distance_cm * 10.0);

	for (guint i = 0; i < n; i++) {
		const PbmChannel *ch = &channels[i];
		if (!used[i])
			continue;
		guint lo = ch->points[0].distance_mm,
		      hi = ch->points[ch->point_count - 1].distance_mm;
		if (mm < lo || mm > hi) {
			g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_RANGE,
			            "profile %s is for %.1f cm but the panel is calibrated only "
			            "from %.1f to %.1f cm (%u nm); its dose there is unknown",
			            profile->name, profile->distance_cm, lo / 10.0, hi / 10.0,
			            ch->wavelength_nm);
			return FALSE;
		}
	}
	return TRUE;
}

/* How long a dose step lasts: until every targeted band has its dose. */
static gdouble
dose_step_seconds(const PbmStep *step, const gdouble irr[PBM_N_BANDS])
{
	gdouble seconds = 0;

	for (guint b = 0; b < PBM_N_BANDS; b++) {
		if (step->dose_target[b] > 0 && irr[b] > 0)
			seconds = MAX(seconds, step->dose_target[b] * 1000.0 / irr[b]);
	}
	return seconds;
}

static gboolean
channels_used(const PbmProfile *profile, const PbmChannel *channels, guint n,
              gboolean used[PBM_MAX_CHANNELS], GError **error)
{
	memset(used, 0, PBM_MAX_CHANNELS * sizeof(gboolean));
	for (guint s = 0; s < profile->steps->len; s++) {
		guint16 levels[PBM_MAX_CHANNELS];
		if (!pbm_step_levels_for_panel(g_ptr_array_index(profile->steps, s), channels, n,
		                               levels, error))
			return FALSE;
		for (guint i = 0; i < n; i++)
			used[i] |= levels[i] > 0;
	}
	return TRUE;
}

static gboolean
targets_reachable(const PbmProfile *profile, const PbmStep *step, const gdouble irr[PBM_N_BANDS],
                  GError **error)
{
	for (guint b = 0; b < PBM_N_BANDS; b++) {
		if (step->dose_target[b] > 0 && irr[b] <= 0) {
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

gboolean
pbm_profile_estimate(const PbmProfile *profile, const PbmChannel *channels, guint n_channels,
                     PbmEstimate *out, GError **error)
{
	PbmEstimate e = { 0 };
	gboolean used[PBM_MAX_CHANNELS];

	if (!channels_used(profile, channels, n_channels, used, error) ||
	    !distance_covered(profile, channels, n_channels, used, error))
		return FALSE;
	for (guint s = 0; s < profile->steps->len; s++) {
		const PbmStep *step = g_ptr_array_index(profile->steps, s);
		guint16 levels[PBM_MAX_CHANNELS];
		gdouble irr[PBM_N_BANDS], seconds;

		if (!pbm_step_levels_for_panel(step, channels, n_channels, levels, error))
			return FALSE;
		step_irradiance(step, channels, n_channels, levels, profile->distance_cm, irr);
		if (!targets_reachable(profile, step, irr, error))
			return FALSE;
		seconds = step->duration_us > 0 ? step->duration_us / (gdouble)G_USEC_PER_SEC
		                                : dose_step_seconds(step, irr);
		for (guint b = 0; b < PBM_N_BANDS; b++) {
			/* a band with a target stops when it is reached */
			gdouble lit = seconds;
			if (step->dose_target[b] > 0 && irr[b] > 0)
				lit = MIN(seconds, step->dose_target[b] * 1000.0 / irr[b]);
			e.dose[b] += irr[b] * lit / 1000.0;
		}
		e.duration_us += (gint64)ceil(seconds * G_USEC_PER_SEC);
	}
	*out = e;
	return TRUE;
}
