/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbm-gadget's outputs (src/gadget/pbm-gadget-outputs.h) against a PWM chip
 * emulated in sysfs by umockdev: the period and duty cycle each light
 * gives, written in an order the kernel accepts (duty cycle never longer
 * than the period, replayed from the order of the writes), only what
 * changed; dark after off, free and --all-off (also on channels a dead
 * process left lit, or with inversed polarity); export on demand; every
 * channel dark after a failed write, with an error naming the file; lights
 * out of range refused. And the none backend's state file.
 *
 * Runs under the umockdev preload: /sys is the testbed's.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <umockdev.h>

#include "pbm-gadget-outputs.h"
#include "pbm-gadget-pwm.h"

#define CHIP "pwmchip0"
#define CARRIER_HZ 1000
#define CARRIER_NS 1000000
#define DEVICES "sys/devices"

typedef struct {
	UMockdevTestbed *testbed;
	gchar *root;
	gchar *tmp;
	PbmGadgetConfig config;
	gint inotify[2]; /* one per channel of CHIP, -1 when not watched */
} Fixture;

/* ======================== the emulated chip ======================== */

static gchar *
channel_dir(Fixture *f, const gchar *chip, guint n)
{
	g_autofree gchar *name = g_strdup_printf("pwm%u", n);

	return g_build_filename(f->root, DEVICES, chip, name, NULL);
}

static void
write_file(const gchar *path, const gchar *text)
{
	g_autoptr(GError) error = NULL;

	if (!g_file_set_contents(path, text, -1, &error))
		fail_msg("%s", error->message);
}

static void
add_chip(Fixture *f, const gchar *chip)
{
	g_autofree gchar *syspath =
	        umockdev_testbed_add_device(f->testbed, "pwm", chip, NULL, "npwm", "2\n", "export",
	                                    "", "unexport", "", NULL, NULL);

	assert_non_null(syspath);
}

/* A channel as the kernel shows an exported one, built aside and renamed
 * into place so that a poller never sees half of it. */
static void
add_channel(Fixture *f, const gchar *chip, guint n, guint64 period, guint64 duty, guint enable,
            const gchar *polarity)
{
	g_autofree gchar *dir = channel_dir(f, chip, n);
	g_autofree gchar *aside = g_strconcat(dir, ".new", NULL);
	const gchar *names[] = { "period", "duty_cycle", "enable", "polarity" };
	gchar *values[4] = {
		g_strdup_printf("%" G_GUINT64_FORMAT "\n", period),
		g_strdup_printf("%" G_GUINT64_FORMAT "\n", duty),
		g_strdup_printf("%u\n", enable),
		g_strdup_printf("%s\n", polarity),
	};

	assert_int_equal(g_mkdir_with_parents(aside, 0755), 0);
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree gchar *path = g_build_filename(aside, names[i], NULL);
		write_file(path, values[i]);
		g_free(values[i]);
	}
	assert_int_equal(g_rename(aside, dir), 0);
}

static gchar *
attr_text(Fixture *f, const gchar *chip, guint n, const gchar *name)
{
	g_autofree gchar *dir = channel_dir(f, chip, n);
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	g_autoptr(GError) error = NULL;
	gchar *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, &error))
		fail_msg("%s", error->message);
	return g_strstrip(text);
}

static guint64
attr(Fixture *f, guint n, const gchar *name)
{
	g_autofree gchar *text = attr_text(f, CHIP, n, name);
	guint64 value = 0;

	if (!g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT64, &value, NULL))
		fail_msg("pwm%u/%s holds \"%s\"", n, name, text);
	return value;
}

static void
assert_channel(Fixture *f, guint n, guint64 period, guint64 duty)
{
	assert_int_equal(attr(f, n, "period"), period);
	assert_int_equal(attr(f, n, "duty_cycle"), duty);
	assert_int_equal(attr(f, n, "enable"), 1);
}

/* Dark: duty cycle 0, enabled (actively driven low), polarity normal. */
static void
assert_dark(Fixture *f, guint n)
{
	g_autofree gchar *polarity = attr_text(f, CHIP, n, "polarity");

	assert_int_equal(attr(f, n, "duty_cycle"), 0);
	assert_int_equal(attr(f, n, "enable"), 1);
	assert_string_equal(polarity, "normal");
}

