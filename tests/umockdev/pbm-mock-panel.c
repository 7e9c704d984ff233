/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * usbdevfs emulation of the panel on top of umockdev. See pbm-mock-panel.h.
 *
 * Threads: the test thread plugs, unplugs and injects faults; umockdev's
 * worker thread runs on_handle_ioctl() for every client ioctl; the bus timer
 * thread advances the models. Panel state is shared under panel->lock. Only
 * the worker thread touches UMockdevIoctlData: the other threads record an
 * URB's outcome in its MockUrb, and the worker writes it into the client's
 * memory when the client reaps it.
 */
#define _GNU_SOURCE
#include "pbm-mock-panel.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <linux/usb/ch9.h>
#include <linux/usbdevice_fs.h>

/* The name is the error domain's string at run time; clang-format would
 * read it as a subtraction and space it out. */
/* clang-format off */
G_DEFINE_QUARK(pbm-mock-error-quark, pbm_mock_error)
/* clang-format on */

#define USB_MAJOR_DEVICE 189
#define DEVNUM_FIRST 2 /* 1 is the root hub on a real bus */
#define DEVNUM_LAST 127
#define SETUP_SIZE 8
/* TMPDIR + "/umockdev.XXXXXX" + the longest socket below it must fit the
 * 108 bytes of sun_path. */
#define TMPDIR_MAX_LEN 60

#define STRING_MANUFACTURER 1
#define STRING_PRODUCT 2
#define STRING_SERIAL 3
#define MANUFACTURER "pbmd"

typedef struct _MockUrb MockUrb;
typedef struct _MockClient MockClient;

struct _PbmMockBus {
	UMockdevTestbed *testbed;
	gchar *root_dir;
	GMainContext *context;
	GMainLoop *loop;
	GThread *thread;
	GList *panels; /* test thread only */
	guint next_address;
	guint8 report_endpoint; /* of the panels plugged from now on */
};

struct _PbmMockPanel {
	gatomicrefcount ref;
	PbmMockBus *bus; /* test thread only; NULL once unplugged */
	guint8 busnum;
	guint8 devnum;
	gchar *name;
	gchar *syspath;
	gchar *devnode;
	gchar *node_path;
	guint8 descriptors[64];
	gsize descriptors_len;
	guint8 report_endpoint; /* the interrupt endpoint's address */
	gchar *serial;
	gchar *product;
	UMockdevIoctlBase *handler;
	GSource *timer;
	gint64 t0;
	int fifo_fd;

	GMutex lock;
	PbmSim *sim;
	gboolean dead;
	gboolean ready;         /* the FIFO reads as POLLOUT */
	GHashTable *clients;    /* UMockdevIoctlClient * -> MockClient * */
	GQueue interrupt_urbs;  /* MockUrb * waiting for a report, oldest first */
	GQueue reports;         /* model reports (guint8[52]) nobody read yet */
	GQueue injected;        /* GBytes *, ahead of the model's reports */
	guint reapable;         /* finished URBs over all clients */
	gboolean report_halted; /* the interrupt endpoint halted */
	MockClient *claimed_by; /* interface 0 */
	guint32 stall[256 / 32];
	guint32 hang[256 / 32];
	gboolean ack_out_data; /* FunctionFS: no STALL after an OUT data stage */
	GBytes *override[256];
	guint64 ioctls;
	guint64 reports_sent;
	guint64 reports_dropped;
};

struct _MockClient {
	PbmMockPanel *panel; /* holds a reference */
	UMockdevIoctlClient *client;
	GQueue in_flight; /* MockUrb * submitted, not finished */
	GQueue done;      /* MockUrb * finished, to reap */
};

struct _MockUrb {
	MockClient *owner;
	UMockdevIoctlData *urb;    /* the client's struct usbdevfs_urb */
	UMockdevIoctlData *buffer; /* its buffer; NULL when empty */
	gulong client_addr;
	guint8 type;
	guint8 endpoint;
	gint buffer_length;
	gboolean done;
	gint status;
	gint actual_length;
	guint8 *in_data; /* IN payload to copy back on reap */
};

static PbmMockPanel *panel_ref(PbmMockPanel *panel);
static void panel_unref(PbmMockPanel *panel);

/* ======================== small helpers ======================== */

static gboolean
bit_get(const guint32 *bits, guint8 n)
{
	return (bits[n / 32] >> (n % 32)) & 1u;
}

static void
bit_set(guint32 *bits, guint8 n, gboolean value)
{
	if (value)
		bits[n / 32] |= 1u << (n % 32);
	else
		bits[n / 32] &= ~(1u << (n % 32));
}

