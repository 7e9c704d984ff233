/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The session engine on simulated panels and a manual clock: every refusal,
 * step timing exact to the microsecond, dose on duration and dose steps,
 * pause and resume, stop, each outcome, thermal limits, several panels in
 * lockstep.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "pbm-format.h"
#include "pbm-manual-clock.h"
#include "pbm-panel-monitor.h"
#include "pbm-session.h"

#define MS(x) ((gint64)(x)*1000)
#define S(x) ((gint64)(x)*G_USEC_PER_SEC)

typedef struct {
	PbmClock *clock;
	PbmPanelMonitor *monitor;
	GPtrArray *transports; /* PbmSimTransport */
	PbmConfig *config;
	GPtrArray *finished_at; /* gint64 * */
} Fixture;

static int
setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	const gchar *dirs[] = { NULL };

	f->clock = pbm_manual_clock_new();
	f->monitor = pbm_panel_monitor_new(f->clock);
	f->transports = g_ptr_array_new_with_free_func(g_object_unref);
	f->config = pbm_config_new_default(dirs);
	/* The engine at full power: the dose policy has its own tests in
	 * test-plan.c. */
	f->config->limits.session_dose_max = 500.0;
	f->config->limits.max_irradiance = 500.0;
	f->config->limits.daily_dose_total = 1000.0;
	f->config->limits.daily_dose_max[0] = f->config->limits.daily_dose_max[1] = 100.0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	Fixture *f = *state;

	pbm_panel_monitor_shutdown(f->monitor);
	g_object_unref(f->monitor);
	g_ptr_array_unref(f->transports);
	pbm_test_drain_main_context();
	g_object_unref(f->clock);
	pbm_config_free(f->config);
	g_free(f);
	return 0;
}

static void
advance(Fixture *f, gint64 us)
{
	pbm_manual_clock_advance(PBM_MANUAL_CLOCK(f->clock), us);
}

static PbmSimTransport *
plug(Fixture *f, const gchar *serial)
{
	PbmSimConfig config;
	PbmSimTransport *t;

	pbm_sim_config_init(&config, serial);
	t = pbm_panel_monitor_add_sim(f->monitor, &config, NULL);
	g_ptr_array_add(f->transports, t);
	advance(f, S(1)); /* probed, and a first status report */
	return t;
}

static PbmSim *
sim_of(PbmSimTransport *t)
{
	return pbm_sim_transport_get_sim(t);
}

static guint16
sim_level(PbmSim *sim, guint channel)
{
	PbmStatus status;

	pbm_sim_get_status(sim, &status);
	return status.level[channel];
}

static PbmProfile *
profile_from(const gchar *name, const gchar *body)
{
	g_autofree gchar *text =
	        g_strdup_printf("name = \"%s\"; title = \"t\"; distance_cm = 15;\n%s", name, body);
	g_autofree gchar *path = g_strdup_printf("/test/%s.conf", name);
	g_autoptr(GError) error = NULL;
	PbmProfile *p = pbm_profile_load_data(path, text, strlen(text), &error);

	if (p == NULL)
		fail_msg("%s", error->message);
	return p;
}

static PbmProfile *
shipped(const gchar *name)
{
	g_autofree gchar *file = g_strconcat(name, ".conf", NULL);
	g_autofree gchar *path = g_build_filename(PBM_SOURCE_DIR, "data", "profiles", file, NULL);

	return pbm_profile_load(path, NULL);
}

static PbmPlan *
plan_for(Fixture *f, PbmProfile *profile, const PbmUsage *usage, GError **error)
{
	PbmUsage none = { 0 };
	GPtrArray *panels = pbm_panel_monitor_get_panels(f->monitor);

	/* with goggles: the eye limit has its own tests in test-plan.c */
	return pbm_plan_new(profile, &(PbmPlanRequest){ .goggles = TRUE }, panels,
	                    &f->config->limits, usage ? usage : &none, pbm_clock_now_wall(f->clock),
	                    error);
}

static void
started(GObject *source, GAsyncResult *result, gpointer user_data)
{
	gboolean *ok = user_data;

	*ok = pbm_session_start_finish(PBM_SESSION(source), result, NULL);
}

