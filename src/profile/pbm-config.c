/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-config.h"

#include <string.h>

#define MIN_US (G_GINT64_CONSTANT(60) * G_USEC_PER_SEC)
#define HOUR_US (60 * MIN_US)
#define SIM_PANELS_MAX 8

static const gchar *const top_keys[] = {
	"devices", "simulate", "profile_dirs", "history_path", "control_group", "limits", NULL,
};

static const gchar *const limit_keys[] = {
	"max_session",           "daily_dose_red",
	"daily_dose_nir",        "min_gap",
	"max_temperature_c",     "daily_dose_total",
	"session_dose_max",      "max_irradiance",
	"heartbeat_interval_ms", "watchdog_timeout_ms",
	"allow_visible_pulse",   "max_pause",
	"thermal_action",        NULL,
};

PbmConfig *
pbm_config_new_default(const gchar *const *default_profile_dirs)
{
	PbmConfig *c = g_new0(PbmConfig, 1);
	PbmDeviceMatch panel = { PBM_USB_VID, PBM_USB_PID };

	c->devices = g_array_new(FALSE, FALSE, sizeof(PbmDeviceMatch));
	g_array_append_val(c->devices, panel);
	c->simulated = g_ptr_array_new_with_free_func(g_free);
	c->profile_dirs = g_strdupv((gchar **)default_profile_dirs);
	c->control_group = g_strdup("pbmd-users");
	c->limits = (PbmLimits){
		.max_session_us = 30 * MIN_US,
		/* pbmd.conf(5) gives the sources of these four */
		.daily_dose_max = { 20.0, 20.0 },
		.daily_dose_total = 20.0,
		.session_dose_max = 10.0,
		.max_irradiance = 50.0,
		.min_gap_us = 10 * MIN_US,
		.max_temperature_c = 50.0,
		.heartbeat_interval_us = G_USEC_PER_SEC,
		.watchdog_timeout_us = 3 * G_USEC_PER_SEC,
		.allow_visible_pulse = FALSE,
		.max_pause_us = 10 * MIN_US,
		.thermal_action = PBM_THERMAL_DERATE,
	};
	return c;
}

void
pbm_config_free(PbmConfig *c)
{
	if (c == NULL)
		return;
	g_free(c->path);
	g_array_unref(c->devices);
	g_ptr_array_unref(c->simulated);
	g_strfreev(c->profile_dirs);
	g_free(c->history_path);
	g_free(c->control_group);
	g_free(c);
}

/* ---- devices ---- */

static gboolean
parse_device(const gchar *text, PbmDeviceMatch *out)
{
	guint64 vid, pid;
	g_auto(GStrv) parts = g_strsplit(text, ":", -1);

	if (g_strv_length(parts) != 2 || strlen(parts[0]) != 4 || strlen(parts[1]) != 4 ||
	    !g_ascii_string_to_unsigned(parts[0], 16, 0, 0xffff, &vid, NULL) ||
	    !g_ascii_string_to_unsigned(parts[1], 16, 0, 0xffff, &pid, NULL))
		return FALSE;
	out->vid = (guint16)vid;
	out->pid = (guint16)pid;
	return TRUE;
}

static gboolean
read_string_array(PbmConfFile *cfg, const config_setting_t *s, const gchar *key, guint min,
                  guint max, const gchar *example, GError **error)
{
	gint n = config_setting_length(s);

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY || n < (gint)min || n > (gint)max ||
	    (n > 0 && config_setting_type(config_setting_get_elem(s, 0)) != CONFIG_TYPE_STRING)) {
		pbm_conf_file_error(cfg, s, key, PBM_CONFIG_ERROR_TYPE, error,
		                    "must be an array of %u to %u strings, e.g. %s", min, max,
		                    example);
		return FALSE;
	}
	return TRUE;
}

static gboolean
read_devices(PbmConfFile *cfg, PbmConfig *c, GError **error)
{
	config_setting_t *s = config_setting_get_member(pbm_conf_file_root(cfg), "devices");

	if (s == NULL)
		return TRUE;
	if (!read_string_array(cfg, s, "devices", 0, 16, "[ \"1209:7062\" ]", error))
		return FALSE;
	g_array_set_size(c->devices, 0);
	for (gint i = 0; i < config_setting_length(s); i++) {
		const gchar *text = config_setting_get_string_elem(s, (guint)i);
		PbmDeviceMatch m;
		if (!parse_device(text, &m)) {
			pbm_conf_file_error(cfg, s, "devices", PBM_CONFIG_ERROR_RANGE, error,
			                    "\"%s\" is not a USB id; write VID:PID in hex as lsusb "
			                    "shows it, e.g. \"1209:7062\"",
			                    text);
			return FALSE;
		}
		g_array_append_val(c->devices, m);
	}
	return TRUE;
}

