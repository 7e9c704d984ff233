/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The plan's dose policy on simulated panels: prescriptions on panels of
 * different power, a panel that cannot reach one, the IEC 62471 eye limit
 * and the goggles acknowledgement, the skin irradiance cap, the session
 * and combined daily dose caps, a profile's minimum interval, and visible
 * flicker judged by wavelength. Each refusal names its limit and, where it
 * frees with time, when.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "pbm-manual-clock.h"
#include "pbm-panel-monitor.h"
#include "pbm-format.h"
#include "pbm-plan.h"

#define S(x) ((gint64)(x)*G_USEC_PER_SEC)
#define HOUR(x) S((x)*3600)

typedef struct {
	PbmClock *clock;
	PbmPanelMonitor *monitor;
	GPtrArray *transports;
	PbmConfig *config;
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

/* A standard simulated panel with its calibration scaled by power and its
 * NIR channel at nir_nm. */
static PbmPanel *
plug(Fixture *f, const gchar *serial, gdouble power, guint16 nir_nm)
{
	PbmSimConfig config;
	PbmSimTransport *t;

	pbm_sim_config_init(&config, serial);
	for (guint c = 0; c < config.channel_count; c++) {
		for (guint p = 0; p < config.channels[c].point_count; p++)
			config.channels[c].points[p].irradiance_cmw =
			        (guint16)(config.channels[c].points[p].irradiance_cmw * power);
	}
	config.channels[1].wavelength_nm = nir_nm;
	t = pbm_panel_monitor_add_sim(f->monitor, &config, NULL);
	assert_non_null(t);
	g_ptr_array_add(f->transports, t);
	pbm_manual_clock_advance(PBM_MANUAL_CLOCK(f->clock), S(1));
	return pbm_panel_monitor_find(f->monitor, serial);
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
plan_on(Fixture *f, PbmProfile *profile, GPtrArray *panels, gboolean goggles, const PbmUsage *usage,
        GError **error)
{
	PbmUsage none = { 0 };
	PbmPlanRequest request = { .goggles = goggles };

	return pbm_plan_new(profile, &request, panels, &f->config->limits,
	                    usage != NULL ? usage : &none, pbm_clock_now_wall(f->clock), error);
}

static PbmPlan *
plan_for(Fixture *f, PbmProfile *profile, gboolean goggles, const PbmUsage *usage, GError **error)
{
	return plan_on(f, profile, pbm_panel_monitor_get_panels(f->monitor), goggles, usage, error);
}

static void
assert_refusal(PbmPlan *plan, const GError *error, const gchar *substring)
{
	if (plan != NULL)
		fail_msg("a plan was made; expected a refusal mentioning '%s'", substring);
	if (!g_error_matches(error, PBM_SESSION_ERROR, PBM_SESSION_ERROR_SAFETY_LIMIT))
		fail_msg("expected SafetyLimit, got: %s", error != NULL ? error->message : "none");
	if (strstr(error->message, substring) == NULL)
		fail_msg("'%s' lacks '%s'", error->message, substring);
}

static GPtrArray *
just(PbmPanel *panel)
{
	GPtrArray *a = g_ptr_array_new();

	g_ptr_array_add(a, panel);
	return a;
}

/* ---- prescriptions ---- */

static void
test_same_prescription_same_dose(void **state)
{
	Fixture *f = *state;
	PbmPanel *weak = plug(f, "WEAK", 0.6, 850);
	PbmPanel *strong = plug(f, "STRONG", 3.0, 850);
	g_autoptr(PbmProfile) back = shipped("back-pain");
	g_autoptr(PbmProfile) demo = shipped("demo");
	g_autoptr(GPtrArray) on_weak = just(weak), on_strong = just(strong);
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmPlan) a = plan_on(f, back, on_weak, FALSE, NULL, &error);
	g_autoptr(PbmPlan) b = plan_on(f, back, on_strong, FALSE, NULL, &error);
	g_autoptr(PbmPlan) c = NULL, d = NULL;
	PbmPanelPlan *pa, *pb;

	assert_non_null(a);
	assert_non_null(b);
	pa = g_ptr_array_index(a->panels, 0);
	pb = g_ptr_array_index(b->panels, 0);
	/* the strong panel runs at a fifth of the weak one's level ... */
	assert_true(pb->levels[1][1] * 4 < pa->levels[1][1]);
	/* ... and both give the prescription: 8 J/cm2 of NIR, within 1 % */
	for (guint band = 0; band < PBM_N_BANDS; band++)
		assert_float_equal(a->dose[band], b->dose[band], a->dose[band] * 0.01);
	assert_float_equal(a->dose[PBM_BAND_INDEX_NIR], 8.0, 0.08);

	/* a percentage is a share of whatever the panel gives */
	c = plan_on(f, demo, on_weak, FALSE, NULL, &error);
	d = plan_on(f, demo, on_strong, FALSE, NULL, &error);
	assert_non_null(c);
	assert_null(d); /* 40 % of 3x the standard panel is above the skin cap */
	assert_refusal(d, error, "limits.max_irradiance");
}

static void
test_panel_too_weak(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmProfile) back = shipped("back-pain");
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmPlan) plan = NULL;

	plug(f, "FAINT", 0.25, 850); /* 9.0 red, 8.5 NIR mW/cm2 at 15 cm */
	plan = plan_for(f, back, FALSE, NULL, &error);
	assert_refusal(
	        plan, error,
	        "panel FAINT: step \"warm-up\" prescribes 10.0 mW/cm² of red at 15.0 cm, but "
	        "this panel gives at most 9.0 mW/cm² of it there");
}

