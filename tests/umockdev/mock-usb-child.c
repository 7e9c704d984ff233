/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A plain libusb program run as a separate process under the emulated bus
 * (it inherits LD_PRELOAD and UMOCKDEV_DIR from the test):
 *
 *   mock-usb-child info VID PID
 *       opens the first VID:PID device, claims interface 0, does GET_INFO and
 *       prints "serial SERIAL".
 *   mock-usb-child idle VID PID SECONDS
 *       opens it, keeps one interrupt IN transfer on 0x81 submitted, prints
 *       "ready" and sits in libusb_handle_events() for SECONDS, then prints
 *       "reports N".
 *
 * Output lines go to stdout, which the test reads; exit status 0 on success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libusb.h>

#include "pbmd/protocol.h"

static unsigned reports;
static int transfer_failed;

static void LIBUSB_CALL
on_report(struct libusb_transfer *transfer)
{
	if (transfer->status == LIBUSB_TRANSFER_COMPLETED) {
		reports++;
		if (libusb_submit_transfer(transfer) == 0)
			return;
	}
	transfer_failed = 1;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
run_info(libusb_device_handle *handle)
{
	struct pbm_wire_info info;
	int r;

	r = libusb_control_transfer(handle, PBM_REQTYPE_IN, PBM_REQ_GET_INFO, 0, PBM_USB_INTERFACE,
	                            (unsigned char *)&info, sizeof(info), 2000);
	if (r != (int)sizeof(info)) {
		fprintf(stderr, "mock-usb-child: GET_INFO: %s\n",
		        r < 0 ? libusb_error_name(r) : "short reply");
		return 1;
	}
	printf("serial %.*s\n", (int)strnlen(info.serial, sizeof(info.serial)), info.serial);
	return 0;
}

static int
run_idle(libusb_context *ctx, libusb_device_handle *handle, double seconds)
{
	static unsigned char buf[PBM_USB_EP_REPORT_MAX_PACKET];
	struct libusb_transfer *transfer = libusb_alloc_transfer(0);
	double end;
	int r;

	libusb_fill_interrupt_transfer(transfer, handle, PBM_USB_EP_REPORT, buf, sizeof(buf),
	                               on_report, NULL, 0);
	r = libusb_submit_transfer(transfer);
	if (r != 0) {
		fprintf(stderr, "mock-usb-child: submit: %s\n", libusb_error_name(r));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	end = now_s() + seconds;
	/* Sleeps in libusb until something happens or the time is up: the
	 * only wakeups are the device's. */
	while (!transfer_failed && now_s() < end) {
		double left = end - now_s();
		struct timeval tv = { .tv_sec = (time_t)left,
			              .tv_usec =
			                      (suseconds_t)((left - (double)(time_t)left) * 1e6) };
		libusb_handle_events_timeout_completed(ctx, &tv, NULL);
	}
	if (!transfer_failed) {
		libusb_cancel_transfer(transfer);
		while (!transfer_failed)
			libusb_handle_events(ctx);
	}
	libusb_free_transfer(transfer);
	printf("reports %u\n", reports);
	return 0;
}

int
main(int argc, char **argv)
{
	libusb_context *ctx = NULL;
	libusb_device_handle *handle;
	unsigned vid, pid;
	int status;
	int r;

	if (argc < 4 || (strcmp(argv[1], "info") != 0 && strcmp(argv[1], "idle") != 0) ||
	    (strcmp(argv[1], "idle") == 0 && argc < 5)) {
		fprintf(stderr, "usage: %s info VID PID | idle VID PID SECONDS\n", argv[0]);
		return 2;
	}
	vid = (unsigned)strtoul(argv[2], NULL, 16);
	pid = (unsigned)strtoul(argv[3], NULL, 16);

	r = libusb_init(&ctx);
	if (r != 0) {
		fprintf(stderr, "mock-usb-child: libusb_init: %s\n", libusb_error_name(r));
		return 1;
	}
	handle = libusb_open_device_with_vid_pid(ctx, (uint16_t)vid, (uint16_t)pid);
	if (handle == NULL) {
		fprintf(stderr, "mock-usb-child: no %04x:%04x device\n", vid, pid);
		libusb_exit(ctx);
		return 1;
	}
	r = libusb_claim_interface(handle, PBM_USB_INTERFACE);
	if (r != 0) {
		fprintf(stderr, "mock-usb-child: claim: %s\n", libusb_error_name(r));
		libusb_close(handle);
		libusb_exit(ctx);
		return 1;
	}
	if (strcmp(argv[1], "info") == 0)
		status = run_info(handle);
	else
		status = run_idle(ctx, handle, strtod(argv[4], NULL));
	libusb_release_interface(handle, PBM_USB_INTERFACE);
	libusb_close(handle);
	libusb_exit(ctx);
	fflush(stdout);
	return status;
}
