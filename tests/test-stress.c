/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The real pbmd under stress, through the real bus:
 *   battery  every method of Manager, Session and Panel called with bad
 *            arguments (wrong signatures, 1 MiB strings, variants nested to
 *            the D-Bus limit, unknown or mistyped options, NaN distances,
 *            objects that do not exist) and 10,000 pipelined bad calls: each
 *            gets a clear error, no panel lights, pbmd keeps serving and its
 *            RSS stays flat;
 *   load     50 clients, each on its own connection and thread, reading
 *            properties and listing profiles while a session runs on a panel
 *            emulated under umockdev: no call fails, the light stays on for
 *            the planned time within 10 ms (from the times the firmware
 *            model saw its output change), RSS flat;
 *   soak     one-second sessions back to back (the count is an argument):
 *            RSS and open fds flat after warm-up, every history row closed
 *            as completed.
 *   attacks  hostile local users (the caller: nobody under root), each an
 *            attacker process with 8 connections: calls that expect no
 *            reply, GetHistory floods, a slow reader that never reads its
 *            replies, calls carrying file descriptors, a 24 MB call, and
 *            SIGTERM during a flood: a session's lit time stays within
 *            10 ms of plan, StopSession darkens the panel within 250 ms,
 *            another client's Properties.Get p99 stays under 250 ms, RSS
 *            under pbmd.service's MemoryMax, fds flat, SIGTERM ends pbmd
 *            within 1 s.
 * Usage: test-stress battery | load | soak [SESSIONS] | attacks
 */
#include <math.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "pbm-mock-panel.h"
#include "pbm-profile.h"
#include "pbm-test-fixture.h"

#define MIB (1024 * 1024)
#define LONG_STRING (8 * 1024)
#define SIM_PANEL PBM_DBUS_PATH_PANEL "/SIM0001"
#define USB_PANEL PBM_DBUS_PATH_PANEL "/LOADPANEL"

/* pipelined calls in flight on one connection: pbmd serves 16 at once from
 * one client (pbmd(8), LIMITS) and answers more with Busy */
#define PIPELINE_WINDOW 16
#define RAPID_CALLS 10000
#define LOAD_CLIENTS 50
#define LOAD_PROFILE_S 2
/* the attackers: connections per attacker, calls per connection and round
 * (rounds 10 ms apart), 16 fds on a call (a bus's own limit per message) */
#define ATTACK_CONNECTIONS 8
#define ATTACK_BATCH 40
#define ATTACK_ROUNDS 2000
#define ATTACK_FDS_PER_CALL 16
#define ATTACK_BIG_OPTIONS 1000000
/* how long the fake polkit takes to answer, like a dialog nobody answers,
 * and the checks pbmd leaves waiting for one client (pbm-auth.h) */
#define ATTACK_POLKIT_DELAY_MS 3000
#define ATTACK_POLKIT_PER_SENDER 4
/* fds dbus-daemon queues toward one connection (max_outgoing_unix_fds),
 * and the call GDBus is reading */
#define ATTACK_FDS_QUEUED_MAX (64 + ATTACK_FDS_PER_CALL)
/* what issue 14 asks of pbmd under attack */
#define ATTACK_STOP_BOUND_US (250 * 1000)
/* instrumented: well before the firmware watchdog (3 s) would */
#define ATTACK_STOP_SLOW_BOUND_US (2000 * 1000)
/* A widget stays usable; the floods that made this issue took seconds. Under
 * the GetHistory flood the p99 is 50-65 ms on the 2-core machine, and one CI
 * run saw 112 ms against an earlier 100 ms bound. */
#define ATTACK_GET_P99_BOUND_US (250 * 1000)
/* pbmd's RSS under floods (it needs about 13 MiB), and after a 24 MB call:
 * GDBus parses a call whole before pbmd can refuse it, which takes about
 * 560 MiB for 1M options, and glibc keeps that heap (pbmd.service's
 * MemoryMax is 1 GiB) */
#define ATTACK_RSS_BOUND_KIB (64 * 1024)
#define ATTACK_RSS_MAX_KIB (1024 * 1024)
#define LOAD_ROUNDS 4
#define LOAD_WARMUP_ROUNDS 2
/* timing error allowed at the panel, planned vs actual lit time */
#define LOAD_TIMING_BOUND_US 10000
/* ASan and UBSan make pbmd two to three times slower on every call it
 * serves; the 10 ms promise is for the build people run. Under 50 clients the
 * sanitized light came on up to 36 ms late (one CI run in about ten). */
#define LOAD_TIMING_BOUND_SANITIZED_US 50000
/* RSS growth of pbmd allowed over the 10,000 bad calls (refusing an option
 * used to leak its value: +556 KiB), and over the load and the soak after
 * their warm-up */
#define RSS_BOUND_CALLS_KIB 256
#define RSS_BOUND_KIB 512
#define SOAK_WARMUP 10

static guint soak_sessions = 60;

/* ---- set-up ---- */

#define STRESS_PROFILE(name, seconds)                                               \
	"name = \"" name "\";\n"                                                    \
	"title = \"Stress (" G_STRINGIFY(                                           \
	        seconds) " s)\";\n"                                                 \
	                 "description = \"Dim red light for the stress tests.\";\n" \
	                 "distance_cm = 15.0;\n"                                    \
	                 "steps = ( { name = \"on\"; duration = \"" G_STRINGIFY(    \
	                         seconds) "s\"; percent_red = 10; } );\n"

static const gchar *const profiles[] = {
	"soak", STRESS_PROFILE("soak", 1), "load", STRESS_PROFILE("load", LOAD_PROFILE_S), NULL,
};

/* Sessions back to back: no gap (the fixture's), daily caps far above
 * what the tests deliver. */
#define STRESS_LIMITS "daily_dose_red = 500.0; daily_dose_nir = 500.0;"

/* pbmd with a simulated panel */
static const PbmFixtureOptions simulated = { .profiles = profiles, .limits = STRESS_LIMITS };
/* pbmd with the emulated USB panel, which the test plugs */
static const PbmFixtureOptions usb = { .usb = TRUE, .profiles = profiles, .limits = STRESS_LIMITS };

/* SIGTERM, as systemd stops it: pbmd exits 0 (under ASan, LeakSanitizer
 * checks it for leaks on the way out and fails the exit otherwise). */
static void
stop_daemon(PbmFixture *f)
{
	gint status = pbm_test_daemon_signal_and_wait(f->daemon, SIGTERM, 6 * PBM_FIXTURE_WAIT_MS);

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("pbmd did not exit cleanly on SIGTERM (wait status 0x%x)", status);
}

/* ---- what /proc says about pbmd ---- */

static guint64
rss_kib(PbmFixture *f)
{
	g_autofree gchar *path =
	        g_strdup_printf("/proc/%d/status", (int)pbm_test_daemon_get_pid(f->daemon));
	g_autofree gchar *text = NULL;
	const gchar *line;

	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	line = strstr(text, "\nVmRSS:");
	assert_non_null(line);
	return g_ascii_strtoull(line + strlen("\nVmRSS:"), NULL, 10);
}

/* "0:/dev/null 1:pipe:[123] ..." */
static gchar *
fd_list(PbmFixture *f)
{
	g_autofree gchar *path =
	        g_strdup_printf("/proc/%d/fd", (int)pbm_test_daemon_get_pid(f->daemon));
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	g_autoptr(GString) out = g_string_new(NULL);
	const gchar *name;

	assert_non_null(dir);
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *link = g_build_filename(path, name, NULL);
		g_autofree gchar *target = g_file_read_link(link, NULL);
		g_string_append_printf(out, "%s%s:%s", out->len > 0 ? " " : "", name,
		                       target != NULL ? target : "?");
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static guint
fd_count_now(PbmFixture *f)
{
	g_autofree gchar *path =
	        g_strdup_printf("/proc/%d/fd", (int)pbm_test_daemon_get_pid(f->daemon));
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	guint n = 0;

	assert_non_null(dir);
	while (g_dir_read_name(dir) != NULL)
		n++;
	return n;
}

/* pbmd opens a socket for a moment for each sd_notify(): the fewest fds it
 * has over 200 ms is what it keeps open. */
static guint
fd_count(PbmFixture *f)
{
	guint n = fd_count_now(f);

	for (guint i = 0; i < 4; i++) {
		g_usleep(50000);
		n = MIN(n, fd_count_now(f));
	}
	return n;
}

/* The size of pbmd's history, WAL included, read as a second reader. */
static gint64
history_bytes(PbmFixture *f)
{
	const gchar *path = f->history_db;
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	gint64 pages = -1, page_size = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db,
	                       "SELECT page_count, page_size FROM pragma_page_count, "
	                       "pragma_page_size",
	                       -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW) {
		pages = sqlite3_column_int64(stmt, 0);
		page_size = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	if (pages < 0)
		fail_msg("cannot read the size of %s", path);
	return pages * page_size;
}

/* meson test --setup memcheck runs pbmd under valgrind (PBMD_WRAPPER):
 * memcheck judges its memory then, and it runs far too slowly for timing
 * bounds. */
static gboolean
under_wrapper(void)
{
	const gchar *wrapper = g_getenv("PBMD_WRAPPER");

	return wrapper != NULL && wrapper[0] != '\0';
}

static gboolean
sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return TRUE;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return TRUE;
#else
	return FALSE;
#endif
#else
	return FALSE;
#endif
}

static gint64
timing_bound_us(void)
{
	return sanitized() ? LOAD_TIMING_BOUND_SANITIZED_US : LOAD_TIMING_BOUND_US;
}

/* ASan keeps freed memory in quarantine, so RSS grows by design there. */
static gboolean
rss_is_meaningful(void)
{
	if (under_wrapper())
		return FALSE;
#if defined(__SANITIZE_ADDRESS__)
	return FALSE;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return FALSE;
#else
	return TRUE;
#endif
#else
	return TRUE;
#endif
}

static void
assert_rss_flat(const gchar *what, guint64 before, guint64 after, guint bound_kib)
{
	print_message("# %s: pbmd RSS %" G_GUINT64_FORMAT " KiB before, %" G_GUINT64_FORMAT
	              " KiB after (%+" G_GINT64_FORMAT " KiB)\n",
	              what, before, after, (gint64)after - (gint64)before);
	if (!rss_is_meaningful()) {
		print_message("# %s: RSS bound not checked under ASan or valgrind\n", what);
		return;
	}
	if (after > before + bound_kib)
		fail_msg("%s: pbmd's RSS grew from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
		         " KiB (bound %u KiB)",
		         what, before, after, bound_kib);
}

/* ---- calls ---- */

static GVariant *
call(GDBusConnection *c, const gchar *path, const gchar *iface, const gchar *method, GVariant *args,
     GError **error)
{
	return pbm_test_call(c, path, iface, method, args, NULL, PBM_FIXTURE_WAIT_MS, error);
}

