/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-session.h"

#include <math.h>
#include <string.h>

#include "pbm-format.h"

/* The on-device cap is set this much beyond pbmd's own end of session, so
 * the firmware only acts when pbmd failed to. */
#define CAP_MARGIN_US (10 * G_USEC_PER_SEC)
/* Consecutive heartbeat failures that end a session; one is absorbed by
 * the watchdog timeout, which is at least twice the interval. */
#define HEARTBEAT_FAILURES_MAX 2

typedef struct {
	PbmPanel *panel;
	const PbmPanelPlan *plan;
	gulong report_id, events_id, disconnected_id, faulty_id;
	PbmStatus status; /* the last one reported */
	gboolean have_status;
	gint64 last_mono;   /* dose is counted up to here */
	gint64 report_mono; /* when status arrived */
	gdouble dose[PBM_N_BANDS];
	/* Dose counted since status arrived by holding its irradiance: the
	 * next report may replace it by the trapezoid (settle()). */
	gdouble held[PBM_N_BANDS];
	gdouble step_base[PBM_N_BANDS]; /* dose when the step began */
	gboolean band_done[PBM_N_BANDS];
	guint heartbeat_failures;
} Lane;

struct _PbmSession {
	GObject parent_instance;

	PbmClock *clock;
	PbmPlan *plan;
	gint64 id;
	guint32 owner_uid;
	GPtrArray *lanes; /* Lane * */

	PbmSessionState state;
	PbmOutcome outcome;
	gchar *reason;
	GString *faults;

	gint64 start_mono;
	gint64 started_at;
	gint64 paused_total;
	gint64 pause_started;
	gint64 finished_active;
	guint step;
	gint64 step_start; /* active time the step began at */
	gint64 lit_us;
	gdouble max_temperature;
	gboolean thermal_reduced;

	guint step_timer, heartbeat_timer, pause_timer, checkpoint_timer, session_timer;
	guint pending; /* commands of the current batch not answered yet */
	GTask *start_task;
};

G_DEFINE_TYPE(PbmSession, pbm_session, G_TYPE_OBJECT)

enum {
	SIGNAL_PROGRESS,
	SIGNAL_STEP_CHANGED,
	SIGNAL_STATE_CHANGED,
	SIGNAL_CHECKPOINT,
	SIGNAL_FINISHED,
	N_SIGNALS
};
static guint signals[N_SIGNALS];

const gchar *
pbm_outcome_to_string(PbmOutcome outcome)
{
	static const gchar *names[] = {
		"",      "completed",    "stopped",        "stopped-at-panel",
		"fault", "disconnected", "daemon-stopped", "interrupted"
	};

	return (guint)outcome < G_N_ELEMENTS(names) ? names[outcome] : "";
}

const gchar *
pbm_session_state_to_string(PbmSessionState state)
{
	static const gchar *names[] = { "starting", "running", "paused", "finished" };

	return (guint)state < G_N_ELEMENTS(names) ? names[state] : "unknown";
}

static void finish(PbmSession *self, PbmOutcome outcome, const gchar *format, ...)
        G_GNUC_PRINTF(3, 4);
static void enter_step(PbmSession *self, guint step);
static void schedule_step_end(PbmSession *self);

/* ---- time ---- */

static gint64
active_at(PbmSession *self, gint64 mono)
{
	if (self->state == PBM_SESSION_STATE_FINISHED)
		return self->finished_active;
	if (self->state == PBM_SESSION_STATE_PAUSED)
		mono = self->pause_started;
	return MAX(mono - self->start_mono - self->paused_total, 0);
}

static gint64
active_now(PbmSession *self)
{
	return active_at(self, pbm_clock_now(self->clock));
}

/* The monotonic time at which the session has been active for `active`. */
static gint64
mono_for_active(PbmSession *self, gint64 active)
{
	return self->start_mono + self->paused_total + active;
}

static void
clear_timers(PbmSession *self)
{
	pbm_clock_clear(self->clock, &self->step_timer);
	pbm_clock_clear(self->clock, &self->heartbeat_timer);
	pbm_clock_clear(self->clock, &self->pause_timer);
	pbm_clock_clear(self->clock, &self->checkpoint_timer);
	pbm_clock_clear(self->clock, &self->session_timer);
}

/* ---- dose ---- */

