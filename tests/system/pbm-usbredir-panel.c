/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbm-usbredir-panel: a pbmd panel on a QEMU guest's real USB bus.
 *
 * QEMU runs with
 *   -device qemu-xhci,id=xhci
 *   -chardev socket,id=redir,path=REDIR_SOCK,server=on,wait=off
 *   -device usb-redir,chardev=redir,bus=xhci.0
 * and this program plays the device on REDIR_SOCK with libusbredirparser:
 * 1209:7062, full speed, vendor interface 0 (class 0xff) with interrupt IN
 * endpoint 0x81 (64 bytes, 10 ms), strings "pbmd" / the model / the serial.
 * Chapter 9 requests are answered here, vendor requests by the firmware
 * model of src/sim running on the real monotonic clock, so the guest kernel
 * enumerates it and pbmd's libusb code talks to it as to the hardware.
 *
 * Command line:
 *   pbm-usbredir-panel --redir REDIR_SOCK --control CONTROL_SOCK --log LOG_FILE
 *                      [--serial SERIAL] [--plugged]
 *   --redir    QEMU's usb-redir chardev socket (QEMU listens). Connecting is
 *              a plug, closing an unplug.
 *   --control  unix stream socket this program listens on (a stale file is
 *              removed first, the socket is removed at exit).
 *   --log      the event log, appended to.
 *   --serial   the panel's serial number (default SYS-0001).
 *   --plugged  plug at start, retrying for up to 30 s while QEMU is not
 *              listening yet; exit 1 if it never does.
 *
 * Control: any number of clients, concurrently. Each line is one command and
 * gets exactly one reply line, "ok ..." or "error MESSAGE":
 *   plug                  connect to QEMU (error if plugged)
 *   unplug                close the connection (error if not plugged)
 *   replug                unplug, plug again 1 s later; replies once plugged
 *   stall-next [REQUEST]  STALL the next vendor request, or the next one
 *                         named REQUEST (get-info, get-channels, get-status,
 *                         set-output, all-off, heartbeat, clear-fault,
 *                         identify), without passing it to the model. Each
 *                         command arms one STALL.
 *   button                press the panel's stop button
 *   ambient CELSIUS       set the ambient temperature (the board follows it)
 *   fan-stall 0|1         stop or restart the fan
 *   state                 "ok plugged=0|1 lit=0|1 levels=L1,L2 temp=C changed=T
 *                         now=T requests=N": levels as last commanded, changed
 *                         = when the commanded output last changed, requests
 *                         = vendor requests received so far
 *   mark TEXT             writes "mark TEXT" into the log
 *   quit                  unplug, close the log, exit 0 (also on SIGTERM, SIGINT)
 *
 * The panel keeps running while unplugged (a self-powered panel whose cable
 * was pulled): its watchdog switches the light off. Reports the host does not
 * receive wait, at most PBM_SIM_REPORT_QUEUE_MAX, the oldest dropped first.
 *
 * Log: one line per event, flushed at once. Each starts with the time in
 * seconds since this program started (CLOCK_MONOTONIC, "%.6f"): the model's
 * clock too, so "changed" and "now" in state replies are on the same clock.
 *   plug | unplug                the cable
 *   attached                     QEMU said hello on the connection
 *   reset                        the host reset the device
 *   set-configuration N
 *   interrupt-start | interrupt-stop   the host started/stopped polling 0x81
 *   request NAME value=V length=L ok|stall[: WHY]   every vendor request;
 *                                NAME is 0xNN for an unknown one, WHY the
 *                                model's reason or "forced by stall-next"
 *   control TYPE REQ value=V index=I length=L stall: WHY   a standard or
 *                                class request the device STALLed (those
 *                                answered are not logged)
 *   light on levels=L1,L2 | light levels=L1,L2 | light off   the commanded
 *                                output changed, stamped when the model
 *                                changed it (a watchdog expiry included)
 *   event NAMES                  a report carries event bits (reset, button,
 *                                fault, watchdog-expired, session-cap,
 *                                derate-start, derate-end), stamped when the
 *                                model queued it (ms precision)
 *   temperature C                board temperature: at start, then at most
 *                                every 5 s while it moved by 0.5 C or more
 *   mark TEXT
 *   error MESSAGE                anything that went wrong
 */
#define _GNU_SOURCE

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <linux/usb/ch9.h>
#include <usbredirfilter.h>
#include <usbredirparser.h>

#include "pbm-sim.h"

#define DEFAULT_SERIAL "SYS-0001"
#define PLUG_RETRY_MS 100
#define PLUG_TIMEOUT_US (30 * G_USEC_PER_SEC)
#define REPLUG_DELAY_MS 1000
#define TEMP_LOG_STEP_C 0.5
#define TEMP_LOG_PERIOD_US (5 * G_USEC_PER_SEC)

#define STRING_MANUFACTURER 1
#define STRING_PRODUCT 2
#define STRING_SERIAL 3
#define MANUFACTURER "pbmd"
#define LANGID_EN_US 0x0409
#define EP0_MAX_PACKET 64
#define DEVICE_BCD 0x0100
#define CONFIGURATION_VALUE 1
#define CONFIG_TOTAL_LENGTH (USB_DT_CONFIG_SIZE + USB_DT_INTERFACE_SIZE + USB_DT_ENDPOINT_SIZE)

/* usbredir numbers endpoints 0..31: OUT 0-15, IN 16-31. */
#define EP_INDEX(address) ((((address)&USB_DIR_IN) >> 3) | ((address)&0x0f))

static const struct usb_device_descriptor device_descriptor = {
	.bLength = USB_DT_DEVICE_SIZE,
	.bDescriptorType = USB_DT_DEVICE,
	.bcdUSB = GUINT16_TO_LE(0x0200),
	.bDeviceClass = USB_CLASS_PER_INTERFACE,
	.bMaxPacketSize0 = EP0_MAX_PACKET,
	.idVendor = GUINT16_TO_LE(PBM_USB_VID),
	.idProduct = GUINT16_TO_LE(PBM_USB_PID),
	.bcdDevice = GUINT16_TO_LE(DEVICE_BCD),
	.iManufacturer = STRING_MANUFACTURER,
	.iProduct = STRING_PRODUCT,
	.iSerialNumber = STRING_SERIAL,
	.bNumConfigurations = 1,
};

static const guint8 config_descriptor[] = {
	/* configuration 1: one interface, self-powered, 100 mA */
	USB_DT_CONFIG_SIZE, USB_DT_CONFIG, CONFIG_TOTAL_LENGTH, 0, 1, CONFIGURATION_VALUE, 0,
	USB_CONFIG_ATT_ONE | USB_CONFIG_ATT_SELFPOWER, 50,
	/* interface 0: vendor class, one endpoint */
	USB_DT_INTERFACE_SIZE, USB_DT_INTERFACE, PBM_USB_INTERFACE, 0, 1, PBM_USB_INTERFACE_CLASS,
	0, 0, 0,
	/* interrupt IN 0x81: 64 bytes every 10 ms (full speed: bInterval in ms) */
	USB_DT_ENDPOINT_SIZE, USB_DT_ENDPOINT, PBM_USB_EP_REPORT, USB_ENDPOINT_XFER_INT,
	PBM_USB_EP_REPORT_MAX_PACKET, 0, PBM_USB_EP_REPORT_INTERVAL_MS
};
G_STATIC_ASSERT(sizeof(config_descriptor) == CONFIG_TOTAL_LENGTH);