static gboolean
wait_string_property(PbmFixture *f, const gchar *path, const gchar *iface, const gchar *name,
                     const gchar *want, guint timeout_ms)
{
	gint64 until = g_get_monotonic_time() + timeout_ms * (gint64)1000;

	while (g_get_monotonic_time() < until) {
		g_autofree gchar *v = pbm_fixture_string_property(f, path, iface, name);
		if (g_str_equal(v, want))
			return TRUE;
		g_usleep(20000);
	}
	return FALSE;
}

static GVariant *
empty_options(void)
{
	return g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0);
}

static GVariant *
one_option(const gchar *key, GVariant *value)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", key, value);
	return g_variant_builder_end(&b);
}

/* ---- the battery ---- */

#define DBUS_INVALID_ARGS "org.freedesktop.DBus.Error.InvalidArgs"
#define DBUS_UNKNOWN_METHOD "org.freedesktop.DBus.Error.UnknownMethod"
#define DBUS_UNKNOWN_OBJECT "org.freedesktop.DBus.Error.UnknownObject"
/* error names as a client sees them: the contract, literal */
#define PBM_INVALID_ARGS "org.pbmd1.Error.InvalidArgs"

static guint n_bad, n_wrong;

/* A bad call answered as it should not be: noted, and the battery goes on
 * so that one run lists every such call. */
static void G_GNUC_PRINTF(1, 2) wrong(const gchar *format, ...)
{
	g_autofree gchar *text = NULL;
	va_list ap;

	va_start(ap, format);
	text = g_strdup_vprintf(format, ap);
	va_end(ap);
	print_message("# WRONG: %s\n", text);
	n_wrong++;
}

static void
assert_nothing_wrong(const gchar *part)
{
	if (n_wrong != 0)
		fail_msg(
		        "%s: %u bad calls were not answered with the right error (see WRONG above)",
		        part, n_wrong);
}

/* What a user sees of an error: its D-Bus name and a message that names
 * what was wrong. NULL-terminated needles must all be in the message, which
 * must stay short whatever the caller sent. */
static void
check_error(const gchar *what, GError *error, const gchar *name, ...)
{
	g_autofree gchar *remote = NULL;
	va_list ap;
	const gchar *needle;

	n_bad++;
	if (error == NULL) {
		wrong("%s: succeeded, but it should have failed with %s", what, name);
		return;
	}
	remote = g_dbus_error_get_remote_error(error);
	g_dbus_error_strip_remote_error(error);
	if (g_strcmp0(remote, name) != 0) {
		wrong("%s: expected %s, got %s: %.300s", what, name, remote, error->message);
		return;
	}
	/* pbmd's own messages stay short; GDBus's echo what they were given */
	if (g_str_has_prefix(name, PBM_DBUS_INTERFACE_PREFIX) && strlen(error->message) > 512) {
		wrong("%s: a %zu-byte error message: %.100s...", what, strlen(error->message),
		      error->message);
		return;
	}
	va_start(ap, name);
	while ((needle = va_arg(ap, const gchar *)) != NULL) {
		if (strstr(error->message, needle) == NULL) {
			wrong("%s: \"%s\" does not mention \"%s\"", what, error->message, needle);
			break;
		}
	}
	va_end(ap);
}

/* A bad call through g_dbus_connection_call; args is floating or NULL. */
#define BAD_CALL(f, what, path, iface, method, args, name, ...)                           \
	do {                                                                              \
		GError *error_ = NULL;                                                    \
		GVariant *reply_ = call((f)->client, path, iface, method, args, &error_); \
		if (reply_ != NULL) {                                                     \
			g_autofree gchar *s_ = g_variant_print(reply_, FALSE);            \
			g_variant_unref(reply_);                                          \
			n_bad++;                                                          \
			wrong("%s: answered %.200s", what, s_);                           \
		} else {                                                                  \
			check_error(what, error_, name, __VA_ARGS__, NULL);               \
		}                                                                         \
		g_clear_error(&error_);                                                   \
	} while (0)

/* The same sent as a raw message, so that the body can be anything. */
static GError *
raw_call(PbmFixture *f, const gchar *path, const gchar *iface, const gchar *method, GVariant *body)
{
	g_autoptr(GDBusMessage) msg =
	        g_dbus_message_new_method_call(PBM_DBUS_NAME, path, iface, method);
	g_autoptr(GDBusMessage) reply = NULL;
	GError *error = NULL;

	if (body != NULL)
		g_dbus_message_set_body(msg, body);
	reply = g_dbus_connection_send_message_with_reply_sync(
	        f->client, msg, G_DBUS_SEND_MESSAGE_FLAGS_NONE, PBM_FIXTURE_WAIT_MS, NULL, NULL,
	        &error);
	if (reply == NULL)
		return error;
	if (!g_dbus_message_to_gerror(reply, &error))
		return NULL;
	return error;
}

#define BAD_RAW(f, what, path, iface, method, body, name, ...)           \
	do {                                                             \
		GError *error_ = raw_call(f, path, iface, method, body); \
		check_error(what, error_, name, __VA_ARGS__, NULL);      \
		g_clear_error(&error_);                                  \
	} while (0)

typedef struct {
	guint lit;     /* panel State "lit" announced */
	guint started; /* SessionStarted */
} Watch;

static void
on_signal(GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
          const gchar *name, GVariant *params, gpointer user_data)
{
	Watch *w = user_data;

	if (g_str_equal(name, "SessionStarted")) {
		w->started++;
	} else if (g_str_equal(name, "PropertiesChanged") &&
	           g_str_has_prefix(path, PBM_DBUS_PATH_PANEL "/")) {
		g_autoptr(GVariant) changed = g_variant_get_child_value(params, 1);
		const gchar *st = NULL;
		if (g_variant_lookup(changed, "State", "&s", &st) && g_str_equal(st, "lit"))
			w->lit++;
	}
}

static void
drain_signals(void)
{
	while (g_main_context_iteration(NULL, FALSE))
		;
}

/* Nothing lit, no session: what a bad call must leave. */
static void
assert_dark(PbmFixture *f, Watch *w, guint sessions_expected)
{
	g_autofree gchar *panel_state =
	        pbm_fixture_string_property(f, SIM_PANEL, PBM_DBUS_INTERFACE_PANEL, "State");
	g_autofree gchar *state =
	        pbm_fixture_string_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "State");
	g_autoptr(GVariant) rows = pbm_fixture_history(f);

	/* the replies above came after any signal pbmd sent before them */
	drain_signals();
	assert_string_equal(panel_state, "idle");
	assert_string_equal(state, "idle");
	assert_int_equal(w->started, sessions_expected);
	assert_int_equal(w->lit, sessions_expected);
	assert_int_equal(g_variant_n_children(rows), sessions_expected);
}

static gchar *
filled_string(gchar c, gsize len)
{
	gchar *s = g_malloc(len + 1);

	memset(s, c, len);
	s[len] = '\0';
	return s;
}

static GVariant *
nested_variant(GVariant *inner, guint depth)
{
	for (guint i = 0; i < depth; i++)
		inner = g_variant_new_variant(inner);
	return inner;
}

