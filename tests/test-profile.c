/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Profiles and the daemon configuration: every shipped profile loads, the
 * dose arithmetic matches hand-computed values, levels map onto a panel's
 * channels without clamping, durations parse, and the configuration keeps
 * its defaults, ranges and cross-checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "pbm-config.h"
#include "pbm-format.h"
#include "pbm-dose.h"
#include "pbm-profile.h"
#include "pbm-profile-store.h"
#include "pbm-sim.h"
#include "pbm-test-files.h"

#define S(x) ((gint64)(x)*G_USEC_PER_SEC)

static gchar *tmpdir;

static int
make_tmpdir(void **state)
{
	tmpdir = g_dir_make_tmp("pbm-profile-XXXXXX", NULL);
	return tmpdir == NULL;
}

static int
remove_tmpdir(void **state)
{
	pbm_test_rm_rf(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	return 0;
}

static gchar *
write_file(const gchar *name, const gchar *text)
{
	gchar *path = g_build_filename(tmpdir, name, NULL);

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

static PbmProfile *
load_text(const gchar *name, const gchar *text)
{
	g_autofree gchar *path = write_file(name, text);
	g_autoptr(GError) error = NULL;
	PbmProfile *p = pbm_profile_load(path, &error);

	if (p == NULL)
		fail_msg("%s", error->message);
	return p;
}

static void
sim_channels(PbmChannel channels[PBM_MAX_CHANNELS])
{
	PbmSimConfig config;

	pbm_sim_config_init(&config, "X");
	memcpy(channels, config.channels, sizeof(config.channels));
}

static PbmProfile *
shipped(const gchar *name)
{
	g_autofree gchar *file = g_strconcat(name, ".conf", NULL);
	g_autofree gchar *path = g_build_filename(PBM_SOURCE_DIR, "data", "profiles", file, NULL);
	g_autoptr(GError) error = NULL;
	PbmProfile *p = pbm_profile_load(path, &error);

	if (p == NULL)
		fail_msg("shipped profile %s: %s", name, error->message);
	return p;
}

/* ---- shipped profiles ---- */

static void
test_shipped_profiles_load(void **state)
{
	g_autofree gchar *tmp = NULL;
	g_autofree gchar *dir = NULL;
	const gchar *dirs[] = { NULL, NULL };
	g_autoptr(PbmProfileStore) store = NULL;
	g_autoptr(GPtrArray) list = NULL;
	const gchar *expected[] = {
		"back-pain", "demo", "inflammation", "joint", "recovery", "skin"
	};
	PbmChannel ch[PBM_MAX_CHANNELS];

	/* as installed, whatever the modes of the checkout */
	tmp = g_dir_make_tmp("pbm-shipped-XXXXXX", NULL);
	assert_non_null(tmp);
	dir = g_build_filename(tmp, "profiles", NULL);
	dirs[0] = dir;
	pbm_test_copy_shipped_profiles(dir);
	store = pbm_profile_store_load(dirs, NULL);
	list = pbm_profile_store_list(store);
	pbm_test_rm_rf(tmp);
	sim_channels(ch);
	assert_int_equal(pbm_profile_store_get_problems(store)->len, 0);
	assert_int_equal(list->len, G_N_ELEMENTS(expected));
	for (guint i = 0; i < list->len; i++) {
		PbmProfile *p = g_ptr_array_index(list, i);
		PbmEstimate e;
		g_autoptr(GError) error = NULL;

		assert_string_equal(p->name, expected[i]);
		assert_true(strlen(p->title) > 0);
		assert_true(strlen(p->description) > 0);
		/* every shipped profile runs on the reference panel, within the
		 * default limits: at most 30 minutes, 10 J/cm2 a session of both
		 * bands, 50 mW/cm2 at the skin, and under the eye limit */
		if (!pbm_profile_estimate(p, ch, 2, &e, &error))
			fail_msg("%s: %s", p->name, error->message);
		assert_true(e.duration_us <= S(30 * 60));
		assert_true(e.dose[0] + e.dose[1] <= 10.0);
		assert_true(e.max_irradiance <= 50.0);
		assert_true(e.eye_exposure <= pbm_eye_ir_limit(e.duration_us));
		assert_false(pbm_profile_has_visible_pulse(p));
		/* goggles whenever there is NIR */
		assert_int_equal(p->goggles_required, e.dose[PBM_BAND_INDEX_NIR] > 0);
	}
}

static void
test_shipped_profile_shapes(void **state)
{
	g_autoptr(PbmProfile) back = shipped("back-pain");
	g_autoptr(PbmProfile) skin = shipped("skin");
	g_autoptr(PbmProfile) joint = shipped("joint");
	g_autoptr(PbmProfile) demo = shipped("demo");
	PbmChannel ch[PBM_MAX_CHANNELS];
	PbmEstimate e;

	sim_channels(ch);
	/* back-pain: red + NIR, about ten minutes */
	assert_true(pbm_profile_estimate(back, ch, 2, &e, NULL));
	assert_true(e.dose[PBM_BAND_INDEX_RED] > 0 && e.dose[PBM_BAND_INDEX_NIR] > 0);
	assert_int_equal(e.duration_us, S(600));
	/* skin: red only, no goggles */
	assert_true(pbm_profile_estimate(skin, ch, 2, &e, NULL));
	assert_true(e.dose[PBM_BAND_INDEX_NIR] == 0);
	assert_false(skin->goggles_required);
	/* joint: 6 J/cm2 of NIR and 3 of red, less what the 3 s ramp up holds back */
	assert_true(pbm_profile_estimate(joint, ch, 2, &e, NULL));
	assert_float_equal(e.dose[PBM_BAND_INDEX_NIR], 6.0, 0.06);
	assert_float_equal(e.dose[PBM_BAND_INDEX_RED], 3.0, 0.03);
	/* demo: 30 seconds */
	assert_true(pbm_profile_estimate(demo, ch, 2, &e, NULL));
	assert_int_equal(e.duration_us, S(30));
}

/* ---- dose arithmetic, by hand ---- */

static void
test_dose_back_pain(void **state)
{
	g_autoptr(PbmProfile) p = shipped("back-pain");
	PbmChannel ch[PBM_MAX_CHANNELS];
	PbmEstimate e;

	sim_channels(ch);
	assert_true(pbm_profile_estimate(p, ch, 2, &e, NULL));
	/* 15 cm: red 36.00, NIR 34.00 mW/cm2 at full level. Prescriptions are
	 * rounded down to whole permille: red 10 -> 277 (9.972 mW/cm2), NIR
	 * 8 J/cm2 in 480 s = 16.667 -> 490 (16.660). Ramps are linear:
	 * red: 9.972 * (60 - 5/2) + 9.972 * 2/2 (ramping down) + 9.972 * (60 - 2/2)
	 * NIR: 16.660 * (480 - 2/2) + 16.660 * 2/2 (ramping down) */
	assert_float_equal(e.dose[PBM_BAND_INDEX_RED], 1.171710, 1e-9);
	assert_float_equal(e.dose[PBM_BAND_INDEX_NIR], 7.9968, 1e-9);
	assert_int_equal(e.duration_us, S(600));
	/* the eye: NIR 166.60 W/m2 for 480 s, less the ramps (same as the dose) */
	assert_float_equal(e.eye_exposure, 79968.0, 1e-6);
	assert_float_equal(e.max_irradiance, 16.660, 1e-9);
}

static void
test_dose_pulsed(void **state)
{
	g_autoptr(PbmProfile) p = shipped("inflammation");
	PbmChannel ch[PBM_MAX_CHANNELS];
	PbmEstimate e;

	sim_channels(ch);
	assert_true(pbm_profile_estimate(p, ch, 2, &e, NULL));
	/* 20 cm: red 30.00, NIR 28.00.
	 * red: 15 -> 500 permille, 3 s ramp: 15 * (240 - 1.5); then 10 -> 333
	 *   (9.99) for 60 s
	 * NIR pulsed at 50 % duty: 12 -> 857 permille of 14 = 11.998 for 240 s;
	 *   then continuous 12 -> 428 (11.984) for 60 s */
	assert_float_equal(e.dose[PBM_BAND_INDEX_RED], 3.5775 + 0.5994, 1e-9);
	assert_float_equal(e.dose[PBM_BAND_INDEX_NIR], 2.87952 + 0.71904, 1e-9);
	assert_int_equal(e.duration_us, S(9 * 60));
}

static void
test_dose_ended_step(void **state)
{
	g_autoptr(PbmProfile) p = shipped("recovery");
	PbmChannel ch[PBM_MAX_CHANNELS];
	PbmEstimate e;
	/* 20 cm: NIR 20 -> 714 permille of 28 = 19.992, red 10 -> 333 of 30 =
	 * 9.99. The 3 s ramp gives 19.992 * 3 / 2 mJ/cm2, then 5 J/cm2 takes
	 * the rest at full rate. */
	gdouble t = 3.0 + (5000.0 - 19.992 * 1.5) / 19.992;

	sim_channels(ch);
	assert_true(pbm_profile_estimate(p, ch, 2, &e, NULL));
	assert_float_equal(e.dose[PBM_BAND_INDEX_NIR], 5.0, 1e-9);
	/* red runs alongside for the same time, then 2 min at 15 mW/cm2 */
	assert_float_equal(e.dose[PBM_BAND_INDEX_RED], 9.99 * (t - 1.5) / 1000 + 15.0 * 120 / 1000,
	                   1e-9);
	assert_true(llabs(e.duration_us - (gint64)ceil(t * G_USEC_PER_SEC) - S(120)) <= 1);
}

static void
test_dose_ended_in_ramp(void **state)
{
	g_autoptr(PbmProfile) p = load_text(
	        "short.conf", "name = \"short\"; title = \"t\"; distance_cm = 15.0;\n"
	                      "steps = ( { name = \"s\"; dose_red = 0.018; percent_red = 100; "
	                      "ramp_s = 4.0; } );\n");
	PbmChannel ch[PBM_MAX_CHANNELS];
	PbmEstimate e;

	sim_channels(ch);
	assert_true(pbm_profile_estimate(p, ch, 2, &e, NULL));
	/* ramping 0 -> 36 mW/cm2 over 4 s: 36/4 * t^2 / 2 = 18 mJ/cm2 at t = 2 s */
	assert_float_equal(e.dose[PBM_BAND_INDEX_RED], 0.018, 1e-12);
	assert_true(llabs(e.duration_us - S(2)) <= 1);
}

static void
test_eye_limit(void **state)
{
	/* IEC 62471: 18000 * t^0.25 J/m2 up to 1000 s, 100 W/m2 beyond */
	assert_float_equal(pbm_eye_ir_limit(S(600)), 89086.0, 1.0);
	assert_float_equal(pbm_eye_ir_limit(S(16)), 36000.0, 1e-6);
	assert_float_equal(pbm_eye_ir_limit(S(2000)), 200000.0, 1e-6);
}

static void
test_dose_two_targets(void **state)
{
	g_autoptr(PbmProfile) p = load_text(
	        "two.conf",
	        "name = \"two\"; title = \"t\"; distance_cm = 15.0;\n"
	        "steps = ( { name = \"s\"; dose_red = 1.8; dose_nir = 6.8; percent_red = 50; "
	        "percent_nir = 100; } );\n");
	PbmChannel ch[PBM_MAX_CHANNELS];
	PbmEstimate e;

	sim_channels(ch);
	assert_true(pbm_profile_estimate(p, ch, 2, &e, NULL));
	/* red 18 mW/cm2 reaches 1.8 in 100 s and stops; NIR 34 reaches 6.8 in
	 * 200 s: the step lasts 200 s and each band gets exactly its target */
	assert_float_equal(e.dose[PBM_BAND_INDEX_RED], 1.8, 1e-9);
	assert_float_equal(e.dose[PBM_BAND_INDEX_NIR], 6.8, 1e-9);
	assert_int_equal(e.duration_us, S(200));
}

static void
test_interpolated_not_inverse_square(void **state)
{
	g_autoptr(PbmProfile) near = load_text(
	        "near.conf", "name = \"near\"; title = \"t\"; distance_cm = 12.5;\n"
	                     "steps = ( { name = \"s\"; duration = 100; percent_red = 100; } );\n");
	g_autoptr(PbmProfile) far = load_text(
	        "far.conf", "name = \"far\"; title = \"t\"; distance_cm = 30;\n"
	                    "steps = ( { name = \"s\"; duration = 100; percent_red = 100; } );\n");
	PbmChannel ch[PBM_MAX_CHANNELS];
	PbmEstimate e;

	sim_channels(ch);
	/* halfway between 10 cm (44.00) and 15 cm (36.00) */
	assert_true(pbm_profile_estimate(near, ch, 2, &e, NULL));
	assert_float_equal(e.dose[PBM_BAND_INDEX_RED], 40.0 * 100 / 1000, 1e-9);
	assert_float_equal(e.dose[PBM_BAND_INDEX_NIR], 0.0, 1e-12);
	/* at 30 cm the table says 22.00; 1/d^2 from 15 cm would say 9.0 */
	assert_true(pbm_profile_estimate(far, ch, 2, &e, NULL));
	assert_float_equal(e.dose[PBM_BAND_INDEX_RED], 2.2, 1e-9);
}

static void
test_distance_outside_calibration(void **state)
{
	g_autoptr(PbmProfile) p =
	        load_text("close.conf",
	                  "name = \"close\"; title = \"t\"; distance_cm = 3;\n"
	                  "steps = ( { name = \"s\"; duration = 100; percent_red = 100; } );\n");
	PbmChannel ch[PBM_MAX_CHANNELS];
	PbmEstimate e;
	g_autoptr(GError) error = NULL;

	sim_channels(ch);
	assert_false(pbm_profile_estimate(p, ch, 2, &e, &error));
	assert_true(g_error_matches(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_RANGE));
	assert_non_null(strstr(error->message, "5.0 to 60.0 cm"));
}

/* ---- levels on a panel ---- */

static void
test_levels_refused_not_clamped(void **state)
{
	g_autoptr(PbmProfile) p = shipped("back-pain");
	PbmChannel ch[PBM_MAX_CHANNELS];
	guint16 levels[PBM_MAX_CHANNELS];
	g_autoptr(GError) error = NULL;
	const PbmStep *deep = g_ptr_array_index(p->steps, 1);

	g_autoptr(PbmProfile) full =
	        load_text("full.conf",
	                  "name = \"full\"; title = \"t\"; distance_cm = 15.0;\n"
	                  "steps = ( { name = \"all\"; duration = 60; percent_nir = 100; } );\n");

	sim_channels(ch);
	assert_true(pbm_step_levels_for_panel(deep, ch, 2, 15.0, levels, NULL));
	assert_int_equal(levels[0], 0);
	assert_int_equal(levels[1], 490);
	assert_int_equal(levels[2], 0);
	/* further away the same prescription needs more of the panel */
	assert_true(pbm_step_levels_for_panel(deep, ch, 2, 30.0, levels, NULL));
	assert_int_equal(levels[1], 793); /* 16.667 of 21.00 */

	/* a panel that cannot reach the prescription is refused, saying what
	 * it can give */
	ch[1].max_level = 400;
	assert_false(pbm_step_levels_for_panel(deep, ch, 2, 15.0, levels, &error));
	assert_non_null(
	        strstr(error->message, "\"deep\" prescribes 16.7 mW/cm² of nir at 15.0 cm"));
	assert_non_null(strstr(error->message, "gives at most 13.6 mW/cm²"));
	g_clear_error(&error);

	ch[1].max_level = 900;
	assert_false(pbm_step_levels_for_panel(g_ptr_array_index(full->steps, 0), ch, 2, 15.0,
	                                       levels, &error));
	assert_non_null(strstr(error->message, "100.0 %"));
	assert_non_null(strstr(error->message, "limit of 90.0 %"));
}

static void
test_levels_missing_band_or_wavelength(void **state)
{
	g_autoptr(PbmProfile) back = shipped("back-pain");
	g_autoptr(PbmProfile) wl = load_text(
	        "wl.conf",
	        "name = \"wl\"; title = \"t\"; distance_cm = 15;\n"
	        "steps = ( { name = \"a\"; duration = 60;\n"
	        "  wavelengths = ( { nm = 660; percent = 50; }, { nm = 850; percent = 25.5; } "
	        "); },\n"
	        "  { name = \"b\"; duration = 60; wavelengths = ( { nm = 630; percent = 10; "
	        "} ); } );\n");
	PbmChannel ch[PBM_MAX_CHANNELS];
	guint16 levels[PBM_MAX_CHANNELS];
	g_autoptr(GError) error = NULL;

	sim_channels(ch);
	assert_true(pbm_step_levels_for_panel(g_ptr_array_index(wl->steps, 0), ch, 2, 15.0, levels,
	                                      NULL));
	assert_int_equal(levels[0], 500);
	assert_int_equal(levels[1], 255);
	assert_false(pbm_step_levels_for_panel(g_ptr_array_index(wl->steps, 1), ch, 2, 15.0, levels,
	                                       &error));
	assert_non_null(strstr(error->message, "630 nm"));
	g_clear_error(&error);

	/* a red-only panel cannot run a profile that needs NIR */
	assert_false(pbm_step_levels_for_panel(g_ptr_array_index(back->steps, 1), ch, 1, 15.0,
	                                       levels, &error));
	assert_non_null(strstr(error->message, "no nir channel"));
}

static void
test_visible_pulse_opt_in(void **state)
{
	g_autoptr(PbmProfile) p = load_text(
	        "flicker.conf",
	        "name = \"flicker\"; title = \"t\"; distance_cm = 15;\n"
	        "allow_visible_pulse = true;\n"
	        "pulse_warning = \"Flickering red light: do not use with photosensitive "
	        "epilepsy.\";\n"
	        "steps = ( { name = \"s\"; duration = 60; percent_red = 50; pulse_hz = 10; duty "
	        "= 50; } );\n");
	g_autoptr(PbmProfile) nir = load_text(
	        "nir-pulse.conf",
	        "name = \"nir-pulse\"; title = \"t\"; distance_cm = 15;\n"
	        "steps = ( { name = \"s\"; duration = 60; percent_nir = 50; pulse_hz = 10; "
	        "} );\n");
	g_autoptr(PbmProfile) fast = load_text(
	        "fast.conf",
	        "name = \"fast\"; title = \"t\"; distance_cm = 15;\n"
	        "steps = ( { name = \"s\"; duration = 60; percent_red = 50; pulse_hz = 1000; "
	        "duty = 25; } );\n");
	const PbmStep *s;

	assert_true(pbm_profile_has_visible_pulse(p));
	assert_non_null(strstr(p->pulse_warning, "epilepsy"));
	s = g_ptr_array_index(p->steps, 0);
	assert_int_equal(s->pulse_mhz, 10000);
	assert_int_equal(s->duty, 500);
	/* invisible (NIR) or fast (1 kHz) pulsing needs no opt-in */
	assert_false(pbm_profile_has_visible_pulse(nir));
	assert_true(nir->goggles_required);
	assert_false(pbm_profile_has_visible_pulse(fast));
	{
		/* 730 nm is on a "NIR" channel of some panels but can be seen */
		g_autofree gchar *path = write_file(
		        "deep-red.conf",
		        "name = \"deep-red\"; title = \"t\"; distance_cm = 15;\n"
		        "steps = ( { name = \"s\"; duration = 60;\n"
		        "  wavelengths = ( { nm = 730; percent = 50; } ); pulse_hz = 10; } );\n");
		g_autoptr(GError) error = NULL;
		g_autoptr(PbmProfile) deep = pbm_profile_load(path, &error);
		assert_null(deep);
		assert_non_null(strstr(error->message, "allow_visible_pulse = true"));
	}
	s = g_ptr_array_index(nir->steps, 0);
	assert_int_equal(s->duty, 1000); /* no duty given: full duty */
}

static void
test_no_silent_rounding(void **state)
{
	const gchar *cases[][2] = {
		{ "duty = 33.33;", "steps of 0.1 %" },
		{ "duty = 50; pulse_hz = 10.0005;", "steps of 0.001 Hz" },
		{ "ramp_s = 0.0004;", "steps of 0.001 s" },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *text =
		        g_strdup_printf("name = \"r\"; title = \"t\"; distance_cm = 15;\n"
		                        "steps = ( { name = \"s\"; duration = 60; percent_nir = "
		                        "50; pulse_hz = 1000; %s } "
		                        ");\n",
		                        cases[i][0]);
		g_autofree gchar *path = write_file("r.conf", text);
		g_autoptr(GError) error = NULL;
		g_autoptr(PbmProfile) p = pbm_profile_load(path, &error);

		/* pulse_hz given twice in case 2 is a syntax error: keep one */
		if (i == 1) {
			g_free(text);
			text = g_strdup_printf(
			        "name = \"r\"; title = \"t\"; distance_cm = 15;\n"
			        "steps = ( { name = \"s\"; duration = 60; percent_nir = 50; "
			        "%s } );\n",
			        cases[i][0]);
			g_free(path);
			path = write_file("r.conf", text);
			g_clear_error(&error);
			g_clear_pointer(&p, pbm_profile_unref);
			p = pbm_profile_load(path, &error);
		}
		assert_null(p);
		if (strstr(error->message, cases[i][1]) == NULL)
			fail_msg("'%s' lacks '%s'", error->message, cases[i][1]);
	}
}

static void
test_distance_checked_only_for_lit_channels(void **state)
{
	g_autoptr(PbmProfile) skin = shipped("skin");
	g_autoptr(PbmProfile) back = shipped("back-pain");
	PbmChannel ch[PBM_MAX_CHANNELS];
	PbmEstimate e;
	g_autoptr(GError) error = NULL;

	sim_channels(ch);
	/* the NIR channel is calibrated only up to 10 cm */
	ch[1].point_count = 2;
	assert_true(pbm_profile_estimate(skin, ch, 2, &e, &error));
	assert_false(pbm_profile_estimate(back, ch, 2, &e, &error));
	assert_non_null(strstr(error->message, "850 nm"));
}

/* ---- durations ---- */

static void
test_durations(void **state)
{
	const struct {
		const gchar *text;
		gint64 us;
	} good[] = {
		{ "90", S(90) },    { "90s", S(90) },     { "5m", S(300) },   { "1h", S(3600) },
		{ "1m30s", S(90) }, { "1h 5m", S(3900) }, { " 2m ", S(120) }, { "0", 0 },
	};
	const gchar *bad[] = { "",    "  ",   "10x", "5m5m",       "30s5m",
		               "-3s", "1.5m", "m",   "9999999999", "5 m s" };
	g_autofree gchar *f1 = pbm_duration_format(S(600));
	g_autofree gchar *f2 = pbm_duration_format(S(3690));
	g_autofree gchar *f3 = pbm_duration_format(0);

	for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
		gint64 us = -1;
		g_autoptr(GError) error = NULL;
		if (!pbm_duration_parse(good[i].text, S(86400), &us, &error))
			fail_msg("'%s': %s", good[i].text, error->message);
		assert_int_equal(us, good[i].us);
	}
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		gint64 us = -1;
		g_autoptr(GError) error = NULL;
		if (pbm_duration_parse(bad[i], S(86400), &us, &error))
			fail_msg("'%s' was accepted as %" G_GINT64_FORMAT, bad[i], us);
		assert_non_null(strstr(error->message, "\"90s\""));
	}
	{
		gint64 us;
		g_autoptr(GError) error = NULL;
		assert_false(pbm_duration_parse("3h", S(7200), &us, &error));
		assert_non_null(strstr(error->message, "maximum of 2 h"));
	}
	assert_string_equal(f1, "10 min");
	assert_string_equal(f2, "1 h 1 min 30 s");
	assert_string_equal(f3, "0 s");
}

