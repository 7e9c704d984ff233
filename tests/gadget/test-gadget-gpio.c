/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbm-gadget's GPIO lines (src/gadget/pbm-gadget-gpio.h) through the real
 * libgpiod against a GPIO chip emulated at the character device
 * (pbm-mock-gpio.h): a press of the button calls back once however its
 * contact bounces, on the falling edge of an active-low button; tachometer
 * pulses at a known rate read as the right speed, and 0 once they stop;
 * the fan's output line goes active and inactive, inverted when active
 * low; a chip, line or busy line that cannot be had is refused naming the
 * chip and line; a line whose events end stops the light (button) or
 * reads as a stalled fan (tachometer).
 *
 * Runs under the umockdev preload: /dev and /sys are the testbed's.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <umockdev.h>

#include "pbm-gadget-gpio.h"
#include "pbm-mock-gpio.h"

#define LINES 8
#define BUTTON 2
#define TACH 3
#define FAN 5
#define MS_NS G_GUINT64_CONSTANT(1000000)
#define WAIT_US (2 * G_USEC_PER_SEC)

/* What a test opens is the fixture's, so that a failed test (cmocka jumps
 * out of it) leaves no watch behind on the chip that teardown frees. */
typedef struct {
	UMockdevTestbed *testbed;
	PbmMockGpio *chip;
	guint presses;
	guint lost;
	PbmGadgetButton *button;
	PbmGadgetTach *tach;
	PbmGadgetOutputLine *output[2];
} Fixture;

