/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What GPIO edges mean, as pure functions of the kernel's event timestamps
 * (CLOCK_MONOTONIC since Linux 5.7): a debounced button and a fan
 * tachometer's speed over a sliding window. No I/O, so tests drive them
 * with synthetic timestamps; pbm-gadget-button.c and pbm-gadget-tach.c feed
 * them the edges libgpiod reads.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A contact bounces for a few milliseconds; a person presses again no
 * sooner than about a tenth of a second later. */
#define PBM_GADGET_DEBOUNCE_NS (50 * G_GUINT64_CONSTANT(1000000))

typedef struct {
	gboolean seen;
	guint64 last_edge_ns;
} PbmGadgetDebounce;

void pbm_gadget_debounce_init(PbmGadgetDebounce *debounce);
/* An edge of the raw line at timestamp_ns: rising when it went high. The
 * active edge is falling for an active-low button, rising otherwise.
 * Returns TRUE when the edge is a new press: an active edge after the line
 * was quiet (no edge of either kind) for PBM_GADGET_DEBOUNCE_NS. Quiet
 * before the active edge, not after the last press: the contact bounces
 * when released too, and its active edges then are no press. */
gboolean pbm_gadget_debounce_edge(PbmGadgetDebounce *debounce, gboolean rising, gboolean active_low,
                                  guint64 timestamp_ns);

/* The window the speed is measured over, and the most edges it holds:
 * 2048 edges a second are 61,440 rpm at two pulses a turn, far beyond any
 * fan. Past that the oldest edges drop out and the speed stays right. */
#define PBM_GADGET_TACH_WINDOW_US G_USEC_PER_SEC
#define PBM_GADGET_TACH_EDGES_MAX 2048

typedef struct {
	gint64 edge_us[PBM_GADGET_TACH_EDGES_MAX]; /* a ring, oldest at first */
	guint first;
	guint count;
} PbmGadgetTachWindow;

void pbm_gadget_tach_window_init(PbmGadgetTachWindow *window);
/* One counted (falling) edge at timestamp_us, monotonic microseconds. */
void pbm_gadget_tach_window_add(PbmGadgetTachWindow *window, gint64 timestamp_us);
/* The speed at now_us from the edges of the last PBM_GADGET_TACH_WINDOW_US:
 * from the time between the first and the last of them when there are two
 * or more, one pulse a window when there is one, and 0 when there is none
 * (the fan stood still for the whole window). Edges that left the window
 * are dropped. pulses_per_rev must be at least 1. */
guint16 pbm_gadget_tach_window_rpm(PbmGadgetTachWindow *window, guint pulses_per_rev,
                                   gint64 now_us);

G_END_DECLS