static void
put_le16(guint8 *p, guint16 v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static gsize
build_descriptors(guint8 *out, guint16 vid, guint16 pid, guint8 report_endpoint)
{
	static const guint8 config[] = {
		/* configuration: 1 interface, self-powered, 100 mA; wTotalLength
		 * counts the three descriptors, 9 + 9 + 7 bytes */
		9, USB_DT_CONFIG, 9 + 9 + 7, 0, 1, 1, 0, 0xc0, 50,
		/* interface 0, vendor class, 1 endpoint */
		9, USB_DT_INTERFACE, PBM_USB_INTERFACE, 0, 1, PBM_USB_INTERFACE_CLASS, 0, 0, 0,
		/* interrupt IN 0x81 (see below), 64 bytes, every 10 ms (full speed: in ms) */
		7, USB_DT_ENDPOINT, PBM_USB_EP_REPORT, USB_ENDPOINT_XFER_INT,
		PBM_USB_EP_REPORT_MAX_PACKET, 0, PBM_USB_EP_REPORT_INTERVAL_MS
	};
	guint8 *d = out;

	/* device: USB 2.0, class per interface, EP0 64 bytes, 1 configuration */
	d[0] = 18;
	d[1] = USB_DT_DEVICE;
	put_le16(d + 2, 0x0200);
	d[4] = 0;
	d[5] = 0;
	d[6] = 0;
	d[7] = 64;
	put_le16(d + 8, vid);
	put_le16(d + 10, pid);
	put_le16(d + 12, 0x0100);
	d[14] = STRING_MANUFACTURER;
	d[15] = STRING_PRODUCT;
	d[16] = STRING_SERIAL;
	d[17] = 1;
	memcpy(d + 18, config, sizeof(config));
	d[18 + 9 + 9 + 2] = report_endpoint; /* the endpoint's bEndpointAddress */
	return 18 + sizeof(config);
}

static int
rm_rf_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

/* ======================== readiness and URB bookkeeping ======================== */

/* The FIFO holds one byte (pipe full: no POLLOUT) while nothing is to be
 * reaped, and is empty (POLLOUT) while something is. */
static void
update_ready_locked(PbmMockPanel *panel)
{
	gboolean want = panel->reapable > 0;
	guint8 byte = 0;

	if (want == panel->ready)
		return;
	if (want) {
		guint8 drain[16];
		while (read(panel->fifo_fd, drain, sizeof(drain)) > 0)
			;
	} else if (write(panel->fifo_fd, &byte, 1) != 1) {
		g_warning("pbm-mock %s: cannot arm the readiness FIFO: %s", panel->devnode,
		          g_strerror(errno));
	}
	panel->ready = want;
}

static void
urb_free(MockUrb *urb)
{
	g_clear_object(&urb->urb);
	g_clear_object(&urb->buffer);
	g_free(urb->in_data);
	g_free(urb);
}

/* Finishes an URB: it moves from the owner's in-flight list to its reap list. */
static void
complete_urb_locked(PbmMockPanel *panel, MockUrb *urb, gint status, const guint8 *in_data,
                    gsize len)
{
	gsize capacity;

	g_return_if_fail(!urb->done);
	capacity = urb->type == USBDEVFS_URB_TYPE_CONTROL ? (gsize)urb->buffer_length - SETUP_SIZE
	                                                  : (gsize)urb->buffer_length;
	if (len > capacity) {
		if (status == 0)
			status = -EOVERFLOW;
		len = capacity;
	}
	urb->done = TRUE;
	urb->status = status;
	urb->actual_length = (gint)len;
	if (in_data != NULL && len > 0)
		urb->in_data = g_memdup2(in_data, len);
	g_queue_remove(&urb->owner->in_flight, urb);
	g_queue_push_tail(&urb->owner->done, urb);
	panel->reapable++;
	update_ready_locked(panel);
}

/* ======================== the model's clock ======================== */

static void
sync_locked(PbmMockPanel *panel)
{
	gint64 now = g_get_monotonic_time() - panel->t0;
	guint64 sim_now = pbm_sim_now(panel->sim);

	if (now > 0 && (guint64)now > sim_now)
		pbm_sim_advance(panel->sim, (guint64)now - sim_now);
}

/* Takes the model's queued reports and hands them, injected bytes first, to
 * the interrupt URBs waiting. Reports nobody reads pile up to the firmware
 * queue depth, oldest dropped first, as on the device. */
static void
deliver_locked(PbmMockPanel *panel)
{
	guint8 buf[sizeof(struct pbm_wire_report)];

	while (pbm_sim_pop_report(panel->sim, buf)) {
		g_queue_push_tail(&panel->reports, g_memdup2(buf, sizeof(buf)));
		if (panel->reports.length > PBM_SIM_REPORT_QUEUE_MAX) {
			g_free(g_queue_pop_head(&panel->reports));
			panel->reports_dropped++;
		}
	}
	if (panel->report_halted) {
		MockUrb *urb;
		while ((urb = g_queue_pop_head(&panel->interrupt_urbs)) != NULL)
			complete_urb_locked(panel, urb, -EPIPE, NULL, 0);
		return;
	}
	while (panel->interrupt_urbs.length > 0) {
		MockUrb *urb;
		if (panel->injected.length > 0) {
			g_autoptr(GBytes) bytes = g_queue_pop_head(&panel->injected);
			gsize len;
			const guint8 *data = g_bytes_get_data(bytes, &len);

			urb = g_queue_pop_head(&panel->interrupt_urbs);
			complete_urb_locked(panel, urb, 0, data, len);
		} else if (panel->reports.length > 0) {
			g_autofree guint8 *report = g_queue_pop_head(&panel->reports);

			urb = g_queue_pop_head(&panel->interrupt_urbs);
			complete_urb_locked(panel, urb, 0, report, sizeof(buf));
		} else {
			break;
		}
		panel->reports_sent++;
	}
}

static void
reschedule_locked(PbmMockPanel *panel)
{
	guint64 deadline;
	gint64 ready_time = -1;

	if (panel->timer == NULL || panel->dead)
		return;
	deadline = pbm_sim_next_deadline(panel->sim);
	if (deadline < (guint64)(G_MAXINT64 - panel->t0))
		ready_time = panel->t0 + (gint64)deadline;
	g_source_set_ready_time(panel->timer, ready_time);
}

typedef struct {
	GSource source;
	PbmMockPanel *panel;
} TimerSource;

static gboolean
timer_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	PbmMockPanel *panel = ((TimerSource *)source)->panel;

	g_mutex_lock(&panel->lock);
	if (!panel->dead) {
		sync_locked(panel);
		deliver_locked(panel);
		reschedule_locked(panel);
	} else {
		g_source_set_ready_time(source, -1);
	}
	g_mutex_unlock(&panel->lock);
	return G_SOURCE_CONTINUE;
}

static void
timer_finalize(GSource *source)
{
	panel_unref(((TimerSource *)source)->panel);
}

static GSourceFuncs timer_funcs = {
	.dispatch = timer_dispatch,
	.finalize = timer_finalize,
};

/* ======================== clients ======================== */

static void
client_free_locked(PbmMockPanel *panel, MockClient *mc)
{
	MockUrb *urb;

	while ((urb = g_queue_pop_head(&mc->in_flight)) != NULL) {
		g_queue_remove(&panel->interrupt_urbs, urb);
		urb_free(urb);
	}
	while ((urb = g_queue_pop_head(&mc->done)) != NULL) {
		panel->reapable--;
		urb_free(urb);
	}
	if (panel->claimed_by == mc)
		panel->claimed_by = NULL;
	update_ready_locked(panel);
}

/* umockdev 0.17.16 never emits client-vanished: a client is gone when its
 * object is finalized, after its connection closed. */
static void
on_client_finalized(gpointer data, GObject *where_the_object_was)
{
	MockClient *mc = data;
	PbmMockPanel *panel = mc->panel;

	g_mutex_lock(&panel->lock);
	g_hash_table_remove(panel->clients, where_the_object_was);
	client_free_locked(panel, mc);
	g_mutex_unlock(&panel->lock);
	g_free(mc);
	panel_unref(panel);
}

static MockClient *
client_get_locked(PbmMockPanel *panel, UMockdevIoctlClient *client)
{
	MockClient *mc = g_hash_table_lookup(panel->clients, client);

	if (mc != NULL)
		return mc;
	mc = g_new0(MockClient, 1);
	mc->panel = panel_ref(panel);
	mc->client = client;
	g_queue_init(&mc->in_flight);
	g_queue_init(&mc->done);
	g_hash_table_insert(panel->clients, client, mc);
	g_object_weak_ref(G_OBJECT(client), on_client_finalized, mc);
	return mc;
}

/* ======================== control requests ======================== */

static gsize
string_descriptor(guint8 *out, gsize size, const gchar *ascii)
{
	gsize n = 2;

	for (const gchar *c = ascii; *c != '\0' && n + 2 <= size && n + 2 <= 255; c++) {
		out[n++] = (guint8)*c;
		out[n++] = 0;
	}
	out[0] = (guint8)n;
	out[1] = USB_DT_STRING;
	return n;
}