/* ---- the eyes ---- */

static void
test_eye_limit_needs_goggles(void **state)
{
	Fixture *f = *state;
	/* NIR 30 mW/cm2 for 5 min: 300 W/m2 * 300 s = 90000 J/m2, against
	 * 18000 * 300^0.25 = 74912 */
	g_autoptr(PbmProfile) bright = profile_from(
	        "bright", "steps = ( { name = \"s\"; duration = \"5m\"; irradiance_nir = 30; } );");
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmPlan) refused = NULL, acknowledged = NULL;

	plug(f, "EYE", 1.0, 850);
	refused = plan_for(f, bright, FALSE, NULL, &error);
	assert_refusal(refused, error,
	               "gives unprotected eyes 89964 J/m² of near-infrared in 5 min, "
	               "1.2 times the IEC 62471 limit of 74912 J/m²");
	assert_non_null(strstr(error->message, "--goggles"));

	acknowledged = plan_for(f, bright, TRUE, NULL, NULL);
	assert_non_null(acknowledged);
	assert_true(acknowledged->goggles);
	assert_int_equal(g_strv_length(acknowledged->warnings), 1);
	assert_true(g_str_has_prefix(acknowledged->warnings[0],
	                             "goggles: this session gives the eyes 1.2 times"));
}

static void
test_eye_limit_every_panel_counts(void **state)
{
	Fixture *f = *state;
	/* 18 mW/cm2 for 5 min is 54000 J/m2 from one panel, under 74915; the
	 * face is in front of both */
	g_autoptr(PbmProfile) p = profile_from(
	        "pair", "steps = ( { name = \"s\"; duration = \"5m\"; irradiance_nir = 18; } );");
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmPlan) one = NULL, two = NULL;
	PbmPanel *a = plug(f, "EYE-A", 1.0, 850);
	g_autoptr(GPtrArray) only_a = just(a);

	plug(f, "EYE-B", 1.0, 850);
	one = plan_on(f, p, only_a, FALSE, NULL, &error);
	assert_non_null(one);
	two = plan_for(f, p, FALSE, NULL, &error);
	assert_refusal(two, error, "1.4 times the IEC 62471 limit");
}

static void
test_goggles_warning_below_the_limit(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmProfile) back = shipped("back-pain");
	g_autoptr(PbmProfile) skin = shipped("skin");
	g_autoptr(PbmPlan) a = NULL, b = NULL;

	plug(f, "WARN", 1.0, 850);
	a = plan_for(f, back, FALSE, NULL, NULL);
	assert_non_null(a);
	assert_false(a->goggles);
	assert_int_equal(g_strv_length(a->warnings), 1);
	assert_true(
	        g_str_has_prefix(a->warnings[0], "goggles: near-infrared light cannot be seen"));
	assert_non_null(strstr(a->warnings[0], "90 % of the IEC 62471 limit at 15.0 cm"));
	/* red only: nothing to warn about */
	b = plan_for(f, skin, FALSE, NULL, NULL);
	assert_non_null(b);
	assert_int_equal(g_strv_length(b->warnings), 0);
}

/* ---- caps ---- */

static void
test_skin_irradiance_cap(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmProfile) hot =
	        profile_from("hot", "steps = ( { name = \"s\"; duration = \"1m\"; "
	                            "irradiance_red = 30; irradiance_nir = 25; } );");
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmPlan) plan = NULL;

	plug(f, "SKIN", 2.0, 850);
	plan = plan_for(f, hot, TRUE, NULL, &error);
	assert_refusal(plan, error,
	               "profile hot gives up to 54.9 mW/cm² (red and near-infrared together) at "
	               "15.0 cm on panel SKIN, above the 50.0 mW/cm² limit for the skin "
	               "(limits.max_irradiance)");
}

