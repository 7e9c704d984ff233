/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-usb.h"

#include <libusb.h>
#include <string.h>

/* How long shutdown waits for cancelled transfers to come back. */
#define SHUTDOWN_WAIT_US (2 * G_USEC_PER_SEC)
/* After this many interrupt transfer errors in a row the stream is dead. */
#define REPORT_ERRORS_MAX 10

GError *
pbm_usb_error_new(gint code, const gchar *devnode, const gchar *what)
{
	switch (code) {
	case LIBUSB_ERROR_ACCESS:
		return g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_PERMISSION,
		                   "%s: permission denied on %s; install the pbmd udev rule "
		                   "(70-pbmd.rules) and run pbmd as a member of the pbmd group",
		                   what, devnode);
	case LIBUSB_ERROR_NO_DEVICE:
	case LIBUSB_ERROR_NOT_FOUND:
		return g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_NO_DEVICE,
		                   "%s: %s is gone (unplugged)", what, devnode);
	case LIBUSB_ERROR_BUSY:
		return g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_BUSY,
		                   "%s: %s is claimed by another program; stop it and replug "
		                   "the panel",
		                   what, devnode);
	case LIBUSB_ERROR_TIMEOUT:
		return g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_TIMEOUT,
		                   "%s: %s did not answer in time", what, devnode);
	case LIBUSB_ERROR_PIPE:
		return g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_STALL,
		                   "%s: %s refused the request (STALL)", what, devnode);
	default:
		return g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_IO, "%s: %s: %s", what, devnode,
		                   libusb_strerror(code));
	}
}

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

/* ======================== transport ======================== */

struct _PbmUsbTransport {
	GObject parent_instance;

	libusb_device *device;
	libusb_device_handle *handle;
	gchar *devnode;
	gchar *location;

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

static void
release_handle(PbmUsbTransport *self)
{
	if (self->handle == NULL || self->in_flight > 0)
		return;
	if (!self->gone)
		libusb_release_interface(self->handle, PBM_USB_INTERFACE);
	libusb_close(self->handle);
	self->handle = NULL;
}

static void
mark_gone(PbmUsbTransport *self)
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
		release_handle(self);
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
		mark_gone(self);
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
			mark_gone(self);
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
		mark_gone(self);
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