static void
status_irradiance(PbmSession *self, Lane *lane, const PbmStatus *s, gdouble out[PBM_N_BANDS])
{
	const PbmChannel *ch = pbm_panel_get_channels(lane->panel);
	guint mm = (guint)lround(self->plan->distance_cm * 10.0);

	out[0] = out[1] = 0;
	for (guint i = 0; i < pbm_panel_get_channel_count(lane->panel); i++) {
		gdouble effective = s->level[i] / 1000.0 * s->derate / 1000.0 * s->duty / 1000.0;
		out[pbm_band_index_of(ch[i].band)] +=
		        pbm_channel_irradiance_at(&ch[i], mm) * effective;
	}
}

/* Counts the dose up to now as if the last report's irradiance held: right
 * for a steady output, and the tail at a pause or the end. */
static void
integrate(PbmSession *self, Lane *lane, gint64 now)
{
	gdouble irr[PBM_N_BANDS];
	gint64 dt;

	if (!lane->have_status || self->state != PBM_SESSION_STATE_RUNNING)
		return;
	dt = now - lane->last_mono;
	if (dt <= 0)
		return;
	status_irradiance(self, lane, &lane->status, irr);
	for (guint b = 0; b < PBM_N_BANDS; b++) {
		gdouble dose = irr[b] * (gdouble)dt / 1e9; /* mW/cm2 x us -> J/cm2 */
		lane->dose[b] += dose;
		lane->held[b] += dose;
	}
	if (lane == g_ptr_array_index(self->lanes, 0) && (lane->status.flags & PBM_STATUS_LIT))
		self->lit_us += dt;
	lane->last_mono = now;
}

/* A new report at now ends the interval of the last one. While the panel
 * ramps, its level moves linearly between reports (the firmware reports
 * every 100 ms): the trapezoid of the two reports' irradiances is exact
 * there, where holding the first falls short by half the rise. A steady
 * output only changes by a command, which the status read after it reports
 * at once: holding is exact there, and the trapezoid would smear the jump. */
static void
settle(PbmSession *self, Lane *lane, const PbmStatus *next, gint64 now)
{
	gdouble from[PBM_N_BANDS], to[PBM_N_BANDS];
	gdouble dt = (gdouble)(now - lane->report_mono);

	if (!lane->have_status || self->state != PBM_SESSION_STATE_RUNNING ||
	    !(lane->status.flags & PBM_STATUS_RAMPING))
		return;
	status_irradiance(self, lane, &lane->status, from);
	status_irradiance(self, lane, next, to);
	for (guint b = 0; b < PBM_N_BANDS; b++)
		lane->dose[b] += (from[b] + to[b]) / 2 * dt / 1e9 - lane->held[b];
}

/* What has been counted so far stays: a pause or the end has no later
 * report to settle against. */
static void
commit_held(PbmSession *self)
{
	for (guint i = 0; i < self->lanes->len; i++) {
		Lane *lane = g_ptr_array_index(self->lanes, i);
		memset(lane->held, 0, sizeof(lane->held));
	}
}

static void
integrate_all(PbmSession *self)
{
	gint64 now = pbm_clock_now(self->clock);

	for (guint i = 0; i < self->lanes->len; i++)
		integrate(self, g_ptr_array_index(self->lanes, i), now);
}

/* ---- commands ---- */

static gboolean
plan_has_dose_step(PbmPlan *plan)
{
	for (guint i = 0; i < pbm_plan_get_step_count(plan); i++) {
		if (pbm_plan_get_step(plan, i)->duration_us == 0)
			return TRUE;
	}
	return FALSE;
}

/* The longest the session may be active (see the header): its plan, twice
 * that with a dose-ended step, never more than limits.max_session. */
static gint64
time_bound(PbmSession *self)
{
	gint64 planned = self->plan->duration_us;

	if (plan_has_dose_step(self->plan))
		planned *= 2;
	return MIN(planned, self->plan->limits.max_session_us);
}

