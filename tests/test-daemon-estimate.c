/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The real pbmd on a private bus: the Manager's Limits property, as
 * pbmd.conf sets it and ReloadConfig changes it (with PropertiesChanged),
 * and EstimateSession, what StartSession would plan, starting nothing: a
 * prescription at two distances, a percent profile at two, the eye limit
 * reported rather than refused, a panel too weak at a distance, bad
 * arguments refused as StartSession refuses them, a burst of calls, and
 * the estimate against the session then started with the same options.
 *
 * Error names stay literal here: they are the contract as a client sees it.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "pbm-test-fixture.h"

/* ---- helpers ---- */

/* a{sv} options; distance_cm <= 0, serial NULL and goggles < 0 leave the
 * option out. */
static GVariant *
options(gdouble distance_cm, const gchar *serial, gint goggles)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	if (distance_cm > 0)
		g_variant_builder_add(&b, "{sv}", "distance_cm", g_variant_new_double(distance_cm));
	if (serial != NULL)
		g_variant_builder_add(&b, "{sv}", "panels",
		                      g_variant_new_strv((const gchar *[]){ serial, NULL }, -1));
	if (goggles >= 0)
		g_variant_builder_add(&b, "{sv}", "goggles", g_variant_new_boolean(goggles));
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

static GVariant *
one_option(const gchar *key, GVariant *value)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", key, value);
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

/* EstimateSession's a{sv}, or NULL with error. opts is not consumed. */
static GVariant *
try_estimate(PbmFixture *f, const gchar *profile, GVariant *opts, GError **error)
{
	g_autoptr(GVariant) reply =
	        pbm_test_call(f->client, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	                      "EstimateSession", g_variant_new("(s@a{sv})", profile, opts),
	                      G_VARIANT_TYPE("(a{sv})"), PBM_FIXTURE_WAIT_MS, error);

	return reply != NULL ? g_variant_get_child_value(reply, 0) : NULL;
}

static GVariant *
estimate(PbmFixture *f, const gchar *profile, GVariant *opts)
{
	g_autoptr(GError) error = NULL;
	GVariant *e = try_estimate(f, profile, opts, &error);

	if (e == NULL)
		fail_msg("EstimateSession %s: %s", profile, error->message);
	return e;
}

static gdouble
get_double(GVariant *dict, const gchar *key)
{
	gdouble v = NAN;

	if (!g_variant_lookup(dict, key, "d", &v))
		fail_msg("no %s (d) in %s", key, g_variant_print(dict, TRUE));
	return v;
}

static guint64
get_uint64(GVariant *dict, const gchar *key)
{
	guint64 v = 0;

	if (!g_variant_lookup(dict, key, "t", &v))
		fail_msg("no %s (t) in %s", key, g_variant_print(dict, TRUE));
	return v;
}

static gboolean
get_boolean(GVariant *dict, const gchar *key)
{
	gboolean v = FALSE;

	if (!g_variant_lookup(dict, key, "b", &v))
		fail_msg("no %s (b) in %s", key, g_variant_print(dict, TRUE));
	return v;
}

static const gchar *
get_string(GVariant *dict, const gchar *key)
{
	const gchar *v = NULL;

	if (!g_variant_lookup(dict, key, "&s", &v))
		fail_msg("no %s (s) in %s", key, g_variant_print(dict, TRUE));
	return v;
}

static GVariant *
get_strv(GVariant *dict, const gchar *key)
{
	GVariant *v = g_variant_lookup_value(dict, key, G_VARIANT_TYPE_STRING_ARRAY);

	if (v == NULL)
		fail_msg("no %s (as) in %s", key, g_variant_print(dict, TRUE));
	return v;
}

/* Every key of the contract, of its type, and no other. */
static void
assert_estimate_keys(GVariant *e)
{
	static const gchar *const keys[][2] = {
		{ "profile", "s" },        { "distance_cm", "d" },  { "panels", "as" },
		{ "duration_s", "t" },     { "dose_red", "d" },     { "dose_nir", "d" },
		{ "max_irradiance", "d" }, { "eye_exposure", "d" }, { "eye_limit", "d" },
		{ "goggles_needed", "b" }, { "warnings", "as" },
	};

	assert_int_equal(g_variant_n_children(e), G_N_ELEMENTS(keys));
	for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
		g_autoptr(GVariant) v =
		        g_variant_lookup_value(e, keys[i][0], G_VARIANT_TYPE(keys[i][1]));
		if (v == NULL)
			fail_msg("no %s (%s) in %s", keys[i][0], keys[i][1],
			         g_variant_print(e, TRUE));
	}
}

