/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gettid(), for SIGEV_THREAD_ID. */
#define _GNU_SOURCE 1

#include "pbm-gadget-ffs.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <linux/usb/ch9.h>
#include <linux/usb/functionfs.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pbm-gadget-errors.h"

/* Reports waiting for the host beyond this are dropped, newest first. */
#define FFS_QUEUE_MAX 32
/* Larger than any request of the protocol (GET_CHANNELS with 8 channels). */
#define FFS_CONTROL_MAX 1024
/* FunctionFS waits for the host to finish a stage of a control transfer
 * without a limit, and meanwhile the main loop, which runs the firmware's
 * watchdog and thermal rules, stands still: a host that hangs half way
 * would keep the light on. A stage is cut off after the shortest watchdog
 * the protocol allows. */
#define FFS_STAGE_TIMEOUT_MS PBM_WATCHDOG_MIN_MS
/* High speed counts bInterval in 2^(n-1) microframes: 7 is 8 ms, the
 * nearest to the 10 ms of full speed. */
#define FFS_HS_INTERVAL 7

/* What the writer thread uses, shared with the main thread by reference
 * count: a writer blocked on a host that never polls outlives the
 * function object. */
typedef struct {
	gint refs;
	int fd;
	GAsyncQueue *queue; /* GBytes; an empty one ends the writer */
} FfsWriter;

struct _PbmGadgetFfs {
	int ep0;
	guint ep0_watch;
	PbmGadgetFfsHandlers handlers;
	gpointer user_data;
	PbmGadgetLink link;
	PbmGadgetFfsFailedFunc failed;
	gpointer failed_data;
	timer_t stage_timer; /* SIGALRM to this thread: cuts a stage off */
	gboolean has_stage_timer;
	FfsWriter *writer;
	GThread *thread;
};

struct PBM_PACKED ffs_function_descs {
	struct usb_interface_descriptor intf;
	struct usb_endpoint_descriptor_no_audio ep;
};

struct PBM_PACKED ffs_descriptors {
	struct usb_functionfs_descs_head_v2 header;
	__le32 fs_count;
	__le32 hs_count;
	struct ffs_function_descs fs;
	struct ffs_function_descs hs;
};

static struct ffs_function_descs
function_descs(guint8 interval)
{
	return (struct ffs_function_descs){
		.intf = { .bLength = sizeof(struct usb_interface_descriptor),
		          .bDescriptorType = USB_DT_INTERFACE,
		          .bInterfaceNumber = PBM_USB_INTERFACE,
		          .bNumEndpoints = 1,
		          .bInterfaceClass = PBM_USB_INTERFACE_CLASS,
		          .iInterface = 1 },
		.ep = { .bLength = sizeof(struct usb_endpoint_descriptor_no_audio),
		        .bDescriptorType = USB_DT_ENDPOINT,
		        .bEndpointAddress = PBM_USB_EP_REPORT,
		        .bmAttributes = USB_ENDPOINT_XFER_INT,
		        .wMaxPacketSize = htole16(PBM_USB_EP_REPORT_MAX_PACKET),
		        .bInterval = interval },
	};
}

static gboolean
write_all(int fd, const void *buf, gsize len, const gchar *what, const gchar *path, GError **error)
{
	ssize_t n = write(fd, buf, len);

	if (n == (ssize_t)len)
		return TRUE;
	g_set_error(error, PBM_GADGET_ERROR, PBM_GADGET_ERROR_USB,
	            "%s: writing the %s: %s; is it a functionfs mount of a function that no "
	            "other program holds?",
	            path, what, n < 0 ? g_strerror(errno) : "short write");
	return FALSE;
}