/* Renewed with every set-output, so it follows the plan across pauses. */
static guint16
cap_seconds(PbmSession *self, Lane *lane)
{
	gint64 left = time_bound(self) - active_now(self) + CAP_MARGIN_US;
	gint64 s = (left + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;

	return (guint16)CLAMP(s, 1, pbm_panel_get_info(lane->panel)->max_session_s);
}

static PbmOutput
lane_output(PbmSession *self, Lane *lane, guint16 ramp_ms)
{
	const PbmStep *step = pbm_plan_get_step(self->plan, self->step);
	const PbmChannel *ch = pbm_panel_get_channels(lane->panel);
	PbmOutput o = { .pulse_mhz = step->pulse_mhz,
		        .duty = step->duty,
		        .ramp_ms = ramp_ms,
		        .session_cap_s = cap_seconds(self, lane) };

	for (guint i = 0; i < pbm_panel_get_channel_count(lane->panel); i++) {
		guint16 level = lane->plan->levels[self->step][i];
		if (lane->band_done[pbm_band_index_of(ch[i].band)])
			level = 0;
		if (self->thermal_reduced)
			level = (guint16)(level * PBM_SESSION_THERMAL_SCALE);
		o.level[i] = level;
	}
	return o;
}

static PbmOutcome
outcome_for_error(const GError *error)
{
	if (g_error_matches(error, PBM_PANEL_ERROR, PBM_PANEL_ERROR_NO_DEVICE) ||
	    g_error_matches(error, PBM_PANEL_ERROR, PBM_PANEL_ERROR_NOT_CONNECTED))
		return PBM_OUTCOME_DISCONNECTED;
	return PBM_OUTCOME_FAULT;
}

static void
batch_done(PbmSession *self)
{
	g_autoptr(GTask) task = NULL;

	if (--self->pending > 0 || self->start_task == NULL)
		return;
	task = g_steal_pointer(&self->start_task);
	if (self->state == PBM_SESSION_STATE_FINISHED) {
		g_task_return_new_error(task, PBM_SESSION_ERROR, PBM_SESSION_ERROR_DEVICE, "%s",
		                        self->reason);
		return;
	}
	g_task_return_boolean(task, TRUE);
}

static void
output_set(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(PbmSession) self = user_data;
	g_autoptr(GError) error = NULL;

	if (!pbm_panel_set_output_finish(PBM_PANEL(source), result, &error))
		finish(self, outcome_for_error(error), "%s", error->message);
	batch_done(self);
}

static void
send_output_ramped(PbmSession *self, Lane *lane, guint16 ramp_ms)
{
	PbmOutput o = lane_output(self, lane, ramp_ms);

	self->pending++;
	pbm_panel_set_output_async(lane->panel, &o, NULL, output_set, g_object_ref(self));
}

/* The step's output, faded in over its ramp. */
static void
send_output(PbmSession *self, Lane *lane)
{
	send_output_ramped(self, lane, pbm_plan_get_step(self->plan, self->step)->ramp_ms);
}

/* Less light within a step (a band that has its dose, thermal derating)
 * goes at once: fading it out would give more than planned. */
static void
send_output_lower(PbmSession *self, Lane *lane)
{
	send_output_ramped(self, lane, 0);
}

static void
send_output_all(PbmSession *self)
{
	for (guint i = 0; i < self->lanes->len; i++)
		send_output(self, g_ptr_array_index(self->lanes, i));
}

typedef struct {
	PbmSession *self;
	Lane *lane;
	gboolean then_output;
} HeartbeatOp;

static void
heartbeat_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	HeartbeatOp *op = user_data;
	g_autoptr(PbmSession) self = op->self;
	Lane *lane = op->lane;
	gboolean then_output = op->then_output;
	g_autoptr(GError) error = NULL;

	g_free(op);
	if (pbm_panel_heartbeat_finish(PBM_PANEL(source), result, &error)) {
		lane->heartbeat_failures = 0;
		/* A pause that came after this heartbeat was sent has switched the
		 * panel off and disarmed its watchdog: lighting it now would leave
		 * it lit with no heartbeats. The next resume lights it again. */
		if (then_output && self->state == PBM_SESSION_STATE_RUNNING)
			send_output(self, lane);
	} else if (outcome_for_error(error) == PBM_OUTCOME_DISCONNECTED || then_output ||
	           ++lane->heartbeat_failures >= HEARTBEAT_FAILURES_MAX) {
		finish(self, outcome_for_error(error), "%s", error->message);
	} else {
		g_warning("%s; the panel's watchdog covers one miss", error->message);
	}
	if (then_output)
		batch_done(self);
}

static void
send_heartbeat(PbmSession *self, Lane *lane, gboolean then_output)
{
	HeartbeatOp *op = g_new0(HeartbeatOp, 1);

	op->self = g_object_ref(self);
	op->lane = lane;
	op->then_output = then_output;
	if (then_output)
		self->pending++;
	pbm_panel_heartbeat_async(lane->panel, (guint)self->plan->watchdog_ms, NULL, heartbeat_done,
	                          op);
}

static gboolean
heartbeat_tick(gpointer user_data)
{
	PbmSession *self = user_data;

	self->heartbeat_timer = pbm_clock_add_timeout(
	        self->clock, self->plan->limits.heartbeat_interval_us, heartbeat_tick, self, NULL);
	for (guint i = 0; i < self->lanes->len; i++)
		send_heartbeat(self, g_ptr_array_index(self->lanes, i), FALSE);
	return G_SOURCE_REMOVE;
}