static const gchar *const no_arg_methods[][3] = {
	{ PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "ListProfiles" },
	{ PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StopSession" },
	{ PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "PauseSession" },
	{ PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "ResumeSession" },
	{ PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "ReloadConfig" },
	{ SIM_PANEL, PBM_DBUS_INTERFACE_PANEL, "Identify" },
	{ SIM_PANEL, PBM_DBUS_INTERFACE_PANEL, "ClearFault" },
};

static void
battery_signatures(PbmFixture *f)
{
	/* methods without arguments, called with some */
	for (guint i = 0; i < G_N_ELEMENTS(no_arg_methods); i++) {
		const gchar *const *m = no_arg_methods[i];
		g_autofree gchar *what = g_strdup_printf("%s(\"x\")", m[2]);
		g_autofree gchar *what_raw = g_strdup_printf("%s(i, s) raw", m[2]);

		BAD_CALL(f, what, m[0], m[1], m[2], g_variant_new("(s)", "x"), DBUS_INVALID_ARGS,
		         "(s)", "()");
		BAD_RAW(f, what_raw, m[0], m[1], m[2], g_variant_new("(is)", 1, "x"),
		        DBUS_INVALID_ARGS, "(is)", "()");
	}
	/* methods with arguments: missing, extra, wrong types */
	BAD_CALL(f, "GetProfile()", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "GetProfile", NULL,
	         DBUS_INVALID_ARGS, "(s)");
	BAD_CALL(f, "GetProfile(i)", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "GetProfile",
	         g_variant_new("(i)", 7), DBUS_INVALID_ARGS, "(i)", "(s)");
	BAD_RAW(f, "GetProfile(ss) raw", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "GetProfile",
	        g_variant_new("(ss)", "demo", "demo"), DBUS_INVALID_ARGS, "(ss)", "(s)");
	BAD_RAW(f, "GetProfile(o) raw", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "GetProfile",
	        g_variant_new("(o)", "/demo"), DBUS_INVALID_ARGS, "(o)", "(s)");
	BAD_CALL(f, "StartSession()", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession",
	         NULL, DBUS_INVALID_ARGS, "(sa{sv})");
	BAD_CALL(f, "StartSession(s)", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession",
	         g_variant_new("(s)", "demo"), DBUS_INVALID_ARGS, "(s)", "(sa{sv})");
	BAD_CALL(f, "StartSession(sa{ss})", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	         "StartSession", g_variant_new_parsed("('demo', {'distance_cm': '15'})"),
	         DBUS_INVALID_ARGS, "(sa{ss})", "(sa{sv})");
	BAD_CALL(f, "StartSession(sv)", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession",
	         g_variant_new_parsed("('demo', <@a{sv} {}>)"), DBUS_INVALID_ARGS, "(sv)",
	         "(sa{sv})");
	BAD_RAW(f, "StartSession(a{sv}s) raw", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	        "StartSession", g_variant_new("(@a{sv}s)", empty_options(), "demo"),
	        DBUS_INVALID_ARGS, "(a{sv}s)", "(sa{sv})");
	BAD_RAW(f, "StartSession(sa{sv}s) raw", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	        "StartSession", g_variant_new("(s@a{sv}s)", "demo", empty_options(), "x"),
	        DBUS_INVALID_ARGS, "(sa{sv}s)", "(sa{sv})");
	BAD_RAW(f, "StartSession(o, a{sv}) raw", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	        "StartSession", g_variant_new("(o@a{sv})", "/demo", empty_options()),
	        DBUS_INVALID_ARGS, "(oa{sv})", "(sa{sv})");
	BAD_CALL(f, "EstimateSession()", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	         "EstimateSession", NULL, DBUS_INVALID_ARGS, "(sa{sv})");
	BAD_CALL(f, "EstimateSession(sa{ss})", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	         "EstimateSession", g_variant_new_parsed("('demo', {'distance_cm': '15'})"),
	         DBUS_INVALID_ARGS, "(sa{ss})", "(sa{sv})");
	BAD_RAW(f, "EstimateSession(o, a{sv}) raw", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	        "EstimateSession", g_variant_new("(o@a{sv})", "/demo", empty_options()),
	        DBUS_INVALID_ARGS, "(oa{sv})", "(sa{sv})");
	BAD_CALL(f, "GetHistory(ux)", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "GetHistory",
	         g_variant_new("(ux)", 0u, (gint64)0), DBUS_INVALID_ARGS, "(ux)", "(xu)");
	BAD_CALL(f, "GetHistory(x)", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "GetHistory",
	         g_variant_new("(x)", (gint64)0), DBUS_INVALID_ARGS, "(x)", "(xu)");
	BAD_RAW(f, "GetHistory(xi) raw", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "GetHistory",
	        g_variant_new("(xi)", (gint64)0, -1), DBUS_INVALID_ARGS, "(xi)", "(xu)");
	BAD_RAW(f, "GetHistory(dd) raw", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "GetHistory",
	        g_variant_new("(dd)", NAN, INFINITY), DBUS_INVALID_ARGS, "(dd)", "(xu)");
	/* the standard interfaces: GDBus answers a wrong signature there as if
	 * the interface were missing */
	BAD_CALL(f, "Properties.Get(s)", PBM_DBUS_PATH, "org.freedesktop.DBus.Properties", "Get",
	         g_variant_new("(s)", PBM_DBUS_INTERFACE_MANAGER), DBUS_UNKNOWN_METHOD,
	         "org.freedesktop.DBus.Properties");
	BAD_CALL(f, "Properties.GetAll(i)", SIM_PANEL, "org.freedesktop.DBus.Properties", "GetAll",
	         g_variant_new("(i)", 1), DBUS_UNKNOWN_METHOD, "org.freedesktop.DBus.Properties");
}

static void
battery_values(PbmFixture *f)
{
	/* Long enough for any argument check, short enough to reach them. */
	g_autofree gchar *huge = filled_string('a', LONG_STRING);
	g_autofree gchar *huge_key = filled_string('k', LONG_STRING);
	g_autofree gchar *mib = filled_string('m', MIB);
	const gdouble bad_distances[] = { NAN,
		                          -NAN,
		                          INFINITY,
		                          -INFINITY,
		                          -15.0,
		                          0.0,
		                          -0.0,
		                          PBM_PROFILE_DISTANCE_MIN_CM - 0.001,
		                          PBM_PROFILE_DISTANCE_MAX_CM + 0.001,
		                          1e308,
		                          4.9e-324,
		                          -1e-300 };
	g_autofree gchar *range = g_strdup_printf("%g to %g cm", PBM_PROFILE_DISTANCE_MIN_CM,
	                                          PBM_PROFILE_DISTANCE_MAX_CM);
	/* the last one is a profile name that looks like an object path */
	const gchar *bad_names[] = { "",       "../../etc/passwd", "Demo",          "demo ",
		                     "demo\n", "d\xc3\xa9mo",      "/org/pbmd/demo" };

	/* profile names */
	for (guint i = 0; i < G_N_ELEMENTS(bad_names); i++) {
		g_autofree gchar *what = g_strdup_printf("GetProfile(\"%s\")", bad_names[i]);
		BAD_CALL(f, what, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "GetProfile",
		         g_variant_new("(s)", bad_names[i]), PBM_INVALID_ARGS, "profile name",
		         "a-z");
		BAD_CALL(f, what, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession",
		         g_variant_new("(s@a{sv})", bad_names[i], empty_options()),
		         PBM_INVALID_ARGS, "profile name", "a-z");
		BAD_CALL(f, what, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "EstimateSession",
		         g_variant_new("(s@a{sv})", bad_names[i], empty_options()),
		         PBM_INVALID_ARGS, "profile name", "a-z");
	}
	BAD_CALL(f, "GetProfile(8 KiB)", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "GetProfile",
	         g_variant_new("(s)", huge), PBM_INVALID_ARGS, "profile name", "64");
	BAD_CALL(f, "StartSession(8 KiB)", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	         "StartSession", g_variant_new("(s@a{sv})", huge, empty_options()),
	         PBM_INVALID_ARGS, "profile name", "64");

	/* option keys and their values */
	BAD_CALL(f, "option with an 8 KiB key", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	         "StartSession",
	         g_variant_new("(s@a{sv})", "soak", one_option(huge_key, g_variant_new_int32(1))),
	         PBM_INVALID_ARGS, "panels", "distance_cm");
	BAD_CALL(f, "option colour", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession",
	         g_variant_new("(s@a{sv})", "soak",
	                       one_option("colour", g_variant_new_string("blue"))),
	         PBM_INVALID_ARGS, "colour", "panels", "distance_cm");
	BAD_CALL(f, "option \"\"", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession",
	         g_variant_new("(s@a{sv})", "soak", one_option("", g_variant_new_double(15))),
	         PBM_INVALID_ARGS, "panels", "distance_cm");
	BAD_CALL(f, "option Distance_cm", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession",
	         g_variant_new("(s@a{sv})", "soak",
	                       one_option("Distance_cm", g_variant_new_double(15))),
	         PBM_INVALID_ARGS, "Distance_cm", "distance_cm");
	BAD_CALL(f, "distance_cm as a string", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	         "StartSession",
	         g_variant_new("(s@a{sv})", "soak",
	                       one_option("distance_cm", g_variant_new_string("15"))),
	         PBM_INVALID_ARGS, "distance_cm", "(d)");
	BAD_CALL(f, "distance_cm as an int32", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	         "StartSession",
	         g_variant_new("(s@a{sv})", "soak",
	                       one_option("distance_cm", g_variant_new_int32(15))),
	         PBM_INVALID_ARGS, "distance_cm", "(d)");
	BAD_CALL(f, "distance_cm as a variant", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	         "StartSession",
	         g_variant_new(
	                 "(s@a{sv})", "soak",
	                 one_option("distance_cm", nested_variant(g_variant_new_double(15), 1))),
	         PBM_INVALID_ARGS, "distance_cm", "(d)");
	BAD_CALL(f, "panels as a string", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession",
	         g_variant_new("(s@a{sv})", "soak",
	                       one_option("panels", g_variant_new_string("SIM0001"))),
	         PBM_INVALID_ARGS, "panels", "(as)");
	BAD_CALL(f, "panels as object paths", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	         "StartSession",
	         g_variant_new(
	                 "(s@a{sv})", "soak",
	                 one_option("panels",
	                            g_variant_new_objv((const gchar *[]){ SIM_PANEL, NULL }, -1))),
	         PBM_INVALID_ARGS, "panels", "(as)");
	BAD_CALL(f, "panels as ai", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession",
	         g_variant_new("(s@a{sv})", "soak",
	                       one_option("panels", g_variant_new_parsed("[1, 2]"))),
	         PBM_INVALID_ARGS, "panels", "(as)");
	BAD_CALL(f, "panels empty", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession",
	         g_variant_new("(s@a{sv})", "soak",
	                       one_option("panels", g_variant_new_strv(NULL, 0))),
	         PBM_INVALID_ARGS, "panels", "1 to 16");
	{
		const gchar *many[18];
		for (guint i = 0; i < 17; i++)
			many[i] = "SIM0001";
		many[17] = NULL;
		BAD_CALL(f, "17 panels", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession",
		         g_variant_new("(s@a{sv})", "soak",
		                       one_option("panels", g_variant_new_strv(many, -1))),
		         PBM_INVALID_ARGS, "panels", "1 to 16");
	}
	/* a panel's object path where its serial belongs, and strings that
	 * cannot be a serial (1 to PBM_STRING_SERIAL_LEN characters) */
	{
		const gchar *bad_serials[] = { SIM_PANEL, "", huge };
		for (guint i = 0; i < G_N_ELEMENTS(bad_serials); i++) {
			g_autofree gchar *what =
			        g_strdup_printf("panels [\"%.40s\"]", bad_serials[i]);
			BAD_CALL(f, what, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession",
			         g_variant_new("(s@a{sv})", "soak",
			                       one_option("panels",
			                                  g_variant_new_strv(&bad_serials[i], 1))),
			         PBM_INVALID_ARGS, "panels", "serial");
		}
	}
	BAD_CALL(f, "panels [\"SIM0001/../x\"]", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	         "StartSession",
	         g_variant_new(
	                 "(s@a{sv})", "soak",
	                 one_option("panels",
	                            g_variant_new_strv((const gchar *[]){ "SIM0001/../x" }, 1))),
	         "org.pbmd1.Error.NoPanel", "SIM0001/../x", "Serial property");
	for (guint i = 0; i < G_N_ELEMENTS(bad_distances); i++) {
		g_autofree gchar *what = g_strdup_printf("distance_cm %g", bad_distances[i]);
		BAD_CALL(f, what, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession",
		         g_variant_new(
		                 "(s@a{sv})", "soak",
		                 one_option("distance_cm", g_variant_new_double(bad_distances[i]))),
		         PBM_INVALID_ARGS, "distance_cm", range);
		BAD_CALL(f, what, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "EstimateSession",
		         g_variant_new(
		                 "(s@a{sv})", "soak",
		                 one_option("distance_cm", g_variant_new_double(bad_distances[i]))),
		         PBM_INVALID_ARGS, "distance_cm", range);
	}

	/* variants nested as deep as the bus lets through: dbus-daemon allows
	 * 64 levels, and a{sv}, its dict entry and the option's own variant take
	 * three, so 61 more variants inside it is the deepest pbmd can get */
	BAD_CALL(f, "distance_cm nested at the limit", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	         "StartSession",
	         g_variant_new(
	                 "(s@a{sv})", "soak",
	                 one_option("distance_cm", nested_variant(g_variant_new_double(15), 61))),
	         PBM_INVALID_ARGS, "distance_cm", "(d)");
	BAD_CALL(f, "unknown option nested at the limit", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	         "StartSession",
	         g_variant_new("(s@a{sv})", "soak",
	                       one_option("deep", nested_variant(g_variant_new_double(15), 61))),
	         PBM_INVALID_ARGS, "deep", "panels", "distance_cm");
	/* one deeper: the bus drops the sender; pbmd never sees it */
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(GDBusConnection) c = pbm_test_bus_connect(f->bus, &error);
		g_autoptr(GVariant) reply = NULL;

		assert_non_null(c);
		reply = call(
		        c, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession",
		        g_variant_new("(s@a{sv})", "soak",
		                      one_option("distance_cm",
		                                 nested_variant(g_variant_new_double(15), 62))),
		        &error);
		assert_null(reply);
		assert_true(g_dbus_connection_is_closed(c));
	}

	/* GetHistory's limit */
	BAD_CALL(f, "GetHistory limit 101", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "GetHistory",
	         g_variant_new("(xu)", (gint64)0, 101u), PBM_INVALID_ARGS, "limit", "100",
	         "started_at + 1");
	BAD_CALL(f, "GetHistory limit G_MAXUINT32", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	         "GetHistory", g_variant_new("(xu)", (gint64)0, G_MAXUINT32), PBM_INVALID_ARGS,
	         "limit", "100");
	/* and what is fine there: limit 0 (the default), any since */
	{
		const gint64 since[] = { G_MININT64, -1, 0, G_MAXINT64 };
		for (guint i = 0; i < G_N_ELEMENTS(since); i++) {
			g_autoptr(GError) error = NULL;
			g_autoptr(GVariant) reply =
			        call(f->client, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
			             "GetHistory", g_variant_new("(xu)", since[i], 0u), &error);
			if (reply == NULL)
				fail_msg("GetHistory(%" G_GINT64_FORMAT ", 0): %s", since[i],
				         error->message);
		}
	}

	/* properties: unknown, read-only, on an unknown interface */
	BAD_CALL(f, "Get Nope", PBM_DBUS_PATH, "org.freedesktop.DBus.Properties", "Get",
	         g_variant_new("(ss)", PBM_DBUS_INTERFACE_MANAGER, "Nope"), DBUS_INVALID_ARGS,
	         "Nope");
	BAD_CALL(f, "Get on org.pbmd1.Nope", PBM_DBUS_PATH, "org.freedesktop.DBus.Properties",
	         "Get", g_variant_new("(ss)", PBM_DBUS_INTERFACE_PREFIX "Nope", "State"),
	         DBUS_INVALID_ARGS, PBM_DBUS_INTERFACE_PREFIX "Nope");
	BAD_CALL(f, "GetAll with an 8 KiB interface", PBM_DBUS_PATH,
	         "org.freedesktop.DBus.Properties", "GetAll", g_variant_new("(s)", huge),
	         DBUS_INVALID_ARGS, "interface");
	BAD_CALL(f, "Get with an 8 KiB name", SIM_PANEL, "org.freedesktop.DBus.Properties", "Get",
	         g_variant_new("(ss)", PBM_DBUS_INTERFACE_PANEL, huge), DBUS_INVALID_ARGS,
	         "property");

	/* larger than any valid call: refused before any argument is looked at */
	BAD_CALL(f, "StartSession(1 MiB)", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	         "StartSession", g_variant_new("(s@a{sv})", mib, empty_options()), PBM_INVALID_ARGS,
	         "1048", "bytes", "16384");
	BAD_CALL(f, "Get with a 1 MiB name", PBM_DBUS_PATH, "org.freedesktop.DBus.Properties",
	         "Get", g_variant_new("(ss)", PBM_DBUS_INTERFACE_MANAGER, mib), PBM_INVALID_ARGS,
	         "bytes", "16384");
}