static gboolean
write_descriptors(PbmGadgetFfs *ffs, const gchar *ep0_path, const gchar *name, GError **error)
{
	struct ffs_descriptors d = {
		.header = { .magic = htole32(FUNCTIONFS_DESCRIPTORS_MAGIC_V2),
		            .length = htole32(sizeof(d)),
		            .flags = htole32(FUNCTIONFS_HAS_FS_DESC | FUNCTIONFS_HAS_HS_DESC) },
		.fs_count = htole32(2),
		.hs_count = htole32(2),
		.fs = function_descs(PBM_USB_EP_REPORT_INTERVAL_MS),
		.hs = function_descs(FFS_HS_INTERVAL),
	};
	struct usb_functionfs_strings_head head = {
		.magic = htole32(FUNCTIONFS_STRINGS_MAGIC),
		.str_count = htole32(1),
		.lang_count = htole32(1),
	};
	guint16 lang = htole16(0x0409); /* en-US */
	g_autoptr(GByteArray) strings = g_byte_array_new();

	head.length = htole32(sizeof(head) + sizeof(lang) + strlen(name) + 1);
	g_byte_array_append(strings, (const guint8 *)&head, sizeof(head));
	g_byte_array_append(strings, (const guint8 *)&lang, sizeof(lang));
	g_byte_array_append(strings, (const guint8 *)name, (guint)strlen(name) + 1);
	return write_all(ffs->ep0, &d, sizeof(d), "descriptors", ep0_path, error) &&
	       write_all(ffs->ep0, strings->data, strings->len, "strings", ep0_path, error);
}

/* ---- the interrupt IN endpoint ---- */

static void
writer_unref(FfsWriter *w)
{
	if (!g_atomic_int_dec_and_test(&w->refs))
		return;
	if (w->fd >= 0)
		close(w->fd);
	g_async_queue_unref(w->queue);
	g_free(w);
}

static gpointer
writer_main(gpointer data)
{
	FfsWriter *w = data;

	for (;;) {
		g_autoptr(GBytes) report = g_async_queue_pop(w->queue);
		gsize len;
		const guint8 *buf = g_bytes_get_data(report, &len);

		if (len == 0)
			break;
		/* ESHUTDOWN: the host went away meanwhile; the report is lost,
		 * as on a real bus. */
		if (write(w->fd, buf, len) < 0 && errno != ESHUTDOWN && errno != EINTR)
			g_debug("interrupt endpoint: %s", g_strerror(errno));
	}
	writer_unref(w);
	return NULL;
}

/* Reports of a connection that ended are stale for the next one. */
static void
flush_reports(PbmGadgetFfs *ffs)
{
	GBytes *old;

	while ((old = g_async_queue_try_pop(ffs->writer->queue)) != NULL)
		g_bytes_unref(old);
}

void
pbm_gadget_ffs_send(PbmGadgetFfs *ffs, const guint8 *report, gsize len)
{
	if (ffs->link != PBM_GADGET_LINK_UP || len == 0)
		return;
	/* A host that does not poll loses the oldest reports first, as the
	 * protocol says, and sees the gap in the sequence numbers. */
	while (g_async_queue_length(ffs->writer->queue) >= FFS_QUEUE_MAX) {
		GBytes *old = g_async_queue_try_pop(ffs->writer->queue);
		if (old == NULL)
			break;
		g_bytes_unref(old);
	}
	g_async_queue_push(ffs->writer->queue, g_bytes_new(report, len));
}

/* ---- ep0 ---- */

static void
set_link(PbmGadgetFfs *ffs, PbmGadgetLink link)
{
	if (ffs->link == link)
		return;
	ffs->link = link;
	flush_reports(ffs);
	ffs->handlers.link_changed(link, ffs->user_data);
}

static void
on_stage_alarm(int signal)
{
	/* Only there to interrupt the stage's system call. */
}

static gboolean
make_stage_timer(PbmGadgetFfs *ffs, GError **error)
{
	struct sigaction action = { .sa_handler = on_stage_alarm }; /* no SA_RESTART */
	struct sigevent event = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGALRM };

	event._sigev_un._tid = gettid(); /* glibc 2.36 has no sigev_notify_thread_id */
	sigemptyset(&action.sa_mask);
	if (sigaction(SIGALRM, &action, NULL) != 0 ||
	    timer_create(CLOCK_MONOTONIC, &event, &ffs->stage_timer) != 0) {
		g_set_error(error, PBM_GADGET_ERROR, PBM_GADGET_ERROR_USB,
		            "the timer that bounds a control transfer: %s", g_strerror(errno));
		return FALSE;
	}
	ffs->has_stage_timer = TRUE;
	return TRUE;
}

static void
arm_stage_timer(PbmGadgetFfs *ffs, guint ms)
{
	struct itimerspec when = { .it_value = { .tv_sec = ms / 1000,
		                                 .tv_nsec = (long)(ms % 1000) * 1000000 } };

	(void)timer_settime(ffs->stage_timer, 0, &when, NULL);
}

