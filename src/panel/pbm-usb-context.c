/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-usb-context.h"

#include <libusb.h>

#include "pbm-usb-error.h"

/* How long shutdown waits for cancelled transfers to come back. */
#define SHUTDOWN_WAIT_US (2 * G_USEC_PER_SEC)
/* A panel can lose pbmd's claim without leaving the bus: a USB reset on
 * resume from suspend unbinds usbfs from it, and its transfers fail as if
 * it were unplugged, but udev sees no event. So a while after a panel goes,
 * the bus is looked at again, and one that is still there is opened anew.
 * The delay lets libusb take in the removal of a panel truly unplugged. */
#define RESCAN_DELAY_MS 1000

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
	guint rescan_id;
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

/* The address of the first interrupt IN endpoint of alt, or 0. Panels use
 * 0x81, but a board's USB device controller may give its function another
 * (FunctionFS takes whichever endpoint the controller has free). */
static guint8
report_endpoint_of(const struct libusb_interface_descriptor *alt)
{
	for (guint i = 0; i < alt->bNumEndpoints; i++) {
		const struct libusb_endpoint_descriptor *ep = &alt->endpoint[i];
		if ((ep->bEndpointAddress & LIBUSB_ENDPOINT_DIR_MASK) == LIBUSB_ENDPOINT_IN &&
		    (ep->bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) ==
		            LIBUSB_TRANSFER_TYPE_INTERRUPT)
			return ep->bEndpointAddress;
	}
	return 0;
}

/* The configured VID:PID says "ours"; the descriptors must agree before any
 * request is sent to it. Gives the report endpoint's address. */
static gboolean
check_descriptors(libusb_device *device, const gchar *devnode, guint8 *report_endpoint,
                  GError **error)
{
	struct libusb_config_descriptor *config = NULL;
	const struct libusb_interface_descriptor *alt;
	gint rc = libusb_get_active_config_descriptor(device, &config);

	if (rc != 0) {
		*error = pbm_usb_error_new(rc, devnode, "reading the configuration descriptor");
		return FALSE;
	}
	*report_endpoint = 0;
	if (config->bNumInterfaces > PBM_USB_INTERFACE &&
	    config->interface[PBM_USB_INTERFACE].num_altsetting > 0) {
		alt = &config->interface[PBM_USB_INTERFACE].altsetting[0];
		if (alt->bInterfaceClass == PBM_USB_INTERFACE_CLASS)
			*report_endpoint = report_endpoint_of(alt);
	}
	libusb_free_config_descriptor(config);
	if (*report_endpoint == 0) {
		g_set_error(error, PBM_PANEL_ERROR, PBM_PANEL_ERROR_PROTOCOL,
		            "%s matches a configured VID:PID but is not a pbmd panel "
		            "(interface %u must be vendor class 0x%02x with an interrupt IN "
		            "endpoint)",
		            devnode, (guint)PBM_USB_INTERFACE, (guint)PBM_USB_INTERFACE_CLASS);
		return FALSE;
	}
	return TRUE;
}

static PbmUsbTransport *
open_device(libusb_device *device, GError **error)
{
	g_autofree gchar *devnode = devnode_of(device);
	libusb_device_handle *handle = NULL;
	guint8 report_endpoint;
	gint rc;

	if (!check_descriptors(device, devnode, &report_endpoint, error))
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
	return pbm_usb_transport_new(device, handle, devnode, report_endpoint);
}

/* The live transport of device: one that is gone may linger until its
 * last transfer is back, while the device is opened again. */
static PbmUsbTransport *
find_transport(PbmUsbContext *self, libusb_device *device)
{
	for (guint i = 0; i < self->transports->len; i++) {
		PbmUsbTransport *t = g_ptr_array_index(self->transports, i);
		if (pbm_usb_transport_get_device(t) == device && !pbm_usb_transport_is_gone(t))
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

static void enumerate_once(PbmUsbContext *self);

static gboolean
rescan(gpointer user_data)
{
	PbmUsbContext *self = user_data;

	self->rescan_id = 0;
	enumerate_once(self);
	return G_SOURCE_REMOVE;
}

static void
on_transport_disconnected(PbmTransport *transport, PbmUsbContext *self)
{
	if (self->rescan_id == 0)
		self->rescan_id = g_timeout_add(RESCAN_DELAY_MS, rescan, self);
}

static void
handle_arrived(PbmUsbContext *self, libusb_device *device)
{
	g_autoptr(GError) error = NULL;
	PbmUsbTransport *transport;

	if (find_transport(self, device) != NULL)
		return;
	transport = open_device(device, &error);
	if (transport == NULL) {
		/* a panel that left while a rescan looked: nothing to say */
		if (!g_error_matches(error, PBM_PANEL_ERROR, PBM_PANEL_ERROR_NO_DEVICE))
			g_signal_emit(self, signals[SIGNAL_DEVICE_ERROR], 0, error);
		return;
	}
	g_ptr_array_add(self->transports, transport);
	g_object_weak_ref(G_OBJECT(transport), transport_finalized, self);
	g_signal_connect_object(transport, "disconnected", G_CALLBACK(on_transport_disconnected),
	                        self, 0);
	g_signal_emit(self, signals[SIGNAL_DEVICE_ADDED], 0, transport);
	g_object_unref(transport);
}

static void
handle_left(PbmUsbContext *self, libusb_device *device)
{
	PbmUsbTransport *transport = find_transport(self, device);

	if (transport != NULL)
		pbm_usb_transport_mark_gone(transport);
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

/* Without hotplug support (no udev), panels present at start-up still work;
 * and a rescan finds a panel that lost its claim but not its place. */
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
	g_clear_handle_id(&self->rescan_id, g_source_remove);
	for (guint i = 0; i < self->transports->len; i++)
		pbm_transport_close(PBM_TRANSPORT(g_ptr_array_index(self->transports, i)));
	/* Let cancelled transfers come back so every handle closes cleanly. */
	while (g_get_monotonic_time() < until) {
		gboolean busy = FALSE;
		struct timeval tv = { 0, 50000 };
		for (guint i = 0; i < self->transports->len; i++)
			busy |= pbm_usb_transport_is_busy(g_ptr_array_index(self->transports, i));
		if (!busy)
			break;
		libusb_handle_events_timeout_completed(self->ctx, &tv, NULL);
	}
	/* Outside any libusb callback now: close what is idle. */
	for (guint i = 0; i < self->transports->len; i++)
		pbm_usb_transport_release(g_ptr_array_index(self->transports, i));
}

static void
pbm_usb_context_dispose(GObject *object)
{
	PbmUsbContext *self = PBM_USB_CONTEXT(object);
	libusb_device *device;

	if (self->ctx != NULL && self->hotplug_handles != NULL)
		pbm_usb_context_shutdown(self);
	g_clear_handle_id(&self->idle_id, g_source_remove);
	g_clear_handle_id(&self->rescan_id, g_source_remove);
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
