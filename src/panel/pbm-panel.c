/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-panel.h"

#include <string.h>

struct _PbmPanel {
	GObject parent_instance;

	PbmInfo info;
	PbmChannel channels[PBM_MAX_CHANNELS];
	PbmTransport *transport;
	gulong report_id;
	gulong disconnected_id;
	gulong failed_id;

	PbmStatus status;
	gboolean have_status;
	gboolean light_wanted;   /* pbmd's latest output command lights the panel */
	gboolean checking_stray; /* a GET_STATUS about light nobody asked for */
	gboolean have_seq;
	guint16 last_seq;
	PbmPanelState state;
	GError *faulty_reason; /* set: untrusted until replugged */
};

G_DEFINE_TYPE(PbmPanel, pbm_panel, G_TYPE_OBJECT)

enum { SIGNAL_REPORT, SIGNAL_EVENTS, SIGNAL_STATUS, SIGNAL_DISCONNECTED, SIGNAL_FAULTY, N_SIGNALS };
static guint signals[N_SIGNALS];

enum { PROP_0, PROP_STATE, PROP_CONNECTED, N_PROPS };
static GParamSpec *props[N_PROPS];

const gchar *
pbm_panel_state_to_string(PbmPanelState state)
{
	switch (state) {
	case PBM_PANEL_STATE_DISCONNECTED:
		return "disconnected";
	case PBM_PANEL_STATE_IDLE:
		return "idle";
	case PBM_PANEL_STATE_LIT:
		return "lit";
	case PBM_PANEL_STATE_FAULT:
		return "fault";
	case PBM_PANEL_STATE_FAULTY:
		return "faulty";
	default:
		return "unknown";
	}
}

/* ---- state ---- */

static PbmPanelState
compute_state(PbmPanel *self)
{
	if (self->transport == NULL)
		return PBM_PANEL_STATE_DISCONNECTED;
	if (self->faulty_reason != NULL)
		return PBM_PANEL_STATE_FAULTY;
	if (!self->have_status)
		return PBM_PANEL_STATE_IDLE;
	if (self->status.faults != 0)
		return PBM_PANEL_STATE_FAULT;
	if (self->status.flags & PBM_STATUS_LIT)
		return PBM_PANEL_STATE_LIT;
	return PBM_PANEL_STATE_IDLE;
}

static void
update_state(PbmPanel *self)
{
	PbmPanelState state = compute_state(self);

	if (state == self->state)
		return;
	g_debug("panel %s: %s -> %s", self->info.serial, pbm_panel_state_to_string(self->state),
	        pbm_panel_state_to_string(state));
	self->state = state;
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STATE]);
}

static void all_off_quietly(PbmPanel *self);
/* Asks the device for its status now (GET_STATUS) and updates the panel. */
static void refresh_status_async(PbmPanel *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
static gboolean refresh_status_finish(PbmPanel *self, GAsyncResult *result, GError **error);

static void
mark_faulty(PbmPanel *self, const GError *error)
{
	if (self->faulty_reason != NULL)
		return;
	self->faulty_reason = g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_UNTRUSTED,
	                                  "panel %s is not trusted: %s; unplug and replug it",
	                                  self->info.serial, error->message);
	update_state(self);
	g_signal_emit(self, signals[SIGNAL_FAULTY], 0, self->faulty_reason);
	/* Light from a device that talks nonsense is not under control. */
	all_off_quietly(self);
}

static void check_stray_light(PbmPanel *self);

static void
set_status(PbmPanel *self, const PbmStatus *status)
{
	self->status = *status;
	self->have_status = TRUE;
	update_state(self);
	g_signal_emit(self, signals[SIGNAL_STATUS], 0, &self->status);
	check_stray_light(self);
}

/* ---- light nobody asked for ---- */

static gboolean
stray(PbmPanel *self)
{
	return (self->status.flags & PBM_STATUS_LIT) && !self->light_wanted &&
	       self->transport != NULL;
}

static void
stray_checked(GObject *source, GAsyncResult *result, gpointer user_data)
{
	PbmPanel *self = PBM_PANEL(source);
	g_autoptr(GError) error = NULL;

	self->checking_stray = FALSE;
	if (!refresh_status_finish(self, result, &error) || !stray(self))
		return;
	g_warning("panel %s is lit and pbmd asked for no light (someone else commands it?); "
	          "switching it off",
	          self->info.serial);
	all_off_quietly(self);
}