	libusb_fill_interrupt_transfer(transfer, self->handle, PBM_USB_EP_REPORT, buf,
	                               PBM_USB_EP_REPORT_MAX_PACKET, report_cb, self, 0);
	transfer->flags = LIBUSB_TRANSFER_FREE_BUFFER;
	rc = libusb_submit_transfer(transfer);
	if (rc != 0) {
		libusb_free_transfer(transfer);
		if (rc == LIBUSB_ERROR_NO_DEVICE)
			mark_gone(self);
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
	release_handle(self);
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
	release_handle(self);
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

/* ======================== context ======================== */

typedef struct {
	GSource source;
	GHashTable *tags; /* fd -> tag */
} UsbSource;

struct _PbmUsbContext {
	GObject parent_instance;

	libusb_context *ctx;
	UsbSource *source;
	PbmUsbId *ids;
	guint n_ids;
	GArray *hotplug_handles;
	GPtrArray *transports; /* weak refs: PbmUsbTransport by device */
	GQueue arrived;        /* libusb_device*, referenced, waiting to be opened */
	GQueue left;           /* libusb_device*, referenced */
	guint idle_id;
	gboolean started;
};

G_DEFINE_TYPE(PbmUsbContext, pbm_usb_context, G_TYPE_OBJECT)

enum { SIGNAL_DEVICE_ADDED, SIGNAL_DEVICE_ERROR, N_SIGNALS };
static guint signals[N_SIGNALS];

static gboolean
usb_source_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	PbmUsbContext *self = user_data;
	struct timeval zero = { 0, 0 };

	/* Only ever called when a libusb fd is ready: handle what is there. */
	libusb_handle_events_timeout_completed(self->ctx, &zero, NULL);
	return G_SOURCE_CONTINUE;
}

static void
usb_source_finalize(GSource *source)
{
	g_hash_table_unref(((UsbSource *)source)->tags);
}

static GSourceFuncs usb_source_funcs = {
	.dispatch = usb_source_dispatch,
	.finalize = usb_source_finalize,
};

static void LIBUSB_CALL
pollfd_added(int fd, short events, void *user_data)
{
	PbmUsbContext *self = user_data;
	gpointer tag = g_source_add_unix_fd(&self->source->source, fd, (GIOCondition)events);

	g_hash_table_insert(self->source->tags, GINT_TO_POINTER(fd), tag);
}

static void LIBUSB_CALL
pollfd_removed(int fd, void *user_data)
{
	PbmUsbContext *self = user_data;
	gpointer tag = g_hash_table_lookup(self->source->tags, GINT_TO_POINTER(fd));

	if (tag == NULL)
		return;
	g_source_remove_unix_fd(&self->source->source, tag);
	g_hash_table_remove(self->source->tags, GINT_TO_POINTER(fd));
}

static void
attach_source(PbmUsbContext *self)
{
	const struct libusb_pollfd **fds;

	self->source = (UsbSource *)g_source_new(&usb_source_funcs, sizeof(UsbSource));
	self->source->tags = g_hash_table_new(NULL, NULL);
	g_source_set_name(&self->source->source, "pbm-libusb");
	g_source_set_callback(&self->source->source, NULL, self, NULL);
	fds = libusb_get_pollfds(self->ctx);
	for (guint i = 0; fds != NULL && fds[i] != NULL; i++)
		pollfd_added(fds[i]->fd, fds[i]->events, self);
	libusb_free_pollfds(fds);
	libusb_set_pollfd_notifiers(self->ctx, pollfd_added, pollfd_removed, self);
	g_source_attach(&self->source->source, g_main_context_get_thread_default());
	/* On Linux libusb keeps its timeouts on a timerfd, one of the fds above;
	 * anywhere else the source would need a timeout of its own. */
	if (!libusb_pollfds_handle_timeouts(self->ctx))
		g_warning("libusb cannot handle timeouts through its fds; transfers will "
		          "only time out when another event arrives");
}

static gchar *
devnode_of(libusb_device *device)
{
	return g_strdup_printf("/dev/bus/usb/%03u/%03u", libusb_get_bus_number(device),
	                       libusb_get_device_address(device));
}

/* The configured VID:PID says "ours"; the descriptors must agree before any
 * request is sent to it. */
static gboolean
check_descriptors(libusb_device *device, const gchar *devnode, GError **error)
{
	struct libusb_config_descriptor *config = NULL;
	const struct libusb_interface_descriptor *alt;
	gint rc = libusb_get_active_config_descriptor(device, &config);
	gboolean ok = FALSE;

	if (rc != 0) {
		*error = pbm_usb_error_new(rc, devnode, "reading the configuration descriptor");
		return FALSE;
	}
	if (config->bNumInterfaces > PBM_USB_INTERFACE &&
	    config->interface[PBM_USB_INTERFACE].num_altsetting > 0) {
		alt = &config->interface[PBM_USB_INTERFACE].altsetting[0];
		for (guint i = 0; i < alt->bNumEndpoints; i++) {
			const struct libusb_endpoint_descriptor *ep = &alt->endpoint[i];
			if (ep->bEndpointAddress == PBM_USB_EP_REPORT &&
			    (ep->bmAttributes & 0x3) == LIBUSB_TRANSFER_TYPE_INTERRUPT)
				ok = alt->bInterfaceClass == PBM_USB_INTERFACE_CLASS;
		}
	}
	libusb_free_config_descriptor(config);
	if (!ok)
		g_set_error(error, PBM_PANEL_ERROR, PBM_PANEL_ERROR_PROTOCOL,
		            "%s matches a configured VID:PID but is not a pbmd panel "
		            "(interface %u must be vendor class 0x%02x with interrupt endpoint "
		            "0x%02x)",
		            devnode, (guint)PBM_USB_INTERFACE, (guint)PBM_USB_INTERFACE_CLASS,
		            (guint)PBM_USB_EP_REPORT);
	return ok;
}

static PbmUsbTransport *
open_device(PbmUsbContext *self, libusb_device *device, GError **error)
{
	g_autoptr(PbmUsbTransport) transport = NULL;
	g_autofree gchar *devnode = devnode_of(device);
	libusb_device_handle *handle = NULL;
	gint rc;

	if (!check_descriptors(device, devnode, error))
		return NULL;
	rc = libusb_open(device, &handle);
	if (rc != 0) {
		*error = pbm_usb_error_new(rc, devnode, "opening the panel");
		return NULL;
	}
	rc = libusb_claim_interface(handle, PBM_USB_INTERFACE);
	if (rc != 0) {
		*error = pbm_usb_error_new(rc, devnode, "claiming the panel's interface");
		libusb_close(handle);
		return NULL;
	}
	transport = g_object_new(PBM_TYPE_USB_TRANSPORT, NULL);
	transport->device = libusb_ref_device(device);
	transport->handle = handle;
	transport->devnode = g_steal_pointer(&devnode);
	transport->location = g_strdup_printf("usb %03u/%03u", libusb_get_bus_number(device),
	                                      libusb_get_device_address(device));
	return g_steal_pointer(&transport);
}

static PbmUsbTransport *
find_transport(PbmUsbContext *self, libusb_device *device)
{
	for (guint i = 0; i < self->transports->len; i++) {
		PbmUsbTransport *t = g_ptr_array_index(self->transports, i);
		if (t->device == device)
			return t;
	}
	return NULL;
}

static void
transport_finalized(gpointer user_data, GObject *where_the_object_was)
{
	PbmUsbContext *self = user_data;

	g_ptr_array_remove_fast(self->transports, where_the_object_was);
}

static void
handle_arrived(PbmUsbContext *self, libusb_device *device)
{
	g_autoptr(GError) error = NULL;
	PbmUsbTransport *transport;

	if (find_transport(self, device) != NULL)
		return;
	transport = open_device(self, device, &error);
	if (transport == NULL) {
		g_signal_emit(self, signals[SIGNAL_DEVICE_ERROR], 0, error);
		return;
	}
	g_ptr_array_add(self->transports, transport);
	g_object_weak_ref(G_OBJECT(transport), transport_finalized, self);
	g_signal_emit(self, signals[SIGNAL_DEVICE_ADDED], 0, transport);
	g_object_unref(transport);
}

static void
handle_left(PbmUsbContext *self, libusb_device *device)
{
	PbmUsbTransport *transport = find_transport(self, device);

	if (transport != NULL)
		mark_gone(transport);
}

guint
pbm_usb_context_get_pending_arrivals(PbmUsbContext *self)
{
	g_return_val_if_fail(PBM_IS_USB_CONTEXT(self), 0);
	return g_queue_get_length(&self->arrived);
}

/* libusb forbids most calls from inside its hotplug callback, so arrivals
 * and departures are handled on the next main loop iteration. */
static gboolean
process_hotplug(gpointer user_data)
{
	PbmUsbContext *self = user_data;
	libusb_device *device;

	self->idle_id = 0;
	while ((device = g_queue_pop_head(&self->left)) != NULL) {
		handle_left(self, device);
		libusb_unref_device(device);
	}
	while ((device = g_queue_pop_head(&self->arrived)) != NULL) {
		handle_arrived(self, device);
		libusb_unref_device(device);
	}
	return G_SOURCE_REMOVE;
}

static int LIBUSB_CALL
hotplug_cb(libusb_context *ctx, libusb_device *device, libusb_hotplug_event event, void *user_data)
{
	PbmUsbContext *self = user_data;

	if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED)
		g_queue_push_tail(&self->arrived, libusb_ref_device(device));
	else
		g_queue_push_tail(&self->left, libusb_ref_device(device));
	if (self->idle_id == 0)
		self->idle_id = g_idle_add(process_hotplug, self);
	return 0;
}