/* ---- daemon configuration ---- */

static const gchar *const default_dirs[] = { "/etc/pbmd/profiles.d", "/usr/share/pbmd/profiles",
	                                     NULL };

static PbmConfig *
config_text(const gchar *text, GError **error)
{
	g_autofree gchar *path = write_file("pbmd.conf", text);

	return pbm_config_load(path, default_dirs, error);
}

static void
test_config_defaults(void **state)
{
	g_autoptr(PbmConfig) c = pbm_config_new_default(default_dirs);
	g_autofree gchar *shipped_path =
	        g_build_filename(PBM_SOURCE_DIR, "data", "pbmd.conf", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmConfig) from_file = pbm_config_load(shipped_path, default_dirs, &error);
	const PbmDeviceMatch *d = &g_array_index(c->devices, PbmDeviceMatch, 0);

	assert_int_equal(c->devices->len, 1);
	assert_int_equal(d->vid, 0x1209);
	assert_int_equal(d->pid, 0x7062);
	assert_int_equal(c->simulated->len, 0);
	assert_string_equal(c->profile_dirs[0], "/etc/pbmd/profiles.d");
	assert_null(c->history_path);
	assert_string_equal(c->control_group, "pbmd-users");
	assert_int_equal(c->limits.max_session_us, S(30 * 60));
	assert_int_equal(c->limits.min_gap_us, S(10 * 60));
	assert_int_equal(c->limits.heartbeat_interval_us, S(1));
	assert_int_equal(c->limits.watchdog_timeout_us, S(3));
	assert_false(c->limits.allow_visible_pulse);
	assert_int_equal(c->limits.thermal_action, PBM_THERMAL_DERATE);
	/* the dose policy of pbmd.conf(5), with its sources there */
	assert_float_equal(c->limits.daily_dose_max[0], 20.0, 1e-12);
	assert_float_equal(c->limits.daily_dose_max[1], 20.0, 1e-12);
	assert_float_equal(c->limits.daily_dose_total, 20.0, 1e-12);
	assert_float_equal(c->limits.session_dose_max, 10.0, 1e-12);
	assert_float_equal(c->limits.max_irradiance, 50.0, 1e-12);
	/* the shipped file, all comments, gives the same */
	if (from_file == NULL)
		fail_msg("%s", error->message);
	assert_int_equal(from_file->limits.max_session_us, c->limits.max_session_us);
	assert_float_equal(from_file->limits.daily_dose_max[0], 20.0, 1e-12);
	assert_float_equal(from_file->limits.session_dose_max, 10.0, 1e-12);
}

