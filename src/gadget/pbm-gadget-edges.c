/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-gadget-edges.h"

#define USEC_PER_MINUTE (60 * G_USEC_PER_SEC)

void
pbm_gadget_debounce_init(PbmGadgetDebounce *debounce)
{
	*debounce = (PbmGadgetDebounce){ 0 };
}

gboolean
pbm_gadget_debounce_edge(PbmGadgetDebounce *debounce, gboolean rising, gboolean active_low,
                         guint64 timestamp_ns)
{
	gboolean active = active_low ? !rising : rising;
	gboolean quiet;

	/* An edge older than the last one can only come from a clock that
	 * stepped back (CLOCK_REALTIME before Linux 5.7): take the line as
	 * quiet rather than lose every press until the clock catches up. */
	quiet = !debounce->seen || timestamp_ns < debounce->last_edge_ns ||
	        timestamp_ns - debounce->last_edge_ns >= PBM_GADGET_DEBOUNCE_NS;
	debounce->seen = TRUE;
	debounce->last_edge_ns = timestamp_ns;
	return active && quiet;
}

void
pbm_gadget_tach_window_init(PbmGadgetTachWindow *window)
{
	window->first = 0;
	window->count = 0;
}

void
pbm_gadget_tach_window_add(PbmGadgetTachWindow *window, gint64 timestamp_us)
{
	if (window->count == PBM_GADGET_TACH_EDGES_MAX) {
		window->first = (window->first + 1) % PBM_GADGET_TACH_EDGES_MAX;
		window->count--;
	}
	window->edge_us[(window->first + window->count) % PBM_GADGET_TACH_EDGES_MAX] = timestamp_us;
	window->count++;
}

static gint64
edge_at(const PbmGadgetTachWindow *window, guint i)
{
	return window->edge_us[(window->first + i) % PBM_GADGET_TACH_EDGES_MAX];
}

static void
drop_old_edges(PbmGadgetTachWindow *window, gint64 now_us)
{
	while (window->count > 0 && now_us - edge_at(window, 0) >= PBM_GADGET_TACH_WINDOW_US) {
		window->first = (window->first + 1) % PBM_GADGET_TACH_EDGES_MAX;
		window->count--;
	}
}

/* A measurement, not a command: a speed beyond the 16 bits of the wire is
 * noise on the line, and reads as the fastest fan rather than a stall. */
static guint16
rpm_saturated(guint64 rpm)
{
	return rpm > G_MAXUINT16 ? G_MAXUINT16 : (guint16)rpm;
}

guint16
pbm_gadget_tach_window_rpm(PbmGadgetTachWindow *window, guint pulses_per_rev, gint64 now_us)
{
	gint64 span_us;

	g_return_val_if_fail(pulses_per_rev > 0, 0);

	drop_old_edges(window, now_us);
	if (window->count == 0)
		return 0;
	span_us = edge_at(window, window->count - 1) - edge_at(window, 0);
	if (window->count == 1 || span_us <= 0)
		return rpm_saturated((guint64)window->count * USEC_PER_MINUTE /
		                     ((guint64)pulses_per_rev * PBM_GADGET_TACH_WINDOW_US));
	/* count - 1 whole pulse periods lie between the first and last edge;
	 * rounded to the nearest rpm. */
	return rpm_saturated(((guint64)(window->count - 1) * USEC_PER_MINUTE +
	                      (guint64)(pulses_per_rev * span_us) / 2) /
	                     ((guint64)pulses_per_rev * (guint64)span_us));
}
