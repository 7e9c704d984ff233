/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * PbmPanel and PbmPanelMonitor over the `sim` transport, with a manual
 * clock: commands, telemetry, events, faults, unplug and replug, and
 * devices that answer garbage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <libusb.h>

#include "pbm-manual-clock.h"
#include "pbm-panel-monitor.h"
#include "pbm-usb-error.h"

#define MS(x) ((gint64)(x)*1000)
#define S(x) ((gint64)(x)*G_USEC_PER_SEC)

typedef struct {
	PbmClock *clock;
	PbmPanelMonitor *monitor;
	guint added;
	guint connected;
	guint probe_failures;
	GError *probe_error;
} Fixture;

static void
on_added(PbmPanelMonitor *monitor, PbmPanel *panel, Fixture *f)
{
	f->added++;
}

static void
on_connected(PbmPanelMonitor *monitor, PbmPanel *panel, Fixture *f)
{
	f->connected++;
}

static void
on_probe_failed(PbmPanelMonitor *monitor, const gchar *location, const GError *error, Fixture *f)
{
	f->probe_failures++;
	g_clear_error(&f->probe_error);
	f->probe_error = g_error_copy(error);
}

static int
setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);

	f->clock = pbm_manual_clock_new();
	f->monitor = pbm_panel_monitor_new(f->clock);
	g_signal_connect(f->monitor, "panel-added", G_CALLBACK(on_added), f);
	g_signal_connect(f->monitor, "panel-connected", G_CALLBACK(on_connected), f);
	g_signal_connect(f->monitor, "probe-failed", G_CALLBACK(on_probe_failed), f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	Fixture *f = *state;

	pbm_panel_monitor_shutdown(f->monitor);
	g_object_unref(f->monitor);
	pbm_test_drain_main_context();
	g_object_unref(f->clock);
	g_clear_error(&f->probe_error);
	g_free(f);
	return 0;
}

static void
advance(Fixture *f, gint64 usec)
{
	pbm_manual_clock_advance(PBM_MANUAL_CLOCK(f->clock), usec);
}

static PbmSimTransport *
plug_sim(Fixture *f, const gchar *serial)
{
	PbmSimConfig config;
	g_autoptr(GError) error = NULL;
	PbmSimTransport *t;

	pbm_sim_config_init(&config, serial);
	t = pbm_panel_monitor_add_sim(f->monitor, &config, &error);
	assert_non_null(t);
	advance(f, 0);
	return t;
}

/* Runs an async panel operation to completion on the manual clock. */
typedef struct {
	gboolean done;
	gboolean ok;
	GError *error;
} Wait;

static void
op_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Wait *w = user_data;
	GTask *task = G_TASK(result);

	w->done = TRUE;
	/* Every panel operation finishes like this; propagate_pointer fails for
	 * boolean tasks, so read whichever was set. */
	if (g_task_had_error(task)) {
		w->ok = FALSE;
		g_task_propagate_boolean(task, &w->error);
	} else {
		w->ok = TRUE;
	}
}

static void
wait_done(Fixture *f, Wait *w)
{
	for (guint i = 0; i < 100 && !w->done; i++)
		advance(f, MS(1));
	assert_true(w->done);
}

static gboolean
heartbeat(Fixture *f, PbmPanel *panel, guint ms, GError **error)
{
	Wait w = { 0 };

	pbm_panel_heartbeat_async(panel, ms, NULL, op_done, &w);
	wait_done(f, &w);
	if (w.error != NULL)
		g_propagate_error(error, w.error);
	return w.ok;
}

static gboolean
set_output(Fixture *f, PbmPanel *panel, const PbmOutput *o, GError **error)
{
	Wait w = { 0 };

	pbm_panel_set_output_async(panel, o, NULL, op_done, &w);
	wait_done(f, &w);
	if (w.error != NULL)
		g_propagate_error(error, w.error);
	return w.ok;
}

static gboolean
simple_op(Fixture *f, PbmPanel *panel, gint which, GError **error)
{
	Wait w = { 0 };

	if (which == 0)
		pbm_panel_all_off_async(panel, NULL, op_done, &w);
	else
		pbm_panel_clear_fault_async(panel, NULL, op_done, &w);
	wait_done(f, &w);
	if (w.error != NULL)
		g_propagate_error(error, w.error);
	return w.ok;
}

static PbmOutput
output(guint16 red, guint16 nir, guint16 cap)
{
	PbmOutput o = { .level = { red, nir }, .duty = 1000, .session_cap_s = cap };
	return o;
}

static void
assert_panel_error(GError *error, PbmPanelError code, const gchar *needle)
{
	assert_non_null(error);
	if (!g_error_matches(error, PBM_PANEL_ERROR, code))
		fail_msg("expected panel error %d, got %s %d: %s", code,
		         g_quark_to_string(error->domain), error->code, error->message);
	if (needle != NULL && strstr(error->message, needle) == NULL)
		fail_msg("'%s' does not mention '%s'", error->message, needle);
}

