/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbm-gadget.conf(5) as a person writes it: what a valid file means, and
 * the error a wrong one gets (file, line, key, what to do).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "pbm-conf-file.h"
#include "pbm-gadget-config.h"
#include "pbm-test-files.h"

#define CHANNELS                                                                 \
	"channels = (\n"                                                         \
	"  { band = \"red\"; wavelength_nm = 660;\n"                             \
	"    pwm = { chip = \"pwmchip0\"; channel = 0; };\n"                     \
	"    calibration = ( { distance_cm = 5.0; irradiance = 100.0; },\n"      \
	"                    { distance_cm = 15.0; irradiance = 36.5; } ); },\n" \
	"  { band = \"nir\"; wavelength_nm = 850; max_level = 800;\n"            \
	"    pwm = { chip = \"pwmchip0\"; channel = 1; };\n"                     \
	"    calibration = ( { distance_cm = 15.0; irradiance = 34.0; } ); }\n"  \
	");\n"

#define MINIMAL                                                          \
	"panel = { serial = \"DIY-0001\"; model = \"Bench panel\"; };\n" \
	"outputs = { backend = \"none\"; };\n" CHANNELS

typedef struct {
	gchar *dir;
	gchar *path;
} Fixture;

static int
setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);

	f->dir = g_dir_make_tmp("pbm-gadget-config-XXXXXX", NULL);
	f->path = g_build_filename(f->dir, "pbm-gadget.conf", NULL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	Fixture *f = *state;

	g_remove(f->path);
	g_rmdir(f->dir);
	g_free(f->path);
	g_free(f->dir);
	g_free(f);
	return 0;
}

static PbmGadgetConfig *
load(Fixture *f, const gchar *text, GError **error)
{
	pbm_test_write_file(f->path, text);
	return pbm_gadget_config_load(f->path, error);
}

/* The file fails with an error that names it, the line and every needle. */
static void
assert_refused(Fixture *f, const gchar *text, guint line, const gchar *needle)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmGadgetConfig) c = load(f, text, &error);
	g_autofree gchar *where =
	        line > 0 ? g_strdup_printf("%s:%u:", f->path, line) : g_strdup(f->path);

	assert_null(c);
	assert_non_null(error);
	assert_true(error->domain == PBM_CONFIG_ERROR);
	if (!g_str_has_prefix(error->message, where))
		fail_msg("'%s' does not start with '%s'", error->message, where);
	if (strstr(error->message, needle) == NULL)
		fail_msg("'%s' does not say '%s'", error->message, needle);
}

static void
test_full(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmGadgetConfig) c =
	        load(f,
	             "usb = { product_id = 0x7063; manufacturer = \"Me\"; product = \"My panel\";"
	             " udc = \"fe980000.usb\"; };\n"
	             "panel = { serial = \"DIY-0001\"; model = \"Bench panel\"; max_session_s = "
	             "1200; derate_c = 42.5; max_c = 58.0; };\n"
	             "outputs = { backend = \"pwm\"; carrier_hz = 2000; };\n" CHANNELS
	             "temperature = { backend = \"file\"; path = "
	             "\"/sys/class/hwmon/hwmon2/temp1_input\"; };\n"
	             "fan = { tach = { chip = \"gpiochip0\"; line = 17; }; pulses_per_rev = 2;"
	             " enable = { chip = \"gpiochip0\"; line = 27; }; };\n"
	             "button = { chip = \"gpiochip0\"; line = 22; };\n",
	             &error);

	assert_null(error);
	assert_non_null(c);
	assert_int_equal(c->product_id, 0x7063);
	assert_string_equal(c->manufacturer, "Me");
	assert_string_equal(c->product, "My panel");
	assert_string_equal(c->udc, "fe980000.usb");
	assert_string_equal(c->model.serial, "DIY-0001");
	assert_string_equal(c->model.model, "Bench panel");
	assert_true(g_str_has_prefix(c->model.firmware, "pbm-gadget-"));
	assert_int_equal(c->model.max_session_s, 1200);
	assert_int_equal(c->model.t_derate_dc, 425);
	assert_int_equal(c->model.t_max_dc, 580);
	assert_int_equal(c->model.channel_count, 2);
	assert_int_equal(c->model.channels[0].band, PBM_BAND_RED);
	assert_int_equal(c->model.channels[0].wavelength_nm, 660);
	assert_int_equal(c->model.channels[0].max_level, 1000);
	assert_int_equal(c->model.channels[0].point_count, 2);
	assert_int_equal(c->model.channels[0].points[0].distance_mm, 50);
	assert_int_equal(c->model.channels[0].points[0].irradiance_cmw, 10000);
	assert_int_equal(c->model.channels[0].points[1].irradiance_cmw, 3650);
	assert_int_equal(c->model.channels[1].band, PBM_BAND_NIR);
	assert_int_equal(c->model.channels[1].max_level, 800);
	assert_int_equal(c->outputs, PBM_GADGET_OUTPUTS_PWM);
	assert_int_equal(c->carrier_hz, 2000);
	assert_string_equal(c->pwm[1].chip, "pwmchip0");
	assert_int_equal(c->pwm[1].channel, 1);
	assert_int_equal(c->thermometer, PBM_GADGET_THERMOMETER_FILE);
	assert_string_equal(c->temperature_path, "/sys/class/hwmon/hwmon2/temp1_input");
	assert_string_equal(c->fan_tach.chip, "gpiochip0");
	assert_int_equal(c->fan_tach.line, 17);
	assert_false(c->fan_tach.active_low);
	assert_int_equal(c->fan_pulses_per_rev, 2);
	assert_int_equal(c->fan_enable.line, 27);
	assert_int_equal(c->button.line, 22);
	assert_true(c->button.active_low); /* a button closes to ground */
}