/* The same call to EstimateSession and to StartSession fails the same way,
 * with error name want, and the same message; StartSession starts nothing. */
static void
assert_same_refusal(PbmFixture *f, const gchar *profile, GVariant *opts, const gchar *want,
                    const gchar *needle)
{
	g_autoptr(GError) estimated = NULL, started = NULL;
	g_autoptr(GVariant) e = try_estimate(f, profile, opts, &estimated);
	g_autofree gchar *path = pbm_fixture_try_start(f, profile, opts, &started);

	assert_null(e);
	assert_null(path);
	pbm_assert_dbus_error(estimated, want, needle);
	pbm_assert_dbus_error(started, want, needle);
	assert_string_equal(estimated->message, started->message);
}

static void
assert_strv_equal(GVariant *a, GVariant *b)
{
	if (!g_variant_equal(a, b))
		fail_msg("%s differs from %s", g_variant_print(a, TRUE), g_variant_print(b, TRUE));
}

/* ---- Limits ---- */

typedef struct {
	guint64 max_session_s, min_gap_s, max_pause_s;
	gdouble daily_red, daily_nir, daily_total, session_dose_max, max_irradiance;
	gdouble max_temperature;
	gboolean allow_visible_pulse;
	const gchar *thermal_action;
} Limits;

static void
assert_limits(GVariant *l, const Limits *want)
{
	assert_int_equal(g_variant_n_children(l), 11);
	assert_int_equal(get_uint64(l, "max_session_s"), want->max_session_s);
	assert_int_equal(get_uint64(l, "min_gap_s"), want->min_gap_s);
	assert_int_equal(get_uint64(l, "max_pause_s"), want->max_pause_s);
	assert_float_equal(get_double(l, "daily_dose_red"), want->daily_red, 1e-9);
	assert_float_equal(get_double(l, "daily_dose_nir"), want->daily_nir, 1e-9);
	assert_float_equal(get_double(l, "daily_dose_total"), want->daily_total, 1e-9);
	assert_float_equal(get_double(l, "session_dose_max"), want->session_dose_max, 1e-9);
	assert_float_equal(get_double(l, "max_irradiance"), want->max_irradiance, 1e-9);
	assert_float_equal(get_double(l, "max_temperature"), want->max_temperature, 1e-9);
	assert_int_equal(get_boolean(l, "allow_visible_pulse"), want->allow_visible_pulse);
	assert_string_equal(get_string(l, "thermal_action"), want->thermal_action);
}

static const gchar custom_limits[] =
        "max_session = \"20m\"; session_dose_max = 9.5; daily_dose_red = 18.0; "
        "daily_dose_nir = 15.0; daily_dose_total = 19.0; max_irradiance = 45.0; "
        "max_pause = \"5m\"; max_temperature_c = 45.0; allow_visible_pulse = true; "
        "thermal_action = \"stop\";";

typedef struct {
	guint limits_changes;
	GVariant *limits; /* the latest announced */
} Seen;

static void
on_properties_changed(GDBusConnection *c, const gchar *sender, const gchar *path,
                      const gchar *iface, const gchar *name, GVariant *params, gpointer data)
{
	Seen *seen = data;
	g_autoptr(GVariant) changed = g_variant_get_child_value(params, 1);
	GVariant *limits = g_variant_lookup_value(changed, "Limits", G_VARIANT_TYPE_VARDICT);

	if (limits == NULL)
		return;
	seen->limits_changes++;
	g_clear_pointer(&seen->limits, g_variant_unref);
	seen->limits = limits;
}

static void
spin(Seen *seen, guint changes, gint64 timeout_us)
{
	gint64 until = g_get_monotonic_time() + timeout_us;

	while (seen->limits_changes < changes && g_get_monotonic_time() < until) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(10000);
	}
}

/* The limits of pbmd.conf, every key; a reload that changes them announces
 * the new ones, a reload that does not announces nothing. */
