/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-conf-file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pbm-format.h"

/* The name is the error domain's string at run time; clang-format would
 * read it as a subtraction and space it out. */
/* clang-format off */
G_DEFINE_QUARK(pbm-config-error-quark, pbm_config_error)
/* clang-format on */

static const gchar *
type_name(gint type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group { ... }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "a whole number";
	case CONFIG_TYPE_FLOAT:
		return "a decimal number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "true or false";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ... ]";
	case CONFIG_TYPE_LIST:
		return "a list ( ... )";
	default:
		return "nothing";
	}
}

guint
pbm_conf_file_line(const config_setting_t *setting)
{
	return config_setting_source_line(setting);
}

config_setting_t *
pbm_conf_file_root(PbmConfFile *cfg)
{
	return config_root_setting(&cfg->config);
}

/* "path:line" of a setting (the file's own path, for messages). */
static gchar *
setting_where(PbmConfFile *cfg, const config_setting_t *setting)
{
	/* The root group has no line of its own: name just the file. */
	if (pbm_conf_file_line(setting) == 0)
		return g_strdup(cfg->path);
	return g_strdup_printf("%s:%u", cfg->path, pbm_conf_file_line(setting));
}

void
pbm_conf_file_error(PbmConfFile *cfg, const config_setting_t *setting, const gchar *key,
                    PbmConfigError code, GError **error, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *msg = NULL;
	g_autofree gchar *where = setting_where(cfg, setting);

	va_start(args, format);
	msg = g_strdup_vprintf(format, args);
	va_end(args);
	if (key != NULL)
		g_set_error(error, PBM_CONFIG_ERROR, code, "%s: %s: %s", where, key, msg);
	else
		g_set_error(error, PBM_CONFIG_ERROR, code, "%s: %s", where, msg);
}

static gboolean
has_include(const gchar *text)
{
	for (const gchar *line = text; line != NULL && *line != '\0';) {
		while (*line == ' ' || *line == '\t')
			line++;
		if (g_str_has_prefix(line, "@include"))
			return TRUE;
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	return FALSE;
}

/* libconfig 1.5 stores an integer that does not fit 32 bits (and has no L
 * suffix) as a wrapped value, silently: "duration = 4294967356;" would read
 * as one minute. Such literals are refused before libconfig sees them. */
static gboolean
find_wide_integer(const gchar *text, guint *line_out, gchar **literal_out)
{
	guint line = 1;

	for (const gchar *p = text; *p != '\0'; p++) {
		if (*p == '\n') {
			line++;
		} else if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				else if (*p == '\n')
					line++;
			}
			if (*p == '\0')
				break;
		} else if (*p == '#' || (*p == '/' && p[1] == '/')) {
			while (p[1] != '\0' && p[1] != '\n')
				p++;
		} else if (*p == '/' && p[1] == '*') {
			for (p += 2; *p != '\0' && !(*p == '*' && p[1] == '/'); p++)
				line += *p == '\n';
			if (*p == '\0')
				break;
			p++;
		} else if (g_ascii_isdigit(*p) && (p == text || !(g_ascii_isalnum(p[-1]) ||
		                                                  p[-1] == '_' || p[-1] == '.'))) {
			const gchar *start = p;
			gboolean hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
			guint64 value = 0;
			gboolean wide = FALSE;

			if (hex)
				p += 2;
			for (; hex ? g_ascii_isxdigit(*p) : g_ascii_isdigit(*p); p++) {
				guint digit =
				        hex ? (guint)g_ascii_xdigit_value(*p) : (guint)(*p - '0');
				wide |= value > (G_MAXUINT64 - digit) / (hex ? 16 : 10);
				value = value * (hex ? 16 : 10) + digit;
			}
			/* floats and explicit 64-bit literals are read correctly */
			if (*p == '.' || *p == 'e' || *p == 'E' || *p == 'L') {
				p--;
				continue;
			}
			if (wide || value > (hex ? G_MAXUINT32 : (guint64)G_MAXINT32)) {
				*line_out = line;
				*literal_out = g_strndup(start, (gsize)(p - start));
				return TRUE;
			}
			p--;
		}
	}
	return FALSE;
}

