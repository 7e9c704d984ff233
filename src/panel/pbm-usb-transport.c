/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-usb-transport.h"

#include <libusb.h>
#include <string.h>

#include "pbm-usb-error.h"

/* After this many interrupt transfer errors in a row the stream is dead. */
#define REPORT_ERRORS_MAX 10

static GError *
transfer_error_new(enum libusb_transfer_status status, const gchar *devnode, const gchar *what)
{
	switch (status) {
	case LIBUSB_TRANSFER_COMPLETED:
		return NULL;
	case LIBUSB_TRANSFER_CANCELLED:
		return g_error_new(G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s: cancelled", what);
	case LIBUSB_TRANSFER_TIMED_OUT:
		return pbm_usb_error_new(LIBUSB_ERROR_TIMEOUT, devnode, what);
	case LIBUSB_TRANSFER_STALL:
		return pbm_usb_error_new(LIBUSB_ERROR_PIPE, devnode, what);
	case LIBUSB_TRANSFER_NO_DEVICE:
		return pbm_usb_error_new(LIBUSB_ERROR_NO_DEVICE, devnode, what);
	case LIBUSB_TRANSFER_OVERFLOW:
		return g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_PROTOCOL,
		                   "%s: %s sent more data than asked for", what, devnode);
	case LIBUSB_TRANSFER_ERROR:
	default:
		return pbm_usb_error_new(LIBUSB_ERROR_IO, devnode, what);
	}
}

struct _PbmUsbTransport {
	GObject parent_instance;

	libusb_device *device;
	libusb_device_handle *handle;
	gchar *devnode;
	gchar *location;
	guint8 report_endpoint;

	struct libusb_transfer *report_transfer;
	guint report_errors;
	guint in_flight; /* transfers whose callback has not run yet */
	gboolean started;
	gboolean gone;
	gboolean closed;
};

static void pbm_usb_transport_iface_init(PbmTransportInterface *iface);

G_DEFINE_TYPE_WITH_CODE(PbmUsbTransport, pbm_usb_transport, G_TYPE_OBJECT,
                        G_IMPLEMENT_INTERFACE(PBM_TYPE_TRANSPORT, pbm_usb_transport_iface_init))

void
pbm_usb_transport_release(PbmUsbTransport *self)
{
	if (self->handle == NULL || self->in_flight > 0)
		return;
	if (!self->gone)
		libusb_release_interface(self->handle, PBM_USB_INTERFACE);
	libusb_close(self->handle);
	self->handle = NULL;
}

gboolean
pbm_usb_transport_is_gone(PbmUsbTransport *self)
{
	return self->gone;
}

void
pbm_usb_transport_mark_gone(PbmUsbTransport *self)
{
	if (self->gone)
		return;
	self->gone = TRUE;
	g_debug("panel at %s unplugged", self->location);
	if (!self->closed)
		pbm_transport_emit_disconnected(PBM_TRANSPORT(self));
}

/* Every transfer holds a reference on its transport until its callback ran:
 * libusb must never call back into freed memory. */
static void
transfer_begin(PbmUsbTransport *self)
{
	self->in_flight++;
	g_object_ref(self);
}

static gboolean
release_later(gpointer user_data)
{
	PbmUsbTransport *self = user_data;

	if (self->closed)
		pbm_usb_transport_release(self);
	return G_SOURCE_REMOVE;
}

/* Runs inside libusb's event handling, where libusb_close() would deadlock:
 * closing the handle and dropping the transfer's reference (which may
 * finalize the transport) wait for the next main loop iteration. */
static void
transfer_end(PbmUsbTransport *self)
{
	self->in_flight--;
	g_idle_add_full(G_PRIORITY_DEFAULT, release_later, self, g_object_unref);
}

/* ---- control transfers ---- */

typedef struct {
	GTask *task;
	struct libusb_transfer *transfer;
	gulong cancel_id;
	gboolean is_in;
	gchar *what;
} ControlOp;

static void
control_op_free(ControlOp *op)
{
	libusb_free_transfer(op->transfer);
	g_free(op->what);
	g_free(op);
}

