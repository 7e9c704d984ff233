/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-gadget-gpio.h"

#include "pbm-gadget-gpio-events.h"

#include <errno.h>
#include <gpiod.h>
#include <string.h>

#include <glib-unix.h>

/* The name is the error domain's string at run time; clang-format would
 * read it as a subtraction and space it out. */
/* clang-format off */
G_DEFINE_QUARK(pbm-gadget-gpio-error-quark, pbm_gadget_gpio_error)
/* clang-format on */

/* The kernel queues at most 16 events a line; libgpiod reads as many. */
#define EVENTS_PER_READ 16

struct _PbmGadgetGpioEvents {
	struct gpiod_chip *chip;
	struct gpiod_line *line;
	gchar *name;
	GSource *source;
	PbmGadgetGpioEdgeFunc edge_func;
	PbmGadgetGpioFailedFunc failed_func;
	gpointer user_data;
};

struct _PbmGadgetOutputLine {
	struct gpiod_chip *chip;
	struct gpiod_line *line;
	gchar *name;
};

static gchar *
line_name(const PbmGadgetGpioLine *line)
{
	return g_strdup_printf("line %u of GPIO chip %s", line->line, line->chip);
}

/* Opens the chip and finds the line; the caller requests it and closes
 * the chip, which releases the line. */
static struct gpiod_line *
find_line(const PbmGadgetGpioLine *line, struct gpiod_chip **chip_out, GError **error)
{
	struct gpiod_chip *chip;
	struct gpiod_line *found;
	gint saved;

	chip = gpiod_chip_open_lookup(line->chip);
	if (chip == NULL) {
		saved = errno;
		g_set_error(error, PBM_GADGET_GPIO_ERROR, PBM_GADGET_GPIO_ERROR_CHIP,
		            "cannot open GPIO chip %s: %s; check the chip's name, label or path "
		            "(gpiodetect lists them) and that pbm-gadget may open its "
		            "/dev/gpiochip node",
		            line->chip, g_strerror(saved));
		return NULL;
	}
	if (line->line >= gpiod_chip_num_lines(chip)) {
		g_set_error(error, PBM_GADGET_GPIO_ERROR, PBM_GADGET_GPIO_ERROR_LINE,
		            "GPIO chip %s has lines 0 to %u, not line %u: gpioinfo %s lists them",
		            line->chip, gpiod_chip_num_lines(chip) - 1, line->line, line->chip);
		gpiod_chip_close(chip);
		return NULL;
	}
	found = gpiod_chip_get_line(chip, line->line);
	if (found == NULL) {
		saved = errno;
		g_set_error(error, PBM_GADGET_GPIO_ERROR, PBM_GADGET_GPIO_ERROR_LINE,
		            "cannot read line %u of GPIO chip %s: %s", line->line, line->chip,
		            g_strerror(saved));
		gpiod_chip_close(chip);
		return NULL;
	}
	*chip_out = chip;
	return found;
}

static void
set_request_error(GError **error, const PbmGadgetGpioLine *line, gint saved, const gchar *as)
{
	g_set_error(error, PBM_GADGET_GPIO_ERROR, PBM_GADGET_GPIO_ERROR_REQUEST,
	            "cannot request line %u of GPIO chip %s as %s: %s%s", line->line, line->chip,
	            as, g_strerror(saved),
	            saved == EBUSY ? "; another program or driver holds it (gpioinfo shows its "
	                             "consumer)"
	                           : "");
}

static void
events_fail(PbmGadgetGpioEvents *events, const gchar *what, gint saved)
{
	g_autoptr(GError) error = NULL;

	g_set_error(&error, PBM_GADGET_GPIO_ERROR, PBM_GADGET_GPIO_ERROR_IO,
	            "%s: %s: %s; it is not watched any more", events->name, what,
	            g_strerror(saved));
	events->failed_func(error, events->user_data);
}