/* ---- tests ---- */

static void
test_probe_and_describe(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmSimTransport) t = plug_sim(f, "PANEL-A");
	PbmPanel *panel = pbm_panel_monitor_find(f->monitor, "PANEL-A");

	assert_non_null(panel);
	assert_int_equal(f->added, 1);
	assert_int_equal(f->connected, 1);
	assert_true(pbm_panel_is_connected(panel));
	assert_int_equal(pbm_panel_get_channel_count(panel), 2);
	assert_int_equal(pbm_panel_get_channels(panel)[1].wavelength_nm, 850);
	assert_string_equal(pbm_panel_get_info(panel)->firmware, "sim-1.0.0");
	assert_string_equal(pbm_panel_get_location(panel), "sim:PANEL-A");
	/* the first periodic report gives the panel a status */
	advance(f, S(1));
	assert_non_null(pbm_panel_get_status(panel));
	assert_int_equal(pbm_panel_get_state(panel), PBM_PANEL_STATE_IDLE);
}

static guint report_count;

static void
count_report(PbmPanel *panel, gconstpointer report, gpointer user_data)
{
	report_count++;
}

static void
test_light_and_telemetry(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmSimTransport) t = plug_sim(f, "PANEL-B");
	PbmPanel *panel = pbm_panel_monitor_find(f->monitor, "PANEL-B");
	PbmOutput o = output(800, 600, 600);
	g_autoptr(GError) error = NULL;

	/* the firmware refuses light without an armed watchdog */
	assert_false(set_output(f, panel, &o, &error));
	assert_panel_error(error, PBM_PANEL_ERROR_STALL, "watchdog");
	g_clear_error(&error);

	assert_true(heartbeat(f, panel, 3000, &error));
	assert_true(set_output(f, panel, &o, &error));
	/* the command refreshes the status at once */
	assert_int_equal(pbm_panel_get_state(panel), PBM_PANEL_STATE_LIT);
	assert_int_equal(pbm_panel_get_status(panel)->level[0], 800);

	report_count = 0;
	g_signal_connect(panel, "report", G_CALLBACK(count_report), NULL);
	advance(f, S(1));
	assert_in_range(report_count, 9, 11); /* 10 Hz while lit */
	g_signal_handlers_disconnect_by_func(panel, count_report, NULL);

	assert_true(simple_op(f, panel, 0, &error));
	assert_int_equal(pbm_panel_get_state(panel), PBM_PANEL_STATE_IDLE);
	assert_int_equal(pbm_panel_get_status(panel)->watchdog, PBM_WATCHDOG_DISARMED);
}

static void
test_refuses_before_sending(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmSimTransport) t = plug_sim(f, "PANEL-C");
	PbmPanel *panel = pbm_panel_monitor_find(f->monitor, "PANEL-C");
	g_autoptr(GError) error = NULL;
	PbmOutput o = output(1001, 0, 60);
	Wait w = { 0 };

	assert_true(heartbeat(f, panel, 3000, &error));
	assert_false(set_output(f, panel, &o, &error));
	assert_panel_error(error, PBM_PANEL_ERROR_INVALID, "1001");
	g_clear_error(&error);

	o = output(100, 100, 3601);
	assert_false(set_output(f, panel, &o, &error));
	assert_panel_error(error, PBM_PANEL_ERROR_INVALID, "3600");
	g_clear_error(&error);

	o = (PbmOutput){ .level = { 0, 0, 500 }, .duty = 1000, .session_cap_s = 60 };
	assert_false(set_output(f, panel, &o, &error));
	assert_panel_error(error, PBM_PANEL_ERROR_INVALID, "only 2 channels");
	g_clear_error(&error);

	assert_false(heartbeat(f, panel, 20000, &error));
	assert_panel_error(error, PBM_PANEL_ERROR_INVALID, "500..10000");
	g_clear_error(&error);

	pbm_panel_identify_async(panel, 0, NULL, op_done, &w);
	wait_done(f, &w);
	assert_false(w.ok);
	assert_panel_error(w.error, PBM_PANEL_ERROR_INVALID, "1..60");
	g_clear_error(&w.error);
	assert_false(pbm_sim_is_lit(pbm_sim_transport_get_sim(t)));
}

static guint seen_events;

static void
collect_events(PbmPanel *panel, guint events, gconstpointer status, gpointer user_data)
{
	seen_events |= events;
}