static PbmSession *
start_plan(Fixture *f, PbmPlan *plan)
{
	PbmSession *s = pbm_session_new(f->clock, plan, 1, 1000);
	gboolean ok = FALSE;

	pbm_session_start_async(s, NULL, started, &ok);
	advance(f, 0);
	assert_true(ok);
	assert_int_equal(pbm_session_get_state(s), PBM_SESSION_STATE_RUNNING);
	return s;
}

static PbmSession *
start(Fixture *f, PbmProfile *profile)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmPlan) plan = plan_for(f, profile, NULL, &error);

	if (plan == NULL)
		fail_msg("%s", error->message);
	return start_plan(f, plan);
}

static void
assert_refused(PbmPlan *plan, GError *error, PbmSessionError code, const gchar *needle)
{
	if (plan != NULL)
		fail_msg("a plan was made; expected a refusal mentioning '%s'", needle);
	assert_non_null(error);
	if (!g_error_matches(error, PBM_SESSION_ERROR, code))
		fail_msg("want code %d, got %s %d: %s", code, g_quark_to_string(error->domain),
		         error->code, error->message);
	if (strstr(error->message, needle) == NULL)
		fail_msg("'%s' does not mention '%s'", error->message, needle);
}

static gboolean
all_dark(Fixture *f)
{
	for (guint i = 0; i < f->transports->len; i++) {
		if (pbm_sim_is_lit(sim_of(g_ptr_array_index(f->transports, i))))
			return FALSE;
	}
	return TRUE;
}

/* ---- refusals ---- */

static void
test_refusals(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmProfile) demo = shipped("demo");
	g_autoptr(PbmProfile) back = shipped("back-pain");
	g_autoptr(GError) error = NULL;
	PbmPlan *plan;
	PbmSimTransport *t;

	/* no panel */
	plan = plan_for(f, demo, NULL, &error);
	assert_refused(plan, error, PBM_SESSION_ERROR_NO_PANEL, "lsusb");
	g_clear_error(&error);

	t = plug(f, "REF1");
	/* busy */
	{
		PbmUsage busy = { .session_active = TRUE };
		plan = plan_for(f, demo, &busy, &error);
		assert_refused(plan, error, PBM_SESSION_ERROR_BUSY, "StopSession");
		g_clear_error(&error);
	}
	/* too long: back-pain lasts 10 min */
	f->config->limits.max_session_us = S(5 * 60);
	plan = plan_for(f, back, NULL, &error);
	assert_refused(plan, error, PBM_SESSION_ERROR_SAFETY_LIMIT,
	               "lasts 10 min at 15.0 cm, longer than the 5 min limit (limits.max_session)");
	g_clear_error(&error);
	f->config->limits.max_session_us = S(30 * 60);

	/* daily dose: 13 of 20 J/cm2 of NIR used, back-pain brings 8.0 */
	f->config->limits.daily_dose_max[PBM_BAND_INDEX_NIR] = 20.0;
	{
		PbmRecentDose recent[] = {
			{ pbm_clock_now_wall(f->clock) - S(3600 * 20), { 1.0, 5.0 } },
			{ pbm_clock_now_wall(f->clock) - S(3600 * 2), { 1.0, 8.0 } },
		};
		PbmUsage usage = { .recent = recent, .n_recent = 2 };
		g_autofree gchar *frees = pbm_format_day_time(recent[0].ended_at + S(24 * 3600),
		                                              pbm_clock_now_wall(f->clock));
		g_autofree gchar *expected = g_strdup_printf("it fits again from %s", frees);

		plan = plan_for(f, back, &usage, &error);
		assert_refused(plan, error, PBM_SESSION_ERROR_SAFETY_LIMIT,
		               "limit (limits.daily_dose_nir)");
		assert_non_null(strstr(error->message, "21.0 J/cm²"));
		assert_non_null(strstr(error->message, expected));
		g_clear_error(&error);
	}
	/* minimum gap */
	{
		PbmUsage usage = { .last_end = pbm_clock_now_wall(f->clock) - S(60) };
		g_autofree gchar *when = pbm_format_clock_time(usage.last_end + S(600));
		plan = plan_for(f, demo, &usage, &error);
		assert_refused(plan, error, PBM_SESSION_ERROR_SAFETY_LIMIT, "limits.min_gap");
		assert_non_null(strstr(error->message, when));
		g_clear_error(&error);
	}
	/* visible pulsing forbidden by the configuration */
	{
		g_autoptr(PbmProfile) flicker = profile_from(
		        "flicker",
		        "allow_visible_pulse = true; pulse_warning = \"w\";\n"
		        "steps = ( { name = \"s\"; duration = 10; percent_red = 50; pulse_hz = "
		        "10; } );");
		plan = plan_for(f, flicker, NULL, &error);
		assert_refused(plan, error, PBM_SESSION_ERROR_SAFETY_LIMIT,
		               "limits.allow_visible_pulse = false");
		g_clear_error(&error);
		f->config->limits.allow_visible_pulse = TRUE;
		plan = plan_for(f, flicker, NULL, &error);
		assert_non_null(plan);
		pbm_plan_unref(plan);
	}
	/* a level above the panel's channel cap */
	{
		g_autoptr(PbmProfile) full = profile_from(
		        "full", "steps = ( { name = \"s\"; duration = 10; percent_nir = 100; } );");
		PbmChannel *ch = (PbmChannel *)pbm_panel_get_channels(
		        pbm_panel_monitor_find(f->monitor, "REF1"));
		ch[1].max_level = 800;
		plan = plan_for(f, full, NULL, &error);
		assert_refused(plan, error, PBM_SESSION_ERROR_SAFETY_LIMIT, "limit of 80.0 %");
		g_clear_error(&error);
		ch[1].max_level = 1000;
	}
	/* too hot */
	pbm_sim_set_ambient(sim_of(t), 52.0);
	advance(f, S(600));
	plan = plan_for(f, demo, NULL, &error);
	assert_refused(plan, error, PBM_SESSION_ERROR_SAFETY_LIMIT, "let it cool");
	g_clear_error(&error);
	/* a latched fault */
	pbm_sim_set_ambient(sim_of(t), 22.0);
	pbm_sim_set_fan_stalled(sim_of(t), TRUE);
	advance(f, S(600));
	plan = plan_for(f, demo, NULL, &error);
	assert_refused(plan, error, PBM_SESSION_ERROR_FAULT, "fan-stall");
	g_clear_error(&error);
	/* disconnected */
	pbm_sim_transport_unplug(t);
	plan = plan_for(f, demo, NULL, &error);
	assert_refused(plan, error, PBM_SESSION_ERROR_NO_PANEL, "cable");
}

