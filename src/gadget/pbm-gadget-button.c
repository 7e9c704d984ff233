/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-gadget-gpio.h"

#include "pbm-gadget-edges.h"
#include "pbm-gadget-gpio-events.h"

struct _PbmGadgetButton {
	PbmGadgetGpioEvents *events;
	PbmGadgetDebounce debounce;
	gboolean active_low;
	PbmGadgetButtonFunc func;
	gpointer user_data;
};

static void
on_edge(gboolean rising, guint64 timestamp_ns, gpointer data)
{
	PbmGadgetButton *button = data;

	if (pbm_gadget_debounce_edge(&button->debounce, rising, button->active_low, timestamp_ns))
		button->func(FALSE, button->user_data);
}

static void
on_failed(const GError *error, gpointer data)
{
	PbmGadgetButton *button = data;

	g_warning("stop button: %s", error->message);
	button->func(TRUE, button->user_data);
}

PbmGadgetButton *
pbm_gadget_button_new(const PbmGadgetGpioLine *line, PbmGadgetButtonFunc func, gpointer user_data,
                      GError **error)
{
	g_autoptr(PbmGadgetButton) button = NULL;

	g_return_val_if_fail(func != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	button = g_new0(PbmGadgetButton, 1);
	pbm_gadget_debounce_init(&button->debounce);
	button->active_low = line->active_low;
	button->func = func;
	button->user_data = user_data;
	button->events = pbm_gadget_gpio_events_new(line, PBM_GADGET_GPIO_EDGES_BOTH, on_edge,
	                                            on_failed, button, error);
	if (button->events == NULL)
		return NULL;
	return g_steal_pointer(&button);
}

void
pbm_gadget_button_free(PbmGadgetButton *button)
{
	if (button == NULL)
		return;
	pbm_gadget_gpio_events_free(button->events);
	g_free(button);
}