/* Arms every watchdog, then sets the step's output (start and resume). */
static void
light_all(PbmSession *self)
{
	for (guint i = 0; i < self->lanes->len; i++)
		send_heartbeat(self, g_ptr_array_index(self->lanes, i), TRUE);
	pbm_clock_clear(self->clock, &self->heartbeat_timer);
	self->heartbeat_timer = pbm_clock_add_timeout(
	        self->clock, self->plan->limits.heartbeat_interval_us, heartbeat_tick, self, NULL);
}

static void
all_off_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GError) error = NULL;

	/* Nothing more can be done from here: the firmware watchdog and
	 * on-device cap switch the panel off if this failed. */
	if (!pbm_panel_all_off_finish(PBM_PANEL(source), result, &error))
		g_warning("%s", error->message);
}

static void
all_off(PbmSession *self)
{
	for (guint i = 0; i < self->lanes->len; i++) {
		Lane *lane = g_ptr_array_index(self->lanes, i);
		if (pbm_panel_is_connected(lane->panel))
			pbm_panel_all_off_async(lane->panel, NULL, all_off_done, NULL);
	}
}

/* ---- ending ---- */

static void
disconnect_lane(Lane *lane)
{
	g_clear_signal_handler(&lane->report_id, lane->panel);
	g_clear_signal_handler(&lane->events_id, lane->panel);
	g_clear_signal_handler(&lane->disconnected_id, lane->panel);
	g_clear_signal_handler(&lane->faulty_id, lane->panel);
}

static void
finish(PbmSession *self, PbmOutcome outcome, const gchar *format, ...)
{
	va_list args;

	if (self->state == PBM_SESSION_STATE_FINISHED)
		return;
	integrate_all(self);
	self->finished_active = active_now(self);
	clear_timers(self);
	for (guint i = 0; i < self->lanes->len; i++)
		disconnect_lane(g_ptr_array_index(self->lanes, i));
	self->state = PBM_SESSION_STATE_FINISHED;
	self->outcome = outcome;
	va_start(args, format);
	self->reason = g_strdup_vprintf(format, args);
	va_end(args);
	all_off(self);
	g_object_ref(self);
	g_signal_emit(self, signals[SIGNAL_STATE_CHANGED], 0);
	g_signal_emit(self, signals[SIGNAL_FINISHED], 0);
	g_object_unref(self);
}

void
pbm_session_abort(PbmSession *self, PbmOutcome outcome, const gchar *reason)
{
	g_return_if_fail(PBM_IS_SESSION(self));
	finish(self, outcome, "%s", reason);
}

/* ---- steps ---- */

static gboolean
step_timer_fired(gpointer user_data)
{
	PbmSession *self = user_data;
	const PbmStep *step = pbm_plan_get_step(self->plan, self->step);

	self->step_timer = 0;
	integrate_all(self);
	if (step->duration_us > 0) {
		/* the next step starts exactly where this one was planned to end */
		self->step_start += step->duration_us;
		enter_step(self, self->step + 1);
	} else {
		schedule_step_end(self);
	}
	return G_SOURCE_REMOVE;
}

/* For a dose step: has every targeted band of every panel been reached?
 * Bands that have are switched off on that panel. */
static gboolean
dose_step_done(PbmSession *self)
{
	const PbmStep *step = pbm_plan_get_step(self->plan, self->step);
	gboolean all = TRUE;
	g_autofree gboolean *lane_changed = g_new0(gboolean, self->lanes->len);

	for (guint i = 0; i < self->lanes->len; i++) {
		Lane *lane = g_ptr_array_index(self->lanes, i);
		for (guint b = 0; b < PBM_N_BANDS; b++) {
			if (step->dose_target[b] <= 0 || lane->band_done[b])
				continue;
			if (lane->dose[b] - lane->step_base[b] >= step->dose_target[b] - 1e-9) {
				lane->band_done[b] = TRUE;
				lane_changed[i] = TRUE;
			} else {
				all = FALSE;
			}
		}
	}
	/* A panel whose band reached its target stops that band while the
	 * others go on. */
	for (guint i = 0; i < self->lanes->len && !all; i++) {
		if (lane_changed[i])
			send_output_lower(self, g_ptr_array_index(self->lanes, i));
	}
	return all;
}

