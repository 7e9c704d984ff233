/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The board's temperature sensor as a file the kernel keeps current: a
 * hwmon temp*_input or a thermal_zone*\/temp, both in millidegrees Celsius
 * as an ASCII integer and a newline.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PBM_GADGET_THERMOMETER_ERROR (pbm_gadget_thermometer_error_quark())
GQuark pbm_gadget_thermometer_error_quark(void);

typedef enum {
	PBM_GADGET_THERMOMETER_ERROR_READ,    /* the file cannot be opened or read */
	PBM_GADGET_THERMOMETER_ERROR_GARBAGE, /* empty, or not a millidegree integer */
	PBM_GADGET_THERMOMETER_ERROR_RANGE,   /* outside PBM_TEMP_MIN_DC..PBM_TEMP_MAX_DC */
} PbmGadgetThermometerError;

typedef struct _PbmGadgetThermometer PbmGadgetThermometer;

/* Reads path once: a sensor that cannot be read, or reads nonsense, at
 * start is a configuration error. */
PbmGadgetThermometer *pbm_gadget_thermometer_new(const gchar *path, GError **error);
/* Reads the file afresh. Refuses an empty file, anything but an integer
 * (and one newline), and temperatures outside the protocol's range, with an
 * error that names the path and what it read. */
gboolean pbm_gadget_thermometer_read(PbmGadgetThermometer *thermometer, gdouble *celsius,
                                     GError **error);
void pbm_gadget_thermometer_free(PbmGadgetThermometer *thermometer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmGadgetThermometer, pbm_gadget_thermometer_free)

G_END_DECLS
