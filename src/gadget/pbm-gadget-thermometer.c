/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-gadget-thermometer.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "pbm-protocol.h"

/* The name is the error domain's string at run time; clang-format would
 * read it as a subtraction and space it out. */
/* clang-format off */
G_DEFINE_QUARK(pbm-gadget-thermometer-error-quark, pbm_gadget_thermometer_error)
/* clang-format on */

/* "-40000\n" needs 8 bytes; anything much longer is not a temperature. */
#define READ_MAX 32
#define MILLI_PER_DECI 100

struct _PbmGadgetThermometer {
	gchar *path;
};

/* The file's bytes, at most READ_MAX; *len is how many. The file is opened
 * anew each time: a driver that rebinds gives the attribute a new inode. */
static gboolean
read_file(const gchar *path, gchar *buf, gsize *len, GError **error)
{
	gssize n;
	gint fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		saved = errno;
		g_set_error(error, PBM_GADGET_THERMOMETER_ERROR, PBM_GADGET_THERMOMETER_ERROR_READ,
		            "cannot open the temperature file %s: %s; check temperature.path in "
		            "the configuration (a hwmon temp*_input or thermal_zone*/temp file)",
		            path, g_strerror(saved));
		return FALSE;
	}
	do
		n = read(fd, buf, READ_MAX);
	while (n < 0 && errno == EINTR);
	saved = errno;
	close(fd);
	if (n < 0) {
		g_set_error(error, PBM_GADGET_THERMOMETER_ERROR, PBM_GADGET_THERMOMETER_ERROR_READ,
		            "cannot read the temperature file %s: %s; the sensor or its driver "
		            "failed",
		            path, g_strerror(saved));
		return FALSE;
	}
	*len = (gsize)n;
	return TRUE;
}

static gboolean
set_garbage(GError **error, const gchar *path, const gchar *buf, gsize len, const gchar *why)
{
	g_autofree gchar *shown = g_strndup(buf, len);
	g_autofree gchar *escaped = g_strescape(shown, NULL);

	g_set_error(error, PBM_GADGET_THERMOMETER_ERROR, PBM_GADGET_THERMOMETER_ERROR_GARBAGE,
	            "the temperature file %s %s (read \"%s\"); it should hold millidegrees "
	            "Celsius such as 41250: is temperature.path a temperature file?",
	            path, why, escaped);
	return FALSE;
}

/* An optional minus, digits, then at most a newline: the kernel's
 * format. Anything else (a space, a decimal point, a second line) is not a
 * temperature file. */
static gboolean
parse_millidegrees(const gchar *path, const gchar *buf, gsize len, gint64 *milli, GError **error)
{
	gchar text[READ_MAX + 1];
	gsize end = len;

	if (len == 0)
		return set_garbage(error, path, buf, len, "is empty");
	if (len >= READ_MAX)
		return set_garbage(error, path, buf, len, "is too long for a temperature");
	if (buf[end - 1] == '\n')
		end--;
	memcpy(text, buf, end);
	text[end] = '\0';
	if (end == 0 || memchr(text, '\0', end) != NULL ||
	    !g_ascii_string_to_signed(text, 10, G_MININT32, G_MAXINT32, milli, NULL) ||
	    !(g_ascii_isdigit(text[0]) || text[0] == '-'))
		return set_garbage(error, path, buf, len, "does not hold an integer");
	return TRUE;
}

static gboolean
read_celsius(const gchar *path, gdouble *celsius, GError **error)
{
	gchar buf[READ_MAX];
	gsize len = 0;
	gint64 milli;

	if (!read_file(path, buf, &len, error))
		return FALSE;
	if (!parse_millidegrees(path, buf, len, &milli, error))
		return FALSE;
	if (milli < (gint64)PBM_TEMP_MIN_DC * MILLI_PER_DECI ||
	    milli > (gint64)PBM_TEMP_MAX_DC * MILLI_PER_DECI) {
		g_set_error(error, PBM_GADGET_THERMOMETER_ERROR, PBM_GADGET_THERMOMETER_ERROR_RANGE,
		            "the temperature file %s reads %.1f °C (%" G_GINT64_FORMAT
		            "), outside %.1f to %.1f °C: the sensor, its wiring or its driver is "
		            "faulty",
		            path, (gdouble)milli / 1000.0, milli, PBM_TEMP_MIN_DC / 10.0,
		            PBM_TEMP_MAX_DC / 10.0);
		return FALSE;
	}
	*celsius = (gdouble)milli / 1000.0;
	return TRUE;
}

PbmGadgetThermometer *
pbm_gadget_thermometer_new(const gchar *path, GError **error)
{
	g_autoptr(PbmGadgetThermometer) thermometer = NULL;
	gdouble celsius;

	g_return_val_if_fail(path != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	thermometer = g_new0(PbmGadgetThermometer, 1);
	thermometer->path = g_strdup(path);
	if (!read_celsius(path, &celsius, error))
		return NULL;
	return g_steal_pointer(&thermometer);
}

gboolean
pbm_gadget_thermometer_read(PbmGadgetThermometer *thermometer, gdouble *celsius, GError **error)
{
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	return read_celsius(thermometer->path, celsius, error);
}

void
pbm_gadget_thermometer_free(PbmGadgetThermometer *thermometer)
{
	if (thermometer == NULL)
		return;
	g_free(thermometer->path);
	g_free(thermometer);
}