/* ---- running ---- */

static guint step_changes;

static void
count_step(PbmSession *s, gpointer user_data)
{
	step_changes++;
}

static void
test_demo_runs_to_plan(void **state)
{
	Fixture *f = *state;
	PbmSimTransport *t = plug(f, "RUN1");
	g_autoptr(PbmProfile) demo = shipped("demo");
	g_autoptr(PbmSession) s = start(f, demo);
	gint64 t0 = pbm_clock_now(f->clock);
	gdouble dose[PBM_N_BANDS];

	step_changes = 0;
	g_signal_connect(s, "step-changed", G_CALLBACK(count_step), NULL);
	assert_true(pbm_sim_is_lit(sim_of(t)));
	assert_string_equal(pbm_session_get_step_name(s), "warm-up");
	advance(f, S(10) - 1);
	assert_int_equal(pbm_session_get_step(s), 0);
	advance(f, 1);
	assert_int_equal(pbm_session_get_step(s), 1);
	assert_string_equal(pbm_session_get_step_name(s), "red-and-nir");
	assert_int_equal(sim_level(sim_of(t), 1), 400);
	advance(f, S(15));
	assert_string_equal(pbm_session_get_step_name(s), "cool-down");
	assert_int_equal(pbm_session_get_remaining(s), S(5));
	advance(f, S(5) - 1);
	assert_int_equal(pbm_session_get_state(s), PBM_SESSION_STATE_RUNNING);
	advance(f, 1);
	/* exactly at plan, not a tick later */
	assert_int_equal(pbm_session_get_state(s), PBM_SESSION_STATE_FINISHED);
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_COMPLETED);
	assert_int_equal(pbm_session_get_elapsed(s), S(30));
	assert_int_equal(pbm_clock_now(f->clock) - t0, S(30));
	assert_float_equal(pbm_session_get_progress(s), 1.0, 1e-12);
	assert_int_equal(step_changes, 2);
	advance(f, MS(10));
	assert_true(all_dark(f));
	/* red: 10 s at 40 % with a 2 s ramp from 0 (1 s of full-level-equivalent
	 * lost), 15 s at 40 %, 5 s at 30 %; NIR 15 s at 40 % (15 cm: 36, 34) */
	pbm_session_get_dose(s, dose);
	assert_float_equal(dose[0], (0.4 * 36 * 9 + 0.4 * 36 * 15 + 0.3 * 36 * 5) / 1000, 0.005);
	assert_float_equal(dose[1], 0.4 * 34 * 15 / 1000, 0.002);
	assert_int_equal(pbm_session_get_lit_time(s), S(30));
}

