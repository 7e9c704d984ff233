/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbm-gadget's configuration (pbm-gadget.conf(5)): the USB identity, the
 * panel the firmware model describes, and the hardware behind it. Loaded
 * once at start; every value is checked before any output is touched.
 */
#pragma once

#include <glib.h>

#include "pbm-sim.h"

G_BEGIN_DECLS

#define PBM_GADGET_GPIO_CHIP_MAX 64

typedef enum {
	PBM_GADGET_OUTPUTS_NONE, /* drives nothing: tests and bring-up */
	PBM_GADGET_OUTPUTS_PWM,  /* Linux PWM outputs under /sys/class/pwm */
} PbmGadgetOutputsKind;

typedef enum {
	PBM_GADGET_THERMOMETER_NONE, /* the model's thermal model stands in */
	PBM_GADGET_THERMOMETER_FILE, /* a hwmon temp*_input or thermal_zone*\/temp file */
} PbmGadgetThermometerKind;

/* One PWM output: /sys/class/pwm/<chip>/pwm<channel>. */
typedef struct {
	gchar chip[PBM_GADGET_GPIO_CHIP_MAX]; /* "pwmchip0" */
	guint channel;
} PbmGadgetPwmOutput;

/* One GPIO line through libgpiod. chip is a name ("gpiochip0") or a path
 * ("/dev/gpiochip0"); an empty chip means the line is not used. */
typedef struct {
	gchar chip[PBM_GADGET_GPIO_CHIP_MAX];
	guint line;
	gboolean active_low;
} PbmGadgetGpioLine;

typedef struct {
	gchar *path; /* the file it came from, for messages */

	/* usb = { ... } */
	guint16 product_id;
	gchar *manufacturer;
	gchar *product;
	gchar *udc; /* NULL: the board's only USB device controller */

	/* panel = { ... } and channels = ( ... ): the model the host sees,
	 * with serial, model, channels and calibration, limits. The
	 * firmware string is pbm-gadget's version. */
	PbmSimConfig model;

	/* outputs = { ... } */
	PbmGadgetOutputsKind outputs;
	guint carrier_hz;  /* PWM frequency of continuous light */
	gchar *state_file; /* none: where the levels it would drive are written, or NULL */
	PbmGadgetPwmOutput pwm[PBM_MAX_CHANNELS]; /* one per channel, in channel order */

	/* temperature = { ... } */
	PbmGadgetThermometerKind thermometer;
	gchar *temperature_path;

	/* fan = { ... } and button = { ... }; unused lines have an empty chip */
	PbmGadgetGpioLine fan_tach;
	guint fan_pulses_per_rev;
	PbmGadgetGpioLine fan_enable;
	PbmGadgetGpioLine button;
} PbmGadgetConfig;

PbmGadgetConfig *pbm_gadget_config_load(const gchar *path, GError **error);
void pbm_gadget_config_free(PbmGadgetConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmGadgetConfig, pbm_gadget_config_free)

static inline gboolean
pbm_gadget_gpio_line_used(const PbmGadgetGpioLine *line)
{
	return line->chip[0] != '\0';
}

G_END_DECLS