/* A report can predate pbmd's last command to switch off; GET_STATUS,
 * ordered after that command on the control pipe, cannot. So a lit report
 * with no light wanted is checked once more, and if the panel is still lit
 * then, someone else lit it: another opener of the device node, or its
 * firmware. */
static void
check_stray_light(PbmPanel *self)
{
	if (!stray(self) || self->checking_stray)
		return;
	self->checking_stray = TRUE;
	refresh_status_async(self, NULL, stray_checked, NULL);
}

/* ---- telemetry ---- */

static void
on_report(PbmTransport *transport, GBytes *raw, gpointer user_data)
{
	PbmPanel *self = user_data;
	g_autoptr(GError) error = NULL;
	gsize len = 0;
	const guint8 *buf = g_bytes_get_data(raw, &len);
	PbmReport report;

	if (self->faulty_reason != NULL)
		return;
	if (!pbm_report_decode(buf, len, &report, &error)) {
		g_prefix_error(&error, "malformed report: ");
		mark_faulty(self, error);
		return;
	}
	if (self->have_seq && report.seq != (guint16)(self->last_seq + 1) &&
	    !(report.events & PBM_EVENT_RESET))
		g_debug("panel %s: %u report(s) lost", self->info.serial,
		        (guint16)(report.seq - self->last_seq - 1));
	self->have_seq = TRUE;
	self->last_seq = report.seq;
	set_status(self, &report.status);
	g_signal_emit(self, signals[SIGNAL_REPORT], 0, &report);
	if (report.events != 0)
		g_signal_emit(self, signals[SIGNAL_EVENTS], 0, (guint)report.events, &self->status);
}

static void
on_disconnected(PbmTransport *transport, gpointer user_data)
{
	pbm_panel_detach(PBM_PANEL(user_data));
}

static void
on_failed(PbmTransport *transport, const GError *error, gpointer user_data)
{
	PbmPanel *self = user_data;
	g_autoptr(GError) copy = g_error_copy(error);

	g_prefix_error(&copy, "telemetry stopped: ");
	mark_faulty(self, copy);
}

/* ---- control transfers ---- */

static void
control_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	PbmPanel *self = g_task_get_source_object(task);
	const gchar *what = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	GBytes *reply = pbm_transport_control_finish(PBM_TRANSPORT(source), result, &error);

	if (reply == NULL) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			g_prefix_error(&error, "panel %s: %s failed: ", self->info.serial, what);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	g_task_return_pointer(task, reply, (GDestroyNotify)g_bytes_unref);
}

static void
panel_control(PbmPanel *self, guint8 type, guint8 request, guint16 value, guint16 length,
              GBytes *data, gboolean allow_untrusted, GCancellable *cancellable,
              GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	struct pbm_wire_setup setup = {
		.request_type = type,
		.request = request,
		.value = value,
		.index = PBM_USB_INTERFACE,
		.length = length,
	};

	g_task_set_source_tag(task, panel_control);
	g_task_set_task_data(task, (gpointer)pbm_request_to_string(request), NULL);
	if (self->transport == NULL) {
		g_task_return_new_error(task, PBM_PANEL_ERROR, PBM_PANEL_ERROR_NOT_CONNECTED,
		                        "panel %s is not connected; check its cable",
		                        self->info.serial);
		return;
	}
	if (self->faulty_reason != NULL && !allow_untrusted) {
		g_task_return_error(task, g_error_copy(self->faulty_reason));
		return;
	}
	pbm_transport_control_async(self->transport, &setup, data, cancellable, control_done,
	                            g_steal_pointer(&task));
}

static void
control_out(PbmPanel *self, guint8 request, guint16 value, GBytes *data, gboolean allow_untrusted,
            GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	guint16 length = data != NULL ? (guint16)g_bytes_get_size(data) : 0;

	panel_control(self, PBM_REQTYPE_OUT, request, value, length, data, allow_untrusted,
	              cancellable, callback, user_data);
}