/* Chapter 9 requests a host stack may send on its own. */
static void
standard_request_locked(PbmMockPanel *panel, MockUrb *urb, const struct pbm_wire_setup *setup)
{
	guint8 reply[256];
	gsize len = 0;
	guint8 recipient = setup->request_type & USB_RECIP_MASK;

	if (setup->request_type & USB_DIR_IN) {
		switch (setup->request) {
		case USB_REQ_GET_STATUS:
			reply[0] = recipient == USB_RECIP_DEVICE ? 1 /* self-powered */
			           : (recipient == USB_RECIP_ENDPOINT &&
			              (setup->index & 0xff) == panel->report_endpoint &&
			              panel->report_halted)
			                   ? 1
			                   : 0;
			reply[1] = 0;
			len = 2;
			break;
		case USB_REQ_GET_CONFIGURATION:
			reply[0] = 1;
			len = 1;
			break;
		case USB_REQ_GET_DESCRIPTOR:
			switch (setup->value >> 8) {
			case USB_DT_DEVICE:
				memcpy(reply, panel->descriptors, 18);
				len = 18;
				break;
			case USB_DT_CONFIG:
				if ((setup->value & 0xff) != 0)
					goto stall;
				len = panel->descriptors_len - 18;
				memcpy(reply, panel->descriptors + 18, len);
				break;
			case USB_DT_STRING:
				switch (setup->value & 0xff) {
				case 0:
					reply[0] = 4;
					reply[1] = USB_DT_STRING;
					put_le16(reply + 2, 0x0409);
					len = 4;
					break;
				case STRING_MANUFACTURER:
					len = string_descriptor(reply, sizeof(reply), MANUFACTURER);
					break;
				case STRING_PRODUCT:
					len = string_descriptor(reply, sizeof(reply),
					                        panel->product);
					break;
				case STRING_SERIAL:
					len = string_descriptor(reply, sizeof(reply),
					                        panel->serial);
					break;
				default:
					goto stall;
				}
				break;
			default:
				goto stall;
			}
			break;
		default:
			goto stall;
		}
		complete_urb_locked(panel, urb, 0, reply, MIN(len, setup->length));
		return;
	}
	switch (setup->request) {
	case USB_REQ_SET_CONFIGURATION:
		if (setup->value > 1)
			goto stall;
		break;
	case USB_REQ_SET_INTERFACE:
		if (setup->value != 0 || setup->index != PBM_USB_INTERFACE)
			goto stall;
		break;
	case USB_REQ_CLEAR_FEATURE:
		if (recipient == USB_RECIP_ENDPOINT &&
		    (setup->index & 0xff) == panel->report_endpoint)
			panel->report_halted = FALSE;
		break;
	default:
		goto stall;
	}
	complete_urb_locked(panel, urb, 0, NULL, 0);
	return;
stall:
	complete_urb_locked(panel, urb, -EPIPE, NULL, 0);
}

/* Runs a control URB (setup + data in buffer). Hung requests stay in flight. */
static void
control_locked(PbmMockPanel *panel, MockUrb *urb, const struct pbm_wire_setup *setup,
               guint8 *out_data)
{
	gboolean in = (setup->request_type & USB_DIR_IN) != 0;
	g_autofree guint8 *reply = NULL;
	gsize actual = 0;

	if ((setup->request_type & USB_TYPE_MASK) == USB_TYPE_STANDARD) {
		standard_request_locked(panel, urb, setup);
		return;
	}
	if ((setup->request_type & USB_TYPE_MASK) != USB_TYPE_VENDOR) {
		complete_urb_locked(panel, urb, -EPIPE, NULL, 0);
		return;
	}
	if (bit_get(panel->hang, setup->request))
		return;
	if (bit_get(panel->stall, setup->request)) {
		complete_urb_locked(panel, urb, -EPIPE, NULL, 0);
		return;
	}
	if (in && panel->override[setup->request] != NULL) {
		gsize len;
		const guint8 *bytes = g_bytes_get_data(panel->override[setup->request], &len);

		complete_urb_locked(panel, urb, 0, bytes, MIN(len, setup->length));
		return;
	}
	sync_locked(panel);
	if (in)
		reply = g_malloc0(MAX(setup->length, 1));
	if (pbm_sim_control(panel->sim, setup, in ? reply : out_data, &actual, NULL))
		complete_urb_locked(panel, urb, 0, reply, actual);
	else if (!in && setup->length > 0 && panel->ack_out_data)
		complete_urb_locked(panel, urb, 0, NULL, setup->length);
	else
		complete_urb_locked(panel, urb, -EPIPE, NULL, 0);
	deliver_locked(panel);
	reschedule_locked(panel);
}

/* ======================== ioctls ======================== */

static void
ioctl_return(UMockdevIoctlClient *client, glong ret, gint err)
{
	umockdev_ioctl_client_complete(client, ret, ret < 0 ? err : 0);
}

static void
submit_urb(PbmMockPanel *panel, MockClient *mc, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
	g_autoptr(UMockdevIoctlData) urb_data = NULL;
	g_autoptr(UMockdevIoctlData) buffer = NULL;
	struct usbdevfs_urb *u;
	MockUrb *urb;
	struct pbm_wire_setup setup;

	urb_data = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
	if (urb_data == NULL) {
		ioctl_return(client, -1, EFAULT);
		return;
	}
	u = (struct usbdevfs_urb *)urb_data->data;
	if (u->buffer_length < 0) {
		ioctl_return(client, -1, EINVAL);
		return;
	}
	if (u->buffer_length > 0) {
		buffer = umockdev_ioctl_data_resolve(urb_data,
		                                     G_STRUCT_OFFSET(struct usbdevfs_urb, buffer),
		                                     (gsize)u->buffer_length, NULL);
		if (buffer == NULL) {
			ioctl_return(client, -1, EFAULT);
			return;
		}
	}

	switch (u->type) {
	case USBDEVFS_URB_TYPE_CONTROL:
		if (u->endpoint != 0 || u->buffer_length < SETUP_SIZE) {
			ioctl_return(client, -1, EINVAL);
			return;
		}
		memcpy(&setup, buffer->data, SETUP_SIZE);
		setup.value = GUINT16_FROM_LE(setup.value);
		setup.index = GUINT16_FROM_LE(setup.index);
		setup.length = GUINT16_FROM_LE(setup.length);
		if (SETUP_SIZE + (gint)setup.length > u->buffer_length) {
			ioctl_return(client, -1, EINVAL);
			return;
		}
		break;
	case USBDEVFS_URB_TYPE_INTERRUPT:
	case USBDEVFS_URB_TYPE_BULK:
		if (u->endpoint != panel->report_endpoint) {
			ioctl_return(client, -1, ENOENT);
			return;
		}
		if (u->type != USBDEVFS_URB_TYPE_INTERRUPT) {
			ioctl_return(client, -1, EINVAL);
			return;
		}
		break;
	default:
		ioctl_return(client, -1, EINVAL);
		return;
	}

	urb = g_new0(MockUrb, 1);
	urb->owner = mc;
	urb->client_addr = urb_data->client_addr;
	urb->type = u->type;
	urb->endpoint = u->endpoint;
	urb->buffer_length = u->buffer_length;
	urb->urb = g_steal_pointer(&urb_data);
	urb->buffer = g_steal_pointer(&buffer);

	g_mutex_lock(&panel->lock);
	if (panel->dead) {
		g_mutex_unlock(&panel->lock);
		urb_free(urb);
		ioctl_return(client, -1, ENODEV);
		return;
	}
	g_queue_push_tail(&mc->in_flight, urb);
	if (urb->type == USBDEVFS_URB_TYPE_CONTROL) {
		control_locked(panel, urb, &setup, urb->buffer->data + SETUP_SIZE);
	} else {
		g_queue_push_tail(&panel->interrupt_urbs, urb);
		sync_locked(panel);
		deliver_locked(panel);
		reschedule_locked(panel);
	}
	g_mutex_unlock(&panel->lock);
	ioctl_return(client, 0, 0);
}