/* FunctionFS stalls a request when the function takes ep0 the wrong way:
 * a read for an IN request, a write for an OUT one. It also ends a request
 * whose stage was cut off. */
static void
stall(PbmGadgetFfs *ffs, gboolean in, guint8 request)
{
	if (in)
		(void)!read(ffs->ep0, NULL, 0);
	else
		(void)!write(ffs->ep0, NULL, 0);
	g_debug("ep0: request 0x%02x stalled", request);
}

/* One stage of a control transfer on ep0, bounded in time. EIDRM: the host
 * gave up on the request and sent another, whose event follows. */
static gboolean
ep0_io(PbmGadgetFfs *ffs, gboolean in, gboolean reading, void *buf, gsize len, guint8 request)
{
	ssize_t n;
	gint saved;

	arm_stage_timer(ffs, FFS_STAGE_TIMEOUT_MS);
	n = reading ? read(ffs->ep0, buf, len) : write(ffs->ep0, buf, len);
	saved = errno;
	arm_stage_timer(ffs, 0);
	if (n == (ssize_t)len)
		return TRUE;
	if (n < 0 && saved == EINTR) {
		g_warning("the host did not finish request 0x%02x within %u ms; it is refused",
		          request, (guint)FFS_STAGE_TIMEOUT_MS);
		stall(ffs, in, request);
	} else if (n < 0 && saved == EIDRM) {
		g_debug("ep0: request 0x%02x was cancelled by the host", request);
	} else if (n < 0) {
		g_debug("ep0: request 0x%02x: %s", request, g_strerror(saved));
	} else {
		g_debug("ep0: request 0x%02x: %zd of %zu bytes", request, n, len);
	}
	return FALSE;
}

static void
handle_setup(PbmGadgetFfs *ffs, const struct usb_ctrlrequest *req)
{
	struct pbm_wire_setup setup = { .request_type = req->bRequestType,
		                        .request = req->bRequest,
		                        .value = le16toh(req->wValue),
		                        .index = le16toh(req->wIndex),
		                        .length = le16toh(req->wLength) };
	gboolean in = (setup.request_type & USB_DIR_IN) != 0;
	guint8 data[FFS_CONTROL_MAX] = { 0 };
	gsize actual = 0;

	g_debug("ep0: setup %02x %02x value %u index %u length %u", setup.request_type,
	        setup.request, setup.value, setup.index, setup.length);
	if ((setup.request_type & USB_TYPE_MASK) != USB_TYPE_VENDOR ||
	    setup.length > sizeof(data)) {
		stall(ffs, in, setup.request);
		return;
	}
	if (in) {
		if (ffs->handlers.control(&setup, data, &actual, ffs->user_data))
			(void)ep0_io(ffs, TRUE, FALSE, data, actual, setup.request);
		else
			stall(ffs, TRUE, setup.request);
		return;
	}
	if (setup.length == 0) {
		if (ffs->handlers.control(&setup, data, &actual, ffs->user_data))
			(void)ep0_io(ffs, FALSE, TRUE, NULL, 0, setup.request); /* status */
		else
			stall(ffs, FALSE, setup.request);
		return;
	}
	/* The kernel has acknowledged the data stage already; a refusal is
	 * only visible through GET_RESULT (protocol 1.1). */
	if (!ep0_io(ffs, FALSE, TRUE, data, setup.length, setup.request))
		return;
	(void)ffs->handlers.control(&setup, data, &actual, ffs->user_data);
}

static void
handle_event(PbmGadgetFfs *ffs, const struct usb_functionfs_event *ev)
{
	switch (ev->type) {
	case FUNCTIONFS_ENABLE:
		set_link(ffs, PBM_GADGET_LINK_UP);
		break;
	case FUNCTIONFS_RESUME:
		/* Resumed to where it was suspended from: only a configured
		 * function gets suspended. */
		if (ffs->link == PBM_GADGET_LINK_SUSPENDED)
			set_link(ffs, PBM_GADGET_LINK_UP);
		break;
	case FUNCTIONFS_SUSPEND:
		if (ffs->link == PBM_GADGET_LINK_UP)
			set_link(ffs, PBM_GADGET_LINK_SUSPENDED);
		break;
	case FUNCTIONFS_DISABLE:
	case FUNCTIONFS_UNBIND:
	case FUNCTIONFS_BIND:
		set_link(ffs, PBM_GADGET_LINK_DOWN);
		break;
	case FUNCTIONFS_SETUP:
		handle_setup(ffs, &ev->u.setup);
		break;
	default:
		break;
	}
}