static void
test_watchdog_and_button_events(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmSimTransport) t = plug_sim(f, "PANEL-D");
	PbmPanel *panel = pbm_panel_monitor_find(f->monitor, "PANEL-D");
	PbmOutput o = output(500, 500, 600);
	g_autoptr(GError) error = NULL;

	g_signal_connect(panel, "events", G_CALLBACK(collect_events), NULL);
	seen_events = 0;
	assert_true(heartbeat(f, panel, 3000, &error));
	assert_true(set_output(f, panel, &o, &error));
	/* the host goes quiet: the firmware switches off on its own */
	advance(f, MS(3100));
	assert_true(seen_events & PBM_EVENT_WATCHDOG_EXPIRED);
	assert_int_equal(pbm_panel_get_state(panel), PBM_PANEL_STATE_IDLE);

	seen_events = 0;
	assert_true(heartbeat(f, panel, 3000, &error));
	assert_true(set_output(f, panel, &o, &error));
	pbm_sim_press_button(pbm_sim_transport_get_sim(t));
	pbm_sim_transport_sync(t);
	advance(f, 0);
	assert_true(seen_events & PBM_EVENT_BUTTON);
	assert_int_equal(pbm_panel_get_state(panel), PBM_PANEL_STATE_IDLE);
	g_signal_handlers_disconnect_by_func(panel, collect_events, NULL);
}

static void
test_fault_and_clear(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmSimTransport) t = plug_sim(f, "PANEL-E");
	PbmPanel *panel = pbm_panel_monitor_find(f->monitor, "PANEL-E");
	PbmOutput o = output(500, 500, 600);
	g_autoptr(GError) error = NULL;

	assert_true(heartbeat(f, panel, 3000, &error));
	assert_true(set_output(f, panel, &o, &error));
	pbm_sim_set_fan_stalled(pbm_sim_transport_get_sim(t), TRUE);
	for (guint i = 0; i < 3; i++) {
		assert_true(heartbeat(f, panel, 3000, &error));
		advance(f, S(1));
	}
	assert_int_equal(pbm_panel_get_state(panel), PBM_PANEL_STATE_FAULT);
	assert_true(pbm_panel_get_status(panel)->faults & PBM_FAULT_FAN_STALL);
	assert_false(set_output(f, panel, &o, &error));
	assert_panel_error(error, PBM_PANEL_ERROR_STALL, "fan-stall");
	g_clear_error(&error);

	pbm_sim_set_fan_stalled(pbm_sim_transport_get_sim(t), FALSE);
	assert_true(simple_op(f, panel, 1, &error));
	assert_int_equal(pbm_panel_get_state(panel), PBM_PANEL_STATE_IDLE);
}

static guint disconnects;

static void
count_disconnect(PbmPanel *panel, gpointer user_data)
{
	disconnects++;
}

static void
test_unplug_replug_same_object(void **state)
{
	Fixture *f = *state;
	PbmSimTransport *t = plug_sim(f, "PANEL-F");
	PbmPanel *panel = pbm_panel_monitor_find(f->monitor, "PANEL-F");
	PbmOutput o = output(500, 500, 600);
	g_autoptr(GError) error = NULL;

	disconnects = 0;
	g_signal_connect(panel, "disconnected", G_CALLBACK(count_disconnect), NULL);
	assert_true(heartbeat(f, panel, 3000, &error));
	assert_true(set_output(f, panel, &o, &error));

	/* pulled while lit: the owner hears it at once */
	pbm_sim_transport_unplug(t);
	g_object_unref(t);
	assert_int_equal(disconnects, 1);
	assert_false(pbm_panel_is_connected(panel));
	assert_int_equal(pbm_panel_get_state(panel), PBM_PANEL_STATE_DISCONNECTED);
	assert_false(set_output(f, panel, &o, &error));
	assert_panel_error(error, PBM_PANEL_ERROR_NOT_CONNECTED, "cable");
	g_clear_error(&error);

	/* 100 replugs: the same object every time, idle, nothing left over */
	for (guint i = 0; i < 100; i++) {
		t = plug_sim(f, "PANEL-F");
		assert_ptr_equal(pbm_panel_monitor_find(f->monitor, "PANEL-F"), panel);
		assert_true(pbm_panel_is_connected(panel));
		assert_int_equal(pbm_panel_get_state(panel), PBM_PANEL_STATE_IDLE);
		pbm_sim_transport_unplug(t);
		g_object_unref(t);
	}
	assert_int_equal(f->added, 1);
	assert_int_equal(f->connected, 101);
	assert_int_equal(disconnects, 101);
	assert_int_equal(pbm_panel_monitor_get_panels(f->monitor)->len, 1);
	g_signal_handlers_disconnect_by_func(panel, count_disconnect, NULL);
}

static void
test_second_panel_and_duplicate_serial(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmSimTransport) a = plug_sim(f, "PANEL-G");
	g_autoptr(PbmSimTransport) b = plug_sim(f, "PANEL-H");
	g_autoptr(PbmSimTransport) c = NULL;

	assert_int_equal(pbm_panel_monitor_get_panels(f->monitor)->len, 2);
	c = plug_sim(f, "PANEL-G");
	assert_int_equal(f->probe_failures, 1);
	assert_panel_error(f->probe_error, PBM_PANEL_ERROR_BUSY, "already connected");
	assert_int_equal(pbm_panel_monitor_get_panels(f->monitor)->len, 2);
	/* the first PANEL-G is untouched */
	assert_string_equal(pbm_panel_get_location(pbm_panel_monitor_find(f->monitor, "PANEL-G")),
	                    "sim:PANEL-G");
}

