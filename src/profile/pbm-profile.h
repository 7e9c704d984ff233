/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Session profiles: one libconfig file per profile, NAME.conf, validated
 * with errors that name file, line and key. See pbmd.profile(5).
 */
#pragma once

#include <gio/gio.h>

#include "pbm-conf-file.h"
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
/* mW/cm2 at the skin per step and band: above any home panel; what a
 * session may use is the lower limits.max_irradiance of pbmd.conf. */
#define PBM_PROFILE_IRRADIANCE_MAX 500.0
#define PBM_PROFILE_INTERVAL_MAX_US (G_GINT64_CONSTANT(14) * 24 * 3600 * G_USEC_PER_SEC)
/* Visible flicker in this band can trigger photosensitive seizures. */
#define PBM_VISIBLE_PULSE_MIN_HZ 3.0
#define PBM_VISIBLE_PULSE_MAX_HZ 60.0
/* IR-A starts at 780 nm (CIE; IEC 62471): anything shorter can be seen,
 * whichever band a panel files it under. */
#define PBM_VISIBLE_MAX_NM 780

/* How a step sets a band or wavelength: a prescription (irradiance at the
 * skin, the same on every panel) or a share of whatever this panel gives. */
typedef enum {
	PBM_LEVEL_OFF,
	PBM_LEVEL_PERCENT,
	PBM_LEVEL_IRRADIANCE,
} PbmLevelKind;

typedef struct {
	PbmLevelKind kind;
	guint16 permille;   /* PBM_LEVEL_PERCENT */
	gdouble irradiance; /* PBM_LEVEL_IRRADIANCE: mW/cm2 at the skin, duty included */
} PbmLevel;

typedef struct {
	guint16 wavelength_nm;
	PbmLevel level;
} PbmWavelengthLevel;

typedef struct {
	gchar *name;
	guint line;
	gint64 duration_us; /* 0 for a dose-ended step */
	/* J/cm2; 0 = none. In a dose-ended step the band stops when it has its
	 * dose; in a timed one it was turned into the band's irradiance. */
	gdouble dose_target[PBM_N_BANDS];
	gboolean by_wavelength;
	PbmLevel band[PBM_N_BANDS]; /* when !by_wavelength */
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
	gchar *pulse_warning;   /* shown before the session; required with allow_visible_pulse */
	gint64 min_interval_us; /* between two sessions of this profile; 0: none */
	GPtrArray *steps;       /* PbmStep * */
} PbmProfile;

PbmProfile *pbm_profile_load(const gchar *path, GError **error);
/* Validates text as if it were the file at path (whose name must match). */
PbmProfile *pbm_profile_load_data(const gchar *path, const gchar *data, gsize len, GError **error);
PbmProfile *pbm_profile_ref(PbmProfile *profile);
void pbm_profile_unref(PbmProfile *profile);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmProfile, pbm_profile_unref)

/* [a-z0-9-], 1..64 characters, not starting or ending with '-'. */
gboolean pbm_profile_name_is_valid(const gchar *name);
/* Some step pulses visible light at 3-60 Hz. */
gboolean pbm_profile_has_visible_pulse(const PbmProfile *profile);
/* Every step is a prescription: the session gives the same on every panel. */
gboolean pbm_profile_is_prescribed(const PbmProfile *profile);
/* Pulsed in the 3-60 Hz band that can trigger seizures. */
gboolean pbm_step_pulse_is_flicker(const PbmStep *step);
PbmBandIndex pbm_band_index_of(enum pbm_band band);
const gchar *pbm_band_index_to_string(PbmBandIndex band);

G_END_DECLS