static void
battery_objects(PbmFixture *f)
{
	const gchar *const missing[] = { PBM_DBUS_PATH_SESSION "/1", PBM_DBUS_PATH_SESSION "/999",
		                         PBM_DBUS_PATH_PANEL "/NOPE", PBM_DBUS_PATH "/nope", "/" };

	for (guint i = 0; i < G_N_ELEMENTS(missing); i++) {
		g_autofree gchar *what = g_strdup_printf("Stop on %s", missing[i]);
		g_autofree gchar *what2 = g_strdup_printf("Identify on %s", missing[i]);
		g_autofree gchar *what3 = g_strdup_printf("GetAll on %s", missing[i]);
		BAD_CALL(f, what, missing[i], PBM_DBUS_INTERFACE_SESSION, "Stop", NULL,
		         DBUS_UNKNOWN_METHOD, missing[i]);
		BAD_CALL(f, what2, missing[i], PBM_DBUS_INTERFACE_PANEL, "Identify", NULL,
		         DBUS_UNKNOWN_METHOD, missing[i]);
		BAD_CALL(f, what3, missing[i], "org.freedesktop.DBus.Properties", "GetAll",
		         g_variant_new("(s)", PBM_DBUS_INTERFACE_SESSION), DBUS_UNKNOWN_METHOD,
		         missing[i]);
	}
	BAD_CALL(f, "Manager.Frobnicate", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "Frobnicate",
	         NULL, DBUS_UNKNOWN_METHOD, "Frobnicate");
	BAD_CALL(f, "Manager.Stop on the Session interface", PBM_DBUS_PATH,
	         PBM_DBUS_INTERFACE_SESSION, "Stop", NULL, DBUS_UNKNOWN_METHOD,
	         PBM_DBUS_INTERFACE_SESSION);
	BAD_CALL(f, "Panel.Identify on the Manager", PBM_DBUS_PATH, PBM_DBUS_INTERFACE_PANEL,
	         "Identify", NULL, DBUS_UNKNOWN_METHOD, PBM_DBUS_INTERFACE_PANEL);
	/* GDBus finds no object when the interface is left out */
	BAD_RAW(f, "ListProfiles without an interface", PBM_DBUS_PATH, NULL, "ListProfiles", NULL,
	        DBUS_UNKNOWN_METHOD, PBM_DBUS_PATH);
}

/* Session methods on a session object that has ended. */
static void
battery_session(PbmFixture *f, const gchar *path)
{
	const gchar *const methods[] = { "Stop", "Pause", "Resume" };

	for (guint i = 0; i < G_N_ELEMENTS(methods); i++) {
		g_autofree gchar *what = g_strdup_printf("Session.%s(s)", methods[i]);
		g_autofree gchar *what_raw = g_strdup_printf("Session.%s(ao) raw", methods[i]);
		g_autofree gchar *what_ended = g_strdup_printf("Session.%s() ended", methods[i]);
		BAD_CALL(f, what, path, PBM_DBUS_INTERFACE_SESSION, methods[i],
		         g_variant_new("(s)", "x"), DBUS_INVALID_ARGS, "(s)", "()");
		BAD_RAW(f, what_raw, path, PBM_DBUS_INTERFACE_SESSION, methods[i],
		        g_variant_new_parsed("(@ao [],)"), DBUS_INVALID_ARGS, "(ao)", "()");
		BAD_CALL(f, what_ended, path, PBM_DBUS_INTERFACE_SESSION, methods[i], NULL,
		         "org.pbmd1.Error.NotRunning", "StartSession");
	}
	BAD_CALL(f, "Session.Set State", path, "org.freedesktop.DBus.Properties", "Set",
	         g_variant_new("(ssv)", PBM_DBUS_INTERFACE_SESSION, "State",
	                       g_variant_new_string("running")),
	         DBUS_INVALID_ARGS, "State");
	BAD_CALL(f, "Session.Set Elapsed with a string", path, "org.freedesktop.DBus.Properties",
	         "Set",
	         g_variant_new("(ssv)", PBM_DBUS_INTERFACE_SESSION, "Elapsed",
	                       g_variant_new_string("0")),
	         DBUS_INVALID_ARGS, "Elapsed");
}

/* ---- pipelined calls ---- */

typedef struct {
	guint sent;
	guint done;
	guint wrong; /* replies other than the expected error */
	gchar *first_wrong;
	gint64 worst_us;
} Pipeline;

typedef struct {
	Pipeline *p;
	gint64 sent_at;
	const gchar *want;
} Pending;

static void
pipelined_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Pending *pending = user_data;
	Pipeline *p = pending->p;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
	g_autofree gchar *remote = error != NULL ? g_dbus_error_get_remote_error(error) : NULL;

	p->worst_us = MAX(p->worst_us, g_get_monotonic_time() - pending->sent_at);
	if (g_strcmp0(remote, pending->want) != 0) {
		if (p->wrong++ == 0)
			p->first_wrong =
			        g_strdup_printf("expected %s, got %s", pending->want,
			                        error != NULL ? error->message : "a reply");
	}
	p->done++;
	g_free(pending);
}

/* One of a few bad calls, by number. */
static void
send_bad(PbmFixture *f, Pipeline *p, guint i)
{
	Pending *pending = g_new0(Pending, 1);
	const gchar *path = PBM_DBUS_PATH, *iface = PBM_DBUS_INTERFACE_MANAGER, *method;
	GVariant *args;

	switch (i % 6) {
	case 0:
		method = "GetProfile";
		args = g_variant_new("(s)", "../../etc/shadow");
		pending->want = PBM_INVALID_ARGS;
		break;
	case 1:
		method = "StartSession";
		args = g_variant_new("(s@a{sv})", "soak",
		                     one_option("distance_cm", g_variant_new_double(NAN)));
		pending->want = PBM_INVALID_ARGS;
		break;
	case 2:
		method = "StartSession";
		args = g_variant_new("(s@a{sv})", "soak",
		                     one_option("colour", g_variant_new_string("blue")));
		pending->want = PBM_INVALID_ARGS;
		break;
	case 3:
		method = "GetHistory";
		args = g_variant_new("(xu)", (gint64)0, G_MAXUINT32);
		pending->want = PBM_INVALID_ARGS;
		break;
	case 4:
		method = "StartSession";
		args = g_variant_new("(i)", (gint32)i);
		pending->want = DBUS_INVALID_ARGS;
		break;
	default:
		path = PBM_DBUS_PATH_SESSION "/424242";
		iface = PBM_DBUS_INTERFACE_SESSION;
		method = "Stop";
		args = NULL;
		pending->want = DBUS_UNKNOWN_METHOD;
		break;
	}
	pending->p = p;
	pending->sent_at = g_get_monotonic_time();
	g_dbus_connection_call(f->client, PBM_DBUS_NAME, path, iface, method, args, NULL,
	                       G_DBUS_CALL_FLAGS_NONE, PBM_FIXTURE_WAIT_MS * 6, NULL,
	                       pipelined_done, pending);
	p->sent++;
}

/* count calls, at most PIPELINE_WINDOW unanswered at any time */
static gdouble
pipeline(PbmFixture *f, guint count, Pipeline *p)
{
	gint64 t0 = g_get_monotonic_time();
	gint64 until = t0 + 300 * G_USEC_PER_SEC;

	while (p->done < count) {
		while (p->sent < count && p->sent - p->done < PIPELINE_WINDOW)
			send_bad(f, p, p->sent);
		g_main_context_iteration(NULL, TRUE);
		if (g_get_monotonic_time() > until)
			fail_msg("only %u of %u pipelined calls answered in 300 s", p->done, count);
	}
	return (g_get_monotonic_time() - t0) / 1e6;
}

