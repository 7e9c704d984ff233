/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-sim-transport.h"

#include <string.h>

struct _PbmSimTransport {
	GObject parent_instance;

	PbmClock *clock;
	PbmSim *sim;
	gint64 epoch; /* clock time at device time zero */
	guint timer;
	gboolean started;
	gboolean unplugged;
	gboolean closed;
	gchar *location;
};

static void pbm_sim_transport_iface_init(PbmTransportInterface *iface);

G_DEFINE_TYPE_WITH_CODE(PbmSimTransport, pbm_sim_transport, G_TYPE_OBJECT,
                        G_IMPLEMENT_INTERFACE(PBM_TYPE_TRANSPORT, pbm_sim_transport_iface_init))

static void schedule(PbmSimTransport *self);

static void
deliver_reports(PbmSimTransport *self)
{
	guint8 buf[sizeof(struct pbm_wire_report)];

	/* Keep ourselves alive: a report handler may drop the last reference. */
	g_object_ref(self);
	while (self->started && !self->unplugged && !self->closed &&
	       pbm_sim_pop_report(self->sim, buf)) {
		g_autoptr(GBytes) raw = g_bytes_new(buf, sizeof(buf));
		pbm_transport_emit_report(PBM_TRANSPORT(self), raw);
	}
	g_object_unref(self);
}

static void
advance_to_now(PbmSimTransport *self)
{
	gint64 device_now = pbm_clock_now(self->clock) - self->epoch;
	guint64 model_now = pbm_sim_now(self->sim);

	if (device_now > 0 && (guint64)device_now > model_now)
		pbm_sim_advance(self->sim, (guint64)device_now - model_now);
}

void
pbm_sim_transport_sync(PbmSimTransport *self)
{
	g_return_if_fail(PBM_IS_SIM_TRANSPORT(self));
	if (self->unplugged || self->closed)
		return;
	advance_to_now(self);
	deliver_reports(self);
	schedule(self);
}

static gboolean
timer_fired(gpointer user_data)
{
	PbmSimTransport *self = user_data;

	self->timer = 0;
	pbm_sim_transport_sync(self);
	return G_SOURCE_REMOVE;
}

static void
schedule(PbmSimTransport *self)
{
	pbm_clock_clear(self->clock, &self->timer);
	if (!self->started || self->unplugged || self->closed)
		return;
	self->timer = pbm_clock_add_deadline(self->clock,
	                                     self->epoch + (gint64)pbm_sim_next_deadline(self->sim),
	                                     timer_fired, self, NULL);
}

static void
sim_control_async(PbmTransport *transport, const struct pbm_wire_setup *setup, GBytes *data,
                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	PbmSimTransport *self = PBM_SIM_TRANSPORT(transport);
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	g_autofree guint8 *buf = g_malloc0(MAX(setup->length, 1));
	g_autoptr(GError) stall = NULL;
	gsize actual = 0;

	g_task_set_source_tag(task, sim_control_async);
	if (self->unplugged || self->closed) {
		g_task_return_new_error(task, PBM_PANEL_ERROR, PBM_PANEL_ERROR_NO_DEVICE,
		                        "virtual panel %s is unplugged", self->location);
		return;
	}
	if (data != NULL)
		memcpy(buf, g_bytes_get_data(data, NULL),
		       MIN(g_bytes_get_size(data), setup->length));
	advance_to_now(self);
	if (!pbm_sim_control(self->sim, setup, buf, &actual, &stall)) {
		/* A real host only sees the STALL; the model's reason helps whoever
		 * reads the simulated panel's log. */
		g_task_return_new_error(task, PBM_PANEL_ERROR, PBM_PANEL_ERROR_STALL,
		                        "panel refused %s (STALL: %s)",
		                        pbm_request_to_string(setup->request), stall->message);
		return;
	}
	/* Events the request caused go out on the next main loop iteration. */
	schedule(self);
	g_task_return_pointer(task,
	                      (setup->request_type & 0x80) ? g_bytes_new(buf, actual)
	                                                   : g_bytes_new(NULL, 0),
	                      (GDestroyNotify)g_bytes_unref);
}

static GBytes *
sim_control_finish(PbmTransport *transport, GAsyncResult *result, GError **error)
{
	return g_task_propagate_pointer(G_TASK(result), error);
}

static void
sim_start(PbmTransport *transport)
{
	PbmSimTransport *self = PBM_SIM_TRANSPORT(transport);

	self->started = TRUE;
	pbm_sim_transport_sync(self);
}

static void
sim_close(PbmTransport *transport)
{
	PbmSimTransport *self = PBM_SIM_TRANSPORT(transport);

	self->closed = TRUE;
	pbm_clock_clear(self->clock, &self->timer);
}

static const gchar *
sim_get_location(PbmTransport *transport)
{
	return PBM_SIM_TRANSPORT(transport)->location;
}

static void
pbm_sim_transport_iface_init(PbmTransportInterface *iface)
{
	iface->control_async = sim_control_async;
	iface->control_finish = sim_control_finish;
	iface->start = sim_start;
	iface->close = sim_close;
	iface->get_location = sim_get_location;
}

static void
pbm_sim_transport_finalize(GObject *object)
{
	PbmSimTransport *self = PBM_SIM_TRANSPORT(object);

	pbm_clock_clear(self->clock, &self->timer);
	g_clear_object(&self->clock);
	g_clear_pointer(&self->sim, pbm_sim_free);
	g_free(self->location);
	G_OBJECT_CLASS(pbm_sim_transport_parent_class)->finalize(object);
}

static void
pbm_sim_transport_class_init(PbmSimTransportClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = pbm_sim_transport_finalize;
}

static void
pbm_sim_transport_init(PbmSimTransport *self)
{
}

PbmSimTransport *
pbm_sim_transport_new(PbmClock *clock, const PbmSimConfig *config, GError **error)
{
	g_autoptr(PbmSimTransport) self = g_object_new(PBM_TYPE_SIM_TRANSPORT, NULL);

	self->sim = pbm_sim_new(config, error);
	if (self->sim == NULL)
		return NULL;
	self->clock = g_object_ref(clock);
	self->epoch = pbm_clock_now(clock);
	self->location = g_strdup_printf("sim:%s", config->serial);
	return g_steal_pointer(&self);
}

PbmSim *
pbm_sim_transport_get_sim(PbmSimTransport *self)
{
	g_return_val_if_fail(PBM_IS_SIM_TRANSPORT(self), NULL);
	advance_to_now(self);
	return self->sim;
}

void
pbm_sim_transport_unplug(PbmSimTransport *self)
{
	g_return_if_fail(PBM_IS_SIM_TRANSPORT(self));
	if (self->unplugged)
		return;
	self->unplugged = TRUE;
	pbm_clock_clear(self->clock, &self->timer);
	pbm_transport_emit_disconnected(PBM_TRANSPORT(self));
}