static gboolean
finish_boolean(PbmPanel *self, GAsyncResult *result, GError **error)
{
	g_autoptr(GBytes) reply = NULL;

	g_return_val_if_fail(g_task_is_valid(result, self), FALSE);
	reply = g_task_propagate_pointer(G_TASK(result), error);
	return reply != NULL;
}

/* A command changed the device: learn its new status without waiting for
 * the next periodic report. */
static void
refreshed_quietly(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GError) error = NULL;

	if (!refresh_status_finish(PBM_PANEL(source), result, &error))
		g_debug("%s", error->message);
}

/* Wraps a command so that success triggers a status refresh. */
static void
command_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) outer = user_data;
	PbmPanel *self = PBM_PANEL(source);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) reply = g_task_propagate_pointer(G_TASK(result), &error);

	if (reply == NULL) {
		g_task_return_error(outer, g_steal_pointer(&error));
		return;
	}
	if (self->transport != NULL)
		refresh_status_async(self, NULL, refreshed_quietly, NULL);
	g_task_return_pointer(outer, g_steal_pointer(&reply), (GDestroyNotify)g_bytes_unref);
}

static void
command(PbmPanel *self, guint8 request, guint16 value, GBytes *data, gboolean allow_untrusted,
        GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	GTask *outer = g_task_new(self, cancellable, callback, user_data);

	control_out(self, request, value, data, allow_untrusted, cancellable, command_done, outer);
}

/* ---- 1.1: confirming SET_OUTPUT ---- */

static gboolean
speaks_results(PbmPanel *self)
{
	return self->info.proto_major == 1 && self->info.proto_minor >= 1;
}

/* Asks the panel how many SET_OUTPUTs it has received and how the last one
 * went. Heartbeats sent meanwhile do not matter: the question names
 * SET_OUTPUT. */
static void
read_result_async(PbmPanel *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                  gpointer user_data)
{
	panel_control(self, PBM_REQTYPE_IN, PBM_REQ_GET_RESULT, PBM_REQ_SET_OUTPUT,
	              sizeof(struct pbm_wire_result), NULL, FALSE, cancellable, callback,
	              user_data);
}

/* A reply that does not decode makes the panel untrusted, as a malformed
 * status does. */
static gboolean
take_result(PbmPanel *self, GAsyncResult *res, PbmResult *out, GError **error)
{
	g_autoptr(GBytes) reply = g_task_propagate_pointer(G_TASK(res), error);
	const guint8 *buf;
	gsize len = 0;

	if (reply == NULL)
		return FALSE;
	buf = g_bytes_get_data(reply, &len);
	if (!pbm_result_decode(buf, len, PBM_REQ_SET_OUTPUT, out, error)) {
		g_prefix_error(error, "malformed result: ");
		mark_faulty(self, *error);
		g_clear_error(error);
		*error = g_error_copy(self->faulty_reason);
		return FALSE;
	}
	return TRUE;
}

/* A SET_OUTPUT on its way, between a reading of the panel's count before it
 * and one after it. */
typedef struct {
	guint pending; /* transfers not answered yet */
	GError *before_error;
	GError *set_error;
	GError *after_error;
	PbmResult before;
	PbmResult after;
} Confirm;

static void
confirm_free(Confirm *c)
{
	g_clear_error(&c->before_error);
	g_clear_error(&c->set_error);
	g_clear_error(&c->after_error);
	g_free(c);
}

/* "its watchdog was not armed: no heartbeat came in time (result 9, watchdog)" */
static gchar *
reason_of(const PbmResult *r)
{
	const gchar *name = pbm_result_to_string(r->result);

	return g_strdup_printf("%s (result %u, %s)", pbm_result_describe(r->result), r->result,
	                       name != NULL ? name : "unknown");
}

/* Whether the panel counted exactly this one SET_OUTPUT in between, so that
 * the result after it is this request's. */
static gboolean
counted_once(const Confirm *c)
{
	return c->before_error == NULL && c->after_error == NULL &&
	       c->after.count == pbm_result_count_next(c->before.count);
}

/* Why the readings do not confirm the SET_OUTPUT, or NULL when they do: the
 * panel counted exactly one more, and took it. */