static void
test_battery(void **state)
{
	PbmFixture *f = *state;
	Watch w = { 0 };
	guint sub;
	g_autofree gchar *path = NULL;
	Pipeline warm = { 0 }, rapid = { 0 };
	guint64 rss_before, rss_after;
	guint fds_before, fds_after;
	gdouble secs;

	pbm_fixture_spawn(f, NULL);
	sub = g_dbus_connection_signal_subscribe(f->client, PBM_DBUS_NAME, NULL, NULL, NULL, NULL,
	                                         G_DBUS_SIGNAL_FLAGS_NONE, on_signal, &w, NULL);
	battery_signatures(f);
	assert_dark(f, &w, 0);
	battery_values(f);
	assert_dark(f, &w, 0);
	battery_objects(f);
	assert_dark(f, &w, 0);
	assert_nothing_wrong("Manager and Panel");

	/* a session object that has ended */
	path = pbm_fixture_start(f, "soak", NULL);
	assert_true(wait_string_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Outcome",
	                                 "completed", PBM_FIXTURE_WAIT_MS));
	battery_session(f, path);
	assert_dark(f, &w, 1);
	assert_nothing_wrong("Session");
	print_message("# %u bad calls, each answered with a clear error\n", n_bad);

	/* 10,000 pipelined bad calls after 1,000 to warm up */
	pipeline(f, 1000, &warm);
	assert_int_equal(warm.wrong, 0);
	rss_before = rss_kib(f);
	fds_before = fd_count(f);
	secs = pipeline(f, RAPID_CALLS, &rapid);
	rss_after = rss_kib(f);
	fds_after = fd_count(f);
	if (rapid.wrong != 0)
		fail_msg("%u of %u pipelined calls: %s", rapid.wrong, RAPID_CALLS,
		         rapid.first_wrong);
	print_message("# %d pipelined bad calls (%d in flight) in %.2f s: %.0f calls/s, worst "
	              "%.1f ms\n",
	              RAPID_CALLS, PIPELINE_WINDOW, secs, RAPID_CALLS / secs,
	              rapid.worst_us / 1000.0);
	print_message("# pbmd fds %u before, %u after\n", fds_before, fds_after);
	assert_rss_flat("10000 bad calls", rss_before, rss_after, RSS_BOUND_CALLS_KIB);
	assert_int_equal(fds_after, fds_before);

	/* still serving, still dark */
	assert_dark(f, &w, 1);
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(GVariant) reply =
		        call(f->client, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "GetProfile",
		             g_variant_new("(s)", "soak"), &error);
		if (reply == NULL)
			fail_msg("GetProfile after the battery: %s", error->message);
	}
	g_dbus_connection_signal_unsubscribe(f->client, sub);
	g_free(warm.first_wrong);
	g_free(rapid.first_wrong);
	stop_daemon(f);
}

/* ---- load ---- */

typedef struct {
	GDBusConnection *connection;
	GThread *thread;
	guint calls;
	guint failures;
	gchar *first_failure;
	gint64 worst_us;
} Client;

typedef struct {
	Client clients[LOAD_CLIENTS];
	gint stop;
	gint not_niced;
	gchar *session_path; /* set once, atomically, while the clients run */
} Load;

static Load *load_of_client; /* the clients' shared state */

static void
client_call(Client *c, const gchar *path, const gchar *iface, const gchar *method, GVariant *args)
{
	g_autoptr(GError) error = NULL;
	gint64 t0 = g_get_monotonic_time();
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	        c->connection, PBM_DBUS_NAME, path, iface, method, args, NULL,
	        G_DBUS_CALL_FLAGS_NONE, 6 * PBM_FIXTURE_WAIT_MS, NULL, &error);

	c->worst_us = MAX(c->worst_us, g_get_monotonic_time() - t0);
	c->calls++;
	if (reply == NULL && c->failures++ == 0)
		c->first_failure =
		        g_strdup_printf("%s %s.%s: %s", path, iface, method, error->message);
}

static gpointer
client_thread(gpointer data)
{
	Client *c = data;
	const gchar *props = "org.freedesktop.DBus.Properties";

	/* The clients load pbmd, not the CPU it needs: at nice 19 they take
	 * what pbmd, the bus and the emulated panel leave. */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19) != 0)
		g_atomic_int_inc(&load_of_client->not_niced);
	for (guint i = 0; !g_atomic_int_get(&load_of_client->stop); i++) {
		const gchar *session = g_atomic_pointer_get(&load_of_client->session_path);
		switch (i % 7) {
		case 0:
			client_call(c, PBM_DBUS_PATH, props, "Get",
			            g_variant_new("(ss)", PBM_DBUS_INTERFACE_MANAGER, "State"));
			break;
		case 1:
			client_call(c, PBM_DBUS_PATH, props, "GetAll",
			            g_variant_new("(s)", PBM_DBUS_INTERFACE_MANAGER));
			break;
		case 2:
			client_call(c, USB_PANEL, props, "Get",
			            g_variant_new("(ss)", PBM_DBUS_INTERFACE_PANEL, "Temperature"));
			break;
		case 3:
			client_call(c, USB_PANEL, props, "GetAll",
			            g_variant_new("(s)", PBM_DBUS_INTERFACE_PANEL));
			break;
		case 4:
			client_call(c, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "ListProfiles",
			            NULL);
			break;
		case 5:
			if (session != NULL)
				client_call(c, session, props, "Get",
				            g_variant_new("(ss)", PBM_DBUS_INTERFACE_SESSION,
				                          "Elapsed"));
			break;
		default:
			if (session != NULL)
				client_call(c, session, props, "GetAll",
				            g_variant_new("(s)", PBM_DBUS_INTERFACE_SESSION));
			break;
		}
	}
	return NULL;
}

/* The lit time at the emulated panel, from the device times at which the
 * model saw its output change (the load profile has one step, no ramp: on,
 * then off). Polled about every millisecond; the count of changes tells
 * that none was missed. */
typedef struct {
	PbmFixture *f;
	GThread *thread;
	guint64 changes;
	guint64 on_at, off_at;
	gboolean missed;
	gint ready;
} Probe;

static guint64
output_changes(PbmFixture *f, guint64 *at, gboolean *lit)
{
	PbmSim *sim = pbm_mock_panel_lock_sim(f->panel);
	guint64 n = pbm_sim_get_output_changes(sim, at);

	if (lit != NULL)
		*lit = pbm_sim_is_lit(sim);
	pbm_mock_panel_unlock_sim(f->panel);
	return n;
}

static gpointer
probe_thread(gpointer data)
{
	Probe *p = data;
	gint64 until = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
	guint64 last = output_changes(p->f, NULL, NULL);

	g_atomic_int_set(&p->ready, 1);
	while (g_get_monotonic_time() < until) {
		guint64 at = 0;
		gboolean lit = FALSE;
		guint64 n = output_changes(p->f, &at, &lit);

		if (n > last + 1)
			p->missed = TRUE;
		if (n > last && lit && p->on_at == 0)
			p->on_at = at;
		if (n > last && !lit && p->on_at != 0) {
			p->off_at = at;
			break;
		}
		last = n;
		g_usleep(1000);
	}
	return NULL;
}

typedef struct {
	gint64 lit_us;      /* how long the panel was lit */
	gint64 on_late_us;  /* light on after pbmd started the session */
	gint64 off_late_us; /* light off after the planned end */
} Timing;

/* Runs the load profile once, timed at the panel. */
static void
timed_session(PbmFixture *f, Load *load, Timing *t)
{
	Probe probe = { .f = f };
	g_autofree gchar *path = NULL;
	g_autoptr(GVariant) started = NULL;
	PbmSim *sim;
	gint64 device_to_mono, started_mono;

	probe.thread = g_thread_new("probe", probe_thread, &probe);
	while (!g_atomic_int_get(&probe.ready))
		g_usleep(1000);
	path = pbm_fixture_start(f, "load", NULL);
	if (load != NULL)
		g_atomic_pointer_set(&load->session_path, g_strdup(path));
	g_thread_join(probe.thread);
	if (probe.on_at == 0 || probe.off_at == 0)
		fail_msg("the panel did not light and go dark again within 30 s");
	if (probe.missed)
		fail_msg("the output changed more than once between two looks at the model");
	assert_true(wait_string_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Outcome",
	                                 "completed", PBM_FIXTURE_WAIT_MS));
	t->lit_us = (gint64)(probe.off_at - probe.on_at);
	/* where the light went on and off against the session's own clock
	 * (StartedAt is the wall time pbmd read with its monotonic start) */
	sim = pbm_mock_panel_lock_sim(f->panel);
	device_to_mono = g_get_monotonic_time() - (gint64)pbm_sim_now(sim);
	pbm_mock_panel_unlock_sim(f->panel);
	started = pbm_fixture_property(f, path, PBM_DBUS_INTERFACE_SESSION, "StartedAt");
	started_mono = g_variant_get_int64(started) - (g_get_real_time() - g_get_monotonic_time());
	t->on_late_us = (gint64)probe.on_at + device_to_mono - started_mono;
	t->off_late_us = (gint64)probe.off_at + device_to_mono -
	                 (started_mono + LOAD_PROFILE_S * G_USEC_PER_SEC);
}

/* The clients read for 0.5 s, then a timed session runs, then they read
 * for 0.5 s more. Returns the wall time of the round. */
static gint64
load_round(PbmFixture *f, Load *load, Timing *t)
{
	gint64 t0 = g_get_monotonic_time();

	g_atomic_int_set(&load->stop, 0);
	for (guint i = 0; i < LOAD_CLIENTS; i++)
		load->clients[i].thread = g_thread_new("client", client_thread, &load->clients[i]);
	g_usleep(500000);
	timed_session(f, load, t);
	g_usleep(500000);
	g_atomic_int_set(&load->stop, 1);
	for (guint i = 0; i < LOAD_CLIENTS; i++)
		g_thread_join(load->clients[i].thread);
	g_clear_pointer(&load->session_path, g_free);
	return g_get_monotonic_time() - t0;
}