static gboolean
id_matches(PbmUsbContext *self, libusb_device *device)
{
	struct libusb_device_descriptor desc;

	if (libusb_get_device_descriptor(device, &desc) != 0)
		return FALSE;
	for (guint i = 0; i < self->n_ids; i++) {
		if (desc.idVendor == self->ids[i].vid && desc.idProduct == self->ids[i].pid)
			return TRUE;
	}
	return FALSE;
}

/* Without hotplug support (no udev), panels present at start-up still work. */
static void
enumerate_once(PbmUsbContext *self)
{
	libusb_device **list = NULL;
	ssize_t n = libusb_get_device_list(self->ctx, &list);

	for (ssize_t i = 0; i < n; i++) {
		if (id_matches(self, list[i]))
			hotplug_cb(self->ctx, list[i], LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED, self);
	}
	if (n >= 0)
		libusb_free_device_list(list, 1);
}

void
pbm_usb_context_start(PbmUsbContext *self)
{
	g_return_if_fail(PBM_IS_USB_CONTEXT(self));
	if (self->started)
		return;
	self->started = TRUE;
	if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
		g_message("USB hotplug is not available; only panels present now are used");
		enumerate_once(self);
		return;
	}
	for (guint i = 0; i < self->n_ids; i++) {
		libusb_hotplug_callback_handle handle;
		gint rc = libusb_hotplug_register_callback(
		        self->ctx,
		        LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
		        LIBUSB_HOTPLUG_ENUMERATE, self->ids[i].vid, self->ids[i].pid,
		        LIBUSB_HOTPLUG_MATCH_ANY, hotplug_cb, self, &handle);
		if (rc != 0) {
			g_warning("cannot watch USB %04x:%04x for hotplug: %s", self->ids[i].vid,
			          self->ids[i].pid, libusb_strerror(rc));
			continue;
		}
		g_array_append_val(self->hotplug_handles, handle);
	}
}