static void
reap_urb(PbmMockPanel *panel, MockClient *mc, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
	g_autoptr(UMockdevIoctlData) ptr = NULL;
	struct usbdevfs_urb *u;
	MockUrb *urb;
	gboolean dead;

	g_mutex_lock(&panel->lock);
	urb = g_queue_pop_head(&mc->done);
	if (urb != NULL) {
		panel->reapable--;
		update_ready_locked(panel);
	}
	dead = panel->dead;
	g_mutex_unlock(&panel->lock);

	if (urb == NULL) {
		ioctl_return(client, -1, dead ? ENODEV : EAGAIN);
		return;
	}
	u = (struct usbdevfs_urb *)urb->urb->data;
	u->status = urb->status;
	u->actual_length = urb->actual_length;
	if (urb->in_data != NULL && urb->buffer != NULL) {
		gsize offset = urb->type == USBDEVFS_URB_TYPE_CONTROL ? SETUP_SIZE : 0;
		memcpy(urb->buffer->data + offset, urb->in_data, (gsize)urb->actual_length);
	}
	ptr = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), NULL);
	if (ptr == NULL) {
		ioctl_return(client, -1, EFAULT);
	} else {
		umockdev_ioctl_data_set_ptr(ptr, 0, urb->urb);
		ioctl_return(client, 0, 0);
	}
	urb_free(urb);
}

static void
discard_urb(PbmMockPanel *panel, MockClient *mc, UMockdevIoctlClient *client,
            UMockdevIoctlData *arg)
{
	gulong addr = *(gulong *)arg->data;
	MockUrb *found = NULL;
	gint err;

	g_mutex_lock(&panel->lock);
	for (GList *l = mc->in_flight.head; l != NULL; l = l->next) {
		MockUrb *urb = l->data;
		if (urb->client_addr == addr) {
			found = urb;
			break;
		}
	}
	if (found != NULL) {
		g_queue_remove(&panel->interrupt_urbs, found);
		complete_urb_locked(panel, found, -ENOENT, NULL, 0);
	}
	err = panel->dead ? ENODEV : EINVAL;
	g_mutex_unlock(&panel->lock);
	ioctl_return(client, found != NULL ? 0 : -1, err);
}

/* Resolves the client's argument as a buffer of size bytes. */
static UMockdevIoctlData *
arg_resolve(UMockdevIoctlData *arg, gsize size)
{
	return umockdev_ioctl_data_resolve(arg, 0, size, NULL);
}

static gboolean
arg_read_uint(UMockdevIoctlData *arg, guint *value)
{
	g_autoptr(UMockdevIoctlData) d = arg_resolve(arg, sizeof(guint));

	if (d == NULL)
		return FALSE;
	memcpy(value, d->data, sizeof(guint));
	return TRUE;
}

static void
claim_interface(PbmMockPanel *panel, MockClient *mc, UMockdevIoctlClient *client, guint ifnum)
{
	gint err = 0;

	g_mutex_lock(&panel->lock);
	if (ifnum != PBM_USB_INTERFACE)
		err = ENOENT;
	else if (panel->claimed_by != NULL && panel->claimed_by != mc)
		err = EBUSY;
	else
		panel->claimed_by = mc;
	g_mutex_unlock(&panel->lock);
	ioctl_return(client, err != 0 ? -1 : 0, err);
}

/* The synchronous USBDEVFS_CONTROL, for programs other than libusb. A hung
 * request fails at once with ETIMEDOUT. */
static void
control_sync(PbmMockPanel *panel, MockClient *mc, UMockdevIoctlClient *client,
             UMockdevIoctlData *arg)
{
	g_autoptr(UMockdevIoctlData) d = arg_resolve(arg, sizeof(struct usbdevfs_ctrltransfer));
	g_autoptr(UMockdevIoctlData) data = NULL;
	struct usbdevfs_ctrltransfer *ct;
	struct pbm_wire_setup setup;
	MockUrb *urb;
	gint status;

	if (d == NULL) {
		ioctl_return(client, -1, EFAULT);
		return;
	}
	ct = (struct usbdevfs_ctrltransfer *)d->data;
	setup = (struct pbm_wire_setup){ ct->bRequestType, ct->bRequest, ct->wValue, ct->wIndex,
		                         ct->wLength };
	if (ct->wLength > 0) {
		data = umockdev_ioctl_data_resolve(
		        d, G_STRUCT_OFFSET(struct usbdevfs_ctrltransfer, data), ct->wLength, NULL);
		if (data == NULL) {
			ioctl_return(client, -1, EFAULT);
			return;
		}
	}
	/* Run it as a control URB that nobody reaps. */
	urb = g_new0(MockUrb, 1);
	urb->owner = mc;
	urb->type = USBDEVFS_URB_TYPE_CONTROL;
	urb->buffer_length = SETUP_SIZE + ct->wLength;
	g_mutex_lock(&panel->lock);
	g_queue_push_tail(&mc->in_flight, urb);
	control_locked(panel, urb, &setup, data != NULL ? data->data : NULL);
	if (urb->done) {
		g_queue_remove(&mc->done, urb);
		panel->reapable--;
		update_ready_locked(panel);
		status = urb->status;
	} else {
		g_queue_remove(&mc->in_flight, urb);
		status = -ETIMEDOUT;
	}
	g_mutex_unlock(&panel->lock);
	if (status == 0 && urb->in_data != NULL)
		memcpy(data->data, urb->in_data, (gsize)urb->actual_length);
	ioctl_return(client, status == 0 ? urb->actual_length : -1, -status);
	urb_free(urb);
}