static void
test_twenty_minutes_exact(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmProfile) p = profile_from(
	        "long", "steps = ( { name = \"a\"; duration = \"7m\"; percent_red = 40; },\n"
	                "{ name = \"b\"; duration = \"13m\"; percent_nir = 40; } );");
	g_autoptr(PbmSession) s = NULL;
	gint64 t0;

	plug(f, "LONG");
	s = start(f, p);
	t0 = pbm_clock_now(f->clock);
	for (guint i = 0; i < 20 * 60 - 1; i++)
		advance(f, S(1));
	assert_int_equal(pbm_session_get_state(s), PBM_SESSION_STATE_RUNNING);
	advance(f, S(1) - 1);
	assert_int_equal(pbm_session_get_state(s), PBM_SESSION_STATE_RUNNING);
	advance(f, 1);
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_COMPLETED);
	print_message("# 20-minute session ended %" G_GINT64_FORMAT " us after its plan\n",
	              pbm_clock_now(f->clock) - t0 - S(20 * 60));
	assert_int_equal(pbm_clock_now(f->clock) - t0, S(20 * 60));
}

static void
test_dose_step(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmProfile) p =
	        profile_from("dose", "steps = ( { name = \"nir\"; dose_nir = 2.0; percent_red = "
	                             "50; percent_nir = 100; },\n"
	                             "{ name = \"red\"; duration = 10; percent_red = 50; } );");
	PbmSimTransport *t = plug(f, "DOSE");
	g_autoptr(PbmSession) s = start(f, p);
	gdouble dose[PBM_N_BANDS];

	/* 2 J/cm2 at 34 mW/cm2 takes 58.8 s */
	advance(f, S(58));
	assert_int_equal(pbm_session_get_step(s), 0);
	advance(f, S(1));
	assert_int_equal(pbm_session_get_step(s), 1);
	pbm_session_get_dose(s, dose);
	assert_float_equal(dose[1], 2.0, 0.01);
	assert_int_equal(sim_level(sim_of(t), 1), 0);
	advance(f, S(11));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_COMPLETED);
	pbm_session_get_dose(s, dose);
	assert_float_equal(dose[1], 2.0, 0.01);
}

/* A band that has its dose goes dark at once, not over the step's ramp,
 * which would give it more than its target (20 % more here). */
static void
test_dose_band_stops_at_once(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmProfile) p = profile_from(
	        "two", "steps = ( { name = \"both\"; dose_red = 0.36; dose_nir = 1.02; "
	               "percent_red = 100; percent_nir = 100; ramp_s = 4.0; } );");
	PbmSimTransport *t = plug(f, "TWO");
	g_autoptr(PbmSession) s = start(f, p);
	gdouble dose[PBM_N_BANDS];

	/* red: 36 mW/cm2, 2 s of it lost to the ramp: 0.36 J/cm2 at 12 s */
	advance(f, S(12) + 200 * 1000);
	assert_int_equal(sim_level(sim_of(t), 0), 0);
	assert_int_equal(sim_level(sim_of(t), 1), 1000);
	/* NIR: 34 mW/cm2, 1.02 J/cm2 at 32 s */
	advance(f, S(21));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_COMPLETED);
	pbm_session_get_dose(s, dose);
	assert_float_equal(dose[0], 0.36, 0.36 * 0.005);
	assert_float_equal(dose[1], 1.02, 1.02 * 0.005);
}

/* The sim reports the level along a ramp every 100 ms (linear from the level
 * at the command to the target, src/sim/pbm-sim.c), so a ramp is a chain of
 * straight pieces between reports. The dose on one must match the analytic
 * value: the old rule, holding each report until the next, fell short by
 * half a report interval of the ramp's full level (0.67 % here). */
