/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbm-gadget's temperature sensor (src/gadget/pbm-gadget-thermometer.h)
 * against a hwmon device and a thermal zone emulated in sysfs by umockdev:
 * each read sees the file's current value; an empty file, anything but
 * millidegrees, temperatures outside the protocol's -40..150 C and a
 * missing file are refused with an error naming the path and what it read.
 *
 * Runs under the umockdev preload: /sys is the testbed's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <umockdev.h>

#include "pbm-gadget-thermometer.h"

#define HWMON "/sys/devices/hwmon0"
#define HWMON_INPUT "/sys/class/hwmon/hwmon0/temp1_input"
#define ZONE_TEMP "/sys/class/thermal/thermal_zone0/temp"

typedef struct {
	UMockdevTestbed *testbed;
	gchar *root;
} Fixture;

static void
add_device(Fixture *f, const gchar *subsystem, const gchar *name, const gchar *key0,
           const gchar *value0, const gchar *key1, const gchar *value1)
{
	g_autofree gchar *syspath = umockdev_testbed_add_device(
	        f->testbed, subsystem, name, NULL, key0, value0, key1, value1, NULL, NULL);

	assert_non_null(syspath);
}

static int
setup(void **state)
{
	Fixture *f;

	/* Without the preload /sys would be the machine's. */
	if (strstr(g_getenv("LD_PRELOAD") ?: "", "libumockdev-preload") == NULL) {
		print_error("run under the umockdev preload (LD_PRELOAD=libumockdev-preload.so.0), "
		            "as meson test does\n");
		return -1;
	}
	f = g_new0(Fixture, 1);
	f->testbed = umockdev_testbed_new();
	f->root = umockdev_testbed_get_root_dir(f->testbed);
	add_device(f, "hwmon", "hwmon0", "name", "cpu_thermal\n", "temp1_input", "41250\n");
	add_device(f, "thermal", "thermal_zone0", "type", "cpu-thermal\n", "temp", "38000\n");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	Fixture *f = *state;

	g_object_unref(f->testbed);
	g_free(f->root);
	g_free(f);
	return 0;
}

static void
set_input(Fixture *f, const gchar *text)
{
	umockdev_testbed_set_attribute(f->testbed, HWMON, "temp1_input", text);
}

static PbmGadgetThermometer *
open_thermometer(const gchar *path)
{
	g_autoptr(GError) error = NULL;
	PbmGadgetThermometer *t = pbm_gadget_thermometer_new(path, &error);

	if (t == NULL)
		fail_msg("pbm_gadget_thermometer_new: %s", error->message);
	return t;
}

static gdouble
read_celsius(PbmGadgetThermometer *t)
{
	g_autoptr(GError) error = NULL;
	gdouble celsius = -1000;

	if (!pbm_gadget_thermometer_read(t, &celsius, &error))
		fail_msg("pbm_gadget_thermometer_read: %s", error->message);
	return celsius;
}

static void
assert_message(const GError *error, const gchar *part)
{
	assert_non_null(error);
	if (strstr(error->message, part) == NULL)
		fail_msg("\"%s\" is not in the error \"%s\"", part, error->message);
}

/* What the file holding text reads as: refused with code, naming the path
 * and showing. */
static void
assert_refused(Fixture *f, PbmGadgetThermometer *t, const gchar *text, gint code,
               const gchar *showing)
{
	g_autoptr(GError) error = NULL;
	gdouble celsius = 12345;

	set_input(f, text);
	assert_false(pbm_gadget_thermometer_read(t, &celsius, &error));
	assert_true(g_error_matches(error, PBM_GADGET_THERMOMETER_ERROR, code));
	assert_message(error, HWMON_INPUT);
	assert_message(error, showing);
	/* And nothing read. */
	assert_true(celsius == 12345);
}

static void
test_reads_follow_the_sensor(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmGadgetThermometer) t = open_thermometer(HWMON_INPUT);

	assert_true(read_celsius(t) == 41.25);
	set_input(f, "55000\n");
	assert_true(read_celsius(t) == 55.0);
	set_input(f, "-5500\n");
	assert_true(read_celsius(t) == -5.5);
	/* The protocol's limits themselves, and no newline. */
	set_input(f, "150000\n");
	assert_true(read_celsius(t) == 150.0);
	set_input(f, "-40000");
	assert_true(read_celsius(t) == -40.0);
}