static void
test_limits_follow_config(void **state)
{
	PbmFixture *f = *state;
	const Limits custom = { .max_session_s = 1200,
		                .min_gap_s = 0,
		                .max_pause_s = 300,
		                .daily_red = 18.0,
		                .daily_nir = 15.0,
		                .daily_total = 19.0,
		                .session_dose_max = 9.5,
		                .max_irradiance = 45.0,
		                .max_temperature = 45.0,
		                .allow_visible_pulse = TRUE,
		                .thermal_action = "stop" };
	/* pbmd.conf(5)'s defaults, but a rest of 15 minutes */
	const Limits defaults = { .max_session_s = 1800,
		                  .min_gap_s = 900,
		                  .max_pause_s = 600,
		                  .daily_red = 20.0,
		                  .daily_nir = 20.0,
		                  .daily_total = 20.0,
		                  .session_dose_max = 10.0,
		                  .max_irradiance = 50.0,
		                  .max_temperature = 50.0,
		                  .allow_visible_pulse = FALSE,
		                  .thermal_action = "derate" };
	g_autoptr(GVariant) before = NULL, after = NULL;
	g_autofree gchar *text = NULL;
	g_autoptr(GString) conf = NULL;
	g_autoptr(GError) error = NULL;
	Seen seen = { 0 };
	guint sub;

	pbm_fixture_spawn(f, NULL);
	before = pbm_fixture_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "Limits");
	assert_limits(before, &custom);

	sub = g_dbus_connection_signal_subscribe(
	        f->client, PBM_DBUS_NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged",
	        PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, G_DBUS_SIGNAL_FLAGS_NONE,
	        on_properties_changed, &seen, NULL);
	text = pbm_fixture_config_text(f, NULL);
	conf = g_string_new(text);
	assert_int_equal(g_string_replace(conf, "min_gap = 0;", "min_gap = \"15m\";", 1), 1);
	assert_true(g_file_set_contents(f->config, conf->str, -1, NULL));
	pbm_fixture_grant_admin(f);
	pbm_assert_reply(pbm_fixture_manager(f, "ReloadConfig", NULL, &error));
	spin(&seen, 1, PBM_FIXTURE_WAIT_MS * 1000);
	assert_int_equal(seen.limits_changes, 1);
	assert_limits(seen.limits, &defaults);
	after = pbm_fixture_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "Limits");
	assert_true(g_variant_equal(after, seen.limits));

	/* the same file again: nothing to announce */
	pbm_assert_reply(pbm_fixture_manager(f, "ReloadConfig", NULL, &error));
	spin(&seen, 2, 500 * 1000);
	assert_int_equal(seen.limits_changes, 1);

	g_dbus_connection_signal_unsubscribe(f->client, sub);
	g_clear_pointer(&seen.limits, g_variant_unref);
}

/* ---- EstimateSession ---- */

/* A prescription gives the same dose at any distance the panel reaches
 * (standard: 34 mW/cm2 of NIR at 15 cm, 21 at 30, 15 at 45, and back-pain
 * prescribes 16.7 of it). */