/* The vendor requests stall-next can name. */
static const guint8 known_requests[] = {
	PBM_REQ_GET_INFO, PBM_REQ_GET_CHANNELS, PBM_REQ_GET_STATUS,  PBM_REQ_SET_OUTPUT,
	PBM_REQ_ALL_OFF,  PBM_REQ_HEARTBEAT,    PBM_REQ_CLEAR_FAULT, PBM_REQ_IDENTIFY,
};
#define STALL_ANY (-1)

typedef struct _Panel Panel;
typedef struct _Link Link;
typedef struct _Client Client;

/* One connection to QEMU: the cable while it is plugged. */
struct _Link {
	Panel *panel;
	int fd;
	struct usbredirparser *parser;
	GSource *watch;
	gpointer watch_tag;
	gchar *error; /* why the connection broke; the watch then unplugs */
	guint8 configuration;
	gboolean interrupt_receiving;
	guint64 next_packet_id;
};

struct _Panel {
	gchar *redir_path;
	gchar *control_path;
	GMainLoop *loop;
	int exit_status;

	gint64 t0; /* CLOCK_MONOTONIC usec at start: 0 on the log's and the model's clock */
	FILE *log;

	PbmSim *sim;
	GSource *model_timer;
	GQueue reports; /* reports the host has not received yet, oldest first */
	guint64 output_changes;
	guint16 levels[PBM_MAX_CHANNELS]; /* the commanded output, as last logged */
	gdouble temp_logged;
	guint64 temp_logged_at;
	guint64 requests;
	GArray *forced_stalls; /* gint: a bRequest or STALL_ANY, oldest first */

	Link *link; /* NULL while unplugged */
	guint plug_retry_id;
	gint64 plug_deadline;
	guint replug_id;
	GQueue replug_waiters; /* Client * waiting for the end of a replug */

	GSocketService *control;
	GCancellable *cancellable;
	GList *clients;
};

struct _Client {
	Panel *panel;
	GSocketConnection *connection;
	GDataInputStream *input;
};

/* ======================== the log ======================== */

static guint64
panel_now(Panel *panel)
{
	return (guint64)MAX(g_get_monotonic_time() - panel->t0, 0);
}

/* "%.6f" of a time on the log's clock, without a trip through a double. */
static gchar *
format_time(guint64 usec)
{
	return g_strdup_printf("%" G_GUINT64_FORMAT ".%06u", usec / G_USEC_PER_SEC,
	                       (guint)(usec % G_USEC_PER_SEC));
}

static void panel_log_at(Panel *panel, guint64 usec, const gchar *format, ...) G_GNUC_PRINTF(3, 4);

/* The test reads the log while this program runs: every line is flushed. */
static void
panel_log_at(Panel *panel, guint64 usec, const gchar *format, ...)
{
	g_autofree gchar *stamp = format_time(usec);
	g_autofree gchar *text = NULL;
	va_list args;

	va_start(args, format);
	text = g_strdup_vprintf(format, args);
	va_end(args);
	fprintf(panel->log, "%s %s\n", stamp, text);
	fflush(panel->log);
}

#define panel_log(panel, ...) panel_log_at((panel), panel_now(panel), __VA_ARGS__)

static gchar *
format_levels(const guint16 *levels, guint count)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < count; i++)
		g_string_append_printf(s, "%s%u", i > 0 ? "," : "", (guint)levels[i]);
	return g_string_free(s, FALSE);
}

/* ======================== the model and its clock ======================== */

static void
panel_sync(Panel *panel)
{
	guint64 now = panel_now(panel);
	guint64 sim_now = pbm_sim_now(panel->sim);

	if (now > sim_now)
		pbm_sim_advance(panel->sim, now - sim_now);
}

static guint
panel_channel_count(Panel *panel)
{
	return pbm_sim_get_info(panel->sim)->channel_count;
}

static gboolean
levels_lit(const guint16 *levels)
{
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++) {
		if (levels[i] > 0)
			return TRUE;
	}
	return FALSE;
}

/* commanded: the levels of a SET_OUTPUT the model just accepted, or NULL.
 * The model only ever switches the light off by itself, so a change that no
 * accepted SET_OUTPUT explains leaves every level at zero. */
static void
panel_check_output(Panel *panel, const guint16 *commanded)
{
	guint16 levels[PBM_MAX_CHANNELS] = { 0 };
	g_autofree gchar *text = NULL;
	guint64 changed_at;
	guint64 changes = pbm_sim_get_output_changes(panel->sim, &changed_at);
	gboolean was_lit = levels_lit(panel->levels);

	if (changes == panel->output_changes)
		return;
	panel->output_changes = changes;
	if (commanded != NULL && pbm_sim_is_lit(panel->sim))
		memcpy(levels, commanded, sizeof(levels));
	memcpy(panel->levels, levels, sizeof(levels));
	text = format_levels(levels, panel_channel_count(panel));
	if (!was_lit && levels_lit(levels))
		panel_log_at(panel, changed_at, "light on levels=%s", text);
	else if (was_lit && !levels_lit(levels))
		panel_log_at(panel, changed_at, "light off");
	else if (was_lit)
		panel_log_at(panel, changed_at, "light levels=%s", text);
}

static void
panel_check_temperature(Panel *panel)
{
	gdouble t = pbm_sim_get_temperature(panel->sim);
	guint64 now = pbm_sim_now(panel->sim);

	if (fabs(t - panel->temp_logged) < TEMP_LOG_STEP_C ||
	    now - panel->temp_logged_at < TEMP_LOG_PERIOD_US)
		return;
	panel->temp_logged = t;
	panel->temp_logged_at = now;
	panel_log_at(panel, now, "temperature %.1f", t);
}

/* Stamped with the report's uptime: when the model queued it. */
static void
panel_log_events(Panel *panel, const guint8 *buf)
{
	g_autofree gchar *names = NULL;
	guint64 now_ms = pbm_sim_now(panel->sim) / 1000;
	PbmReport report;

	if (!pbm_report_decode(buf, sizeof(struct pbm_wire_report), &report, NULL) ||
	    report.events == 0)
		return;
	names = pbm_events_describe(report.events);
	now_ms -= (guint32)((guint32)now_ms - report.status.uptime_ms);
	panel_log_at(panel, now_ms * 1000, "event %s", names);
}

/* Takes every report off the model at once, so that its next deadline is a
 * real one; the queue here drops the oldest as the firmware's does. */
static void
panel_collect_reports(Panel *panel)
{
	guint8 buf[sizeof(struct pbm_wire_report)];

	while (pbm_sim_pop_report(panel->sim, buf)) {
		panel_log_events(panel, buf);
		g_queue_push_tail(&panel->reports, g_memdup2(buf, sizeof(buf)));
		if (panel->reports.length > PBM_SIM_REPORT_QUEUE_MAX)
			g_free(g_queue_pop_head(&panel->reports));
	}
}

static void
panel_reschedule(Panel *panel)
{
	guint64 deadline = pbm_sim_next_deadline(panel->sim);

	if (deadline >= (guint64)(G_MAXINT64 - panel->t0))
		g_source_set_ready_time(panel->model_timer, -1);
	else
		g_source_set_ready_time(panel->model_timer, panel->t0 + (gint64)deadline);
}

static void link_deliver_reports(Link *link);

/* What follows every step of the model: log what changed, hand the reports
 * to the host, sleep until the model's next deadline. */
static void
panel_observe(Panel *panel, const guint16 *commanded)
{
	panel_collect_reports(panel);
	panel_check_output(panel, commanded);
	panel_check_temperature(panel);
	if (panel->link != NULL)
		link_deliver_reports(panel->link);
	panel_reschedule(panel);
}

static gboolean
on_model_timer(gpointer data)
{
	Panel *panel = data;

	panel_sync(panel);
	panel_observe(panel, NULL);
	return G_SOURCE_CONTINUE;
}