static void
other_ioctl(PbmMockPanel *panel, MockClient *mc, UMockdevIoctlClient *client, gulong request,
            UMockdevIoctlData *arg)
{
	guint value;

	switch (request) {
	case USBDEVFS_GET_CAPABILITIES: {
		g_autoptr(UMockdevIoctlData) d = arg_resolve(arg, sizeof(guint32));
		guint32 caps = USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_BULK_CONTINUATION |
		               USBDEVFS_CAP_NO_PACKET_SIZE_LIM | USBDEVFS_CAP_REAP_AFTER_DISCONNECT;
		if (d == NULL) {
			ioctl_return(client, -1, EFAULT);
			return;
		}
		memcpy(d->data, &caps, sizeof(caps));
		ioctl_return(client, 0, 0);
		return;
	}
	case USBDEVFS_CLAIMINTERFACE:
	case USBDEVFS_DISCONNECT_CLAIM: /* its first field is the interface */
		if (!arg_read_uint(arg, &value)) {
			ioctl_return(client, -1, EFAULT);
			return;
		}
		claim_interface(panel, mc, client, value);
		return;
	case USBDEVFS_RELEASEINTERFACE: {
		gboolean ok;
		if (!arg_read_uint(arg, &value)) {
			ioctl_return(client, -1, EFAULT);
			return;
		}
		g_mutex_lock(&panel->lock);
		ok = value == PBM_USB_INTERFACE && panel->claimed_by == mc;
		if (ok)
			panel->claimed_by = NULL;
		g_mutex_unlock(&panel->lock);
		ioctl_return(client, ok ? 0 : -1, EINVAL);
		return;
	}
	case USBDEVFS_GETDRIVER:
	case USBDEVFS_IOCTL: /* no kernel driver is bound */
		ioctl_return(client, -1, ENODATA);
		return;
	case USBDEVFS_SETINTERFACE: {
		g_autoptr(UMockdevIoctlData) d =
		        arg_resolve(arg, sizeof(struct usbdevfs_setinterface));
		struct usbdevfs_setinterface *si;
		if (d == NULL) {
			ioctl_return(client, -1, EFAULT);
			return;
		}
		si = (struct usbdevfs_setinterface *)d->data;
		ioctl_return(client,
		             si->interface == PBM_USB_INTERFACE && si->altsetting == 0 ? 0 : -1,
		             EINVAL);
		return;
	}
	case USBDEVFS_SETCONFIGURATION:
		if (!arg_read_uint(arg, &value)) {
			ioctl_return(client, -1, EFAULT);
			return;
		}
		ioctl_return(client, value == 1 || (gint)value == -1 ? 0 : -1, EINVAL);
		return;
	case USBDEVFS_CLEAR_HALT:
	case USBDEVFS_RESETEP:
		if (!arg_read_uint(arg, &value)) {
			ioctl_return(client, -1, EFAULT);
			return;
		}
		if ((value & 0xff) != panel->report_endpoint && (value & 0x7f) != 0) {
			ioctl_return(client, -1, ENOENT);
			return;
		}
		if (request == USBDEVFS_CLEAR_HALT && (value & 0xff) == panel->report_endpoint) {
			g_mutex_lock(&panel->lock);
			panel->report_halted = FALSE;
			g_mutex_unlock(&panel->lock);
		}
		ioctl_return(client, 0, 0);
		return;
	case USBDEVFS_CONNECTINFO: {
		g_autoptr(UMockdevIoctlData) d =
		        arg_resolve(arg, sizeof(struct usbdevfs_connectinfo));
		struct usbdevfs_connectinfo ci = { .devnum = panel->devnum, .slow = 0 };
		if (d == NULL) {
			ioctl_return(client, -1, EFAULT);
			return;
		}
		memcpy(d->data, &ci, sizeof(ci));
		ioctl_return(client, 0, 0);
		return;
	}
	case USBDEVFS_GET_SPEED:
		ioctl_return(client, USB_SPEED_FULL, 0);
		return;
	case USBDEVFS_CONTROL:
		control_sync(panel, mc, client, arg);
		return;
	case USBDEVFS_RESET:
	case USBDEVFS_DROP_PRIVILEGES:
	case USBDEVFS_FORBID_SUSPEND:
	case USBDEVFS_ALLOW_SUSPEND:
	case USBDEVFS_WAIT_FOR_RESUME:
		ioctl_return(client, 0, 0);
		return;
	default:
		break;
	}
	if (_IOC_TYPE(request) == 'U' && _IOC_NR(request) == 32 && _IOC_SIZE(request) > 0) {
		/* USBDEVFS_CONNINFO_EX(len) */
		struct usbdevfs_conninfo_ex ci = { .size = sizeof(ci),
			                           .busnum = panel->busnum,
			                           .devnum = panel->devnum,
			                           .speed = USB_SPEED_FULL,
			                           .num_ports = 1,
			                           .ports = { panel->devnum - 1 } };
		gsize len = MIN((gsize)_IOC_SIZE(request), sizeof(ci));
		g_autoptr(UMockdevIoctlData) d = arg_resolve(arg, len);
		if (d == NULL) {
			ioctl_return(client, -1, EFAULT);
			return;
		}
		memcpy(d->data, &ci, len);
		ioctl_return(client, 0, 0);
		return;
	}
	ioctl_return(client, -1, ENOTTY);
}

static gboolean
on_handle_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer user_data)
{
	PbmMockPanel *panel = user_data;
	gulong request = umockdev_ioctl_client_get_request(client);
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
	MockClient *mc;
	gboolean dead;

	g_mutex_lock(&panel->lock);
	panel->ioctls++;
	mc = client_get_locked(panel, client);
	dead = panel->dead;
	g_mutex_unlock(&panel->lock);

	switch (request) {
	case USBDEVFS_SUBMITURB:
		submit_urb(panel, mc, client, arg);
		return TRUE;
	case USBDEVFS_REAPURBNDELAY:
	case USBDEVFS_REAPURB: /* never blocks here */
		reap_urb(panel, mc, client, arg);
		return TRUE;
	case USBDEVFS_DISCARDURB:
		discard_urb(panel, mc, client, arg);
		return TRUE;
	default:
		break;
	}
	if (dead)
		ioctl_return(client, -1, ENODEV);
	else
		other_ioctl(panel, mc, client, request, arg);
	return TRUE;
}

static void
handler_closure_notify(gpointer data, GClosure *closure)
{
	panel_unref(data);
}

/* ======================== panel lifecycle ======================== */

static PbmMockPanel *
panel_ref(PbmMockPanel *panel)
{
	g_atomic_ref_count_inc(&panel->ref);
	return panel;
}