/* Replaces a channel's attribute by a directory: opening it for writing
 * fails (EISDIR) even for root, as a refused sysfs write would. */
static void
break_attr(Fixture *f, guint n, const gchar *name)
{
	g_autofree gchar *dir = channel_dir(f, CHIP, n);
	g_autofree gchar *path = g_build_filename(dir, name, NULL);

	assert_int_equal(g_unlink(path), 0);
	assert_int_equal(g_mkdir(path, 0755), 0);
}

/* ======================== the order of writes ======================== */

static void
watch(Fixture *f, guint n)
{
	g_autofree gchar *dir = channel_dir(f, CHIP, n);

	f->inotify[n] = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(f->inotify[n] >= 0);
	assert_true(inotify_add_watch(f->inotify[n], dir, IN_CLOSE_WRITE) >= 0);
}

/* The files of channel n written since the last call, in order. */
static GPtrArray *
take_writes(Fixture *f, guint n)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	gchar buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	gssize len;

	while ((len = read(f->inotify[n], buf, sizeof(buf))) > 0) {
		for (gchar *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			g_ptr_array_add(names, g_strdup(ev->name));
			p += sizeof(struct inotify_event) + ev->len;
		}
	}
	assert_true(len < 0 && errno == EAGAIN);
	return names;
}

/* Replays channel n's writes since the last call, from period0 and duty0
 * to what the files hold now: each file is written at most once (nothing
 * is rewritten), and after every write the duty cycle fits in the period,
 * or the kernel would have refused it. Returns the writes. */
static GPtrArray *
assert_write_order(Fixture *f, guint n, guint64 period0, guint64 duty0)
{
	GPtrArray *names = take_writes(f, n);
	guint64 period = period0, duty = duty0;

	for (guint i = 0; i < names->len; i++) {
		const gchar *name = names->pdata[i];
		for (guint j = 0; j < i; j++) {
			if (g_strcmp0(names->pdata[j], name) == 0)
				fail_msg("pwm%u/%s written twice", n, name);
		}
		if (g_strcmp0(name, "period") == 0)
			period = attr(f, n, "period");
		else if (g_strcmp0(name, "duty_cycle") == 0)
			duty = attr(f, n, "duty_cycle");
		if (duty > period)
			fail_msg("pwm%u: after writing %s the duty cycle %" G_GUINT64_FORMAT
			         " ns exceeds the period %" G_GUINT64_FORMAT " ns",
			         n, name, duty, period);
	}
	return names;
}

static gboolean
written(GPtrArray *names, const gchar *name)
{
	for (guint i = 0; i < names->len; i++) {
		if (g_strcmp0(names->pdata[i], name) == 0)
			return TRUE;
	}
	return FALSE;
}

/* ======================== fixture ======================== */

static int
setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);

	/* Without the preload /sys would be the machine's. (The environment
	 * counts: umockdev_in_mock_environment() caches its first answer.) */
	if (strstr(g_getenv("LD_PRELOAD") ?: "", "libumockdev-preload") == NULL) {
		print_error("run under the umockdev preload (LD_PRELOAD=libumockdev-preload.so.0), "
		            "as meson test does\n");
		g_free(f);
		return -1;
	}
	f->testbed = umockdev_testbed_new();
	f->root = umockdev_testbed_get_root_dir(f->testbed);
	f->tmp = g_dir_make_tmp("pbm-gadget-outputs-XXXXXX", NULL);
	assert_non_null(f->tmp);
	f->inotify[0] = f->inotify[1] = -1;
	f->config.path = (gchar *)"/etc/pbm-gadget.conf";
	f->config.model.channel_count = 2;
	f->config.outputs = PBM_GADGET_OUTPUTS_PWM;
	f->config.carrier_hz = CARRIER_HZ;
	for (guint i = 0; i < 2; i++) {
		g_strlcpy(f->config.pwm[i].chip, CHIP, sizeof(f->config.pwm[i].chip));
		f->config.pwm[i].channel = i;
	}
	add_chip(f, CHIP);
	*state = f;
	return 0;
}

