/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The umockdev harness, proved with plain libusb calls: the emulated panel is
 * found by VID:PID, opened, claimed, answers vendor control transfers from
 * its firmware model, streams reports on its interrupt endpoint, fails the
 * way it is told to, comes and goes with hotplug events, and reaches a
 * separately spawned libusb process. Runs under the umockdev preload.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libusb.h>

#include "pbm-mock-panel.h"
#include "pbm-protocol.h"

#define CTL_TIMEOUT_MS 2000
#define WAIT_US (2 * G_USEC_PER_SEC)

typedef struct {
	PbmMockBus *bus;
	libusb_context *ctx;
	gchar *root_dir;
} Fixture;

static const gchar *child_path;

/* ======================== helpers ======================== */

static int
setup(void **state)
{
	g_autoptr(GError) error = NULL;
	Fixture *f = g_new0(Fixture, 1);
	int r;

	f->bus = pbm_mock_bus_new(&error);
	if (f->bus == NULL) {
		print_error("pbm_mock_bus_new: %s\n", error->message);
		g_free(f);
		return -1;
	}
	f->root_dir = g_strdup(pbm_mock_bus_get_root_dir(f->bus));
	/* After the testbed: libusb binds its uevent monitor inside it. */
	r = libusb_init(&f->ctx);
	if (r != 0) {
		print_error("libusb_init: %s\n", libusb_error_name(r));
		pbm_mock_bus_free(f->bus);
		g_free(f->root_dir);
		g_free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	Fixture *f = *state;

	libusb_exit(f->ctx);
	pbm_mock_bus_free(f->bus);
	/* The bus cleans up its testbed directory. */
	assert_false(g_file_test(f->root_dir, G_FILE_TEST_EXISTS));
	g_free(f->root_dir);
	g_free(f);
	return 0;
}

static PbmMockPanel *
plug(Fixture *f, const gchar *serial)
{
	g_autoptr(GError) error = NULL;
	PbmSimConfig config;
	PbmMockPanel *panel;

	pbm_sim_config_init(&config, serial);
	panel = pbm_mock_panel_plug(f->bus, &config, PBM_USB_VID, PBM_USB_PID, &error);
	if (panel == NULL)
		fail_msg("plug %s: %s", serial, error->message);
	return panel;
}

/* Lets libusb run (hotplug callbacks, transfer completions) until *flag is
 * set or WAIT_US passed. */
static gboolean
wait_flag(libusb_context *ctx, const int *flag)
{
	gint64 end = g_get_monotonic_time() + WAIT_US;

	while (!*flag && g_get_monotonic_time() < end) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = 50000 };
		libusb_handle_events_timeout_completed(ctx, &tv, (int *)flag);
	}
	return *flag != 0;
}

static guint
count_panels(libusb_context *ctx, guint8 *busnum, guint8 *address)
{
	libusb_device **list;
	ssize_t n = libusb_get_device_list(ctx, &list);
	guint found = 0;

	assert_true(n >= 0);
	for (ssize_t i = 0; i < n; i++) {
		struct libusb_device_descriptor desc;
		assert_int_equal(libusb_get_device_descriptor(list[i], &desc), 0);
		if (desc.idVendor != PBM_USB_VID || desc.idProduct != PBM_USB_PID)
			continue;
		if (busnum != NULL)
			*busnum = libusb_get_bus_number(list[i]);
		if (address != NULL)
			*address = libusb_get_device_address(list[i]);
		found++;
	}
	libusb_free_device_list(list, 1);
	return found;
}

/* Opens the panel at bus/address and claims interface 0. */
static libusb_device_handle *
open_panel_at(Fixture *f, PbmMockPanel *panel)
{
	libusb_device **list;
	libusb_device_handle *handle = NULL;
	ssize_t n = libusb_get_device_list(f->ctx, &list);

	assert_true(n >= 0);
	for (ssize_t i = 0; i < n; i++) {
		if (libusb_get_bus_number(list[i]) == pbm_mock_panel_get_busnum(panel) &&
		    libusb_get_device_address(list[i]) == pbm_mock_panel_get_devnum(panel)) {
			assert_int_equal(libusb_open(list[i], &handle), 0);
			break;
		}
	}
	libusb_free_device_list(list, 1);
	if (handle == NULL)
		fail_msg("panel %s is not enumerated", pbm_mock_panel_get_devnode(panel));
	assert_int_equal(libusb_claim_interface(handle, PBM_USB_INTERFACE), 0);
	return handle;
}