static void
test_dose_on_ramp(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmProfile) p = profile_from(
	        "ramp",
	        "steps = ( { name = \"up\"; duration = 10; percent_red = 80; percent_nir = 60; "
	        "ramp_s = 5.0; } );");
	g_autoptr(PbmSession) s = NULL;
	gdouble dose[PBM_N_BANDS];
	/* 5 s from dark to the level (half of it on average), 5 s at it */
	const gdouble red = 36 * 0.8 * 7.5 / 1000, nir = 34 * 0.6 * 7.5 / 1000;

	plug(f, "RAMP");
	s = start(f, p);
	advance(f, S(10));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_COMPLETED);
	pbm_session_get_dose(s, dose);
	print_message("# ramp dose: red %+.4f %%, NIR %+.4f %% off the analytic value\n",
	              (dose[0] / red - 1) * 100, (dose[1] / nir - 1) * 100);
	assert_float_equal(dose[0], red, red * 0.0005);
	assert_float_equal(dose[1], nir, nir * 0.0005);
	assert_int_equal(pbm_session_get_lit_time(s), S(10));
}

static void
test_pause_resume(void **state)
{
	Fixture *f = *state;
	PbmSimTransport *t = plug(f, "PAUSE");
	g_autoptr(PbmProfile) demo = shipped("demo");
	g_autoptr(PbmSession) s = start(f, demo);
	gint64 t0 = pbm_clock_now(f->clock);
	gdouble before[PBM_N_BANDS], after[PBM_N_BANDS];

	advance(f, S(12));
	assert_true(pbm_session_pause(s, NULL));
	advance(f, MS(10));
	assert_false(pbm_sim_is_lit(sim_of(t)));
	pbm_session_get_dose(s, before);
	advance(f, S(60)); /* nothing accrues, the watchdog does not trip */
	pbm_session_get_dose(s, after);
	assert_float_equal(after[0], before[0], 1e-12);
	assert_int_equal(pbm_session_get_elapsed(s), S(12));
	assert_int_equal(pbm_session_get_state(s), PBM_SESSION_STATE_PAUSED);
	{
		g_autoptr(GError) error = NULL;
		assert_false(pbm_session_pause(s, &error));
		assert_true(
		        g_error_matches(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_NOT_RUNNING));
	}
	assert_true(pbm_session_resume(s, NULL));
	advance(f, MS(10));
	assert_true(pbm_sim_is_lit(sim_of(t)));
	advance(f, S(18) - MS(10));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_COMPLETED);
	/* 30 s of session and 60.01 s of pause */
	assert_int_equal(pbm_clock_now(f->clock) - t0, S(90) + MS(10));
}

/* Resume and Pause in one main loop iteration (two clients, or a double
 * click): the panel answers the resume's heartbeat only once the session is
 * paused again. That answer must not light the panel. */
static void
test_pause_right_after_resume(void **state)
{
	Fixture *f = *state;
	PbmSimTransport *t = plug(f, "RACE");
	g_autoptr(PbmProfile) demo = shipped("demo");
	g_autoptr(PbmSession) s = start(f, demo);
	guint64 changes;

	advance(f, S(12));
	assert_true(pbm_session_pause(s, NULL));
	advance(f, S(5));
	assert_false(pbm_sim_is_lit(sim_of(t)));
	assert_true(pbm_session_resume(s, NULL));
	assert_true(pbm_session_pause(s, NULL));
	changes = pbm_sim_get_output_changes(sim_of(t), NULL);
	/* the heartbeat's reply is dispatched now */
	advance(f, 0);
	assert_int_equal(pbm_sim_get_output_changes(sim_of(t), NULL), changes);
	assert_false(pbm_sim_is_lit(sim_of(t)));
	assert_int_equal(pbm_session_get_state(s), PBM_SESSION_STATE_PAUSED);
	/* dark and paused for longer than the watchdog timeout */
	advance(f, S(10));
	assert_int_equal(pbm_sim_get_output_changes(sim_of(t), NULL), changes);
	assert_int_equal(pbm_session_get_state(s), PBM_SESSION_STATE_PAUSED);
	assert_int_equal(pbm_session_get_elapsed(s), S(12));
	/* a later resume lights it again and the session runs to its end */
	assert_true(pbm_session_resume(s, NULL));
	advance(f, MS(10));
	assert_true(pbm_sim_is_lit(sim_of(t)));
	assert_int_equal(sim_level(sim_of(t), 1), 400);
	advance(f, S(18));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_COMPLETED);
}

