/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-gadget-pwm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* The name is the error domain's string at run time; clang-format would
 * read it as a subtraction and space it out. */
/* clang-format off */
G_DEFINE_QUARK(pbm-gadget-pwm-error-quark, pbm_gadget_pwm_error)
/* clang-format on */

#define UNKNOWN G_MAXUINT64
#define EXPORT_POLL_MS 10

struct _PbmGadgetPwm {
	gchar *dir;
	guint64 dark_period_ns;
	/* What the files hold, as far as this process knows: UNKNOWN until
	 * written or read, and again after a failed write. */
	guint64 period;
	guint64 duty;
	guint64 enable;
};

static const gchar *
write_hint(gint saved)
{
	switch (saved) {
	case EACCES:
	case EPERM:
		return "; pbm-gadget may not write it: run it as root, as its unit does";
	case EINVAL:
		return "; the PWM driver refused the value: is the period within what the chip "
		       "supports?";
	case ENOENT:
		return "; the channel is not exported any more";
	default:
		return "";
	}
}

static gboolean
write_all(gint fd, const gchar *text, gsize len)
{
	while (len > 0) {
		gssize n = write(fd, text, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		text += n;
		len -= (gsize)n;
	}
	return TRUE;
}

/* One write of the whole value, as sysfs wants it. O_TRUNC is what a
 * shell's ">" does, and a no-op on sysfs. */
static gboolean
write_attr(const gchar *dir, const gchar *name, const gchar *value, GError **error)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	gboolean ok;
	gint fd, saved;

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		saved = errno;
		g_set_error(error, PBM_GADGET_PWM_ERROR, PBM_GADGET_PWM_ERROR_IO,
		            "cannot open %s to write %s: %s%s", path, value, g_strerror(saved),
		            write_hint(saved));
		return FALSE;
	}
	ok = write_all(fd, value, strlen(value));
	saved = errno;
	if (close(fd) < 0 && ok) {
		ok = FALSE;
		saved = errno;
	}
	if (!ok) {
		g_set_error(error, PBM_GADGET_PWM_ERROR, PBM_GADGET_PWM_ERROR_IO,
		            "cannot write %s to %s: %s%s", value, path, g_strerror(saved),
		            write_hint(saved));
		return FALSE;
	}
	return TRUE;
}

static gboolean
read_attr(const gchar *dir, const gchar *name, gchar **value, GError **error)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	g_autoptr(GError) local = NULL;
	gchar *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, &local)) {
		g_set_error(error, PBM_GADGET_PWM_ERROR, PBM_GADGET_PWM_ERROR_IO, "%s",
		            local->message);
		return FALSE;
	}
	*value = g_strstrip(text);
	return TRUE;
}

static gboolean
read_u64(const gchar *dir, const gchar *name, guint64 *value, GError **error)
{
	g_autofree gchar *text = NULL;

	if (!read_attr(dir, name, &text, error))
		return FALSE;
	if (!g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT64, value, NULL)) {
		g_set_error(error, PBM_GADGET_PWM_ERROR, PBM_GADGET_PWM_ERROR_VALUE,
		            "%s/%s holds \"%s\", not a number of nanoseconds: is %s a PWM channel?",
		            dir, name, text, dir);
		return FALSE;
	}
	return TRUE;
}

/* Writes value unless *known says the file holds it already (or force);
 * *known follows what the file holds. */
static gboolean
write_u64(PbmGadgetPwm *pwm, const gchar *name, guint64 *known, guint64 value, gboolean force,
          GError **error)
{
	gchar text[24];

	if (!force && *known == value)
		return TRUE;
	g_snprintf(text, sizeof(text), "%" G_GUINT64_FORMAT, value);
	if (!write_attr(pwm->dir, name, text, error)) {
		*known = UNKNOWN;
		return FALSE;
	}
	*known = value;
	return TRUE;
}