static void
close_panel(libusb_device_handle *handle)
{
	libusb_release_interface(handle, PBM_USB_INTERFACE);
	libusb_close(handle);
}

static int
ctl_in(libusb_device_handle *handle, guint8 request, guint8 *buf, guint16 len, unsigned timeout_ms)
{
	return libusb_control_transfer(handle, PBM_REQTYPE_IN, request, 0, PBM_USB_INTERFACE, buf,
	                               len, timeout_ms);
}

static int
ctl_out(libusb_device_handle *handle, guint8 request, guint16 value, guint8 *buf, guint16 len)
{
	return libusb_control_transfer(handle, PBM_REQTYPE_OUT, request, value, PBM_USB_INTERFACE,
	                               buf, len, CTL_TIMEOUT_MS);
}

static void
get_info(libusb_device_handle *handle, PbmInfo *info)
{
	g_autoptr(GError) error = NULL;
	guint8 buf[sizeof(struct pbm_wire_info)];

	assert_int_equal(ctl_in(handle, PBM_REQ_GET_INFO, buf, sizeof(buf), CTL_TIMEOUT_MS),
	                 sizeof(buf));
	if (!pbm_info_decode(buf, sizeof(buf), info, &error))
		fail_msg("GET_INFO reply: %s", error->message);
}

static void
assert_serial(libusb_device_handle *handle, const gchar *serial)
{
	PbmInfo info;

	get_info(handle, &info);
	assert_string_equal(info.serial, serial);
}

typedef struct {
	int done;
	enum libusb_transfer_status status;
	int actual_length;
	guint8 buf[PBM_USB_EP_REPORT_MAX_PACKET];
	struct libusb_transfer *transfer;
} Report;

static void LIBUSB_CALL
on_report(struct libusb_transfer *transfer)
{
	Report *r = transfer->user_data;

	r->status = transfer->status;
	r->actual_length = transfer->actual_length;
	r->done = 1;
}

static void
report_submit(libusb_device_handle *handle, Report *r)
{
	memset(r, 0, sizeof(*r));
	r->transfer = libusb_alloc_transfer(0);
	libusb_fill_interrupt_transfer(r->transfer, handle, PBM_USB_EP_REPORT, r->buf,
	                               sizeof(r->buf), on_report, r, 0);
	assert_int_equal(libusb_submit_transfer(r->transfer), 0);
}

/* Waits for the transfer; cancels it if it does not end in time. */
static gboolean
report_wait(libusb_context *ctx, Report *r)
{
	gboolean ok = wait_flag(ctx, &r->done);

	if (!ok) {
		libusb_cancel_transfer(r->transfer);
		while (!r->done)
			libusb_handle_events_completed(ctx, &r->done);
	}
	libusb_free_transfer(r->transfer);
	r->transfer = NULL;
	return ok;
}

/* Receives one report and decodes it. */
static void
read_report(Fixture *f, libusb_device_handle *handle, PbmReport *report)
{
	g_autoptr(GError) error = NULL;
	Report r;

	report_submit(handle, &r);
	if (!report_wait(f->ctx, &r))
		fail_msg("no report within 2 s");
	assert_int_equal(r.status, LIBUSB_TRANSFER_COMPLETED);
	assert_int_equal(r.actual_length, sizeof(struct pbm_wire_report));
	if (!pbm_report_decode(r.buf, (gsize)r.actual_length, report, &error))
		fail_msg("report: %s", error->message);
}

/* Waits until every client of the panel has gone (their connections close
 * asynchronously in umockdev's worker thread). */
static void
wait_no_clients(PbmMockPanel *panel)
{
	gint64 end = g_get_monotonic_time() + WAIT_US;

	while (pbm_mock_panel_get_client_count(panel) > 0 && g_get_monotonic_time() < end)
		g_usleep(10000);
	assert_int_equal(pbm_mock_panel_get_client_count(panel), 0);
}

/* ======================== tests ======================== */