/* ---- simulated panels ---- */

static gboolean
serial_is_valid(const gchar *serial)
{
	gsize len = strlen(serial);

	if (len == 0 || len > PBM_STRING_SERIAL_LEN)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(serial[i]) && serial[i] != '-' && serial[i] != '_')
			return FALSE;
	}
	return TRUE;
}

static gboolean
read_sim_serials(PbmConfFile *cfg, PbmConfig *c, const config_setting_t *s, GError **error)
{
	if (!read_string_array(cfg, s, "simulate", 1, SIM_PANELS_MAX, "[ \"SIM0001\" ]", error))
		return FALSE;
	for (gint i = 0; i < config_setting_length(s); i++) {
		const gchar *serial = config_setting_get_string_elem(s, (guint)i);
		if (!serial_is_valid(serial)) {
			pbm_conf_file_error(
			        cfg, s, "simulate", PBM_CONFIG_ERROR_RANGE, error,
			        "\"%s\" is not a valid serial; use 1 to %d characters of "
			        "A-Z, a-z, 0-9, '-' and '_'",
			        serial, PBM_STRING_SERIAL_LEN);
			return FALSE;
		}
		for (guint j = 0; j < c->simulated->len; j++) {
			if (g_str_equal(g_ptr_array_index(c->simulated, j), serial)) {
				pbm_conf_file_error(cfg, s, "simulate", PBM_CONFIG_ERROR_INVALID,
				                    error, "serial \"%s\" is listed twice", serial);
				return FALSE;
			}
		}
		g_ptr_array_add(c->simulated, g_strdup(serial));
	}
	return TRUE;
}

static gboolean
read_simulate(PbmConfFile *cfg, PbmConfig *c, GError **error)
{
	config_setting_t *s = config_setting_get_member(pbm_conf_file_root(cfg), "simulate");
	gint64 count = 0;

	if (s == NULL)
		return TRUE;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_BOOL:
		count = config_setting_get_bool(s) ? 1 : 0;
		break;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		if (!pbm_conf_file_get_int(cfg, pbm_conf_file_root(cfg), "simulate", TRUE, 0,
		                           SIM_PANELS_MAX, &count, NULL, error))
			return FALSE;
		break;
	case CONFIG_TYPE_ARRAY:
		return read_sim_serials(cfg, c, s, error);
	default:
		pbm_conf_file_error(
		        cfg, s, "simulate", PBM_CONFIG_ERROR_TYPE, error,
		        "must be true/false, a number of panels (0 to %d) or an array of "
		        "serials",
		        SIM_PANELS_MAX);
		return FALSE;
	}
	for (gint64 i = 0; i < count; i++)
		g_ptr_array_add(c->simulated, g_strdup_printf("SIM%04" G_GINT64_FORMAT, i + 1));
	return TRUE;
}

/* ---- paths ---- */

static gboolean
check_absolute(PbmConfFile *cfg, const config_setting_t *s, const gchar *key, const gchar *path,
               GError **error)
{
	if (g_path_is_absolute(path))
		return TRUE;
	pbm_conf_file_error(cfg, s, key, PBM_CONFIG_ERROR_RANGE, error,
	                    "\"%s\" is not an absolute path; start it with /", path);
	return FALSE;
}