static gboolean
on_ep0(gint fd, GIOCondition condition, gpointer user_data)
{
	PbmGadgetFfs *ffs = user_data;
	struct usb_functionfs_event events[4];
	ssize_t n = read(fd, events, sizeof(events));

	/* EIDRM: the request under way was cancelled (ep0_io()). */
	if (n < 0 && (errno == EAGAIN || errno == EINTR || errno == EIDRM))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		g_autoptr(GError) error = g_error_new(PBM_GADGET_ERROR, PBM_GADGET_ERROR_USB,
		                                      "ep0: %s; the USB function is gone",
		                                      n < 0 ? g_strerror(errno) : "end of file");
		ffs->ep0_watch = 0;
		set_link(ffs, PBM_GADGET_LINK_DOWN);
		if (ffs->failed != NULL)
			ffs->failed(error, ffs->failed_data);
		return G_SOURCE_REMOVE;
	}
	for (gsize i = 0; i < (gsize)n / sizeof(events[0]); i++) {
		g_debug("ep0: event %u", events[i].type);
		handle_event(ffs, &events[i]);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean
open_file(const gchar *dir, const gchar *name, int *fd, GError **error)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);

	*fd = open(path, O_RDWR | O_CLOEXEC);
	if (*fd >= 0)
		return TRUE;
	g_set_error(error, PBM_GADGET_ERROR, PBM_GADGET_ERROR_USB,
	            "%s: %s; is functionfs mounted there?", path, g_strerror(errno));
	return FALSE;
}

PbmGadgetFfs *
pbm_gadget_ffs_new(const gchar *mount_dir, const gchar *interface_name,
                   const PbmGadgetFfsHandlers *handlers, gpointer user_data, GError **error)
{
	g_autoptr(PbmGadgetFfs) ffs = g_new0(PbmGadgetFfs, 1);
	g_autofree gchar *ep0_path = g_build_filename(mount_dir, "ep0", NULL);

	ffs->ep0 = -1;
	ffs->handlers = *handlers;
	ffs->user_data = user_data;
	ffs->link = PBM_GADGET_LINK_DOWN;
	ffs->writer = g_new0(FfsWriter, 1);
	ffs->writer->refs = 1;
	ffs->writer->fd = -1;
	ffs->writer->queue = g_async_queue_new_full((GDestroyNotify)g_bytes_unref);
	if (!make_stage_timer(ffs, error) || !open_file(mount_dir, "ep0", &ffs->ep0, error) ||
	    !write_descriptors(ffs, ep0_path, interface_name, error) ||
	    /* ep1 exists once the descriptors are in. */
	    !open_file(mount_dir, "ep1", &ffs->writer->fd, error))
		return NULL;
	g_atomic_int_inc(&ffs->writer->refs);
	ffs->thread = g_thread_new("pbm-ffs-in", writer_main, ffs->writer);
	ffs->ep0_watch = g_unix_fd_add(ffs->ep0, G_IO_IN, on_ep0, ffs);
	return g_steal_pointer(&ffs);
}

void
pbm_gadget_ffs_set_failed_func(PbmGadgetFfs *ffs, PbmGadgetFfsFailedFunc func, gpointer user_data)
{
	ffs->failed = func;
	ffs->failed_data = user_data;
}

static void
stop_writer(PbmGadgetFfs *ffs)
{
	if (ffs->thread == NULL)
		return;
	flush_reports(ffs);
	g_async_queue_push_front(ffs->writer->queue, g_bytes_new(NULL, 0));
	/* Never joined: a write the host never collects would block a join
	 * for ever. The thread keeps its share of the writer, and ends at the
	 * empty report or with the process. */
	g_thread_unref(ffs->thread);
	ffs->thread = NULL;
}

void
pbm_gadget_ffs_free(PbmGadgetFfs *ffs)
{
	if (ffs == NULL)
		return;
	if (ffs->ep0_watch != 0)
		g_source_remove(ffs->ep0_watch);
	stop_writer(ffs);
	if (ffs->writer != NULL)
		writer_unref(ffs->writer);
	if (ffs->ep0 >= 0)
		close(ffs->ep0);
	if (ffs->has_stage_timer)
		timer_delete(ffs->stage_timer);
	g_free(ffs);
}