/* A source that only calls its callback: its ready time or its fds say when. */
static gboolean
plain_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	return callback(user_data);
}

static GSourceFuncs plain_source_funcs = {
	.dispatch = plain_dispatch,
};

static gboolean
panel_start_model(Panel *panel, const gchar *serial, GError **error)
{
	PbmSimConfig config;

	pbm_sim_config_init(&config, serial);
	panel->sim = pbm_sim_new(&config, error);
	if (panel->sim == NULL)
		return FALSE;
	panel->model_timer = g_source_new(&plain_source_funcs, sizeof(GSource));
	g_source_set_name(panel->model_timer, "pbm-usbredir-panel model");
	g_source_set_callback(panel->model_timer, on_model_timer, panel, NULL);
	g_source_attach(panel->model_timer, NULL);
	panel->temp_logged = pbm_sim_get_temperature(panel->sim);
	panel_log_at(panel, 0, "temperature %.1f", panel->temp_logged);
	panel_observe(panel, NULL);
	return TRUE;
}

/* ======================== chapter 9 ======================== */

static gboolean stall(GError **error, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
stall(GError **error, const gchar *format, ...)
{
	va_list args;

	va_start(args, format);
	g_propagate_error(error,
	                  g_error_new_valist(PBM_SIM_ERROR, PBM_SIM_ERROR_STALL, format, args));
	va_end(args);
	return FALSE;
}

static gsize
string_descriptor(guint8 *out, const gchar *ascii)
{
	gsize n = 2;

	for (const gchar *c = ascii; *c != '\0' && n + 2 <= 255; c++) {
		out[n++] = (guint8)*c;
		out[n++] = 0;
	}
	out[0] = (guint8)n;
	out[1] = USB_DT_STRING;
	return n;
}

/* out has room for 255 bytes, the largest descriptor. */
static gboolean
get_descriptor(Panel *panel, guint16 value, guint8 *out, gsize *len, GError **error)
{
	const PbmInfo *info = pbm_sim_get_info(panel->sim);
	guint8 index = value & 0xff;

	switch (value >> 8) {
	case USB_DT_DEVICE:
		memcpy(out, &device_descriptor, sizeof(device_descriptor));
		*len = sizeof(device_descriptor);
		return TRUE;
	case USB_DT_CONFIG:
		if (index != 0)
			return stall(error, "no configuration descriptor %u", (guint)index);
		memcpy(out, config_descriptor, sizeof(config_descriptor));
		*len = sizeof(config_descriptor);
		return TRUE;
	case USB_DT_STRING:
		break;
	default:
		/* DEVICE_QUALIFIER included: a full-speed-only device has none. */
		return stall(error, "no descriptor of type 0x%02x", (guint)(value >> 8));
	}
	switch (index) {
	case 0:
		out[0] = 4;
		out[1] = USB_DT_STRING;
		out[2] = LANGID_EN_US & 0xff;
		out[3] = LANGID_EN_US >> 8;
		*len = 4;
		return TRUE;
	case STRING_MANUFACTURER:
		*len = string_descriptor(out, MANUFACTURER);
		return TRUE;
	case STRING_PRODUCT:
		*len = string_descriptor(out, info->model);
		return TRUE;
	case STRING_SERIAL:
		*len = string_descriptor(out, info->serial);
		return TRUE;
	default:
		return stall(error, "no string descriptor %u", (guint)index);
	}
}

static gboolean
endpoint_exists(guint16 index)
{
	guint8 address = index & 0xff;

	return address == 0x00 || address == USB_DIR_IN || address == PBM_USB_EP_REPORT;
}

static gboolean
get_status(Link *link, const struct usb_redir_control_packet_header *h, guint8 *out, gsize *len,
           GError **error)
{
	out[0] = 0;
	out[1] = 0;
	*len = 2;
	switch (h->requesttype & USB_RECIP_MASK) {
	case USB_RECIP_DEVICE:
		out[0] = 1 << USB_DEVICE_SELF_POWERED;
		return TRUE;
	case USB_RECIP_INTERFACE:
		if (link->configuration == 0 || h->index != PBM_USB_INTERFACE)
			return stall(error, "no interface %u", (guint)h->index);
		return TRUE;
	case USB_RECIP_ENDPOINT:
		if (!endpoint_exists(h->index))
			return stall(error, "no endpoint 0x%02x", (guint)(h->index & 0xff));
		return TRUE; /* never halted */
	default:
		return stall(error, "GET_STATUS for recipient %u",
		             (guint)(h->requesttype & USB_RECIP_MASK));
	}
}

/* Device-to-host standard requests. QEMU answers SET_ADDRESS itself and turns
 * SET/GET_CONFIGURATION and SET/GET_INTERFACE into usbredir packets, but a
 * device answers them on EP0 too. */
static gboolean
standard_in(Link *link, const struct usb_redir_control_packet_header *h, guint8 *out, gsize *len,
            GError **error)
{
	switch (h->request) {
	case USB_REQ_GET_DESCRIPTOR:
		if ((h->requesttype & USB_RECIP_MASK) != USB_RECIP_DEVICE)
			return stall(error, "no class descriptors");
		return get_descriptor(link->panel, h->value, out, len, error);
	case USB_REQ_GET_STATUS:
		return get_status(link, h, out, len, error);
	case USB_REQ_GET_CONFIGURATION:
		out[0] = link->configuration;
		*len = 1;
		return TRUE;
	case USB_REQ_GET_INTERFACE:
		if (link->configuration == 0 || h->index != PBM_USB_INTERFACE)
			return stall(error, "no interface %u", (guint)h->index);
		out[0] = 0;
		*len = 1;
		return TRUE;
	default:
		return stall(error, "unsupported standard IN request");
	}
}

/* Host-to-device standard requests: only what this device supports. */
static gboolean
standard_out(Link *link, const struct usb_redir_control_packet_header *h, GError **error)
{
	gboolean endpoint = (h->requesttype & USB_RECIP_MASK) == USB_RECIP_ENDPOINT;

	switch (h->request) {
	case USB_REQ_CLEAR_FEATURE:
		/* Halt is the only feature, and 0x81 never halts. */
		if (!endpoint || h->value != USB_ENDPOINT_HALT || !endpoint_exists(h->index))
			return stall(error, "unsupported feature %u", (guint)h->value);
		return TRUE;
	case USB_REQ_SET_CONFIGURATION:
		if (h->value > CONFIGURATION_VALUE)
			return stall(error, "no configuration %u", (guint)h->value);
		link->configuration = (guint8)h->value;
		return TRUE;
	case USB_REQ_SET_INTERFACE:
		if (link->configuration == 0 || h->index != PBM_USB_INTERFACE || h->value != 0)
			return stall(error, "no alternate setting %u of interface %u",
			             (guint)h->value, (guint)h->index);
		return TRUE;
	default:
		return stall(error, "unsupported standard OUT request");
	}
}

/* ======================== vendor requests: the model ======================== */

static const gchar *
request_name(guint8 request, gchar buf[8])
{
	const gchar *name = pbm_request_to_string(request);

	if (g_strcmp0(name, "unknown") != 0)
		return name;
	g_snprintf(buf, 8, "0x%02x", (guint)request);
	return buf;
}

/* Takes the first armed stall-next that matches, if any. */
static gboolean
panel_take_forced_stall(Panel *panel, guint8 request)
{
	for (guint i = 0; i < panel->forced_stalls->len; i++) {
		gint wanted = g_array_index(panel->forced_stalls, gint, i);

		if (wanted == STALL_ANY || wanted == request) {
			g_array_remove_index(panel->forced_stalls, i);
			return TRUE;
		}
	}
	return FALSE;
}

/* in: room for the IN reply (h->length bytes) or the OUT data. On success
 * *actual is what the model returned or took; commanded gets the levels of
 * an accepted SET_OUTPUT. */
static gboolean
panel_vendor_request(Panel *panel, const struct usb_redir_control_packet_header *h, guint8 *data,
                     gsize *actual, guint16 *commanded, gboolean *set_output, GError **error)
{
	const struct pbm_wire_setup setup = {
		.request_type = h->requesttype,
		.request = h->request,
		.value = h->value,
		.index = h->index,
		.length = h->length,
	};
	PbmOutput output;

	if (panel_take_forced_stall(panel, h->request))
		return stall(error, "forced by stall-next");
	if (!pbm_sim_control(panel->sim, &setup, data, actual, error))
		return FALSE;
	*set_output =
	        h->requesttype == PBM_REQTYPE_OUT && h->request == PBM_REQ_SET_OUTPUT &&
	        pbm_output_decode_check(data, h->length, NULL, 0, &output, NULL) == PBM_RESULT_OK;
	if (*set_output)
		memcpy(commanded, output.level, sizeof(output.level));
	return TRUE;
}

/* ======================== the usbredir connection ======================== */

static int
link_read(void *priv, uint8_t *data, int count)
{
	Link *link = priv;
	ssize_t n = recv(link->fd, data, (size_t)count, 0);

	if (n > 0)
		return (int)n;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (link->error == NULL)
		link->error = n == 0 ? g_strdup("QEMU closed the connection")
		                     : g_strdup_printf("read: %s", g_strerror(errno));
	return -1;
}

static int
link_write(void *priv, uint8_t *data, int count)
{
	Link *link = priv;
	ssize_t n = send(link->fd, data, (size_t)count, MSG_NOSIGNAL);

	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	if (link->error == NULL)
		link->error = g_strdup_printf("write: %s", g_strerror(errno));
	return -1;
}

static void
link_on_parser_log(void *priv, int level, const char *msg)
{
	Link *link = priv;

	if (level <= usbredirparser_warning)
		panel_log(link->panel, "error usbredir: %s", msg);
	else
		g_debug("usbredir: %s", msg);
}

/* Writes what the parser queued; G_IO_OUT is watched only while some is left. */
static void
link_flush(Link *link)
{
	GIOCondition condition = G_IO_IN | G_IO_HUP | G_IO_ERR;

	if (link->error == NULL && usbredirparser_has_data_to_write(link->parser) > 0)
		usbredirparser_do_write(link->parser);
	if (link->error == NULL && usbredirparser_has_data_to_write(link->parser) > 0)
		condition |= G_IO_OUT;
	g_source_modify_unix_fd(link->watch, link->watch_tag, condition);
}

static void
link_send_report(Link *link, guint8 *report)
{
	struct usb_redir_interrupt_packet_header h = {
		.endpoint = PBM_USB_EP_REPORT,
		.status = usb_redir_success,
		.length = sizeof(struct pbm_wire_report),
	};

	usbredirparser_send_interrupt_packet(link->parser, link->next_packet_id++, &h, report,
	                                     h.length);
}

static void
link_deliver_reports(Link *link)
{
	Panel *panel = link->panel;
	guint8 *report;

	if (!link->interrupt_receiving)
		return;
	while ((report = g_queue_pop_head(&panel->reports)) != NULL) {
		link_send_report(link, report);
		g_free(report);
	}
	link_flush(link);
}

/* What a device says when it appears: its interface and endpoints, then the
 * device itself. QEMU checks them against the xhci port before attaching. */
static void
link_announce(Link *link)
{
	struct usb_redir_interface_info_header interfaces = { .interface_count = 1 };
	struct usb_redir_ep_info_header endpoints;
	struct usb_redir_device_connect_header device = {
		.speed = usb_redir_speed_full,
		.device_class = device_descriptor.bDeviceClass,
		.device_subclass = device_descriptor.bDeviceSubClass,
		.device_protocol = device_descriptor.bDeviceProtocol,
		.vendor_id = PBM_USB_VID,
		.product_id = PBM_USB_PID,
		.device_version_bcd = DEVICE_BCD,
	};
	guint report = EP_INDEX(PBM_USB_EP_REPORT);

	interfaces.interface[0] = PBM_USB_INTERFACE;
	interfaces.interface_class[0] = PBM_USB_INTERFACE_CLASS;

	memset(&endpoints, 0, sizeof(endpoints));
	memset(endpoints.type, usb_redir_type_invalid, sizeof(endpoints.type));
	endpoints.type[EP_INDEX(0x00)] = usb_redir_type_control;
	endpoints.type[EP_INDEX(USB_DIR_IN)] = usb_redir_type_control;
	endpoints.max_packet_size[EP_INDEX(0x00)] = EP0_MAX_PACKET;
	endpoints.max_packet_size[EP_INDEX(USB_DIR_IN)] = EP0_MAX_PACKET;
	endpoints.type[report] = usb_redir_type_interrupt;
	endpoints.interval[report] = PBM_USB_EP_REPORT_INTERVAL_MS;
	endpoints.interface[report] = PBM_USB_INTERFACE;
	endpoints.max_packet_size[report] = PBM_USB_EP_REPORT_MAX_PACKET;

	usbredirparser_send_interface_info(link->parser, &interfaces);
	usbredirparser_send_ep_info(link->parser, &endpoints);
	usbredirparser_send_device_connect(link->parser, &device);
}

static void
link_on_hello(void *priv, struct usb_redir_hello_header *hello)
{
	Link *link = priv;

	panel_log(link->panel, "attached");
	link_announce(link);
}

static void
link_on_reset(void *priv)
{
	Link *link = priv;

	/* A bus reset unconfigures the device; the firmware keeps running. */
	link->configuration = 0;
	panel_log(link->panel, "reset");
}

static void
link_on_set_configuration(void *priv, uint64_t id, struct usb_redir_set_configuration_header *set)
{
	Link *link = priv;
	struct usb_redir_configuration_status_header status = { .status = usb_redir_success };

	panel_log(link->panel, "set-configuration %u", (guint)set->configuration);
	if (set->configuration <= CONFIGURATION_VALUE)
		link->configuration = set->configuration;
	else
		status.status = usb_redir_stall;
	status.configuration = link->configuration;
	usbredirparser_send_configuration_status(link->parser, id, &status);
}

static void
link_on_get_configuration(void *priv, uint64_t id)
{
	Link *link = priv;
	struct usb_redir_configuration_status_header status = {
		.status = usb_redir_success,
		.configuration = link->configuration,
	};

	usbredirparser_send_configuration_status(link->parser, id, &status);
}

static void
link_on_set_alt_setting(void *priv, uint64_t id, struct usb_redir_set_alt_setting_header *set)
{
	Link *link = priv;
	struct usb_redir_alt_setting_status_header status = {
		.status = usb_redir_success,
		.interface = set->interface,
		.alt = set->alt,
	};

	if (link->configuration == 0 || set->interface != PBM_USB_INTERFACE || set->alt != 0)
		status.status = usb_redir_stall;
	usbredirparser_send_alt_setting_status(link->parser, id, &status);
}

static void
link_on_get_alt_setting(void *priv, uint64_t id, struct usb_redir_get_alt_setting_header *get)
{
	Link *link = priv;
	struct usb_redir_alt_setting_status_header status = {
		.status = usb_redir_success,
		.interface = get->interface,
		.alt = 0,
	};

	if (link->configuration == 0 || get->interface != PBM_USB_INTERFACE) {
		status.status = usb_redir_stall;
		status.alt = 0xff;
	}
	usbredirparser_send_alt_setting_status(link->parser, id, &status);
}

static void
link_on_start_interrupt(void *priv, uint64_t id,
                        struct usb_redir_start_interrupt_receiving_header *start)
{
	Link *link = priv;
	struct usb_redir_interrupt_receiving_status_header status = {
		.status = usb_redir_success,
		.endpoint = start->endpoint,
	};

	if (start->endpoint != PBM_USB_EP_REPORT) {
		status.status = usb_redir_inval;
		usbredirparser_send_interrupt_receiving_status(link->parser, id, &status);
		return;
	}
	panel_log(link->panel, "interrupt-start");
	link->interrupt_receiving = TRUE;
	usbredirparser_send_interrupt_receiving_status(link->parser, id, &status);
	link_deliver_reports(link);
}

static void
link_on_stop_interrupt(void *priv, uint64_t id,
                       struct usb_redir_stop_interrupt_receiving_header *stop)
{
	Link *link = priv;
	struct usb_redir_interrupt_receiving_status_header status = {
		.status = usb_redir_success,
		.endpoint = stop->endpoint,
	};

	if (stop->endpoint == PBM_USB_EP_REPORT) {
		panel_log(link->panel, "interrupt-stop");
		link->interrupt_receiving = FALSE;
	} else {
		status.status = usb_redir_inval;
	}
	usbredirparser_send_interrupt_receiving_status(link->parser, id, &status);
}

static void
link_complete_control(Link *link, uint64_t id,
                      const struct usb_redir_control_packet_header *request, gboolean ok,
                      guint8 *in_data, gsize actual)
{
	struct usb_redir_control_packet_header h = *request;
	gboolean in = (h.requesttype & USB_DIR_IN) != 0;

	h.status = ok ? usb_redir_success : usb_redir_stall;
	h.length = ok ? (uint16_t)actual : 0;
	usbredirparser_send_control_packet(link->parser, id, &h,
	                                   in && h.length > 0 ? in_data : NULL, in ? h.length : 0);
}

static void
link_vendor_control(Link *link, uint64_t id, const struct usb_redir_control_packet_header *h,
                    guint8 *out_data)
{
	Panel *panel = link->panel;
	gboolean in = (h->requesttype & USB_DIR_IN) != 0;
	g_autofree guint8 *buf = g_malloc0(MAX(h->length, 1));
	g_autoptr(GError) error = NULL;
	guint16 commanded[PBM_MAX_CHANNELS];
	gboolean set_output = FALSE;
	gsize actual = 0;
	gchar name_buf[8];
	guint64 at;
	gboolean ok;

	/* The model sees the request at the time it arrives, and the log says
	 * when that was, before the light it may switch. */
	panel_sync(panel);
	panel_observe(panel, NULL);
	at = pbm_sim_now(panel->sim);
	panel->requests++;
	if (!in && h->length > 0)
		memcpy(buf, out_data, h->length);
	ok = panel_vendor_request(panel, h, buf, &actual, commanded, &set_output, &error);
	panel_log_at(panel, at, "request %s value=%u length=%u %s%s%s",
	             request_name(h->request, name_buf), (guint)h->value, (guint)h->length,
	             ok ? "ok" : "stall", ok ? "" : ": ", ok ? "" : error->message);
	link_complete_control(link, id, h, ok, buf, actual);
	panel_observe(panel, set_output ? commanded : NULL);
}

static void
link_standard_control(Link *link, uint64_t id, const struct usb_redir_control_packet_header *h)
{
	g_autoptr(GError) error = NULL;
	guint8 reply[255];
	gsize len = 0;
	gboolean ok;

	if ((h->requesttype & USB_TYPE_MASK) != USB_TYPE_STANDARD)
		ok = stall(&error, "class requests are not supported");
	else if (h->requesttype & USB_DIR_IN)
		ok = standard_in(link, h, reply, &len, &error);
	else
		ok = standard_out(link, h, &error);
	if (!ok)
		panel_log(link->panel,
		          "control type=0x%02x request=0x%02x value=0x%04x index=%u length=%u "
		          "stall: %s",
		          (guint)h->requesttype, (guint)h->request, (guint)h->value,
		          (guint)h->index, (guint)h->length, error->message);
	link_complete_control(link, id, h, ok, reply, MIN(len, h->length));
}

static void
link_on_control_packet(void *priv, uint64_t id, struct usb_redir_control_packet_header *h,
                       uint8_t *data, int data_len)
{
	Link *link = priv;

	if ((h->requesttype & USB_TYPE_MASK) == USB_TYPE_VENDOR)
		link_vendor_control(link, id, h, data);
	else
		link_standard_control(link, id, h);
	usbredirparser_free_packet_data(link->parser, data);
}

/* The device has no bulk or isochronous endpoints and no interrupt OUT: a
 * host that asks anyway gets a STALL. */
static void
link_on_bulk_packet(void *priv, uint64_t id, struct usb_redir_bulk_packet_header *h, uint8_t *data,
                    int data_len)
{
	Link *link = priv;
	struct usb_redir_bulk_packet_header reply = *h;

	reply.status = usb_redir_stall;
	reply.length = 0;
	reply.length_high = 0;
	usbredirparser_send_bulk_packet(link->parser, id, &reply, NULL, 0);
	usbredirparser_free_packet_data(link->parser, data);
}

static void
link_on_interrupt_packet(void *priv, uint64_t id, struct usb_redir_interrupt_packet_header *h,
                         uint8_t *data, int data_len)
{
	Link *link = priv;
	struct usb_redir_interrupt_packet_header reply = *h;

	reply.status = usb_redir_stall;
	reply.length = 0;
	usbredirparser_send_interrupt_packet(link->parser, id, &reply, NULL, 0);
	usbredirparser_free_packet_data(link->parser, data);
}

static void
link_on_iso_packet(void *priv, uint64_t id, struct usb_redir_iso_packet_header *h, uint8_t *data,
                   int data_len)
{
	Link *link = priv;

	usbredirparser_free_packet_data(link->parser, data);
}

static void
link_on_start_iso(void *priv, uint64_t id, struct usb_redir_start_iso_stream_header *start)
{
	Link *link = priv;
	struct usb_redir_iso_stream_status_header status = {
		.status = usb_redir_stall,
		.endpoint = start->endpoint,
	};

	usbredirparser_send_iso_stream_status(link->parser, id, &status);
}

static void
link_on_stop_iso(void *priv, uint64_t id, struct usb_redir_stop_iso_stream_header *stop)
{
}

static void
link_on_alloc_streams(void *priv, uint64_t id, struct usb_redir_alloc_bulk_streams_header *alloc)
{
	Link *link = priv;
	struct usb_redir_bulk_streams_status_header status = {
		.endpoints = alloc->endpoints,
		.no_streams = alloc->no_streams,
		.status = usb_redir_stall,
	};

	usbredirparser_send_bulk_streams_status(link->parser, id, &status);
}

static void
link_on_free_streams(void *priv, uint64_t id, struct usb_redir_free_bulk_streams_header *free_)
{
}

/* Every packet is answered as it arrives: nothing is ever left to cancel. */
static void
link_on_cancel(void *priv, uint64_t id)
{
}

static void
link_on_filter_reject(void *priv)
{
	Link *link = priv;

	panel_log(link->panel, "error QEMU rejected the device (usb-redir filter or speed)");
}

static void
link_on_filter_filter(void *priv, struct usbredirfilter_rule *rules, int rules_count)
{
	usbredirfilter_free(rules);
}

static struct usbredirparser *
link_new_parser(Link *link)
{
	struct usbredirparser *parser = usbredirparser_create();
	uint32_t caps[USB_REDIR_CAPS_SIZE] = { 0 };

	parser->priv = link;
	parser->log_func = link_on_parser_log;
	parser->read_func = link_read;
	parser->write_func = link_write;
	parser->hello_func = link_on_hello;
	parser->reset_func = link_on_reset;
	parser->set_configuration_func = link_on_set_configuration;
	parser->get_configuration_func = link_on_get_configuration;
	parser->set_alt_setting_func = link_on_set_alt_setting;
	parser->get_alt_setting_func = link_on_get_alt_setting;
	parser->start_interrupt_receiving_func = link_on_start_interrupt;
	parser->stop_interrupt_receiving_func = link_on_stop_interrupt;
	parser->start_iso_stream_func = link_on_start_iso;
	parser->stop_iso_stream_func = link_on_stop_iso;
	parser->alloc_bulk_streams_func = link_on_alloc_streams;
	parser->free_bulk_streams_func = link_on_free_streams;
	parser->cancel_data_packet_func = link_on_cancel;
	parser->control_packet_func = link_on_control_packet;
	parser->bulk_packet_func = link_on_bulk_packet;
	parser->iso_packet_func = link_on_iso_packet;
	parser->interrupt_packet_func = link_on_interrupt_packet;
	parser->filter_reject_func = link_on_filter_reject;
	parser->filter_filter_func = link_on_filter_filter;

	/* QEMU silently refuses to attach to xhci without the first three. */
	usbredirparser_caps_set_cap(caps, usb_redir_cap_ep_info_max_packet_size);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_32bits_bulk_length);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_64bits_ids);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_connect_device_version);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_filter);
	/* Queues our hello. */
	usbredirparser_init(parser, "pbm-usbredir-panel", caps, USB_REDIR_CAPS_SIZE,
	                    usbredirparser_fl_usb_host);
	return parser;
}