static void
test_enumerate(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) panel = plug(f, "ENUM01");
	libusb_device_handle *handle;
	libusb_device *dev;
	struct libusb_device_descriptor desc;
	struct libusb_config_descriptor *config;
	const struct libusb_interface_descriptor *intf;
	guint8 busnum = 0, address = 0;
	unsigned char serial[64];

	assert_int_equal(count_panels(f->ctx, &busnum, &address), 1);
	assert_int_equal(busnum, pbm_mock_panel_get_busnum(panel));
	assert_int_equal(address, pbm_mock_panel_get_devnum(panel));

	handle = libusb_open_device_with_vid_pid(f->ctx, PBM_USB_VID, PBM_USB_PID);
	assert_non_null(handle);
	dev = libusb_get_device(handle);
	assert_int_equal(libusb_get_device_descriptor(dev, &desc), 0);
	assert_int_equal(desc.bcdUSB, 0x0200);
	assert_int_equal(desc.bNumConfigurations, 1);
	assert_int_equal(libusb_get_active_config_descriptor(dev, &config), 0);
	assert_int_equal(config->bNumInterfaces, 1);
	intf = &config->interface[0].altsetting[0];
	assert_int_equal(intf->bInterfaceNumber, PBM_USB_INTERFACE);
	assert_int_equal(intf->bInterfaceClass, PBM_USB_INTERFACE_CLASS);
	assert_int_equal(intf->bNumEndpoints, 1);
	assert_int_equal(intf->endpoint[0].bEndpointAddress, PBM_USB_EP_REPORT);
	assert_int_equal(intf->endpoint[0].bmAttributes & 3, LIBUSB_TRANSFER_TYPE_INTERRUPT);
	assert_int_equal(intf->endpoint[0].wMaxPacketSize, PBM_USB_EP_REPORT_MAX_PACKET);
	assert_int_equal(intf->endpoint[0].bInterval, PBM_USB_EP_REPORT_INTERVAL_MS);
	libusb_free_config_descriptor(config);
	assert_int_equal(libusb_get_device_speed(dev), LIBUSB_SPEED_FULL);

	/* The string descriptors come from the device over EP0. */
	assert_true(libusb_get_string_descriptor_ascii(handle, desc.iSerialNumber, serial,
	                                               sizeof(serial)) > 0);
	assert_string_equal((const char *)serial, "ENUM01");
	libusb_close(handle);
}

static void
test_get_info(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) panel = plug(f, "INFO-42");
	libusb_device_handle *handle = open_panel_at(f, panel);
	guint8 status[sizeof(struct pbm_wire_status)];
	guint64 ioctls;
	gint64 start;
	PbmInfo info;

	get_info(handle, &info);
	assert_string_equal(info.serial, "INFO-42");
	assert_int_equal(info.proto_major, PBM_PROTOCOL_MAJOR);
	assert_int_equal(info.channel_count, 2);

	/* What an emulated control transfer costs (printed, not asserted). */
	ioctls = pbm_mock_panel_get_ioctl_count(panel);
	start = g_get_monotonic_time();
	for (guint i = 0; i < 50; i++)
		assert_int_equal(
		        ctl_in(handle, PBM_REQ_GET_STATUS, status, sizeof(status), CTL_TIMEOUT_MS),
		        sizeof(status));
	printf("# synchronous control transfer: %.0f us, %.1f ioctls\n",
	       (gdouble)(g_get_monotonic_time() - start) / 50,
	       (gdouble)(pbm_mock_panel_get_ioctl_count(panel) - ioctls) / 50);
	fflush(stdout);
	assert_true(pbm_mock_panel_get_ioctl_count(panel) > 0);
	assert_int_equal(pbm_mock_panel_get_client_count(panel), 1);
	close_panel(handle);
	wait_no_clients(panel);
}

static void
test_set_output_lights(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) panel = plug(f, "LIGHT1");
	libusb_device_handle *handle = open_panel_at(f, panel);
	PbmOutput output = { .level = { 500, 300 }, .duty = PBM_DUTY_MAX, .session_cap_s = 60 };
	guint8 buf[sizeof(struct pbm_wire_output)];
	PbmSim *sim;

	assert_true(pbm_output_encode(&output, buf, NULL));
	/* Refused while the watchdog is not armed. */
	assert_int_equal(ctl_out(handle, PBM_REQ_SET_OUTPUT, 0, buf, sizeof(buf)),
	                 LIBUSB_ERROR_PIPE);
	assert_int_equal(ctl_out(handle, PBM_REQ_HEARTBEAT, 3000, NULL, 0), 0);
	assert_int_equal(ctl_out(handle, PBM_REQ_SET_OUTPUT, 0, buf, sizeof(buf)), sizeof(buf));

	sim = pbm_mock_panel_lock_sim(panel);
	assert_true(pbm_sim_is_lit(sim));
	pbm_mock_panel_unlock_sim(panel);

	assert_int_equal(ctl_out(handle, PBM_REQ_ALL_OFF, 0, NULL, 0), 0);
	sim = pbm_mock_panel_lock_sim(panel);
	assert_false(pbm_sim_is_lit(sim));
	pbm_mock_panel_unlock_sim(panel);
	close_panel(handle);
}