static guint faulty_count;

static void
count_faulty(PbmPanel *panel, const GError *error, gpointer user_data)
{
	faulty_count++;
}

static void
test_garbage_report_untrusts(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmSimTransport) t = plug_sim(f, "PANEL-I");
	PbmPanel *panel = pbm_panel_monitor_find(f->monitor, "PANEL-I");
	PbmOutput o = output(500, 500, 600);
	g_autoptr(GError) error = NULL;
	const guint8 junk[13] = { 0x01, 0xff, 0xee };
	g_autoptr(GBytes) raw = g_bytes_new(junk, sizeof(junk));

	faulty_count = 0;
	g_signal_connect(panel, "faulty", G_CALLBACK(count_faulty), NULL);
	assert_true(heartbeat(f, panel, 3000, &error));
	assert_true(set_output(f, panel, &o, &error));
	assert_true(pbm_sim_is_lit(pbm_sim_transport_get_sim(t)));

	/* a truncated report on the interrupt endpoint */
	pbm_transport_emit_report(PBM_TRANSPORT(t), raw);
	advance(f, MS(10));
	assert_int_equal(faulty_count, 1);
	assert_int_equal(pbm_panel_get_state(panel), PBM_PANEL_STATE_FAULTY);
	/* it is switched off and no longer obeyed */
	assert_false(pbm_sim_is_lit(pbm_sim_transport_get_sim(t)));
	assert_false(set_output(f, panel, &o, &error));
	assert_panel_error(error, PBM_PANEL_ERROR_UNTRUSTED, "replug");
	g_clear_error(&error);
	/* switching off is still allowed */
	assert_true(simple_op(f, panel, 0, &error));
	g_signal_handlers_disconnect_by_func(panel, count_faulty, NULL);
}

/* ---- 1.1: the result of the last command ---- */

/* What the model says GET_RESULT(SET_OUTPUT) is, asked behind pbmd's back. */
static PbmResult
model_result(PbmSimTransport *t)
{
	struct pbm_wire_setup setup = { PBM_REQTYPE_IN, PBM_REQ_GET_RESULT, PBM_REQ_SET_OUTPUT,
		                        PBM_USB_INTERFACE, sizeof(struct pbm_wire_result) };
	guint8 buf[sizeof(struct pbm_wire_result)];
	gsize actual = 0;
	PbmResult r;

	assert_true(pbm_sim_control(pbm_sim_transport_get_sim(t), &setup, buf, &actual, NULL));
	assert_true(pbm_result_decode(buf, actual, PBM_REQ_SET_OUTPUT, &r, NULL));
	return r;
}

static void
test_result_confirms_output(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmSimTransport) t = plug_sim(f, "PANEL-R");
	PbmPanel *panel = pbm_panel_monitor_find(f->monitor, "PANEL-R");
	PbmOutput a = output(800, 600, 600), b = output(300, 200, 600);
	g_autoptr(GError) error = NULL;
	Wait wa = { 0 }, wb = { 0 };

	assert_int_equal(pbm_panel_get_info(panel)->proto_minor, 1);
	assert_true(heartbeat(f, panel, 3000, &error));
	assert_true(set_output(f, panel, &a, &error));
	assert_int_equal(model_result(t).count, 1);
	assert_int_equal(pbm_panel_get_status(panel)->level[0], 800);

	/* two commands at once: each is confirmed by its own reading */
	pbm_panel_set_output_async(panel, &a, NULL, op_done, &wa);
	pbm_panel_set_output_async(panel, &b, NULL, op_done, &wb);
	wait_done(f, &wa);
	wait_done(f, &wb);
	if (!wa.ok || !wb.ok)
		fail_msg("%s", (wa.error != NULL ? wa.error : wb.error)->message);
	assert_int_equal(model_result(t).count, 3);
	assert_int_equal(pbm_panel_get_status(panel)->level[0], 300);

	/* a panel that STALLs also says why */
	assert_true(simple_op(f, panel, 0, &error));
	assert_false(set_output(f, panel, &a, &error));
	assert_panel_error(error, PBM_PANEL_ERROR_STALL, "STALL");
	assert_non_null(strstr(error->message, "the panel says its watchdog was not armed"));
	assert_non_null(strstr(error->message, "(result 9, watchdog)"));
}