PbmConfFile *
pbm_conf_file_load_data(const gchar *path, const gchar *data, gsize len, GError **error)
{
	g_autoptr(PbmConfFile) cfg = g_new0(PbmConfFile, 1);
	g_autofree gchar *text = NULL;
	g_autofree gchar *wide = NULL;
	guint wide_line = 0;

	config_init(&cfg->config);
	cfg->path = g_strdup(path);
	if (len > PBM_CONF_FILE_MAX_SIZE) {
		g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_UNREADABLE,
		            "%s: %" G_GSIZE_FORMAT " bytes is too large (at most %u)", path, len,
		            (guint)PBM_CONF_FILE_MAX_SIZE);
		return NULL;
	}
	if (memchr(data, '\0', len) != NULL || !g_utf8_validate(data, (gssize)len, NULL)) {
		g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_SYNTAX,
		            "%s: not a text file (NUL bytes or invalid UTF-8)", path);
		return NULL;
	}
	text = g_strndup(data, len);
	if (find_wide_integer(text, &wide_line, &wide)) {
		g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_RANGE,
		            "%s:%u: the number %s is too large to be read safely; numbers here "
		            "go up to %d",
		            path, wide_line, wide, G_MAXINT32);
		return NULL;
	}
	if (has_include(text)) {
		g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_SYNTAX,
		            "%s: @include is not allowed; put everything in this one file", path);
		return NULL;
	}
	if (config_read_string(&cfg->config, text) != CONFIG_TRUE) {
		g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_SYNTAX,
		            "%s:%d: syntax error: %s", path, config_error_line(&cfg->config),
		            config_error_text(&cfg->config));
		return NULL;
	}
	return g_steal_pointer(&cfg);
}

/* A profile directory may hold anything: a FIFO would block the daemon and
 * /dev/zero would never end, so only regular files are read, and no more
 * than the size limit. */
static gchar *
read_bounded(const gchar *path, gsize *len, GError **error)
{
	g_autofree gchar *buf = g_malloc(PBM_CONF_FILE_MAX_SIZE + 2);
	struct stat st;
	gsize got = 0;
	gint fd = g_open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0);

	if (fd < 0) {
		g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_UNREADABLE,
		            "%s: cannot open: %s", path, g_strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_UNREADABLE,
		            "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	while (got <= PBM_CONF_FILE_MAX_SIZE) {
		gssize n = read(fd, buf + got, PBM_CONF_FILE_MAX_SIZE + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_UNREADABLE,
			            "%s: cannot read: %s", path, g_strerror(errno));
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		got += (gsize)n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return g_steal_pointer(&buf);
}

PbmConfFile *
pbm_conf_file_load(const gchar *path, GError **error)
{
	gsize len = 0;
	g_autofree gchar *text = read_bounded(path, &len, error);

	if (text == NULL)
		return NULL;
	return pbm_conf_file_load_data(path, text, len, error);
}

void
pbm_conf_file_free(PbmConfFile *cfg)
{
	if (cfg == NULL)
		return;
	config_destroy(&cfg->config);
	g_free(cfg->path);
	g_free(cfg);
}

gboolean
pbm_conf_file_check_keys(PbmConfFile *cfg, const config_setting_t *group,
                         const gchar *const *allowed, GError **error)
{
	gint n = config_setting_length(group);

	for (gint i = 0; i < n; i++) {
		config_setting_t *member = config_setting_get_elem(group, (guint)i);
		const gchar *name = config_setting_name(member);
		g_autofree gchar *list = NULL;

		if (name == NULL || g_strv_contains(allowed, name))
			continue;
		list = g_strjoinv(", ", (gchar **)allowed);
		pbm_conf_file_error(cfg, member, name, PBM_CONFIG_ERROR_UNKNOWN_KEY, error,
		                    "unknown key (a typo must not silently change a setting); "
		                    "allowed here: %s",
		                    list);
		return FALSE;
	}
	return TRUE;
}

static config_setting_t *
member(PbmConfFile *cfg, const config_setting_t *group, const gchar *key, gboolean required,
       gboolean *found, GError **error)
{
	config_setting_t *s = config_setting_get_member(group, key);

	if (found != NULL)
		*found = s != NULL;
	if (s == NULL && required)
		pbm_conf_file_error(cfg, group, key, PBM_CONFIG_ERROR_MISSING, error,
		                    "required key is missing");
	return s;
}

static gboolean
wrong_type(PbmConfFile *cfg, const config_setting_t *s, const gchar *key, const gchar *want,
           GError **error)
{
	pbm_conf_file_error(cfg, s, key, PBM_CONFIG_ERROR_TYPE, error, "must be %s, not %s", want,
	                    type_name(config_setting_type(s)));
	return FALSE;
}

gboolean
pbm_conf_file_get_int(PbmConfFile *cfg, const config_setting_t *group, const gchar *key,
                      gboolean required, gint64 min, gint64 max, gint64 *out, gboolean *found,
                      GError **error)
{
	config_setting_t *s = member(cfg, group, key, required, found, error);
	gint64 v;

	if (s == NULL)
		return !required;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return wrong_type(cfg, s, key, "a whole number", error);
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		pbm_conf_file_error(cfg, s, key, PBM_CONFIG_ERROR_RANGE, error,
		                    "%" G_GINT64_FORMAT
		                    " is out of range; allowed %" G_GINT64_FORMAT
		                    " to %" G_GINT64_FORMAT,
		                    v, min, max);
		return FALSE;
	}
	*out = v;
	return TRUE;
}

