/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Session profiles: one libconfig file per profile, NAME.conf, validated
 * with errors that name file, line and key. See pbmd.profile(5).
 */
#pragma once

#include <gio/gio.h>

#include "pbm-cfg.h"
#include "pbm-protocol.h"

G_BEGIN_DECLS

typedef enum {
	PBM_BAND_INDEX_RED = 0,
	PBM_BAND_INDEX_NIR = 1,
	PBM_N_BANDS = 2,
} PbmBandIndex;

#define PBM_PROFILE_NAME_MAX 64
#define PBM_PROFILE_STEPS_MAX 32
#define PBM_PROFILE_STEP_MAX_US (G_GINT64_CONSTANT(7200) * G_USEC_PER_SEC)
#define PBM_PROFILE_DISTANCE_MIN_CM 1.0
#define PBM_PROFILE_DISTANCE_MAX_CM 100.0
#define PBM_PROFILE_DOSE_MAX 100.0 /* J/cm2 per step and band */
/* Visible flicker in this band can trigger photosensitive seizures. */
#define PBM_VISIBLE_PULSE_MIN_HZ 3.0
#define PBM_VISIBLE_PULSE_MAX_HZ 60.0

typedef struct {
	guint16 wavelength_nm;
	guint16 level; /* permille */
} PbmWavelengthLevel;

typedef struct {
	gchar *name;
	guint line;
	gint64 duration_us;               /* 0 for a dose-ended step */
	gdouble dose_target[PBM_N_BANDS]; /* J/cm2; 0 = no target for the band */
	gboolean by_wavelength;
	guint16 band_level[PBM_N_BANDS]; /* permille, when !by_wavelength */
	PbmWavelengthLevel wavelengths[PBM_MAX_CHANNELS];
	guint n_wavelengths;
	guint32 pulse_mhz; /* 0: continuous */
	guint16 duty;      /* permille; 1000 when continuous */
	guint16 ramp_ms;
} PbmStep;

typedef struct {
	gint ref_count;
	gchar *path;
	gchar *name;
	gchar *title;
	gchar *description;
	gdouble distance_cm;
	gboolean goggles_required;
	gboolean allow_visible_pulse;
	gchar *pulse_warning; /* shown before the session; required with allow_visible_pulse */
	GPtrArray *steps;     /* PbmStep * */
} PbmProfile;

PbmProfile *pbm_profile_load(const gchar *path, GError **error);
/* Validates text as if it were the file at path (whose name must match). */
PbmProfile *pbm_profile_load_data(const gchar *path, const gchar *data, gsize len, GError **error);
PbmProfile *pbm_profile_ref(PbmProfile *profile);
void pbm_profile_unref(PbmProfile *profile);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmProfile, pbm_profile_unref)

/* [a-z0-9-], 1..64 characters, not starting or ending with '-'. */
gboolean pbm_profile_name_is_valid(const gchar *name);
gboolean pbm_profile_uses_band(const PbmProfile *profile, PbmBandIndex band);
/* Some step pulses visible light at 3-60 Hz. */
gboolean pbm_profile_has_visible_pulse(const PbmProfile *profile);
PbmBandIndex pbm_band_index_of(enum pbm_band band);
const gchar *pbm_band_index_to_string(PbmBandIndex band);

/* The output levels of a step on a panel's channels. Fails (naming the
 * step, the channel and its limit) when the panel lacks a band or
 * wavelength the step needs, or a level is above a channel's cap: levels
 * are refused, never clamped. */
gboolean pbm_step_levels_for_panel(const PbmStep *step, const PbmChannel *channels,
                                   guint n_channels, guint16 levels[PBM_MAX_CHANNELS],
                                   GError **error);
/* mW/cm2 per band the step delivers on this panel at distance_cm, duty
 * included. */
void pbm_step_irradiance(const PbmStep *step, const PbmChannel *channels, guint n_channels,
                         const guint16 levels[PBM_MAX_CHANNELS], gdouble distance_cm,
                         gdouble out_mw_cm2[PBM_N_BANDS]);

typedef struct {
	gint64 duration_us;
	gdouble dose[PBM_N_BANDS]; /* J/cm2 at the profile's distance */
} PbmEstimate;

/* Plans the profile on a panel: total duration and dose per band, from the
 * calibration table interpolated at the profile distance (not 1/d^2).
 * Fails when the distance lies outside the panel's calibration. */
gboolean pbm_profile_estimate(const PbmProfile *profile, const PbmChannel *channels,
                              guint n_channels, PbmEstimate *out, GError **error);

/* ---- the search path ---- */

typedef struct _PbmProfileStore PbmProfileStore;

/* Loads NAME.conf from each directory in order; the first directory that
 * has a name wins (an admin's file overrides a shipped one, even when the
 * admin's file is broken: that profile is then unavailable, not silently
 * replaced). Missing directories are fine. Never fails: problems are kept
 * in pbm_profile_store_get_problems(). */
PbmProfileStore *pbm_profile_store_load(const gchar *const *dirs);
void pbm_profile_store_free(PbmProfileStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmProfileStore, pbm_profile_store_free)

PbmProfile *pbm_profile_store_lookup(PbmProfileStore *store, const gchar *name);
/* Sorted by name. */
GPtrArray *pbm_profile_store_list(PbmProfileStore *store);
/* GError * for every file that was skipped, in load order. */
GPtrArray *pbm_profile_store_get_problems(PbmProfileStore *store);
/* Human-readable notes: which files were overridden by which. */
GPtrArray *pbm_profile_store_get_notes(PbmProfileStore *store);

G_END_DECLS