static void LIBUSB_CALL
control_cb(struct libusb_transfer *transfer)
{
	ControlOp *op = transfer->user_data;
	g_autoptr(GTask) task = op->task;
	PbmUsbTransport *self = g_task_get_source_object(task);
	GError *error = transfer_error_new(transfer->status, self->devnode, op->what);
	GCancellable *cancellable = g_task_get_cancellable(task);

	if (op->cancel_id != 0)
		g_cancellable_disconnect(cancellable, op->cancel_id);
	if (transfer->status == LIBUSB_TRANSFER_NO_DEVICE)
		pbm_usb_transport_mark_gone(self);
	if (error != NULL) {
		g_task_return_error(task, error);
	} else if (op->is_in) {
		g_task_return_pointer(task,
		                      g_bytes_new(libusb_control_transfer_get_data(transfer),
		                                  (gsize)transfer->actual_length),
		                      (GDestroyNotify)g_bytes_unref);
	} else {
		g_task_return_pointer(task, g_bytes_new(NULL, 0), (GDestroyNotify)g_bytes_unref);
	}
	control_op_free(op);
	transfer_end(self);
}

static void
control_cancelled(GCancellable *cancellable, gpointer user_data)
{
	ControlOp *op = user_data;

	/* The callback still runs, with LIBUSB_TRANSFER_CANCELLED. */
	libusb_cancel_transfer(op->transfer);
}

static void
usb_control_async(PbmTransport *transport, const struct pbm_wire_setup *setup, GBytes *data,
                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	PbmUsbTransport *self = PBM_USB_TRANSPORT(transport);
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	ControlOp *op;
	guint8 *buf;
	gint rc;

	g_task_set_source_tag(task, usb_control_async);
	if (self->gone || self->closed || self->handle == NULL) {
		g_task_return_error(task, pbm_usb_error_new(LIBUSB_ERROR_NO_DEVICE, self->devnode,
		                                            pbm_request_to_string(setup->request)));
		return;
	}
	op = g_new0(ControlOp, 1);
	op->is_in = (setup->request_type & LIBUSB_ENDPOINT_IN) != 0;
	op->what = g_strdup(pbm_request_to_string(setup->request));
	op->transfer = libusb_alloc_transfer(0);
	buf = g_malloc0(LIBUSB_CONTROL_SETUP_SIZE + setup->length);
	libusb_fill_control_setup(buf, setup->request_type, setup->request, setup->value,
	                          setup->index, setup->length);
	if (!op->is_in && data != NULL)
		memcpy(buf + LIBUSB_CONTROL_SETUP_SIZE, g_bytes_get_data(data, NULL),
		       MIN(g_bytes_get_size(data), setup->length));
	libusb_fill_control_transfer(op->transfer, self->handle, buf, control_cb, op,
	                             PBM_TRANSPORT_TIMEOUT_MS);
	op->transfer->flags = LIBUSB_TRANSFER_FREE_BUFFER;
	rc = libusb_submit_transfer(op->transfer);
	if (rc != 0) {
		if (rc == LIBUSB_ERROR_NO_DEVICE)
			pbm_usb_transport_mark_gone(self);
		g_task_return_error(task, pbm_usb_error_new(rc, self->devnode, op->what));
		control_op_free(op);
		return;
	}
	op->task = g_steal_pointer(&task);
	transfer_begin(self);
	if (cancellable != NULL)
		op->cancel_id =
		        g_cancellable_connect(cancellable, G_CALLBACK(control_cancelled), op, NULL);
}