static void
test_interrupt_report(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) panel = plug(f, "REPORT1");
	libusb_device_handle *handle = open_panel_at(f, panel);
	PbmReport report;
	guint16 seq;
	PbmSim *sim;

	/* The power-on report is queued on the device. */
	read_report(f, handle, &report);
	assert_int_equal(report.type, PBM_REPORT_STATUS);
	assert_true(report.events & PBM_EVENT_RESET);
	seq = report.seq;

	/* An event is reported at once. */
	sim = pbm_mock_panel_lock_sim(panel);
	pbm_sim_press_button(sim);
	pbm_mock_panel_unlock_sim(panel);
	read_report(f, handle, &report);
	assert_true(report.events & PBM_EVENT_BUTTON);
	assert_int_equal(report.seq, (guint16)(seq + 1));

	/* And periodic reports come by themselves, in real time. */
	read_report(f, handle, &report);
	assert_int_equal(report.seq, (guint16)(seq + 2));
	assert_true(pbm_mock_panel_get_reports_sent(panel) >= 3);
	close_panel(handle);
}

static void
test_injected_report(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) panel = plug(f, "INJECT1");
	libusb_device_handle *handle = open_panel_at(f, panel);
	static const guint8 truncated[10] = { PBM_REPORT_STATUS, 0, 7, 0 };
	guint8 oversized[PBM_USB_EP_REPORT_MAX_PACKET + 8] = { 0 };
	g_autoptr(GError) error = NULL;
	PbmReport report;
	Report r;

	pbm_mock_panel_inject_report(panel, truncated, sizeof(truncated));
	report_submit(handle, &r);
	assert_true(report_wait(f->ctx, &r));
	assert_int_equal(r.status, LIBUSB_TRANSFER_COMPLETED);
	assert_int_equal(r.actual_length, sizeof(truncated));
	assert_false(pbm_report_decode(r.buf, (gsize)r.actual_length, &report, &error));
	assert_true(g_error_matches(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_SHORT));

	/* More than the transfer asked for: babble. */
	pbm_mock_panel_inject_report(panel, oversized, sizeof(oversized));
	report_submit(handle, &r);
	assert_true(report_wait(f->ctx, &r));
	assert_int_equal(r.status, LIBUSB_TRANSFER_OVERFLOW);

	/* The model's reports follow. */
	read_report(f, handle, &report);
	assert_true(report.events & PBM_EVENT_RESET);
	close_panel(handle);
}

static void
test_halted_endpoint(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) panel = plug(f, "HALT1");
	libusb_device_handle *handle = open_panel_at(f, panel);
	PbmReport report;
	Report r;

	pbm_mock_panel_halt_report_endpoint(panel);
	report_submit(handle, &r);
	assert_true(report_wait(f->ctx, &r));
	assert_int_equal(r.status, LIBUSB_TRANSFER_STALL);
	assert_int_equal(libusb_clear_halt(handle, PBM_USB_EP_REPORT), 0);
	read_report(f, handle, &report);
	close_panel(handle);
}

static void
test_unknown_request_stalls(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) panel = plug(f, "STALL1");
	libusb_device_handle *handle = open_panel_at(f, panel);
	guint8 buf[sizeof(struct pbm_wire_status)];

	assert_int_equal(ctl_in(handle, 0x7f, buf, sizeof(buf), CTL_TIMEOUT_MS), LIBUSB_ERROR_PIPE);
	/* A wrong wLength is a STALL too, by the protocol. */
	assert_int_equal(ctl_in(handle, PBM_REQ_GET_STATUS, buf, 4, CTL_TIMEOUT_MS),
	                 LIBUSB_ERROR_PIPE);

	/* Injected STALL on a valid request, then healed. */
	assert_int_equal(ctl_in(handle, PBM_REQ_GET_STATUS, buf, sizeof(buf), CTL_TIMEOUT_MS),
	                 sizeof(buf));
	pbm_mock_panel_set_stall(panel, PBM_REQ_GET_STATUS, TRUE);
	assert_int_equal(ctl_in(handle, PBM_REQ_GET_STATUS, buf, sizeof(buf), CTL_TIMEOUT_MS),
	                 LIBUSB_ERROR_PIPE);
	pbm_mock_panel_set_stall(panel, PBM_REQ_GET_STATUS, FALSE);
	assert_int_equal(ctl_in(handle, PBM_REQ_GET_STATUS, buf, sizeof(buf), CTL_TIMEOUT_MS),
	                 sizeof(buf));
	close_panel(handle);
}

