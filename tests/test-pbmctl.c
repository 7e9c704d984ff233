/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The real pbmctl against the real pbmd on a private system-style bus:
 * text and JSON output, exit codes for each outcome, --wait through a
 * whole session, Ctrl-C during --wait, status --follow through a session
 * and restarts of pbmd, pbmd not running, an unauthorized caller, and
 * profile check on good and bad files.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "pbm-test-fixture.h"

typedef struct {
	gint code;
	gchar *out;
	gchar *err;
} Result;

static void
result_clear(Result *r)
{
	g_clear_pointer(&r->out, g_free);
	g_clear_pointer(&r->err, g_free);
}

/* Runs pbmctl --address BUS ARGS...; as the fixture's caller when asked. */
static Result
pbmctl_as(PbmFixture *f, gboolean as_caller, const gchar *first, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	Result r = { 0 };
	gint status = 0;
	va_list args;

	g_ptr_array_add(argv, (gpointer)g_getenv("PBMCTL_BINARY"));
	g_ptr_array_add(argv, (gpointer) "--address");
	g_ptr_array_add(argv, (gpointer)pbm_test_bus_get_address(f->bus));
	va_start(args, first);
	for (const gchar *a = first; a != NULL; a = va_arg(args, const gchar *))
		g_ptr_array_add(argv, (gpointer)a);
	va_end(args);
	g_ptr_array_add(argv, NULL);
	if (!g_spawn_sync("/", (gchar **)argv->pdata, NULL, G_SPAWN_DEFAULT,
	                  as_caller ? pbm_fixture_become_caller : NULL, NULL, &r.out, &r.err,
	                  &status, &error))
		fail_msg("%s", error->message);
	assert_true(WIFEXITED(status));
	r.code = WEXITSTATUS(status);
	print_message("# pbmctl %s -> %d\n", first, r.code);
	return r;
}

#define pbmctl(f, ...) pbmctl_as(f, FALSE, __VA_ARGS__, NULL)

static JsonNode *
parse_json(const gchar *text)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;

	if (!json_parser_load_from_data(parser, text, -1, &error))
		fail_msg("not JSON: %s: %s", error->message, text);
	return json_node_copy(json_parser_get_root(parser));
}

static void
assert_contains(const gchar *haystack, const gchar *needle)
{
	if (haystack == NULL)
		fail_msg("no output; expected '%s'", needle);
	else if (strstr(haystack, needle) == NULL)
		fail_msg("'%s' does not contain '%s'", haystack, needle);
}

/* ---- tests ---- */

static void
test_reading_commands(void **state)
{
	PbmFixture *f = *state;
	Result r;

	pbm_fixture_spawn(f, NULL);
	r = pbmctl(f, "status");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "idle");
	result_clear(&r);

	r = pbmctl(f, "--json", "status");
	assert_int_equal(r.code, 0);
	{
		g_autoptr(JsonNode) root = parse_json(r.out);
		JsonObject *o = json_node_get_object(root);
		assert_string_equal(json_object_get_string_member(o, "state"), "idle");
		assert_int_equal(json_object_get_int_member(o, "panels"), 1);
		assert_true(json_object_get_null_member(o, "session"));
		/* small enough for a status bar every few seconds */
		assert_true(strlen(r.out) < 200);
	}
	result_clear(&r);

	r = pbmctl(f, "panels");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "SIM0001");
	result_clear(&r);
	r = pbmctl(f, "--json", "panels");
	{
		g_autoptr(JsonNode) root = parse_json(r.out);
		assert_int_equal(json_array_get_length(json_node_get_array(root)), 1);
	}
	result_clear(&r);

	r = pbmctl(f, "profiles");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "back-pain");
	assert_contains(r.out, "10 min");
	result_clear(&r);
	r = pbmctl(f, "--json", "profiles");
	{
		g_autoptr(JsonNode) root = parse_json(r.out);
		assert_int_equal(json_array_get_length(json_node_get_array(root)), 6);
	}
	result_clear(&r);

	r = pbmctl(f, "profile", "show", "recovery");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "nir-dose");
	result_clear(&r);
	r = pbmctl(f, "--json", "profile", "show", "recovery");
	{
		g_autoptr(JsonNode) root = parse_json(r.out);
		assert_string_equal(
		        json_object_get_string_member(json_node_get_object(root), "name"),
		        "recovery");
	}
	result_clear(&r);

	r = pbmctl(f, "profile", "show", "nope");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "no profile \"nope\"");
	result_clear(&r);

	r = pbmctl(f, "identify");
	assert_int_equal(r.code, 0);
	result_clear(&r);
	r = pbmctl(f, "bogus");
	assert_int_equal(r.code, 2);
	result_clear(&r);

	/* --follow is status's alone, and takes nothing more */
	r = pbmctl(f, "status", "--follow", "extra");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "unexpected argument \"extra\"");
	result_clear(&r);
	r = pbmctl(f, "status", "--bogus");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "--bogus");
	result_clear(&r);
	r = pbmctl(f, "panels", "--follow");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "--follow is for pbmctl status");
	result_clear(&r);
	r = pbmctl(f, "stop", "now");
	assert_int_equal(r.code, 2);
	result_clear(&r);
	r = pbmctl(f, "identify", "--follow");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "unexpected argument \"--follow\"");
	result_clear(&r);
}