static void
test_config_full(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmConfig) c =
	        config_text("devices = [ \"1209:7062\", \"1209:abcd\" ];\n"
	                    "simulate = [ \"DESK\", \"BED-2\" ];\n"
	                    "profile_dirs = [ \"/srv/profiles\" ];\n"
	                    "history_path = \"/tmp/h.db\";\n"
	                    "control_group = \"therapy\";\n"
	                    "limits = { max_session = \"1m\"; min_gap = 0; daily_dose_red = 5.5;\n"
	                    "  daily_dose_total = 7.5; session_dose_max = 4; max_irradiance = 25;\n"
	                    "  heartbeat_interval_ms = 500; watchdog_timeout_ms = 1000;\n"
	                    "  allow_visible_pulse = true; thermal_action = \"stop\"; max_pause = "
	                    "\"30s\"; };\n",
	                    &error);

	if (c == NULL)
		fail_msg("%s", error->message);
	assert_int_equal(c->devices->len, 2);
	assert_int_equal(g_array_index(c->devices, PbmDeviceMatch, 1).pid, 0xabcd);
	assert_int_equal(c->simulated->len, 2);
	assert_string_equal(g_ptr_array_index(c->simulated, 1), "BED-2");
	assert_string_equal(c->profile_dirs[0], "/srv/profiles");
	assert_null(c->profile_dirs[1]);
	assert_string_equal(c->history_path, "/tmp/h.db");
	assert_string_equal(c->control_group, "therapy");
	assert_int_equal(c->limits.max_session_us, S(60));
	assert_int_equal(c->limits.min_gap_us, 0);
	assert_float_equal(c->limits.daily_dose_max[0], 5.5, 1e-12);
	assert_float_equal(c->limits.daily_dose_max[1], 20.0, 1e-12);
	assert_float_equal(c->limits.daily_dose_total, 7.5, 1e-12);
	assert_float_equal(c->limits.session_dose_max, 4.0, 1e-12);
	assert_float_equal(c->limits.max_irradiance, 25.0, 1e-12);
	assert_int_equal(c->limits.watchdog_timeout_us, S(1));
	assert_int_equal(c->limits.thermal_action, PBM_THERMAL_STOP);
	assert_int_equal(c->limits.max_pause_us, S(30));
}