static gboolean
on_events(gint fd, GIOCondition condition, gpointer data)
{
	PbmGadgetGpioEvents *events = data;
	struct gpiod_line_event buf[EVENTS_PER_READ];
	gint n;

	if (condition & (G_IO_ERR | G_IO_HUP | G_IO_NVAL)) {
		events_fail(events, "its event file descriptor closed", EIO);
		return G_SOURCE_REMOVE;
	}
	n = gpiod_line_event_read_fd_multiple(fd, buf, EVENTS_PER_READ);
	if (n < 0) {
		gint saved = errno;
		if (saved == EAGAIN || saved == EINTR)
			return G_SOURCE_CONTINUE;
		events_fail(events, "cannot read its edges", saved);
		return G_SOURCE_REMOVE;
	}
	for (gint i = 0; i < n; i++) {
		guint64 ns = (guint64)buf[i].ts.tv_sec * G_GUINT64_CONSTANT(1000000000) +
		             (guint64)buf[i].ts.tv_nsec;
		events->edge_func(buf[i].event_type == GPIOD_LINE_EVENT_RISING_EDGE, ns,
		                  events->user_data);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean
request_events(PbmGadgetGpioEvents *events, const PbmGadgetGpioLine *line, PbmGadgetGpioEdges edges,
               GError **error)
{
	gint ret;

	/* No active-low flag: the kernel reports raw edges, and the caller
	 * knows which one is active. Kernels before 5.7 did not invert the
	 * edges of active-low lines alike. */
	if (edges == PBM_GADGET_GPIO_EDGES_FALLING)
		ret = gpiod_line_request_falling_edge_events(events->line,
		                                             PBM_GADGET_GPIO_CONSUMER);
	else
		ret = gpiod_line_request_both_edges_events(events->line, PBM_GADGET_GPIO_CONSUMER);
	if (ret < 0) {
		set_request_error(error, line, errno, "an input with edge events");
		return FALSE;
	}
	return TRUE;
}

PbmGadgetGpioEvents *
pbm_gadget_gpio_events_new(const PbmGadgetGpioLine *line, PbmGadgetGpioEdges edges,
                           PbmGadgetGpioEdgeFunc edge_func, PbmGadgetGpioFailedFunc failed_func,
                           gpointer user_data, GError **error)
{
	g_autoptr(PbmGadgetGpioEvents) events = NULL;
	gint fd;

	g_return_val_if_fail(edge_func != NULL && failed_func != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	events = g_new0(PbmGadgetGpioEvents, 1);
	events->name = line_name(line);
	events->edge_func = edge_func;
	events->failed_func = failed_func;
	events->user_data = user_data;
	events->line = find_line(line, &events->chip, error);
	if (events->line == NULL)
		return NULL;
	if (!request_events(events, line, edges, error))
		return NULL;
	fd = gpiod_line_event_get_fd(events->line);
	if (fd < 0) {
		set_request_error(error, line, errno, "an input with edge events");
		return NULL;
	}
	events->source = g_unix_fd_source_new(fd, G_IO_IN | G_IO_ERR | G_IO_HUP);
	g_source_set_callback(events->source, G_SOURCE_FUNC(on_events), events, NULL);
	g_source_set_name(events->source, events->name);
	g_source_attach(events->source, g_main_context_get_thread_default());
	return g_steal_pointer(&events);
}

void
pbm_gadget_gpio_events_free(PbmGadgetGpioEvents *events)
{
	if (events == NULL)
		return;
	if (events->source != NULL) {
		g_source_destroy(events->source);
		g_source_unref(events->source);
	}
	if (events->chip != NULL)
		gpiod_chip_close(events->chip);
	g_free(events->name);
	g_free(events);
}

PbmGadgetOutputLine *
pbm_gadget_output_line_new(const PbmGadgetGpioLine *line, GError **error)
{
	g_autoptr(PbmGadgetOutputLine) output = NULL;
	gint flags = line->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	output = g_new0(PbmGadgetOutputLine, 1);
	output->name = line_name(line);
	output->line = find_line(line, &output->chip, error);
	if (output->line == NULL)
		return NULL;
	if (gpiod_line_request_output_flags(output->line, PBM_GADGET_GPIO_CONSUMER, flags, 0) < 0) {
		set_request_error(error, line, errno, "an output");
		return NULL;
	}
	return g_steal_pointer(&output);
}

gboolean
pbm_gadget_output_line_set(PbmGadgetOutputLine *output, gboolean active, GError **error)
{
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (gpiod_line_set_value(output->line, active ? 1 : 0) < 0) {
		gint saved = errno;
		g_set_error(error, PBM_GADGET_GPIO_ERROR, PBM_GADGET_GPIO_ERROR_IO,
		            "cannot set %s %s: %s", output->name, active ? "active" : "inactive",
		            g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}

void
pbm_gadget_output_line_free(PbmGadgetOutputLine *output)
{
	if (output == NULL)
		return;
	if (output->chip != NULL)
		gpiod_chip_close(output->chip);
	g_free(output->name);
	g_free(output);
}
