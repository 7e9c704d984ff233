/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The panel emulated at the usbdevfs level: a umockdev testbed in which each
 * plugged panel is a USB device (sysfs attributes, descriptors, device node,
 * uevents) whose ioctls are answered by the virtual panel firmware (PbmSim)
 * running on the real monotonic clock. An unmodified libusb program, in this
 * process or in a child that inherits LD_PRELOAD and UMOCKDEV_DIR, finds the
 * panel by VID:PID, opens it, claims interface 0, does vendor control
 * transfers and receives the device's reports on its interrupt endpoint (0x81 unless set).
 *
 * The process must run under the umockdev preload (umockdev-wrapper, or
 * LD_PRELOAD=libumockdev-preload.so.0). Device time is CLOCK_MONOTONIC since
 * plug; a timer thread of the bus advances every model to its next deadline.
 * The model is also touched by umockdev's worker thread: tests reach it only
 * between pbm_mock_panel_lock_sim() and pbm_mock_panel_unlock_sim().
 *
 * The device node is a FIFO whose POLLOUT readiness (what libusb polls on a
 * usbfs fd) is set exactly while some client has a finished URB to reap, so
 * an idle client sleeps until a report is due. All clients of one panel share
 * that readiness. Each emulated ioctl still costs the client several context
 * switches (the preload serves the emulator's reads and writes of its memory
 * over a socket): a libusb client reading reports does 3 ioctls and about 20
 * context switches per report, about 20/s idle and 200/s lit.
 *
 * Close every libusb handle on a panel (or end the child holding it) before
 * pbm_mock_bus_free(): a client with the device open when the testbed goes
 * away hangs in its next ioctl.
 */
#pragma once

#include <glib.h>
#include <umockdev.h>

#include "pbm-sim.h"

G_BEGIN_DECLS

#define PBM_MOCK_ERROR (pbm_mock_error_quark())
GQuark pbm_mock_error_quark(void);

typedef enum {
	PBM_MOCK_ERROR_NO_PRELOAD, /* the process does not run under the umockdev preload */
	PBM_MOCK_ERROR_TMPDIR,     /* TMPDIR is too long for the testbed's unix sockets */
	PBM_MOCK_ERROR_BUS_FULL,   /* no bus/device number left */
	PBM_MOCK_ERROR_FAILED,     /* a file or the testbed could not be set up */
} PbmMockError;

typedef struct _PbmMockBus PbmMockBus;
typedef struct _PbmMockPanel PbmMockPanel;

/* ---- bus: the testbed, and the timer thread driving every panel ---- */

PbmMockBus *pbm_mock_bus_new(GError **error);
/* Unplugs the panels still plugged, stops the timer thread and removes the
 * testbed directory (/tmp/umockdev.XXXXXX). */
void pbm_mock_bus_free(PbmMockBus *bus);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmMockBus, pbm_mock_bus_free)

UMockdevTestbed *pbm_mock_bus_get_testbed(PbmMockBus *bus);
const gchar *pbm_mock_bus_get_root_dir(PbmMockBus *bus);
/* The address of the interrupt endpoint of the panels plugged from now on:
 * PBM_USB_EP_REPORT (0x81) unless set, as a UDC that numbers its endpoints
 * differently would give another (an OUT address makes a panel without the
 * interrupt IN endpoint pbmd needs). */
void pbm_mock_bus_set_report_endpoint(PbmMockBus *bus, guint8 address);

/* ---- panels ---- */

/* Adds a powered panel running config (NULL: pbm_sim_config_init(NULL)) with
 * the given USB ids, and sends its "add" uevent. config->protocol_minor 0
 * makes it a 1.0 panel (GET_INFO says 1.0, GET_RESULT STALLs). Each plug gets a fresh
 * busnum/devnum, as a real re-enumeration does; several panels may be
 * plugged at once. Replug = plug again with the same serial. */
PbmMockPanel *pbm_mock_panel_plug(PbmMockBus *bus, const PbmSimConfig *config, guint16 vid,
                                  guint16 pid, GError **error);