static void
rm_rf(const gchar *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const gchar *name;

	if (dir == NULL) {
		g_remove(path);
		return;
	}
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *child = g_build_filename(path, name, NULL);
		if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
			rm_rf(child);
		else
			g_unlink(child);
	}
	g_rmdir(path);
}

static int
teardown(void **state)
{
	Fixture *f = *state;

	for (guint i = 0; i < 2; i++) {
		if (f->inotify[i] >= 0)
			close(f->inotify[i]);
	}
	/* The testbed removes its tree; make sure. */
	g_object_unref(f->testbed);
	if (g_file_test(f->root, G_FILE_TEST_EXISTS))
		rm_rf(f->root);
	rm_rf(f->tmp);
	g_free(f->tmp);
	g_free(f->root);
	g_free(f);
	return 0;
}

static PbmGadgetOutputs *
open_outputs(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	PbmGadgetOutputs *outputs = pbm_gadget_outputs_new(&f->config, &error);

	if (outputs == NULL)
		fail_msg("pbm_gadget_outputs_new: %s", error->message);
	return outputs;
}

static void
apply(PbmGadgetOutputs *outputs, guint16 level0, guint16 level1, guint32 pulse_mhz, guint16 duty)
{
	g_autoptr(GError) error = NULL;
	PbmGadgetLight light = { .channel_count = 2,
		                 .level = { level0, level1 },
		                 .pulse_mhz = pulse_mhz,
		                 .duty = duty };

	if (!pbm_gadget_outputs_apply(outputs, &light, &error))
		fail_msg("pbm_gadget_outputs_apply: %s", error->message);
}

static void
assert_message(const GError *error, const gchar *part)
{
	assert_non_null(error);
	if (strstr(error->message, part) == NULL)
		fail_msg("\"%s\" is not in the error \"%s\"", part, error->message);
}

/* ======================== PWM ======================== */

static void
test_new_darkens_lit_channels(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmGadgetOutputs) outputs = NULL;

	/* pwm0 left lit at 75 % by someone; pwm1 exported and never used. */
	add_channel(f, CHIP, 0, 2000000, 1500000, 1, "normal");
	add_channel(f, CHIP, 1, 0, 0, 0, "normal");
	outputs = open_outputs(f);
	assert_dark(f, 0);
	assert_dark(f, 1);
	/* A channel with no period cannot be enabled: it gets the carrier. */
	assert_int_equal(attr(f, 1, "period"), CARRIER_NS);
}

static void
test_continuous_light(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmGadgetOutputs) outputs = NULL;
	g_autoptr(GPtrArray) w0 = NULL;
	g_autoptr(GPtrArray) w1 = NULL;

	/* Period left at 2 ms: the carrier's 1 ms shrinks it. */
	add_channel(f, CHIP, 0, 2000000, 0, 1, "normal");
	add_channel(f, CHIP, 1, 0, 0, 0, "normal");
	outputs = open_outputs(f);
	watch(f, 0);
	watch(f, 1);
	apply(outputs, 500, 250, 0, 0);
	assert_channel(f, 0, CARRIER_NS, 500000);
	assert_channel(f, 1, CARRIER_NS, 250000);
	w0 = assert_write_order(f, 0, 2000000, 0);
	w1 = assert_write_order(f, 1, CARRIER_NS, 0);
	assert_true(written(w0, "period"));
	assert_false(written(w1, "period"));

	apply(outputs, 1000, 0, 0, 1000);
	assert_channel(f, 0, CARRIER_NS, CARRIER_NS);
	assert_channel(f, 1, CARRIER_NS, 0);
}

static void
test_duty_cycle_rounds_down(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmGadgetOutputs) outputs = NULL;

	/* 3 kHz: 333,333 ns. 33.3 % of it is 110,999.889 ns; 0.1 % of a
	 * 1 Hz pulse at 0.1 % duty is 1,000 ns. */
	f->config.carrier_hz = 3000;
	add_channel(f, CHIP, 0, 0, 0, 0, "normal");
	add_channel(f, CHIP, 1, 0, 0, 0, "normal");
	outputs = open_outputs(f);
	apply(outputs, 333, 1, 0, 0);
	assert_channel(f, 0, 333333, 110999);
	assert_channel(f, 1, 333333, 333);
	apply(outputs, 1, 999, 1000, 1);
	assert_channel(f, 0, 1000000000, 1000);
	assert_channel(f, 1, 1000000000, 999000);
}