static void
test_start_wait_completed_and_history(void **state)
{
	PbmFixture *f = *state;
	Result r;

	pbm_fixture_spawn(f, NULL);
	r = pbmctl(f, "start", "demo", "--wait");
	assert_int_equal(r.code, 0);
	/* not a terminal: one line per step */
	assert_contains(r.out, "step warm-up");
	assert_contains(r.out, "step red-and-nir");
	assert_contains(r.out, "step cool-down");
	assert_contains(r.out, "demo: completed");
	result_clear(&r);

	r = pbmctl(f, "history");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "completed");
	result_clear(&r);
	r = pbmctl(f, "--json", "history", "--limit", "5");
	{
		g_autoptr(JsonNode) root = parse_json(r.out);
		JsonArray *rows = json_node_get_array(root);
		assert_int_equal(json_array_get_length(rows), 1);
		assert_string_equal(json_object_get_string_member(
		                            json_array_get_object_element(rows, 0), "outcome"),
		                    "completed");
	}
	result_clear(&r);
	r = pbmctl(f, "history", "--since", "yesterday");
	assert_int_equal(r.code, 2);
	result_clear(&r);
}

static void
test_stop_pause_and_exit_codes(void **state)
{
	PbmFixture *f = *state;
	Result r;

	pbm_fixture_spawn(f, NULL);
	r = pbmctl(f, "stop");
	assert_int_equal(r.code, 1); /* nothing to stop */
	assert_contains(r.err, "no session is running");
	result_clear(&r);
	r = pbmctl(f, "start", "demo");
	assert_int_equal(r.code, 0);
	result_clear(&r);
	r = pbmctl(f, "start", "skin");
	assert_int_equal(r.code, 6); /* busy: refused */
	result_clear(&r);
	r = pbmctl(f, "pause");
	assert_int_equal(r.code, 0);
	result_clear(&r);
	r = pbmctl(f, "--json", "status");
	assert_contains(r.out, "\"state\":\"paused\"");
	result_clear(&r);
	r = pbmctl(f, "resume");
	assert_int_equal(r.code, 0);
	result_clear(&r);
	r = pbmctl(f, "stop");
	assert_int_equal(r.code, 0);
	result_clear(&r);
	r = pbmctl(f, "start", "nope");
	assert_int_equal(r.code, 2);
	result_clear(&r);
	/* 0 cm is a distance asked for, not "the profile's": refused */
	r = pbmctl(f, "start", "demo", "--distance", "0");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "distance_cm must be");
	result_clear(&r);
}

static void
test_refused_by_limit(void **state)
{
	PbmFixture *f = *state;
	Result r;

	pbm_fixture_write_config(f, "max_session = \"20s\";");
	pbm_fixture_spawn(f, NULL);
	r = pbmctl(f, "start", "demo", "--wait");
	assert_int_equal(r.code, 6);
	assert_contains(r.err, "limits.max_session");
	result_clear(&r);
	r = pbmctl(f, "--json", "start", "demo");
	assert_int_equal(r.code, 6);
	{
		g_autoptr(JsonNode) root = parse_json(r.out);
		assert_int_equal(
		        json_object_get_int_member(json_node_get_object(root), "exit_code"), 6);
	}
	result_clear(&r);
}

/* The last row of `pbmctl --json history`. */
static JsonObject *
last_history_row(PbmFixture *f, JsonNode **root)
{
	Result r = pbmctl(f, "--json", "history");
	JsonArray *rows;

	assert_int_equal(r.code, 0);
	*root = parse_json(r.out);
	result_clear(&r);
	rows = json_node_get_array(*root);
	assert_true(json_array_get_length(rows) > 0);
	return json_array_get_object_element(rows, json_array_get_length(rows) - 1);
}

/* A timed step with a ramp, then a dose-ended one: the prescription of
 * both bands, as mW/cm2 and J/cm2. */
static const gchar rx_profile[] =
        "name = \"rx\"; title = \"Prescription\"; distance_cm = 15.0;\n"
        "steps = (\n"
        "  { name = \"both\"; duration = 3; irradiance_red = 20; irradiance_nir = 20; "
        "ramp_s = 1; },\n"
        "  { name = \"to-dose\"; dose_nir = 0.06; irradiance_nir = 25; irradiance_red = 15; }\n"
        ");\n";

/* The same prescription on a standard panel (36/34 mW/cm2 at 15 cm) and on
 * one three times as strong delivers the same dose per band, as measured
 * from each panel's own reports. */