static void panel_lose_link(Panel *panel);

static gboolean
link_on_io(gpointer data)
{
	Link *link = data;
	GIOCondition condition = g_source_query_unix_fd(link->watch, link->watch_tag);

	if (condition & (G_IO_IN | G_IO_HUP | G_IO_ERR)) {
		if (usbredirparser_do_read(link->parser) == usbredirparser_read_parse_error)
			panel_log(link->panel, "error usbredir: QEMU sent a malformed packet");
	}
	link_flush(link);
	if (link->error == NULL)
		return G_SOURCE_CONTINUE;
	panel_lose_link(link->panel);
	return G_SOURCE_REMOVE;
}

static Link *
link_new(Panel *panel, int fd)
{
	Link *link = g_new0(Link, 1);

	link->panel = panel;
	link->fd = fd;
	link->parser = link_new_parser(link);
	link->watch = g_source_new(&plain_source_funcs, sizeof(GSource));
	g_source_set_name(link->watch, "pbm-usbredir-panel redir");
	link->watch_tag = g_source_add_unix_fd(link->watch, fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
	g_source_set_callback(link->watch, link_on_io, link, NULL);
	g_source_attach(link->watch, NULL);
	return link;
}

static void
link_free(Link *link)
{
	if (link == NULL)
		return;
	g_source_destroy(link->watch);
	g_source_unref(link->watch);
	usbredirparser_destroy(link->parser);
	close(link->fd);
	g_free(link->error);
	g_free(link);
}

/* ======================== the cable ======================== */

/* The socket must be non-blocking: usbredirparser_do_read() reads until a
 * read returns 0, and a blocking read would hang right after the hello. */
static int
redir_connect(const gchar *path, GError **error)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, saved;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		            "%s: the path is too long for a unix socket", path);
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		saved = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "socket: %s",
		            g_strerror(saved));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		saved = errno;
		close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
		            "cannot connect to %s: %s", path, g_strerror(saved));
		return -1;
	}
	return fd;
}