static void
test_pulsed_light(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmGadgetOutputs) outputs = NULL;
	g_autoptr(GPtrArray) grow = NULL;
	g_autoptr(GPtrArray) shrink = NULL;

	add_channel(f, CHIP, 0, 0, 0, 0, "normal");
	add_channel(f, CHIP, 1, 0, 0, 0, "normal");
	outputs = open_outputs(f);
	apply(outputs, 300, 300, 0, 0);
	watch(f, 0);
	watch(f, 1);

	/* 10 Hz at 50 % duty: a 100 ms period, level x duty of it lit. */
	apply(outputs, 800, 200, 10000, 500);
	assert_channel(f, 0, 100000000, 40000000);
	assert_channel(f, 1, 100000000, 10000000);
	grow = assert_write_order(f, 0, CARRIER_NS, 300000);
	g_ptr_array_unref(assert_write_order(f, 1, CARRIER_NS, 300000));
	assert_true(written(grow, "period") && written(grow, "duty_cycle"));

	/* Back to continuous light at full level: the period shrinks, and a
	 * duty cycle of 1 ms fits the old period. */
	apply(outputs, 1000, 1000, 0, 0);
	assert_channel(f, 0, CARRIER_NS, CARRIER_NS);
	shrink = assert_write_order(f, 0, 100000000, 40000000);
	assert_true(written(shrink, "period") && written(shrink, "duty_cycle"));

	/* 40 Hz at 90 % from 10 Hz: 25 ms, with a duty cycle longer than the
	 * new period before (shrinking from 100 ms at full level). */
	apply(outputs, 1000, 1000, 10000, 1000);
	g_ptr_array_unref(take_writes(f, 0));
	apply(outputs, 1000, 500, 40000, 900);
	assert_channel(f, 0, 25000000, 22500000);
	assert_channel(f, 1, 25000000, 11250000);
	g_ptr_array_unref(assert_write_order(f, 0, 100000000, 100000000));
}

static void
test_unchanged_values_not_written(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmGadgetOutputs) outputs = NULL;
	g_autoptr(GPtrArray) again = NULL;
	g_autoptr(GPtrArray) w0 = NULL;
	g_autoptr(GPtrArray) w1 = NULL;

	add_channel(f, CHIP, 0, 0, 0, 0, "normal");
	add_channel(f, CHIP, 1, 0, 0, 0, "normal");
	outputs = open_outputs(f);
	apply(outputs, 400, 400, 0, 0);
	watch(f, 0);
	watch(f, 1);
	apply(outputs, 400, 400, 0, 0);
	again = take_writes(f, 0);
	assert_int_equal(again->len, 0);
	g_ptr_array_unref(take_writes(f, 1));

	apply(outputs, 400, 600, 0, 0);
	w0 = take_writes(f, 0);
	w1 = take_writes(f, 1);
	assert_int_equal(w0->len, 0);
	assert_int_equal(w1->len, 1);
	assert_string_equal(w1->pdata[0], "duty_cycle");
}

static void
test_off_and_free_leave_dark(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	PbmGadgetOutputs *outputs;

	add_channel(f, CHIP, 0, 0, 0, 0, "normal");
	add_channel(f, CHIP, 1, 0, 0, 0, "normal");
	outputs = open_outputs(f);
	apply(outputs, 700, 900, 10000, 500);
	assert_true(pbm_gadget_outputs_off(outputs, &error));
	assert_dark(f, 0);
	assert_dark(f, 1);

	apply(outputs, 700, 900, 0, 0);
	assert_int_equal(attr(f, 1, "duty_cycle"), 900000);
	pbm_gadget_outputs_free(outputs);
	assert_dark(f, 0);
	assert_dark(f, 1);
}

typedef struct {
	gchar *export_path;
	Fixture *f;
} Exporter;

/* Plays the kernel and udev: when a channel number is written to export,
 * the channel appears (never used: period 0, disabled) 20 ms later. */