static GError *
confirm_refusal(PbmPanel *self, const Confirm *c)
{
	const gchar *serial = self->info.serial;
	g_autofree gchar *reason = NULL;

	if (c->after.count == c->before.count)
		return g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_STALL,
		                   "panel %s did not receive set-output: its count of set-output "
		                   "requests stayed at %u",
		                   serial, c->before.count);
	if (!counted_once(c))
		return g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_STALL,
		                   "panel %s: set-output not confirmed: its count of set-output "
		                   "requests went from %u to %u, not up by one (another program "
		                   "commands the panel, or requests were lost)",
		                   serial, c->before.count, c->after.count);
	if (c->after.result == PBM_RESULT_OK)
		return NULL;
	reason = reason_of(&c->after);
	return g_error_new(PBM_PANEL_ERROR, PBM_PANEL_ERROR_STALL,
	                   "panel %s refused set-output: %s", serial, reason);
}

/* A STALL says only no; a result surely about this request says why. */
static GError *
explain_stall(const Confirm *c, GError *error)
{
	g_autofree gchar *reason = NULL;
	g_autofree gchar *stalled = NULL;

	if (!g_error_matches(error, PBM_PANEL_ERROR, PBM_PANEL_ERROR_STALL) || !counted_once(c) ||
	    c->after.result == PBM_RESULT_OK)
		return error;
	reason = reason_of(&c->after);
	stalled = g_steal_pointer(&error->message);
	error->message = g_strdup_printf("%s; the panel says %s", stalled, reason);
	return error;
}

/* A reading that failed leaves the SET_OUTPUT unconfirmed. */
static GError *
reading_failed(GError **reading)
{
	GError *error = g_steal_pointer(reading);

	if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		g_prefix_error(&error, "set-output not confirmed: ");
	return error;
}

static void
confirm_step(GTask *task)
{
	PbmPanel *self = g_task_get_source_object(task);
	Confirm *c = g_task_get_task_data(task);
	GError *refusal;

	if (--c->pending > 0)
		return;
	if (c->set_error != NULL) {
		g_task_return_error(task, explain_stall(c, g_steal_pointer(&c->set_error)));
		return;
	}
	if (c->before_error != NULL) {
		g_task_return_error(task, reading_failed(&c->before_error));
		return;
	}
	if (c->after_error != NULL) {
		g_task_return_error(task, reading_failed(&c->after_error));
		return;
	}
	refusal = confirm_refusal(self, c);
	if (refusal != NULL) {
		g_task_return_error(task, refusal);
		return;
	}
	if (self->transport != NULL)
		refresh_status_async(self, NULL, refreshed_quietly, NULL);
	g_task_return_pointer(task, g_bytes_new(NULL, 0), (GDestroyNotify)g_bytes_unref);
}

static void
confirm_read_before(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	Confirm *c = g_task_get_task_data(task);

	take_result(PBM_PANEL(source), res, &c->before, &c->before_error);
	confirm_step(task);
}

static void
confirm_sent(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	Confirm *c = g_task_get_task_data(task);
	g_autoptr(GBytes) reply = g_task_propagate_pointer(G_TASK(res), &c->set_error);

	confirm_step(task);
}

static void
confirm_read_after(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	Confirm *c = g_task_get_task_data(task);

	take_result(PBM_PANEL(source), res, &c->after, &c->after_error);
	confirm_step(task);
}

/* GET_RESULT(SET_OUTPUT), SET_OUTPUT and GET_RESULT(SET_OUTPUT) again go out
 * back to back, without waiting: the control pipe keeps their order, so the
 * two readings frame this request alone, even with other SET_OUTPUTs under
 * way. Commands another program sent at other times do not matter here
 * (light nobody asked for is switched off on its own). */
static void
set_output_confirmed(PbmPanel *self, GBytes *data, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	Confirm *c = g_new0(Confirm, 1);

	c->pending = 3;
	g_task_set_task_data(task, c, (GDestroyNotify)confirm_free);
	read_result_async(self, cancellable, confirm_read_before, g_object_ref(task));
	control_out(self, PBM_REQ_SET_OUTPUT, 0, data, FALSE, cancellable, confirm_sent,
	            g_object_ref(task));
	read_result_async(self, cancellable, confirm_read_after, g_object_ref(task));
}