static void
test_load(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(GError) error = NULL;
	Load *load = g_new0(Load, 1);
	Timing idle, loaded[LOAD_ROUNDS];
	gint64 wall_us = 0;
	const gint64 planned_us = LOAD_PROFILE_S * G_USEC_PER_SEC;
	guint64 rss_idle, rss_before = 0, rss_after, calls = 0, failures = 0;
	gint64 worst_us = 0;
	const gchar *first_failure = NULL;

	pbm_fixture_plug(f, "LOADPANEL", NULL);
	pbm_fixture_spawn(f, NULL);
	assert_true(wait_string_property(f, USB_PANEL, PBM_DBUS_INTERFACE_PANEL, "State", "idle",
	                                 PBM_FIXTURE_WAIT_MS));

	/* the reference: the same session without load */
	timed_session(f, NULL, &idle);
	rss_idle = rss_kib(f);

	load_of_client = load;
	for (guint i = 0; i < LOAD_CLIENTS; i++) {
		load->clients[i].connection = pbm_test_bus_connect(f->bus, &error);
		if (load->clients[i].connection == NULL)
			fail_msg("client %u: %s", i, error->message);
	}
	/* the first rounds warm pbmd up (its allocator grows to the most that
	 * 50 clients have had queued at once); the later ones must not need more */
	for (guint r = 0; r < LOAD_ROUNDS; r++) {
		wall_us += load_round(f, load, &loaded[r]);
		if (r + 1 == LOAD_WARMUP_ROUNDS)
			rss_before = rss_kib(f);
	}
	rss_after = rss_kib(f);
	for (guint i = 0; i < LOAD_CLIENTS; i++) {
		Client *c = &load->clients[i];
		calls += c->calls;
		failures += c->failures;
		worst_us = MAX(worst_us, c->worst_us);
		if (first_failure == NULL)
			first_failure = c->first_failure;
	}

	print_message("# %d clients, %d rounds: %" G_GUINT64_FORMAT " calls in %.2f s, %.0f "
	              "calls/s, worst latency %.1f ms, %" G_GUINT64_FORMAT " failed\n",
	              LOAD_CLIENTS, LOAD_ROUNDS, calls, wall_us / 1e6, calls / (wall_us / 1e6),
	              worst_us / 1000.0, failures);
	print_message("# planned %d ms; lit %+.1f ms off it without load (on %.1f ms after the "
	              "start, off %.1f ms after the planned end)\n",
	              LOAD_PROFILE_S * 1000, (idle.lit_us - planned_us) / 1000.0,
	              idle.on_late_us / 1000.0, idle.off_late_us / 1000.0);
	for (guint r = 0; r < LOAD_ROUNDS; r++)
		print_message(
		        "# round %u with load: lit %+.1f ms off the plan (on %.1f ms after the "
		        "start, off %.1f ms after the planned end)\n",
		        r + 1, (loaded[r].lit_us - planned_us) / 1000.0,
		        loaded[r].on_late_us / 1000.0, loaded[r].off_late_us / 1000.0);
	print_message("# pbmd RSS %" G_GUINT64_FORMAT " KiB before the load\n", rss_idle);
	if (failures != 0)
		fail_msg("%" G_GUINT64_FORMAT " calls failed, the first: %s", failures,
		         first_failure);
	assert_true(calls > 10 * LOAD_CLIENTS);
	if (under_wrapper())
		print_message("# timing bound not checked: pbmd runs under %s\n",
		              g_getenv("PBMD_WRAPPER"));
	print_message("# timing bound: +-%.0f ms%s\n", timing_bound_us() / 1000.0,
	              sanitized() ? " (sanitizer build)" : "");
	assert_true(under_wrapper() || llabs(idle.lit_us - planned_us) <= timing_bound_us());
	for (guint r = 0; r < LOAD_ROUNDS && !under_wrapper(); r++) {
		if (llabs(loaded[r].lit_us - planned_us) > timing_bound_us())
			fail_msg("round %u: lit %.1f ms for %" G_GINT64_FORMAT
			         " ms planned (bound +-%.0f ms)",
			         r + 1, loaded[r].lit_us / 1000.0, planned_us / 1000,
			         timing_bound_us() / 1000.0);
	}
	assert_rss_flat("the last rounds of 50 clients", rss_before, rss_after, RSS_BOUND_KIB);

	for (guint i = 0; i < LOAD_CLIENTS; i++) {
		g_clear_object(&load->clients[i].connection);
		g_free(load->clients[i].first_failure);
	}
	g_free(load);
	load_of_client = NULL;
	stop_daemon(f);
}

/* ---- soak ---- */

typedef struct {
	guint finished;
	gchar *outcome;
} Finished;

static void
on_finished(GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
            const gchar *name, GVariant *params, gpointer user_data)
{
	Finished *fin = user_data;

	fin->finished++;
	g_free(fin->outcome);
	g_variant_get_child(params, 1, "s", &fin->outcome);
}

static gboolean
timed_out(gpointer user_data)
{
	*(gboolean *)user_data = TRUE;
	return G_SOURCE_REMOVE;
}

static void
wait_finished(Finished *fin, guint n)
{
	gboolean late = FALSE;
	guint id = g_timeout_add(PBM_FIXTURE_WAIT_MS, timed_out, &late);

	while (fin->finished < n && !late)
		g_main_context_iteration(NULL, TRUE);
	if (late)
		fail_msg("session %u did not finish within %u ms", n, PBM_FIXTURE_WAIT_MS);
	g_source_remove(id);
}

static void
test_soak(void **state)
{
	PbmFixture *f = *state;
	Finished fin = { 0 };
	guint sub, n = soak_sessions;
	guint64 rss_start, rss_warm = 0, rss_end;
	guint fd_start, fd_warm = 0, fd_end;
	gint64 t0, t_warm = 0, t_end;
	g_autoptr(GVariant) rows = NULL;
	g_autofree gchar *fds_warm = NULL;
	gint64 db_warm = 0, db_end;
	gdouble lit_min = G_MAXDOUBLE, lit_max = 0;
	guint off_time = 0;

	pbm_fixture_spawn(f, NULL);
	sub = g_dbus_connection_signal_subscribe(
	        f->client, PBM_DBUS_NAME, PBM_DBUS_INTERFACE_MANAGER, "SessionFinished",
	        PBM_DBUS_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_finished, &fin, NULL);
	rss_start = rss_kib(f);
	fd_start = fd_count(f);
	t0 = g_get_monotonic_time();
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *path = pbm_fixture_start(f, "soak", NULL);
		wait_finished(&fin, i + 1);
		if (g_strcmp0(fin.outcome, "completed") != 0)
			fail_msg("session %u (%s) ended %s", i + 1, path, fin.outcome);
		if (i + 1 == MIN(SOAK_WARMUP, n)) {
			rss_warm = rss_kib(f);
			fd_warm = fd_count(f);
			fds_warm = fd_list(f);
			db_warm = history_bytes(f);
			t_warm = g_get_monotonic_time();
		}
		if ((i + 1) % 100 == 0) {
			print_message("# %u sessions, RSS %" G_GUINT64_FORMAT " KiB, %u fds\n",
			              i + 1, rss_kib(f), fd_count(f));
			fflush(stdout);
		}
	}
	t_end = g_get_monotonic_time();
	rss_end = rss_kib(f);
	fd_end = fd_count(f);
	db_end = history_bytes(f);
	g_dbus_connection_signal_unsubscribe(f->client, sub);

	rows = pbm_fixture_history(f);
	print_message("# %u one-second sessions back to back in %.1f s (%.3f s each after "
	              "warm-up)\n",
	              n, (t_end - t0) / 1e6,
	              n > SOAK_WARMUP ? (t_end - t_warm) / 1e6 / (n - SOAK_WARMUP) : 0.0);
	print_message("# pbmd RSS %" G_GUINT64_FORMAT " KiB at start, %" G_GUINT64_FORMAT
	              " KiB after %u sessions, %" G_GUINT64_FORMAT " KiB at the end\n",
	              rss_start, rss_warm, MIN(SOAK_WARMUP, n), rss_end);
	print_message("# pbmd fds %u at start, %u after warm-up, %u at the end\n", fd_start,
	              fd_warm, fd_end);
	for (gsize i = 0; i < g_variant_n_children(rows); i++) {
		g_autoptr(GVariant) row = g_variant_get_child_value(rows, i);
		const gchar *outcome = NULL;
		gint64 id = 0, started_at = 0, ended_at = 0;
		gdouble lit_s = 0;
		assert_true(g_variant_lookup(row, "id", "x", &id));
		assert_true(g_variant_lookup(row, "outcome", "&s", &outcome));
		assert_true(g_variant_lookup(row, "started_at", "x", &started_at));
		assert_true(g_variant_lookup(row, "ended_at", "x", &ended_at));
		assert_true(g_variant_lookup(row, "lit_s", "d", &lit_s));
		if (!g_str_equal(outcome, "completed") || ended_at == 0)
			fail_msg("history row %" G_GINT64_FORMAT ": outcome \"%s\", ended_at "
			         "%" G_GINT64_FORMAT,
			         id, outcome, ended_at);
		lit_min = MIN(lit_min, lit_s);
		lit_max = MAX(lit_max, lit_s);
		if (fabs(lit_s - 1.0) > 0.1 && !under_wrapper()) {
			print_message("# WRONG: session %" G_GINT64_FORMAT " was lit %.3f s and "
			              "lasted %.3f s\n",
			              id, lit_s, (ended_at - started_at) / 1e6);
			off_time++;
		}
	}
	print_message(
	        "# history: %zu rows, all completed, lit %.3f to %.3f s; database %" G_GINT64_FORMAT
	        " KiB after warm-up, %" G_GINT64_FORMAT " KiB at the end\n",
	        g_variant_n_children(rows), lit_min, lit_max, db_warm / 1024, db_end / 1024);
	assert_int_equal(g_variant_n_children(rows), n);
	if (off_time != 0)
		fail_msg("%u of %u one-second sessions were lit more than 0.1 s off (see above)",
		         off_time, n);
	if (fd_end != fd_warm) {
		g_autofree gchar *fds_end = fd_list(f);
		fail_msg("pbmd had %u fds after warm-up (%s) and %u at the end (%s)", fd_warm,
		         fds_warm, fd_end, fds_end);
	}
	/* SQLite caches the pages of the history it reads (up to its 2 MiB
	 * cache_size): RSS may grow as much as the database did */
	assert_rss_flat("soak after warm-up", rss_warm, rss_end,
	                RSS_BOUND_KIB + (guint)(MAX(db_end - db_warm, 0) / 1024));
	g_free(fin.outcome);
	stop_daemon(f);
}

/* ---- attacks: hostile local users, as unprivileged processes ---- */

static void
ignore_reply(GObject *source, GAsyncResult *result, gpointer data)
{
	g_autoptr(GDBusMessage) reply = g_dbus_connection_send_message_with_reply_finish(
	        G_DBUS_CONNECTION(source), result, NULL);
}

static GDBusMessage *
history_call(void)
{
	GDBusMessage *m = g_dbus_message_new_method_call(PBM_DBUS_NAME, PBM_DBUS_PATH,
	                                                 PBM_DBUS_INTERFACE_MANAGER, "GetHistory");

	g_dbus_message_set_body(m, g_variant_new("(xu)", (gint64)0, 100u));
	return m;
}

static void
send_with_reply(GDBusConnection *c, GDBusMessage *m)
{
	g_dbus_connection_send_message_with_reply(c, m, G_DBUS_SEND_MESSAGE_FLAGS_NONE, 60000, NULL,
	                                          NULL, ignore_reply, NULL);
}

/* 16 /dev/null fds on a call that takes none */
static void
send_with_fds(GDBusConnection *c)
{
	g_autoptr(GDBusMessage) m = history_call();
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();

	for (guint i = 0; i < ATTACK_FDS_PER_CALL; i++) {
		gint fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		g_unix_fd_list_append(fds, fd, NULL);
		close(fd);
	}
	g_dbus_message_set_unix_fd_list(m, fds);
	send_with_reply(c, m);
}

