/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The firmware model driving a board's outputs: pbm-gadget's panel fed the
 * requests a host sends over USB, on a manual clock, with the "none"
 * outputs writing what they would drive to a file and a thermometer file
 * the test writes. What a person at the panel would see: when the light
 * is on, at what level, and that it goes off on every way out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pbm-gadget-config.h"
#include "pbm-gadget-panel.h"
#include "pbm-manual-clock.h"
#include "pbm-test-files.h"

#define MS(x) ((gint64)(x)*1000)
#define S(x) ((gint64)(x)*G_USEC_PER_SEC)

typedef struct {
	gchar *dir;
	gchar *conf;
	gchar *outputs;
	gchar *temp;
	PbmClock *clock;
	PbmGadgetConfig *config;
	PbmGadgetPanel *panel;
	guint fatal;
} Fixture;

/* Until the sensor read under way (in a thread) has landed. */
static void
settle(Fixture *f)
{
	while (f->panel != NULL && pbm_gadget_panel_sensing(f->panel))
		g_main_context_iteration(NULL, TRUE);
	pbm_test_drain_main_context();
}

/* A new reading at the sensor; the panel sees it at its next read. */
static void
write_temp(Fixture *f, const gchar *text)
{
	settle(f);
	pbm_test_write_file(f->temp, text);
}

static void
on_fatal(const GError *error, gpointer user_data)
{
	Fixture *f = user_data;

	f->fatal++;
}

static int
setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;

	f->dir = g_dir_make_tmp("pbm-gadget-panel-XXXXXX", NULL);
	f->conf = g_build_filename(f->dir, "pbm-gadget.conf", NULL);
	f->outputs = g_build_filename(f->dir, "outputs", NULL);
	f->temp = g_build_filename(f->dir, "temp1_input", NULL);
	text = g_strdup_printf(
	        "panel = { serial = \"BENCH01\"; model = \"Bench\"; derate_c = 45.0; max_c = 55.0; "
	        "};\n"
	        "outputs = { backend = \"none\"; state_file = \"%s\"; };\n"
	        "temperature = { backend = \"file\"; path = \"%s\"; };\n"
	        "channels = (\n"
	        "  { band = \"red\"; wavelength_nm = 660;"
	        "    calibration = ( { distance_cm = 15.0; irradiance = 36.0; } ); },\n"
	        "  { band = \"nir\"; wavelength_nm = 850;"
	        "    calibration = ( { distance_cm = 15.0; irradiance = 34.0; } ); }\n"
	        ");\n",
	        f->outputs, f->temp);
	pbm_test_write_file(f->conf, text);
	write_temp(f, "25000\n");
	f->config = pbm_gadget_config_load(f->conf, &error);
	assert_null(error);
	f->clock = pbm_manual_clock_new();
	f->panel = pbm_gadget_panel_new(f->config, f->clock, &error);
	assert_null(error);
	assert_non_null(f->panel);
	pbm_gadget_panel_set_fatal_func(f->panel, on_fatal, f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	Fixture *f = *state;

	g_clear_pointer(&f->panel, pbm_gadget_panel_free);
	g_clear_pointer(&f->config, pbm_gadget_config_free);
	g_clear_object(&f->clock);
	g_remove(f->conf);
	g_remove(f->outputs);
	g_rmdir(f->outputs);
	g_remove(f->temp);
	g_rmdir(f->dir);
	g_free(f->conf);
	g_free(f->outputs);
	g_free(f->temp);
	g_free(f->dir);
	g_free(f);
	return 0;
}

/* Time passes in steps no longer than the sensor's period, each sensor
 * read landing before the next (the read runs in a real thread, against
 * the manual clock). */
static void
advance(Fixture *f, gint64 usec)
{
	while (usec > 0) {
		gint64 step = MIN(usec, MS(100));
		pbm_manual_clock_advance(PBM_MANUAL_CLOCK(f->clock), step);
		settle(f);
		usec -= step;
	}
}

/* What the outputs show now, as the none backend writes it. */
static gchar *
shown(Fixture *f)
{
	gchar *text = NULL;

	settle(f);
	assert_true(g_file_get_contents(f->outputs, &text, NULL, NULL));
	return g_strchomp(text);
}

static void
assert_shown(Fixture *f, const gchar *want)
{
	g_autofree gchar *got = shown(f);

	if (strstr(got, want) == NULL)
		fail_msg("the outputs show '%s', not '%s'", got, want);
}