/* ---- operations ---- */

void
pbm_panel_set_output_async(PbmPanel *self, const PbmOutput *output, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
	guint8 buf[sizeof(struct pbm_wire_output)];
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) data = NULL;

	g_return_if_fail(PBM_IS_PANEL(self));
	/* Refuse here, with the panel's own limits named, rather than let the
	 * device STALL without saying why. */
	if (!pbm_output_validate(output, self->channels, self->info.channel_count, &error) ||
	    !pbm_output_encode(output, buf, &error)) {
		g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
		g_task_return_new_error(task, PBM_PANEL_ERROR, PBM_PANEL_ERROR_INVALID,
		                        "panel %s: %s", self->info.serial, error->message);
		return;
	}
	if (pbm_output_is_lit(output) && output->session_cap_s > self->info.max_session_s) {
		g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
		g_task_return_new_error(task, PBM_PANEL_ERROR, PBM_PANEL_ERROR_INVALID,
		                        "panel %s: session cap %u s is above the panel's limit of "
		                        "%u s",
		                        self->info.serial, output->session_cap_s,
		                        self->info.max_session_s);
		return;
	}
	data = g_bytes_new(buf, sizeof(buf));
	self->light_wanted = pbm_output_is_lit(output);
	if (speaks_results(self))
		set_output_confirmed(self, data, cancellable, callback, user_data);
	else
		command(self, PBM_REQ_SET_OUTPUT, 0, data, FALSE, cancellable, callback, user_data);
}

gboolean
pbm_panel_set_output_finish(PbmPanel *self, GAsyncResult *result, GError **error)
{
	return finish_boolean(self, result, error);
}

void
pbm_panel_all_off_async(PbmPanel *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data)
{
	g_return_if_fail(PBM_IS_PANEL(self));
	self->light_wanted = FALSE;
	command(self, PBM_REQ_ALL_OFF, 0, NULL, TRUE, cancellable, callback, user_data);
}

gboolean
pbm_panel_all_off_finish(PbmPanel *self, GAsyncResult *result, GError **error)
{
	return finish_boolean(self, result, error);
}

static void
all_off_quietly_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GError) error = NULL;

	if (!pbm_panel_all_off_finish(PBM_PANEL(source), result, &error))
		g_warning("%s", error->message);
}

static void
all_off_quietly(PbmPanel *self)
{
	if (self->transport != NULL)
		pbm_panel_all_off_async(self, NULL, all_off_quietly_done, NULL);
}

void
pbm_panel_heartbeat_async(PbmPanel *self, guint timeout_ms, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
	g_return_if_fail(PBM_IS_PANEL(self));
	if (timeout_ms < self->info.watchdog_min_ms || timeout_ms > self->info.watchdog_max_ms) {
		g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
		g_task_return_new_error(task, PBM_PANEL_ERROR, PBM_PANEL_ERROR_INVALID,
		                        "panel %s: watchdog timeout %u ms is outside the panel's "
		                        "%u..%u ms",
		                        self->info.serial, timeout_ms, self->info.watchdog_min_ms,
		                        self->info.watchdog_max_ms);
		return;
	}
	/* No status refresh: heartbeats are the one command sent every second. */
	control_out(self, PBM_REQ_HEARTBEAT, (guint16)timeout_ms, NULL, FALSE, cancellable,
	            callback, user_data);
}

gboolean
pbm_panel_heartbeat_finish(PbmPanel *self, GAsyncResult *result, GError **error)
{
	return finish_boolean(self, result, error);
}