static void
test_prescription_same_dose_on_any_panel(void **state)
{
	PbmFixture *f = *state;
	gdouble dose[2][2];
	Result r;

	pbm_fixture_spawn_models(f, "standard,high");
	for (guint i = 0; i < 2; i++) {
		g_autoptr(JsonNode) root = NULL;
		JsonObject *row;

		r = pbmctl(f, "start", "rx", "--panel", i == 0 ? "SIM0001" : "SIM0002", "--wait");
		assert_int_equal(r.code, 0);
		result_clear(&r);
		row = last_history_row(f, &root);
		assert_string_equal(json_object_get_string_member(row, "outcome"), "completed");
		dose[i][0] = json_object_get_double_member(row, "dose_red");
		dose[i][1] = json_object_get_double_member(row, "dose_nir");
		print_message("# panel %u: red %.5f, nir %.5f J/cm2\n", i + 1, dose[i][0],
		              dose[i][1]);
	}
	for (guint band = 0; band < 2; band++)
		assert_float_equal(dose[0][band], dose[1][band], dose[0][band] * 0.01);
	/* red: 20 over 3 s less half the 1 s ramp, then 15 while NIR gets its
	 * 0.06 J/cm2 at 25 (2.4 s); NIR: 20 over 2.5 s, then 0.06 */
	assert_float_equal(dose[1][0], (20 * 2.5 + 15 * 2.4) / 1000, 0.002);
	assert_float_equal(dose[1][1], 20 * 2.5 / 1000 + 0.06, 0.002);
}

/* A panel too weak for a prescription is refused, saying what it gives;
 * the list of profiles says so before anyone tries. */
static void
test_weak_panel_refused(void **state)
{
	PbmFixture *f = *state;
	Result r;

	pbm_fixture_spawn_models(f, "low");
	r = pbmctl(f, "start", "back-pain");
	assert_int_equal(r.code, 6);
	assert_contains(r.err, "panel SIM0001: step \"deep\" prescribes 16.7 mW/cm² of nir at "
	                       "15.0 cm, but this panel gives at most 10.0 mW/cm² of it there");
	result_clear(&r);
	r = pbmctl(f, "profiles");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "(cannot run on panel SIM0001: step \"deep\" prescribes");
	/* a percentage runs anywhere, and says its dose depends on the panel */
	assert_contains(r.out, "(on panel SIM0001; depends on the panel)");
	result_clear(&r);
}

/* 30 mW/cm2 of NIR for 5 min gives unprotected eyes 1.2 times the IEC
 * 62471 limit: refused without --goggles; with it the session runs, pbmd's
 * warning reaches stderr (not a terminal here) and the Session's Warnings,
 * and the history records the acknowledgement. */
static const gchar bright_profile[] =
        "name = \"bright\"; title = \"Bright NIR\"; distance_cm = 15.0;\n"
        "steps = ( { name = \"nir\"; duration = \"5m\"; irradiance_nir = 30; } );\n";

static void
test_eye_limit_and_goggles(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(GVariant) warnings = NULL;
	Result r;

	pbm_fixture_spawn(f, NULL);
	r = pbmctl(f, "start", "bright");
	assert_int_equal(r.code, 6);
	assert_contains(r.err, "1.2 times the IEC 62471 limit of 74912 J/m²");
	assert_contains(r.err, "pbmctl start --goggles");
	result_clear(&r);
	r = pbmctl(f, "profiles");
	assert_contains(r.out, "goggles needed: 1.2x the eye limit");
	result_clear(&r);

	r = pbmctl(f, "start", "bright", "--goggles");
	assert_int_equal(r.code, 0);
	assert_contains(r.err, "WARNING: goggles: this session gives the eyes 1.2 times the IEC "
	                       "62471 near-infrared limit at 15.0 cm");
	result_clear(&r);
	warnings = pbm_fixture_property(f, PBM_DBUS_PATH_SESSION "/1", PBM_DBUS_INTERFACE_SESSION,
	                                "Warnings");
	assert_int_equal(g_variant_n_children(warnings), 1);
	/* and status shows them, for a status bar's tooltip */
	r = pbmctl(f, "--json", "status");
	assert_int_equal(r.code, 0);
	{
		g_autoptr(JsonNode) status = parse_json(r.out);
		JsonObject *o = json_node_get_object(status);
		JsonArray *shown = json_object_get_array_member(
		        json_object_get_object_member(o, "session"), "warnings");
		assert_int_equal(json_array_get_length(shown), 1);
		assert_true(g_str_has_prefix(json_array_get_string_element(shown, 0),
		                             "goggles: this session gives the eyes 1.2 times"));
		assert_contains(json_object_get_string_member(o, "tooltip"), "WARNING: goggles");
	}
	result_clear(&r);
	r = pbmctl(f, "stop");
	assert_int_equal(r.code, 0);
	result_clear(&r);
	assert_true(json_object_get_boolean_member(last_history_row(f, &root), "goggles"));
}