static gboolean
check_plain_path(PbmConfFile *cfg, const config_setting_t *s, const gchar *key, const gchar *path,
                 GError **error)
{
	if (strlen(path) > 4096) {
		pbm_conf_file_error(cfg, s, key, PBM_CONFIG_ERROR_RANGE, error,
		                    "a path is longer than 4096 bytes");
		return FALSE;
	}
	for (const gchar *p = path; *p != '\0'; p++) {
		if ((guchar)*p < 0x20) {
			pbm_conf_file_error(cfg, s, key, PBM_CONFIG_ERROR_RANGE, error,
			                    "a path contains a control character");
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
read_paths(PbmConfFile *cfg, PbmConfig *c, GError **error)
{
	config_setting_t *root = pbm_conf_file_root(cfg);
	config_setting_t *dirs = config_setting_get_member(root, "profile_dirs");
	gboolean found = FALSE;

	if (dirs != NULL) {
		gint n = config_setting_length(dirs);
		if (!read_string_array(cfg, dirs, "profile_dirs", 1, 8,
		                       "[ \"/etc/pbmd/profiles.d\" ]", error))
			return FALSE;
		g_strfreev(c->profile_dirs);
		c->profile_dirs = g_new0(gchar *, n + 1);
		for (gint i = 0; i < n; i++) {
			const gchar *dir = config_setting_get_string_elem(dirs, (guint)i);
			if (!check_absolute(cfg, dirs, "profile_dirs", dir, error) ||
			    !check_plain_path(cfg, dirs, "profile_dirs", dir, error))
				return FALSE;
			c->profile_dirs[i] = g_strdup(dir);
		}
	}
	if (!pbm_conf_file_get_string(cfg, root, "history_path", FALSE, 4096, &c->history_path,
	                              &found, error))
		return FALSE;
	if (found && !check_absolute(cfg, config_setting_get_member(root, "history_path"),
	                             "history_path", c->history_path, error))
		return FALSE;
	return TRUE;
}

static gboolean
group_name_is_valid(const gchar *name)
{
	gsize len = strlen(name);

	if (len == 0 || len > 32 || !(g_ascii_islower(name[0]) || name[0] == '_'))
		return FALSE;
	for (gsize i = 1; i < len; i++) {
		if (!(g_ascii_islower(name[i]) || g_ascii_isdigit(name[i]) || name[i] == '_' ||
		      name[i] == '-'))
			return FALSE;
	}
	return TRUE;
}

static gboolean
read_group(PbmConfFile *cfg, PbmConfig *c, GError **error)
{
	config_setting_t *root = pbm_conf_file_root(cfg);
	gboolean found = FALSE;

	if (!pbm_conf_file_get_string(cfg, root, "control_group", FALSE, 32, &c->control_group,
	                              &found, error))
		return FALSE;
	if (found && !group_name_is_valid(c->control_group)) {
		pbm_conf_file_error(
		        cfg, config_setting_get_member(root, "control_group"), "control_group",
		        PBM_CONFIG_ERROR_RANGE, error,
		        "\"%s\" is not a group name; use 1 to 32 characters of a-z, 0-9, "
		        "'_' and '-', starting with a letter or '_'",
		        c->control_group);
		return FALSE;
	}
	return TRUE;
}

/* ---- limits ---- */

static gboolean
read_thermal_action(PbmConfFile *cfg, const config_setting_t *limits, PbmLimits *l, GError **error)
{
	g_autofree gchar *action = NULL;
	gboolean found = FALSE;

	if (!pbm_conf_file_get_string(cfg, limits, "thermal_action", FALSE, 32, &action, &found,
	                              error))
		return FALSE;
	if (!found)
		return TRUE;
	if (g_str_equal(action, "derate")) {
		l->thermal_action = PBM_THERMAL_DERATE;
	} else if (g_str_equal(action, "stop")) {
		l->thermal_action = PBM_THERMAL_STOP;
	} else {
		pbm_conf_file_error(cfg, config_setting_get_member(limits, "thermal_action"),
		                    "thermal_action", PBM_CONFIG_ERROR_RANGE, error,
		                    "\"%s\" is not an action; allowed \"derate\" or \"stop\"",
		                    action);
		return FALSE;
	}
	return TRUE;
}

static gboolean
read_limits(PbmConfFile *cfg, PbmConfig *c, GError **error)
{
	config_setting_t *limits = config_setting_get_member(pbm_conf_file_root(cfg), "limits");
	PbmLimits *l = &c->limits;
	gint64 hb_ms = l->heartbeat_interval_us / 1000, wd_ms = l->watchdog_timeout_us / 1000;

	if (limits == NULL)
		return TRUE;
	if (config_setting_type(limits) != CONFIG_TYPE_GROUP) {
		pbm_conf_file_error(cfg, limits, "limits", PBM_CONFIG_ERROR_TYPE, error,
		                    "must be a group: limits = { max_session = \"30m\"; ... };");
		return FALSE;
	}
	if (!pbm_conf_file_check_keys(cfg, limits, limit_keys, error) ||
	    !pbm_conf_file_get_duration(cfg, limits, "max_session", FALSE, G_USEC_PER_SEC,
	                                2 * HOUR_US, &l->max_session_us, NULL, error) ||
	    !pbm_conf_file_get_double(cfg, limits, "daily_dose_red", FALSE, 0.1, 500.0, "J/cm2",
	                              &l->daily_dose_max[PBM_BAND_INDEX_RED], NULL, error) ||
	    !pbm_conf_file_get_double(cfg, limits, "daily_dose_nir", FALSE, 0.1, 500.0, "J/cm2",
	                              &l->daily_dose_max[PBM_BAND_INDEX_NIR], NULL, error) ||
	    !pbm_conf_file_get_double(cfg, limits, "daily_dose_total", FALSE, 0.1, 1000.0, "J/cm2",
	                              &l->daily_dose_total, NULL, error) ||
	    !pbm_conf_file_get_double(cfg, limits, "session_dose_max", FALSE, 0.1, 500.0, "J/cm2",
	                              &l->session_dose_max, NULL, error) ||
	    !pbm_conf_file_get_double(cfg, limits, "max_irradiance", FALSE, 1.0, 500.0, "mW/cm2",
	                              &l->max_irradiance, NULL, error) ||
	    !pbm_conf_file_get_duration(cfg, limits, "min_gap", FALSE, 0, 24 * HOUR_US,
	                                &l->min_gap_us, NULL, error) ||
	    !pbm_conf_file_get_double(cfg, limits, "max_temperature_c", FALSE, 20.0, 80.0, "C",
	                              &l->max_temperature_c, NULL, error) ||
	    !pbm_conf_file_get_int(cfg, limits, "heartbeat_interval_ms", FALSE, 200, 5000, &hb_ms,
	                           NULL, error) ||
	    !pbm_conf_file_get_int(cfg, limits, "watchdog_timeout_ms", FALSE, PBM_WATCHDOG_MIN_MS,
	                           PBM_WATCHDOG_MAX_MS, &wd_ms, NULL, error) ||
	    !pbm_conf_file_get_bool(cfg, limits, "allow_visible_pulse", FALSE,
	                            &l->allow_visible_pulse, NULL, error) ||
	    !pbm_conf_file_get_duration(cfg, limits, "max_pause", FALSE, 10 * G_USEC_PER_SEC,
	                                HOUR_US, &l->max_pause_us, NULL, error) ||
	    !read_thermal_action(cfg, limits, l, error))
		return FALSE;
	/* One late heartbeat must not switch the light off. */
	if (wd_ms < 2 * hb_ms) {
		pbm_conf_file_error(
		        cfg, limits, "watchdog_timeout_ms", PBM_CONFIG_ERROR_INVALID, error,
		        "%" G_GINT64_FORMAT " ms must be at least twice heartbeat_interval_ms "
		        "(%" G_GINT64_FORMAT " ms)",
		        wd_ms, hb_ms);
		return FALSE;
	}
	l->heartbeat_interval_us = hb_ms * 1000;
	l->watchdog_timeout_us = wd_ms * 1000;
	return TRUE;
}

static PbmConfig *
config_from_cfg(PbmConfFile *cfg, const gchar *const *default_profile_dirs, GError **error)
{
	g_autoptr(PbmConfig) c = pbm_config_new_default(default_profile_dirs);

	c->path = g_strdup(cfg->path);
	if (!pbm_conf_file_check_keys(cfg, pbm_conf_file_root(cfg), top_keys, error) ||
	    !read_devices(cfg, c, error) || !read_simulate(cfg, c, error) ||
	    !read_paths(cfg, c, error) || !read_group(cfg, c, error) || !read_limits(cfg, c, error))
		return NULL;
	return g_steal_pointer(&c);
}

PbmConfig *
pbm_config_load(const gchar *path, const gchar *const *default_profile_dirs, GError **error)
{
	g_autoptr(PbmConfFile) cfg = pbm_conf_file_load(path, error);

	return cfg != NULL ? config_from_cfg(cfg, default_profile_dirs, error) : NULL;
}

PbmConfig *
pbm_config_load_data(const gchar *path, const gchar *data, gsize len,
                     const gchar *const *default_profile_dirs, GError **error)
{
	g_autoptr(PbmConfFile) cfg = pbm_conf_file_load_data(path, data, len, error);

	return cfg != NULL ? config_from_cfg(cfg, default_profile_dirs, error) : NULL;
}
