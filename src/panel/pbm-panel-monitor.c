/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-panel-monitor.h"

struct _PbmPanelMonitor {
	GObject parent_instance;

	PbmClock *clock;
	PbmUsbContext *usb;
	GPtrArray *panels; /* PbmPanel, owned */
	guint pending_probes;
	GCancellable *cancellable;
};

G_DEFINE_TYPE(PbmPanelMonitor, pbm_panel_monitor, G_TYPE_OBJECT)

enum { SIGNAL_PANEL_ADDED, SIGNAL_PANEL_CONNECTED, SIGNAL_PROBE_FAILED, N_SIGNALS };
static guint signals[N_SIGNALS];

PbmPanel *
pbm_panel_monitor_find(PbmPanelMonitor *self, const gchar *serial)
{
	for (guint i = 0; i < self->panels->len; i++) {
		PbmPanel *panel = g_ptr_array_index(self->panels, i);
		if (g_strcmp0(pbm_panel_get_serial(panel), serial) == 0)
			return panel;
	}
	return NULL;
}

static void
probe_failed(PbmPanelMonitor *self, PbmTransport *transport, const GError *error)
{
	g_warning("%s", error->message);
	g_signal_emit(self, signals[SIGNAL_PROBE_FAILED], 0, pbm_transport_get_location(transport),
	              error);
	pbm_transport_close(transport);
}

static void
attach(PbmPanelMonitor *self, PbmTransport *transport, const PbmInfo *info,
       const PbmChannel *channels)
{
	PbmPanel *panel = pbm_panel_monitor_find(self, info->serial);
	gboolean is_new = panel == NULL;
	g_autoptr(GError) error = NULL;

	if (panel != NULL && pbm_panel_is_connected(panel)) {
		error = g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_BUSY,
		                    "panel at %s reports serial %s, which is already connected "
		                    "at %s; two panels must not share a serial",
		                    pbm_transport_get_location(transport), info->serial,
		                    pbm_panel_get_location(panel));
		probe_failed(self, transport, error);
		return;
	}
	if (is_new) {
		panel = pbm_panel_new(info, channels);
		g_ptr_array_add(self->panels, panel);
	}
	if (!pbm_panel_attach(panel, transport, info, channels, &error)) {
		probe_failed(self, transport, error);
		return;
	}
	if (is_new)
		g_signal_emit(self, signals[SIGNAL_PANEL_ADDED], 0, panel);
	g_signal_emit(self, signals[SIGNAL_PANEL_CONNECTED], 0, panel);
}

typedef struct {
	PbmPanelMonitor *self;
	PbmTransport *transport;
} Probe;

static void
probe_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Probe *probe = user_data;
	PbmPanelMonitor *self = probe->self;
	g_autoptr(PbmTransport) transport = probe->transport;
	g_autoptr(GError) error = NULL;
	PbmInfo info;
	PbmChannel channels[PBM_MAX_CHANNELS];

	g_free(probe);
	if (!pbm_panel_probe_finish(result, &info, channels, &error)) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			self->pending_probes--;
			probe_failed(self, transport, error);
		}
		g_object_unref(self);
		return;
	}
	self->pending_probes--;
	attach(self, transport, &info, channels);
	g_object_unref(self);
}

static void
probe(PbmPanelMonitor *self, PbmTransport *transport)
{
	Probe *p = g_new0(Probe, 1);

	p->self = g_object_ref(self);
	p->transport = g_object_ref(transport);
	self->pending_probes++;
	pbm_panel_probe_async(transport, self->cancellable, probe_done, p);
}

static void
on_usb_device_added(PbmUsbContext *usb, PbmUsbTransport *transport, gpointer user_data)
{
	probe(PBM_PANEL_MONITOR(user_data), PBM_TRANSPORT(transport));
}

static void
on_usb_device_error(PbmUsbContext *usb, const GError *error, gpointer user_data)
{
	PbmPanelMonitor *self = user_data;

	g_warning("%s", error->message);
	g_signal_emit(self, signals[SIGNAL_PROBE_FAILED], 0, "usb", error);
}

