/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-gadget-gpio.h"

#include "pbm-gadget-edges.h"
#include "pbm-gadget-gpio-events.h"

#define NSEC_PER_USEC 1000

struct _PbmGadgetTach {
	PbmGadgetGpioEvents *events;
	PbmGadgetTachWindow window;
	guint pulses_per_rev;
	gboolean failed;
};

static void
on_edge(gboolean rising, guint64 timestamp_ns, gpointer data)
{
	PbmGadgetTach *tach = data;

	if (!rising)
		pbm_gadget_tach_window_add(&tach->window, (gint64)(timestamp_ns / NSEC_PER_USEC));
}

static void
on_failed(const GError *error, gpointer data)
{
	PbmGadgetTach *tach = data;

	g_warning("fan tachometer: %s; the fan reads as stalled from now on", error->message);
	tach->failed = TRUE;
}

PbmGadgetTach *
pbm_gadget_tach_new(const PbmGadgetGpioLine *line, guint pulses_per_rev, GError **error)
{
	g_autoptr(PbmGadgetTach) tach = NULL;

	g_return_val_if_fail(pulses_per_rev > 0, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	tach = g_new0(PbmGadgetTach, 1);
	pbm_gadget_tach_window_init(&tach->window);
	tach->pulses_per_rev = pulses_per_rev;
	tach->events = pbm_gadget_gpio_events_new(line, PBM_GADGET_GPIO_EDGES_FALLING, on_edge,
	                                          on_failed, tach, error);
	if (tach->events == NULL)
		return NULL;
	return g_steal_pointer(&tach);
}

guint16
pbm_gadget_tach_rpm(PbmGadgetTach *tach, gint64 now_monotonic_us)
{
	if (tach->failed)
		return 0;
	return pbm_gadget_tach_window_rpm(&tach->window, tach->pulses_per_rev, now_monotonic_us);
}

void
pbm_gadget_tach_free(PbmGadgetTach *tach)
{
	if (tach == NULL)
		return;
	pbm_gadget_gpio_events_free(tach->events);
	g_free(tach);
}