/* A 1.0 panel STALLs GET_RESULT: pbmd never asks it, and lights it. */
static void
test_protocol_1_0_panel(void **state)
{
	Fixture *f = *state;
	PbmSimConfig config;
	g_autoptr(PbmSimTransport) t = NULL;
	g_autoptr(GError) error = NULL;
	PbmPanel *panel;
	PbmOutput o = output(500, 500, 600);

	pbm_sim_config_init(&config, "PANEL-10");
	config.protocol_minor = 0;
	t = pbm_panel_monitor_add_sim(f->monitor, &config, &error);
	assert_non_null(t);
	advance(f, 0);
	panel = pbm_panel_monitor_find(f->monitor, "PANEL-10");
	assert_non_null(panel);
	assert_int_equal(pbm_panel_get_info(panel)->proto_minor, 0);
	assert_true(heartbeat(f, panel, 3000, &error));
	if (!set_output(f, panel, &o, &error))
		fail_msg("%s", error->message);
	assert_true(pbm_sim_is_lit(pbm_sim_transport_get_sim(t)));
	assert_int_equal(pbm_panel_get_state(panel), PBM_PANEL_STATE_LIT);
	/* a refusal is a STALL, as ever */
	assert_true(simple_op(f, panel, 0, &error));
	assert_false(set_output(f, panel, &o, &error));
	assert_panel_error(error, PBM_PANEL_ERROR_STALL, "watchdog");
	assert_false(pbm_sim_is_lit(pbm_sim_transport_get_sim(t)));
}

/* A panel behind a USB stack like FunctionFS: OUT data is acknowledged
 * before the firmware judges it, so a refused SET_OUTPUT does not STALL.
 * Wraps the sim transport, and can also lose a SET_OUTPUT on the way, let
 * another one in with it, or fail or garble GET_RESULT replies. */
#define TEST_TYPE_FFS (test_ffs_get_type())
G_DECLARE_FINAL_TYPE(TestFfs, test_ffs, TEST, FFS, GObject)

struct _TestFfs {
	GObject parent_instance;
	PbmSimTransport *inner;
	gboolean lose_set_output;
	gboolean duplicate_set_output; /* another SET_OUTPUT reaches the panel first */
	guint stall_results;           /* this many GET_RESULTs STALL */
	gboolean garble_results;
};

static void test_ffs_iface_init(PbmTransportInterface *iface);
G_DEFINE_TYPE_WITH_CODE(TestFfs, test_ffs, G_TYPE_OBJECT,
                        G_IMPLEMENT_INTERFACE(PBM_TYPE_TRANSPORT, test_ffs_iface_init))

static void
ffs_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	TestFfs *self = g_task_get_source_object(task);
	const struct pbm_wire_setup *setup = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	GBytes *reply = pbm_transport_control_finish(PBM_TRANSPORT(source), result, &error);

	if (reply == NULL && setup->request_type == PBM_REQTYPE_OUT && setup->length > 0 &&
	    g_error_matches(error, PBM_PANEL_ERROR, PBM_PANEL_ERROR_STALL))
		reply = g_bytes_new(NULL, 0);
	if (reply != NULL && setup->request == PBM_REQ_GET_RESULT && self->garble_results) {
		guint8 bad[sizeof(struct pbm_wire_result)] = { PBM_REQ_HEARTBEAT };
		g_bytes_unref(reply);
		reply = g_bytes_new(bad, sizeof(bad));
	}
	if (reply == NULL)
		g_task_return_error(task, g_steal_pointer(&error));
	else
		g_task_return_pointer(task, reply, (GDestroyNotify)g_bytes_unref);
}

static void
ffs_control_async(PbmTransport *transport, const struct pbm_wire_setup *setup, GBytes *data,
                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	TestFfs *self = TEST_FFS(transport);
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);

	g_task_set_task_data(task, g_memdup2(setup, sizeof(*setup)), g_free);
	if (setup->request == PBM_REQ_SET_OUTPUT && self->lose_set_output) {
		g_task_return_pointer(task, g_bytes_new(NULL, 0), (GDestroyNotify)g_bytes_unref);
		return;
	}
	if (setup->request == PBM_REQ_SET_OUTPUT && self->duplicate_set_output) {
		gsize actual;
		assert_true(pbm_sim_control(pbm_sim_transport_get_sim(self->inner), setup,
		                            (guint8 *)g_bytes_get_data(data, NULL), &actual, NULL));
	}
	if (setup->request == PBM_REQ_GET_RESULT && self->stall_results > 0) {
		self->stall_results--;
		g_task_return_new_error(task, PBM_PANEL_ERROR, PBM_PANEL_ERROR_STALL,
		                        "panel refused get-result (STALL)");
		return;
	}
	pbm_transport_control_async(PBM_TRANSPORT(self->inner), setup, data, cancellable, ffs_done,
	                            g_steal_pointer(&task));
}

static GBytes *
ffs_control_finish(PbmTransport *transport, GAsyncResult *result, GError **error)
{
	return g_task_propagate_pointer(G_TASK(result), error);
}

static void
ffs_start(PbmTransport *transport)
{
	pbm_transport_start(PBM_TRANSPORT(TEST_FFS(transport)->inner));
}

static void
ffs_close(PbmTransport *transport)
{
	pbm_transport_close(PBM_TRANSPORT(TEST_FFS(transport)->inner));
}

static const gchar *
ffs_location(PbmTransport *transport)
{
	return "ffs";
}

static void
test_ffs_iface_init(PbmTransportInterface *iface)
{
	iface->control_async = ffs_control_async;
	iface->control_finish = ffs_control_finish;
	iface->start = ffs_start;
	iface->close = ffs_close;
	iface->get_location = ffs_location;
}