static void
test_minimal_defaults(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmGadgetConfig) c = load(f, MINIMAL, &error);

	assert_null(error);
	assert_non_null(c);
	assert_int_equal(c->product_id, PBM_USB_PID);
	assert_string_equal(c->manufacturer, "pbmd");
	assert_string_equal(c->product, "Bench panel");
	assert_null(c->udc);
	assert_int_equal(c->model.max_session_s, 3600);
	assert_int_equal(c->model.t_derate_dc, 450);
	assert_int_equal(c->model.t_max_dc, 600);
	assert_int_equal(c->outputs, PBM_GADGET_OUTPUTS_NONE);
	assert_null(c->state_file);
	assert_int_equal(c->thermometer, PBM_GADGET_THERMOMETER_NONE);
	assert_false(pbm_gadget_gpio_line_used(&c->fan_tach));
	assert_false(pbm_gadget_gpio_line_used(&c->fan_enable));
	assert_false(pbm_gadget_gpio_line_used(&c->button));
}

static void
test_refusals(void **state)
{
	Fixture *f = *state;

	assert_refused(f, MINIMAL "colour = \"red\";\n", 12, "colour");
	assert_refused(f, "outputs = { backend = \"none\"; };\n" CHANNELS, 0, "panel: missing");
	assert_refused(f,
	               "panel = { serial = \"DIY 1\"; model = \"x\"; };\n"
	               "outputs = { backend = \"none\"; };\n" CHANNELS,
	               1, "letters, digits");
	assert_refused(f,
	               "panel = { serial = \"D1\"; model = \"x\"; derate_c = 50.0; max_c = 50.5; "
	               "};\noutputs = { backend = \"none\"; };\n" CHANNELS,
	               1, "at least 1 C above derate_c");
	assert_refused(f,
	               "panel = { serial = \"D1\"; model = \"x\"; };\n"
	               "outputs = { backend = \"gpio\"; };\n" CHANNELS,
	               2, "use \"pwm\"");
	assert_refused(f,
	               "panel = { serial = \"D1\"; model = \"x\"; };\n"
	               "outputs = { backend = \"none\"; state_file = \"out\"; };\n" CHANNELS,
	               2, "absolute path");
	assert_refused(f,
	               "panel = { serial = \"D1\"; model = \"x\"; };\n"
	               "outputs = { backend = \"none\"; };\n"
	               "channels = ( { band = \"blue\"; wavelength_nm = 450;"
	               " calibration = ( { distance_cm = 5.0; irradiance = 1.0; } ); } );\n",
	               3, "\"blue\"");
	assert_refused(f,
	               "panel = { serial = \"D1\"; model = \"x\"; };\n"
	               "outputs = { backend = \"none\"; };\n"
	               "channels = ( { band = \"red\"; wavelength_nm = 660;"
	               " calibration = ( { distance_cm = 15.0; irradiance = 1.0; },"
	               " { distance_cm = 5.0; irradiance = 3.0; } ); } );\n",
	               3, "increasing distance");
	assert_refused(f,
	               "panel = { serial = \"D1\"; model = \"x\"; };\n"
	               "outputs = { backend = \"none\"; };\n"
	               "channels = ( { band = \"red\"; wavelength_nm = 660; } );\n",
	               3, "how to measure");
	assert_refused(f,
	               "panel = { serial = \"D1\"; model = \"x\"; };\n"
	               "outputs = { backend = \"none\"; };\n"
	               "channels = ( );\n",
	               3, "give 1 to 8");
}