static void
test_prescription_same_dose_at_two_distances(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(GVariant) own = options(0, NULL, -1), at30 = options(30.0, NULL, -1);
	g_autoptr(GVariant) at45 = options(45.0, NULL, -1);
	g_autoptr(GVariant) near = NULL, far = NULL, panels = NULL, warnings = NULL;
	g_autoptr(GVariant) warning = NULL, sim1 = NULL;
	g_autofree gchar *near_text = NULL, *far_text = NULL;

	pbm_fixture_spawn_models(f, "standard");
	near = estimate(f, "back-pain", own);
	far = estimate(f, "back-pain", at30);
	near_text = g_variant_print(near, TRUE);
	far_text = g_variant_print(far, TRUE);
	print_message("# 15 cm: %s\n# 30 cm: %s\n", near_text, far_text);
	assert_estimate_keys(near);
	assert_estimate_keys(far);
	assert_string_equal(get_string(near, "profile"), "back-pain");
	assert_float_equal(get_double(near, "distance_cm"), 15.0, 1e-9);
	assert_float_equal(get_double(far, "distance_cm"), 30.0, 1e-9);
	panels = get_strv(near, "panels");
	assert_int_equal(g_variant_n_children(panels), 1);
	sim1 = g_variant_ref_sink(g_variant_new_strv((const gchar *[]){ "SIM0001" }, 1));
	assert_true(g_variant_equal(panels, sim1));
	assert_int_equal(get_uint64(near, "duration_s"), 600);
	assert_int_equal(get_uint64(far, "duration_s"), 600);
	/* 8 J/cm2 of NIR prescribed, 10 mW/cm2 of red for two minutes less
	 * the ramps */
	assert_float_equal(get_double(near, "dose_nir"), 8.0, 0.08);
	assert_float_equal(get_double(near, "dose_red"), 1.2, 0.05);
	for (guint i = 0; i < 2; i++) {
		const gchar *key = i == 0 ? "dose_red" : "dose_nir";
		assert_float_equal(get_double(far, key), get_double(near, key),
		                   get_double(near, key) * 0.01);
	}
	assert_float_equal(get_double(near, "max_irradiance"), 50.0 / 3, 0.1);
	assert_float_equal(get_double(far, "max_irradiance"), 50.0 / 3, 0.1);
	/* the eyes get the same as well: under the limit, with goggles advised */
	assert_float_equal(get_double(far, "eye_exposure"), get_double(near, "eye_exposure"),
	                   get_double(near, "eye_exposure") * 0.01);
	assert_true(get_double(near, "eye_exposure") < get_double(near, "eye_limit"));
	assert_false(get_boolean(near, "goggles_needed"));
	warnings = get_strv(near, "warnings");
	assert_int_equal(g_variant_n_children(warnings), 1);
	warning = g_variant_get_child_value(warnings, 0);
	assert_true(g_str_has_prefix(g_variant_get_string(warning, NULL),
	                             "goggles: near-infrared light cannot be seen"));

	/* out of the panel's reach */
	assert_same_refusal(f, "back-pain", at45, "org.pbmd1.Error.SafetyLimit",
	                    "panel SIM0001: step \"deep\" prescribes 16.7 mW/cm² of nir at "
	                    "45.0 cm");
}

/* A share of the panel gives what the panel gives there: demo is 40 % of
 * NIR for 15 s, so 0.4 x 34 mW/cm2 at 15 cm and 0.4 x 21 at 30. */
static void
test_percent_dose_depends_on_distance(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(GVariant) at15 = options(15.0, NULL, -1), at30 = options(30.0, NULL, -1);
	g_autoptr(GVariant) near = NULL, far = NULL;

	pbm_fixture_spawn_models(f, "standard");
	near = estimate(f, "demo", at15);
	far = estimate(f, "demo", at30);
	assert_int_equal(get_uint64(near, "duration_s"), 30);
	assert_int_equal(get_uint64(far, "duration_s"), 30);
	assert_float_equal(get_double(near, "dose_nir"), 0.4 * 34 * 15 / 1000, 0.002);
	assert_float_equal(get_double(far, "dose_nir"), 0.4 * 21 * 15 / 1000, 0.002);
	assert_true(get_double(far, "dose_red") < get_double(near, "dose_red") * 0.8);
	assert_true(get_double(far, "max_irradiance") < get_double(near, "max_irradiance"));
	assert_false(get_boolean(near, "goggles_needed"));
}

/* 30 mW/cm2 of NIR for 5 minutes gives unprotected eyes 1.2 times the IEC
 * 62471 limit: StartSession refuses it without goggles, the estimate says
 * so and estimates it all the same, with or without the option. */
static const gchar bright_profile[] =
        "name = \"bright\"; title = \"Bright NIR\"; distance_cm = 15.0;\n"
        "steps = ( { name = \"nir\"; duration = \"5m\"; irradiance_nir = 30; } );\n";