static void
clear_fault_refreshed(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	g_autoptr(GError) error = NULL;

	if (!refresh_status_finish(PBM_PANEL(source), result, &error)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	g_task_return_pointer(task, g_bytes_new(NULL, 0), (GDestroyNotify)g_bytes_unref);
}

static void
clear_fault_sent(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	GCancellable *cancellable = g_task_get_cancellable(task);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) reply = g_task_propagate_pointer(G_TASK(result), &error);

	if (reply == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	/* Whether the fault is gone is in the status: read it before
	 * answering, not at the next report. */
	refresh_status_async(PBM_PANEL(source), cancellable, clear_fault_refreshed,
	                     g_steal_pointer(&task));
}

void
pbm_panel_clear_fault_async(PbmPanel *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data)
{
	GTask *task;

	g_return_if_fail(PBM_IS_PANEL(self));
	task = g_task_new(self, cancellable, callback, user_data);
	control_out(self, PBM_REQ_CLEAR_FAULT, 0, NULL, FALSE, cancellable, clear_fault_sent, task);
}

gboolean
pbm_panel_clear_fault_finish(PbmPanel *self, GAsyncResult *result, GError **error)
{
	return finish_boolean(self, result, error);
}

void
pbm_panel_identify_async(PbmPanel *self, guint seconds, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data)
{
	g_return_if_fail(PBM_IS_PANEL(self));
	if (seconds < 1 || seconds > PBM_IDENTIFY_MAX_S) {
		g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
		g_task_return_new_error(task, PBM_PANEL_ERROR, PBM_PANEL_ERROR_INVALID,
		                        "identify takes 1..%u seconds, not %u",
		                        (guint)PBM_IDENTIFY_MAX_S, (guint)seconds);
		return;
	}
	command(self, PBM_REQ_IDENTIFY, (guint16)seconds, NULL, TRUE, cancellable, callback,
	        user_data);
}

gboolean
pbm_panel_identify_finish(PbmPanel *self, GAsyncResult *result, GError **error)
{
	return finish_boolean(self, result, error);
}

static void
status_read(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	PbmPanel *self = PBM_PANEL(source);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) reply = g_task_propagate_pointer(G_TASK(result), &error);
	PbmStatus status;
	gsize len = 0;
	const guint8 *buf;

	if (reply == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	buf = g_bytes_get_data(reply, &len);
	if (!pbm_status_decode(buf, len, &status, &error)) {
		g_prefix_error(&error, "malformed status: ");
		mark_faulty(self, error);
		g_task_return_error(task, g_error_copy(self->faulty_reason));
		return;
	}
	set_status(self, &status);
	g_task_return_boolean(task, TRUE);
}

static void
refresh_status_async(PbmPanel *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                     gpointer user_data)
{
	GTask *task = g_task_new(self, cancellable, callback, user_data);

	panel_control(self, PBM_REQTYPE_IN, PBM_REQ_GET_STATUS, 0, sizeof(struct pbm_wire_status),
	              NULL, FALSE, cancellable, status_read, task);
}

static gboolean
refresh_status_finish(PbmPanel *self, GAsyncResult *result, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(result, self), FALSE);
	return g_task_propagate_boolean(G_TASK(result), error);
}

/* ---- probing ---- */

typedef struct {
	PbmTransport *transport;
	PbmInfo info;
	PbmChannel channels[PBM_MAX_CHANNELS];
} ProbeData;

static void
probe_data_free(ProbeData *data)
{
	g_object_unref(data->transport);
	g_free(data);
}

/* Room for a reply larger than ours, so a newer major version is named as
 * such rather than failing as an overflow. */
#define PROBE_INFO_ROOM 256

static void
probe_fail(GTask *task, GError *error, gint code)
{
	ProbeData *data = g_task_get_task_data(task);
	g_autoptr(GError) owned = error;

	g_task_return_new_error(task, PBM_PANEL_ERROR, code, "panel at %s: %s",
	                        pbm_transport_get_location(data->transport), owned->message);
}

static void
probe_channels_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	ProbeData *data = g_task_get_task_data(task);
	GError *error = NULL;
	g_autoptr(GBytes) reply = pbm_transport_control_finish(data->transport, result, &error);
	gsize len = 0;
	const guint8 *buf;

	if (reply == NULL) {
		g_prefix_error(&error, "reading the channel table: ");
		g_task_return_error(task, error);
		return;
	}
	buf = g_bytes_get_data(reply, &len);
	if (!pbm_channels_decode(buf, len, data->info.channel_count, data->channels, &error)) {
		probe_fail(task, error, PBM_PANEL_ERROR_PROTOCOL);
		return;
	}
	g_task_return_boolean(task, TRUE);
}

