/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A GPIO chip emulated at the character device (the v1 uAPI that
 * libgpiod 1.6 speaks) in the test's own process, on top of umockdev:
 * /dev/gpiochipN with its sysfs device, answering GPIO_GET_CHIPINFO,
 * GPIO_GET_LINEINFO, GPIO_GET_LINEEVENT and GPIO_GET_LINEHANDLE from
 * umockdev's worker thread. A line event request gets a pipe whose write
 * end the mock keeps: pbm_mock_gpio_set_input() writes the edges the
 * kernel would report (with the kernel's active-low rule). A line handle
 * is another emulated node, /dev/pbm-mock-gpioN-lineL, so that
 * GPIOHANDLE_SET_LINE_VALUES on it reaches the mock, which keeps the
 * physical level.
 *
 * Needs the umockdev preload (LD_PRELOAD=libumockdev-preload.so.0).
 */
#pragma once

#include <glib.h>
#include <umockdev.h>

G_BEGIN_DECLS

#define PBM_MOCK_GPIO_LINES_MAX 64

typedef struct _PbmMockGpio PbmMockGpio;

/* /dev/gpiochip<number> with lines lines (at most PBM_MOCK_GPIO_LINES_MAX),
 * every line an input at low level. */
PbmMockGpio *pbm_mock_gpio_new(UMockdevTestbed *testbed, guint number, guint lines, GError **error);
void pbm_mock_gpio_free(PbmMockGpio *chip);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmMockGpio, pbm_mock_gpio_free)

/* Drives an input line to a physical level; when that is an edge the line
 * was requested for, its event (id by the logical level, as the kernel
 * does) is written with timestamp_ns. Returns whether an event was
 * written. */
gboolean pbm_mock_gpio_set_input(PbmMockGpio *chip, guint line, gboolean high,
                                 guint64 timestamp_ns);
/* The physical level of a line requested as an output: 1 or 0; -1 when
 * it never was. */
gint pbm_mock_gpio_get_output(PbmMockGpio *chip, guint line);
/* Whom the kernel would name as the line's consumer (gpioinfo): NULL
 * when the line is free. Free with g_free(). */
gchar *pbm_mock_gpio_get_consumer(PbmMockGpio *chip, guint line);
/* Another program holds the line: requests fail with EBUSY. */
void pbm_mock_gpio_set_busy(PbmMockGpio *chip, guint line, gboolean busy);
/* The line's event file hangs up (the chip went away): its reader sees
 * the end of the file. */
void pbm_mock_gpio_hang_up(PbmMockGpio *chip, guint line);

G_END_DECLS