static void
test_pause_too_long(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmProfile) demo = shipped("demo");
	g_autoptr(PbmSession) s = NULL;

	plug(f, "PAUSE2");
	f->config->limits.max_pause_us = S(60);
	s = start(f, demo);
	advance(f, S(5));
	assert_true(pbm_session_pause(s, NULL));
	advance(f, S(10 * 60));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_STOPPED);
	assert_non_null(strstr(pbm_session_get_reason(s), "limits.max_pause"));
	/* it does not come back by itself */
	assert_false(pbm_session_resume(s, NULL));
	assert_true(all_dark(f));
}

/* ---- time bounds ---- */

/* Seconds until the panel's own session cap switches it off; 0 while dark. */
static guint
cap_left_s(PbmSimTransport *t)
{
	PbmStatus status;

	pbm_sim_get_status(sim_of(t), &status);
	return status.session_left_s;
}

/* Rounded up to whole seconds, as cap_seconds() does. */
static guint
whole_s(gint64 us)
{
	return (guint)((us + S(1) - 1) / S(1));
}

/* A 30 s timed profile: the panel's cap is the rest of the plan + 10 s at
 * every set-output, and again after a pause, not limits.max_session. */
static void
test_cap_follows_plan(void **state)
{
	Fixture *f = *state;
	PbmSimTransport *t = plug(f, "CAP");
	g_autoptr(PbmProfile) p = profile_from(
	        "thirty", "steps = ( { name = \"a\"; duration = 10; percent_red = 50; },\n"
	                  "{ name = \"b\"; duration = 20; percent_nir = 50; } );");
	g_autoptr(PbmSession) s = start(f, p);

	assert_int_equal(cap_left_s(t), 30 + 10);
	advance(f, S(10));
	assert_int_equal(pbm_session_get_step(s), 1);
	assert_int_equal(cap_left_s(t), 20 + 10);
	advance(f, S(2));
	assert_true(pbm_session_pause(s, NULL));
	advance(f, S(60));
	assert_int_equal(cap_left_s(t), 0);
	assert_true(pbm_session_resume(s, NULL));
	advance(f, MS(10));
	assert_true(pbm_sim_is_lit(sim_of(t)));
	/* the resume's set-output renews it: 18 s of plan left */
	assert_int_equal(cap_left_s(t), 18 + 10);
	advance(f, S(18) - MS(10));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_COMPLETED);
}

/* A timed plan as long as limits.max_session ends by its last step, with no
 * session limit racing it. */
static void
test_timed_plan_at_max_session_completes(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmProfile) demo = shipped("demo");
	g_autoptr(PbmSession) s = NULL;

	plug(f, "FULL");
	f->config->limits.max_session_us = S(30);
	s = start(f, demo);
	advance(f, S(30));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_COMPLETED);
	assert_string_equal(pbm_session_get_reason(s), "all 3 steps done");
}

static const gchar dose_profile[] =
        "steps = ( { name = \"nir\"; dose_nir = 2.0; percent_red = 50; percent_nir = 100; },\n"
        "{ name = \"red\"; duration = 10; percent_red = 50; } );";

/* A plan with a dose-ended step may take twice its planned time. */
static void
test_cap_dose_plan_twice(void **state)
{
	Fixture *f = *state;
	PbmSimTransport *t = plug(f, "DCAP");
	g_autoptr(PbmProfile) p = profile_from("dose", dose_profile);
	g_autoptr(PbmSession) s = start(f, p);
	gint64 planned = pbm_session_get_plan(s)->duration_us;

	/* 2 J/cm2 at 34 mW/cm2 (58.8 s), then 10 s */
	assert_true(planned > S(68) && planned < S(69));
	assert_int_equal(cap_left_s(t), whole_s(2 * planned + S(10)));
	advance(f, S(70));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_COMPLETED);
}

/* pbmd's own limit ends a dose plan that has not met its targets by twice
 * its planned time; the plan's estimate is made 20 s (the real one is 69 s)
 * so that the dose step is still running then. */