static void
panel_unref(PbmMockPanel *panel)
{
	GHashTableIter iter;
	gpointer key, value;

	if (!g_atomic_ref_count_dec(&panel->ref))
		return;
	/* Clients still registered here hold a panel reference, so none are. */
	g_hash_table_iter_init(&iter, panel->clients);
	while (g_hash_table_iter_next(&iter, &key, &value))
		g_warn_if_reached();
	g_hash_table_unref(panel->clients);
	g_queue_clear_full(&panel->reports, g_free);
	g_queue_clear_full(&panel->injected, (GDestroyNotify)g_bytes_unref);
	g_queue_clear(&panel->interrupt_urbs);
	for (guint i = 0; i < G_N_ELEMENTS(panel->override); i++)
		g_clear_pointer(&panel->override[i], g_bytes_unref);
	pbm_sim_free(panel->sim);
	g_mutex_clear(&panel->lock);
	if (panel->fifo_fd >= 0)
		close(panel->fifo_fd);
	g_free(panel->name);
	g_free(panel->syspath);
	g_free(panel->devnode);
	g_free(panel->node_path);
	g_free(panel->serial);
	g_free(panel->product);
	g_free(panel);
}

static gboolean
set_error_errno(GError **error, const gchar *what, const gchar *path)
{
	int saved = errno;

	g_set_error(error, PBM_MOCK_ERROR, PBM_MOCK_ERROR_FAILED, "%s %s: %s", what, path,
	            g_strerror(saved));
	return FALSE;
}

/* The device node: a FIFO created before the "add" uevent, so that a client
 * reacting to the uevent can open it at once. */