static int
setup(void **state)
{
	g_autoptr(GError) error = NULL;
	Fixture *f;

	/* Without the preload /dev and /sys would be the machine's. */
	if (strstr(g_getenv("LD_PRELOAD") ?: "", "libumockdev-preload") == NULL) {
		print_error("run under the umockdev preload (LD_PRELOAD=libumockdev-preload.so.0), "
		            "as meson test does\n");
		return -1;
	}
	f = g_new0(Fixture, 1);
	f->testbed = umockdev_testbed_new();
	f->chip = pbm_mock_gpio_new(f->testbed, 0, LINES, &error);
	if (f->chip == NULL) {
		print_error("pbm_mock_gpio_new: %s\n", error->message);
		g_object_unref(f->testbed);
		g_free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	Fixture *f = *state;

	pbm_gadget_button_free(f->button);
	pbm_gadget_tach_free(f->tach);
	pbm_gadget_output_line_free(f->output[0]);
	pbm_gadget_output_line_free(f->output[1]);
	pbm_mock_gpio_free(f->chip);
	g_object_unref(f->testbed);
	g_free(f);
	return 0;
}

static PbmGadgetGpioLine
gpio_line(const gchar *chip, guint line, gboolean active_low)
{
	PbmGadgetGpioLine l = { .line = line, .active_low = active_low };

	g_strlcpy(l.chip, chip, sizeof(l.chip));
	return l;
}

/* Runs the main loop until every edge written so far has been read. */
static void
drain(void)
{
	while (g_main_context_iteration(NULL, FALSE))
		;
}

/* The kernel's clock, now. */
static guint64
now_ns(void)
{
	return (guint64)g_get_monotonic_time() * 1000;
}

static void
on_press(gboolean lost, gpointer data)
{
	Fixture *f = data;

	f->presses++;
	if (lost)
		f->lost++;
}

/* A contact that bounces: count edges 1 ms apart from at_ns, the first
 * to level high. */
static void
bounce(Fixture *f, gboolean high, guint64 at_ns, guint count)
{
	for (guint i = 0; i < count; i++)
		pbm_mock_gpio_set_input(f->chip, BUTTON, (i % 2 == 0) ? high : !high,
		                        at_ns + i * MS_NS);
}

static void
assert_consumer(Fixture *f, guint line, const gchar *expected)
{
	g_autofree gchar *consumer = NULL;
	gint64 end = g_get_monotonic_time() + WAIT_US;

	/* A closed handle reaches the mock through umockdev's thread. */
	do {
		g_free(consumer);
		consumer = pbm_mock_gpio_get_consumer(f->chip, line);
		if (g_strcmp0(consumer, expected) == 0)
			return;
		g_usleep(1000);
	} while (g_get_monotonic_time() < end);
	fail_msg("line %u: consumer %s, not %s", line, consumer ? consumer : "none",
	         expected ? expected : "none");
}

static PbmGadgetButton *
open_button(Fixture *f, const gchar *chip, gboolean active_low)
{
	g_autoptr(GError) error = NULL;
	PbmGadgetGpioLine line = gpio_line(chip, BUTTON, active_low);
	g_clear_pointer(&f->button, pbm_gadget_button_free);
	f->button = pbm_gadget_button_new(&line, on_press, f, &error);
	if (f->button == NULL)
		fail_msg("pbm_gadget_button_new: %s", error->message);
	return f->button;
}

static void
test_button_press_calls_back_once(void **state)
{
	Fixture *f = *state;
	guint64 t = now_ns();

	open_button(f, "gpiochip0", FALSE);
	assert_consumer(f, BUTTON, PBM_GADGET_GPIO_CONSUMER);
	/* Pressed, 7 edges of bounce; released 200 ms later, 5 of bounce. */
	bounce(f, TRUE, t, 7);
	drain();
	assert_int_equal(f->presses, 1);
	bounce(f, FALSE, t + 200 * MS_NS, 5);
	drain();
	assert_int_equal(f->presses, 1);
	/* Pressed again, cleanly. */
	bounce(f, TRUE, t + 400 * MS_NS, 1);
	drain();
	assert_int_equal(f->presses, 2);
}

static void
test_button_active_low(void **state)
{
	Fixture *f = *state;
	guint64 t = now_ns();

	/* At rest an active-low button's line is pulled high. */
	pbm_mock_gpio_set_input(f->chip, BUTTON, TRUE, t);
	open_button(f, "/dev/gpiochip0", TRUE);
	bounce(f, FALSE, t + 100 * MS_NS, 5);
	drain();
	assert_int_equal(f->presses, 1);
	/* Released: the line goes high, which is no press. */
	bounce(f, TRUE, t + 300 * MS_NS, 1);
	drain();
	assert_int_equal(f->presses, 1);
	bounce(f, FALSE, t + 500 * MS_NS, 2);
	drain();
	assert_int_equal(f->presses, 2);
}

static void
test_button_hang_up_is_a_press(void **state)
{
	Fixture *f = *state;
	guint64 t = now_ns();

	open_button(f, "gpiochip0", FALSE);
	bounce(f, TRUE, t, 1);
	drain();
	assert_int_equal(f->presses, 1);
	/* The chip goes away: the light must stop, once. */
	assert_int_equal(f->lost, 0);
	pbm_mock_gpio_hang_up(f->chip, BUTTON);
	drain();
	assert_int_equal(f->presses, 2);
	assert_int_equal(f->lost, 1);
	drain();
	assert_int_equal(f->presses, 2);
}

static void
test_button_free_releases_line(void **state)
{
	Fixture *f = *state;
	open_button(f, "gpiochip0", FALSE);
	assert_consumer(f, BUTTON, PBM_GADGET_GPIO_CONSUMER);
	g_clear_pointer(&f->button, pbm_gadget_button_free);
	assert_consumer(f, BUTTON, NULL);
	/* Free again for the next taker. */
	open_button(f, "gpiochip0", FALSE);
	assert_consumer(f, BUTTON, PBM_GADGET_GPIO_CONSUMER);
}

static PbmGadgetTach *
open_tach(Fixture *f, guint pulses_per_rev)
{
	g_autoptr(GError) error = NULL;
	PbmGadgetGpioLine line = gpio_line("gpiochip0", TACH, FALSE);
	f->tach = pbm_gadget_tach_new(&line, pulses_per_rev, &error);
	if (f->tach == NULL)
		fail_msg("pbm_gadget_tach_new: %s", error->message);
	return f->tach;
}

/* Pulses from start_ns: low for 5 ms every period_ns, count of them.
 * Returns the time of the last falling edge. Only falling edges are
 * asked of the kernel. */
static guint64
pulses(Fixture *f, guint64 start_ns, guint64 period_ns, guint count)
{
	guint64 t = start_ns;

	for (guint i = 0; i < count; i++, t += period_ns) {
		assert_true(pbm_mock_gpio_set_input(f->chip, TACH, FALSE, t));
		assert_false(pbm_mock_gpio_set_input(f->chip, TACH, TRUE, t + 5 * MS_NS));
	}
	return t - period_ns;
}

static void
test_tach_rpm(void **state)
{
	Fixture *f = *state;
	PbmGadgetTach *tach = open_tach(f, 2);
	guint64 last;
	gint64 last_us;

	pbm_mock_gpio_set_input(f->chip, TACH, TRUE, now_ns());
	assert_int_equal(pbm_gadget_tach_rpm(tach, g_get_monotonic_time()), 0);

	/* 1500 rpm at 2 pulses a turn: 50 pulses a second, for 2 s. */
	last = pulses(f, now_ns() - 3000 * MS_NS, 20 * MS_NS, 100);
	drain();
	last_us = (gint64)(last / 1000);
	assert_int_equal(pbm_gadget_tach_rpm(tach, last_us + 1000), 1500);
	/* A second without a pulse: the fan stands. */
	assert_int_equal(pbm_gadget_tach_rpm(tach, last_us + G_USEC_PER_SEC), 0);

	/* 2400 rpm at 2 pulses a turn: 12.5 ms apart. */
	last = pulses(f, last + 2000 * MS_NS, 12500000, 160);
	drain();
	assert_int_equal(pbm_gadget_tach_rpm(tach, (gint64)(last / 1000) + 100), 2400);
}

static void
test_tach_hang_up_reads_stalled(void **state)
{
	Fixture *f = *state;
	PbmGadgetTach *tach = open_tach(f, 1);
	guint64 last;

	pbm_mock_gpio_set_input(f->chip, TACH, TRUE, now_ns());
	last = pulses(f, now_ns(), 10 * MS_NS, 50);
	drain();
	assert_int_equal(pbm_gadget_tach_rpm(tach, (gint64)(last / 1000)), 6000);
	pbm_mock_gpio_hang_up(f->chip, TACH);
	drain();
	assert_int_equal(pbm_gadget_tach_rpm(tach, (gint64)(last / 1000)), 0);
}

static PbmGadgetOutputLine *
open_output(Fixture *f, guint i, guint line, gboolean active_low)
{
	g_autoptr(GError) error = NULL;
	PbmGadgetGpioLine l = gpio_line("gpiochip0", line, active_low);

	f->output[i] = pbm_gadget_output_line_new(&l, &error);
	if (f->output[i] == NULL)
		fail_msg("pbm_gadget_output_line_new: %s", error->message);
	return f->output[i];
}

static void
set_output(PbmGadgetOutputLine *out, gboolean active)
{
	g_autoptr(GError) error = NULL;

	if (!pbm_gadget_output_line_set(out, active, &error))
		fail_msg("pbm_gadget_output_line_set: %s", error->message);
}

static void
test_fan_output(void **state)
{
	Fixture *f = *state;
	PbmGadgetOutputLine *fan = open_output(f, 0, FAN, FALSE);
	PbmGadgetOutputLine *inverted = open_output(f, 1, FAN + 1, TRUE);

	/* Inactive from the first moment. */
	assert_int_equal(pbm_mock_gpio_get_output(f->chip, FAN), 0);
	assert_int_equal(pbm_mock_gpio_get_output(f->chip, FAN + 1), 1);
	assert_consumer(f, FAN, PBM_GADGET_GPIO_CONSUMER);

	set_output(fan, TRUE);
	set_output(inverted, TRUE);
	assert_int_equal(pbm_mock_gpio_get_output(f->chip, FAN), 1);
	assert_int_equal(pbm_mock_gpio_get_output(f->chip, FAN + 1), 0);
	set_output(fan, FALSE);
	set_output(inverted, FALSE);
	assert_int_equal(pbm_mock_gpio_get_output(f->chip, FAN), 0);
	assert_int_equal(pbm_mock_gpio_get_output(f->chip, FAN + 1), 1);

	/* Released, the line keeps its level, as the kernel leaves it. */
	set_output(fan, TRUE);
	g_clear_pointer(&f->output[0], pbm_gadget_output_line_free);
	assert_consumer(f, FAN, NULL);
	assert_int_equal(pbm_mock_gpio_get_output(f->chip, FAN), 1);
}

static void
assert_message(const GError *error, const gchar *part)
{
	assert_non_null(error);
	if (strstr(error->message, part) == NULL)
		fail_msg("\"%s\" is not in the error \"%s\"", part, error->message);
}

static void
test_refusals_name_chip_and_line(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	PbmGadgetGpioLine missing = gpio_line("gpiochip9", 1, FALSE);
	PbmGadgetGpioLine beyond = gpio_line("gpiochip0", LINES, FALSE);
	PbmGadgetGpioLine busy = gpio_line("gpiochip0", FAN, FALSE);

	assert_null(pbm_gadget_output_line_new(&missing, &error));
	assert_true(g_error_matches(error, PBM_GADGET_GPIO_ERROR, PBM_GADGET_GPIO_ERROR_CHIP));
	assert_message(error, "cannot open GPIO chip gpiochip9: No such file or directory");
	assert_message(error, "gpiodetect");
	g_clear_error(&error);

	assert_null(pbm_gadget_tach_new(&beyond, 2, &error));
	assert_true(g_error_matches(error, PBM_GADGET_GPIO_ERROR, PBM_GADGET_GPIO_ERROR_LINE));
	assert_message(error, "GPIO chip gpiochip0 has lines 0 to 7, not line 8");
	g_clear_error(&error);

	pbm_mock_gpio_set_busy(f->chip, FAN, TRUE);
	assert_null(pbm_gadget_output_line_new(&busy, &error));
	assert_true(g_error_matches(error, PBM_GADGET_GPIO_ERROR, PBM_GADGET_GPIO_ERROR_REQUEST));
	assert_message(error, "cannot request line 5 of GPIO chip gpiochip0 as an output");
	assert_message(error, "Device or resource busy");
	assert_message(error, "another program");
	g_clear_error(&error);
	assert_null(pbm_gadget_button_new(&busy, on_press, f, &error));
	assert_message(error, "line 5 of GPIO chip gpiochip0 as an input with edge events");
	/* Nothing was driven. */
	assert_int_equal(pbm_mock_gpio_get_output(f->chip, FAN), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_button_press_calls_back_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_button_active_low, setup, teardown),
		cmocka_unit_test_setup_teardown(test_button_hang_up_is_a_press, setup, teardown),
		cmocka_unit_test_setup_teardown(test_button_free_releases_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tach_rpm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tach_hang_up_reads_stalled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fan_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_name_chip_and_line, setup, teardown),
	};

	/* The mock writes edges into pipes the code under test may have
	 * closed: EPIPE, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