gboolean
pbm_conf_file_get_double(PbmConfFile *cfg, const config_setting_t *group, const gchar *key,
                         gboolean required, gdouble min, gdouble max, const gchar *unit,
                         gdouble *out, gboolean *found, GError **error)
{
	config_setting_t *s = member(cfg, group, key, required, found, error);
	gdouble v;

	if (s == NULL)
		return !required;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = (gdouble)config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_FLOAT:
		v = config_setting_get_float(s);
		break;
	default:
		return wrong_type(cfg, s, key, "a number", error);
	}
	if (!(v >= min && v <= max)) { /* also refuses NaN */
		pbm_conf_file_error(cfg, s, key, PBM_CONFIG_ERROR_RANGE, error,
		                    "%g %s is out of range; allowed %g to %g %s", v, unit, min, max,
		                    unit);
		return FALSE;
	}
	*out = v;
	return TRUE;
}

gboolean
pbm_conf_file_get_bool(PbmConfFile *cfg, const config_setting_t *group, const gchar *key,
                       gboolean required, gboolean *out, gboolean *found, GError **error)
{
	config_setting_t *s = member(cfg, group, key, required, found, error);

	if (s == NULL)
		return !required;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return wrong_type(cfg, s, key, "true or false", error);
	*out = config_setting_get_bool(s) != 0;
	return TRUE;
}

gboolean
pbm_conf_file_get_string(PbmConfFile *cfg, const config_setting_t *group, const gchar *key,
                         gboolean required, gsize max_len, gchar **out, gboolean *found,
                         GError **error)
{
	config_setting_t *s = member(cfg, group, key, required, found, error);
	const gchar *v;

	if (s == NULL)
		return !required;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return wrong_type(cfg, s, key, "a string", error);
	v = config_setting_get_string(s);
	if (strlen(v) > max_len) {
		pbm_conf_file_error(cfg, s, key, PBM_CONFIG_ERROR_RANGE, error,
		                    "is %" G_GSIZE_FORMAT " bytes long; at most %" G_GSIZE_FORMAT,
		                    strlen(v), max_len);
		return FALSE;
	}
	for (const gchar *p = v; *p != '\0'; p++) {
		if ((guchar)*p < 0x20 && *p != '\n') {
			pbm_conf_file_error(cfg, s, key, PBM_CONFIG_ERROR_RANGE, error,
			                    "contains a control character; use plain text");
			return FALSE;
		}
	}
	g_free(*out);
	*out = g_strdup(v);
	return TRUE;
}

gboolean
pbm_conf_file_get_duration(PbmConfFile *cfg, const config_setting_t *group, const gchar *key,
                           gboolean required, gint64 min_us, gint64 max_us, gint64 *out_us,
                           gboolean *found, GError **error)
{
	config_setting_t *s = member(cfg, group, key, required, found, error);
	g_autoptr(GError) local = NULL;
	g_autofree gchar *min = pbm_duration_format(min_us);
	g_autofree gchar *max = pbm_duration_format(max_us);
	gint64 v;

	if (s == NULL)
		return !required;
	if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64) {
		gint64 seconds = config_setting_get_int64(s);
		if (seconds < 0 || seconds > G_MAXINT32) {
			pbm_conf_file_error(cfg, s, key, PBM_CONFIG_ERROR_RANGE, error,
			                    "%" G_GINT64_FORMAT
			                    " s is out of range; allowed %s to %s",
			                    seconds, min, max);
			return FALSE;
		}
		v = seconds * G_USEC_PER_SEC;
	} else if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		if (!pbm_duration_parse(config_setting_get_string(s), G_MAXINT64 / 2, &v, &local)) {
			pbm_conf_file_error(cfg, s, key, PBM_CONFIG_ERROR_RANGE, error, "%s",
			                    local->message);
			return FALSE;
		}
	} else {
		return wrong_type(cfg, s, key, "a duration (\"10m\", \"90s\" or seconds)", error);
	}
	if (v < min_us || v > max_us) {
		g_autofree gchar *got = pbm_duration_format(v);
		pbm_conf_file_error(cfg, s, key, PBM_CONFIG_ERROR_RANGE, error,
		                    "%s is out of range; allowed %s to %s", got, min, max);
		return FALSE;
	}
	*out_us = v;
	return TRUE;
}