static void
test_dose_plan_time_bound(void **state)
{
	Fixture *f = *state;
	PbmSimTransport *t = plug(f, "BOUND");
	g_autoptr(PbmProfile) p = profile_from("dose", dose_profile);
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmPlan) plan = plan_for(f, p, NULL, &error);
	g_autoptr(PbmSession) s = NULL;

	assert_non_null(plan);
	plan->duration_us = S(20);
	s = start_plan(f, plan);
	assert_int_equal(cap_left_s(t), 40 + 10);
	advance(f, S(40) - 1);
	assert_int_equal(pbm_session_get_state(s), PBM_SESSION_STATE_RUNNING);
	advance(f, 1);
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_FAULT);
	assert_string_equal(pbm_session_get_reason(s),
	                    "the session reached its time bound of 40 s, twice the planned 20 s, "
	                    "before its dose targets");
	advance(f, MS(10));
	assert_true(all_dark(f));
}

/* Twice the plan, but never more than limits.max_session: set on the plan
 * after planning, since the planner refuses a plan longer than it. */
static void
test_dose_plan_bound_by_max_session(void **state)
{
	Fixture *f = *state;
	PbmSimTransport *t = plug(f, "MAXS");
	g_autoptr(PbmProfile) p = profile_from("dose", dose_profile);
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmPlan) plan = plan_for(f, p, NULL, &error);
	g_autoptr(PbmSession) s = NULL;

	assert_non_null(plan);
	plan->limits.max_session_us = S(30);
	s = start_plan(f, plan);
	assert_int_equal(cap_left_s(t), 30 + 10);
	advance(f, S(30));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_FAULT);
	assert_string_equal(pbm_session_get_reason(s),
	                    "the session reached the 30 s limit (limits.max_session) before its "
	                    "dose targets");
}

static void
test_stop(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmProfile) demo = shipped("demo");
	g_autoptr(PbmSession) s = NULL;

	plug(f, "STOP");
	s = start(f, demo);
	advance(f, S(3));
	assert_true(pbm_session_stop(s, NULL));
	advance(f, MS(10));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_STOPPED);
	assert_true(all_dark(f));
	assert_false(pbm_session_stop(s, NULL));
}

static void
test_button(void **state)
{
	Fixture *f = *state;
	PbmSimTransport *t = plug(f, "BUTTON");
	g_autoptr(PbmProfile) demo = shipped("demo");
	g_autoptr(PbmSession) s = start(f, demo);

	advance(f, S(4));
	pbm_sim_press_button(sim_of(t));
	pbm_sim_transport_sync(t);
	advance(f, MS(10));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_STOPPED_AT_PANEL);
	assert_true(all_dark(f));
}

static void
test_disconnect_mid_step_lockstep(void **state)
{
	Fixture *f = *state;
	PbmSimTransport *a = plug(f, "LOCK-A");
	PbmSimTransport *b = plug(f, "LOCK-B");
	g_autoptr(PbmProfile) demo = shipped("demo");
	g_autoptr(PbmSession) s = start(f, demo);

	/* both panels follow the same steps at the same time */
	advance(f, S(11));
	assert_int_equal(sim_level(sim_of(a), 1), 400);
	assert_int_equal(sim_level(sim_of(b), 1), 400);
	pbm_sim_transport_unplug(a);
	advance(f, MS(10));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_DISCONNECTED);
	assert_non_null(strstr(pbm_session_get_reason(s), "LOCK-A"));
	/* the other panel goes dark too */
	assert_false(pbm_sim_is_lit(sim_of(b)));
}

static void
test_fault_ends_session(void **state)
{
	Fixture *f = *state;
	PbmSimTransport *t = plug(f, "FAULT");
	g_autoptr(PbmProfile) demo = shipped("demo");
	g_autoptr(PbmSession) s = start(f, demo);

	advance(f, S(3));
	pbm_sim_set_fan_stalled(sim_of(t), TRUE);
	advance(f, S(3));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_FAULT);
	assert_non_null(strstr(pbm_session_get_faults(s), "fan-stall"));
	assert_true(all_dark(f));
}