static void
test_hang_times_out(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) panel = plug(f, "HANG1");
	libusb_device_handle *handle = open_panel_at(f, panel);
	guint8 buf[sizeof(struct pbm_wire_status)];
	gint64 start;

	pbm_mock_panel_set_hang(panel, PBM_REQ_GET_STATUS, TRUE);
	start = g_get_monotonic_time();
	assert_int_equal(ctl_in(handle, PBM_REQ_GET_STATUS, buf, sizeof(buf), 200),
	                 LIBUSB_ERROR_TIMEOUT);
	/* It did wait: only a lower bound, never a tight wall-clock one. */
	assert_true(g_get_monotonic_time() - start >= 190000);
	/* Other requests still work, and so does this one once healed. */
	assert_serial(handle, "HANG1");
	pbm_mock_panel_set_hang(panel, PBM_REQ_GET_STATUS, FALSE);
	assert_int_equal(ctl_in(handle, PBM_REQ_GET_STATUS, buf, sizeof(buf), CTL_TIMEOUT_MS),
	                 sizeof(buf));
	close_panel(handle);
}

static void
test_override_reply(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) panel = plug(f, "OVR1");
	libusb_device_handle *handle = open_panel_at(f, panel);
	guint8 buf[sizeof(struct pbm_wire_info)];
	guint8 future[sizeof(struct pbm_wire_info)];
	static const guint8 truncated[] = { PBM_PROTOCOL_MAJOR, PBM_PROTOCOL_MINOR, 0xbe };
	g_autoptr(GError) error = NULL;
	PbmInfo info;
	int n;

	/* A panel speaking protocol 2. */
	assert_int_equal(ctl_in(handle, PBM_REQ_GET_INFO, future, sizeof(future), CTL_TIMEOUT_MS),
	                 sizeof(future));
	future[0] = PBM_PROTOCOL_MAJOR + 1;
	pbm_mock_panel_override_reply(panel, PBM_REQ_GET_INFO, future, sizeof(future));
	n = ctl_in(handle, PBM_REQ_GET_INFO, buf, sizeof(buf), CTL_TIMEOUT_MS);
	assert_int_equal(n, sizeof(buf));
	assert_false(pbm_info_decode(buf, (gsize)n, &info, &error));
	assert_true(g_error_matches(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_VERSION));
	g_clear_error(&error);

	/* A short reply. */
	pbm_mock_panel_override_reply(panel, PBM_REQ_GET_INFO, truncated, sizeof(truncated));
	n = ctl_in(handle, PBM_REQ_GET_INFO, buf, sizeof(buf), CTL_TIMEOUT_MS);
	assert_int_equal(n, sizeof(truncated));
	assert_false(pbm_info_decode(buf, (gsize)n, &info, &error));
	assert_true(g_error_matches(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_SHORT));

	pbm_mock_panel_override_reply(panel, PBM_REQ_GET_INFO, NULL, 0);
	assert_serial(handle, "OVR1");
	close_panel(handle);
}

typedef struct {
	int arrived;
	int left;
} HotplugSeen;

static int LIBUSB_CALL
on_hotplug(libusb_context *ctx, libusb_device *dev, libusb_hotplug_event event, void *user_data)
{
	HotplugSeen *seen = user_data;

	if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED)
		seen->arrived++;
	else if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT)
		seen->left++;
	return 0;
}

static void
test_hotplug(void **state)
{
	Fixture *f = *state;
	HotplugSeen seen = { 0 };
	libusb_hotplug_callback_handle cb;
	libusb_device_handle *handle;
	PbmMockPanel *panel;

	assert_true(libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG));
	assert_int_equal(
	        libusb_hotplug_register_callback(
	                f->ctx,
	                LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0,
	                PBM_USB_VID, PBM_USB_PID, LIBUSB_HOTPLUG_MATCH_ANY, on_hotplug, &seen, &cb),
	        0);
	assert_int_equal(count_panels(f->ctx, NULL, NULL), 0);

	panel = plug(f, "HOT1");
	assert_true(wait_flag(f->ctx, &seen.arrived));
	handle = open_panel_at(f, panel);
	assert_serial(handle, "HOT1");
	close_panel(handle);

	pbm_mock_panel_unplug(panel);
	assert_true(wait_flag(f->ctx, &seen.left));
	assert_int_equal(seen.arrived, 1);
	assert_int_equal(seen.left, 1);
	assert_int_equal(count_panels(f->ctx, NULL, NULL), 0);
	libusb_hotplug_deregister_callback(f->ctx, cb);
}