static void
test_ffs_finalize(GObject *object)
{
	TestFfs *self = TEST_FFS(object);

	g_signal_handlers_disconnect_by_data(self->inner, self);
	g_object_unref(self->inner);
	G_OBJECT_CLASS(test_ffs_parent_class)->finalize(object);
}

static void
test_ffs_class_init(TestFfsClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = test_ffs_finalize;
}

static void
test_ffs_init(TestFfs *self)
{
}

static void
ffs_forward_report(PbmTransport *inner, GBytes *raw, TestFfs *self)
{
	pbm_transport_emit_report(PBM_TRANSPORT(self), raw);
}

static void
probe_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	PbmPanel **panel = user_data;
	g_autoptr(GError) error = NULL;
	PbmInfo info;
	PbmChannel channels[PBM_MAX_CHANNELS];

	if (!pbm_panel_probe_finish(result, &info, channels, &error))
		fail_msg("probe: %s", error->message);
	*panel = pbm_panel_new(&info, channels);
}

/* A FunctionFS-like 1.1 panel, probed and attached as pbmd does. */
static PbmPanel *
attach_ffs(Fixture *f, const gchar *serial, TestFfs **ffs)
{
	PbmSimConfig config;
	PbmPanel *panel = NULL;
	g_autoptr(GError) error = NULL;
	TestFfs *t = g_object_new(TEST_TYPE_FFS, NULL);
	PbmInfo info;
	PbmChannel channels[PBM_MAX_CHANNELS];

	pbm_sim_config_init(&config, serial);
	t->inner = pbm_sim_transport_new(f->clock, &config, &error);
	assert_non_null(t->inner);
	g_signal_connect(t->inner, "report", G_CALLBACK(ffs_forward_report), t);
	pbm_panel_probe_async(PBM_TRANSPORT(t), NULL, probe_done, &panel);
	for (guint i = 0; i < 100 && panel == NULL; i++)
		advance(f, MS(1));
	assert_non_null(panel);
	/* attach takes what a new probe read; here, the same again */
	info = *pbm_panel_get_info(panel);
	memcpy(channels, pbm_panel_get_channels(panel), sizeof(channels));
	assert_true(pbm_panel_attach(panel, PBM_TRANSPORT(t), &info, channels, &error));
	advance(f, MS(1));
	*ffs = t;
	return panel;
}

static gboolean
ffs_lit(TestFfs *ffs)
{
	return pbm_sim_is_lit(pbm_sim_transport_get_sim(ffs->inner));
}

/* The panel acknowledges every SET_OUTPUT; pbmd counts light as on only
 * when GET_RESULT says so, and names the panel's reason when not. */
static void
test_silent_refusal_named(void **state)
{
	Fixture *f = *state;
	g_autoptr(TestFfs) ffs = NULL;
	g_autoptr(PbmPanel) panel = attach_ffs(f, "FFS-A", &ffs);
	PbmOutput o = output(500, 500, 600);
	g_autoptr(GError) error = NULL;

	/* no heartbeat yet: refused, silently on the wire */
	assert_false(set_output(f, panel, &o, &error));
	assert_panel_error(error, PBM_PANEL_ERROR_STALL,
	                   "panel FFS-A refused set-output: its watchdog was not armed");
	assert_non_null(strstr(error->message, "(result 9, watchdog)"));
	g_clear_error(&error);
	assert_false(ffs_lit(ffs));

	assert_true(heartbeat(f, panel, 3000, &error));
	if (!set_output(f, panel, &o, &error))
		fail_msg("%s", error->message);
	assert_true(ffs_lit(ffs));
	assert_int_equal(pbm_panel_get_state(panel), PBM_PANEL_STATE_LIT);

	/* a fault latches: the next command is refused and says why */
	pbm_sim_set_led_string_fault(pbm_sim_transport_get_sim(ffs->inner), 1, TRUE);
	assert_false(ffs_lit(ffs));
	assert_false(set_output(f, panel, &o, &error));
	assert_panel_error(error, PBM_PANEL_ERROR_STALL, "a fault is latched");
	assert_non_null(strstr(error->message, "(result 10, fault)"));
	assert_false(ffs_lit(ffs));
	/* switching off is still confirmed */
	o = output(0, 0, 0);
	if (!set_output(f, panel, &o, &error))
		fail_msg("%s", error->message);
	assert_true(simple_op(f, panel, 0, &error));
}

/* A SET_OUTPUT the panel never counted, a count that jumps, a reading that
 * failed or makes no sense: none counts as done. */