static void
test_thermal_derate_then_stop(void **state)
{
	Fixture *f = *state;
	PbmSimTransport *t = plug(f, "HOT");
	g_autoptr(PbmProfile) p =
	        profile_from("hot", "steps = ( { name = \"s\"; duration = \"20m\"; percent_red = "
	                            "100; percent_nir = 100; } );");
	g_autoptr(PbmSession) s = NULL;

	f->config->limits.max_temperature_c = 30.0;
	s = start(f, p);
	/* the board passes 30 C: output halves, the session goes on */
	for (guint i = 0; i < 120 && sim_level(sim_of(t), 0) == 1000; i++)
		advance(f, S(1));
	assert_int_equal(sim_level(sim_of(t), 0), 500);
	assert_int_equal(pbm_session_get_state(s), PBM_SESSION_STATE_RUNNING);
	/* a hot room pushes it 3 C past the limit anyway: the session ends */
	pbm_sim_set_ambient(sim_of(t), 40.0);
	for (guint i = 0; i < 1200 && pbm_session_get_state(s) == PBM_SESSION_STATE_RUNNING; i++)
		advance(f, S(1));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_FAULT);
	assert_non_null(strstr(pbm_session_get_reason(s), "limits.max_temperature_c"));
	assert_true(pbm_session_get_max_temperature(s) >= 33.0);
	advance(f, MS(10));
	assert_true(all_dark(f));
}

static void
test_firmware_derating_lowers_dose(void **state)
{
	Fixture *f = *state;
	PbmSimTransport *t = plug(f, "WARM");
	g_autoptr(PbmProfile) p =
	        profile_from("warm", "steps = ( { name = \"s\"; duration = \"10m\"; percent_nir = "
	                             "100; percent_red = 100; } );");
	g_autoptr(PbmSession) s = NULL;
	gdouble dose[PBM_N_BANDS];
	gboolean derated = FALSE;

	/* a warm room: the panel derates itself below pbmd's own limit */
	pbm_sim_set_ambient(sim_of(t), 36.0);
	advance(f, S(600));
	s = start(f, p);
	for (guint i = 0; i < 601; i++) {
		PbmStatus st;
		advance(f, S(1));
		pbm_sim_get_status(sim_of(t), &st);
		derated |= st.derate < 1000;
	}
	assert_true(derated);
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_COMPLETED);
	pbm_session_get_dose(s, dose);
	/* full output would give 34 x 600 / 1000 = 20.4 J/cm2 of NIR */
	print_message("# NIR dose with firmware derating: %.2f J/cm2 (20.40 without)\n", dose[1]);
	assert_true(dose[1] < 20.4 - 0.5);
	assert_true(dose[1] > 5.0);
}

static void
test_thermal_stop_action(void **state)
{
	Fixture *f = *state;
	PbmSimTransport *t = plug(f, "HOT2");
	g_autoptr(PbmProfile) p =
	        profile_from("hot2", "steps = ( { name = \"s\"; duration = \"20m\"; percent_red = "
	                             "100; percent_nir = 100; } );");
	g_autoptr(PbmSession) s = NULL;

	f->config->limits.max_temperature_c = 30.0;
	f->config->limits.thermal_action = PBM_THERMAL_STOP;
	s = start(f, p);
	for (guint i = 0; i < 600 && pbm_session_get_state(s) == PBM_SESSION_STATE_RUNNING; i++)
		advance(f, S(1));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_FAULT);
	advance(f, MS(10));
	assert_false(pbm_sim_is_lit(sim_of(t)));
}

static void
test_abort_daemon_stopped(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmProfile) demo = shipped("demo");
	g_autoptr(PbmSession) s = NULL;

	plug(f, "ABORT");
	s = start(f, demo);
	advance(f, S(2));
	pbm_session_abort(s, PBM_OUTCOME_DAEMON_STOPPED, "pbmd is stopping");
	advance(f, MS(10));
	assert_int_equal(pbm_session_get_outcome(s), PBM_OUTCOME_DAEMON_STOPPED);
	assert_true(all_dark(f));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_demo_runs_to_plan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_twenty_minutes_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dose_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dose_band_stops_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dose_on_ramp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_right_after_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_follows_plan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timed_plan_at_max_session_completes, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_cap_dose_plan_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dose_plan_time_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dose_plan_bound_by_max_session, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_button, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disconnect_mid_step_lockstep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_ends_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thermal_derate_then_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_firmware_derating_lowers_dose, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_thermal_stop_action, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_daemon_stopped, setup, teardown),
	};

	return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