static void
test_ctrl_c_stops(void **state)
{
	PbmFixture *f = *state;
	const gchar *argv[] = {
		g_getenv("PBMCTL_BINARY"), "--address", NULL, "start", "back-pain", "--wait", NULL
	};
	g_autoptr(GError) error = NULL;
	GPid pid;
	gint err_fd, status = 0;
	gchar buf[4096] = { 0 };
	ssize_t n;

	pbm_fixture_spawn(f, NULL);
	argv[2] = pbm_test_bus_get_address(f->bus);
	/* its progress lines would break the TAP stream */
	assert_true(g_spawn_async_with_pipes("/", (gchar **)argv, NULL,
	                                     G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
	                                     NULL, NULL, &pid, NULL, NULL, &err_fd, &error));
	g_usleep(1500 * 1000);
	kill(pid, SIGINT);
	waitpid(pid, &status, 0);
	n = read(err_fd, buf, sizeof(buf) - 1);
	close(err_fd);
	g_spawn_close_pid(pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "interrupted: the session was stopped"));
	{
		Result r = pbmctl(f, "--json", "history");
		assert_contains(r.out, "\"outcome\":\"stopped\"");
		result_clear(&r);
	}
}

/* pbmctl start --wait talks to the pbmd that runs its session. When that
 * pbmd stops (systemctl stop), pbmctl's next call must not D-Bus-activate
 * another: that cancels the stop job and starts pbmd again (the full-system
 * test saw it). pbmctl is frozen while pbmd stops, so that its next call
 * comes after pbmd has left the bus; the activatable "pbmd" here only leaves
 * a mark. */
static void
test_wait_does_not_activate_pbmd_again(void **state)
{
	PbmFixture *f = *state;
	const gchar *argv[] = {
		g_getenv("PBMCTL_BINARY"), "--address", NULL, "start", "demo", "--wait", NULL
	};
	g_autofree gchar *mark = g_build_filename(f->dir, "activated", NULL);
	g_autofree gchar *service = g_build_filename(pbm_test_bus_get_dir(f->bus), "services",
	                                             "org.pbmd.service", NULL);
	g_autofree gchar *text = g_strdup_printf(
	        "[D-BUS Service]\nName=" PBM_DBUS_NAME "\nExec=/bin/sh -c 'echo >%s'\n", mark);
	g_autoptr(GError) error = NULL;
	GPid pid;
	gint status = 0;

	assert_true(g_file_set_contents(service, text, -1, &error));
	pbm_fixture_spawn(f, NULL);
	argv[2] = pbm_test_bus_get_address(f->bus);
	/* its progress lines would break the TAP stream */
	assert_true(g_spawn_async("/", (gchar **)argv, NULL,
	                          G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
	                                  G_SPAWN_STDERR_TO_DEV_NULL,
	                          NULL, NULL, &pid, &error));
	assert_true(pbm_fixture_wait_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "State",
	                                      "running", PBM_FIXTURE_WAIT_MS));
	kill(pid, SIGSTOP);
	status = pbm_test_daemon_signal_and_wait(f->daemon, SIGTERM, PBM_FIXTURE_WAIT_MS);
	assert_true(WIFEXITED(status));
	kill(pid, SIGCONT);
	waitpid(pid, &status, 0);
	g_spawn_close_pid(pid);
	assert_true(WIFEXITED(status));
	assert_false(g_file_test(mark, G_FILE_TEST_EXISTS));
}

