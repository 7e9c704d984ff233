/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A GPIO line's edges in the main loop, for the button and the
 * tachometer (pbm-gadget-gpio.h); implemented in pbm-gadget-gpio.c, the
 * only file that knows libgpiod.
 */
#pragma once

#include <glib.h>

#include "pbm-gadget-config.h"

G_BEGIN_DECLS

typedef enum {
	PBM_GADGET_GPIO_EDGES_BOTH,
	PBM_GADGET_GPIO_EDGES_FALLING,
} PbmGadgetGpioEdges;

/* One edge of the raw line (active_low is the caller's to apply): rising
 * when it went high, at the kernel's timestamp in nanoseconds. */
typedef void (*PbmGadgetGpioEdgeFunc)(gboolean rising, guint64 timestamp_ns, gpointer user_data);
/* The line cannot be watched any more; no edge follows. */
typedef void (*PbmGadgetGpioFailedFunc)(const GError *error, gpointer user_data);

typedef struct _PbmGadgetGpioEvents PbmGadgetGpioEvents;

/* Requests line for edge events and watches them in the thread-default
 * main context, calling edge_func once per edge in the kernel's order.
 * Errors are PBM_GADGET_GPIO_ERROR. */
PbmGadgetGpioEvents *pbm_gadget_gpio_events_new(const PbmGadgetGpioLine *line,
                                                PbmGadgetGpioEdges edges,
                                                PbmGadgetGpioEdgeFunc edge_func,
                                                PbmGadgetGpioFailedFunc failed_func,
                                                gpointer user_data, GError **error);
void pbm_gadget_gpio_events_free(PbmGadgetGpioEvents *events);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmGadgetGpioEvents, pbm_gadget_gpio_events_free)

G_END_DECLS