static gpointer
exporter_thread(gpointer data)
{
	Exporter *e = data;
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

	while (g_get_monotonic_time() < end) {
		g_autofree gchar *text = NULL;
		guint64 n;
		if (g_file_get_contents(e->export_path, &text, NULL, NULL) &&
		    g_ascii_string_to_unsigned(g_strstrip(text), 10, 0, 1, &n, NULL)) {
			g_usleep(20000);
			add_channel(e->f, CHIP, (guint)n, 0, 0, 0, "normal");
			return GUINT_TO_POINTER(TRUE);
		}
		g_usleep(1000);
	}
	return GUINT_TO_POINTER(FALSE);
}

static void
test_export_on_demand(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmGadgetOutputs) outputs = NULL;
	g_autofree gchar *export_path = g_build_filename(f->root, DEVICES, CHIP, "export", NULL);
	Exporter e = { export_path, f };
	GThread *thread;

	add_channel(f, CHIP, 0, 0, 0, 0, "normal");
	thread = g_thread_new("exporter", exporter_thread, &e);
	outputs = open_outputs(f);
	assert_true(GPOINTER_TO_UINT(g_thread_join(thread)));
	assert_dark(f, 1);
	assert_int_equal(attr(f, 1, "period"), CARRIER_NS);
	apply(outputs, 0, 100, 0, 0);
	assert_channel(f, 1, CARRIER_NS, 100000);
}

static void
test_export_that_never_appears(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *export_path = g_build_filename(f->root, DEVICES, CHIP, "export", NULL);
	g_autofree gchar *exported = NULL;
	PbmGadgetOutputs *outputs;
	gint64 start = g_get_monotonic_time();

	add_channel(f, CHIP, 0, 0, 0, 0, "normal");
	outputs = pbm_gadget_outputs_new(&f->config, &error);
	assert_null(outputs);
	assert_true(g_error_matches(error, PBM_GADGET_PWM_ERROR, PBM_GADGET_PWM_ERROR_EXPORT));
	assert_message(error, "channel 2: ");
	assert_message(error, "/sys/class/pwm/pwmchip0/export");
	assert_message(error, "/sys/class/pwm/pwmchip0/pwm1 did not appear");
	assert_message(error, "npwm");
	/* It waited, but not for long. */
	assert_true(g_get_monotonic_time() - start >= PBM_GADGET_PWM_EXPORT_WAIT_MS * 1000);
	assert_true(g_get_monotonic_time() - start < 5 * G_USEC_PER_SEC);
	assert_true(g_file_get_contents(export_path, &exported, NULL, NULL));
	assert_string_equal(g_strstrip(exported), "1");
	assert_dark(f, 0);
}

static void
test_missing_chip(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;

	add_channel(f, CHIP, 0, 0, 0, 0, "normal");
	g_strlcpy(f->config.pwm[1].chip, "pwmchip7", sizeof(f->config.pwm[1].chip));
	assert_null(pbm_gadget_outputs_new(&f->config, &error));
	assert_true(g_error_matches(error, PBM_GADGET_PWM_ERROR, PBM_GADGET_PWM_ERROR_NO_CHIP));
	assert_message(error, "channel 2: there is no PWM chip /sys/class/pwm/pwmchip7");
	assert_dark(f, 0);
}

static void
test_failed_write_darkens_every_channel(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmGadgetOutputs) outputs = NULL;
	PbmGadgetLight light = { .channel_count = 2, .level = { 900, 900 } };

	add_channel(f, CHIP, 0, 0, 0, 0, "normal");
	add_channel(f, CHIP, 1, 0, 0, 0, "normal");
	outputs = open_outputs(f);
	apply(outputs, 500, 500, 0, 0);

	/* pwm1's duty cycle cannot be written: pwm0, written first, goes
	 * dark again, and the error says that pwm1 could not. */
	break_attr(f, 1, "duty_cycle");
	assert_false(pbm_gadget_outputs_apply(outputs, &light, &error));
	assert_true(g_error_matches(error, PBM_GADGET_PWM_ERROR, PBM_GADGET_PWM_ERROR_IO));
	assert_message(error, "/sys/class/pwm/pwmchip0/pwm1/duty_cycle");
	assert_message(error, "switching every output off failed too");
	assert_dark(f, 0);
}