static gboolean
request(Fixture *f, guint8 type, guint8 req, guint16 value, guint8 *data, guint16 len)
{
	struct pbm_wire_setup setup = { .request_type = type,
		                        .request = req,
		                        .value = value,
		                        .index = PBM_USB_INTERFACE,
		                        .length = len };
	guint8 scratch[1024] = { 0 };
	gsize actual = 0;

	if (data == NULL)
		data = scratch;
	return pbm_gadget_panel_usb_handlers()->control(&setup, data, &actual, f->panel);
}

static void
heartbeat(Fixture *f)
{
	assert_true(request(f, PBM_REQTYPE_OUT, PBM_REQ_HEARTBEAT, 3000, NULL, 0));
}

static gboolean
set_output(Fixture *f, guint16 red, guint16 nir, guint32 pulse_mhz, guint16 duty, guint16 ramp_ms)
{
	PbmOutput o = { .level = { red, nir },
		        .pulse_mhz = pulse_mhz,
		        .duty = duty,
		        .ramp_ms = ramp_ms,
		        .session_cap_s = 600 };
	guint8 buf[sizeof(struct pbm_wire_output)];

	assert_true(pbm_output_encode(&o, buf, NULL));
	return request(f, PBM_REQTYPE_OUT, PBM_REQ_SET_OUTPUT, 0, buf, sizeof(buf));
}

static void
light_up(Fixture *f, guint16 red, guint16 nir)
{
	heartbeat(f);
	assert_true(set_output(f, red, nir, 0, PBM_DUTY_MAX, 0));
}

/* A host that feeds the watchdog every second, as pbmd does. */
static void
run_fed(Fixture *f, gint64 usec)
{
	for (; usec > 0; usec -= S(1)) {
		heartbeat(f);
		advance(f, MIN(usec, S(1)));
	}
}

static void
test_dark_until_asked(void **state)
{
	Fixture *f = *state;

	assert_shown(f, "lit=0");
	advance(f, S(5));
	assert_shown(f, "lit=0");
	/* No light without an armed watchdog, as the protocol says: refused
	 * (a STALL where the USB stack allows one). */
	assert_false(set_output(f, 500, 500, 0, PBM_DUTY_MAX, 0));
	assert_shown(f, "lit=0");
}

static void
test_set_output_and_all_off(void **state)
{
	Fixture *f = *state;

	light_up(f, 500, 250);
	assert_shown(f, "lit=1 pulse_mhz=0 duty=1000 level=500,250");
	assert_true(request(f, PBM_REQTYPE_OUT, PBM_REQ_ALL_OFF, 0, NULL, 0));
	assert_shown(f, "lit=0");
}

static void
test_pulsed(void **state)
{
	Fixture *f = *state;

	heartbeat(f);
	assert_true(set_output(f, 0, 800, 10000, 500, 0));
	assert_shown(f, "lit=1 pulse_mhz=10000 duty=500 level=0,800");
}

static void
test_watchdog(void **state)
{
	Fixture *f = *state;

	light_up(f, 500, 500);
	run_fed(f, S(10));
	assert_shown(f, "lit=1");
	/* The host goes quiet: dark 3 s after its last heartbeat. */
	heartbeat(f);
	advance(f, MS(2900));
	assert_shown(f, "lit=1");
	advance(f, MS(200));
	assert_shown(f, "lit=0");
}

static void
test_ramp_follows(void **state)
{
	Fixture *f = *state;
	g_autofree gchar *mid = NULL;
	guint red = 0;

	heartbeat(f);
	assert_true(set_output(f, 1000, 0, 0, PBM_DUTY_MAX, 1000));
	advance(f, MS(500));
	mid = shown(f);
	assert_non_null(strstr(mid, "level="));
	red = (guint)g_ascii_strtoull(strstr(mid, "level=") + 6, NULL, 10);
	if (red < 400 || red > 600)
		fail_msg("half way through a 1 s ramp the outputs show %s", mid);
	advance(f, MS(600));
	assert_shown(f, "level=1000,0");
}

static void
test_link_down_and_suspend(void **state)
{
	Fixture *f = *state;

	light_up(f, 500, 500);
	pbm_gadget_panel_usb_handlers()->link_changed(PBM_GADGET_LINK_DOWN, f->panel);
	assert_shown(f, "lit=0");
	pbm_gadget_panel_usb_handlers()->link_changed(PBM_GADGET_LINK_UP, f->panel);
	light_up(f, 500, 500);
	assert_shown(f, "lit=1");
	pbm_gadget_panel_usb_handlers()->link_changed(PBM_GADGET_LINK_SUSPENDED, f->panel);
	assert_shown(f, "lit=0");
}