/* A channel may be enabled only with a period; one never used has 0. */
static gboolean
ensure_period(PbmGadgetPwm *pwm, GError **error)
{
	if (pwm->period == UNKNOWN && !read_u64(pwm->dir, "period", &pwm->period, error))
		return FALSE;
	if (pwm->period > 0)
		return TRUE;
	return write_u64(pwm, "period", &pwm->period, pwm->dark_period_ns, TRUE, error);
}

/* Inversed polarity turns duty_cycle 0 into full light. The kernel changes
 * polarity only while the channel is disabled. A chip without polarity
 * support has no such file and is normal. */
static gboolean
ensure_normal_polarity(PbmGadgetPwm *pwm, GError **error)
{
	g_autofree gchar *polarity = NULL;
	g_autofree gchar *path = g_build_filename(pwm->dir, "polarity", NULL);

	if (!g_file_test(path, G_FILE_TEST_EXISTS))
		return TRUE;
	if (!read_attr(pwm->dir, "polarity", &polarity, error))
		return FALSE;
	if (g_strcmp0(polarity, "normal") == 0)
		return TRUE;
	if (!write_u64(pwm, "enable", &pwm->enable, 0, TRUE, error))
		return FALSE;
	return write_attr(pwm->dir, "polarity", "normal", error);
}

/* From any state to dark: what open and switch_off do. */
static gboolean
drive_dark(PbmGadgetPwm *pwm, GError **error)
{
	if (!ensure_normal_polarity(pwm, error))
		return FALSE;
	if (!write_u64(pwm, "duty_cycle", &pwm->duty, 0, TRUE, error))
		return FALSE;
	if (!ensure_period(pwm, error))
		return FALSE;
	return write_u64(pwm, "enable", &pwm->enable, 1, TRUE, error);
}

static PbmGadgetPwm *
pwm_new(const PbmGadgetPwmOutput *output, guint64 dark_period_ns)
{
	PbmGadgetPwm *pwm = g_new0(PbmGadgetPwm, 1);

	pwm->dir = g_strdup_printf("%s/%s/pwm%u", PBM_GADGET_PWM_CLASS_DIR, output->chip,
	                           output->channel);
	pwm->dark_period_ns = dark_period_ns;
	pwm->period = UNKNOWN;
	pwm->duty = UNKNOWN;
	pwm->enable = UNKNOWN;
	return pwm;
}

static gboolean
channel_writable(const gchar *dir)
{
	static const gchar *const names[] = { "period", "duty_cycle", "enable" };

	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree gchar *path = g_build_filename(dir, names[i], NULL);
		if (access(path, W_OK) != 0)
			return FALSE;
	}
	return TRUE;
}

static gboolean
export_channel(const PbmGadgetPwmOutput *output, const gchar *dir, GError **error)
{
	g_autofree gchar *chip_dir = g_build_filename(PBM_GADGET_PWM_CLASS_DIR, output->chip, NULL);
	g_autoptr(GError) local = NULL;
	gchar number[16];

	if (!g_file_test(chip_dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, PBM_GADGET_PWM_ERROR, PBM_GADGET_PWM_ERROR_NO_CHIP,
		            "there is no PWM chip %s: check outputs.pwm in the configuration and "
		            "that the chip's driver is loaded (ls %s)",
		            chip_dir, PBM_GADGET_PWM_CLASS_DIR);
		return FALSE;
	}
	g_snprintf(number, sizeof(number), "%u", output->channel);
	/* EBUSY: exported meanwhile, by another process; it is there. */
	if (!write_attr(chip_dir, "export", number, &local) &&
	    !(g_file_test(dir, G_FILE_TEST_IS_DIR))) {
		g_propagate_prefixed_error(error, g_steal_pointer(&local),
		                           "cannot export channel %u of PWM chip %s (its npwm file "
		                           "says how many it has): ",
		                           output->channel, output->chip);
		return FALSE;
	}
	for (guint waited = 0; waited <= PBM_GADGET_PWM_EXPORT_WAIT_MS; waited += EXPORT_POLL_MS) {
		if (channel_writable(dir))
			return TRUE;
		g_usleep(EXPORT_POLL_MS * 1000);
	}
	g_set_error(error, PBM_GADGET_PWM_ERROR, PBM_GADGET_PWM_ERROR_EXPORT,
	            "wrote %u to %s/export, but %s did not appear writable within %u ms: does "
	            "the chip have that many channels (npwm), and does pbm-gadget run as root?",
	            output->channel, chip_dir, dir, (guint)PBM_GADGET_PWM_EXPORT_WAIT_MS);
	return FALSE;
}