static void
test_failed_period_write_darkens_every_channel(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmGadgetOutputs) outputs = NULL;
	PbmGadgetLight light = {
		.channel_count = 2, .level = { 900, 900 }, .pulse_mhz = 10000, .duty = 500
	};

	add_channel(f, CHIP, 0, 0, 0, 0, "normal");
	add_channel(f, CHIP, 1, 0, 0, 0, "normal");
	outputs = open_outputs(f);
	apply(outputs, 500, 500, 0, 0);

	break_attr(f, 1, "period");
	assert_false(pbm_gadget_outputs_apply(outputs, &light, &error));
	assert_message(error, "every output was switched off: ");
	assert_message(error, "/sys/class/pwm/pwmchip0/pwm1/period");
	assert_message(error, "Is a directory");
	assert_int_equal(attr(f, 0, "duty_cycle"), 0);
	assert_int_equal(attr(f, 1, "duty_cycle"), 0);
}

static void
assert_refused(Fixture *f, PbmGadgetOutputs *outputs, const PbmGadgetLight *light,
               const gchar *part)
{
	g_autoptr(GError) error = NULL;

	apply(outputs, 600, 600, 0, 0);
	assert_false(pbm_gadget_outputs_apply(outputs, light, &error));
	assert_true(
	        g_error_matches(error, PBM_GADGET_OUTPUTS_ERROR, PBM_GADGET_OUTPUTS_ERROR_LIGHT));
	assert_message(error, part);
	assert_message(error, "every output was switched off");
	assert_dark(f, 0);
	assert_dark(f, 1);
}

static void
test_lights_out_of_range_refused(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmGadgetOutputs) outputs = NULL;
	PbmGadgetLight level = { .channel_count = 2, .level = { 1000, 1001 } };
	PbmGadgetLight count = { .channel_count = 3, .level = { 10, 10, 10 } };
	PbmGadgetLight slow = { .channel_count = 2, .level = { 10, 10 }, .pulse_mhz = 999 };
	PbmGadgetLight fast = { .channel_count = 2, .level = { 10, 10 }, .pulse_mhz = 10000001 };
	PbmGadgetLight duty = {
		.channel_count = 2, .level = { 10, 10 }, .pulse_mhz = 10000, .duty = 1001
	};

	add_channel(f, CHIP, 0, 0, 0, 0, "normal");
	add_channel(f, CHIP, 1, 0, 0, 0, "normal");
	outputs = open_outputs(f);
	assert_refused(f, outputs, &level,
	               "channel 2: level 1001 permille is above the maximum of 1000");
	assert_refused(f, outputs, &count, "a light for 3 channels cannot be shown on 2");
	assert_refused(f, outputs, &slow, "999 mHz is outside 1000 to 10000000 mHz");
	assert_refused(f, outputs, &fast, "10000001 mHz is outside");
	assert_refused(f, outputs, &duty, "duty of 1001 permille is above the maximum of 1000");
}

static void
test_all_off_after_a_crash(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *export_path = g_build_filename(f->root, DEVICES, CHIP, "export", NULL);
	g_autofree gchar *exported = NULL;
	g_autofree gchar *pwm1 = channel_dir(f, CHIP, 1);

	/* What a pbm-gadget killed mid-session leaves: pwm0 lit; pwm1 was
	 * never exported. */
	add_channel(f, CHIP, 0, CARRIER_NS, 700000, 1, "normal");
	assert_true(pbm_gadget_outputs_all_off(&f->config, &error));
	assert_dark(f, 0);
	assert_int_equal(attr(f, 0, "period"), CARRIER_NS);
	assert_false(g_file_test(pwm1, G_FILE_TEST_EXISTS));
	assert_true(g_file_get_contents(export_path, &exported, NULL, NULL));
	assert_string_equal(exported, "");
}

static void
test_all_off_inversed_polarity(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;

	/* Inversed, a duty cycle of 0 is full light; one never used has no
	 * period and is disabled. */
	add_channel(f, CHIP, 0, CARRIER_NS, 0, 1, "inversed");
	add_channel(f, CHIP, 1, 0, 0, 0, "inversed");
	assert_true(pbm_gadget_outputs_all_off(&f->config, &error));
	assert_dark(f, 0);
	assert_dark(f, 1);
	assert_int_equal(attr(f, 1, "period"), CARRIER_NS);
}