static gboolean
panel_plug(Panel *panel, GError **error)
{
	int fd;

	g_return_val_if_fail(panel->link == NULL, FALSE);
	fd = redir_connect(panel->redir_path, error);
	if (fd < 0)
		return FALSE;
	panel->link = link_new(panel, fd);
	panel_log(panel, "plug");
	link_flush(panel->link);
	return TRUE;
}

static void
panel_unplug(Panel *panel)
{
	g_clear_pointer(&panel->link, link_free);
	panel_log(panel, "unplug");
}

/* QEMU went away or the connection broke: the cable is out. */
static void
panel_lose_link(Panel *panel)
{
	panel_log(panel, "error redir: %s", panel->link->error);
	panel_unplug(panel);
}

static gboolean
panel_plug_pending(Panel *panel)
{
	return panel->plug_retry_id != 0 || panel->replug_id != 0;
}

static gboolean
on_plug_retry(gpointer data)
{
	Panel *panel = data;
	g_autoptr(GError) error = NULL;

	if (panel_plug(panel, &error)) {
		panel->plug_retry_id = 0;
		return G_SOURCE_REMOVE;
	}
	if (g_get_monotonic_time() < panel->plug_deadline)
		return G_SOURCE_CONTINUE;
	panel_log(panel, "error %s", error->message);
	g_printerr("pbm-usbredir-panel: %s\n", error->message);
	panel->exit_status = EXIT_FAILURE;
	panel->plug_retry_id = 0;
	g_main_loop_quit(panel->loop);
	return G_SOURCE_REMOVE;
}