gboolean
pbm_panel_monitor_add_usb(PbmPanelMonitor *self, const PbmUsbId *ids, guint n_ids, GError **error)
{
	g_return_val_if_fail(PBM_IS_PANEL_MONITOR(self), FALSE);
	g_return_val_if_fail(self->usb == NULL, FALSE);
	self->usb = pbm_usb_context_new(ids, n_ids, error);
	if (self->usb == NULL)
		return FALSE;
	g_signal_connect(self->usb, "device-added", G_CALLBACK(on_usb_device_added), self);
	g_signal_connect(self->usb, "device-error", G_CALLBACK(on_usb_device_error), self);
	pbm_usb_context_start(self->usb);
	return TRUE;
}

PbmSimTransport *
pbm_panel_monitor_add_sim(PbmPanelMonitor *self, const PbmSimConfig *config, GError **error)
{
	g_autoptr(PbmSimTransport) transport = NULL;

	g_return_val_if_fail(PBM_IS_PANEL_MONITOR(self), NULL);
	transport = pbm_sim_transport_new(self->clock, config, error);
	if (transport == NULL)
		return NULL;
	probe(self, PBM_TRANSPORT(transport));
	return g_steal_pointer(&transport);
}

GPtrArray *
pbm_panel_monitor_get_panels(PbmPanelMonitor *self)
{
	return self->panels;
}

guint
pbm_panel_monitor_get_pending_probes(PbmPanelMonitor *self)
{
	/* A panel present at start-up that is not opened yet is pending too:
	 * pbmd must not say READY without it. */
	if (self->usb != NULL)
		return self->pending_probes + pbm_usb_context_get_pending_arrivals(self->usb);
	return self->pending_probes;
}

void
pbm_panel_monitor_shutdown(PbmPanelMonitor *self)
{
	g_cancellable_cancel(self->cancellable);
	for (guint i = 0; i < self->panels->len; i++)
		pbm_panel_detach(g_ptr_array_index(self->panels, i));
	if (self->usb != NULL)
		pbm_usb_context_shutdown(self->usb);
}

static void
pbm_panel_monitor_dispose(GObject *object)
{
	PbmPanelMonitor *self = PBM_PANEL_MONITOR(object);

	g_cancellable_cancel(self->cancellable);
	if (self->panels != NULL) {
		for (guint i = 0; i < self->panels->len; i++)
			pbm_panel_detach(g_ptr_array_index(self->panels, i));
	}
	g_clear_pointer(&self->panels, g_ptr_array_unref);
	if (self->usb != NULL) {
		g_signal_handlers_disconnect_by_data(self->usb, self);
		g_clear_object(&self->usb);
	}
	g_clear_object(&self->cancellable);
	g_clear_object(&self->clock);
	G_OBJECT_CLASS(pbm_panel_monitor_parent_class)->dispose(object);
}

static void
pbm_panel_monitor_class_init(PbmPanelMonitorClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = pbm_panel_monitor_dispose;
	signals[SIGNAL_PANEL_ADDED] =
	        g_signal_new("panel-added", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
	                     NULL, NULL, G_TYPE_NONE, 1, PBM_TYPE_PANEL);
	signals[SIGNAL_PANEL_CONNECTED] =
	        g_signal_new("panel-connected", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
	                     NULL, NULL, NULL, G_TYPE_NONE, 1, PBM_TYPE_PANEL);
	signals[SIGNAL_PROBE_FAILED] =
	        g_signal_new("probe-failed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
	                     NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_ERROR);
}

static void
pbm_panel_monitor_init(PbmPanelMonitor *self)
{
	self->panels = g_ptr_array_new_with_free_func(g_object_unref);
	self->cancellable = g_cancellable_new();
}

PbmPanelMonitor *
pbm_panel_monitor_new(PbmClock *clock)
{
	PbmPanelMonitor *self = g_object_new(PBM_TYPE_PANEL_MONITOR, NULL);

	self->clock = g_object_ref(clock);
	return self;
}
