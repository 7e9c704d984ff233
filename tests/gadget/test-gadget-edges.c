/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What GPIO edges mean (src/gadget/pbm-gadget-edges.h), from synthetic
 * kernel timestamps: one press per press of the button however its contact
 * bounces, for active-high and active-low buttons; the fan's speed from its
 * tachometer pulses, and 0 once it stood still for a second.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "pbm-gadget-edges.h"

#define MS_NS G_GUINT64_CONSTANT(1000000)
#define T0_NS (G_GUINT64_CONSTANT(5000) * 1000 * MS_NS) /* 5000 s after boot */
#define T0_US G_GINT64_CONSTANT(5000000000)

/* Feeds a bouncing contact: edges alternate from the first one, 1 ms
 * apart, count edges in all. Returns how many presses the debouncer saw. */
static guint
bounce(PbmGadgetDebounce *d, gboolean first_rising, gboolean active_low, guint64 at_ns, guint count)
{
	guint presses = 0;

	for (guint i = 0; i < count; i++) {
		gboolean rising = (i % 2 == 0) ? first_rising : !first_rising;
		if (pbm_gadget_debounce_edge(d, rising, active_low, at_ns + i * MS_NS))
			presses++;
	}
	return presses;
}

static void
test_press_with_bounce_counts_once(void **state)
{
	PbmGadgetDebounce d;

	pbm_gadget_debounce_init(&d);
	/* Pressed: high with 7 edges of bounce within 7 ms, then released
	 * 200 ms later with its own bounce. */
	assert_int_equal(bounce(&d, TRUE, FALSE, T0_NS, 7), 1);
	assert_int_equal(bounce(&d, FALSE, FALSE, T0_NS + 200 * MS_NS, 5), 0);
	/* Pressed again 300 ms after the first press. */
	assert_int_equal(bounce(&d, TRUE, FALSE, T0_NS + 300 * MS_NS, 9), 1);
}

static void
test_debounce_window_is_50_ms_of_quiet(void **state)
{
	PbmGadgetDebounce d;

	pbm_gadget_debounce_init(&d);
	assert_true(pbm_gadget_debounce_edge(&d, TRUE, FALSE, T0_NS));
	/* Released cleanly at 10 ms; pressed again 50 ms less 1 ns later. */
	assert_false(pbm_gadget_debounce_edge(&d, FALSE, FALSE, T0_NS + 10 * MS_NS));
	assert_false(pbm_gadget_debounce_edge(&d, TRUE, FALSE, T0_NS + 60 * MS_NS - 1));
	/* Released, and pressed after exactly 50 ms of quiet. */
	assert_false(pbm_gadget_debounce_edge(&d, FALSE, FALSE, T0_NS + 70 * MS_NS));
	assert_true(pbm_gadget_debounce_edge(&d, TRUE, FALSE, T0_NS + 120 * MS_NS));
}

static void
test_noise_is_one_press(void **state)
{
	PbmGadgetDebounce d;

	/* 200 ms of edges 1 ms apart, then quiet, then a clean press. */
	pbm_gadget_debounce_init(&d);
	assert_int_equal(bounce(&d, TRUE, FALSE, T0_NS, 200), 1);
	assert_int_equal(bounce(&d, TRUE, FALSE, T0_NS + 300 * MS_NS, 1), 1);
}

static void
test_active_low_presses_on_falling_edges(void **state)
{
	PbmGadgetDebounce d;

	pbm_gadget_debounce_init(&d);
	/* A released active-low button goes high: never a press. */
	assert_false(pbm_gadget_debounce_edge(&d, TRUE, TRUE, T0_NS));
	assert_int_equal(bounce(&d, FALSE, TRUE, T0_NS + 100 * MS_NS, 6), 1);
	assert_false(pbm_gadget_debounce_edge(&d, TRUE, TRUE, T0_NS + 400 * MS_NS));
	assert_true(pbm_gadget_debounce_edge(&d, FALSE, TRUE, T0_NS + 600 * MS_NS));
}

static void
test_first_edge_at_time_zero_is_a_press(void **state)
{
	PbmGadgetDebounce d;

	pbm_gadget_debounce_init(&d);
	assert_true(pbm_gadget_debounce_edge(&d, TRUE, FALSE, 0));
	assert_false(pbm_gadget_debounce_edge(&d, FALSE, FALSE, 1 * MS_NS));
	assert_false(pbm_gadget_debounce_edge(&d, TRUE, FALSE, 2 * MS_NS));
}

static void
test_clock_stepping_back_loses_no_press(void **state)
{
	PbmGadgetDebounce d;

	pbm_gadget_debounce_init(&d);
	assert_true(pbm_gadget_debounce_edge(&d, TRUE, FALSE, T0_NS));
	assert_true(pbm_gadget_debounce_edge(&d, TRUE, FALSE, T0_NS - 3600 * 1000 * MS_NS));
}