/* When, at the current irradiance, the first remaining target is met. */
static gint64
dose_step_eta(PbmSession *self)
{
	const PbmStep *step = pbm_plan_get_step(self->plan, self->step);
	gint64 best = G_MAXINT64;

	for (guint i = 0; i < self->lanes->len; i++) {
		Lane *lane = g_ptr_array_index(self->lanes, i);
		gdouble irr[PBM_N_BANDS];
		if (!lane->have_status)
			continue;
		status_irradiance(self, lane, &lane->status, irr);
		for (guint b = 0; b < PBM_N_BANDS; b++) {
			gdouble left = step->dose_target[b] - (lane->dose[b] - lane->step_base[b]);
			if (step->dose_target[b] <= 0 || lane->band_done[b] || irr[b] <= 0)
				continue;
			best = MIN(best, lane->last_mono + (gint64)ceil(left / irr[b] * 1e9));
		}
	}
	return best;
}

static void
schedule_step_end(PbmSession *self)
{
	const PbmStep *step = pbm_plan_get_step(self->plan, self->step);
	gint64 at;

	pbm_clock_clear(self->clock, &self->step_timer);
	if (self->state != PBM_SESSION_STATE_RUNNING)
		return;
	if (step->duration_us > 0) {
		at = mono_for_active(self, self->step_start + step->duration_us);
	} else {
		if (dose_step_done(self)) {
			self->step_start = active_now(self);
			enter_step(self, self->step + 1);
			return;
		}
		at = dose_step_eta(self);
		if (at == G_MAXINT64)
			return; /* no light yet: the next report reschedules */
	}
	self->step_timer = pbm_clock_add_deadline(self->clock, at, step_timer_fired, self, NULL);
}

static void
enter_step(PbmSession *self, guint step)
{
	if (step >= pbm_plan_get_step_count(self->plan)) {
		finish(self, PBM_OUTCOME_COMPLETED, "all %u steps done",
		       pbm_plan_get_step_count(self->plan));
		return;
	}
	self->step = step;
	for (guint i = 0; i < self->lanes->len; i++) {
		Lane *lane = g_ptr_array_index(self->lanes, i);
		memcpy(lane->step_base, lane->dose, sizeof(lane->dose));
		memset(lane->band_done, 0, sizeof(lane->band_done));
	}
	if (step > 0)
		send_output_all(self);
	schedule_step_end(self);
	g_signal_emit(self, signals[SIGNAL_STEP_CHANGED], 0);
}

/* ---- what the panels say ---- */

static Lane *
lane_of(PbmSession *self, PbmPanel *panel)
{
	for (guint i = 0; i < self->lanes->len; i++) {
		Lane *lane = g_ptr_array_index(self->lanes, i);
		if (lane->panel == panel)
			return lane;
	}
	return NULL;
}

static void
check_temperature(PbmSession *self, Lane *lane)
{
	gdouble t = lane->status.temperature_dc / 10.0;
	gdouble limit = pbm_plan_temperature_limit(&self->plan->limits, lane->panel);

	self->max_temperature = MAX(self->max_temperature, t);
	if (t < limit)
		return;
	if (self->plan->limits.thermal_action == PBM_THERMAL_STOP ||
	    t >= limit + PBM_SESSION_THERMAL_MARGIN_C) {
		finish(self, PBM_OUTCOME_FAULT,
		       "panel %s reached %.1f °C, above the %.1f °C limit "
		       "(limits.max_temperature_c)",
		       pbm_panel_get_serial(lane->panel), t, limit);
		return;
	}
	if (!self->thermal_reduced) {
		g_message("panel %s at %.1f °C: output lowered to %.0f %%",
		          pbm_panel_get_serial(lane->panel), t, PBM_SESSION_THERMAL_SCALE * 100);
		self->thermal_reduced = TRUE;
		for (guint i = 0; i < self->lanes->len; i++)
			send_output_lower(self, g_ptr_array_index(self->lanes, i));
	}
}

static void
on_status(PbmPanel *panel, gconstpointer status_ptr, gpointer user_data)
{
	PbmSession *self = user_data;
	const PbmStatus *status = status_ptr;
	Lane *lane = lane_of(self, panel);
	gint64 now = pbm_clock_now(self->clock);

	if (lane == NULL)
		return;
	integrate(self, lane, now);
	settle(self, lane, status, now);
	lane->status = *status;
	lane->have_status = TRUE;
	lane->last_mono = lane->report_mono = now;
	memset(lane->held, 0, sizeof(lane->held));
	if (self->state != PBM_SESSION_STATE_RUNNING)
		return;
	check_temperature(self, lane);
	if (self->state != PBM_SESSION_STATE_RUNNING)
		return;
	if (pbm_plan_get_step(self->plan, self->step)->duration_us == 0)
		schedule_step_end(self);
	g_signal_emit(self, signals[SIGNAL_PROGRESS], 0);
}