static void
test_all_off_without_chip(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;

	g_strlcpy(f->config.pwm[0].chip, "pwmchip7", sizeof(f->config.pwm[0].chip));
	g_strlcpy(f->config.pwm[1].chip, "pwmchip7", sizeof(f->config.pwm[1].chip));
	assert_true(pbm_gadget_outputs_all_off(&f->config, &error));
}

static void
test_all_off_failure_names_the_file(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;

	add_channel(f, CHIP, 0, CARRIER_NS, 700000, 1, "normal");
	add_channel(f, CHIP, 1, CARRIER_NS, 700000, 1, "normal");
	break_attr(f, 0, "duty_cycle");
	assert_false(pbm_gadget_outputs_all_off(&f->config, &error));
	assert_message(error, "channel 1: ");
	assert_message(error, "/sys/class/pwm/pwmchip0/pwm0/duty_cycle");
	/* The other channel was switched off all the same. */
	assert_dark(f, 1);
}

/* ======================== none ======================== */

static gchar *
state_line(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	gchar *text = NULL;

	if (!g_file_get_contents(f->config.state_file, &text, NULL, &error))
		fail_msg("%s", error->message);
	return text;
}

#define assert_state(f, expected)                        \
	do {                                             \
		g_autofree gchar *line_ = state_line(f); \
		assert_string_equal(line_, expected);    \
	} while (0)

static void
test_none_state_file(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = g_build_filename(f->tmp, "outputs", NULL);
	PbmGadgetOutputs *outputs;

	f->config.outputs = PBM_GADGET_OUTPUTS_NONE;
	f->config.state_file = path;
	write_file(path, "lit=1 pulse_mhz=0 duty=1000 level=1000,1000\n");

	outputs = open_outputs(f);
	assert_state(f, "lit=0 pulse_mhz=0 duty=1000 level=0,0\n");
	apply(outputs, 500, 250, 0, 0);
	assert_state(f, "lit=1 pulse_mhz=0 duty=1000 level=500,250\n");
	apply(outputs, 500, 0, 10000, 300);
	assert_state(f, "lit=1 pulse_mhz=10000 duty=300 level=500,0\n");
	/* Pulses of no length are no light. */
	apply(outputs, 500, 0, 10000, 0);
	assert_state(f, "lit=0 pulse_mhz=10000 duty=0 level=500,0\n");
	apply(outputs, 1, 0, 0, 0);
	assert_true(pbm_gadget_outputs_off(outputs, &error));
	assert_state(f, "lit=0 pulse_mhz=0 duty=1000 level=0,0\n");
	apply(outputs, 1, 0, 0, 0);
	pbm_gadget_outputs_free(outputs);
	assert_state(f, "lit=0 pulse_mhz=0 duty=1000 level=0,0\n");

	write_file(path, "lit=1 pulse_mhz=0 duty=1000 level=1,0\n");
	assert_true(pbm_gadget_outputs_all_off(&f->config, &error));
	assert_state(f, "lit=0 pulse_mhz=0 duty=1000 level=0,0\n");
	f->config.state_file = NULL;
}

static void
test_none_state_file_unwritable(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = g_build_filename(f->tmp, "missing", "outputs", NULL);

	f->config.outputs = PBM_GADGET_OUTPUTS_NONE;
	f->config.state_file = path;
	assert_null(pbm_gadget_outputs_new(&f->config, &error));
	assert_true(g_error_matches(error, PBM_GADGET_OUTPUTS_ERROR,
	                            PBM_GADGET_OUTPUTS_ERROR_STATE_FILE));
	assert_message(error, path);
	assert_message(error, "outputs.state_file");
	f->config.state_file = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_darkens_lit_channels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_continuous_light, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duty_cycle_rounds_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pulsed_light, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unchanged_values_not_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_off_and_free_leave_dark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_on_demand, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_that_never_appears, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_chip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_write_darkens_every_channel, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_failed_period_write_darkens_every_channel,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_lights_out_of_range_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_off_after_a_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_off_inversed_polarity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_off_without_chip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_off_failure_names_the_file, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_none_state_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_none_state_file_unwritable, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