/* Pulses every period_us from T0_US for duration_us; returns the last. */
static gint64
pulses(PbmGadgetTachWindow *w, gint64 period_us, gint64 duration_us)
{
	gint64 t = T0_US;

	for (; t + period_us <= T0_US + duration_us; t += period_us)
		pbm_gadget_tach_window_add(w, t);
	pbm_gadget_tach_window_add(w, t);
	return t;
}

static void
test_rpm_of_a_steady_fan(void **state)
{
	g_autofree PbmGadgetTachWindow *w = g_new(PbmGadgetTachWindow, 1);
	gint64 last;

	/* 1500 rpm at 2 pulses a turn: 50 pulses a second, 20 ms apart. */
	pbm_gadget_tach_window_init(w);
	last = pulses(w, 20000, 3 * G_USEC_PER_SEC);
	assert_int_equal(pbm_gadget_tach_window_rpm(w, 2, last + 5000), 1500);
	assert_int_equal(pbm_gadget_tach_window_rpm(w, 2, last + 19000), 1500);

	/* 1234 rpm at 2 pulses a turn: 24311 us apart. */
	pbm_gadget_tach_window_init(w);
	last = pulses(w, 24311, 5 * G_USEC_PER_SEC);
	assert_int_equal(pbm_gadget_tach_window_rpm(w, 2, last + 100), 1234);

	/* 900 rpm at 4 pulses a turn: 16.667 ms apart. */
	pbm_gadget_tach_window_init(w);
	last = pulses(w, 16667, 2 * G_USEC_PER_SEC);
	assert_int_equal(pbm_gadget_tach_window_rpm(w, 4, last), 900);
}

static void
test_rpm_zero_after_a_second_still(void **state)
{
	g_autofree PbmGadgetTachWindow *w = g_new(PbmGadgetTachWindow, 1);
	gint64 last;

	pbm_gadget_tach_window_init(w);
	assert_int_equal(pbm_gadget_tach_window_rpm(w, 2, T0_US), 0);
	last = pulses(w, 20000, G_USEC_PER_SEC);
	assert_int_equal(pbm_gadget_tach_window_rpm(w, 2, last + 10), 1500);
	/* Only the last pulse is within the second: a fan slower than one
	 * pulse a second. */
	assert_int_equal(pbm_gadget_tach_window_rpm(w, 2, last + G_USEC_PER_SEC - 1), 30);
	assert_int_equal(pbm_gadget_tach_window_rpm(w, 2, last + G_USEC_PER_SEC), 0);
	assert_int_equal(pbm_gadget_tach_window_rpm(w, 2, last + 60 * G_USEC_PER_SEC), 0);
	/* And turning again. */
	pbm_gadget_tach_window_add(w, last + 61 * G_USEC_PER_SEC);
	pbm_gadget_tach_window_add(w, last + 61 * G_USEC_PER_SEC + 10000);
	assert_int_equal(pbm_gadget_tach_window_rpm(w, 3, last + 61 * G_USEC_PER_SEC + 10000),
	                 2000);
}

static void
test_rpm_follows_a_change_within_a_second(void **state)
{
	g_autofree PbmGadgetTachWindow *w = g_new(PbmGadgetTachWindow, 1);
	gint64 t = T0_US;

	pbm_gadget_tach_window_init(w);
	for (; t < T0_US + 2 * G_USEC_PER_SEC; t += 10000) /* 3000 rpm */
		pbm_gadget_tach_window_add(w, t);
	for (; t < T0_US + 4 * G_USEC_PER_SEC; t += 40000) /* 750 rpm */
		pbm_gadget_tach_window_add(w, t);
	assert_int_equal(pbm_gadget_tach_window_rpm(w, 2, t - 40000), 750);
}

static void
test_rpm_of_more_edges_than_the_window_holds(void **state)
{
	g_autofree PbmGadgetTachWindow *w = g_new(PbmGadgetTachWindow, 1);
	gint64 last;

	/* 10 kHz of pulses: 5 times what the window holds; at 10 pulses a
	 * turn that is 60,000 rpm, and at 1 pulse 600,000, beyond 16 bits. */
	pbm_gadget_tach_window_init(w);
	last = pulses(w, 100, G_USEC_PER_SEC);
	assert_int_equal(pbm_gadget_tach_window_rpm(w, 10, last), 60000);
	assert_int_equal(pbm_gadget_tach_window_rpm(w, 1, last), G_MAXUINT16);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_press_with_bounce_counts_once),
		cmocka_unit_test(test_debounce_window_is_50_ms_of_quiet),
		cmocka_unit_test(test_noise_is_one_press),
		cmocka_unit_test(test_active_low_presses_on_falling_edges),
		cmocka_unit_test(test_first_edge_at_time_zero_is_a_press),
		cmocka_unit_test(test_clock_stepping_back_loses_no_press),
		cmocka_unit_test(test_rpm_of_a_steady_fan),
		cmocka_unit_test(test_rpm_zero_after_a_second_still),
		cmocka_unit_test(test_rpm_follows_a_change_within_a_second),
		cmocka_unit_test(test_rpm_of_more_edges_than_the_window_holds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