static void
test_eye_limit_is_reported(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(GVariant) none = options(0, NULL, -1), without = options(0, NULL, FALSE);
	g_autoptr(GVariant) with = options(0, NULL, TRUE);
	g_autoptr(GVariant) e = NULL, e_without = NULL, e_with = NULL, warnings = NULL;
	g_autoptr(GVariant) warning = NULL, demo = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;

	pbm_fixture_spawn(f, NULL);
	e = estimate(f, "bright", none);
	assert_estimate_keys(e);
	assert_true(get_boolean(e, "goggles_needed"));
	assert_float_equal(get_double(e, "eye_exposure") / get_double(e, "eye_limit"), 1.2, 0.01);
	assert_float_equal(get_double(e, "eye_limit"), 74912, 1);
	assert_int_equal(get_uint64(e, "duration_s"), 300);
	assert_float_equal(get_double(e, "dose_nir"), 30 * 300 / 1000.0, 0.01);
	warnings = get_strv(e, "warnings");
	assert_int_equal(g_variant_n_children(warnings), 1);
	warning = g_variant_get_child_value(warnings, 0);
	assert_true(g_str_has_prefix(g_variant_get_string(warning, NULL),
	                             "goggles: this session gives the eyes 1.2 times the IEC "
	                             "62471 near-infrared limit at 15.0 cm"));
	/* the option changes nothing in the estimate */
	e_without = estimate(f, "bright", without);
	e_with = estimate(f, "bright", with);
	assert_true(g_variant_equal(e, e_without));
	assert_true(g_variant_equal(e, e_with));

	/* what goggles_needed means: StartSession wants goggles = true */
	assert_null(pbm_fixture_try_start(f, "bright", without, &error));
	pbm_assert_dbus_error(error, "org.pbmd1.Error.SafetyLimit", "goggles = true");
	g_clear_error(&error);
	path = pbm_fixture_start(f, "bright", with);
	{
		g_autoptr(GVariant) w =
		        pbm_fixture_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Warnings");
		assert_strv_equal(w, warnings);
	}
	pbm_assert_reply(pbm_fixture_manager(f, "StopSession", NULL, &error));

	/* a short, dim profile is well under the limit */
	demo = estimate(f, "demo", none);
	assert_false(get_boolean(demo, "goggles_needed"));
	assert_true(get_double(demo, "eye_exposure") < get_double(demo, "eye_limit") / 10);
}

/* 8 mW/cm2 of NIR: the low panel gives 10 at 15 cm but 6.2 at 30. */
static const gchar gentle_profile[] =
        "name = \"gentle\"; title = \"Gentle NIR\"; distance_cm = 15.0;\n"
        "steps = ( { name = \"nir\"; duration = \"1m\"; irradiance_nir = 8; } );\n";

static void
test_weak_panel_at_a_distance(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(GVariant) at15 = options(15.0, "SIM0001", -1), at30 = options(30.0, NULL, -1);
	g_autoptr(GVariant) own = options(0, NULL, -1);
	g_autoptr(GVariant) e = NULL;

	pbm_fixture_spawn_models(f, "low");
	e = estimate(f, "gentle", at15);
	assert_float_equal(get_double(e, "max_irradiance"), 8.0, 0.05);
	assert_float_equal(get_double(e, "dose_nir"), 8 * 60 / 1000.0, 0.005);
	assert_same_refusal(f, "gentle", at30, "org.pbmd1.Error.SafetyLimit",
	                    "panel SIM0001: step \"nir\" prescribes 8.0 mW/cm² of nir at 30.0 cm, "
	                    "but this panel gives at most 6.2 mW/cm² of it there");
	/* nowhere near enough for back-pain */
	assert_same_refusal(f, "back-pain", own, "org.pbmd1.Error.SafetyLimit",
	                    "prescribes 16.7 mW/cm² of nir at 15.0 cm");
}

/* Every argument StartSession refuses, EstimateSession refuses the same
 * way; the profile and panels are looked up as StartSession does. */