/* Unplugs and frees: the device's fds answer ENODEV, the "remove" uevent
 * goes out, then the URBs in flight end with -ESHUTDOWN (libusb:
 * LIBUSB_TRANSFER_NO_DEVICE). A stale handle keeps getting ENODEV. */
void pbm_mock_panel_unplug(PbmMockPanel *panel);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmMockPanel, pbm_mock_panel_unplug)

guint8 pbm_mock_panel_get_busnum(PbmMockPanel *panel);
guint8 pbm_mock_panel_get_devnum(PbmMockPanel *panel);
/* "/dev/bus/usb/BBB/DDD" and "/sys/devices/B-P", as clients see them. */
const gchar *pbm_mock_panel_get_devnode(PbmMockPanel *panel);
const gchar *pbm_mock_panel_get_syspath(PbmMockPanel *panel);

/* The model, brought up to the current device time and locked against the
 * worker and timer threads. Press the button, inject faults, read state;
 * never block while holding it. Reports the model queued while locked are
 * delivered on unlock. The harness takes the model's reports as they are
 * queued and holds them for the host (same depth, same oldest-first drop),
 * so pbm_sim_pending_reports() reads 0 here. */
PbmSim *pbm_mock_panel_lock_sim(PbmMockPanel *panel);
void pbm_mock_panel_unlock_sim(PbmMockPanel *panel);
/* Whether the model's LEDs are on now: what the tests check against the
 * daemon's idea of the panel, taken under the lock like any model read. */
gboolean pbm_mock_panel_is_lit(PbmMockPanel *panel);

/* ---- faults (vendor requests only; standard requests are not affected) ---- */

/* Control transfers with this bRequest end with a STALL (urb status -EPIPE,
 * libusb: LIBUSB_ERROR_PIPE / LIBUSB_TRANSFER_STALL). */
void pbm_mock_panel_set_stall(PbmMockPanel *panel, guint8 request, gboolean stall);
/* Like a panel behind Linux FunctionFS, whose kernel acknowledges the data
 * stage of an OUT control transfer before the firmware sees the data: OUT
 * transfers with data complete without a STALL whatever the model answers
 * (pbm_mock_panel_set_stall() still STALLs). A refusal then shows only
 * through GET_RESULT, as on such a device. */
void pbm_mock_panel_set_ack_out_data(PbmMockPanel *panel, gboolean ack);
/* Control transfers with this bRequest are never completed: the host times
 * out and discards the URB, which then ends with -ENOENT. */
void pbm_mock_panel_set_hang(PbmMockPanel *panel, guint8 request, gboolean hang);
/* An IN request with this bRequest returns these raw bytes (cut to wLength)
 * instead of the model's reply; the model does not see the request.
 * bytes NULL or len 0 removes the override. */
void pbm_mock_panel_override_reply(PbmMockPanel *panel, guint8 request, const guint8 *bytes,
                                   gsize len);
/* Queues raw bytes, possibly malformed or truncated, as the next interrupt IN
 * transfer, ahead of the model's reports. More than the URB's buffer ends
 * that transfer with -EOVERFLOW (libusb: LIBUSB_TRANSFER_OVERFLOW). */
void pbm_mock_panel_inject_report(PbmMockPanel *panel, const guint8 *bytes, gsize len);
/* Halts the interrupt endpoint: interrupt transfers end with -EPIPE until
 * the host clears the halt (libusb_clear_halt). */
void pbm_mock_panel_halt_report_endpoint(PbmMockPanel *panel);

/* ---- statistics ---- */

/* ioctls received from all clients since plug. */
guint64 pbm_mock_panel_get_ioctl_count(PbmMockPanel *panel);
/* Open device fds (clients) that issued at least one ioctl and are still
 * connected. */
guint pbm_mock_panel_get_client_count(PbmMockPanel *panel);
/* Interrupt transfers completed with a report (model or injected), and model
 * reports dropped because no host read them in time (the firmware queue of
 * PBM_SIM_REPORT_QUEUE_MAX overflowed). */
guint64 pbm_mock_panel_get_reports_sent(PbmMockPanel *panel);
guint64 pbm_mock_panel_get_reports_dropped(PbmMockPanel *panel);

G_END_DECLS