PbmGadgetPwm *
pbm_gadget_pwm_open(const PbmGadgetPwmOutput *output, guint64 dark_period_ns, GError **error)
{
	g_autoptr(PbmGadgetPwm) pwm = NULL;

	g_return_val_if_fail(dark_period_ns > 0, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	pwm = pwm_new(output, dark_period_ns);
	if (!g_file_test(pwm->dir, G_FILE_TEST_IS_DIR) && !export_channel(output, pwm->dir, error))
		return NULL;
	if (!drive_dark(pwm, error))
		return NULL;
	return g_steal_pointer(&pwm);
}

gboolean
pbm_gadget_pwm_set(PbmGadgetPwm *pwm, guint64 period_ns, guint64 duty_ns, GError **error)
{
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (duty_ns > period_ns || period_ns == 0) {
		g_set_error(error, PBM_GADGET_PWM_ERROR, PBM_GADGET_PWM_ERROR_VALUE,
		            "%s: a duty cycle of %" G_GUINT64_FORMAT
		            " ns in a period of %" G_GUINT64_FORMAT " ns is impossible",
		            pwm->dir, duty_ns, period_ns);
		return FALSE;
	}
	/* After a failed write nothing is known: start from a duty cycle of
	 * 0, which every period accepts. */
	if (pwm->period == UNKNOWN || pwm->duty == UNKNOWN) {
		if (!write_u64(pwm, "duty_cycle", &pwm->duty, 0, TRUE, error))
			return FALSE;
		if (!write_u64(pwm, "period", &pwm->period, period_ns, TRUE, error))
			return FALSE;
	}
	if (period_ns < pwm->period) {
		if (!write_u64(pwm, "duty_cycle", &pwm->duty, duty_ns, FALSE, error) ||
		    !write_u64(pwm, "period", &pwm->period, period_ns, FALSE, error))
			return FALSE;
	} else {
		if (!write_u64(pwm, "period", &pwm->period, period_ns, FALSE, error) ||
		    !write_u64(pwm, "duty_cycle", &pwm->duty, duty_ns, FALSE, error))
			return FALSE;
	}
	return write_u64(pwm, "enable", &pwm->enable, 1, FALSE, error);
}

gboolean
pbm_gadget_pwm_set_dark(PbmGadgetPwm *pwm, GError **error)
{
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!write_u64(pwm, "duty_cycle", &pwm->duty, 0, TRUE, error))
		return FALSE;
	if (pwm->enable == 1)
		return TRUE;
	if (!ensure_period(pwm, error))
		return FALSE;
	return write_u64(pwm, "enable", &pwm->enable, 1, TRUE, error);
}

void
pbm_gadget_pwm_free(PbmGadgetPwm *pwm)
{
	if (pwm == NULL)
		return;
	g_free(pwm->dir);
	g_free(pwm);
}

gboolean
pbm_gadget_pwm_switch_off(const PbmGadgetPwmOutput *output, guint64 dark_period_ns, GError **error)
{
	g_autoptr(PbmGadgetPwm) pwm = NULL;

	g_return_val_if_fail(dark_period_ns > 0, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	pwm = pwm_new(output, dark_period_ns);
	if (!g_file_test(pwm->dir, G_FILE_TEST_IS_DIR))
		return TRUE;
	return drive_dark(pwm, error);
}
