/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Bad profiles: every broken file is refused with the right PbmConfigError
 * code and a message "PATH:LINE: KEY: what is wrong; what is allowed" that
 * points at the exact line. One TAP test case per table row. Then the
 * search path: overrides, broken overrides, stray files, missing
 * directories.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "pbm-profile.h"
#include "pbm-profile-store.h"
#include "pbm-test-files.h"

/* ---- helpers ---- */

static gchar *
make_tmp_dir(void)
{
	g_autoptr(GError) error = NULL;
	gchar *dir = g_dir_make_tmp("pbm-profile-errors-XXXXXX", &error);

	if (dir == NULL)
		fail_msg("g_dir_make_tmp: %s", error->message);
	return dir;
}

static gchar *
write_file(const gchar *dir, const gchar *file, const gchar *text, gssize len)
{
	g_autoptr(GError) error = NULL;
	gchar *path = g_build_filename(dir, file, NULL);

	/* 0644 whatever the umask: pbmd refuses profiles others may write */
	if (!g_file_set_contents_full(path, text, len, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
	                              &error))
		fail_msg("%s: %s", path, error->message);
	return path;
}

/* ---- the table ---- */

typedef enum {
	ROW_TEXT,      /* write text (len bytes, or up to its NUL) */
	ROW_BIG,       /* text followed by comments, past PBM_CONF_FILE_MAX_SIZE */
	ROW_NO_FILE,   /* the path does not exist */
	ROW_DIRECTORY, /* the path is a directory */
} RowKind;

typedef struct {
	const gchar *id;
	const gchar *file;
	const gchar *text;
	gsize len; /* 0: strlen(text) */
	PbmConfigError code;
	guint line; /* 0: the message names no line, only the path */
	const gchar *substring;
	RowKind kind;
} BadProfile;

/* Lines 1 to 3. */
#define HEAD(name) "name = \"" name "\";\ntitle = \"Test\";\ndistance_cm = 15.0;\n"
/* The step on line 5. */
#define STEP(body) "steps = (\n\t{ " body " }\n);\n"
#define GOOD_STEP STEP("name = \"s\"; duration = \"1m\"; percent_red = 50;")

#define STROBE_STEP STEP("name = \"s\"; duration = \"1m\"; percent_red = 50; pulse_hz = 10;")
#define NUL_TEXT HEAD("nul") "# a NUL byte: \0\n" GOOD_STEP
#define NAME_65 "a23456789012345678901234567890123456789012345678901234567890abcde"