static void
test_stale_handle(void **state)
{
	Fixture *f = *state;
	PbmMockPanel *panel = plug(f, "STALE1");
	libusb_device_handle *handle = open_panel_at(f, panel);
	guint8 buf[sizeof(struct pbm_wire_status)];
	PbmReport report;
	Report r;

	/* Drain the power-on report, then leave a transfer in flight. */
	read_report(f, handle, &report);
	report_submit(handle, &r);
	pbm_mock_panel_unplug(panel);

	assert_true(report_wait(f->ctx, &r));
	assert_int_equal(r.status, LIBUSB_TRANSFER_NO_DEVICE);
	assert_int_equal(ctl_in(handle, PBM_REQ_GET_STATUS, buf, sizeof(buf), CTL_TIMEOUT_MS),
	                 LIBUSB_ERROR_NO_DEVICE);
	libusb_close(handle);
}

static void
test_two_panels(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) a = plug(f, "TWO-A");
	g_autoptr(PbmMockPanel) b = plug(f, "TWO-B");
	libusb_device_handle *ha, *hb;
	PbmSim *sim;

	assert_int_equal(count_panels(f->ctx, NULL, NULL), 2);
	assert_false(pbm_mock_panel_get_busnum(a) == pbm_mock_panel_get_busnum(b) &&
	             pbm_mock_panel_get_devnum(a) == pbm_mock_panel_get_devnum(b));
	ha = open_panel_at(f, a);
	hb = open_panel_at(f, b);
	assert_serial(ha, "TWO-A");
	assert_serial(hb, "TWO-B");

	/* Each has its own model. */
	assert_int_equal(ctl_out(ha, PBM_REQ_HEARTBEAT, 3000, NULL, 0), 0);
	sim = pbm_mock_panel_lock_sim(a);
	PbmStatus status;
	pbm_sim_get_status(sim, &status);
	assert_int_equal(status.watchdog, PBM_WATCHDOG_ARMED);
	pbm_mock_panel_unlock_sim(a);
	sim = pbm_mock_panel_lock_sim(b);
	pbm_sim_get_status(sim, &status);
	assert_int_equal(status.watchdog, PBM_WATCHDOG_DISARMED);
	pbm_mock_panel_unlock_sim(b);

	close_panel(ha);
	close_panel(hb);
}

/* Fails unless root_dir/relative is missing or empty. */
static void
assert_empty_dir(const gchar *root_dir, const gchar *relative)
{
	g_autofree gchar *path = g_build_filename(root_dir, relative, NULL);
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const gchar *name;

	if (dir == NULL)
		return;
	name = g_dir_read_name(dir);
	if (name != NULL)
		fail_msg("%s/%s was left behind", relative, name);
}

static void
test_plug_cycles(void **state)
{
	Fixture *f = *state;

	for (guint i = 0; i < 20; i++) {
		PbmMockPanel *panel = plug(f, "CYCLE1");
		libusb_device_handle *handle;

		assert_int_equal(count_panels(f->ctx, NULL, NULL), 1);
		handle = open_panel_at(f, panel);
		assert_serial(handle, "CYCLE1");
		close_panel(handle);
		wait_no_clients(panel);
		pbm_mock_panel_unplug(panel);
		assert_int_equal(count_panels(f->ctx, NULL, NULL), 0);
	}
	/* Nothing left behind: device nodes, sysfs devices and links, ioctl
	 * sockets; and the next plug works. */
	assert_empty_dir(f->root_dir, "dev/bus/usb");
	assert_empty_dir(f->root_dir, "dev/.node");
	assert_empty_dir(f->root_dir, "sys/devices");
	assert_empty_dir(f->root_dir, "sys/dev/char");
	assert_empty_dir(f->root_dir, "ioctl/dev/bus/usb/001");
	{
		g_autoptr(PbmMockPanel) panel = plug(f, "CYCLE2");
		libusb_device_handle *handle = open_panel_at(f, panel);
		assert_serial(handle, "CYCLE2");
		close_panel(handle);
	}
}

/* ---- a separate process ---- */