/* The board's sensor drives the model's derating and its latch. */
static void
test_thermal(void **state)
{
	Fixture *f = *state;

	light_up(f, 1000, 800);
	write_temp(f, "50000\n"); /* half way from 45 to 55 C */
	run_fed(f, S(1));
	assert_shown(f, "lit=1 pulse_mhz=0 duty=1000 level=500,400");
	write_temp(f, "55500\n");
	run_fed(f, S(1));
	assert_shown(f, "lit=0");
	/* Latched: refused until the board cools and the host clears it. */
	heartbeat(f);
	assert_false(set_output(f, 100, 0, 0, PBM_DUTY_MAX, 0));
	assert_shown(f, "lit=0");
}

static void
test_sensor_failure(void **state)
{
	Fixture *f = *state;

	light_up(f, 500, 500);
	write_temp(f, "warm\n");
	run_fed(f, S(1));
	assert_shown(f, "lit=0");
	/* Reads again: the host clears the fault and may light it again. */
	write_temp(f, "25000\n");
	run_fed(f, S(1));
	settle(f);
	assert_true(request(f, PBM_REQTYPE_OUT, PBM_REQ_CLEAR_FAULT, 0, NULL, 0));
	light_up(f, 500, 500);
	assert_shown(f, "lit=1");
}

static PbmStatus
status_of(Fixture *f)
{
	guint8 buf[sizeof(struct pbm_wire_status)];
	PbmStatus s;

	assert_true(request(f, PBM_REQTYPE_IN, PBM_REQ_GET_STATUS, 0, buf, sizeof(buf)));
	assert_true(pbm_status_decode(buf, sizeof(buf), &s, NULL));
	return s;
}

/* A sensor whose read never returns (here a FIFO nobody writes) is a
 * failed sensor after 2 s: dark, and a fault the host sees. */
static void
test_sensor_hangs(void **state)
{
	Fixture *f = *state;
	int fd;

	light_up(f, 500, 500);
	settle(f);
	g_remove(f->temp);
	assert_int_equal(mkfifo(f->temp, 0600), 0);
	for (guint i = 0; i < 30; i++) {
		heartbeat(f);
		pbm_manual_clock_advance(PBM_MANUAL_CLOCK(f->clock), MS(100));
	}
	assert_true(pbm_gadget_panel_sensing(f->panel));
	assert_true(status_of(f).faults & PBM_FAULT_SENSOR);
	{
		g_autofree gchar *got = NULL;
		assert_true(g_file_get_contents(f->outputs, &got, NULL, NULL));
		assert_non_null(strstr(got, "lit=0"));
	}
	/* Let the reader go, so that the panel can be freed. */
	fd = open(f->temp, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "25000\n", 6), 6);
	close(fd);
	settle(f);
}

/* An output that cannot be driven while only NIR is lit: the fault
 * latches whatever channel is lit, and when switching off fails too,
 * pbm-gadget must end (its unit's ExecStopPost= takes over). */
static void
test_output_failure(void **state)
{
	Fixture *f = *state;
	PbmStatus s;

	light_up(f, 0, 500);
	assert_shown(f, "lit=1");
	g_remove(f->outputs);
	assert_int_equal(g_mkdir(f->outputs, 0700), 0);
	heartbeat(f);
	(void)set_output(f, 0, 600, 0, PBM_DUTY_MAX, 0);
	s = status_of(f);
	assert_true(s.faults & PBM_FAULT_LED_STRING);
	assert_int_equal(s.flags & PBM_STATUS_LIT, 0);
	assert_int_equal(f->fatal, 1);
}

static void
test_off_on_shutdown(void **state)
{
	Fixture *f = *state;

	light_up(f, 500, 500);
	assert_true(pbm_gadget_panel_off(f->panel, NULL));
	assert_shown(f, "lit=0");
	/* Whatever comes after: a late sensor reading, time, a request. */
	advance(f, S(1));
	light_up(f, 300, 300);
	assert_shown(f, "lit=0");
	g_clear_pointer(&f->panel, pbm_gadget_panel_free);
	assert_shown(f, "lit=0");
}

static void
test_freed_lit(void **state)
{
	Fixture *f = *state;

	light_up(f, 300, 300);
	assert_shown(f, "lit=1");
	g_clear_pointer(&f->panel, pbm_gadget_panel_free);
	assert_shown(f, "lit=0");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dark_until_asked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_output_and_all_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pulsed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watchdog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ramp_follows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_down_and_suspend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thermal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sensor_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sensor_hangs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_off_on_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_freed_lit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