static void
note_faults(PbmSession *self, guint32 faults)
{
	g_autofree gchar *names = pbm_faults_describe(faults);

	if (strstr(self->faults->str, names) != NULL)
		return;
	if (self->faults->len > 0)
		g_string_append_c(self->faults, ',');
	g_string_append(self->faults, names);
}

static void
on_events(PbmPanel *panel, guint events, gconstpointer status_ptr, gpointer user_data)
{
	PbmSession *self = user_data;
	const PbmStatus *status = status_ptr;
	const gchar *serial = pbm_panel_get_serial(panel);
	gboolean lit_phase = self->state == PBM_SESSION_STATE_RUNNING ||
	                     self->state == PBM_SESSION_STATE_STARTING;

	if (events & PBM_EVENT_BUTTON) {
		finish(self, PBM_OUTCOME_STOPPED_AT_PANEL,
		       "the stop button on panel %s was pressed", serial);
	} else if (events & PBM_EVENT_FAULT) {
		g_autofree gchar *names = pbm_faults_describe(status->faults);
		note_faults(self, status->faults);
		finish(self, PBM_OUTCOME_FAULT, "panel %s reported a fault: %s", serial, names);
	} else if ((events & PBM_EVENT_WATCHDOG_EXPIRED) && lit_phase) {
		finish(self, PBM_OUTCOME_FAULT,
		       "panel %s switched off because its watchdog expired (pbmd did not reach it "
		       "in time)",
		       serial);
	} else if ((events & PBM_EVENT_SESSION_CAP) && lit_phase) {
		finish(self, PBM_OUTCOME_FAULT, "panel %s reached its on-device session cap",
		       serial);
	} else if ((events & PBM_EVENT_DERATE_START) &&
	           self->plan->limits.thermal_action == PBM_THERMAL_STOP && lit_phase) {
		finish(self, PBM_OUTCOME_FAULT, "panel %s began thermal derating", serial);
	}
}

static void
on_disconnected(PbmPanel *panel, gpointer user_data)
{
	finish(user_data, PBM_OUTCOME_DISCONNECTED, "panel %s was disconnected",
	       pbm_panel_get_serial(panel));
}

static void
on_faulty(PbmPanel *panel, const GError *error, gpointer user_data)
{
	finish(user_data, PBM_OUTCOME_FAULT, "%s", error->message);
}

/* ---- control ---- */

static gboolean
checkpoint_tick(gpointer user_data)
{
	PbmSession *self = user_data;

	self->checkpoint_timer = pbm_clock_add_timeout(self->clock, PBM_SESSION_CHECKPOINT_US,
	                                               checkpoint_tick, self, NULL);
	integrate_all(self);
	g_signal_emit(self, signals[SIGNAL_CHECKPOINT], 0);
	return G_SOURCE_REMOVE;
}

static gboolean
session_limit_reached(gpointer user_data)
{
	PbmSession *self = user_data;
	gint64 bound = time_bound(self);
	g_autofree gchar *limit = pbm_duration_format(bound);
	g_autofree gchar *planned = pbm_duration_format(self->plan->duration_us);

	self->session_timer = 0;
	if (bound == self->plan->limits.max_session_us)
		finish(self, PBM_OUTCOME_FAULT,
		       "the session reached the %s limit (limits.max_session) before its dose "
		       "targets",
		       limit);
	else
		finish(self, PBM_OUTCOME_FAULT,
		       "the session reached its time bound of %s, twice the planned %s, before "
		       "its dose targets",
		       limit, planned);
	return G_SOURCE_REMOVE;
}

/* Only a plan with a dose-ended step needs pbmd's own limit: the step
 * timers end a timed plan, and a limit timer at its end could race the
 * last step's and call a completed session a fault. */
static void
schedule_session_limit(PbmSession *self)
{
	pbm_clock_clear(self->clock, &self->session_timer);
	if (!plan_has_dose_step(self->plan))
		return;
	self->session_timer =
	        pbm_clock_add_deadline(self->clock, mono_for_active(self, time_bound(self)),
	                               session_limit_reached, self, NULL);
}

static void
connect_lanes(PbmSession *self)
{
	for (guint i = 0; i < self->lanes->len; i++) {
		Lane *lane = g_ptr_array_index(self->lanes, i);
		lane->report_id =
		        g_signal_connect(lane->panel, "status", G_CALLBACK(on_status), self);
		lane->events_id =
		        g_signal_connect(lane->panel, "events", G_CALLBACK(on_events), self);
		lane->disconnected_id = g_signal_connect(lane->panel, "disconnected",
		                                         G_CALLBACK(on_disconnected), self);
		lane->faulty_id =
		        g_signal_connect(lane->panel, "faulty", G_CALLBACK(on_faulty), self);
	}
}