static void
test_refusals_hardware(void **state)
{
	Fixture *f = *state;

	/* The pwm backend needs an output per channel. */
	assert_refused(f,
	               "panel = { serial = \"D1\"; model = \"x\"; };\n"
	               "outputs = { backend = \"pwm\"; };\n"
	               "channels = ( { band = \"red\"; wavelength_nm = 660;"
	               " calibration = ( { distance_cm = 5.0; irradiance = 1.0; } ); } );\n",
	               3, "pwm: missing");
	assert_refused(f,
	               "panel = { serial = \"D1\"; model = \"x\"; };\n"
	               "outputs = { backend = \"pwm\"; carrier_hz = 10; };\n" CHANNELS,
	               2, "carrier_hz");
	/* Real LEDs are protected by a real sensor, never by the stand-in. */
	assert_refused(f,
	               "panel = { serial = \"D1\"; model = \"x\"; };\n"
	               "outputs = { backend = \"pwm\"; };\n" CHANNELS,
	               0, "needs the board's temperature sensor");
	assert_refused(f, MINIMAL "temperature = { backend = \"file\"; };\n", 12, "absolute path");
	assert_refused(f, MINIMAL "temperature = { backend = \"hwmon0\"; };\n", 12, "use \"file\"");
	assert_refused(f, MINIMAL "button = { chip = \"gpiochip0\"; };\n", 12, "line");
	assert_refused(f,
	               MINIMAL "button = { chip = \"gpiochip0\"; line = 4; };\n"
	                       "fan = { tach = { chip = \"gpiochip0\"; line = 4; }; };\n",
	               0, "both use line 4");
	assert_refused(f,
	               "panel = { serial = \"D1\"; model = \"x\"; };\n"
	               "outputs = { backend = \"pwm\"; };\n"
	               "channels = ( { band = \"red\"; wavelength_nm = 660;"
	               " pwm = { chip = \"pwmchip0\"; channel = 0; };"
	               " calibration = ( { distance_cm = 5.0; irradiance = 1.0; } ); },"
	               " { band = \"nir\"; wavelength_nm = 850;"
	               " pwm = { chip = \"pwmchip0\"; channel = 0; };"
	               " calibration = ( { distance_cm = 5.0; irradiance = 1.0; } ); } );\n",
	               0, "both drive pwmchip0 pwm0");
	assert_refused(f,
	               "panel = { serial = \"D1\"; model = \"x\"; };\n"
	               "outputs = { backend = \"pwm\"; };\n"
	               "channels = ( { band = \"red\"; wavelength_nm = 660;"
	               " pwm = { chip = \"../../etc\"; channel = 0; };"
	               " calibration = ( { distance_cm = 5.0; irradiance = 1.0; } ); } );\n",
	               3, "/sys/class/pwm");
}

/* The band must agree with the wavelength, as the protocol says. */
static void
test_band_against_wavelength(void **state)
{
	Fixture *f = *state;

	assert_refused(f,
	               "panel = { serial = \"D1\"; model = \"x\"; };\n"
	               "outputs = { backend = \"none\"; };\n"
	               "channels = ( { band = \"nir\"; wavelength_nm = 660;"
	               " calibration = ( { distance_cm = 5.0; irradiance = 1.0; } ); } );\n",
	               3, "wavelength_nm: 660 nm is not NIR light (700..1100 nm)");
}

static void
test_unreadable(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmGadgetConfig) c = pbm_gadget_config_load(f->path, &error);

	assert_null(c);
	assert_non_null(error);
	assert_non_null(strstr(error->message, f->path));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_minimal_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_hardware, setup, teardown),
		cmocka_unit_test_setup_teardown(test_band_against_wavelength, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