static void
probe_info_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	ProbeData *data = g_task_get_task_data(task);
	GError *error = NULL;
	g_autoptr(GBytes) reply = pbm_transport_control_finish(data->transport, result, &error);
	GCancellable *cancellable;
	struct pbm_wire_setup setup = { PBM_REQTYPE_IN, PBM_REQ_GET_CHANNELS, 0, PBM_USB_INTERFACE,
		                        0 };
	gsize len = 0;
	const guint8 *buf;

	if (reply == NULL) {
		g_prefix_error(&error, "reading device info: ");
		g_task_return_error(task, error);
		return;
	}
	buf = g_bytes_get_data(reply, &len);
	if (!pbm_info_decode(buf, len, &data->info, &error)) {
		gboolean version =
		        g_error_matches(error, PBM_PROTOCOL_ERROR, PBM_PROTOCOL_ERROR_VERSION);
		probe_fail(task, error,
		           version ? PBM_PANEL_ERROR_VERSION : PBM_PANEL_ERROR_PROTOCOL);
		return;
	}
	setup.length = PBM_CHANNELS_REPLY_SIZE(data->info.channel_count);
	cancellable = g_task_get_cancellable(task);
	pbm_transport_control_async(data->transport, &setup, NULL, cancellable, probe_channels_done,
	                            g_steal_pointer(&task));
}

void
pbm_panel_probe_async(PbmTransport *transport, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data)
{
	GTask *task = g_task_new(NULL, cancellable, callback, user_data);
	ProbeData *data = g_new0(ProbeData, 1);
	struct pbm_wire_setup setup = { PBM_REQTYPE_IN, PBM_REQ_GET_INFO, 0, PBM_USB_INTERFACE,
		                        PROBE_INFO_ROOM };

	g_task_set_source_tag(task, pbm_panel_probe_async);
	data->transport = g_object_ref(transport);
	g_task_set_task_data(task, data, (GDestroyNotify)probe_data_free);
	pbm_transport_control_async(transport, &setup, NULL, cancellable, probe_info_done, task);
}

gboolean
pbm_panel_probe_finish(GAsyncResult *result, PbmInfo *info, PbmChannel channels[PBM_MAX_CHANNELS],
                       GError **error)
{
	ProbeData *data = g_task_get_task_data(G_TASK(result));

	if (!g_task_propagate_boolean(G_TASK(result), error))
		return FALSE;
	*info = data->info;
	memcpy(channels, data->channels, data->info.channel_count * sizeof(PbmChannel));
	return TRUE;
}

/* ---- lifecycle ---- */

static void
set_description(PbmPanel *self, const PbmInfo *info, const PbmChannel *channels)
{
	self->info = *info;
	memset(self->channels, 0, sizeof(self->channels));
	memcpy(self->channels, channels, info->channel_count * sizeof(PbmChannel));
}

PbmPanel *
pbm_panel_new(const PbmInfo *info, const PbmChannel *channels)
{
	PbmPanel *self = g_object_new(PBM_TYPE_PANEL, NULL);

	set_description(self, info, channels);
	return self;
}

gboolean
pbm_panel_attach(PbmPanel *self, PbmTransport *transport, const PbmInfo *info,
                 const PbmChannel *channels, GError **error)
{
	g_return_val_if_fail(PBM_IS_PANEL(self), FALSE);
	if (g_strcmp0(info->serial, self->info.serial) != 0) {
		g_set_error(error, PBM_PANEL_ERROR, PBM_PANEL_ERROR_INVALID,
		            "device %s is not panel %s", info->serial, self->info.serial);
		return FALSE;
	}
	pbm_panel_detach(self);
	set_description(self, info, channels);
	self->transport = g_object_ref(transport);
	self->report_id = g_signal_connect(transport, "report", G_CALLBACK(on_report), self);
	self->disconnected_id =
	        g_signal_connect(transport, "disconnected", G_CALLBACK(on_disconnected), self);
	self->failed_id = g_signal_connect(transport, "failed", G_CALLBACK(on_failed), self);
	/* A replugged panel starts afresh: whatever it said before is gone. */
	g_clear_error(&self->faulty_reason);
	self->have_status = FALSE;
	self->have_seq = FALSE;
	self->light_wanted = FALSE;
	update_state(self);
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_CONNECTED]);
	pbm_transport_start(transport);
	return TRUE;
}