void
pbm_session_start_async(PbmSession *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data)
{
	g_return_if_fail(PBM_IS_SESSION(self));
	g_return_if_fail(self->state == PBM_SESSION_STATE_STARTING && self->start_task == NULL);
	self->start_task = g_task_new(self, cancellable, callback, user_data);
	self->start_mono = pbm_clock_now(self->clock);
	self->started_at = pbm_clock_now_wall(self->clock);
	connect_lanes(self);
	self->state = PBM_SESSION_STATE_RUNNING;
	self->pending++; /* held until every command below has been sent */
	light_all(self);
	enter_step(self, 0);
	schedule_session_limit(self);
	self->checkpoint_timer = pbm_clock_add_timeout(self->clock, PBM_SESSION_CHECKPOINT_US,
	                                               checkpoint_tick, self, NULL);
	g_signal_emit(self, signals[SIGNAL_STATE_CHANGED], 0);
	batch_done(self);
}

gboolean
pbm_session_start_finish(PbmSession *self, GAsyncResult *result, GError **error)
{
	return g_task_propagate_boolean(G_TASK(result), error);
}

/* FALSE, with the error that names the action refused, unless the session is
 * in the state the action needs. */
static gboolean
session_is_in(PbmSession *self, PbmSessionState wanted, const gchar *what, GError **error)
{
	if (self->state == wanted)
		return TRUE;
	g_set_error(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_NOT_RUNNING,
	            "cannot %s: the session is %s", what, pbm_session_state_to_string(self->state));
	return FALSE;
}

static gboolean
pause_limit_reached(gpointer user_data)
{
	PbmSession *self = user_data;
	g_autofree gchar *limit = pbm_duration_format(self->plan->limits.max_pause_us);

	self->pause_timer = 0;
	finish(self, PBM_OUTCOME_STOPPED, "paused for longer than %s (limits.max_pause)", limit);
	return G_SOURCE_REMOVE;
}

gboolean
pbm_session_pause(PbmSession *self, GError **error)
{
	g_return_val_if_fail(PBM_IS_SESSION(self), FALSE);
	if (!session_is_in(self, PBM_SESSION_STATE_RUNNING, "pause", error))
		return FALSE;
	integrate_all(self);
	commit_held(self);
	self->pause_started = pbm_clock_now(self->clock);
	self->state = PBM_SESSION_STATE_PAUSED;
	pbm_clock_clear(self->clock, &self->step_timer);
	pbm_clock_clear(self->clock, &self->heartbeat_timer);
	pbm_clock_clear(self->clock, &self->session_timer);
	all_off(self);
	self->pause_timer = pbm_clock_add_timeout(self->clock, self->plan->limits.max_pause_us,
	                                          pause_limit_reached, self, NULL);
	g_signal_emit(self, signals[SIGNAL_STATE_CHANGED], 0);
	g_signal_emit(self, signals[SIGNAL_CHECKPOINT], 0);
	return TRUE;
}

gboolean
pbm_session_resume(PbmSession *self, GError **error)
{
	gint64 now;

	g_return_val_if_fail(PBM_IS_SESSION(self), FALSE);
	if (!session_is_in(self, PBM_SESSION_STATE_PAUSED, "resume", error))
		return FALSE;
	now = pbm_clock_now(self->clock);
	self->paused_total += now - self->pause_started;
	pbm_clock_clear(self->clock, &self->pause_timer);
	self->state = PBM_SESSION_STATE_RUNNING;
	for (guint i = 0; i < self->lanes->len; i++) {
		Lane *lane = g_ptr_array_index(self->lanes, i);
		lane->last_mono = lane->report_mono = now;
	}
	light_all(self);
	schedule_step_end(self);
	schedule_session_limit(self);
	g_signal_emit(self, signals[SIGNAL_STATE_CHANGED], 0);
	return TRUE;
}

gboolean
pbm_session_stop(PbmSession *self, GError **error)
{
	g_return_val_if_fail(PBM_IS_SESSION(self), FALSE);
	if (self->state == PBM_SESSION_STATE_FINISHED) {
		g_set_error_literal(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_NOT_RUNNING,
		                    "the session has already ended");
		return FALSE;
	}
	finish(self, PBM_OUTCOME_STOPPED, "stopped on request");
	return TRUE;
}

/* ---- getters ---- */

gint64
pbm_session_get_id(PbmSession *self)
{
	return self->id;
}

guint32
pbm_session_get_owner_uid(PbmSession *self)
{
	return self->owner_uid;
}