static const BadProfile bad_profiles[] = {
	/* ---- syntax ---- */
	{ "syntax/missing-comma-between-steps", "comma.conf",
	  HEAD("comma") "steps = (\n"
	                "\t{ name = \"a\"; duration = \"1m\"; percent_red = 50; }\n"
	                "\t{ name = \"b\"; duration = \"1m\"; percent_red = 50; }\n"
	                ");\n",
	  0, PBM_CONFIG_ERROR_SYNTAX, 6, "syntax error" },
	/* A string may span lines, so libconfig notices only at the end of
	 * the file: line 8, after the last newline of this 7-line file. */
	{ "syntax/unterminated-string", "unterminated.conf",
	  HEAD("unterminated") GOOD_STEP "description = \"Lower back;\n", 0,
	  PBM_CONFIG_ERROR_SYNTAX, 8, "syntax error" },
	{ "syntax/garbage", "garbage.conf", HEAD("garbage") "%%% not a setting\n" GOOD_STEP, 0,
	  PBM_CONFIG_ERROR_SYNTAX, 4, "syntax error" },
	{ "syntax/unquoted-duration", "unquoted.conf",
	  HEAD("unquoted") STEP("name = \"s\"; duration = 5m; percent_red = 50;"), 0,
	  PBM_CONFIG_ERROR_SYNTAX, 5, "syntax error" },
	{ "syntax/trailing-comma", "trailing.conf",
	  HEAD("trailing") "steps = (\n"
	                   "\t{ name = \"s\"; duration = \"1m\"; percent_red = 50; },\n"
	                   ");\n",
	  0, PBM_CONFIG_ERROR_SYNTAX, 6, "syntax error" },
	{ "syntax/duplicate-key", "duplicate.conf",
	  HEAD("duplicate") "distance_cm = 20.0;\n" GOOD_STEP, 0, PBM_CONFIG_ERROR_SYNTAX, 4,
	  "duplicate setting name" },

	/* ---- unknown keys ---- */
	{ "unknown-key/top-level", "top.conf", HEAD("top") "goggles = true;\n" GOOD_STEP, 0,
	  PBM_CONFIG_ERROR_UNKNOWN_KEY, 4,
	  "goggles: unknown key (a typo must not silently change a setting); allowed here: name, "
	  "title, description, distance_cm, goggles_required, allow_visible_pulse, "
	  "pulse_warning, min_interval, steps" },
	{ "unknown-key/step", "typo.conf",
	  HEAD("typo") "steps = (\n"
	               "\t{ name = \"s\"; percent_red = 50;\n"
	               "\t  durration = \"1m\"; }\n"
	               ");\n",
	  0, PBM_CONFIG_ERROR_UNKNOWN_KEY, 6,
	  "durration: unknown key (a typo must not silently change a setting); allowed here: "
	  "name, duration, dose_red, dose_nir, irradiance_red, irradiance_nir, percent_red, "
	  "percent_nir, wavelengths, pulse_hz, duty, ramp_s" },
	{ "unknown-key/wavelength", "wl-typo.conf",
	  HEAD("wl-typo") "steps = (\n"
	                  "\t{ name = \"s\"; duration = \"1m\";\n"
	                  "\t  wavelengths = (\n"
	                  "\t\t{ nm = 660; percent = 50; },\n"
	                  "\t\t{ nm = 850; levle = 50; }\n"
	                  "\t  ); }\n"
	                  ");\n",
	  0, PBM_CONFIG_ERROR_UNKNOWN_KEY, 8,
	  "levle: unknown key (a typo must not silently "
	  "change a setting); allowed here: nm, irradiance, percent" },

	/* ---- wrong types ---- */
	{ "type/distance-string", "dist-str.conf",
	  "name = \"dist-str\";\ntitle = \"Test\";\ndistance_cm = \"15\";\n" GOOD_STEP, 0,
	  PBM_CONFIG_ERROR_TYPE, 3, "distance_cm: must be a number, not a string" },
	{ "type/name-number", "number.conf", "name = 42;\ntitle = \"Test\";\n", 0,
	  PBM_CONFIG_ERROR_TYPE, 1, "name: must be a string, not a whole number" },
	{ "type/steps-group", "steps-group.conf",
	  HEAD("steps-group") "steps = { name = \"s\"; duration = \"1m\"; percent_red = 50; };\n",
	  0, PBM_CONFIG_ERROR_TYPE, 4, "steps: must be a list of 1 to 32 steps" },
	{ "type/steps-array", "steps-array.conf", HEAD("steps-array") "steps = [ 1, 2 ];\n", 0,
	  PBM_CONFIG_ERROR_TYPE, 4, "steps: must be a list of 1 to 32 steps" },
	{ "type/goggles-int", "goggles.conf", HEAD("goggles") GOOD_STEP "goggles_required = 1;\n",
	  0, PBM_CONFIG_ERROR_TYPE, 7,
	  "goggles_required: must be true or false, not a whole number" },
	{ "type/level-string", "level-str.conf",
	  HEAD("level-str") STEP("name = \"s\"; duration = \"1m\"; percent_red = \"50\";"), 0,
	  PBM_CONFIG_ERROR_TYPE, 5, "red: must be a number, not a string" },
	{ "type/duration-decimal", "dur-float.conf",
	  HEAD("dur-float") STEP("name = \"s\"; duration = 1.5; percent_red = 50;"), 0,
	  PBM_CONFIG_ERROR_TYPE, 5,
	  "duration: must be a duration (\"10m\", \"90s\" or seconds), not a decimal number" },
	{ "type/wavelengths-array", "wl-array.conf",
	  HEAD("wl-array") STEP("name = \"s\"; duration = \"1m\"; wavelengths = [ 660, 850 ];"), 0,
	  PBM_CONFIG_ERROR_TYPE, 5, "wavelengths: must be a list of 1 to 8 groups" },
	{ "type/wavelength-not-group", "wl-entry.conf",
	  HEAD("wl-entry") STEP("name = \"s\"; duration = \"1m\"; wavelengths = ( 660 );"), 0,
	  PBM_CONFIG_ERROR_TYPE, 5, "entry 1 must be a group { nm = ...; irradiance = ...; }" },

	/* ---- durations ---- */
	{ "duration/negative", "dur-neg.conf",
	  HEAD("dur-neg") STEP("name = \"s\"; duration = -5; percent_red = 50;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5, "duration: -5 s is out of range; allowed 1 s to 2 h" },
	{ "duration/zero", "dur-zero.conf",
	  HEAD("dur-zero") STEP("name = \"s\"; duration = 0; percent_red = 50;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5, "duration: 0 s is out of range; allowed 1 s to 2 h" },
	{ "duration/zero-string", "dur-0s.conf",
	  HEAD("dur-0s") STEP("name = \"s\"; duration = \"0s\"; percent_red = 50;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5, "allowed 1 s to 2 h" },
	{ "duration/over-2h", "dur-long.conf",
	  HEAD("dur-long") STEP("name = \"s\"; duration = \"2h 1s\"; percent_red = 50;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5, "2 h 1 s is out of range; allowed 1 s to 2 h" },
	{ "duration/huge", "dur-huge.conf",
	  HEAD("dur-huge") STEP("name = \"s\"; duration = 10000000000; percent_red = 50;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5, "is too large to be read safely" },
	/* 2^32 + 60 seconds must not turn into one minute. */
	{ "duration/huge-wraps-to-1m", "dur-wrap.conf",
	  HEAD("dur-wrap") STEP("name = \"s\"; duration = 4294967356; percent_red = 50;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5, "is too large to be read safely" },
	{ "duration/bad-unit", "dur-10x.conf",
	  HEAD("dur-10x") STEP("name = \"s\"; duration = \"10x\"; percent_red = 50;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5,
	  "'10x' is not a duration (unknown unit); write seconds (\"90\"), or a number with a "
	  "unit: \"90s\", \"5m\", \"1h\", \"1m30s\"" },
	{ "duration/repeated-unit", "dur-5m5m.conf",
	  HEAD("dur-5m5m") STEP("name = \"s\"; duration = \"5m5m\"; percent_red = 50;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5,
	  "'5m5m' is not a duration (units must appear once, as h, m, s)" },
	{ "duration/negative-string", "dur-minus.conf",
	  HEAD("dur-minus") STEP("name = \"s\"; duration = \"-3s\"; percent_red = 50;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5, "'-3s' is not a duration (expected a whole number); write" },
	{ "duration/empty-string", "dur-empty.conf",
	  HEAD("dur-empty") STEP("name = \"s\"; duration = \"\"; percent_red = 50;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5, "'' is not a duration (it is empty); write" },

	/* ---- levels ---- */
	{ "level/over-100", "level-high.conf",
	  HEAD("level-high") STEP("name = \"s\"; duration = \"1m\"; percent_red = 100.5;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5, "red: 100.5 % is out of range; allowed 0 to 100 %" },
	{ "level/negative", "level-neg.conf",
	  HEAD("level-neg") STEP("name = \"s\"; duration = \"1m\"; percent_nir = -10;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5, "nir: -10 % is out of range; allowed 0 to 100 %" },
	{ "level/two-decimals", "level-fine.conf",
	  HEAD("level-fine") STEP("name = \"s\"; duration = \"1m\"; percent_red = 50.25;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5,
	  "red: 50.25 % has more than one decimal; levels go in steps of 0.1 %" },
	/* 2^32 + 50 must not turn into 50 %. */
	{ "level/huge-wraps-to-50", "level-wrap.conf",
	  HEAD("level-wrap") STEP("name = \"s\"; duration = \"1m\"; percent_red = 4294967346;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5, "is too large to be read safely" },
	/* Even where libconfig promotes big decimals, hex stays 32 bits. */
	{ "level/huge-hex-wraps-to-50", "level-hex.conf",
	  HEAD("level-hex") STEP("name = \"s\"; duration = \"1m\"; percent_red = 0x100000032;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5, "is too large to be read safely" },
	{ "level/wavelength-over-100", "wl-high.conf",
	  HEAD("wl-high") STEP("name = \"s\"; duration = \"1m\"; "
	                       "wavelengths = ( { nm = 660; percent = 101; } );"),
	  0, PBM_CONFIG_ERROR_RANGE, 5, "percent: 101 % is out of range; allowed 0 to 100 %" },

	/* ---- steps ---- */
	{ "steps/empty", "empty-steps.conf", HEAD("empty-steps") "steps = ( );\n", 0,
	  PBM_CONFIG_ERROR_TYPE, 4, "steps: must be a list of 1 to 32 steps" },
	/* libconfig dates a scalar list element by the token after it: the
	 * ")" on line 6. */
	{ "steps/step-not-group", "step-str.conf",
	  HEAD("step-str") "steps = (\n\t\"warm-up\"\n);\n", 0, PBM_CONFIG_ERROR_TYPE, 6,
	  "step 1 must be a group { name = ...; duration = ...; ... }" },
	{ "steps/step-without-name", "no-step-name.conf",
	  HEAD("no-step-name") STEP("duration = \"1m\"; percent_red = 50;"), 0,
	  PBM_CONFIG_ERROR_MISSING, 5, "name: required key is missing" },
	/* pbmd.profile(5): a step name is 1 to 64 bytes. */
	{ "steps/empty-step-name", "empty-step-name.conf",
	  HEAD("empty-step-name") STEP("name = \"\"; duration = \"1m\"; percent_red = 50;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5, "name: " },
	{ "steps/no-duration-no-dose", "neither.conf",
	  HEAD("neither") STEP("name = \"s\"; percent_red = 50;"), 0, PBM_CONFIG_ERROR_INVALID, 5,
	  "step \"s\" needs a duration, a target dose (dose_red, dose_nir), or both" },
	{ "steps/duration-and-dose", "both.conf",
	  HEAD("both") STEP("name = \"s\"; duration = \"1m\"; dose_red = 5.0; percent_red = 50;"),
	  0, PBM_CONFIG_ERROR_INVALID, 5,
	  "dose_red: with a duration, dose_red sets the red irradiance itself (dose / duration)" },
	{ "steps/dose-for-unlit-band", "dose-nir.conf",
	  HEAD("dose-nir") STEP("name = \"s\"; dose_nir = 10.0; percent_red = 50;"), 0,
	  PBM_CONFIG_ERROR_INVALID, 5,
	  "dose_nir: this step has no duration and gives no nir light, so that dose is never "
	  "reached: add irradiance_nir (or a duration)" },
	{ "steps/dose-for-unlit-wavelength", "dose-red.conf",
	  HEAD("dose-red") STEP("name = \"s\"; dose_red = 10.0; "
	                        "wavelengths = ( { nm = 850; percent = 80; } );"),
	  0, PBM_CONFIG_ERROR_INVALID, 5,
	  "dose_red: this step has no duration and gives no red light, so that dose is never "
	  "reached" },
	{ "steps/dose-zero", "dose-zero.conf",
	  HEAD("dose-zero") STEP("name = \"s\"; dose_red = 0; percent_red = 50;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5,
	  "dose_red: 0 J/cm2 is out of range; allowed 0.01 to 100 J/cm2" },
	{ "steps/all-levels-zero", "dark.conf",
	  HEAD("dark") STEP("name = \"s\"; duration = \"1m\"; percent_red = 0; percent_nir = 0;"),
	  0, PBM_CONFIG_ERROR_INVALID, 5, "step \"s\" gives no light: every level is 0" },
	{ "steps/no-level", "no-level.conf",
	  HEAD("no-level") STEP("name = \"s\"; duration = \"1m\";"), 0, PBM_CONFIG_ERROR_MISSING, 5,
	  "a step needs a level: irradiance_red = ..., irradiance_nir = ... (mW/cm²)" },

	/* ---- wavelengths ---- */
	{ "wavelengths/mixed-with-bands", "mixed.conf",
	  HEAD("mixed") "steps = (\n"
	                "\t{ name = \"s\"; duration = \"1m\"; percent_red = 50;\n"
	                "\t  wavelengths = ( { nm = 850; percent = 80; } ); }\n"
	                ");\n",
	  0, PBM_CONFIG_ERROR_INVALID, 6,
	  "wavelengths: give levels per band (irradiance_red, ...) or per wavelength, not both" },
	{ "wavelengths/duplicate", "twice.conf",
	  HEAD("twice") "steps = (\n"
	                "\t{ name = \"s\"; duration = \"1m\";\n"
	                "\t  wavelengths = (\n"
	                "\t\t{ nm = 660; percent = 50; },\n"
	                "\t\t{ nm = 660; percent = 20; }\n"
	                "\t  ); }\n"
	                ");\n",
	  0, PBM_CONFIG_ERROR_INVALID, 8, "nm: 660 nm is listed twice" },
	{ "wavelengths/out-of-range", "uv.conf",
	  HEAD("uv") STEP("name = \"s\"; duration = \"1m\"; "
	                  "wavelengths = ( { nm = 365; percent = 50; } );"),
	  0, PBM_CONFIG_ERROR_RANGE, 5, "nm: 365 is out of range; allowed 380 to 1100" },
	{ "wavelengths/empty", "wl-empty.conf",
	  HEAD("wl-empty") STEP("name = \"s\"; duration = \"1m\"; wavelengths = ( );"), 0,
	  PBM_CONFIG_ERROR_TYPE, 5, "wavelengths: must be a list of 1 to 8 groups" },
	{ "wavelengths/missing-level", "wl-nolevel.conf",
	  HEAD("wl-nolevel")
	          STEP("name = \"s\"; duration = \"1m\"; wavelengths = ( { nm = 660; } );"),
	  0, PBM_CONFIG_ERROR_MISSING, 5,
	  "irradiance: entry 1 needs irradiance = ... (mW/cm²) or percent = ..." },

	/* ---- prescriptions ---- */
	{ "prescription/retired-percent-key", "old-red.conf",
	  HEAD("old-red") STEP("name = \"s\"; duration = \"1m\"; red = 50;"), 0,
	  PBM_CONFIG_ERROR_INVALID, 5,
	  "red: a level in percent gives a different dose on every panel; write irradiance_red "
	  "(mW/cm² at the skin) or dose_red (J/cm²), or percent_red instead" },
	{ "prescription/retired-wavelength-level", "old-level.conf",
	  HEAD("old-level") STEP("name = \"s\"; duration = \"1m\"; "
	                         "wavelengths = ( { nm = 660; level = 50; } );"),
	  0, PBM_CONFIG_ERROR_INVALID, 5,
	  "level: a level in percent gives a different dose on every panel; write irradiance "
	  "(mW/cm² at the skin), or percent instead" },
	{ "prescription/percent-and-irradiance", "both-kinds.conf",
	  HEAD("both-kinds") STEP("name = \"s\"; duration = \"1m\"; percent_nir = 50; "
	                          "irradiance_nir = 20;"),
	  0, PBM_CONFIG_ERROR_INVALID, 5,
	  "percent_nir: give irradiance_nir or percent_nir, not both" },
	{ "prescription/irradiance-zero", "irr-zero.conf",
	  HEAD("irr-zero") STEP("name = \"s\"; duration = \"1m\"; irradiance_red = 0;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5,
	  "irradiance_red: 0 mW/cm2 is out of range; allowed 0.01 to 500" },
	{ "prescription/dose-too-fast", "fast-dose.conf",
	  HEAD("fast-dose") STEP("name = \"s\"; duration = \"1s\"; dose_nir = 1.0;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5,
	  "dose_nir: 1 J/cm² in 1 s is 1000.0 mW/cm², above 500 mW/cm²" },
	{ "prescription/min-interval-too-long", "interval.conf",
	  HEAD("interval") "min_interval = \"30d\";\n" GOOD_STEP, 0, PBM_CONFIG_ERROR_RANGE, 4,
	  "min_interval: " },

	/* ---- pulsing ---- */
	{ "pulse/duty-without-pulse", "duty.conf",
	  HEAD("duty") STEP("name = \"s\"; duration = \"1m\"; percent_nir = 50; duty = 50;"), 0,
	  PBM_CONFIG_ERROR_INVALID, 5,
	  "duty: a duty cycle needs pulse_hz; continuous light has no duty" },
	{ "pulse/hz-too-high", "fast.conf",
	  HEAD("fast") STEP("name = \"s\"; duration = \"1m\"; percent_nir = 50; pulse_hz = 20000;"),
	  0, PBM_CONFIG_ERROR_RANGE, 5,
	  "pulse_hz: 20000 Hz is out of range; allowed 1 to 10000 Hz" },
	{ "pulse/hz-too-low", "slow.conf",
	  HEAD("slow") STEP("name = \"s\"; duration = \"1m\"; percent_nir = 50; pulse_hz = 0.5;"),
	  0, PBM_CONFIG_ERROR_RANGE, 5, "pulse_hz: 0.5 Hz is out of range; allowed 1 to 10000 Hz" },
	{ "pulse/duty-zero", "duty-zero.conf",
	  HEAD("duty-zero")
	          STEP("name = \"s\"; duration = \"1m\"; percent_nir = 50; pulse_hz = 100; "
	               "duty = 0;"),
	  0, PBM_CONFIG_ERROR_RANGE, 5, "duty: 0 % is out of range; allowed 1 to 100 %" },
	{ "pulse/ramp-too-long", "ramp.conf",
	  HEAD("ramp") STEP("name = \"s\"; duration = \"1m\"; percent_red = 50; ramp_s = 11;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5, "ramp_s: 11 s is out of range; allowed 0 to 10 s" },
	{ "pulse/visible-without-opt-in", "flicker.conf",
	  HEAD("flicker") "steps = (\n"
	                  "\t{ name = \"warm\"; duration = \"1m\"; percent_nir = 50; },\n"
	                  "\t{ name = \"strobe\"; duration = \"1m\"; percent_red = 50; pulse_hz = "
	                  "10; }\n"
	                  ");\n",
	  0, PBM_CONFIG_ERROR_INVALID, 6,
	  "pulse_hz: step \"strobe\" pulses visible red light at 10 Hz, which can trigger "
	  "photosensitive seizures; pulse below 3 or above 60 Hz, or opt in with "
	  "allow_visible_pulse = true and a pulse_warning" },
	{ "pulse/visible-wavelength-without-opt-in", "flicker-wl.conf",
	  HEAD("flicker-wl") STEP("name = \"s\"; duration = \"1m\"; pulse_hz = 40; "
	                          "wavelengths = ( { nm = 630; percent = 50; } );"),
	  0, PBM_CONFIG_ERROR_INVALID, 5, "or opt in with allow_visible_pulse = true" },
	/* Names the line of the opt-in that lacks its warning. */
	{ "pulse/opt-in-without-warning", "no-warning.conf",
	  HEAD("no-warning") STROBE_STEP "allow_visible_pulse = true;\n", 0,
	  PBM_CONFIG_ERROR_MISSING, 7,
	  "pulse_warning: allow_visible_pulse = true needs a pulse_warning text to show before "
	  "the session" },

	/* ---- names ---- */
	{ "name/file-mismatch", "back-pain.conf", HEAD("neck") GOOD_STEP, 0, PBM_CONFIG_ERROR_NAME,
	  1,
	  "name: \"neck\" does not match the file name back-pain.conf; name the file neck.conf" },
	{ "name/dot-dot", "etc.conf", HEAD("../etc") GOOD_STEP, 0, PBM_CONFIG_ERROR_NAME, 1,
	  "name: \"../etc\" is not a valid profile name; use 1 to 64 characters of a-z, 0-9 and "
	  "'-'" },
	{ "name/slash", "b.conf", HEAD("a/b") GOOD_STEP, 0, PBM_CONFIG_ERROR_NAME, 1,
	  "\"a/b\" is not a valid profile name; use 1 to 64 characters of a-z, 0-9 and '-'" },
	{ "name/upper-case", "Skin.conf", HEAD("Skin") GOOD_STEP, 0, PBM_CONFIG_ERROR_NAME, 1,
	  "\"Skin\" is not a valid profile name; use 1 to 64 characters of a-z, 0-9 and '-'" },
	{ "name/leading-dash", "-skin.conf", HEAD("-skin") GOOD_STEP, 0, PBM_CONFIG_ERROR_NAME, 1,
	  "\"-skin\" is not a valid profile name; use 1 to 64 characters" },
	{ "name/trailing-dash", "skin-.conf", HEAD("skin-") GOOD_STEP, 0, PBM_CONFIG_ERROR_NAME, 1,
	  "\"skin-\" is not a valid profile name; use 1 to 64 characters" },
	{ "name/65-chars", NAME_65 ".conf", HEAD(NAME_65) GOOD_STEP, 0, PBM_CONFIG_ERROR_NAME, 1,
	  "is not a valid profile name; use 1 to 64 characters of a-z, 0-9 and '-'" },
	{ "name/empty", "empty-name.conf", HEAD("") GOOD_STEP, 0, PBM_CONFIG_ERROR_NAME, 1,
	  "\"\" is not a valid profile name; use 1 to 64 characters" },

	/* ---- missing keys (at the top level there is no line to name) ---- */
	{ "missing/name", "no-name.conf", "title = \"Test\";\ndistance_cm = 15.0;\n" GOOD_STEP, 0,
	  PBM_CONFIG_ERROR_MISSING, 0, "name: required key is missing" },
	{ "missing/title", "no-title.conf", "name = \"no-title\";\ndistance_cm = 15.0;\n" GOOD_STEP,
	  0, PBM_CONFIG_ERROR_MISSING, 0, "title: required key is missing" },
	{ "missing/distance", "no-distance.conf",
	  "name = \"no-distance\";\ntitle = \"Test\";\n" GOOD_STEP, 0, PBM_CONFIG_ERROR_MISSING, 0,
	  "distance_cm: required key is missing" },
	{ "missing/steps", "no-steps.conf", HEAD("no-steps"), 0, PBM_CONFIG_ERROR_MISSING, 0,
	  "steps: required key is missing: steps = ( { name = ...; ... } );" },
	{ "missing/everything", "empty.conf", "# nothing here\n", 0, PBM_CONFIG_ERROR_MISSING, 0,
	  "name: required key is missing" },

	/* ---- ranges and strings ---- */
	{ "distance/too-close", "close.conf",
	  "name = \"close\";\ntitle = \"Test\";\ndistance_cm = 0.5;\n" GOOD_STEP, 0,
	  PBM_CONFIG_ERROR_RANGE, 3, "distance_cm: 0.5 cm is out of range; allowed 1 to 100 cm" },
	{ "distance/too-far", "far.conf",
	  "name = \"far\";\ntitle = \"Test\";\ndistance_cm = 150;\n" GOOD_STEP, 0,
	  PBM_CONFIG_ERROR_RANGE, 3, "distance_cm: 150 cm is out of range; allowed 1 to 100 cm" },
	{ "title/too-long", "long-title.conf",
	  "name = \"long-title\";\ntitle = \"0123456789012345678901234567890123456789"
	  "01234567890123456789012345678901234567890\";\ndistance_cm = 15.0;\n" GOOD_STEP,
	  0, PBM_CONFIG_ERROR_RANGE, 2, "title: is 81 bytes long; at most 80" },
	{ "string/escaped-control-character", "tab.conf",
	  "name = \"tab\";\ntitle = \"a\\tb\";\ndistance_cm = 15.0;\n" GOOD_STEP, 0,
	  PBM_CONFIG_ERROR_RANGE, 2, "title: contains a control character; use plain text" },
	{ "string/raw-control-character", "esc.conf",
	  HEAD("esc") STEP("name = \"\x1b[2J\"; duration = \"1m\"; percent_red = 50;"), 0,
	  PBM_CONFIG_ERROR_RANGE, 5, "name: contains a control character; use plain text" },

	/* ---- whole files (no line) ---- */
	{ "file/include", "include.conf", "@include \"other.conf\"\n" HEAD("include") GOOD_STEP, 0,
	  PBM_CONFIG_ERROR_SYNTAX, 0, "@include is not allowed; put everything in this one file" },
	{ "file/indented-include", "include2.conf", HEAD("include2") "\t@include \"steps.inc\"\n",
	  0, PBM_CONFIG_ERROR_SYNTAX, 0, "@include is not allowed" },
	{ "file/nul-byte", "nul.conf", NUL_TEXT, sizeof(NUL_TEXT) - 1, PBM_CONFIG_ERROR_SYNTAX, 0,
	  "not a text file (NUL bytes or invalid UTF-8)" },
	{ "file/invalid-utf8", "latin1.conf",
	  "name = \"latin1\";\ntitle = \"Caf\xe9\";\ndistance_cm = 15.0;\n" GOOD_STEP, 0,
	  PBM_CONFIG_ERROR_SYNTAX, 0, "not a text file (NUL bytes or invalid UTF-8)" },
	{ "file/too-large", "big.conf", HEAD("big") GOOD_STEP, 0, PBM_CONFIG_ERROR_UNREADABLE, 0,
	  "is too large (at most 262144)", ROW_BIG },
	{ "file/does-not-exist", "absent.conf", NULL, 0, PBM_CONFIG_ERROR_UNREADABLE, 0,
	  "cannot open", ROW_NO_FILE },
	{ "file/directory", "dir.conf", NULL, 0, PBM_CONFIG_ERROR_UNREADABLE, 0,
	  "not a regular file", ROW_DIRECTORY },
};

typedef struct {
	const BadProfile *row;
	gchar *dir;
} RowState;

static int
row_setup(void **state)
{
	RowState *s = g_new0(RowState, 1);

	s->row = *state;
	s->dir = make_tmp_dir();
	*state = s;
	return 0;
}

static int
row_teardown(void **state)
{
	RowState *s = *state;

	pbm_test_rm_rf(s->dir);
	g_free(s->dir);
	g_free(s);
	return 0;
}

static void
test_bad_profile(void **state)
{
	const RowState *s = *state;
	const BadProfile *row = s->row;
	const gchar *dir = s->dir;
	g_autofree gchar *path = g_build_filename(dir, row->file, NULL);
	g_autofree gchar *prefix = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmProfile) profile = NULL;

	switch (row->kind) {
	case ROW_TEXT:
		g_free(write_file(dir, row->file, row->text,
		                  row->len != 0 ? (gssize)row->len : -1));
		break;
	case ROW_BIG: {
		g_autoptr(GString) text = g_string_new(row->text);
		while (text->len <= PBM_CONF_FILE_MAX_SIZE)
			g_string_append(text, "# padding padding padding padding padding\n");
		g_free(write_file(dir, row->file, text->str, (gssize)text->len));
		break;
	}
	case ROW_NO_FILE:
		break;
	case ROW_DIRECTORY:
		assert_int_equal(g_mkdir(path, 0700), 0);
		break;
	}

	profile = pbm_profile_load(path, &error);
	if (profile != NULL)
		fail_msg("%s: loaded, expected error code %d", row->id, row->code);
	assert_non_null(error);
	if (!g_error_matches(error, PBM_CONFIG_ERROR, (gint)row->code))
		fail_msg("%s: expected %s code %d, got %s code %d: %s", row->id,
		         g_quark_to_string(PBM_CONFIG_ERROR), row->code,
		         g_quark_to_string(error->domain), error->code, error->message);
	prefix = row->line != 0 ? g_strdup_printf("%s:%u: ", path, row->line)
	                        : g_strdup_printf("%s: ", path);
	if (!g_str_has_prefix(error->message, prefix))
		fail_msg("%s: message does not start with \"%s\": %s", row->id, prefix,
		         error->message);
	if (strstr(error->message, row->substring) == NULL)
		fail_msg("%s: message lacks \"%s\": %s", row->id, row->substring, error->message);
}

/* The table is meant to cover every refusal: keep it from shrinking. */
static void
test_table_size(void **state)
{
	(void)state;
	assert_true(G_N_ELEMENTS(bad_profiles) >= 45);
	for (gsize i = 0; i < G_N_ELEMENTS(bad_profiles); i++) {
		for (gsize j = 0; j < i; j++)
			assert_string_not_equal(bad_profiles[i].id, bad_profiles[j].id);
	}
}

/* ---- the store ---- */

#define PROFILE(name, title) \
	"name = \"" name "\";\ntitle = \"" title "\";\ndistance_cm = 15.0;\n" GOOD_STEP

typedef struct {
	gchar *dirs[3]; /* NULL-terminated */
} Dirs;

static int
dirs_setup(void **state)
{
	Dirs *d = g_new0(Dirs, 1);

	d->dirs[0] = make_tmp_dir();
	d->dirs[1] = make_tmp_dir();
	*state = d;
	return 0;
}

static int
dirs_teardown(void **state)
{
	Dirs *d = *state;

	for (guint i = 0; i < 2; i++) {
		pbm_test_rm_rf(d->dirs[i]);
		g_free(d->dirs[i]);
	}
	g_free(d);
	return 0;
}

static const gchar *
note_or_problem_mentioning(GPtrArray *array, gboolean errors, const gchar *a, const gchar *b)
{
	for (guint i = 0; i < array->len; i++) {
		const gchar *text = errors ? ((GError *)g_ptr_array_index(array, i))->message
		                           : g_ptr_array_index(array, i);
		if (strstr(text, a) != NULL && (b == NULL || strstr(text, b) != NULL))
			return text;
	}
	return NULL;
}

static void
assert_names(PbmProfileStore *store, const gchar *const *want)
{
	g_autoptr(GPtrArray) list = pbm_profile_store_list(store);

	assert_int_equal(list->len, g_strv_length((gchar **)want));
	for (guint i = 0; i < list->len; i++)
		assert_string_equal(((PbmProfile *)g_ptr_array_index(list, i))->name, want[i]);
}

static void
test_store_override(void **state)
{
	Dirs *d = *state;
	g_autofree gchar *admin = write_file(d->dirs[0], "skin.conf", PROFILE("skin", "Admin"), -1);
	g_autofree gchar *shipped =
	        write_file(d->dirs[1], "skin.conf", PROFILE("skin", "Shipped"), -1);
	g_autofree gchar *joint = write_file(d->dirs[1], "joint.conf", PROFILE("joint", "J"), -1);
	g_autoptr(PbmProfileStore) store =
	        pbm_profile_store_load((const gchar *const *)d->dirs, NULL);
	PbmProfile *skin = pbm_profile_store_lookup(store, "skin");
	GPtrArray *notes = pbm_profile_store_get_notes(store);
	const gchar *names[] = { "joint", "skin", NULL };

	assert_non_null(skin);
	assert_string_equal(skin->title, "Admin");
	assert_string_equal(skin->path, admin);
	assert_non_null(pbm_profile_store_lookup(store, "joint"));
	assert_names(store, names);
	assert_int_equal(pbm_profile_store_get_problems(store)->len, 0);
	assert_int_equal(notes->len, 1);
	assert_non_null(note_or_problem_mentioning(notes, FALSE, shipped, admin));
}

static void
test_store_broken_override(void **state)
{
	Dirs *d = *state;
	g_autofree gchar *admin = write_file(d->dirs[0], "skin.conf",
	                                     "name = \"skin\";\ntitle = \"Admin\";\n"
	                                     "distance_cm = 500;\n" GOOD_STEP,
	                                     -1);
	g_autofree gchar *shipped =
	        write_file(d->dirs[1], "skin.conf", PROFILE("skin", "Shipped"), -1);
	g_autofree gchar *joint = write_file(d->dirs[1], "joint.conf", PROFILE("joint", "J"), -1);
	g_autoptr(PbmProfileStore) store =
	        pbm_profile_store_load((const gchar *const *)d->dirs, NULL);
	GPtrArray *problems = pbm_profile_store_get_problems(store);
	g_autofree gchar *where = g_strdup_printf("%s:3: distance_cm:", admin);
	const gchar *names[] = { "joint", NULL };
	GError *problem;

	/* Not silently replaced by the shipped file. */
	assert_null(pbm_profile_store_lookup(store, "skin"));
	assert_names(store, names);
	assert_int_equal(problems->len, 1);
	problem = g_ptr_array_index(problems, 0);
	assert_true(g_error_matches(problem, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_RANGE));
	assert_true(g_str_has_prefix(problem->message, where));
	assert_null(strstr(problem->message, shipped));
	/* The note still tells why the shipped file is not used. */
	assert_int_equal(pbm_profile_store_get_notes(store)->len, 1);
	assert_non_null(note_or_problem_mentioning(pbm_profile_store_get_notes(store), FALSE,
	                                           shipped, admin));
}

static void
test_store_bad_does_not_stop_others(void **state)
{
	Dirs *d = *state;
	g_autofree gchar *a = write_file(d->dirs[0], "aaa.conf", PROFILE("aaa", "A"), -1);
	g_autofree gchar *b = write_file(d->dirs[0], "bbb.conf", "name = \"bbb\";\n%%%\n", -1);
	g_autofree gchar *c = write_file(d->dirs[0], "ccc.conf", PROFILE("ccc", "C"), -1);
	g_autofree gchar *e = write_file(d->dirs[0], "eee.conf", PROFILE("ddd", "E"), -1);
	g_autoptr(PbmProfileStore) store =
	        pbm_profile_store_load((const gchar *const *)d->dirs, NULL);
	GPtrArray *problems = pbm_profile_store_get_problems(store);
	const gchar *names[] = { "aaa", "ccc", NULL };
	g_autofree gchar *b_where = g_strdup_printf("%s:2: ", b);
	g_autofree gchar *e_where = g_strdup_printf("%s:1: name:", e);

	assert_names(store, names);
	assert_int_equal(problems->len, 2);
	/* In load order. */
	assert_true(g_error_matches(g_ptr_array_index(problems, 0), PBM_CONFIG_ERROR,
	                            PBM_CONFIG_ERROR_SYNTAX));
	assert_true(g_str_has_prefix(((GError *)g_ptr_array_index(problems, 0))->message, b_where));
	assert_true(g_error_matches(g_ptr_array_index(problems, 1), PBM_CONFIG_ERROR,
	                            PBM_CONFIG_ERROR_NAME));
	assert_true(g_str_has_prefix(((GError *)g_ptr_array_index(problems, 1))->message, e_where));
}

static void
test_store_ignores_other_files(void **state)
{
	Dirs *d = *state;
	g_autofree gchar *skin = write_file(d->dirs[0], "skin.conf", PROFILE("skin", "S"), -1);
	const gchar *ignored[] = {
		".hidden.conf", ".conf",  "skin.conf~", "skin.conf.bak",
		"notes.txt",    "README", "conf",
	};
	g_autoptr(PbmProfileStore) store = NULL;
	const gchar *names[] = { "skin", NULL };

	for (gsize i = 0; i < G_N_ELEMENTS(ignored); i++)
		g_free(write_file(d->dirs[0], ignored[i], "garbage %%% not a profile\n", -1));
	store = pbm_profile_store_load((const gchar *const *)d->dirs, NULL);
	assert_names(store, names);
	assert_int_equal(pbm_profile_store_get_problems(store)->len, 0);
	assert_int_equal(pbm_profile_store_get_notes(store)->len, 0);
}

static void
test_store_bad_file_name(void **state)
{
	Dirs *d = *state;
	g_autofree gchar *upper = write_file(d->dirs[0], "Skin.conf", PROFILE("Skin", "S"), -1);
	g_autofree gchar *space = write_file(d->dirs[0], "my skin.conf", PROFILE("skin", "S"), -1);
	g_autofree gchar *joint = write_file(d->dirs[0], "joint.conf", PROFILE("joint", "J"), -1);
	g_autoptr(PbmProfileStore) store =
	        pbm_profile_store_load((const gchar *const *)d->dirs, NULL);
	GPtrArray *problems = pbm_profile_store_get_problems(store);
	const gchar *names[] = { "joint", NULL };
	const gchar *paths[] = { upper, space };

	assert_names(store, names);
	assert_int_equal(problems->len, 2);
	for (guint i = 0; i < problems->len; i++) {
		GError *problem = g_ptr_array_index(problems, i);
		g_autofree gchar *prefix = NULL;
		const gchar *path = NULL;

		assert_true(g_error_matches(problem, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_NAME));
		for (gsize j = 0; j < G_N_ELEMENTS(paths); j++) {
			if (strstr(problem->message, paths[j]) != NULL)
				path = paths[j];
		}
		assert_non_null(path);
		prefix = g_strdup_printf("%s: ", path);
		assert_true(g_str_has_prefix(problem->message, prefix));
		assert_non_null(strstr(problem->message, "is not a valid profile name; use a-z, "
		                                         "0-9 and '-' followed by .conf"));
	}
}

static void
test_store_missing_dir(void **state)
{
	Dirs *d = *state;
	g_autofree gchar *missing = g_build_filename(d->dirs[0], "no-such-dir", NULL);
	g_autofree gchar *skin = write_file(d->dirs[1], "skin.conf", PROFILE("skin", "S"), -1);
	const gchar *dirs[] = { missing, d->dirs[1], NULL };
	const gchar *none[] = { missing, NULL };
	const gchar *names[] = { "skin", NULL };
	const gchar *no_names[] = { NULL };
	g_autoptr(PbmProfileStore) store = pbm_profile_store_load(dirs, NULL);
	g_autoptr(PbmProfileStore) empty = pbm_profile_store_load(none, NULL);

	assert_names(store, names);
	assert_int_equal(pbm_profile_store_get_problems(store)->len, 0);
	assert_int_equal(pbm_profile_store_get_notes(store)->len, 0);
	assert_names(empty, no_names);
	assert_null(pbm_profile_store_lookup(empty, "skin"));
	assert_int_equal(pbm_profile_store_get_problems(empty)->len, 0);
}

static const GError *
problem_about(PbmProfileStore *store, const gchar *path)
{
	GPtrArray *problems = pbm_profile_store_get_problems(store);
	g_autofree gchar *prefix = g_strdup_printf("%s: ", path);

	for (guint i = 0; i < problems->len; i++) {
		const GError *e = g_ptr_array_index(problems, i);
		if (g_str_has_prefix(e->message, prefix))
			return e;
	}
	fail_msg("no problem names %s", path);
	return NULL;
}

static void
assert_untrusted(PbmProfileStore *store, const gchar *path, const gchar *says, const gchar *fix)
{
	const GError *e = problem_about(store, path);

	if (e == NULL)
		return;
	assert_true(g_error_matches(e, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_UNTRUSTED));
	assert_non_null(strstr(e->message, says));
	assert_non_null(strstr(e->message, fix));
}

/* A profile decides how much light goes into someone: pbmd believes only
 * files and directories that no one but their owner, root or pbmd's own
 * user, can change. */
static void
test_store_untrusted(void **state)
{
	Dirs *d = *state;
	g_autofree gchar *skin = write_file(d->dirs[0], "skin.conf", PROFILE("skin", "S"), -1);
	g_autofree gchar *grp = write_file(d->dirs[0], "grp.conf", PROFILE("grp", "G"), -1);
	g_autofree gchar *all = write_file(d->dirs[0], "all.conf", PROFILE("all", "A"), -1);
	g_autofree gchar *joint = write_file(d->dirs[1], "joint.conf", PROFILE("joint", "J"), -1);
	g_autofree gchar *fix_grp = g_strdup_printf("chmod go-w %s", grp);
	g_autofree gchar *fix_dir = g_strdup_printf("chmod go-w %s", d->dirs[1]);
	g_autofree gchar *fix_owner = g_strdup_printf("chown root: %s", d->dirs[0]);
	const gchar *names[] = { "skin", NULL };
	const gchar *no_names[] = { NULL };
	g_autoptr(PbmProfileStore) store = NULL;
	g_autoptr(PbmProfileStore) strangers = NULL;
	PbmFileTrust others = { .owners = { geteuid() + 1, geteuid() + 2 } };

	assert_int_equal(g_chmod(grp, 0664), 0);
	assert_int_equal(g_chmod(all, 0646), 0);
	assert_int_equal(g_chmod(d->dirs[1], 0777), 0);
	store = pbm_profile_store_load((const gchar *const *)d->dirs, NULL);
	assert_names(store, names);
	assert_int_equal(pbm_profile_store_get_problems(store)->len, 3);
	assert_untrusted(store, grp, "writable by its group (mode 0664)", fix_grp);
	assert_untrusted(store, all, "writable by everyone (mode 0646)", "chmod go-w");
	/* a directory others may write is skipped whole */
	assert_untrusted(store, d->dirs[1], "writable by everyone (mode 0777)", fix_dir);
	/* and StartSession says why, not just that there is no such profile */
	assert_non_null(g_hash_table_lookup(pbm_profile_store_get_skipped(store), "grp"));

	/* owned by someone pbmd does not trust */
	assert_int_equal(g_chmod(d->dirs[1], 0700), 0);
	strangers = pbm_profile_store_load((const gchar *const *)d->dirs, &others);
	assert_names(strangers, no_names);
	assert_untrusted(strangers, d->dirs[0], "owned by uid", fix_owner);
}

int
main(void)
{
	const struct CMUnitTest store_tests[] = {
		cmocka_unit_test(test_table_size),
		cmocka_unit_test_setup_teardown(test_store_override, dirs_setup, dirs_teardown),
		cmocka_unit_test_setup_teardown(test_store_broken_override, dirs_setup,
		                                dirs_teardown),
		cmocka_unit_test_setup_teardown(test_store_bad_does_not_stop_others, dirs_setup,
		                                dirs_teardown),
		cmocka_unit_test_setup_teardown(test_store_ignores_other_files, dirs_setup,
		                                dirs_teardown),
		cmocka_unit_test_setup_teardown(test_store_bad_file_name, dirs_setup,
		                                dirs_teardown),
		cmocka_unit_test_setup_teardown(test_store_missing_dir, dirs_setup, dirs_teardown),
		cmocka_unit_test_setup_teardown(test_store_untrusted, dirs_setup, dirs_teardown),
	};
	gsize n_rows = G_N_ELEMENTS(bad_profiles);
	gsize n = n_rows + G_N_ELEMENTS(store_tests);
	g_autofree struct CMUnitTest *tests = g_new0(struct CMUnitTest, n);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);

	/* One test case per row, named after it, so TAP reports each. */
	for (gsize i = 0; i < n_rows; i++) {
		gchar *name = g_strdup_printf("bad-profile/%s", bad_profiles[i].id);
		g_ptr_array_add(names, name);
		tests[i].name = name;
		tests[i].test_func = test_bad_profile;
		tests[i].setup_func = row_setup;
		tests[i].teardown_func = row_teardown;
		tests[i].initial_state = (void *)&bad_profiles[i];
	}
	memcpy(tests + n_rows, store_tests, sizeof(store_tests));
	return _cmocka_run_group_tests("profile-errors", tests, n, NULL, NULL);
}