/* --plugged: QEMU may not be listening yet. */
static void
panel_plug_at_start(Panel *panel)
{
	panel->plug_deadline = g_get_monotonic_time() + PLUG_TIMEOUT_US;
	if (on_plug_retry(panel) == G_SOURCE_CONTINUE)
		panel->plug_retry_id = g_timeout_add(PLUG_RETRY_MS, on_plug_retry, panel);
}

/* ======================== control clients ======================== */

static void
client_free(Client *client)
{
	Panel *panel = client->panel;

	panel->clients = g_list_remove(panel->clients, client);
	g_queue_remove(&panel->replug_waiters, client);
	g_object_unref(client->input);
	g_object_unref(client->connection);
	g_free(client);
}

static void on_client_line(GObject *source, GAsyncResult *result, gpointer data);

static void
client_read_next(Client *client)
{
	g_data_input_stream_read_line_async(client->input, G_PRIORITY_DEFAULT,
	                                    client->panel->cancellable, on_client_line, client);
}

/* A reply is one line: a newline inside a message would end it early. */
static gboolean
client_write_line(Client *client, const gchar *text)
{
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(client->connection));
	g_autofree gchar *line = g_strdup_printf("%s\n", text);
	g_autoptr(GError) error = NULL;

	g_strdelimit(line, "\r\n", ' ');
	line[strlen(line) - 1] = '\n';
	if (g_output_stream_write_all(out, line, strlen(line), NULL, NULL, &error))
		return TRUE;
	panel_log(client->panel, "error control client: %s", error->message);
	return FALSE;
}

/* Answers the client's command and waits for its next one. */
static void
client_reply(Client *client, const gchar *text)
{
	if (!client_write_line(client, text)) {
		client_free(client);
		return;
	}
	client_read_next(client);
}

typedef enum {
	COMMAND_FAILED,
	COMMAND_DONE,
	COMMAND_PENDING, /* the command replies later */
} CommandResult;

typedef enum {
	ARG_NONE,
	ARG_OPTIONAL,
	ARG_REQUIRED,
} ArgKind;

/* reply gets what follows "ok" on a COMMAND_DONE. */
typedef CommandResult (*CommandFunc)(Panel *panel, Client *client, const gchar *arg, GString *reply,
                                     GError **error);

static CommandResult
command_failed(GError **error, const gchar *message)
{
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, message);
	return COMMAND_FAILED;
}

