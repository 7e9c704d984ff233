/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The daemon configuration, /etc/pbmd/pbmd.conf: which devices are panels,
 * simulated panels, where profiles and the history live, and the safety
 * limits. Every key has a documented default (pbmd.conf(5)); unknown keys
 * are errors, so a typo cannot silently weaken a limit.
 */
#pragma once

#include "pbm-conf-file.h"
#include "pbm-profile.h"

G_BEGIN_DECLS

typedef enum {
	PBM_THERMAL_DERATE, /* lower the output and go on */
	PBM_THERMAL_STOP,   /* end the session with outcome fault */
} PbmThermalAction;

typedef struct {
	guint16 vid;
	guint16 pid;
} PbmDeviceMatch;

typedef struct {
	gint64 max_session_us;
	gdouble daily_dose_max[PBM_N_BANDS]; /* J/cm2, rolling 24 h */
	gdouble daily_dose_total;            /* J/cm2 of both bands, rolling 24 h */
	gdouble session_dose_max;            /* J/cm2 of both bands in one session */
	gdouble max_irradiance;              /* mW/cm2 of both bands at the skin */
	gint64 min_gap_us;
	gdouble max_temperature_c;
	gint64 heartbeat_interval_us;
	gint64 watchdog_timeout_us;
	gboolean allow_visible_pulse;
	gint64 max_pause_us;
	PbmThermalAction thermal_action;
} PbmLimits;

typedef struct {
	gchar *path;          /* NULL for the built-in defaults */
	GArray *devices;      /* PbmDeviceMatch */
	GPtrArray *simulated; /* serials of virtual panels (gchar *) */
	gchar **profile_dirs;
	gchar *history_path;  /* NULL: $STATE_DIRECTORY/history.db */
	gchar *control_group; /* members may run sessions without polkit */
	PbmLimits limits;
} PbmConfig;

/* The defaults, with the profile search path given by the build. */
PbmConfig *pbm_config_new_default(const gchar *const *default_profile_dirs);
/* Defaults overlaid with the keys of path. */
PbmConfig *pbm_config_load(const gchar *path, const gchar *const *default_profile_dirs,
                           GError **error);
PbmConfig *pbm_config_load_data(const gchar *path, const gchar *data, gsize len,
                                const gchar *const *default_profile_dirs, GError **error);
void pbm_config_free(PbmConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmConfig, pbm_config_free)

G_END_DECLS