static GBytes *
usb_control_finish(PbmTransport *transport, GAsyncResult *result, GError **error)
{
	return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- the report stream ---- */

static gboolean submit_reports(PbmUsbTransport *self);

static gboolean
resubmit_later(gpointer user_data)
{
	PbmUsbTransport *self = user_data;

	if (!self->closed && !self->gone)
		submit_reports(self);
	return G_SOURCE_REMOVE;
}

static void
report_failed(PbmUsbTransport *self, GError *error)
{
	g_autoptr(GError) owned = error;

	if (++self->report_errors < REPORT_ERRORS_MAX) {
		g_debug("%s; retrying", owned->message);
		g_timeout_add_full(G_PRIORITY_DEFAULT, 100, resubmit_later, g_object_ref(self),
		                   g_object_unref);
		return;
	}
	pbm_transport_emit_failed(PBM_TRANSPORT(self), owned);
}

static void LIBUSB_CALL
report_cb(struct libusb_transfer *transfer)
{
	PbmUsbTransport *self = transfer->user_data;

	self->report_transfer = NULL;
	if (transfer->status == LIBUSB_TRANSFER_COMPLETED && !self->closed) {
		g_autoptr(GBytes) raw =
		        g_bytes_new(transfer->buffer, (gsize)transfer->actual_length);
		self->report_errors = 0;
		/* Resubmit first: the endpoint keeps listening while handlers run. */
		submit_reports(self);
		pbm_transport_emit_report(PBM_TRANSPORT(self), raw);
	} else if (transfer->status == LIBUSB_TRANSFER_NO_DEVICE) {
		pbm_usb_transport_mark_gone(self);
	} else if (transfer->status != LIBUSB_TRANSFER_CANCELLED && !self->closed) {
		report_failed(self, transfer_error_new(transfer->status, self->devnode,
		                                       "reading telemetry"));
	}
	libusb_free_transfer(transfer);
	transfer_end(self);
}

static gboolean
submit_reports(PbmUsbTransport *self)
{
	struct libusb_transfer *transfer = libusb_alloc_transfer(0);
	guint8 *buf = g_malloc0(PBM_USB_EP_REPORT_MAX_PACKET);
	gint rc;

	libusb_fill_interrupt_transfer(transfer, self->handle, self->report_endpoint, buf,
	                               PBM_USB_EP_REPORT_MAX_PACKET, report_cb, self, 0);
	transfer->flags = LIBUSB_TRANSFER_FREE_BUFFER;
	rc = libusb_submit_transfer(transfer);
	if (rc != 0) {
		libusb_free_transfer(transfer);
		if (rc == LIBUSB_ERROR_NO_DEVICE)
			pbm_usb_transport_mark_gone(self);
		else
			report_failed(self,
			              pbm_usb_error_new(rc, self->devnode, "reading telemetry"));
		return FALSE;
	}
	self->report_transfer = transfer;
	transfer_begin(self);
	return TRUE;
}

static void
usb_start(PbmTransport *transport)
{
	PbmUsbTransport *self = PBM_USB_TRANSPORT(transport);

	if (self->started || self->closed || self->gone)
		return;
	self->started = TRUE;
	submit_reports(self);
}

static void
usb_close(PbmTransport *transport)
{
	PbmUsbTransport *self = PBM_USB_TRANSPORT(transport);

	if (self->closed)
		return;
	self->closed = TRUE;
	if (self->report_transfer != NULL)
		libusb_cancel_transfer(self->report_transfer);
	pbm_usb_transport_release(self);
}

static const gchar *
usb_get_location(PbmTransport *transport)
{
	return PBM_USB_TRANSPORT(transport)->location;
}

static void
pbm_usb_transport_iface_init(PbmTransportInterface *iface)
{
	iface->control_async = usb_control_async;
	iface->control_finish = usb_control_finish;
	iface->start = usb_start;
	iface->close = usb_close;
	iface->get_location = usb_get_location;
}

static void
pbm_usb_transport_finalize(GObject *object)
{
	PbmUsbTransport *self = PBM_USB_TRANSPORT(object);

	/* No transfer is in flight: each holds a reference. */
	self->closed = TRUE;
	pbm_usb_transport_release(self);
	libusb_unref_device(self->device);
	g_free(self->devnode);
	g_free(self->location);
	G_OBJECT_CLASS(pbm_usb_transport_parent_class)->finalize(object);
}

static void
pbm_usb_transport_class_init(PbmUsbTransportClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = pbm_usb_transport_finalize;
}

static void
pbm_usb_transport_init(PbmUsbTransport *self)
{
}

PbmUsbTransport *
pbm_usb_transport_new(libusb_device *device, libusb_device_handle *handle, const gchar *devnode,
                      guint8 report_endpoint)
{
	PbmUsbTransport *self = g_object_new(PBM_TYPE_USB_TRANSPORT, NULL);

	self->report_endpoint = report_endpoint;
	self->device = libusb_ref_device(device);
	self->handle = handle;
	self->devnode = g_strdup(devnode);
	self->location = g_strdup_printf("usb %03u/%03u", libusb_get_bus_number(device),
	                                 libusb_get_device_address(device));
	return self;
}

libusb_device *
pbm_usb_transport_get_device(PbmUsbTransport *self)
{
	return self->device;
}

gboolean
pbm_usb_transport_is_busy(PbmUsbTransport *self)
{
	return self->in_flight > 0;
}