static void
test_bad_arguments(void **state)
{
	PbmFixture *f = *state;
	struct {
		const gchar *what;
		GVariant *opts;
		const gchar *name, *needle;
	} cases[] = {
		{ "unknown key", one_option("colour", g_variant_new_string("blue")),
		  "org.pbmd1.Error.InvalidArgs", "unknown option \"colour\"" },
		{ "distance as a string", one_option("distance_cm", g_variant_new_string("15")),
		  "org.pbmd1.Error.InvalidArgs", "option distance_cm of type s" },
		{ "goggles as a string", one_option("goggles", g_variant_new_string("yes")),
		  "org.pbmd1.Error.InvalidArgs", "option goggles of type s" },
		{ "distance 0", one_option("distance_cm", g_variant_new_double(0)),
		  "org.pbmd1.Error.InvalidArgs", "option distance_cm must be" },
		{ "distance NaN", one_option("distance_cm", g_variant_new_double(NAN)),
		  "org.pbmd1.Error.InvalidArgs", "option distance_cm must be" },
		{ "no panels", one_option("panels", g_variant_new_strv(NULL, 0)),
		  "org.pbmd1.Error.InvalidArgs", "1 to 16 serials" },
		{ "a panel that is not there",
		  one_option("panels", g_variant_new_strv((const gchar *[]){ "NOPE" }, 1)),
		  "org.pbmd1.Error.NoPanel", "\"NOPE\"" },
	};
	g_autoptr(GVariant) none = options(0, NULL, -1);
	g_autoptr(GVariant) active = NULL;

	pbm_fixture_spawn(f, NULL);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		print_message("# %s\n", cases[i].what);
		assert_same_refusal(f, "demo", cases[i].opts, cases[i].name, cases[i].needle);
		g_variant_unref(cases[i].opts);
	}
	assert_same_refusal(f, "Demo", none, "org.pbmd1.Error.InvalidArgs", "a-z");
	assert_same_refusal(f, "nope", none, "org.pbmd1.Error.NoSuchProfile", "ListProfiles");
	/* the wrong signature never reaches pbmd's code */
	{
		g_autoptr(GError) error = NULL;
		assert_null(pbm_fixture_manager(f, "EstimateSession", g_variant_new("(s)", "demo"),
		                                &error));
		pbm_assert_dbus_error(error, "org.freedesktop.DBus.Error.InvalidArgs", NULL);
	}
	active =
	        pbm_fixture_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "ActiveSession");
	assert_string_equal(g_variant_get_string(active, NULL), "/");
}

/* A short prescription that ends on a dose (so its length is estimated),
 * at most once an hour. */
static const gchar quick_profile[] =
        "name = \"quick\"; title = \"Quick\"; distance_cm = 15.0; min_interval = \"1h\";\n"
        "steps = (\n"
        "  { name = \"both\"; duration = 3; irradiance_red = 20; irradiance_nir = 20; "
        "ramp_s = 1; },\n"
        "  { name = \"to-dose\"; dose_nir = 0.06; irradiance_nir = 25; irradiance_red = 15; }\n"
        ");\n";

/* The estimate is what the session started with the same options plans
 * and delivers; it is there while the session runs, and it does not read
 * the history, which StartSession does. */
static void
test_estimate_matches_session(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(GVariant) opts = options(20.0, "SIM0002", -1);
	g_autoptr(GVariant) e = NULL, during = NULL, after = NULL, warnings = NULL;
	g_autoptr(GVariant) duration = NULL, session_warnings = NULL, session_panels = NULL;
	g_autoptr(GVariant) dose_red = NULL, dose_nir = NULL, sim2 = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL, *text = NULL;

	pbm_fixture_spawn_models(f, "low,standard");
	e = estimate(f, "quick", opts);
	text = g_variant_print(e, TRUE);
	print_message("# %s\n", text);
	assert_estimate_keys(e);
	path = pbm_fixture_start(f, "quick", opts);
	duration = pbm_fixture_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Duration");
	assert_int_equal(g_variant_get_uint64(duration) / G_USEC_PER_SEC,
	                 get_uint64(e, "duration_s"));
	session_warnings = pbm_fixture_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Warnings");
	warnings = get_strv(e, "warnings");
	assert_int_equal(g_variant_n_children(warnings), 1);
	assert_strv_equal(session_warnings, warnings);
	session_panels = pbm_fixture_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Panels");
	sim2 = g_variant_ref_sink(
	        g_variant_new_objv((const gchar *[]){ PBM_DBUS_PATH_PANEL "/SIM0002" }, 1));
	assert_true(g_variant_equal(session_panels, sim2));

	/* no Busy while it runs */
	during = estimate(f, "quick", opts);
	assert_true(g_variant_equal(during, e));

	assert_true(pbm_fixture_wait_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Outcome",
	                                      "completed", PBM_FIXTURE_WAIT_MS));
	dose_red = pbm_fixture_property(f, path, PBM_DBUS_INTERFACE_SESSION, "DoseRed");
	dose_nir = pbm_fixture_property(f, path, PBM_DBUS_INTERFACE_SESSION, "DoseNir");
	print_message("# delivered red %.5f, nir %.5f J/cm2\n", g_variant_get_double(dose_red),
	              g_variant_get_double(dose_nir));
	assert_float_equal(g_variant_get_double(dose_red), get_double(e, "dose_red"),
	                   get_double(e, "dose_red") * 0.03);
	assert_float_equal(g_variant_get_double(dose_nir), get_double(e, "dose_nir"),
	                   get_double(e, "dose_nir") * 0.03);

	/* the history now holds a session of quick: StartSession refuses the
	 * next for the hour, the estimate does not know */
	after = estimate(f, "quick", opts);
	assert_true(g_variant_equal(after, e));
	assert_null(pbm_fixture_try_start(f, "quick", opts, &error));
	pbm_assert_dbus_error(error, "org.pbmd1.Error.SafetyLimit", "min_interval");
}