/* StartSession with about 24 MB of unknown options */
static void
send_big_options(GDBusConnection *c)
{
	g_autoptr(GDBusMessage) m = g_dbus_message_new_method_call(
	        PBM_DBUS_NAME, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession");
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	for (guint i = 0; i < ATTACK_BIG_OPTIONS; i++) {
		gchar key[16];
		g_snprintf(key, sizeof key, "k%07u", i);
		g_variant_builder_add(&b, "{sv}", key, g_variant_new_int32(1));
	}
	g_dbus_message_set_body(m, g_variant_new("(sa{sv})", "load", &b));
	send_with_reply(c, m);
}

static void
attack_once(const gchar *kind, GDBusConnection *c)
{
	if (g_str_equal(kind, "no-reply")) {
		for (guint i = 0; i < ATTACK_BATCH; i++) {
			g_autoptr(GDBusMessage) m = history_call();
			g_dbus_message_set_flags(m, G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED);
			g_dbus_connection_send_message(c, m, G_DBUS_SEND_MESSAGE_FLAGS_NONE, NULL,
			                               NULL);
		}
	} else if (g_str_equal(kind, "history") || g_str_equal(kind, "slow-reader")) {
		for (guint i = 0; i < ATTACK_BATCH; i++) {
			g_autoptr(GDBusMessage) m = history_call();
			send_with_reply(c, m);
		}
	} else if (g_str_equal(kind, "fds")) {
		send_with_fds(c);
	} else if (g_str_equal(kind, "big-options")) {
		send_big_options(c);
	} else if (g_str_equal(kind, "polkit-hold")) {
		for (guint i = 0; i < ATTACK_BATCH; i++) {
			g_autoptr(GDBusMessage) m = g_dbus_message_new_method_call(
			        PBM_DBUS_NAME, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
			        "StartSession");
			g_dbus_message_set_body(
			        m, g_variant_new("(s@a{sv})", "load", empty_options()));
			send_with_reply(c, m);
		}
	}
}

/* test-stress caller-start ADDRESS, as the caller: one StartSession on a
 * connection of its own; prints the error, or "started". */
static gint
caller_start_main(const gchar *address)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusConnection) c = g_dbus_connection_new_for_address_sync(
	        address,
	        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
	                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	        NULL, NULL, &error);
	g_autoptr(GVariant) reply = NULL;

	if (c != NULL)
		reply = call(c, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession",
		             g_variant_new("(s@a{sv})", "load", empty_options()), &error);
	g_print("%s\n", reply != NULL ? "started" : error->message);
	return 0;
}

/* test-stress attacker KIND ADDRESS, as the caller (nobody under root):
 * ATTACK_CONNECTIONS connections each send a batch every 10 ms for
 * ATTACK_ROUNDS rounds (bounded), saying "ready" after the first; a slow
 * reader then stops itself, so that the replies pile up unread. Then it
 * waits to be killed. */
static gint
attacker_main(const gchar *kind, const gchar *address)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) connections = g_ptr_array_new_with_free_func(g_object_unref);
	guint rounds = g_str_equal(kind, "big-options") ? 1 : ATTACK_ROUNDS;

	for (guint c = 0; c < ATTACK_CONNECTIONS; c++) {
		GDBusConnection *conn = g_dbus_connection_new_for_address_sync(
		        address,
		        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		        NULL, NULL, &error);
		if (conn == NULL) {
			g_printerr("attacker: %s\n", error->message);
			return 1;
		}
		g_ptr_array_add(connections, conn);
	}
	for (guint round = 0; round < rounds; round++) {
		for (guint c = 0; c < connections->len; c++)
			attack_once(kind, g_ptr_array_index(connections, c));
		for (guint c = 0; c < connections->len; c++)
			g_dbus_connection_flush_sync(g_ptr_array_index(connections, c), NULL, NULL);
		if (round == 0) {
			g_print("ready\n");
			fflush(stdout);
			if (g_str_equal(kind, "slow-reader"))
				raise(SIGSTOP);
		}
		while (g_main_context_iteration(NULL, FALSE))
			;
		g_usleep(10000);
	}
	for (;;)
		pause();
	return 0;
}

typedef struct {
	GPid pid;
	gint out;
} Attacker;

/* the one running, for the teardown when a test fails */
static GPid running_attacker;

static void
attacker_start(PbmFixture *f, const gchar *kind, Attacker *a)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *self = g_file_read_link("/proc/self/exe", NULL);
	const gchar *argv[] = { self, "attacker", kind, pbm_test_bus_get_address(f->bus), NULL };
	gchar line[16] = { 0 };

	if (!g_spawn_async_with_pipes(NULL, (gchar **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
	                              pbm_fixture_become_caller, NULL, &a->pid, NULL, &a->out, NULL,
	                              &error))
		fail_msg("attacker %s: %s", kind, error->message);
	running_attacker = a->pid;
	if (read(a->out, line, sizeof line - 1) <= 0 || !g_str_has_prefix(line, "ready"))
		fail_msg("the attacker %s did not start", kind);
}

static void
attacker_stop(Attacker *a)
{
	running_attacker = 0;
	kill(a->pid, SIGKILL);
	waitpid(a->pid, NULL, 0);
	g_spawn_close_pid(a->pid);
	close(a->out);
}

/* Properties.Get of the manager's State, on a connection of its own, as a
 * status bar does while the attack goes on. */
typedef struct {
	GDBusConnection *connection;
	GThread *thread;
	gint stop;
	GArray *latencies_us; /* gint64, the reader's own until it is joined */
	gint reads;           /* how many it holds, for the test to read */
} Reader;

/* A p99 means something only over enough reads: the reader goes on under
 * the attack after the session until it has this many (bounded in time). */
#define READER_MIN_READS 300
#define READER_MAX_EXTRA_US (15 * G_USEC_PER_SEC)

static gpointer
reader_thread(gpointer data)
{
	Reader *r = data;

	while (!g_atomic_int_get(&r->stop)) {
		gint64 t0 = g_get_monotonic_time();
		g_autoptr(GVariant) v =
		        call(r->connection, PBM_DBUS_PATH, "org.freedesktop.DBus.Properties", "Get",
		             g_variant_new("(ss)", PBM_DBUS_INTERFACE_MANAGER, "State"), NULL);
		gint64 dt = g_get_monotonic_time() - t0;

		/* a failed Get counts as the worst latency there is */
		if (v == NULL)
			dt = G_MAXINT64;
		g_array_append_val(r->latencies_us, dt);
		g_atomic_int_inc(&r->reads);
		g_usleep(5000);
	}
	return NULL;
}

static gint
compare_i64(gconstpointer a, gconstpointer b)
{
	gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

	return x < y ? -1 : x > y;
}

static gint64
reader_p99(Reader *r)
{
	GArray *l = r->latencies_us;

	g_array_sort(l, compare_i64);
	return g_array_index(l, gint64, MIN(l->len - 1, l->len * 99 / 100));
}

/* StopSession by the controlling user while the attack goes on: the time
 * from the call to the panel going dark, seen at the panel. */
static gint64
stop_latency_us(PbmFixture *f)
{
	g_autofree gchar *path = pbm_fixture_start(f, "load", NULL);
	gint64 t0, until;
	GVariant *reply;

	assert_true(wait_string_property(f, USB_PANEL, PBM_DBUS_INTERFACE_PANEL, "State", "lit",
	                                 PBM_FIXTURE_WAIT_MS));
	t0 = g_get_monotonic_time();
	reply = pbm_fixture_manager(f, "StopSession", NULL, NULL);
	pbm_assert_reply(reply);
	until = t0 + 5 * G_USEC_PER_SEC;
	while (pbm_mock_panel_is_lit(f->panel) && g_get_monotonic_time() < until)
		g_usleep(500);
	assert_true(wait_string_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Outcome", "stopped",
	                                 PBM_FIXTURE_WAIT_MS));
	return g_get_monotonic_time() - t0;
}

/* Latencies are checked where they mean something: not under valgrind,
 * and not in a sanitizer build, where pbmd, the attacker and the test all
 * run instrumented on the same cores and LeakSanitizer scans pbmd's whole
 * heap as it exits. There the light's timing (timing_bound_us()) is still
 * checked, and Stop must still darken the panel well before the firmware
 * watchdog would. */
static gboolean
latencies_meaningful(void)
{
	return !under_wrapper() && !sanitized();
}

static void
attack_during_sessions(PbmFixture *f, const gchar *kind)
{
	const gint64 planned_us = LOAD_PROFILE_S * G_USEC_PER_SEC;
	g_autoptr(GError) error = NULL;
	Reader r = { .latencies_us = g_array_new(FALSE, FALSE, sizeof(gint64)) };
	Attacker a;
	Timing t;
	gint64 stop_us, p99, until;
	guint64 rss;

	attacker_start(f, kind, &a);
	r.connection = pbm_test_bus_connect(f->bus, &error);
	assert_non_null(r.connection);
	r.thread = g_thread_new("reader", reader_thread, &r);
	timed_session(f, NULL, &t);
	stop_us = stop_latency_us(f);
	until = g_get_monotonic_time() + READER_MAX_EXTRA_US;
	while (g_atomic_int_get(&r.reads) < READER_MIN_READS && g_get_monotonic_time() < until)
		g_usleep(20000);
	g_atomic_int_set(&r.stop, 1);
	g_thread_join(r.thread);
	p99 = reader_p99(&r);
	rss = rss_kib(f);
	print_message("# %s: lit %+.1f ms off the plan, StopSession dark after %.1f ms, "
	              "Properties.Get p99 %.1f ms (%u reads), pbmd RSS %" G_GUINT64_FORMAT " KiB\n",
	              kind, (t.lit_us - planned_us) / 1000.0, stop_us / 1000.0, p99 / 1000.0,
	              r.latencies_us->len, rss);
	attacker_stop(&a);
	if (!under_wrapper() && llabs(t.lit_us - planned_us) > timing_bound_us())
		fail_msg("%s: lit %.1f ms for %" G_GINT64_FORMAT " ms planned", kind,
		         t.lit_us / 1000.0, planned_us / 1000);
	if (stop_us > (latencies_meaningful() ? ATTACK_STOP_BOUND_US : ATTACK_STOP_SLOW_BOUND_US))
		fail_msg("%s: dark %.1f ms after StopSession", kind, stop_us / 1000.0);
	if (latencies_meaningful() && p99 > ATTACK_GET_P99_BOUND_US)
		fail_msg("%s: Properties.Get p99 %.1f ms", kind, p99 / 1000.0);
	assert_true(!rss_is_meaningful() || rss < ATTACK_RSS_BOUND_KIB);
	g_object_unref(r.connection);
	g_array_unref(r.latencies_us);
}