static gboolean
create_node(PbmMockBus *bus, PbmMockPanel *panel, GError **error)
{
	g_autofree gchar *dir = NULL;
	guint8 byte = 0;

	panel->node_path = g_build_filename(bus->root_dir, panel->devnode, NULL);
	dir = g_path_get_dirname(panel->node_path);
	if (g_mkdir_with_parents(dir, 0755) < 0)
		return set_error_errno(error, "cannot create", dir);
	if (mkfifo(panel->node_path, 0666) < 0)
		return set_error_errno(error, "cannot create the FIFO", panel->node_path);
	panel->fifo_fd = open(panel->node_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (panel->fifo_fd < 0)
		return set_error_errno(error, "cannot open", panel->node_path);
	/* One page: a single byte then fills the pipe, and clears POLLOUT. */
	if (fcntl(panel->fifo_fd, F_SETPIPE_SZ, 4096) < 0)
		return set_error_errno(error, "cannot shrink", panel->node_path);
	if (write(panel->fifo_fd, &byte, 1) != 1)
		return set_error_errno(error, "cannot write", panel->node_path);
	panel->ready = FALSE;
	return TRUE;
}

static void add_pair(GPtrArray *pairs, const gchar *key, const gchar *format, ...)
        G_GNUC_PRINTF(3, 4);

/* Appends key and the formatted value, for umockdev_testbed_add_devicev(). */
static void
add_pair(GPtrArray *pairs, const gchar *key, const gchar *format, ...)
{
	va_list args;

	va_start(args, format);
	g_ptr_array_add(pairs, g_strdup(key));
	g_ptr_array_add(pairs, g_strdup_vprintf(format, args));
	va_end(args);
}

static gboolean
allocate_address(PbmMockBus *bus, guint8 *busnum, guint8 *devnum, GError **error)
{
	const guint per_bus = DEVNUM_LAST - DEVNUM_FIRST + 1;
	guint n = bus->next_address++;

	if (n / per_bus + 1 > 255) {
		g_set_error_literal(error, PBM_MOCK_ERROR, PBM_MOCK_ERROR_BUS_FULL,
		                    "no USB bus number left for another panel");
		return FALSE;
	}
	*busnum = (guint8)(n / per_bus + 1);
	*devnum = (guint8)(n % per_bus + DEVNUM_FIRST);
	return TRUE;
}

PbmMockPanel *
pbm_mock_panel_plug(PbmMockBus *bus, const PbmSimConfig *config, guint16 vid, guint16 pid,
                    GError **error)
{
	PbmSimConfig defaults;
	g_autoptr(PbmSim) sim = NULL;
	PbmMockPanel *panel;
	guint minor;
	g_autofree gchar *sysdir = NULL;
	g_autofree gchar *descriptors_path = NULL;
	g_autoptr(GPtrArray) attributes = NULL;
	g_autoptr(GPtrArray) properties = NULL;
	g_autofree gchar *added = NULL;
	TimerSource *timer;
	guint8 busnum, devnum;

	g_return_val_if_fail(bus != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (config == NULL) {
		pbm_sim_config_init(&defaults, NULL);
		config = &defaults;
	}
	sim = pbm_sim_new(config, error);
	if (sim == NULL)
		return NULL;
	if (!allocate_address(bus, &busnum, &devnum, error))
		return NULL;

	panel = g_new0(PbmMockPanel, 1);
	g_atomic_ref_count_init(&panel->ref);
	g_mutex_init(&panel->lock);
	panel->fifo_fd = -1;
	panel->clients = g_hash_table_new(NULL, NULL);
	g_queue_init(&panel->interrupt_urbs);
	g_queue_init(&panel->reports);
	g_queue_init(&panel->injected);
	panel->sim = g_steal_pointer(&sim);
	panel->busnum = busnum;
	panel->devnum = devnum;
	panel->name = g_strdup_printf("%u-%u", (guint)busnum, devnum - 1u);
	panel->syspath = g_strdup_printf("/sys/devices/%s", panel->name);
	panel->devnode = g_strdup_printf("/dev/bus/usb/%03u/%03u", busnum, devnum);
	panel->serial = g_strdup(config->serial);
	panel->product = g_strdup(config->model);
	panel->report_endpoint = bus->report_endpoint;
	panel->descriptors_len =
	        build_descriptors(panel->descriptors, vid, pid, panel->report_endpoint);
	minor = (busnum - 1u) * 128u + (devnum - 1u);

	if (!create_node(bus, panel, error))
		goto fail;

	/* Binary attributes cannot go through add_devicev(), which sends the
	 * "add" uevent: write them first (an existing directory without a
	 * uevent file is allowed). */
	sysdir = g_build_filename(bus->root_dir, panel->syspath, NULL);
	if (g_mkdir_with_parents(sysdir, 0755) < 0) {
		set_error_errno(error, "cannot create", sysdir);
		goto fail;
	}
	descriptors_path = g_build_filename(sysdir, "descriptors", NULL);
	if (!g_file_set_contents(descriptors_path, (const gchar *)panel->descriptors,
	                         (gssize)panel->descriptors_len, error))
		goto fail;

	/* The handler answers before the device exists for anybody. */
	panel->handler = umockdev_ioctl_base_new();
	g_signal_connect_data(panel->handler, "handle-ioctl", G_CALLBACK(on_handle_ioctl),
	                      panel_ref(panel), handler_closure_notify, 0);
	if (!umockdev_testbed_attach_ioctl(bus->testbed, panel->devnode, panel->handler, error))
		goto fail;

	/* Power on: device time starts now. */
	panel->t0 = g_get_monotonic_time();
	timer = (TimerSource *)g_source_new(&timer_funcs, sizeof(TimerSource));
	timer->panel = panel_ref(panel);
	panel->timer = &timer->source;
	g_source_set_name(panel->timer, "pbm-mock-panel timer");
	g_source_set_ready_time(panel->timer, 0);
	g_source_attach(panel->timer, bus->context);

	/* Sysfs attributes end with a newline, as the kernel writes them; all
	 * but "dev": umockdev_testbed_remove_device() names the /sys/dev/char
	 * link after its raw contents, and would leave it behind. */
	attributes = g_ptr_array_new_with_free_func(g_free);
	add_pair(attributes, "busnum", "%u\n", busnum);
	add_pair(attributes, "devnum", "%u\n", devnum);
	add_pair(attributes, "devpath", "%u\n", devnum - 1u);
	add_pair(attributes, "speed", "12\n"); /* full speed: bInterval is in ms */
	add_pair(attributes, "version", " 2.00\n");
	add_pair(attributes, "bConfigurationValue", "1\n");
	add_pair(attributes, "bNumConfigurations", "1\n");
	add_pair(attributes, "bNumInterfaces", " 1\n");
	add_pair(attributes, "bDeviceClass", "00\n");
	add_pair(attributes, "bMaxPacketSize0", "64\n");
	add_pair(attributes, "bcdDevice", "0100\n");
	add_pair(attributes, "idVendor", "%04x\n", vid);
	add_pair(attributes, "idProduct", "%04x\n", pid);
	add_pair(attributes, "manufacturer", "%s\n", MANUFACTURER);
	add_pair(attributes, "product", "%s\n", config->model);
	add_pair(attributes, "serial", "%s\n", config->serial);
	add_pair(attributes, "maxchild", "0\n");
	add_pair(attributes, "dev", "%d:%u", USB_MAJOR_DEVICE, minor);
	g_ptr_array_add(attributes, NULL);

	properties = g_ptr_array_new_with_free_func(g_free);
	add_pair(properties, "DEVNAME", "%s", panel->devnode);
	add_pair(properties, "DEVTYPE", "usb_device");
	add_pair(properties, "SUBSYSTEM", "usb");
	add_pair(properties, "DRIVER", "usb");
	add_pair(properties, "BUSNUM", "%03u", busnum);
	add_pair(properties, "DEVNUM", "%03u", devnum);
	add_pair(properties, "MAJOR", "%d", USB_MAJOR_DEVICE);
	add_pair(properties, "MINOR", "%u", minor);
	add_pair(properties, "PRODUCT", "%x/%x/100", vid, pid);
	add_pair(properties, "TYPE", "0/0/0");
	add_pair(properties, "ID_VENDOR_ID", "%04x", vid);
	add_pair(properties, "ID_MODEL_ID", "%04x", pid);
	add_pair(properties, "ID_MODEL", "%s", config->model);
	add_pair(properties, "ID_SERIAL", "%s_%s", MANUFACTURER, config->serial);
	add_pair(properties, "ID_SERIAL_SHORT", "%s", config->serial);
	g_ptr_array_add(properties, NULL);

	/* Creates the sysfs device and sends the "add" uevent. */
	added = umockdev_testbed_add_devicev(bus->testbed, "usb", panel->name, NULL,
	                                     (gchar **)attributes->pdata,
	                                     (gchar **)properties->pdata);
	if (added == NULL || g_strcmp0(added, panel->syspath) != 0) {
		g_set_error(error, PBM_MOCK_ERROR, PBM_MOCK_ERROR_FAILED,
		            "umockdev could not add %s (got %s)", panel->syspath,
		            added != NULL ? added : "nothing");
		goto fail;
	}
	panel->bus = bus;
	bus->panels = g_list_prepend(bus->panels, panel);
	return panel;

fail:
	if (panel->timer != NULL) {
		g_source_destroy(panel->timer);
		g_clear_pointer(&panel->timer, g_source_unref);
	}
	if (panel->handler != NULL) {
		umockdev_testbed_detach_ioctl(bus->testbed, panel->devnode, NULL);
		g_clear_object(&panel->handler);
	}
	if (panel->node_path != NULL)
		g_unlink(panel->node_path);
	if (sysdir != NULL)
		nftw(sysdir, rm_rf_cb, 8, FTW_DEPTH | FTW_PHYS);
	panel_unref(panel);
	return NULL;
}

void
pbm_mock_panel_unplug(PbmMockPanel *panel)
{
	PbmMockBus *bus;
	GHashTableIter iter;
	gpointer value;

	if (panel == NULL)
		return;
	bus = panel->bus;
	g_return_if_fail(bus != NULL);

	/* 1. The device's fds answer ENODEV from now on. */
	g_mutex_lock(&panel->lock);
	panel->dead = TRUE;
	g_mutex_unlock(&panel->lock);

	/* 2. Clients learn of the removal (umockdev 0.17.16 can abort() if a
	 * client closes between connect() and sendmsg() of this uevent, which
	 * is likelier once its transfers failed). */
	umockdev_testbed_uevent(bus->testbed, panel->syspath, "remove");

	/* 3. URBs in flight end as on a disconnect; hung ones too. */
	g_mutex_lock(&panel->lock);
	g_hash_table_iter_init(&iter, panel->clients);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		MockClient *mc = value;
		MockUrb *urb;
		while ((urb = g_queue_peek_head(&mc->in_flight)) != NULL)
			complete_urb_locked(panel, urb, -ESHUTDOWN, NULL, 0);
	}
	g_queue_clear(&panel->interrupt_urbs);
	g_mutex_unlock(&panel->lock);

	g_source_destroy(panel->timer);
	g_clear_pointer(&panel->timer, g_source_unref);

	/* Stale clients keep their connection (and the handler) until they
	 * close; the handler keeps the panel alive that long. */
	umockdev_testbed_remove_device(bus->testbed, panel->syspath);
	g_unlink(panel->node_path);
	umockdev_testbed_detach_ioctl(bus->testbed, panel->devnode, NULL);
	g_clear_object(&panel->handler);

	bus->panels = g_list_remove(bus->panels, panel);
	panel->bus = NULL;
	panel_unref(panel);
}

guint8
pbm_mock_panel_get_busnum(PbmMockPanel *panel)
{
	return panel->busnum;
}

guint8
pbm_mock_panel_get_devnum(PbmMockPanel *panel)
{
	return panel->devnum;
}

const gchar *
pbm_mock_panel_get_devnode(PbmMockPanel *panel)
{
	return panel->devnode;
}

const gchar *
pbm_mock_panel_get_syspath(PbmMockPanel *panel)
{
	return panel->syspath;
}

PbmSim *
pbm_mock_panel_lock_sim(PbmMockPanel *panel)
{
	g_mutex_lock(&panel->lock);
	if (!panel->dead)
		sync_locked(panel);
	return panel->sim;
}

void
pbm_mock_panel_unlock_sim(PbmMockPanel *panel)
{
	if (!panel->dead) {
		deliver_locked(panel);
		reschedule_locked(panel);
	}
	g_mutex_unlock(&panel->lock);
}

gboolean
pbm_mock_panel_is_lit(PbmMockPanel *panel)
{
	gboolean lit = pbm_sim_is_lit(pbm_mock_panel_lock_sim(panel));

	pbm_mock_panel_unlock_sim(panel);
	return lit;
}

void
pbm_mock_panel_set_stall(PbmMockPanel *panel, guint8 request, gboolean stall)
{
	g_mutex_lock(&panel->lock);
	bit_set(panel->stall, request, stall);
	g_mutex_unlock(&panel->lock);
}

void
pbm_mock_panel_set_ack_out_data(PbmMockPanel *panel, gboolean ack)
{
	g_mutex_lock(&panel->lock);
	panel->ack_out_data = ack;
	g_mutex_unlock(&panel->lock);
}

void
pbm_mock_panel_set_hang(PbmMockPanel *panel, guint8 request, gboolean hang)
{
	g_mutex_lock(&panel->lock);
	bit_set(panel->hang, request, hang);
	g_mutex_unlock(&panel->lock);
}

void
pbm_mock_panel_override_reply(PbmMockPanel *panel, guint8 request, const guint8 *bytes, gsize len)
{
	g_mutex_lock(&panel->lock);
	g_clear_pointer(&panel->override[request], g_bytes_unref);
	if (bytes != NULL && len > 0)
		panel->override[request] = g_bytes_new(bytes, len);
	g_mutex_unlock(&panel->lock);
}

void
pbm_mock_panel_inject_report(PbmMockPanel *panel, const guint8 *bytes, gsize len)
{
	g_mutex_lock(&panel->lock);
	g_queue_push_tail(&panel->injected, g_bytes_new(bytes, len));
	if (!panel->dead)
		deliver_locked(panel);
	g_mutex_unlock(&panel->lock);
}

void
pbm_mock_panel_halt_report_endpoint(PbmMockPanel *panel)
{
	g_mutex_lock(&panel->lock);
	panel->report_halted = TRUE;
	if (!panel->dead)
		deliver_locked(panel);
	g_mutex_unlock(&panel->lock);
}

guint64
pbm_mock_panel_get_ioctl_count(PbmMockPanel *panel)
{
	guint64 n;

	g_mutex_lock(&panel->lock);
	n = panel->ioctls;
	g_mutex_unlock(&panel->lock);
	return n;
}

guint
pbm_mock_panel_get_client_count(PbmMockPanel *panel)
{
	guint n;

	g_mutex_lock(&panel->lock);
	n = g_hash_table_size(panel->clients);
	g_mutex_unlock(&panel->lock);
	return n;
}

guint64
pbm_mock_panel_get_reports_sent(PbmMockPanel *panel)
{
	guint64 n;

	g_mutex_lock(&panel->lock);
	n = panel->reports_sent;
	g_mutex_unlock(&panel->lock);
	return n;
}

guint64
pbm_mock_panel_get_reports_dropped(PbmMockPanel *panel)
{
	guint64 n;

	g_mutex_lock(&panel->lock);
	n = panel->reports_dropped;
	g_mutex_unlock(&panel->lock);
	return n;
}

/* ======================== bus ======================== */

static gboolean
quit_loop(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

static gpointer
timer_thread(gpointer data)
{
	PbmMockBus *bus = data;

	g_main_context_push_thread_default(bus->context);
	g_main_loop_run(bus->loop);
	g_main_context_pop_thread_default(bus->context);
	return NULL;
}

PbmMockBus *
pbm_mock_bus_new(GError **error)
{
	const gchar *preload = g_getenv("LD_PRELOAD");
	const gchar *tmpdir = g_get_tmp_dir();
	PbmMockBus *bus;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	/* umockdev_in_mock_environment() caches its first answer; the
	 * environment is what counts. */
	if (preload == NULL || strstr(preload, "libumockdev-preload") == NULL) {
		g_set_error_literal(error, PBM_MOCK_ERROR, PBM_MOCK_ERROR_NO_PRELOAD,
		                    "the emulated USB bus needs the umockdev preload in this "
		                    "process: run it under umockdev-wrapper or with "
		                    "LD_PRELOAD=libumockdev-preload.so.0");
		return NULL;
	}
	if (strlen(tmpdir) > TMPDIR_MAX_LEN) {
		g_set_error(error, PBM_MOCK_ERROR, PBM_MOCK_ERROR_TMPDIR,
		            "TMPDIR %s is longer than %d characters: the testbed's unix socket "
		            "paths would not fit; set a short TMPDIR such as /tmp",
		            tmpdir, TMPDIR_MAX_LEN);
		return NULL;
	}

	bus = g_new0(PbmMockBus, 1);
	bus->report_endpoint = PBM_USB_EP_REPORT;
	bus->testbed = umockdev_testbed_new();
	bus->root_dir = umockdev_testbed_get_root_dir(bus->testbed);
	bus->context = g_main_context_new();
	bus->loop = g_main_loop_new(bus->context, FALSE);
	bus->thread = g_thread_new("pbm-mock-bus", timer_thread, bus);
	return bus;
}

void
pbm_mock_bus_free(PbmMockBus *bus)
{
	if (bus == NULL)
		return;
	while (bus->panels != NULL)
		pbm_mock_panel_unplug(bus->panels->data);
	/* Through a source: a quit before the loop ran would be lost. */
	{
		g_autoptr(GSource) quit = g_idle_source_new();
		g_source_set_callback(quit, quit_loop, bus->loop, NULL);
		g_source_attach(quit, bus->context);
	}
	g_thread_join(bus->thread);
	g_main_loop_unref(bus->loop);
	g_main_context_unref(bus->context);
	g_object_unref(bus->testbed);
	/* The testbed removes its directory when finalized; make sure. */
	if (g_file_test(bus->root_dir, G_FILE_TEST_EXISTS))
		nftw(bus->root_dir, rm_rf_cb, 16, FTW_DEPTH | FTW_PHYS);
	g_free(bus->root_dir);
	g_free(bus);
}

UMockdevTestbed *
pbm_mock_bus_get_testbed(PbmMockBus *bus)
{
	return bus->testbed;
}

const gchar *
pbm_mock_bus_get_root_dir(PbmMockBus *bus)
{
	return bus->root_dir;
}

void
pbm_mock_bus_set_report_endpoint(PbmMockBus *bus, guint8 address)
{
	bus->report_endpoint = address;
}
