/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Reading libconfig files people wrote by hand: every accessor checks
 * presence, type and range and fails with "FILE:LINE: KEY: what is wrong;
 * what is allowed". Shared by the daemon configuration (pbm-config.h, what
 * pbmd.conf means) and the profiles (pbm-profile.h).
 */
#pragma once

#include <gio/gio.h>
#include <libconfig.h>

G_BEGIN_DECLS

#define PBM_CONFIG_ERROR (pbm_config_error_quark())
GQuark pbm_config_error_quark(void);

typedef enum {
	PBM_CONFIG_ERROR_UNREADABLE,  /* cannot open or read the file */
	PBM_CONFIG_ERROR_SYNTAX,      /* libconfig cannot parse it */
	PBM_CONFIG_ERROR_UNKNOWN_KEY, /* a key this format does not have */
	PBM_CONFIG_ERROR_TYPE,        /* e.g. a string where a number goes */
	PBM_CONFIG_ERROR_RANGE,       /* a value outside its allowed range */
	PBM_CONFIG_ERROR_MISSING,     /* a required key is absent */
	PBM_CONFIG_ERROR_INVALID,     /* keys that do not fit together */
	PBM_CONFIG_ERROR_NAME,        /* profile name and file name disagree */
	PBM_CONFIG_ERROR_UNTRUSTED,   /* someone but an administrator could change it */
} PbmConfigError;

/* Files larger than this are refused before parsing. */
#define PBM_CONF_FILE_MAX_SIZE (256 * 1024)

typedef struct {
	config_t config;
	gchar *path;
} PbmConfFile;

/* Reads and parses path; refuses @include (a profile must be one file). */
PbmConfFile *pbm_conf_file_load(const gchar *path, GError **error);
/* The same for text already in memory; path names it in messages. */
PbmConfFile *pbm_conf_file_load_data(const gchar *path, const gchar *data, gsize len,
                                     GError **error);
void pbm_conf_file_free(PbmConfFile *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmConfFile, pbm_conf_file_free)

config_setting_t *pbm_conf_file_root(PbmConfFile *cfg);
guint pbm_conf_file_line(const config_setting_t *setting);

/* Sets error with "path:line: key: message". */
void pbm_conf_file_error(PbmConfFile *cfg, const config_setting_t *setting, const gchar *key,
                         PbmConfigError code, GError **error, const gchar *format, ...)
        G_GNUC_PRINTF(6, 7);

/* Fails on the first member of group whose name is not in allowed. */
gboolean pbm_conf_file_check_keys(PbmConfFile *cfg, const config_setting_t *group,
                                  const gchar *const *allowed, GError **error);

/* Each getter: a missing key leaves *out untouched and returns TRUE unless
 * required; a present key must have the right type and range. *found (may
 * be NULL) tells whether the key was there. */
gboolean pbm_conf_file_get_int(PbmConfFile *cfg, const config_setting_t *group, const gchar *key,
                               gboolean required, gint64 min, gint64 max, gint64 *out,
                               gboolean *found, GError **error);
gboolean pbm_conf_file_get_double(PbmConfFile *cfg, const config_setting_t *group, const gchar *key,
                                  gboolean required, gdouble min, gdouble max, const gchar *unit,
                                  gdouble *out, gboolean *found, GError **error);
gboolean pbm_conf_file_get_bool(PbmConfFile *cfg, const config_setting_t *group, const gchar *key,
                                gboolean required, gboolean *out, gboolean *found, GError **error);
/* Strings must be valid UTF-8 without control characters. */
gboolean pbm_conf_file_get_string(PbmConfFile *cfg, const config_setting_t *group, const gchar *key,
                                  gboolean required, gsize max_len, gchar **out, gboolean *found,
                                  GError **error);
/* A number of seconds, or a string such as "10m" or "1m30s". */
gboolean pbm_conf_file_get_duration(PbmConfFile *cfg, const config_setting_t *group,
                                    const gchar *key, gboolean required, gint64 min_us,
                                    gint64 max_us, gint64 *out_us, gboolean *found, GError **error);

G_END_DECLS