static void
test_config_simulate_forms(void **state)
{
	g_autoptr(PbmConfig) a = config_text("simulate = true;\n", NULL);
	g_autoptr(PbmConfig) b = config_text("simulate = 3;\n", NULL);
	g_autoptr(PbmConfig) c = config_text("simulate = false;\n", NULL);

	assert_int_equal(a->simulated->len, 1);
	assert_string_equal(g_ptr_array_index(a->simulated, 0), "SIM0001");
	assert_int_equal(b->simulated->len, 3);
	assert_string_equal(g_ptr_array_index(b->simulated, 2), "SIM0003");
	assert_int_equal(c->simulated->len, 0);
}

static void
test_config_errors(void **state)
{
	const struct {
		const gchar *text;
		PbmConfigError code;
		guint line;
		const gchar *needle;
	} cases[] = {
		{ "limits = {\n  max_sesion = \"20m\";\n};\n", PBM_CONFIG_ERROR_UNKNOWN_KEY, 2,
		  "max_sesion: unknown key" },
		{ "simulte = true;\n", PBM_CONFIG_ERROR_UNKNOWN_KEY, 1, "allowed here: devices" },
		{ "limits = { max_session = \"3h\"; };\n", PBM_CONFIG_ERROR_RANGE, 1, "2 h" },
		{ "limits = { max_session = 0; };\n", PBM_CONFIG_ERROR_RANGE, 1, "1 s to 2 h" },
		{ "limits = { daily_dose_nir = -1.0; };\n", PBM_CONFIG_ERROR_RANGE, 1,
		  "0.1 to 500 J/cm2" },
		{ "limits = { daily_dose_red = \"lots\"; };\n", PBM_CONFIG_ERROR_TYPE, 1,
		  "must be a number" },
		{ "limits = {\n heartbeat_interval_ms = 2000;\n watchdog_timeout_ms = 3000; };\n",
		  PBM_CONFIG_ERROR_INVALID, 1, "at least twice" },
		{ "limits = { watchdog_timeout_ms = 20000; };\n", PBM_CONFIG_ERROR_RANGE, 1,
		  "500 to 10000" },
		{ "limits = { thermal_action = \"ignore\"; };\n", PBM_CONFIG_ERROR_RANGE, 1,
		  "\"derate\" or \"stop\"" },
		{ "limits = 5;\n", PBM_CONFIG_ERROR_TYPE, 1, "must be a group" },
		{ "devices = [ \"12:7062\" ];\n", PBM_CONFIG_ERROR_RANGE, 1, "\"1209:7062\"" },
		{ "devices = \"1209:7062\";\n", PBM_CONFIG_ERROR_TYPE, 1, "array" },
		{ "simulate = 9;\n", PBM_CONFIG_ERROR_RANGE, 1, "0 to 8" },
		{ "simulate = [ \"bad serial\" ];\n", PBM_CONFIG_ERROR_RANGE, 1, "A-Z" },
		{ "simulate = [ \"A\", \"A\" ];\n", PBM_CONFIG_ERROR_INVALID, 1, "twice" },
		{ "simulate = \"yes\";\n", PBM_CONFIG_ERROR_TYPE, 1, "true/false" },
		{ "profile_dirs = [ \"profiles\" ];\n", PBM_CONFIG_ERROR_RANGE, 1, "absolute" },
		{ "history_path = \"h.db\";\n", PBM_CONFIG_ERROR_RANGE, 1, "absolute" },
		{ "control_group = \"Wheel Users\";\n", PBM_CONFIG_ERROR_RANGE, 1,
		  "not a group name" },
		{ "control_group = 7;\n", PBM_CONFIG_ERROR_TYPE, 1, "must be a string" },
		{ "\n\nlimits = { min_gap = \"1 day\" };\n", PBM_CONFIG_ERROR_RANGE, 3,
		  "unknown unit" },
		{ "\n\nlimits = { min_gap = ; };\n", PBM_CONFIG_ERROR_SYNTAX, 3, "syntax error" },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(PbmConfig) c = config_text(cases[i].text, &error);
		g_autofree gchar *prefix =
		        g_strdup_printf("%s/pbmd.conf:%u:", tmpdir, cases[i].line);

		if (c != NULL)
			fail_msg("case %u accepted: %s", i, cases[i].text);
		if (!g_error_matches(error, PBM_CONFIG_ERROR, cases[i].code))
			fail_msg("case %u: code %d, want %d: %s", i, error->code, cases[i].code,
			         error->message);
		if (!g_str_has_prefix(error->message, prefix))
			fail_msg("case %u: '%s' does not start with '%s'", i, error->message,
			         prefix);
		if (strstr(error->message, cases[i].needle) == NULL)
			fail_msg("case %u: '%s' lacks '%s'", i, error->message, cases[i].needle);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_profiles_load),
		cmocka_unit_test(test_shipped_profile_shapes),
		cmocka_unit_test(test_dose_back_pain),
		cmocka_unit_test(test_dose_pulsed),
		cmocka_unit_test(test_dose_ended_step),
		cmocka_unit_test(test_dose_ended_in_ramp),
		cmocka_unit_test(test_eye_limit),
		cmocka_unit_test(test_dose_two_targets),
		cmocka_unit_test(test_interpolated_not_inverse_square),
		cmocka_unit_test(test_distance_outside_calibration),
		cmocka_unit_test(test_levels_refused_not_clamped),
		cmocka_unit_test(test_levels_missing_band_or_wavelength),
		cmocka_unit_test(test_visible_pulse_opt_in),
		cmocka_unit_test(test_no_silent_rounding),
		cmocka_unit_test(test_distance_checked_only_for_lit_channels),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_full),
		cmocka_unit_test(test_config_simulate_forms),
		cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests_name("profile", tests, make_tmpdir, remove_tmpdir);
}