void
pbm_usb_context_shutdown(PbmUsbContext *self)
{
	gint64 until = g_get_monotonic_time() + SHUTDOWN_WAIT_US;

	g_return_if_fail(PBM_IS_USB_CONTEXT(self));
	for (guint i = 0; i < self->hotplug_handles->len; i++)
		libusb_hotplug_deregister_callback(
		        self->ctx,
		        g_array_index(self->hotplug_handles, libusb_hotplug_callback_handle, i));
	g_array_set_size(self->hotplug_handles, 0);
	for (guint i = 0; i < self->transports->len; i++)
		usb_close(PBM_TRANSPORT(g_ptr_array_index(self->transports, i)));
	/* Let cancelled transfers come back so every handle closes cleanly. */
	while (g_get_monotonic_time() < until) {
		gboolean busy = FALSE;
		struct timeval tv = { 0, 50000 };
		for (guint i = 0; i < self->transports->len; i++)
			busy |= PBM_USB_TRANSPORT(g_ptr_array_index(self->transports, i))
			                ->in_flight > 0;
		if (!busy)
			break;
		libusb_handle_events_timeout_completed(self->ctx, &tv, NULL);
	}
	/* Outside any libusb callback now: close what is idle. */
	for (guint i = 0; i < self->transports->len; i++)
		release_handle(PBM_USB_TRANSPORT(g_ptr_array_index(self->transports, i)));
}

static void
pbm_usb_context_dispose(GObject *object)
{
	PbmUsbContext *self = PBM_USB_CONTEXT(object);
	libusb_device *device;

	if (self->ctx != NULL && self->hotplug_handles != NULL)
		pbm_usb_context_shutdown(self);
	g_clear_handle_id(&self->idle_id, g_source_remove);
	while ((device = g_queue_pop_head(&self->arrived)) != NULL)
		libusb_unref_device(device);
	while ((device = g_queue_pop_head(&self->left)) != NULL)
		libusb_unref_device(device);
	G_OBJECT_CLASS(pbm_usb_context_parent_class)->dispose(object);
}

static void
pbm_usb_context_finalize(GObject *object)
{
	PbmUsbContext *self = PBM_USB_CONTEXT(object);

	for (guint i = 0; i < self->transports->len; i++) {
		PbmUsbTransport *t = g_ptr_array_index(self->transports, i);
		g_object_weak_unref(G_OBJECT(t), transport_finalized, self);
	}
	g_ptr_array_unref(self->transports);
	g_array_unref(self->hotplug_handles);
	if (self->source != NULL) {
		libusb_set_pollfd_notifiers(self->ctx, NULL, NULL, NULL);
		g_source_destroy(&self->source->source);
		g_source_unref(&self->source->source);
	}
	if (self->ctx != NULL)
		libusb_exit(self->ctx);
	g_free(self->ids);
	G_OBJECT_CLASS(pbm_usb_context_parent_class)->finalize(object);
}

static void
pbm_usb_context_class_init(PbmUsbContextClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = pbm_usb_context_dispose;
	object_class->finalize = pbm_usb_context_finalize;
	signals[SIGNAL_DEVICE_ADDED] =
	        g_signal_new("device-added", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
	                     NULL, NULL, G_TYPE_NONE, 1, PBM_TYPE_USB_TRANSPORT);
	signals[SIGNAL_DEVICE_ERROR] =
	        g_signal_new("device-error", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
	                     NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
pbm_usb_context_init(PbmUsbContext *self)
{
	self->hotplug_handles = g_array_new(FALSE, FALSE, sizeof(libusb_hotplug_callback_handle));
	self->transports = g_ptr_array_new();
	g_queue_init(&self->arrived);
	g_queue_init(&self->left);
}

PbmUsbContext *
pbm_usb_context_new(const PbmUsbId *ids, guint n_ids, GError **error)
{
	g_autoptr(PbmUsbContext) self = g_object_new(PBM_TYPE_USB_CONTEXT, NULL);
	gint rc = libusb_init(&self->ctx);

	if (rc != 0) {
		self->ctx = NULL;
		g_set_error(error, PBM_PANEL_ERROR, PBM_PANEL_ERROR_UNAVAILABLE,
		            "USB is not available on this machine (libusb: %s)",
		            libusb_strerror(rc));
		return NULL;
	}
	self->ids = g_memdup2(ids, n_ids * sizeof(PbmUsbId));
	self->n_ids = n_ids;
	attach_source(self);
	return g_steal_pointer(&self);
}
