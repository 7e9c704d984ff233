/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A profile on a real panel: which output levels its steps need, the
 * irradiance they give at the profile's distance (from the panel's
 * calibration table), and the duration and dose a whole session delivers.
 */
#pragma once

#include "pbm-profile.h"

G_BEGIN_DECLS

/* The output levels of a step on a panel's channels. Fails (naming the
 * step, the channel and its limit) when the panel lacks a band or
 * wavelength the step needs, or a level is above a channel's cap: levels
 * are refused, never clamped. */
gboolean pbm_step_levels_for_panel(const PbmStep *step, const PbmChannel *channels,
                                   guint n_channels, guint16 levels[PBM_MAX_CHANNELS],
                                   GError **error);
typedef struct {
	gint64 duration_us;
	gdouble dose[PBM_N_BANDS]; /* J/cm2 at the profile's distance */
} PbmEstimate;

/* Plans the profile on a panel: total duration and dose per band, from the
 * calibration table interpolated at the profile distance (not 1/d^2).
 * Fails when the distance lies outside the panel's calibration. */
gboolean pbm_profile_estimate(const PbmProfile *profile, const PbmChannel *channels,
                              guint n_channels, PbmEstimate *out, GError **error);

G_END_DECLS