static CommandResult
cmd_plug(Panel *panel, Client *client, const gchar *arg, GString *reply, GError **error)
{
	if (panel->link != NULL)
		return command_failed(error, "already plugged");
	if (panel_plug_pending(panel))
		return command_failed(error, "a plug is already pending");
	return panel_plug(panel, error) ? COMMAND_DONE : COMMAND_FAILED;
}

static CommandResult
cmd_unplug(Panel *panel, Client *client, const gchar *arg, GString *reply, GError **error)
{
	if (panel->link == NULL)
		return command_failed(error, "not plugged");
	panel_unplug(panel);
	return COMMAND_DONE;
}

static gboolean
on_replug(gpointer data)
{
	Panel *panel = data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *reply = NULL;
	Client *client;

	panel->replug_id = 0;
	reply = panel_plug(panel, &error) ? g_strdup("ok")
	                                  : g_strdup_printf("error %s", error->message);
	while ((client = g_queue_pop_head(&panel->replug_waiters)) != NULL)
		client_reply(client, reply);
	return G_SOURCE_REMOVE;
}

static CommandResult
cmd_replug(Panel *panel, Client *client, const gchar *arg, GString *reply, GError **error)
{
	if (panel->link == NULL)
		return command_failed(error, "not plugged");
	panel_unplug(panel);
	g_queue_push_tail(&panel->replug_waiters, client);
	panel->replug_id = g_timeout_add(REPLUG_DELAY_MS, on_replug, panel);
	return COMMAND_PENDING;
}

static CommandResult
cmd_stall_next(Panel *panel, Client *client, const gchar *arg, GString *reply, GError **error)
{
	gint request = STALL_ANY;

	for (guint i = 0; arg != NULL && i < G_N_ELEMENTS(known_requests); i++) {
		if (g_str_equal(arg, pbm_request_to_string(known_requests[i])))
			request = known_requests[i];
	}
	if (arg != NULL && request == STALL_ANY) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		            "unknown request %s: get-info, get-channels, get-status, set-output, "
		            "all-off, heartbeat, clear-fault or identify",
		            arg);
		return COMMAND_FAILED;
	}
	g_array_append_val(panel->forced_stalls, request);
	return COMMAND_DONE;
}

static CommandResult
cmd_button(Panel *panel, Client *client, const gchar *arg, GString *reply, GError **error)
{
	panel_sync(panel);
	pbm_sim_press_button(panel->sim);
	panel_observe(panel, NULL);
	return COMMAND_DONE;
}

static CommandResult
cmd_ambient(Panel *panel, Client *client, const gchar *arg, GString *reply, GError **error)
{
	gchar *end = NULL;
	gdouble celsius = g_ascii_strtod(arg, &end);

	if (end == arg || *end != '\0' || !isfinite(celsius) || celsius < -40 || celsius > 150)
		return command_failed(error, "ambient takes a temperature in C, -40 to 150");
	panel_sync(panel);
	pbm_sim_set_ambient(panel->sim, celsius);
	panel_observe(panel, NULL);
	return COMMAND_DONE;
}

static CommandResult
cmd_fan_stall(Panel *panel, Client *client, const gchar *arg, GString *reply, GError **error)
{
	if (!g_str_equal(arg, "0") && !g_str_equal(arg, "1"))
		return command_failed(error, "fan-stall takes 0 or 1");
	panel_sync(panel);
	pbm_sim_set_fan_stalled(panel->sim, arg[0] == '1');
	panel_observe(panel, NULL);
	return COMMAND_DONE;
}

static CommandResult
cmd_state(Panel *panel, Client *client, const gchar *arg, GString *reply, GError **error)
{
	g_autofree gchar *levels = NULL;
	g_autofree gchar *changed = NULL;
	g_autofree gchar *now = NULL;
	guint64 changed_at;

	panel_sync(panel);
	panel_observe(panel, NULL);
	pbm_sim_get_output_changes(panel->sim, &changed_at);
	levels = format_levels(panel->levels, panel_channel_count(panel));
	changed = format_time(changed_at);
	now = format_time(pbm_sim_now(panel->sim));
	g_string_printf(reply,
	                "plugged=%d lit=%d levels=%s temp=%.1f changed=%s now=%s "
	                "requests=%" G_GUINT64_FORMAT,
	                panel->link != NULL, pbm_sim_is_lit(panel->sim), levels,
	                pbm_sim_get_temperature(panel->sim), changed, now, panel->requests);
	return COMMAND_DONE;
}

static CommandResult
cmd_mark(Panel *panel, Client *client, const gchar *arg, GString *reply, GError **error)
{
	panel_log(panel, "mark %s", arg != NULL ? arg : "");
	return COMMAND_DONE;
}

static void panel_quit(Panel *panel);

static CommandResult
cmd_quit(Panel *panel, Client *client, const gchar *arg, GString *reply, GError **error)
{
	panel_quit(panel);
	return COMMAND_DONE;
}

static const struct {
	const gchar *name;
	ArgKind arg;
	CommandFunc func;
} commands[] = {
	{ "plug", ARG_NONE, cmd_plug },
	{ "unplug", ARG_NONE, cmd_unplug },
	{ "replug", ARG_NONE, cmd_replug },
	{ "stall-next", ARG_OPTIONAL, cmd_stall_next },
	{ "button", ARG_NONE, cmd_button },
	{ "ambient", ARG_REQUIRED, cmd_ambient },
	{ "fan-stall", ARG_REQUIRED, cmd_fan_stall },
	{ "state", ARG_NONE, cmd_state },
	{ "mark", ARG_OPTIONAL, cmd_mark },
	{ "quit", ARG_NONE, cmd_quit },
};

static CommandResult
client_run_command(Client *client, gchar *line, GString *reply, GError **error)
{
	gchar *arg = strchr(line, ' ');

	if (arg != NULL) {
		*arg = '\0';
		arg = g_strstrip(arg + 1);
		if (*arg == '\0')
			arg = NULL;
	}
	for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (!g_str_equal(line, commands[i].name))
			continue;
		if (arg != NULL && commands[i].arg == ARG_NONE) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			            "%s takes no argument", line);
			return COMMAND_FAILED;
		}
		if (arg == NULL && commands[i].arg == ARG_REQUIRED) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			            "%s needs an argument", line);
			return COMMAND_FAILED;
		}
		return commands[i].func(client->panel, client, arg, reply, error);
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
	            "unknown command \"%s\": plug, unplug, replug, stall-next, button, ambient, "
	            "fan-stall, state, mark or quit",
	            line);
	return COMMAND_FAILED;
}

static void
client_handle_line(Client *client, gchar *line)
{
	g_autoptr(GString) reply = g_string_new("ok");
	g_autoptr(GString) detail = g_string_new(NULL);
	g_autoptr(GError) error = NULL;

	switch (client_run_command(client, g_strstrip(line), detail, &error)) {
	case COMMAND_FAILED:
		g_string_printf(reply, "error %s", error->message);
		break;
	case COMMAND_DONE:
		if (detail->len > 0)
			g_string_append_printf(reply, " %s", detail->str);
		break;
	case COMMAND_PENDING:
		return;
	}
	client_reply(client, reply->str);
}

static void
on_client_line(GObject *source, GAsyncResult *result, gpointer data)
{
	Client *client = data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *line = g_data_input_stream_read_line_finish_utf8(
	        G_DATA_INPUT_STREAM(source), result, NULL, &error);

	if (line != NULL) {
		client_handle_line(client, line);
		return;
	}
	if (error != NULL && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		panel_log(client->panel, "error control client: %s", error->message);
	client_free(client);
}

static gboolean
on_control_incoming(GSocketService *service, GSocketConnection *connection, GObject *source,
                    gpointer data)
{
	Panel *panel = data;
	Client *client = g_new0(Client, 1);
	GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(connection));

	client->panel = panel;
	client->connection = g_object_ref(connection);
	client->input = g_data_input_stream_new(in);
	g_data_input_stream_set_newline_type(client->input, G_DATA_STREAM_NEWLINE_TYPE_ANY);
	panel->clients = g_list_prepend(panel->clients, client);
	client_read_next(client);
	return TRUE;
}