/* Waits for pbmd to answer Peer.Ping on the bus again; the time it took. */
static gint64
wait_answering(PbmFixture *f)
{
	g_autoptr(GError) error = NULL;
	gint64 t0 = g_get_monotonic_time();
	g_autoptr(GVariant) reply =
	        pbm_test_call(f->client, PBM_DBUS_PATH, "org.freedesktop.DBus.Peer", "Ping", NULL,
	                      NULL, 12 * PBM_FIXTURE_WAIT_MS, &error);

	if (reply == NULL)
		fail_msg("pbmd does not answer Ping: %s", error->message);
	return g_get_monotonic_time() - t0;
}

/* StartSession by the caller on a connection of its own: what it printed */
static gchar *
caller_start(PbmFixture *f)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *self = g_file_read_link("/proc/self/exe", NULL);
	const gchar *argv[] = { self, "caller-start", pbm_test_bus_get_address(f->bus), NULL };
	gchar *out = NULL;

	if (!g_spawn_sync("/", (gchar **)argv, NULL, G_SPAWN_DEFAULT, pbm_fixture_become_caller,
	                  NULL, &out, NULL, NULL, &error))
		fail_msg("caller-start: %s", error->message);
	return g_strstrip(out);
}

static int
attacks_teardown(void **state)
{
	if (running_attacker != 0)
		kill(running_attacker, SIGKILL);
	return pbm_fixture_teardown(state);
}

static void
test_attacks(void **state)
{
	PbmFixture *f = *state;
	const gchar *const floods[] = { "no-reply", "history", "slow-reader" };
	Attacker a;
	guint fds_before, fds_during, polkit_calls;
	g_autofree gchar *other = NULL;
	gint64 t0;
	gint status;

	pbm_fixture_plug(f, "LOADPANEL", NULL);
	pbm_fixture_spawn(f, NULL);
	assert_true(wait_string_property(f, USB_PANEL, PBM_DBUS_INTERFACE_PANEL, "State", "idle",
	                                 PBM_FIXTURE_WAIT_MS));
	for (guint i = 0; i < G_N_ELEMENTS(floods); i++)
		attack_during_sessions(f, floods[i]);

	/* file descriptors: refused as they are read, so pbmd holds no more
	 * than the bus lets queue toward it, and none once the attack ends */
	fds_before = fd_count(f);
	attacker_start(f, "fds", &a);
	g_usleep(500000);
	fds_during = fd_count_now(f);
	attacker_stop(&a);
	g_usleep(200000);
	print_message("# fds: pbmd had %u fds before, %u during calls with 16 each, %u after\n",
	              fds_before, fds_during, fd_count(f));
	assert_true(fds_during <= fds_before + ATTACK_FDS_QUEUED_MAX);
	assert_int_equal(fd_count(f), fds_before);

	/* one call of 24 MB: refused, and pbmd stays under its MemoryMax */
	attacker_start(f, "big-options", &a);
	g_usleep(1000000);
	print_message("# big-options: pbmd RSS %" G_GUINT64_FORMAT " KiB after a 24 MB call\n",
	              rss_kib(f));
	assert_true(!rss_is_meaningful() || rss_kib(f) < ATTACK_RSS_MAX_KIB);
	attacker_stop(&a);
	/* GDBus reads the whole message before pbmd refuses it, which takes
	 * seconds in a sanitizer build: the next attack starts after that */
	print_message("# big-options: pbmd answers again after %.1f ms\n",
	              wait_answering(f) / 1000.0);

	/* polkit checks left open: a client waits for 4 at most, and someone
	 * else who needs polkit is still asked (the caller's group no longer
	 * controls pbmd from here on, so that its calls need polkit) */
	pbm_fixture_set_control_group(f, PBM_FIXTURE_NO_GROUP);
	kill(pbm_test_daemon_get_pid(f->daemon), SIGHUP);
	assert_true(pbm_test_daemon_wait_notify(f->daemon, "RELOADING=1", PBM_FIXTURE_WAIT_MS, NULL,
	                                        NULL));
	assert_true(
	        pbm_test_daemon_wait_notify(f->daemon, "READY=1", PBM_FIXTURE_WAIT_MS, NULL, NULL));
	f->polkit = pbm_test_polkit_new(f->bus, FALSE, NULL);
	assert_non_null(f->polkit);
	pbm_test_polkit_set_delay(f->polkit, ATTACK_POLKIT_DELAY_MS);
	attacker_start(f, "polkit-hold", &a);
	g_usleep(500000);
	polkit_calls = pbm_test_polkit_get_calls(f->polkit, PBM_POLKIT_ACTION_CONTROL);
	other = caller_start(f);
	print_message("# polkit-hold: %u checks reached polkit from %d connections; another "
	              "client: \"%s\"\n",
	              polkit_calls, ATTACK_CONNECTIONS, other);
	attacker_stop(&a);
	assert_true(polkit_calls <= ATTACK_CONNECTIONS * ATTACK_POLKIT_PER_SENDER);
	assert_non_null(strstr(other, "polkit said no"));

	/* SIGTERM while thousands of calls come in: out within a second */
	attacker_start(f, "no-reply", &a);
	t0 = g_get_monotonic_time();
	status = pbm_test_daemon_signal_and_wait(f->daemon, SIGTERM, 6 * PBM_FIXTURE_WAIT_MS);
	print_message("# SIGTERM during a flood: pbmd exited after %.1f ms\n",
	              (g_get_monotonic_time() - t0) / 1000.0);
	attacker_stop(&a);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (!latencies_meaningful())
		print_message("# latency bounds not checked under %s\n",
		              under_wrapper() ? g_getenv("PBMD_WRAPPER") : "sanitizers");
	assert_true(!latencies_meaningful() || g_get_monotonic_time() - t0 < G_USEC_PER_SEC);
}

/* ---- StartSession racing SIGTERM ---- */

#define RACE_ROUNDS 5

typedef struct {
	GDBusConnection *connection;
	GThread *thread;
	gint stop;
} Racer;

static void
ignore_call_reply(GObject *source, GAsyncResult *result, gpointer unused)
{
	g_autoptr(GVariant) reply =
	        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, NULL);
}

/* With a reply expected: pbmd drops calls that expect none. */
static void
send_no_wait(GDBusConnection *c, const gchar *method, GVariant *args)
{
	g_dbus_connection_call(c, PBM_DBUS_NAME, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, method,
	                       args, NULL, G_DBUS_CALL_FLAGS_NONE, PBM_FIXTURE_WAIT_MS, NULL,
	                       ignore_call_reply, NULL);
}

/* StartSession and StopSession, one after the other every millisecond,
 * without waiting for the replies: some start a session, some are Busy. */
static gpointer
racer_thread(gpointer data)
{
	Racer *r = data;
	g_autoptr(GMainContext) context = g_main_context_new();

	g_main_context_push_thread_default(context);
	while (!g_atomic_int_get(&r->stop)) {
		send_no_wait(r->connection, "StartSession",
		             g_variant_new("(s@a{sv})", "demo", empty_options()));
		send_no_wait(r->connection, "StopSession", NULL);
		while (g_main_context_iteration(context, FALSE))
			;
		g_usleep(1000);
	}
	g_main_context_pop_thread_default(context);
	return NULL;
}

/* Sessions that started before STOPPING=1, and fails on any after it:
 * once pbmd says it is stopping, no light starts. */
static guint
starts_before_stopping(PbmFixture *f)
{
	g_auto(GStrv) log = pbm_test_daemon_get_notify_log(f->daemon);
	gboolean stopping = FALSE;
	guint before = 0;

	for (guint i = 0; log[i] != NULL; i++) {
		stopping = stopping || g_str_equal(log[i], "STOPPING=1");
		if (!g_str_has_prefix(log[i], "STATUS=Running"))
			continue;
		if (stopping)
			fail_msg("a session ran after STOPPING=1: %s", log[i]);
		before++;
	}
	assert_true(stopping);
	return before;
}

static void
test_start_racing_sigterm(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(GError) error = NULL;
	guint started = 0;

	for (guint round = 0; round < RACE_ROUNDS; round++) {
		Racer r = { 0 };
		gint64 t0;
		gint status;

		pbm_fixture_spawn(f, NULL);
		r.connection = pbm_test_bus_connect(f->bus, &error);
		assert_non_null(r.connection);
		r.thread = g_thread_new("racer", racer_thread, &r);
		g_usleep((50 + 20 * round) * 1000);
		t0 = g_get_monotonic_time();
		status = pbm_test_daemon_signal_and_wait(f->daemon, SIGTERM, PBM_FIXTURE_WAIT_MS);
		print_message("# round %u: pbmd exited %.1f ms after SIGTERM\n", round,
		              (g_get_monotonic_time() - t0) / 1000.0);
		g_atomic_int_set(&r.stop, 1);
		g_thread_join(r.thread);
		g_object_unref(r.connection);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		started += starts_before_stopping(f);
		g_clear_pointer(&f->daemon, pbm_test_daemon_free);
	}
	print_message("# %u sessions started before SIGTERM in %d rounds, none after\n", started,
	              RACE_ROUNDS);
	/* the race was run: sessions did start while the calls came in */
	assert_true(started > 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest battery[] = {
		pbm_fixture_test(test_battery, &simulated),
	};
	const struct CMUnitTest load[] = {
		pbm_fixture_test(test_load, &usb),
	};
	const struct CMUnitTest soak[] = {
		pbm_fixture_test(test_soak, &simulated),
	};
	const struct CMUnitTest attacks[] = {
		cmocka_unit_test_prestate_setup_teardown(test_attacks, pbm_fixture_setup,
		                                         attacks_teardown, (void *)&usb),
		pbm_fixture_test(test_start_racing_sigterm, &simulated),
	};

	if (argc >= 2 && g_str_equal(argv[1], "battery"))
		return cmocka_run_group_tests_name("stress-battery", battery, NULL, NULL);
	if (argc >= 3 && g_str_equal(argv[1], "caller-start"))
		return caller_start_main(argv[2]);
	if (argc >= 4 && g_str_equal(argv[1], "attacker"))
		return attacker_main(argv[2], argv[3]);
	if (argc >= 2 && g_str_equal(argv[1], "attacks"))
		return cmocka_run_group_tests_name("stress-attacks", attacks, NULL, NULL);
	if (argc >= 2 && g_str_equal(argv[1], "load"))
		return cmocka_run_group_tests_name("stress-load", load, NULL, NULL);
	if (argc >= 2 && g_str_equal(argv[1], "soak")) {
		if (argc >= 3) {
			guint64 n = 0;
			/* GetHistory lists at most 10000 rows at once */
			if (!g_ascii_string_to_unsigned(argv[2], 10, 1, 9999, &n, NULL)) {
				g_printerr("test-stress: soak takes 1 to 9999 sessions, not %s\n",
				           argv[2]);
				return 2;
			}
			soak_sessions = (guint)n;
		}
		return cmocka_run_group_tests_name("stress-soak", soak, NULL, NULL);
	}
	g_printerr("usage: test-stress battery | load | soak [SESSIONS]\n");
	return 2;
}