typedef struct {
	guint answered, estimated, busy;
	gchar *other;
} Burst;

static void
burst_replied(GObject *source, GAsyncResult *result, gpointer data)
{
	Burst *b = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
	g_autofree gchar *remote = error != NULL ? g_dbus_error_get_remote_error(error) : NULL;

	b->answered++;
	if (reply != NULL)
		b->estimated++;
	else if (g_strcmp0(remote, "org.pbmd1.Error.Busy") == 0 &&
	         strstr(error->message, "calls waiting for a reply") != NULL)
		b->busy++;
	else if (b->other == NULL)
		b->other = g_strdup(error->message);
}

/* One connection firing many estimates at once: each is answered, with
 * the estimate or with Busy past the bus guard's calls per connection,
 * and pbmd goes on answering. */
static void
test_burst(void **state)
{
	PbmFixture *f = *state;
	const guint n = 64;
	Burst b = { 0 };
	g_autoptr(GVariant) none = options(0, NULL, -1);
	g_autoptr(GVariant) e = NULL;
	gint64 until;

	pbm_fixture_spawn(f, NULL);
	for (guint i = 0; i < n; i++)
		g_dbus_connection_call(f->client, PBM_DBUS_NAME, PBM_DBUS_PATH,
		                       PBM_DBUS_INTERFACE_MANAGER, "EstimateSession",
		                       g_variant_new("(s@a{sv})", "back-pain", none),
		                       G_VARIANT_TYPE("(a{sv})"), G_DBUS_CALL_FLAGS_NONE,
		                       PBM_FIXTURE_WAIT_MS, NULL, burst_replied, &b);
	until = g_get_monotonic_time() + PBM_FIXTURE_WAIT_MS * (gint64)1000;
	while (b.answered < n && g_get_monotonic_time() < until)
		g_main_context_iteration(NULL, TRUE);
	print_message("# %u calls: %u estimated, %u busy\n", n, b.estimated, b.busy);
	if (b.other != NULL)
		fail_msg("a call in the burst: %s", b.other);
	assert_int_equal(b.answered, n);
	assert_int_equal(b.estimated + b.busy, n);
	assert_true(b.estimated >= 16);
	e = estimate(f, "back-pain", none);
	assert_int_equal(get_uint64(e, "duration_s"), 600);
}

int
main(void)
{
	static const gchar *const bright_files[] = { "bright", bright_profile, NULL };
	static const gchar *const gentle_files[] = { "gentle", gentle_profile, NULL };
	static const gchar *const quick_files[] = { "quick", quick_profile, NULL };
	static const PbmFixtureOptions custom = { .limits = custom_limits };
	static const PbmFixtureOptions bright = { .profiles = bright_files };
	static const PbmFixtureOptions gentle = { .profiles = gentle_files };
	static const PbmFixtureOptions quick = { .profiles = quick_files };
	const struct CMUnitTest tests[] = {
		pbm_fixture_test(test_limits_follow_config, &custom),
		pbm_fixture_test(test_prescription_same_dose_at_two_distances, NULL),
		pbm_fixture_test(test_percent_dose_depends_on_distance, NULL),
		pbm_fixture_test(test_eye_limit_is_reported, &bright),
		pbm_fixture_test(test_weak_panel_at_a_distance, &gentle),
		pbm_fixture_test(test_bad_arguments, NULL),
		pbm_fixture_test(test_estimate_matches_session, &quick),
		pbm_fixture_test(test_burst, NULL),
	};

	return cmocka_run_group_tests_name("daemon-estimate", tests, NULL, NULL);
}
