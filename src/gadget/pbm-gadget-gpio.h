/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The board's GPIO lines through libgpiod (v1 API, Debian 12's 1.6): the
 * push button (the panel's stop button), the fan's tachometer and output
 * lines such as the fan switch. Edges are watched in the thread-default
 * main context; what they mean is pbm-gadget-edges.h. Every error names
 * the chip and the line and says what to check.
 */
#pragma once

#include <glib.h>

#include "pbm-gadget-config.h"

G_BEGIN_DECLS

#define PBM_GADGET_GPIO_ERROR (pbm_gadget_gpio_error_quark())
GQuark pbm_gadget_gpio_error_quark(void);

typedef enum {
	PBM_GADGET_GPIO_ERROR_CHIP,    /* the chip cannot be opened */
	PBM_GADGET_GPIO_ERROR_LINE,    /* the chip has no such line */
	PBM_GADGET_GPIO_ERROR_REQUEST, /* the line cannot be requested (busy, refused) */
	PBM_GADGET_GPIO_ERROR_IO,      /* reading edges or setting the value failed */
} PbmGadgetGpioError;

/* The consumer label of every line pbm-gadget requests (gpioinfo shows it). */
#define PBM_GADGET_GPIO_CONSUMER "pbm-gadget"

/* ---- the button ---- */

typedef struct _PbmGadgetButton PbmGadgetButton;
/* lost: the line cannot be watched any more, and the stop button may not
 * work: the light must stop, and stay stopped. */
typedef void (*PbmGadgetButtonFunc)(gboolean lost, gpointer user_data);

/* Calls func once per press: the active edge (falling when active_low)
 * after PBM_GADGET_DEBOUNCE_NS without edges; the contact's bounces are
 * ignored (pbm-gadget-edges.h).
 * A line that cannot be watched any more is logged and reported once
 * with lost set. func must not free the button. */
PbmGadgetButton *pbm_gadget_button_new(const PbmGadgetGpioLine *line, PbmGadgetButtonFunc func,
                                       gpointer user_data, GError **error);
void pbm_gadget_button_free(PbmGadgetButton *button);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmGadgetButton, pbm_gadget_button_free)

/* ---- the fan's tachometer ---- */

typedef struct _PbmGadgetTach PbmGadgetTach;

/* Counts the line's falling edges. pulses_per_rev is the fan's (2 for
 * most PC fans), at least 1. */
PbmGadgetTach *pbm_gadget_tach_new(const PbmGadgetGpioLine *line, guint pulses_per_rev,
                                   GError **error);
/* The speed over the second before now_monotonic_us (g_get_monotonic_time(),
 * the kernel's edge timestamps' clock since Linux 5.7): 0 when no edge
 * came for a second, and 0 for good once the line cannot be read any more
 * (logged): a fan nobody can see turning is a stalled fan. */
guint16 pbm_gadget_tach_rpm(PbmGadgetTach *tach, gint64 now_monotonic_us);
void pbm_gadget_tach_free(PbmGadgetTach *tach);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmGadgetTach, pbm_gadget_tach_free)

/* ---- output lines ---- */

typedef struct _PbmGadgetOutputLine PbmGadgetOutputLine;

/* Requests line as an output, inactive from the first moment (the kernel
 * applies active_low: inactive is high on an active-low line). */
PbmGadgetOutputLine *pbm_gadget_output_line_new(const PbmGadgetGpioLine *line, GError **error);
gboolean pbm_gadget_output_line_set(PbmGadgetOutputLine *output, gboolean active, GError **error);
/* Releases the line; most chips keep its last value. */
void pbm_gadget_output_line_free(PbmGadgetOutputLine *output);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmGadgetOutputLine, pbm_gadget_output_line_free)

G_END_DECLS