static void
test_thermal_zone(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmGadgetThermometer) t = open_thermometer(ZONE_TEMP);

	assert_true(read_celsius(t) == 38.0);
	umockdev_testbed_set_attribute(f->testbed, "/sys/devices/thermal_zone0", "temp", "61999\n");
	assert_true(read_celsius(t) == 61.999);
}

static void
test_garbage_refused(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmGadgetThermometer) t = open_thermometer(HWMON_INPUT);

	assert_refused(f, t, "", PBM_GADGET_THERMOMETER_ERROR_GARBAGE, "is empty");
	assert_refused(f, t, "\n", PBM_GADGET_THERMOMETER_ERROR_GARBAGE, "(read \"\\n\")");
	assert_refused(f, t, "abc\n", PBM_GADGET_THERMOMETER_ERROR_GARBAGE, "(read \"abc\\n\")");
	assert_refused(f, t, "41.5\n", PBM_GADGET_THERMOMETER_ERROR_GARBAGE, "\"41.5\\n\"");
	assert_refused(f, t, " 41000\n", PBM_GADGET_THERMOMETER_ERROR_GARBAGE, "\" 41000\\n\"");
	assert_refused(f, t, "+41000\n", PBM_GADGET_THERMOMETER_ERROR_GARBAGE, "\"+41000\\n\"");
	assert_refused(f, t, "41000\n\n", PBM_GADGET_THERMOMETER_ERROR_GARBAGE, "does not hold");
	assert_refused(f, t, "41000\n42000\n", PBM_GADGET_THERMOMETER_ERROR_GARBAGE,
	               "does not hold an integer");
	assert_refused(f, t, "-\n", PBM_GADGET_THERMOMETER_ERROR_GARBAGE, "\"-\\n\"");
	assert_refused(f, t, "99999999999999999999999999999999999\n",
	               PBM_GADGET_THERMOMETER_ERROR_GARBAGE, "too long");
	assert_refused(f, t, "99999999999999999999\n", PBM_GADGET_THERMOMETER_ERROR_GARBAGE,
	               "does not hold an integer");
	/* And reads again once the sensor does. */
	set_input(f, "30000\n");
	assert_true(read_celsius(t) == 30.0);
}

static void
test_out_of_range_refused(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmGadgetThermometer) t = open_thermometer(HWMON_INPUT);

	assert_refused(f, t, "150001\n", PBM_GADGET_THERMOMETER_ERROR_RANGE,
	               "reads 150.0 °C (150001), outside -40.0 to 150.0 °C");
	assert_refused(f, t, "-40001\n", PBM_GADGET_THERMOMETER_ERROR_RANGE, "(-40001)");
	/* What a disconnected thermistor often reads. */
	assert_refused(f, t, "-273150\n", PBM_GADGET_THERMOMETER_ERROR_RANGE, "(-273150), outside");
}

static void
test_bad_at_start_refused(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;

	set_input(f, "nonsense\n");
	assert_null(pbm_gadget_thermometer_new(HWMON_INPUT, &error));
	assert_true(g_error_matches(error, PBM_GADGET_THERMOMETER_ERROR,
	                            PBM_GADGET_THERMOMETER_ERROR_GARBAGE));
	assert_message(error, HWMON_INPUT);
}

static void
test_missing_file(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmGadgetThermometer) t = open_thermometer(HWMON_INPUT);
	g_autofree gchar *input = g_build_filename(f->root, HWMON, "temp1_input", NULL);
	gdouble celsius;

	assert_null(pbm_gadget_thermometer_new("/sys/class/hwmon/hwmon3/temp1_input", &error));
	assert_true(g_error_matches(error, PBM_GADGET_THERMOMETER_ERROR,
	                            PBM_GADGET_THERMOMETER_ERROR_READ));
	assert_message(error, "cannot open the temperature file /sys/class/hwmon/hwmon3/"
	                      "temp1_input: No such file or directory");
	assert_message(error, "temperature.path");
	g_clear_error(&error);

	/* The sensor's driver goes away while running. */
	assert_int_equal(g_unlink(input), 0);
	assert_false(pbm_gadget_thermometer_read(t, &celsius, &error));
	assert_true(g_error_matches(error, PBM_GADGET_THERMOMETER_ERROR,
	                            PBM_GADGET_THERMOMETER_ERROR_READ));
	assert_message(error, HWMON_INPUT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reads_follow_the_sensor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thermal_zone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_at_start_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
