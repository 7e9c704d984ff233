/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A profile on a real panel: which output levels its steps need at the
 * session's distance (prescriptions from the panel's calibration table,
 * interpolated, not 1/d^2), and the duration, dose, eye exposure and
 * highest irradiance a whole session gives.
 */
#pragma once

#include "pbm-profile.h"

G_BEGIN_DECLS

/* The infrared eye limit of IEC 62471 / Directive 2006/25/EC for the
 * cornea and lens, 780-3000 nm: a radiant exposure of 18000 * t^0.25 J/m2
 * for exposures up to 1000 s, an irradiance of 100 W/m2 beyond. */
#define PBM_EYE_IR_MIN_NM 780
#define PBM_EYE_IR_MAX_NM 3000
gdouble pbm_eye_ir_limit(gint64 duration_us); /* J/m2 allowed over duration_us */

/* The output levels of a step on a panel's channels at distance_cm.
 * Prescribed irradiances become levels from the calibration, rounded down
 * so a prescription is never exceeded. Fails (naming the step, the band
 * or channel and what the panel can give) when the panel lacks a band or
 * wavelength the step needs, cannot reach a prescription, or a level is
 * above a channel's cap: refused, never clamped. */
gboolean pbm_step_levels_for_panel(const PbmStep *step, const PbmChannel *channels,
                                   guint n_channels, gdouble distance_cm,
                                   guint16 levels[PBM_MAX_CHANNELS], GError **error);
/* Every channel the profile lights is calibrated at distance_cm: where
 * it is not, the dose there is unknown (PBM_CONFIG_ERROR_RANGE). */
gboolean pbm_profile_check_distance(const PbmProfile *profile, const PbmChannel *channels,
                                    guint n_channels, gdouble distance_cm, GError **error);

typedef struct {
	gint64 duration_us;
	gdouble dose[PBM_N_BANDS]; /* J/cm2 at the distance, ramps included */
	gdouble eye_exposure;      /* J/m2 of 780-3000 nm at the distance, whole session */
	gdouble max_irradiance;    /* mW/cm2 of both bands together, the brightest step */
} PbmEstimate;

/* Plans the profile on a panel at the profile's distance_cm. Fails when the
 * distance lies outside the panel's calibration or a step cannot run on it. */
gboolean pbm_profile_estimate(const PbmProfile *profile, const PbmChannel *channels,
                              guint n_channels, PbmEstimate *out, GError **error);

G_END_DECLS