static void
test_session_dose_cap(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmProfile) big = profile_from(
	        "big", "steps = ( { name = \"s\"; duration = \"10m\"; dose_red = 12; } );");
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmPlan) plan = NULL;

	plug(f, "DOSE", 1.0, 850);
	plan = plan_for(f, big, FALSE, NULL, &error);
	assert_refusal(plan, error,
	               "profile big gives 12.0 J/cm² (red and near-infrared together) at 15.0 "
	               "cm, above the 10.0 J/cm² limit for one session (limits.session_dose_max)");
}

static void
test_daily_total_cap(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmProfile) back = shipped("back-pain");
	gint64 now = pbm_clock_now_wall(f->clock);
	/* 6 + 6 J/cm2 in the window, each band far below its own cap */
	PbmRecentDose recent[] = {
		{ now - HOUR(20), { 3.0, 3.0 } },
		{ now - HOUR(2), { 3.0, 3.0 } },
	};
	PbmUsage usage = { .recent = recent, .n_recent = 2 };
	g_autofree gchar *frees = pbm_format_day_time(recent[0].ended_at + HOUR(24), now);
	g_autofree gchar *expected = g_strdup_printf("it fits again from %s", frees);
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmPlan) plan = NULL;

	plug(f, "DAY", 1.0, 850);
	plan = plan_for(f, back, FALSE, &usage, &error);
	assert_refusal(plan, error,
	               "this session would bring the dose of the last 24 h (red and "
	               "near-infrared together) to 21.2 J/cm², above the 20.0 J/cm² limit "
	               "(limits.daily_dose_total)");
	assert_non_null(strstr(error->message, expected));
}

static void
test_min_interval(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmProfile) back = shipped("back-pain");
	g_autoptr(PbmProfile) joint = shipped("joint");
	gint64 now = pbm_clock_now_wall(f->clock);
	PbmUsage usage = { .last_profile_end = now - HOUR(10) };
	g_autofree gchar *frees = pbm_format_day_time(now + HOUR(30), now);
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmPlan) plan = NULL, later = NULL;

	plug(f, "WEEK", 1.0, 850);
	plan = plan_for(f, back, FALSE, &usage, &error);
	assert_refusal(plan, error, "profile back-pain is meant to run at most every 40 h");
	assert_non_null(strstr(error->message, frees));
	/* the day after tomorrow it runs */
	usage.last_profile_end = now - HOUR(41);
	later = plan_for(f, back, FALSE, &usage, NULL);
	assert_non_null(later);
	assert_int_equal(joint->min_interval_us, HOUR(20));
}

/* ---- flicker by wavelength ---- */

static void
test_visible_flicker_through_nir(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmProfile) pulsed =
	        profile_from("pulsed", "steps = ( { name = \"p\"; duration = \"1m\"; "
	                               "percent_nir = 30; pulse_hz = 10; duty = 50; } );");
	g_autoptr(PbmProfile) opted = profile_from(
	        "opted", "allow_visible_pulse = true; pulse_warning = \"it flickers\";\n"
	                 "steps = ( { name = \"p\"; duration = \"1m\"; percent_nir = 30; "
	                 "pulse_hz = 10; duty = 50; } );");
	PbmPanel *deep = plug(f, "NIR850", 1.0, 850);
	PbmPanel *edge = plug(f, "NIR750", 1.0, 750);
	g_autoptr(GPtrArray) on_deep = just(deep), on_edge = just(edge);
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmPlan) fine = NULL, refused = NULL, still = NULL, allowed = NULL;

	/* 850 nm cannot be seen: no flicker */
	fine = plan_on(f, pulsed, on_deep, TRUE, NULL, &error);
	assert_non_null(fine);
	/* 750 nm can, whatever band the panel files it under */
	refused = plan_on(f, pulsed, on_edge, TRUE, NULL, &error);
	assert_refusal(refused, error,
	               "step \"p\" of pulsed pulses the 750 nm channel of panel NIR750 at 10 Hz");
	assert_non_null(strstr(error->message, "opt in with allow_visible_pulse"));
	g_clear_error(&error);
	/* an opted-in profile still needs the system to allow it */
	still = plan_on(f, opted, on_edge, TRUE, NULL, &error);
	assert_refusal(still, error, "limits.allow_visible_pulse");
	f->config->limits.allow_visible_pulse = TRUE;
	allowed = plan_on(f, opted, on_edge, TRUE, NULL, NULL);
	assert_non_null(allowed);
	assert_true(g_strv_contains((const gchar *const *)allowed->warnings,
	                            "visible-pulse: it flickers"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_same_prescription_same_dose),
		T(test_panel_too_weak),
		T(test_eye_limit_needs_goggles),
		T(test_eye_limit_every_panel_counts),
		T(test_goggles_warning_below_the_limit),
		T(test_skin_irradiance_cap),
		T(test_session_dose_cap),
		T(test_daily_total_cap),
		T(test_min_interval),
		T(test_visible_flicker_through_nir),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