/* The child's environment: ours, minus valgrind's own preloads (the child
 * runs natively even when this test runs under valgrind). */
static gchar **
child_environ(void)
{
	gchar **env = g_get_environ();
	const gchar *preload = g_environ_getenv(env, "LD_PRELOAD");
	g_autoptr(GPtrArray) keep = g_ptr_array_new();
	g_auto(GStrv) parts = NULL;
	g_autofree gchar *joined = NULL;

	if (preload == NULL)
		return env;
	parts = g_strsplit_set(preload, ": ", -1);
	for (guint i = 0; parts[i] != NULL; i++) {
		if (parts[i][0] != '\0' && strstr(parts[i], "vgpreload") == NULL)
			g_ptr_array_add(keep, parts[i]);
	}
	g_ptr_array_add(keep, NULL);
	joined = g_strjoinv(":", (gchar **)keep->pdata);
	return g_environ_setenv(env, "LD_PRELOAD", joined, TRUE);
}

typedef struct {
	GPid pid;
	int out_fd;
	GString *pending;
} Child;

static void
child_spawn(Child *child, const gchar *const *args)
{
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) env = child_environ();
	g_autoptr(GPtrArray) argv = g_ptr_array_new();

	g_ptr_array_add(argv, (gpointer)child_path);
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer)args[i]);
	g_ptr_array_add(argv, NULL);
	memset(child, 0, sizeof(*child));
	if (!g_spawn_async_with_pipes(NULL, (gchar **)argv->pdata, env, G_SPAWN_DO_NOT_REAP_CHILD,
	                              NULL, NULL, &child->pid, NULL, &child->out_fd, NULL, &error))
		fail_msg("spawn %s: %s", child_path, error->message);
	child->pending = g_string_new(NULL);
}

/* The next line of the child's stdout, or NULL after timeout_ms or at EOF. */
static gchar *
child_read_line(Child *child, int timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	for (;;) {
		gchar *nl = strchr(child->pending->str, '\n');
		struct pollfd pfd = { .fd = child->out_fd, .events = POLLIN };
		gchar buf[256];
		gint64 left;
		ssize_t n;

		if (nl != NULL) {
			gchar *line =
			        g_strndup(child->pending->str, (gsize)(nl - child->pending->str));
			g_string_erase(child->pending, 0, nl - child->pending->str + 1);
			return line;
		}
		left = end - g_get_monotonic_time();
		if (left <= 0 || poll(&pfd, 1, (int)(left / 1000) + 1) <= 0)
			return NULL;
		n = read(child->out_fd, buf, sizeof(buf));
		if (n <= 0)
			return NULL;
		g_string_append_len(child->pending, buf, n);
	}
}

/* Reaps the child, killing it if it does not exit within timeout_ms. */
static int
child_wait(Child *child, int timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	int status = 0;

	while (waitpid(child->pid, &status, WNOHANG) == 0) {
		if (g_get_monotonic_time() > end) {
			kill(child->pid, SIGKILL);
			waitpid(child->pid, &status, 0);
			break;
		}
		g_usleep(10000);
	}
	close(child->out_fd);
	g_string_free(child->pending, TRUE);
	g_spawn_close_pid(child->pid);
	return status;
}

static void
test_child_process(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) panel = plug(f, "CHILD7");
	const gchar *args[] = { "info", "1209", "7062", NULL };
	g_autofree gchar *line = NULL;
	Child child;
	int status;

	child_spawn(&child, args);
	line = child_read_line(&child, 10000);
	status = child_wait(&child, 10000);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_non_null(line);
	assert_string_equal(line, "serial CHILD7");
	/* Its ioctls reached this process's device model. */
	wait_no_clients(panel);
}