static void
test_monitor_and_reload(void **state)
{
	PbmFixture *f = *state;
	const gchar *argv[] = {
		g_getenv("PBMCTL_BINARY"), "--address", NULL, "--json", "monitor", NULL
	};
	g_autoptr(GError) error = NULL;
	GPid pid;
	gint out_fd, status = 0;
	g_autoptr(GString) seen = g_string_new(NULL);
	Result r;

	pbm_fixture_spawn(f, NULL);
	argv[2] = pbm_test_bus_get_address(f->bus);
	assert_true(g_spawn_async_with_pipes("/", (gchar **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
	                                     NULL, NULL, &pid, NULL, &out_fd, NULL, &error));
	g_usleep(500 * 1000);
	r = pbmctl(f, "start", "demo");
	result_clear(&r);
	r = pbmctl(f, "stop");
	result_clear(&r);
	g_usleep(500 * 1000);
	kill(pid, SIGINT);
	waitpid(pid, &status, 0);
	for (;;) {
		gchar buf[4096];
		ssize_t n = read(out_fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		g_string_append_len(seen, buf, n);
	}
	close(out_fd);
	g_spawn_close_pid(pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0); /* one JSON object per line */
	assert_contains(seen->str, "\"signal\":\"SessionStarted\"");
	assert_contains(seen->str, "\"signal\":\"SessionFinished\"");
	assert_contains(seen->str, "\"stopped\"");
	{
		g_auto(GStrv) lines = g_strsplit(g_strstrip(seen->str), "\n", -1);
		for (guint i = 0; lines[i] != NULL; i++)
			json_node_unref(parse_json(lines[i]));
	}

	pbm_fixture_grant_admin(f);
	r = pbmctl(f, "reload");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "reloaded");
	result_clear(&r);
}

/* ---- a pbmctl that runs on: status --follow ---- */

/* Its standard output read line by line, asynchronously, in a main
 * context of its own that runs while the test waits for a line. */
typedef struct {
	GSubprocess *proc;
	GDataInputStream *out;
	GMainContext *context;
	GCancellable *cancel;
	GQueue lines;     /* gchar *: read, not yet taken */
	gboolean reading; /* a read in flight */
	gboolean eof;
	gchar *last;    /* the last line taken */
	JsonNode *root; /* its JSON */
} Follower;

/* The one running, for the teardown when a test fails. */
static Follower *running_follower;

static void follower_read(Follower *fl);

static void
on_follower_line(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Follower *fl = user_data;
	g_autoptr(GError) error = NULL;
	gchar *line = g_data_input_stream_read_line_finish_utf8(G_DATA_INPUT_STREAM(source), res,
	                                                        NULL, &error);

	fl->reading = FALSE;
	if (line == NULL) {
		if (error != NULL && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			print_message("# reading pbmctl: %s\n", error->message);
		fl->eof = TRUE;
		return;
	}
	g_queue_push_tail(&fl->lines, line);
	follower_read(fl);
}

static void
follower_read(Follower *fl)
{
	if (fl->reading || fl->eof)
		return;
	fl->reading = TRUE;
	g_main_context_push_thread_default(fl->context);
	g_data_input_stream_read_line_async(fl->out, G_PRIORITY_DEFAULT, fl->cancel,
	                                    on_follower_line, fl);
	g_main_context_pop_thread_default(fl->context);
}

/* pbmctl --address BUS ARGS..., its stderr kept for follower_stop(). */
static Follower *
follower_start(PbmFixture *f, const gchar *first, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	Follower *fl = g_new0(Follower, 1);
	va_list args;

	g_ptr_array_add(argv, (gpointer)g_getenv("PBMCTL_BINARY"));
	g_ptr_array_add(argv, (gpointer) "--address");
	g_ptr_array_add(argv, (gpointer)pbm_test_bus_get_address(f->bus));
	va_start(args, first);
	for (const gchar *a = first; a != NULL; a = va_arg(args, const gchar *))
		g_ptr_array_add(argv, (gpointer)a);
	va_end(args);
	g_ptr_array_add(argv, NULL);
	fl->proc = g_subprocess_newv(
	        (const gchar *const *)argv->pdata,
	        G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
	if (fl->proc == NULL)
		fail_msg("%s", error->message);
	fl->out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(fl->proc));
	fl->context = g_main_context_new();
	fl->cancel = g_cancellable_new();
	g_queue_init(&fl->lines);
	running_follower = fl;
	return fl;
}

static void
follower_free(Follower *fl)
{
	g_cancellable_cancel(fl->cancel);
	while (fl->reading)
		g_main_context_iteration(fl->context, TRUE);
	if (g_subprocess_get_identifier(fl->proc) != NULL) {
		g_subprocess_force_exit(fl->proc);
		g_subprocess_wait(fl->proc, NULL, NULL);
	}
	g_queue_clear_full(&fl->lines, g_free);
	g_clear_pointer(&fl->root, json_node_unref);
	g_free(fl->last);
	g_object_unref(fl->cancel);
	g_object_unref(fl->out);
	g_main_context_unref(fl->context);
	g_object_unref(fl->proc);
	g_free(fl);
}

static gboolean
on_wait_over(gpointer user_data)
{
	*(gboolean *)user_data = TRUE;
	return G_SOURCE_REMOVE;
}

/* The next line; NULL at the end of the output or after timeout_ms. */
static gchar *
follower_next_line(Follower *fl, guint timeout_ms)
{
	gboolean over = FALSE;
	GSource *timeout = g_timeout_source_new(timeout_ms);

	g_source_set_callback(timeout, on_wait_over, &over, NULL);
	g_source_attach(timeout, fl->context);
	follower_read(fl);
	g_main_context_push_thread_default(fl->context);
	while (g_queue_is_empty(&fl->lines) && !fl->eof && !over)
		g_main_context_iteration(fl->context, TRUE);
	g_main_context_pop_thread_default(fl->context);
	g_source_destroy(timeout);
	g_source_unref(timeout);
	return g_queue_pop_head(&fl->lines);
}

/* The next line as a JSON object, valid until the next call; fails the
 * test when none comes in timeout_ms, when it is not one JSON object, or
 * when it repeats the line before. */
static JsonObject *
follower_next(Follower *fl, guint timeout_ms)
{
	g_autofree gchar *line = follower_next_line(fl, timeout_ms);

	if (line == NULL)
		fail_msg("pbmctl printed no line in %u ms%s", timeout_ms,
		         fl->eof ? ": its output ended" : "");
	if (g_strcmp0(line, fl->last) == 0)
		fail_msg("pbmctl printed the same line twice: %s", line);
	g_free(fl->last);
	fl->last = g_strdup(line);
	g_clear_pointer(&fl->root, json_node_unref);
	fl->root = parse_json(line);
	if (!JSON_NODE_HOLDS_OBJECT(fl->root))
		fail_msg("not a JSON object: %s", line);
	return json_node_get_object(fl->root);
}

typedef gboolean (*LineWanted)(JsonObject *o, gconstpointer data);

/* The first line that wanted accepts, within PBM_FIXTURE_WAIT_MS. */
static JsonObject *
follower_wait(Follower *fl, const gchar *what, LineWanted wanted, gconstpointer data)
{
	gint64 deadline = g_get_monotonic_time() + PBM_FIXTURE_WAIT_MS * G_TIME_SPAN_MILLISECOND;

	for (;;) {
		gint64 left = (deadline - g_get_monotonic_time()) / G_TIME_SPAN_MILLISECOND;
		JsonObject *o;

		if (left <= 0)
			fail_msg("no line with %s in %d ms; the last: %s", what,
			         PBM_FIXTURE_WAIT_MS, fl->last);
		o = follower_next(fl, (guint)left);
		if (wanted(o, data))
			return o;
	}
}

/* Signals pbmctl and waits for it: its wait status, with every line it
 * printed before checked as above and its stderr in *err. */
static gint
follower_stop(Follower *fl, gint signum, gchar **err)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) bytes = NULL;
	gchar *line;

	if (signum != 0)
		g_subprocess_send_signal(fl->proc, signum);
	if (!g_subprocess_wait(fl->proc, NULL, &error))
		fail_msg("%s", error->message);
	while ((line = follower_next_line(fl, PBM_FIXTURE_WAIT_MS)) != NULL) {
		g_queue_push_head(&fl->lines, line);
		follower_next(fl, PBM_FIXTURE_WAIT_MS);
	}
	assert_true(fl->eof);
	bytes = g_input_stream_read_bytes(g_subprocess_get_stderr_pipe(fl->proc), 65536, NULL,
	                                  &error);
	if (bytes == NULL)
		fail_msg("%s", error->message);
	*err = g_strndup(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
	return g_subprocess_get_status(fl->proc);
}

static gboolean
follower_running(Follower *fl)
{
	return g_subprocess_get_identifier(fl->proc) != NULL;
}

static int
follower_teardown(void **state)
{
	g_clear_pointer(&running_follower, follower_free);
	return pbm_fixture_teardown(state);
}

#define follower_test(test) \
	cmocka_unit_test_prestate_setup_teardown(test, pbm_fixture_setup, follower_teardown, NULL)

static const gchar *
string_member(JsonObject *o, const gchar *name)
{
	if (!json_object_has_member(o, name))
		fail_msg("no member \"%s\"", name);
	return json_object_get_string_member(o, name);
}

/* The line's session; NULL when it shows none. */
static JsonObject *
line_session(JsonObject *o)
{
	return json_object_get_null_member(o, "session")
	               ? NULL
	               : json_object_get_object_member(o, "session");
}

static gboolean
state_is(JsonObject *o, gconstpointer state)
{
	return g_str_equal(string_member(o, "state"), state);
}

static gboolean
session_running(JsonObject *o, gconstpointer unused)
{
	JsonObject *s = line_session(o);

	return s != NULL && state_is(o, "running") && state_is(s, "running");
}

static gboolean
progress_beyond(JsonObject *o, gconstpointer progress)
{
	JsonObject *s = line_session(o);

	return s != NULL &&
	       json_object_get_double_member(s, "progress") > *(const gdouble *)progress;
}

static gboolean
outcome_is(JsonObject *o, gconstpointer outcome)
{
	JsonObject *s = line_session(o);

	return s != NULL && g_str_equal(string_member(s, "outcome"), outcome);
}

/* The line a status bar shows when pbmd is not on the bus. */
static void
assert_no_daemon_line(JsonObject *o)
{
	assert_string_equal(string_member(o, "version"), "");
	assert_int_equal(json_object_get_int_member(o, "panels"), 0);
	assert_null(line_session(o));
	assert_string_equal(string_member(o, "text"), "pbmd not running");
	assert_string_equal(string_member(o, "class"), "no-daemon");
	assert_contains(string_member(o, "tooltip"), "systemctl start pbmd");
}

/* From idle through a session stopped, pbmd killed and started again, to
 * SIGTERM: a line at each change, never the same twice. */
static void
test_status_follow(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *err = NULL;
	Follower *fl;
	JsonObject *o, *s;
	gdouble progress;
	gint status;

	pbm_fixture_spawn(f, NULL);
	fl = follower_start(f, "status", "--follow", NULL);
	o = follower_next(fl, PBM_FIXTURE_WAIT_MS);
	assert_true(state_is(o, "idle"));
	assert_null(line_session(o));
	assert_int_equal(json_object_get_int_member(o, "panels"), 1);
	assert_string_equal(string_member(o, "text"), "idle");
	assert_string_equal(string_member(o, "class"), "idle");
	assert_contains(string_member(o, "tooltip"), "idle, 1 panel");

	g_free(pbm_fixture_start(f, "demo", NULL));
	o = follower_wait(fl, "the session running", session_running, NULL);
	s = line_session(o);
	assert_string_equal(string_member(s, "profile"), "demo");
	assert_string_equal(string_member(s, "outcome"), "");
	assert_string_equal(string_member(o, "class"), "running");
	assert_true(g_str_has_prefix(string_member(o, "text"), "demo "));
	assert_contains(string_member(o, "text"), " left");
	assert_contains(string_member(o, "tooltip"), "demo: running, step ");
	/* the demo lights NIR: pbmd warns about the eyes */
	assert_true(json_array_get_length(json_object_get_array_member(s, "warnings")) > 0);
	assert_contains(
	        json_array_get_string_element(json_object_get_array_member(s, "warnings"), 0),
	        "goggles");
	assert_contains(string_member(o, "tooltip"), "\nWARNING: goggles");
	progress = json_object_get_double_member(s, "progress");
	o = follower_wait(fl, "more progress", progress_beyond, &progress);
	assert_true(session_running(o, NULL));

	pbm_assert_reply(pbm_fixture_manager(f, "StopSession", NULL, &error));
	o = follower_wait(fl, "the outcome stopped", outcome_is, "stopped");
	/* the line waits for pbmd to be idle too, and stays */
	assert_true(state_is(o, "idle"));
	assert_true(state_is(line_session(o), "finished"));
	assert_string_equal(string_member(o, "text"), "demo stopped");
	assert_string_equal(string_member(o, "class"), "idle");

	status = pbm_test_daemon_signal_and_wait(f->daemon, SIGKILL, PBM_FIXTURE_WAIT_MS);
	assert_true(WIFSIGNALED(status));
	g_clear_pointer(&f->daemon, pbm_test_daemon_free);
	o = follower_wait(fl, "no daemon", state_is, "no-daemon");
	assert_no_daemon_line(o);
	assert_true(follower_running(fl));

	/* a new pbmd, with no session */
	pbm_fixture_spawn(f, NULL);
	o = follower_wait(fl, "pbmd idle again", state_is, "idle");
	assert_null(line_session(o));
	assert_string_equal(string_member(o, "version"), "0.1.0");

	status = follower_stop(fl, SIGTERM, &err);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(err, "");
}

/* Started before pbmd, it says so and waits; the bus going away ends it
 * with status 1. */
static void
test_status_follow_before_pbmd_and_bus_gone(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *err = NULL;
	Follower *fl = follower_start(f, "status", "--follow", NULL);
	JsonObject *o = follower_next(fl, PBM_FIXTURE_WAIT_MS);
	gint status;

	assert_true(state_is(o, "no-daemon"));
	assert_no_daemon_line(o);
	pbm_fixture_spawn(f, NULL);
	o = follower_wait(fl, "pbmd idle", state_is, "idle");
	assert_string_equal(string_member(o, "version"), "0.1.0");

	/* pbmd stopped as systemd stops it */
	status = pbm_test_daemon_signal_and_wait(f->daemon, SIGTERM, PBM_FIXTURE_WAIT_MS);
	assert_true(WIFEXITED(status));
	g_clear_pointer(&f->daemon, pbm_test_daemon_free);
	follower_wait(fl, "no daemon", state_is, "no-daemon");

	g_clear_object(&f->client);
	g_clear_pointer(&f->bus, pbm_test_bus_free);
	status = follower_stop(fl, 0, &err);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_contains(err, "pbmctl: lost the connection to the message bus");
}

static void
test_daemon_not_running(void **state)
{
	PbmFixture *f = *state;
	Result r = pbmctl(f, "status");

	assert_int_equal(r.code, 8);
	assert_contains(r.err, "pbmd is not running");
	assert_contains(r.err, "systemctl start pbmd");
	result_clear(&r);
}

static void
test_not_authorized(void **state)
{
	PbmFixture *f = *state;
	Result r;

	pbm_fixture_spawn(f, NULL);
	r = pbmctl_as(f, TRUE, "start", "demo", NULL);
	assert_int_equal(r.code, 7);
	/* the group pbmd.conf configures, not the default */
	assert_contains(r.err, "membership of the group " PBM_FIXTURE_NO_GROUP ",");
	assert_contains(r.err, "pbmctl: hint: root is allowed");
	result_clear(&r);
	/* reading is open */
	r = pbmctl_as(f, TRUE, "profiles", NULL);
	assert_int_equal(r.code, 0);
	result_clear(&r);
}

/* pbmd's messages speak the D-Bus API; pbmctl adds what to type. */
static void
test_error_hints(void **state)
{
	PbmFixture *f = *state;
	Result r;

	pbm_fixture_spawn(f, NULL);
	r = pbmctl(f, "profile", "show", "nope");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "pbmctl: there is no profile \"nope\"; ListProfiles lists");
	assert_contains(r.err, "\npbmctl: hint: pbmctl profiles lists them\n");
	result_clear(&r);
	r = pbmctl(f, "start", "nope");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "pbmctl: hint: pbmctl profiles lists them\n");
	result_clear(&r);

	r = pbmctl(f, "stop");
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "pbmctl: no session is running");
	assert_contains(r.err, "\npbmctl: hint: ");
	assert_contains(r.err, "start one with pbmctl start PROFILE\n");
	result_clear(&r);
	/* JSON on standard output stays as it was: the hint is for people */
	r = pbmctl(f, "--json", "pause");
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "pbmctl start PROFILE");
	{
		g_autoptr(JsonNode) root = parse_json(r.out);
		JsonObject *o = json_node_get_object(root);
		assert_int_equal(json_object_get_size(o), 2);
		assert_int_equal(json_object_get_int_member(o, "exit_code"), 1);
		assert_null(strstr(json_object_get_string_member(o, "error"), "pbmctl"));
	}
	result_clear(&r);

	r = pbmctl(f, "start", "demo", "--panel", "NOPE");
	assert_int_equal(r.code, 6);
	assert_contains(r.err, "pbmctl: hint: pbmctl panels lists them");
	result_clear(&r);
	r = pbmctl(f, "start", "demo");
	assert_int_equal(r.code, 0);
	assert_null(strstr(r.err, "hint"));
	result_clear(&r);
	r = pbmctl(f, "start", "skin");
	assert_int_equal(r.code, 6);
	assert_contains(r.err, "pbmctl: hint: pbmctl status shows it and pbmctl stop stops it");
	result_clear(&r);
	r = pbmctl(f, "stop");
	assert_int_equal(r.code, 0);
	result_clear(&r);
}