static gboolean
panel_listen(Panel *panel, GError **error)
{
	g_autoptr(GSocketAddress) address = NULL;

	if (g_unlink(panel->control_path) < 0 && errno != ENOENT) {
		int saved = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
		            "cannot remove the stale %s: %s", panel->control_path,
		            g_strerror(saved));
		return FALSE;
	}
	address = g_unix_socket_address_new(panel->control_path);
	panel->control = g_socket_service_new();
	if (!g_socket_listener_add_address(G_SOCKET_LISTENER(panel->control), address,
	                                   G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, NULL,
	                                   NULL, error)) {
		g_prefix_error(error, "%s: ", panel->control_path);
		return FALSE;
	}
	g_signal_connect(panel->control, "incoming", G_CALLBACK(on_control_incoming), panel);
	g_socket_service_start(panel->control);
	return TRUE;
}

/* ======================== lifecycle ======================== */

static void
panel_quit(Panel *panel)
{
	g_clear_handle_id(&panel->plug_retry_id, g_source_remove);
	g_clear_handle_id(&panel->replug_id, g_source_remove);
	if (panel->link != NULL)
		panel_unplug(panel);
	g_main_loop_quit(panel->loop);
}

static gboolean
on_quit_signal(gpointer data)
{
	panel_quit(data);
	return G_SOURCE_CONTINUE;
}

/* Every client gets its last answer; those reading are cancelled, and the
 * main context runs until their callbacks have freed them. */
static void
panel_close_clients(Panel *panel)
{
	Client *client;

	if (panel->control != NULL) {
		g_socket_service_stop(panel->control);
		g_socket_listener_close(G_SOCKET_LISTENER(panel->control));
		g_clear_object(&panel->control);
		g_unlink(panel->control_path);
	}
	while ((client = g_queue_pop_head(&panel->replug_waiters)) != NULL) {
		client_write_line(client, "error quitting");
		client_free(client);
	}
	g_cancellable_cancel(panel->cancellable);
	while (panel->clients != NULL)
		g_main_context_iteration(NULL, TRUE);
}

static void
panel_free(Panel *panel)
{
	panel_close_clients(panel);
	g_clear_handle_id(&panel->plug_retry_id, g_source_remove);
	g_clear_handle_id(&panel->replug_id, g_source_remove);
	g_clear_pointer(&panel->link, link_free);
	if (panel->model_timer != NULL) {
		g_source_destroy(panel->model_timer);
		g_source_unref(panel->model_timer);
	}
	g_clear_pointer(&panel->sim, pbm_sim_free);
	g_queue_clear_full(&panel->reports, g_free);
	g_array_unref(panel->forced_stalls);
	g_clear_object(&panel->cancellable);
	g_main_loop_unref(panel->loop);
	if (panel->log != NULL)
		fclose(panel->log);
	g_free(panel->redir_path);
	g_free(panel->control_path);
	g_free(panel);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Panel, panel_free)

static Panel *
panel_new(gchar *redir_path, gchar *control_path)
{
	Panel *panel = g_new0(Panel, 1);

	panel->t0 = g_get_monotonic_time();
	panel->redir_path = redir_path;
	panel->control_path = control_path;
	panel->loop = g_main_loop_new(NULL, FALSE);
	panel->forced_stalls = g_array_new(FALSE, FALSE, sizeof(gint));
	panel->cancellable = g_cancellable_new();
	g_queue_init(&panel->reports);
	g_queue_init(&panel->replug_waiters);
	return panel;
}

static gboolean
panel_open_log(Panel *panel, const gchar *path, GError **error)
{
	panel->log = fopen(path, "ae");
	if (panel->log != NULL)
		return TRUE;
	int saved = errno;
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "cannot open %s: %s", path,
	            g_strerror(saved));
	return FALSE;
}

typedef struct {
	gchar *redir;
	gchar *control;
	gchar *log;
	gchar *serial;
	gboolean plugged;
} Options;

static void
options_clear(Options *options)
{
	g_free(options->redir);
	g_free(options->control);
	g_free(options->log);
	g_free(options->serial);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Options, options_clear)

static gboolean
parse_options(Options *options, int *argc, char ***argv, GError **error)
{
	const GOptionEntry entries[] = {
		{ "redir", 0, 0, G_OPTION_ARG_FILENAME, &options->redir,
		  "QEMU's usb-redir chardev socket (QEMU listens)", "REDIR_SOCK" },
		{ "control", 0, 0, G_OPTION_ARG_FILENAME, &options->control,
		  "Unix socket to listen on for control commands", "CONTROL_SOCK" },
		{ "log", 0, 0, G_OPTION_ARG_FILENAME, &options->log, "Event log to append to",
		  "LOG_FILE" },
		{ "serial", 0, 0, G_OPTION_ARG_STRING, &options->serial,
		  "Serial number of the panel (default " DEFAULT_SERIAL ")", "SERIAL" },
		{ "plugged", 0, 0, G_OPTION_ARG_NONE, &options->plugged,
		  "Plug at start (retries for up to 30 s)", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);

	g_option_context_set_summary(context,
	                             "Plays a pbmd USB panel (the firmware model of src/sim) on "
	                             "a QEMU usb-redir socket.");
	g_option_context_set_description(
	        context, "Control commands, one a line, one reply line each: plug, unplug, "
	                 "replug, stall-next [REQUEST], button, ambient CELSIUS, fan-stall 0|1, "
	                 "state, mark TEXT, quit.\nThe log format is documented at the top of "
	                 "tests/system/pbm-usbredir-panel.c.\n");
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, argc, argv, error))
		return FALSE;
	if (options->redir == NULL || options->control == NULL || options->log == NULL) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
		                    "--redir, --control and --log are required (see --help)");
		return FALSE;
	}
	return TRUE;
}

static gboolean
panel_start(Panel *panel, const Options *options, GError **error)
{
	if (!panel_open_log(panel, options->log, error))
		return FALSE;
	if (!panel_start_model(panel, options->serial != NULL ? options->serial : DEFAULT_SERIAL,
	                       error))
		return FALSE;
	if (!panel_listen(panel, error))
		return FALSE;
	if (options->plugged)
		panel_plug_at_start(panel);
	return TRUE;
}

int
main(int argc, char **argv)
{
	g_auto(Options) options = { 0 };
	g_autoptr(GError) error = NULL;
	g_autoptr(Panel) panel = NULL;
	guint sigterm_id, sigint_id;
	int status;

	if (!parse_options(&options, &argc, &argv, &error)) {
		g_printerr("pbm-usbredir-panel: %s\n", error->message);
		return EXIT_FAILURE;
	}
	panel = panel_new(g_steal_pointer(&options.redir), g_steal_pointer(&options.control));
	if (!panel_start(panel, &options, &error)) {
		g_printerr("pbm-usbredir-panel: %s\n", error->message);
		if (panel->log != NULL)
			panel_log(panel, "error %s", error->message);
		return EXIT_FAILURE;
	}
	sigterm_id = g_unix_signal_add(SIGTERM, on_quit_signal, panel);
	sigint_id = g_unix_signal_add(SIGINT, on_quit_signal, panel);
	g_main_loop_run(panel->loop);
	g_source_remove(sigterm_id);
	g_source_remove(sigint_id);
	status = panel->exit_status;
	return status;
}