void
pbm_panel_detach(PbmPanel *self)
{
	g_autoptr(PbmTransport) transport = NULL;

	g_return_if_fail(PBM_IS_PANEL(self));
	if (self->transport == NULL)
		return;
	transport = g_steal_pointer(&self->transport);
	g_clear_signal_handler(&self->report_id, transport);
	g_clear_signal_handler(&self->disconnected_id, transport);
	g_clear_signal_handler(&self->failed_id, transport);
	pbm_transport_close(transport);
	self->have_status = FALSE;
	update_state(self);
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_CONNECTED]);
	g_signal_emit(self, signals[SIGNAL_DISCONNECTED], 0);
}

const gchar *
pbm_panel_get_serial(PbmPanel *self)
{
	return self->info.serial;
}

const PbmInfo *
pbm_panel_get_info(PbmPanel *self)
{
	return &self->info;
}

const PbmChannel *
pbm_panel_get_channels(PbmPanel *self)
{
	return self->channels;
}

guint
pbm_panel_get_channel_count(PbmPanel *self)
{
	return self->info.channel_count;
}

const PbmStatus *
pbm_panel_get_status(PbmPanel *self)
{
	return self->have_status ? &self->status : NULL;
}

PbmPanelState
pbm_panel_get_state(PbmPanel *self)
{
	return self->state;
}

gboolean
pbm_panel_is_connected(PbmPanel *self)
{
	return self->transport != NULL;
}

const gchar *
pbm_panel_get_location(PbmPanel *self)
{
	return self->transport != NULL ? pbm_transport_get_location(self->transport) : NULL;
}

const GError *
pbm_panel_get_faulty_reason(PbmPanel *self)
{
	return self->faulty_reason;
}

static void
pbm_panel_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	PbmPanel *self = PBM_PANEL(object);

	switch (prop_id) {
	case PROP_STATE:
		g_value_set_int(value, self->state);
		break;
	case PROP_CONNECTED:
		g_value_set_boolean(value, self->transport != NULL);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
	}
}

static void
pbm_panel_dispose(GObject *object)
{
	PbmPanel *self = PBM_PANEL(object);

	if (self->transport != NULL) {
		g_clear_signal_handler(&self->report_id, self->transport);
		g_clear_signal_handler(&self->disconnected_id, self->transport);
		g_clear_signal_handler(&self->failed_id, self->transport);
		pbm_transport_close(self->transport);
		g_clear_object(&self->transport);
	}
	G_OBJECT_CLASS(pbm_panel_parent_class)->dispose(object);
}

static void
pbm_panel_finalize(GObject *object)
{
	PbmPanel *self = PBM_PANEL(object);

	g_clear_error(&self->faulty_reason);
	G_OBJECT_CLASS(pbm_panel_parent_class)->finalize(object);
}

static void
pbm_panel_class_init(PbmPanelClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->get_property = pbm_panel_get_property;
	object_class->dispose = pbm_panel_dispose;
	object_class->finalize = pbm_panel_finalize;

	props[PROP_STATE] = g_param_spec_int("state", NULL, NULL, PBM_PANEL_STATE_DISCONNECTED,
	                                     PBM_PANEL_STATE_FAULTY, PBM_PANEL_STATE_DISCONNECTED,
	                                     G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
	props[PROP_CONNECTED] = g_param_spec_boolean("connected", NULL, NULL, FALSE,
	                                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
	g_object_class_install_properties(object_class, N_PROPS, props);

	signals[SIGNAL_REPORT] = g_signal_new("report", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
	                                      0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
	signals[SIGNAL_EVENTS] =
	        g_signal_new("events", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
	                     NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_POINTER);
	signals[SIGNAL_STATUS] = g_signal_new("status", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
	                                      0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
	signals[SIGNAL_DISCONNECTED] =
	        g_signal_new("disconnected", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
	                     NULL, NULL, G_TYPE_NONE, 0);
	signals[SIGNAL_FAULTY] = g_signal_new("faulty", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
	                                      0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
pbm_panel_init(PbmPanel *self)
{
	self->state = PBM_PANEL_STATE_DISCONNECTED;
}