static void
test_profile_check(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *good = g_build_filename(f->dir, "mine.conf", NULL);
	g_autofree gchar *bad = g_build_filename(f->dir, "broken.conf", NULL);
	Result r;

	/* offline: no daemon needed */
	assert_true(g_file_set_contents(
	        good,
	        "name = \"mine\"; title = \"Mine\"; distance_cm = 20;\n"
	        "steps = ( { name = \"a\"; duration = \"5m\"; percent_red = 60; } );\n",
	        -1, NULL));
	assert_true(g_file_set_contents(
	        bad,
	        "name = \"broken\"; title = \"B\"; distance_cm = 20;\n"
	        "steps = ( { name = \"a\"; duration = \"5m\"; percent_red = 160; } );\n",
	        -1, NULL));
	r = pbmctl(f, "profile", "check", good);
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "valid");
	result_clear(&r);
	r = pbmctl(f, "profile", "check", bad);
	assert_int_equal(r.code, 2);
	assert_contains(r.err,
	                "broken.conf:2: percent_red: 160 % is out of range; allowed 0 to 100 %");
	result_clear(&r);
	r = pbmctl(f, "--json", "profile", "check", bad);
	assert_contains(r.out, "\"valid\":false");
	result_clear(&r);
}

int
main(void)
{
	static const PbmFixtureOptions outsiders = { .control_group = PBM_FIXTURE_NO_GROUP };
	static const gchar *const rx_files[] = { "rx", rx_profile, NULL };
	static const gchar *const bright_files[] = { "bright", bright_profile, NULL };
	static const PbmFixtureOptions rx = { .profiles = rx_files };
	static const PbmFixtureOptions bright = { .profiles = bright_files };
	const struct CMUnitTest tests[] = {
		pbm_fixture_test(test_reading_commands, NULL),
		pbm_fixture_test(test_start_wait_completed_and_history, NULL),
		pbm_fixture_test(test_stop_pause_and_exit_codes, NULL),
		pbm_fixture_test(test_refused_by_limit, NULL),
		pbm_fixture_test(test_prescription_same_dose_on_any_panel, &rx),
		pbm_fixture_test(test_weak_panel_refused, NULL),
		pbm_fixture_test(test_eye_limit_and_goggles, &bright),
		pbm_fixture_test(test_ctrl_c_stops, NULL),
		pbm_fixture_test(test_wait_does_not_activate_pbmd_again, NULL),
		pbm_fixture_test(test_monitor_and_reload, NULL),
		follower_test(test_status_follow),
		follower_test(test_status_follow_before_pbmd_and_bus_gone),
		pbm_fixture_test(test_daemon_not_running, NULL),
		pbm_fixture_test(test_not_authorized, &outsiders),
		pbm_fixture_test(test_error_hints, NULL),
		pbm_fixture_test(test_profile_check, NULL),
	};

	return cmocka_run_group_tests_name("pbmctl", tests, NULL, NULL);
}