static void
test_unconfirmed_output(void **state)
{
	Fixture *f = *state;
	g_autoptr(TestFfs) ffs = NULL;
	g_autoptr(PbmPanel) panel = attach_ffs(f, "FFS-B", &ffs);
	PbmOutput o = output(400, 400, 600);
	g_autoptr(GError) error = NULL;
	guint8 data[sizeof(struct pbm_wire_output)];
	struct pbm_wire_setup setup = { PBM_REQTYPE_OUT, PBM_REQ_SET_OUTPUT, 0, PBM_USB_INTERFACE,
		                        sizeof(data) };
	gsize actual;

	assert_true(heartbeat(f, panel, 3000, &error));
	/* lost on the way: the count does not move */
	ffs->lose_set_output = TRUE;
	assert_false(set_output(f, panel, &o, &error));
	assert_panel_error(error, PBM_PANEL_ERROR_STALL,
	                   "panel FFS-B did not receive set-output: its count of set-output "
	                   "requests stayed at 0");
	g_clear_error(&error);
	assert_false(ffs_lit(ffs));
	ffs->lose_set_output = FALSE;
	if (!set_output(f, panel, &o, &error))
		fail_msg("%s", error->message);
	assert_true(ffs_lit(ffs));

	/* someone else's command between pbmd's does not matter ... */
	assert_true(pbm_output_encode(&o, data, NULL));
	assert_true(pbm_sim_control(pbm_sim_transport_get_sim(ffs->inner), &setup, data, &actual,
	                            NULL));
	if (!set_output(f, panel, &o, &error))
		fail_msg("%s", error->message);
	/* ... but one that comes with it does: the result may be either's */
	ffs->duplicate_set_output = TRUE;
	assert_false(set_output(f, panel, &o, &error));
	assert_panel_error(error, PBM_PANEL_ERROR_STALL, "went from 3 to 5, not up by one");
	g_clear_error(&error);
	ffs->duplicate_set_output = FALSE;

	/* the reading fails: not confirmed; the next command reads the count
	 * again first, and is confirmed */
	ffs->stall_results = 1;
	assert_false(set_output(f, panel, &o, &error));
	assert_panel_error(error, PBM_PANEL_ERROR_STALL, "set-output not confirmed");
	assert_non_null(strstr(error->message, "get-result"));
	g_clear_error(&error);
	if (!set_output(f, panel, &o, &error))
		fail_msg("%s", error->message);
	assert_int_equal(model_result(ffs->inner).count, 7);

	/* a reading about another request: the panel is not trusted any more */
	ffs->garble_results = TRUE;
	assert_false(set_output(f, panel, &o, &error));
	assert_panel_error(error, PBM_PANEL_ERROR_UNTRUSTED, "malformed result");
	assert_int_equal(pbm_panel_get_state(panel), PBM_PANEL_STATE_FAULTY);
	advance(f, MS(10));
	assert_false(ffs_lit(ffs));
}

/* ---- a transport with canned replies, for devices that lie ---- */

#define TEST_TYPE_CANNED (test_canned_get_type())
G_DECLARE_FINAL_TYPE(TestCanned, test_canned, TEST, CANNED, GObject)

struct _TestCanned {
	GObject parent_instance;
	GBytes *info;
	GBytes *channels;
};

static void test_canned_iface_init(PbmTransportInterface *iface);
G_DEFINE_TYPE_WITH_CODE(TestCanned, test_canned, G_TYPE_OBJECT,
                        G_IMPLEMENT_INTERFACE(PBM_TYPE_TRANSPORT, test_canned_iface_init))

static void
canned_control_async(PbmTransport *transport, const struct pbm_wire_setup *setup, GBytes *data,
                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	TestCanned *self = TEST_CANNED(transport);
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	GBytes *reply = setup->request == PBM_REQ_GET_INFO ? self->info : self->channels;

	g_task_return_pointer(task, g_bytes_ref(reply), (GDestroyNotify)g_bytes_unref);
}

static GBytes *
canned_control_finish(PbmTransport *transport, GAsyncResult *result, GError **error)
{
	return g_task_propagate_pointer(G_TASK(result), error);
}

static void
canned_noop(PbmTransport *transport)
{
}

static const gchar *
canned_location(PbmTransport *transport)
{
	return "canned";
}

static void
test_canned_iface_init(PbmTransportInterface *iface)
{
	iface->control_async = canned_control_async;
	iface->control_finish = canned_control_finish;
	iface->start = canned_noop;
	iface->close = canned_noop;
	iface->get_location = canned_location;
}

static void
test_canned_finalize(GObject *object)
{
	TestCanned *self = TEST_CANNED(object);

	g_bytes_unref(self->info);
	g_bytes_unref(self->channels);
	G_OBJECT_CLASS(test_canned_parent_class)->finalize(object);
}

static void
test_canned_class_init(TestCannedClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = test_canned_finalize;
}

static void
test_canned_init(TestCanned *self)
{
}

static TestCanned *
canned_from_sim(guint8 *info, gsize info_len, guint8 *channels, gsize channels_len)
{
	TestCanned *t = g_object_new(TEST_TYPE_CANNED, NULL);

	t->info = g_bytes_new(info, info_len);
	t->channels = g_bytes_new(channels, channels_len);
	return t;
}