/* Context switches of every thread of pid: how often it woke up. */
static guint64
wakeups_of(GPid pid)
{
	g_autofree gchar *task_dir = g_strdup_printf("/proc/%d/task", (int)pid);
	g_autoptr(GDir) dir = g_dir_open(task_dir, 0, NULL);
	const gchar *tid;
	guint64 total = 0;

	if (dir == NULL)
		return 0;
	while ((tid = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *path = g_build_filename(task_dir, tid, "status", NULL);
		g_autofree gchar *contents = NULL;
		g_auto(GStrv) lines = NULL;

		if (!g_file_get_contents(path, &contents, NULL, NULL))
			continue;
		lines = g_strsplit(contents, "\n", -1);
		for (guint i = 0; lines[i] != NULL; i++) {
			if (g_str_has_prefix(lines[i], "voluntary_ctxt_switches:") ||
			    g_str_has_prefix(lines[i], "nonvoluntary_ctxt_switches:"))
				total += g_ascii_strtoull(strchr(lines[i], ':') + 1, NULL, 10);
		}
	}
	return total;
}

static void
measure(const gchar *what, GPid pid, PbmMockPanel *panel, gdouble seconds, gdouble *wakeups_s)
{
	guint64 w0 = wakeups_of(pid), i0 = pbm_mock_panel_get_ioctl_count(panel);
	guint64 r0 = pbm_mock_panel_get_reports_sent(panel);
	gint64 t0 = g_get_monotonic_time();
	gdouble dt;

	g_usleep((gulong)(seconds * G_USEC_PER_SEC));
	dt = (gdouble)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
	*wakeups_s = (gdouble)(wakeups_of(pid) - w0) / dt;
	printf("# %s wakeups/s: %.1f\n", what, *wakeups_s);
	printf("# %s ioctls/s: %.1f\n", what,
	       (gdouble)(pbm_mock_panel_get_ioctl_count(panel) - i0) / dt);
	printf("# %s reports/s: %.1f\n", what,
	       (gdouble)(pbm_mock_panel_get_reports_sent(panel) - r0) / dt);
	fflush(stdout);
}

/* Lights the panel as its firmware would be driven, without a second
 * client claiming the interface the child holds. */
static void
light_directly(PbmMockPanel *panel)
{
	PbmOutput output = { .level = { 200, 200 }, .duty = PBM_DUTY_MAX, .session_cap_s = 60 };
	guint8 buf[sizeof(struct pbm_wire_output)];
	struct pbm_wire_setup hb = { PBM_REQTYPE_OUT, PBM_REQ_HEARTBEAT, 10000, 0, 0 };
	struct pbm_wire_setup set = { PBM_REQTYPE_OUT, PBM_REQ_SET_OUTPUT, 0, 0, sizeof(buf) };
	PbmSim *sim;
	gsize actual;

	assert_true(pbm_output_encode(&output, buf, NULL));
	sim = pbm_mock_panel_lock_sim(panel);
	assert_true(pbm_sim_control(sim, &hb, NULL, &actual, NULL));
	assert_true(pbm_sim_control(sim, &set, buf, &actual, NULL));
	assert_true(pbm_sim_is_lit(sim));
	pbm_mock_panel_unlock_sim(panel);
}

static void
test_idle_wakeups(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) panel = plug(f, "IDLE1");
	const gchar *args[] = { "idle", "1209", "7062", "14", NULL };
	g_autofree gchar *ready = NULL;
	g_autofree gchar *done = NULL;
	gdouble idle = 0, lit = 0;
	Child child;
	int status;

	child_spawn(&child, args);
	ready = child_read_line(&child, 10000);
	if (ready == NULL || strcmp(ready, "ready") != 0) {
		child_wait(&child, 0);
		fail_msg("the child did not get ready");
	}
	g_usleep(G_USEC_PER_SEC); /* let the power-on report and setup settle */
	measure("idle", child.pid, panel, 5.0, &idle);
	light_directly(panel);
	g_usleep(G_USEC_PER_SEC / 2);
	measure("lit", child.pid, panel, 5.0, &lit);

	done = child_read_line(&child, 15000);
	status = child_wait(&child, 5000);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_non_null(done);
	printf("# child: %s\n", done);
	/* Generous bounds: a spinning client wakes thousands of times a second.
	 * Each emulated ioctl costs the client several wakeups of its own (the
	 * preload serves the emulator's reads and writes of its memory). */
	assert_true(idle < 50.0);
	assert_true(lit < 1000.0);
}

int
main(int argc, char **argv)
{
	g_autofree gchar *fallback = NULL;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enumerate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_output_lights, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_report, setup, teardown),
		cmocka_unit_test_setup_teardown(test_injected_report, setup, teardown),
		cmocka_unit_test_setup_teardown(test_halted_endpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_request_stalls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hang_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_override_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hotplug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_handle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_panels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plug_cycles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_wakeups, setup, teardown),
	};

	child_path = g_getenv("PBM_MOCK_USB_CHILD");
	if (child_path == NULL) {
		g_autofree gchar *dir = g_path_get_dirname(argv[0]);
		fallback = g_build_filename(dir, "mock-usb-child", NULL);
		child_path = fallback;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