PbmPlan *
pbm_session_get_plan(PbmSession *self)
{
	return self->plan;
}

PbmSessionState
pbm_session_get_state(PbmSession *self)
{
	return self->state;
}

PbmOutcome
pbm_session_get_outcome(PbmSession *self)
{
	return self->outcome;
}

const gchar *
pbm_session_get_reason(PbmSession *self)
{
	return self->reason;
}

gint64
pbm_session_get_started_at(PbmSession *self)
{
	return self->started_at;
}

guint
pbm_session_get_step(PbmSession *self)
{
	return self->step;
}

const gchar *
pbm_session_get_step_name(PbmSession *self)
{
	return pbm_plan_get_step(self->plan, self->step)->name;
}

gint64
pbm_session_get_elapsed(PbmSession *self)
{
	return active_now(self);
}

gint64
pbm_session_get_remaining(PbmSession *self)
{
	if (self->state == PBM_SESSION_STATE_FINISHED)
		return 0;
	return MAX(self->plan->duration_us - active_now(self), 0);
}

gdouble
pbm_session_get_progress(PbmSession *self)
{
	if (self->outcome == PBM_OUTCOME_COMPLETED)
		return 1.0;
	if (self->plan->duration_us <= 0)
		return 0.0;
	return CLAMP((gdouble)active_now(self) / (gdouble)self->plan->duration_us, 0.0, 1.0);
}

void
pbm_session_get_dose(PbmSession *self, gdouble dose[PBM_N_BANDS])
{
	dose[0] = dose[1] = 0;
	for (guint i = 0; i < self->lanes->len; i++) {
		Lane *lane = g_ptr_array_index(self->lanes, i);
		for (guint b = 0; b < PBM_N_BANDS; b++)
			dose[b] = MAX(dose[b], lane->dose[b]);
	}
}

gint64
pbm_session_get_lit_time(PbmSession *self)
{
	return self->lit_us;
}

gdouble
pbm_session_get_max_temperature(PbmSession *self)
{
	return self->max_temperature;
}

const gchar *
pbm_session_get_faults(PbmSession *self)
{
	return self->faults->str;
}

/* ---- lifecycle ---- */

static void
lane_free(Lane *lane)
{
	disconnect_lane(lane);
	g_object_unref(lane->panel);
	g_free(lane);
}

static void
pbm_session_dispose(GObject *object)
{
	PbmSession *self = PBM_SESSION(object);

	/* Whatever happens to this object, the light goes off. */
	if (self->state != PBM_SESSION_STATE_FINISHED && self->lanes != NULL &&
	    self->state != PBM_SESSION_STATE_STARTING)
		finish(self, PBM_OUTCOME_DAEMON_STOPPED, "the session object went away");
	if (self->clock != NULL)
		clear_timers(self);
	g_clear_pointer(&self->lanes, g_ptr_array_unref);
	g_clear_object(&self->clock);
	G_OBJECT_CLASS(pbm_session_parent_class)->dispose(object);
}

static void
pbm_session_finalize(GObject *object)
{
	PbmSession *self = PBM_SESSION(object);

	g_clear_pointer(&self->plan, pbm_plan_unref);
	g_free(self->reason);
	g_string_free(self->faults, TRUE);
	G_OBJECT_CLASS(pbm_session_parent_class)->finalize(object);
}

static void
pbm_session_class_init(PbmSessionClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	const gchar *names[N_SIGNALS] = { "progress", "step-changed", "state-changed", "checkpoint",
		                          "finished" };

	object_class->dispose = pbm_session_dispose;
	object_class->finalize = pbm_session_finalize;
	for (guint i = 0; i < N_SIGNALS; i++)
		signals[i] = g_signal_new(names[i], G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
		                          NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pbm_session_init(PbmSession *self)
{
	self->faults = g_string_new(NULL);
	self->lanes = g_ptr_array_new_with_free_func((GDestroyNotify)lane_free);
}

PbmSession *
pbm_session_new(PbmClock *clock, PbmPlan *plan, gint64 id, guint32 owner_uid)
{
	PbmSession *self = g_object_new(PBM_TYPE_SESSION, NULL);

	self->clock = g_object_ref(clock);
	self->plan = pbm_plan_ref(plan);
	self->id = id;
	self->owner_uid = owner_uid;
	for (guint i = 0; i < plan->panels->len; i++) {
		const PbmPanelPlan *pp = g_ptr_array_index(plan->panels, i);
		Lane *lane = g_new0(Lane, 1);
		lane->panel = g_object_ref(pp->panel);
		lane->plan = pp;
		g_ptr_array_add(self->lanes, lane);
	}
	return self;
}