static void
probe_canned(TestCanned *t, PbmInfo *info, GError **error, gboolean *ok)
{
	Wait w = { 0 };
	PbmChannel ch[PBM_MAX_CHANNELS];

	pbm_panel_probe_async(PBM_TRANSPORT(t), NULL, op_done, &w);
	/* op_done cannot read the probe result: probe again synchronously */
	while (!w.done)
		g_main_context_iteration(NULL, TRUE);
	*ok = w.ok;
	if (w.error != NULL)
		g_propagate_error(error, w.error);
	(void)info;
	(void)ch;
}

static void
test_probe_rejects_lies(void **state)
{
	PbmSimConfig config;
	g_autoptr(PbmSim) sim = NULL;
	guint8 info[sizeof(struct pbm_wire_info)];
	guint8 channels[PBM_CHANNELS_REPLY_SIZE(2)];
	g_autoptr(GError) error = NULL;
	gboolean ok;

	pbm_sim_config_init(&config, "LIAR");
	sim = pbm_sim_new(&config, NULL);
	assert_true(pbm_info_encode(pbm_sim_get_info(sim), info, NULL));
	assert_int_equal(
	        pbm_channels_encode(pbm_sim_get_channels(sim), 2, channels, sizeof(channels), NULL),
	        sizeof(channels));

	{
		g_autoptr(TestCanned) t =
		        canned_from_sim(info, sizeof(info), channels, sizeof(channels));
		probe_canned(t, NULL, &error, &ok);
		assert_true(ok);
	}
	{
		/* protocol 2.1: both versions are named */
		guint8 v2[sizeof(info)];
		memcpy(v2, info, sizeof(info));
		v2[0] = 2;
		v2[1] = 1;
		g_autoptr(TestCanned) t =
		        canned_from_sim(v2, sizeof(v2), channels, sizeof(channels));
		probe_canned(t, NULL, &error, &ok);
		assert_false(ok);
		assert_panel_error(error, PBM_PANEL_ERROR_VERSION, "2.1");
		assert_non_null(strstr(error->message, "pbmd speaks 1.1"));
		g_clear_error(&error);
	}
	{
		/* a channel table that disagrees with the info */
		guint8 bad[sizeof(channels)];
		memcpy(bad, channels, sizeof(channels));
		bad[4 + 40 + 1] = 7; /* band of channel 1 */
		g_autoptr(TestCanned) t = canned_from_sim(info, sizeof(info), bad, sizeof(bad));
		probe_canned(t, NULL, &error, &ok);
		assert_false(ok);
		assert_panel_error(error, PBM_PANEL_ERROR_PROTOCOL, "band");
		g_clear_error(&error);
	}
	{
		g_autoptr(TestCanned) t = canned_from_sim(info, 40, channels, sizeof(channels));
		probe_canned(t, NULL, &error, &ok);
		assert_false(ok);
		assert_panel_error(error, PBM_PANEL_ERROR_PROTOCOL, "40 bytes");
	}
}

static void
test_usb_error_messages(void **state)
{
	const gchar *node = "/dev/bus/usb/001/004";
	const struct {
		gint code;
		PbmPanelError expected;
		const gchar *needle;
	} cases[] = {
		{ LIBUSB_ERROR_ACCESS, PBM_PANEL_ERROR_PERMISSION, "70-pbmd.rules" },
		{ LIBUSB_ERROR_NO_DEVICE, PBM_PANEL_ERROR_NO_DEVICE, "unplugged" },
		{ LIBUSB_ERROR_BUSY, PBM_PANEL_ERROR_BUSY, "another program" },
		{ LIBUSB_ERROR_TIMEOUT, PBM_PANEL_ERROR_TIMEOUT, "in time" },
		{ LIBUSB_ERROR_PIPE, PBM_PANEL_ERROR_STALL, "STALL" },
		{ LIBUSB_ERROR_IO, PBM_PANEL_ERROR_IO, NULL },
		{ LIBUSB_ERROR_NO_MEM, PBM_PANEL_ERROR_IO, NULL },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error =
		        pbm_usb_error_new(cases[i].code, node, "opening the panel");
		assert_panel_error(error, cases[i].expected, cases[i].needle);
		/* every message names the device node and what was being done */
		assert_non_null(strstr(error->message, node));
		assert_non_null(strstr(error->message, "opening the panel"));
	}
	{
		g_autoptr(GError) error = pbm_usb_error_new(LIBUSB_ERROR_ACCESS, node, "opening");
		assert_non_null(strstr(error->message, "as the user pbmd"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probe_and_describe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_light_and_telemetry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_before_sending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watchdog_and_button_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_and_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unplug_replug_same_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_panel_and_duplicate_serial, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_garbage_report_untrusts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_result_confirms_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocol_1_0_panel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_refusal_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unconfirmed_output, setup, teardown),
		cmocka_unit_test(test_probe_rejects_lies),
		cmocka_unit_test(test_usb_error_messages),
	};

	return cmocka_run_group_tests_name("panel", tests, NULL, NULL);
}
