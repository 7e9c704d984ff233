/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The real pbmd binary on a private bus with system-bus policy, run the way
 * systemd runs it (NOTIFY_SOCKET, STATE_DIRECTORY): the contract, a whole
 * session with its PropertiesChanged, refusals and their error names,
 * authorization through a fake polkit for an unprivileged caller, signals
 * (TERM, KILL, HUP) and the systemd notifications.
 *
 * Error names stay literal here: they are the contract as a client sees it,
 * not a name to take from pbm-names.h.
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
#include <pwd.h>

#include "config.h"
#include "pbm-test-files.h"
#include "pbm-test-fixture.h"
#include "pbm-test-logind.h"

static void
assert_active_session(PbmFixture *f, const gchar *want)
{
	g_autoptr(GVariant) active =
	        pbm_fixture_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "ActiveSession");

	assert_string_equal(g_variant_get_string(active, NULL), want);
}

static void
assert_session_string(PbmFixture *f, const gchar *path, const gchar *name, const gchar *want)
{
	g_autoptr(GVariant) value = pbm_fixture_property(f, path, PBM_DBUS_INTERFACE_SESSION, name);

	assert_string_equal(g_variant_get_string(value, NULL), want);
}

/* ---- waiting for signals on the client connection ---- */

typedef struct {
	guint started;
	guint finished;
	gchar *outcome;
	guint elapsed_changes;
	guint changes;
} Seen;

static void
on_signal(GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
          const gchar *name, GVariant *params, gpointer user_data)
{
	Seen *seen = user_data;

	if (g_str_equal(name, "SessionStarted")) {
		seen->started++;
	} else if (g_str_equal(name, "SessionFinished")) {
		seen->finished++;
		g_free(seen->outcome);
		g_variant_get_child(params, 1, "s", &seen->outcome);
	} else if (g_str_equal(name, "PropertiesChanged") &&
	           g_str_has_prefix(path, PBM_DBUS_PATH_SESSION "/")) {
		g_autoptr(GVariant) changed = g_variant_get_child_value(params, 1);
		g_autoptr(GVariant) elapsed = g_variant_lookup_value(changed, "Elapsed", NULL);
		seen->changes++;
		seen->elapsed_changes += elapsed != NULL;
	}
}

static gboolean
spin_until(gboolean *flag_or_null, Seen *seen, guint finished, gint64 timeout_us)
{
	gint64 until = g_get_monotonic_time() + timeout_us;

	while (g_get_monotonic_time() < until) {
		if (seen != NULL && seen->finished >= finished)
			return TRUE;
		g_main_context_iteration(NULL, FALSE);
		g_usleep(10000);
	}
	return FALSE;
}

/* ---- tests ---- */

static void
test_ready_and_contract(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(GVariant) version = NULL, st = NULL, panels = NULL, active = NULL;
	g_autoptr(GVariant) serial = NULL, channels = NULL, connected = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *status = NULL;

	pbm_fixture_spawn(f, NULL);
	assert_true(pbm_test_daemon_wait_notify(f->daemon, "STATUS=", PBM_FIXTURE_WAIT_MS, &status,
	                                        &error));
	assert_non_null(strstr(status, "1 panel connected"));

	version = pbm_fixture_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "Version");
	assert_string_equal(g_variant_get_string(version, NULL), PACKAGE_VERSION);
	st = pbm_fixture_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "State");
	assert_string_equal(g_variant_get_string(st, NULL), "idle");
	panels = pbm_fixture_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "Panels");
	assert_int_equal(g_variant_n_children(panels), 1);
	active =
	        pbm_fixture_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "ActiveSession");
	assert_string_equal(g_variant_get_string(active, NULL), "/");

	serial = pbm_fixture_property(f, PBM_DBUS_PATH_PANEL "/SIM0001", PBM_DBUS_INTERFACE_PANEL,
	                              "Serial");
	assert_string_equal(g_variant_get_string(serial, NULL), "SIM0001");
	channels = pbm_fixture_property(f, PBM_DBUS_PATH_PANEL "/SIM0001", PBM_DBUS_INTERFACE_PANEL,
	                                "Channels");
	assert_int_equal(g_variant_n_children(channels), 2);
	connected = pbm_fixture_property(f, PBM_DBUS_PATH_PANEL "/SIM0001",
	                                 PBM_DBUS_INTERFACE_PANEL, "Connected");
	assert_true(g_variant_get_boolean(connected));

	{
		g_autoptr(GVariant) list = pbm_fixture_manager(f, "ListProfiles", NULL, &error);
		g_autoptr(GVariant) profiles = g_variant_get_child_value(list, 0);
		assert_int_equal(g_variant_n_children(profiles), 6);
	}
	{
		g_autoptr(GVariant) reply = pbm_fixture_manager(
		        f, "GetProfile", g_variant_new("(s)", "back-pain"), &error);
		g_autoptr(GVariant) p = g_variant_get_child_value(reply, 0);
		guint64 duration = 0;
		gboolean goggles = FALSE;
		assert_true(g_variant_lookup(p, "duration_s", "t", &duration));
		assert_int_equal(duration, 600);
		assert_true(g_variant_lookup(p, "goggles_required", "b", &goggles));
		assert_true(goggles);
	}
}

static void
test_introspection_matches_xml(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = g_build_filename(PBM_SOURCE_DIR, "data", "org.pbmd1.xml", NULL);
	g_autofree gchar *xml = NULL;
	g_autoptr(GDBusNodeInfo) want = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GDBusNodeInfo) served = NULL;
	const gchar *served_xml;

	pbm_fixture_spawn(f, NULL);
	assert_true(g_file_get_contents(path, &xml, NULL, NULL));
	want = g_dbus_node_info_new_for_xml(xml, &error);
	assert_non_null(want);
	reply = pbm_fixture_call(f, PBM_DBUS_PATH, "org.freedesktop.DBus.Introspectable",
	                         "Introspect", NULL, &error);
	g_variant_get(reply, "(&s)", &served_xml);
	served = g_dbus_node_info_new_for_xml(served_xml, &error);
	assert_non_null(served);
	/* every member of the Manager interface, with its signature */
	{
		GDBusInterfaceInfo *w =
		        g_dbus_node_info_lookup_interface(want, PBM_DBUS_INTERFACE_MANAGER);
		GDBusInterfaceInfo *s =
		        g_dbus_node_info_lookup_interface(served, PBM_DBUS_INTERFACE_MANAGER);
		assert_non_null(s);
		for (guint i = 0; w->methods[i] != NULL; i++) {
			GDBusMethodInfo *m =
			        g_dbus_interface_info_lookup_method(s, w->methods[i]->name);
			assert_non_null(m);
			for (guint a = 0;
			     w->methods[i]->in_args != NULL && w->methods[i]->in_args[a]; a++)
				assert_string_equal(m->in_args[a]->signature,
				                    w->methods[i]->in_args[a]->signature);
		}
		for (guint i = 0; w->properties[i] != NULL; i++) {
			GDBusPropertyInfo *p =
			        g_dbus_interface_info_lookup_property(s, w->properties[i]->name);
			assert_non_null(p);
			assert_string_equal(p->signature, w->properties[i]->signature);
		}
		for (guint i = 0; w->signals[i] != NULL; i++)
			assert_non_null(
			        g_dbus_interface_info_lookup_signal(s, w->signals[i]->name));
	}
}

static void
test_full_session_signals(void **state)
{
	PbmFixture *f = *state;
	Seen seen = { 0 };
	g_autofree gchar *path = NULL;
	g_autoptr(GError) error = NULL;
	guint sub;

	pbm_fixture_spawn(f, NULL);
	sub = g_dbus_connection_signal_subscribe(f->client, PBM_DBUS_NAME, NULL, NULL, NULL, NULL,
	                                         G_DBUS_SIGNAL_FLAGS_NONE, on_signal, &seen, NULL);
	path = pbm_fixture_start(f, "demo", NULL);
	assert_string_equal(path, PBM_DBUS_PATH_SESSION "/1");
	assert_active_session(f, path);
	assert_true(spin_until(NULL, &seen, 1, 45 * G_USEC_PER_SEC));
	assert_int_equal(seen.started, 1);
	assert_string_equal(seen.outcome, "completed");
	/* progress arrived, but at most about once a second over 30 s */
	print_message("# %u PropertiesChanged on the session, %u with Elapsed\n", seen.changes,
	              seen.elapsed_changes);
	assert_true(seen.elapsed_changes >= 20);
	assert_true(seen.elapsed_changes <= 35);
	{
		g_autoptr(GVariant) outcome =
		        pbm_fixture_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Outcome");
		g_autoptr(GVariant) dose =
		        pbm_fixture_property(f, path, PBM_DBUS_INTERFACE_SESSION, "DoseNir");
		g_autoptr(GVariant) progress =
		        pbm_fixture_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Progress");
		assert_string_equal(g_variant_get_string(outcome, NULL), "completed");
		assert_float_equal(g_variant_get_double(dose), 0.4 * 34 * 15 / 1000, 0.01);
		assert_float_equal(g_variant_get_double(progress), 1.0, 1e-9);
	}
	/* none is active, though the finished one stays readable */
	assert_active_session(f, "/");
	{
		g_autoptr(GVariant) rows = pbm_fixture_history(f);
		g_autoptr(GVariant) row = g_variant_get_child_value(rows, 0);
		const gchar *outcome = NULL;
		assert_int_equal(g_variant_n_children(rows), 1);
		assert_true(g_variant_lookup(row, "outcome", "&s", &outcome));
		assert_string_equal(outcome, "completed");
	}
	g_dbus_connection_signal_unsubscribe(f->client, sub);
	g_free(seen.outcome);
}

static void
test_errors(void **state)
{
	PbmFixture *f = *state;
	GError *error = NULL;
	g_autofree gchar *path = NULL;
	GVariantBuilder b;

	pbm_fixture_spawn(f, NULL);
	assert_null(pbm_fixture_manager(
	        f, "StartSession",
	        g_variant_new("(s@a{sv})", "nope",
	                      g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)),
	        &error));
	pbm_assert_dbus_error(error, "org.pbmd1.Error.NoSuchProfile", "ListProfiles");
	g_clear_error(&error);

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "colour", g_variant_new_string("blue"));
	assert_null(pbm_fixture_manager(f, "StartSession", g_variant_new("(sa{sv})", "demo", &b),
	                                &error));
	pbm_assert_dbus_error(error, "org.pbmd1.Error.InvalidArgs", "unknown option \"colour\"");
	g_clear_error(&error);

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "distance_cm", g_variant_new_double(500));
	assert_null(pbm_fixture_manager(f, "StartSession", g_variant_new("(sa{sv})", "demo", &b),
	                                &error));
	pbm_assert_dbus_error(error, "org.pbmd1.Error.InvalidArgs", "distance_cm");
	g_clear_error(&error);

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "panels",
	                      g_variant_new_strv((const gchar *[]){ "NOPE", NULL }, -1));
	assert_null(pbm_fixture_manager(f, "StartSession", g_variant_new("(sa{sv})", "demo", &b),
	                                &error));
	pbm_assert_dbus_error(error, "org.pbmd1.Error.NoPanel", "NOPE");
	g_clear_error(&error);

	assert_null(pbm_fixture_manager(f, "GetProfile", g_variant_new("(s)", "../../etc/passwd"),
	                                &error));
	pbm_assert_dbus_error(error, "org.pbmd1.Error.InvalidArgs", "a-z");
	g_clear_error(&error);

	assert_null(pbm_fixture_manager(f, "StopSession", NULL, &error));
	pbm_assert_dbus_error(error, "org.pbmd1.Error.NotRunning", "StartSession");
	g_clear_error(&error);

	assert_null(pbm_fixture_manager(f, "GetHistory", g_variant_new("(xu)", (gint64)0, 20000u),
	                                &error));
	pbm_assert_dbus_error(error, "org.pbmd1.Error.InvalidArgs", "0 (meaning 100) to 100");
	g_clear_error(&error);

	/* wrong argument types never reach pbmd's code */
	assert_null(pbm_fixture_manager(f, "StartSession", g_variant_new("(i)", 5), &error));
	assert_non_null(error);
	g_clear_error(&error);

	path = pbm_fixture_start(f, "demo", NULL);
	assert_null(pbm_fixture_manager(
	        f, "StartSession",
	        g_variant_new("(s@a{sv})", "skin",
	                      g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)),
	        &error));
	pbm_assert_dbus_error(error, "org.pbmd1.Error.Busy", "StopSession");
	g_clear_error(&error);
	pbm_assert_reply(pbm_fixture_manager(f, "PauseSession", NULL, &error));
	pbm_assert_reply(
	        pbm_fixture_call(f, path, PBM_DBUS_INTERFACE_SESSION, "Resume", NULL, &error));
	pbm_assert_reply(
	        pbm_fixture_call(f, path, PBM_DBUS_INTERFACE_SESSION, "Stop", NULL, &error));
	assert_null(pbm_fixture_call(f, path, PBM_DBUS_INTERFACE_SESSION, "Stop", NULL, &error));
	pbm_assert_dbus_error(error, "org.pbmd1.Error.NotRunning", NULL);
	g_clear_error(&error);
	/* and it still serves */
	g_autoptr(GVariant) st =
	        pbm_fixture_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "State");
	assert_string_equal(g_variant_get_string(st, NULL), "idle");
}

/* A finished session is readable until the next starts, but it is not the
 * active one, and its methods do not reach the next. */
static void
test_active_session_lifecycle(void **state)
{
	PbmFixture *f = *state;
	Seen seen = { 0 };
	GError *error = NULL;
	g_autofree gchar *first = NULL, *second = NULL;
	guint sub;

	pbm_fixture_spawn(f, NULL);
	sub = g_dbus_connection_signal_subscribe(f->client, PBM_DBUS_NAME, NULL, NULL, NULL, NULL,
	                                         G_DBUS_SIGNAL_FLAGS_NONE, on_signal, &seen, NULL);
	first = pbm_fixture_start(f, "demo", NULL);
	assert_active_session(f, first);
	pbm_assert_reply(pbm_fixture_manager(f, "StopSession", NULL, &error));
	assert_true(spin_until(NULL, &seen, 1, PBM_FIXTURE_WAIT_MS * 1000));
	assert_string_equal(seen.outcome, "stopped");
	assert_active_session(f, PBM_DBUS_PATH_NONE);
	assert_session_string(f, first, "State", "finished");
	assert_session_string(f, first, "Outcome", "stopped");
	assert_null(pbm_fixture_call(f, first, PBM_DBUS_INTERFACE_SESSION, "Pause", NULL, &error));
	pbm_assert_dbus_error(error, "org.pbmd1.Error.NotRunning", "has ended");
	g_clear_error(&error);

	/* the path StartSession returns is the session it started */
	second = pbm_fixture_start(f, "demo", NULL);
	assert_string_not_equal(second, first);
	assert_active_session(f, second);
	assert_null(pbm_fixture_call(f, first, PBM_DBUS_INTERFACE_SESSION, "Stop", NULL, &error));
	assert_non_null(error);
	g_clear_error(&error);
	{
		/* the call on the old path did not reach it */
		g_autoptr(GVariant) st =
		        pbm_fixture_property(f, second, PBM_DBUS_INTERFACE_SESSION, "State");
		assert_string_not_equal(g_variant_get_string(st, NULL), "finished");
	}
	pbm_assert_reply(
	        pbm_fixture_call(f, second, PBM_DBUS_INTERFACE_SESSION, "Stop", NULL, &error));
	assert_true(spin_until(NULL, &seen, 2, PBM_FIXTURE_WAIT_MS * 1000));
	assert_active_session(f, PBM_DBUS_PATH_NONE);
	assert_session_string(f, second, "Outcome", "stopped");
	g_dbus_connection_signal_unsubscribe(f->client, sub);
	g_free(seen.outcome);
}

static void
test_panel_methods_and_safety_limit(void **state)
{
	PbmFixture *f = *state;
	GError *error = NULL;
	GVariant *reply;

	pbm_fixture_write_config(f, "max_session = \"20s\";");
	pbm_fixture_spawn(f, NULL);
	reply = pbm_fixture_call(f, PBM_DBUS_PATH_PANEL "/SIM0001", PBM_DBUS_INTERFACE_PANEL,
	                         "Identify", NULL, &error);
	assert_non_null(reply);
	g_variant_unref(reply);
	pbm_fixture_grant_admin(f);
	reply = pbm_fixture_call(f, PBM_DBUS_PATH_PANEL "/SIM0001", PBM_DBUS_INTERFACE_PANEL,
	                         "ClearFault", NULL, &error);
	assert_non_null(reply);
	g_variant_unref(reply);
	/* the 30 s demo is longer than this system allows */
	assert_null(pbm_fixture_manager(
	        f, "StartSession",
	        g_variant_new("(s@a{sv})", "demo",
	                      g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)),
	        &error));
	pbm_assert_dbus_error(error, "org.pbmd1.Error.SafetyLimit", "limits.max_session");
	g_clear_error(&error);
	/* a distance outside the panel's calibration */
	{
		GVariantBuilder b;
		g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
		g_variant_builder_add(&b, "{sv}", "distance_cm", g_variant_new_double(80));
		assert_null(pbm_fixture_manager(f, "StartSession",
		                                g_variant_new("(sa{sv})", "skin", &b), &error));
		pbm_assert_dbus_error(error, "org.pbmd1.Error.InvalidArgs", "calibrated only");
		g_clear_error(&error);
	}
}

/* logind says the machine is about to sleep: the session ends, lights off,
 * and does not come back by itself. While a session runs pbmd holds a delay
 * inhibitor, and lets go of it only once the panel is dark and the session
 * recorded, so the machine never sleeps with the light on. */
static void
test_suspend_interrupts(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmTestLogind) logind = NULL;
	g_autoptr(GVariant) asked = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *second = NULL;
	const gchar *what = NULL, *who = NULL, *mode = NULL;

	pbm_fixture_spawn(f, NULL);
	logind = pbm_test_logind_new(f->bus, &error);
	assert_non_null(logind);
	/* idle: nothing to hold the machine up for */
	assert_true(pbm_test_logind_wait(logind, 0, FALSE, PBM_FIXTURE_WAIT_MS));
	path = pbm_fixture_start(f, "back-pain", NULL);
	assert_true(pbm_test_logind_wait(logind, 1, TRUE, PBM_FIXTURE_WAIT_MS));
	asked = pbm_test_logind_get_last_inhibit(logind);
	g_variant_get(asked, "(&s&s&s&s)", &what, &who, NULL, &mode);
	assert_string_equal(what, "sleep:shutdown");
	assert_string_equal(who, "pbmd");
	assert_string_equal(mode, "delay");

	assert_true(pbm_test_logind_prepare_for_sleep(logind, TRUE, &error));
	assert_true(pbm_test_logind_wait(logind, 1, FALSE, PBM_FIXTURE_WAIT_MS));
	/* let go of only once the session is recorded (and, test-daemon-usb
	 * shows, the panel dark) */
	assert_int_equal(pbm_test_count_outcome(f->history_db, "interrupted"), 1);
	assert_true(pbm_fixture_wait_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Outcome",
	                                      "interrupted", PBM_FIXTURE_WAIT_MS));
	assert_true(pbm_fixture_wait_property(f, PBM_DBUS_PATH_PANEL "/SIM0001",
	                                      PBM_DBUS_INTERFACE_PANEL, "State", "idle",
	                                      PBM_FIXTURE_WAIT_MS));
	/* nothing starts until the machine is back */
	assert_null(pbm_fixture_try_start(f, "demo", NULL, NULL));
	/* waking up does not restart it */
	assert_true(pbm_test_logind_prepare_for_sleep(logind, FALSE, &error));
	g_usleep(300000);
	{
		g_autofree gchar *st = pbm_fixture_string_property(
		        f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "State");
		assert_string_equal(st, "idle");
	}
	/* a session that ends, here stopped, lets go of its inhibitor */
	second = pbm_fixture_start(f, "demo", NULL);
	assert_true(pbm_test_logind_wait(logind, 2, TRUE, PBM_FIXTURE_WAIT_MS));
	pbm_assert_reply(pbm_fixture_manager(f, "StopSession", NULL, NULL));
	assert_true(pbm_test_logind_wait(logind, 2, FALSE, PBM_FIXTURE_WAIT_MS));
}

/* A reboot or poweroff is nobody's choice to stop the therapy: the session
 * ends as interrupted, dark and recorded before logind lets the machine go,
 * and nothing starts while it goes down. */
static void
test_shutdown_interrupts(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmTestLogind) logind = NULL;
	g_autofree gchar *path = NULL;

	pbm_fixture_spawn(f, NULL);
	logind = pbm_test_logind_new(f->bus, &error);
	assert_non_null(logind);
	path = pbm_fixture_start(f, "back-pain", NULL);
	assert_true(pbm_test_logind_wait(logind, 1, TRUE, PBM_FIXTURE_WAIT_MS));
	assert_true(pbm_test_logind_prepare_for_shutdown(logind, &error));
	assert_true(pbm_test_logind_wait(logind, 1, FALSE, PBM_FIXTURE_WAIT_MS));
	assert_int_equal(pbm_test_count_outcome(f->history_db, "interrupted"), 1);
	assert_true(pbm_fixture_wait_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Outcome",
	                                      "interrupted", PBM_FIXTURE_WAIT_MS));
	assert_null(pbm_fixture_try_start(f, "demo", NULL, NULL));
}

/* pbmd run by hand with bad input: it says what is wrong and exits with the
 * documented status, before touching any bus. */
static gint
run_pbmd(PbmFixture *f, const gchar *const *args, gchar **err)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	/* keep pbmd's state out of the home directory of whoever runs the tests */
	g_auto(GStrv) envp = g_environ_setenv(g_get_environ(), "STATE_DIRECTORY", f->dir, TRUE);
	gint status = 0;
	g_ptr_array_add(argv, (gpointer)g_getenv("PBMD_BINARY"));
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer)args[i]);
	g_ptr_array_add(argv, NULL);
	if (!g_spawn_sync("/", (gchar **)argv->pdata, envp, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
	                  NULL, err, &status, &error))
		fail_msg("%s", error->message);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
test_startup_errors(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *err = NULL;
	g_autofree gchar *bad_config = g_build_filename(f->dir, "broken.conf", NULL);
	const gchar *too_many[] = { "--simulate=9", NULL };
	const gchar *bogus[] = { "--simulate=bogus", NULL };
	const gchar *bogus_entry[] = { "--simulate=low,bogus", NULL };
	const gchar *nine[] = { "--simulate=low,low,low,low,low,low,low,low,low", NULL };
	const gchar *both[] = { "--session", "--address", "unix:path=/x", NULL };
	const gchar *extra[] = { "start", NULL };
	const gchar *broken[] = { "--config", bad_config, "--address", "unix:path=/nonexistent",
		                  NULL };

	assert_int_equal(run_pbmd(f, too_many, &err), 2);
	assert_non_null(strstr(err, "1 to 8"));
	g_clear_pointer(&err, g_free);
	/* a bad model: the option, the entry and the choices */
	assert_int_equal(run_pbmd(f, bogus, &err), 2);
	assert_non_null(strstr(err, "--simulate=bogus: \"bogus\" is not a panel model"));
	assert_non_null(strstr(err, "(standard, low, high)"));
	g_clear_pointer(&err, g_free);
	assert_int_equal(run_pbmd(f, bogus_entry, &err), 2);
	assert_non_null(strstr(err, "--simulate=low,bogus: \"bogus\" is not"));
	g_clear_pointer(&err, g_free);
	assert_int_equal(run_pbmd(f, nine, &err), 2);
	assert_non_null(strstr(err, "9 models are too many"));
	g_clear_pointer(&err, g_free);
	assert_int_equal(run_pbmd(f, both, &err), 2);
	assert_non_null(strstr(err, "exclude each other"));
	g_clear_pointer(&err, g_free);
	assert_int_equal(run_pbmd(f, extra, &err), 2);
	g_clear_pointer(&err, g_free);

	/* a broken configuration names file and line, and pbmd does not start */
	assert_true(
	        g_file_set_contents(bad_config, "\nlimits = { min_gap = \"soon\"; };\n", -1, NULL));
	assert_int_equal(run_pbmd(f, broken, &err), 1);
	assert_non_null(strstr(err, "broken.conf:2: min_gap"));
	g_unlink(bad_config);
}

/* The irradiance at full level at 15 cm of a panel's channel of band, from
 * its Channels property. */
static gdouble
channel_at_15cm(PbmFixture *f, const gchar *serial, const gchar *band)
{
	g_autofree gchar *path = g_strconcat(PBM_DBUS_PATH_PANEL "/", serial, NULL);
	g_autoptr(GVariant) channels =
	        pbm_fixture_property(f, path, PBM_DBUS_INTERFACE_PANEL, "Channels");

	for (gsize i = 0; i < g_variant_n_children(channels); i++) {
		g_autoptr(GVariant) ch = g_variant_get_child_value(channels, i);
		g_autoptr(GVariant) points = NULL;
		const gchar *b = NULL;
		gdouble cm, mw;
		GVariantIter iter;

		if (!g_variant_lookup(ch, "band", "&s", &b) || !g_str_equal(b, band))
			continue;
		points = g_variant_lookup_value(ch, "irradiance", G_VARIANT_TYPE("a(dd)"));
		assert_non_null(points);
		g_variant_iter_init(&iter, points);
		while (g_variant_iter_next(&iter, "(dd)", &cm, &mw)) {
			if (cm == 15.0)
				return mw;
		}
	}
	fail_msg("panel %s has no %s channel calibrated at 15 cm", serial, band);
	return 0;
}

/* --simulate=low,high: one panel per model, in order, each reporting its own
 * model and calibration. */
static void
test_simulate_models(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *env_state = g_strconcat("STATE_DIRECTORY=", f->state, NULL);
	const gchar *env[] = { env_state, NULL };
	const gchar *args[] = { "--config", f->config, "--simulate=low,high", NULL };
	g_autoptr(GVariant) panels = NULL;
	g_autofree gchar *low = NULL, *high = NULL;

	f->daemon = pbm_test_daemon_spawn(f->bus, args, env, &error);
	if (f->daemon == NULL)
		fail_msg("%s", error->message);
	pbm_fixture_wait_ready(f);
	panels = pbm_fixture_property(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "Panels");
	assert_int_equal(g_variant_n_children(panels), 2);
	low = pbm_fixture_string_property(f, PBM_DBUS_PATH_PANEL "/SIM0001",
	                                  PBM_DBUS_INTERFACE_PANEL, "Model");
	high = pbm_fixture_string_property(f, PBM_DBUS_PATH_PANEL "/SIM0002",
	                                   PBM_DBUS_INTERFACE_PANEL, "Model");
	assert_string_equal(low, "pbm virtual panel 660/850 low");
	assert_string_equal(high, "pbm virtual panel 660/850 high");
	assert_float_equal(channel_at_15cm(f, "SIM0001", "red"), 12.0, 1e-9);
	assert_float_equal(channel_at_15cm(f, "SIM0001", "nir"), 10.0, 1e-9);
	assert_float_equal(channel_at_15cm(f, "SIM0002", "red"), 100.0, 1e-9);
	assert_float_equal(channel_at_15cm(f, "SIM0002", "nir"), 100.0, 1e-9);
}

static void
test_sigterm_mid_session(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = NULL;
	g_autoptr(GError) error = NULL;
	gint status;

	pbm_fixture_spawn(f, NULL);
	path = pbm_fixture_start(f, "back-pain", NULL);
	g_usleep(1500 * 1000);
	status = pbm_test_daemon_signal_and_wait(f->daemon, SIGTERM, PBM_FIXTURE_WAIT_MS);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(pbm_test_daemon_wait_notify(f->daemon, "STOPPING=1", 1000, NULL, &error));
	assert_int_equal(pbm_test_count_outcome(pbm_test_daemon_get_history_db_path(f->daemon),
	                                        "daemon-stopped"),
	                 1);
}

static void
test_sigkill_then_restart_interrupted(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = NULL;
	gint status;

	/* both pbmds keep their history in f->state */
	pbm_fixture_spawn(f, NULL);
	path = pbm_fixture_start(f, "back-pain", NULL);
	g_usleep(6 * G_USEC_PER_SEC); /* past the first checkpoint */
	status = pbm_test_daemon_signal_and_wait(f->daemon, SIGKILL, PBM_FIXTURE_WAIT_MS);
	assert_true(WIFSIGNALED(status));
	g_clear_pointer(&f->daemon, pbm_test_daemon_free);
	assert_int_equal(pbm_test_count_outcome(f->history_db, "interrupted"), 0);
	/* the next start closes the row */
	pbm_fixture_spawn(f, NULL);
	assert_int_equal(pbm_test_count_outcome(f->history_db, "interrupted"), 1);
	g_clear_pointer(&f->daemon, pbm_test_daemon_free);
}

static void
test_sighup_broken_config_keeps_running(void **state)
{
	PbmFixture *f = *state;
	GError *error = NULL;
	gint status = 0;

	pbm_fixture_spawn(f, NULL);
	assert_true(g_file_set_contents(f->config, "limits = { max_session = \"forever\"; };\n", -1,
	                                NULL));
	kill(pbm_test_daemon_get_pid(f->daemon), SIGHUP);
	g_usleep(300 * 1000);
	assert_false(pbm_test_daemon_has_exited(f->daemon, &status));
	/* the old configuration still runs sessions */
	g_free(pbm_fixture_start(f, "demo", NULL));
	pbm_assert_reply(pbm_fixture_manager(f, "StopSession", NULL, &error));
	/* ReloadConfig says what is wrong, with file and line */
	pbm_fixture_grant_admin(f);
	assert_null(pbm_fixture_manager(f, "ReloadConfig", NULL, &error));
	pbm_assert_dbus_error(error, "org.pbmd1.Error.InvalidArgs", "pbmd.conf:1: max_session");
	g_clear_error(&error);
}

static void
test_watchdog_pings(void **state)
{
	PbmFixture *f = *state;
	const gchar *env[] = { "WATCHDOG_USEC=400000", NULL };
	g_autoptr(GError) error = NULL;

	pbm_fixture_spawn(f, env);
	assert_true(pbm_test_daemon_wait_notify(f->daemon, "WATCHDOG=1", 2000, NULL, &error));
	assert_true(pbm_test_daemon_wait_notify(f->daemon, "WATCHDOG=1", 2000, NULL, &error));
}

/* The caller (pbm_fixture_become_caller()): this test binary again (GDBus
 * must not be used in a forked child of a threaded process). Exit codes: 0
 * the call succeeded, 3 NotAuthorized, 4 any other error, 5 no connection;
 * GetHistory succeeds with 10 + the number of rows it gave. */
static gint
caller_main(const gchar *address, const gchar *method, GDBusCallFlags flags)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusConnection) c = g_dbus_connection_new_for_address_sync(
	        address,
	        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
	                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	        NULL, NULL, &error);
	g_autoptr(GVariant) reply = NULL;
	g_autofree gchar *remote = NULL;

	if (c == NULL)
		return 5;
	reply = g_dbus_connection_call_sync(
	        c, PBM_DBUS_NAME, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, method,
	        g_str_equal(method, "StartSession") || g_str_equal(method, "EstimateSession")
	                ? g_variant_new("(s@a{sv})", "demo",
	                                g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0))
	        : g_str_equal(method, "GetHistory") ? g_variant_new("(xu)", (gint64)0, 1u)
	                                            : NULL,
	        NULL, flags, PBM_FIXTURE_WAIT_MS, NULL, &error);
	if (reply != NULL && g_str_equal(method, "GetHistory")) {
		g_autoptr(GVariant) rows = pbm_test_history(c, PBM_FIXTURE_WAIT_MS, &error);
		return rows != NULL ? 10 + (gint)g_variant_n_children(rows) : 4;
	}
	if (reply != NULL)
		return 0;
	remote = g_dbus_error_get_remote_error(error);
	g_dbus_error_strip_remote_error(error);
	g_print("%s", error->message);
	return g_strcmp0(remote, "org.pbmd1.Error.NotAuthorized") == 0 ? 3 : 4;
}

static gchar *self_exe;
/* what the last call_as_caller() printed: the error's message */
static gchar *caller_said;

static gint
call_with(PbmFixture *f, const gchar *mode, const gchar *method)
{
	const gchar *argv[] = { self_exe, mode, pbm_test_bus_get_address(f->bus), method, NULL };
	g_autoptr(GError) error = NULL;
	gint status = 0;

	g_clear_pointer(&caller_said, g_free);
	if (!g_spawn_sync("/", (gchar **)argv, NULL, G_SPAWN_DEFAULT, pbm_fixture_become_caller,
	                  NULL, &caller_said, NULL, &status, &error))
		fail_msg("%s", error->message);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 99);
	return WEXITSTATUS(status);
}

static gint
call_as_caller(PbmFixture *f, const gchar *method)
{
	return call_with(f, "--call", method);
}

/* The same with ALLOW_INTERACTIVE_AUTHORIZATION, as a desktop app calls. */
static gint
call_as_caller_interactive(PbmFixture *f, const gchar *method)
{
	return call_with(f, "--call-interactive", method);
}

/* flags of the latest CheckAuthorization polkit received */
static guint32
polkit_flags(PbmFixture *f)
{
	g_autoptr(GVariant) asked = pbm_test_polkit_get_last_parameters(f->polkit);
	guint32 flags = G_MAXUINT32;

	assert_non_null(asked);
	g_variant_get_child(asked, 3, "u", &flags);
	return flags;
}

static void
test_authorization_by_group(void **state)
{
	PbmFixture *f = *state;

	/* members of the configured group pass without polkit; the caller's
	 * own group stands in for pbmd here, so the test needs no new group */
	pbm_fixture_set_control_group(f, pbm_fixture_caller_group());
	assert_int_equal(g_chmod(pbm_test_bus_get_dir(f->bus), 0755), 0);
	pbm_fixture_spawn(f, NULL);
	assert_int_equal(call_as_caller(f, "StartSession"), 0);
	assert_int_equal(call_as_caller(f, "StopSession"), 0);
	/* the group does not grant administration */
	assert_int_equal(call_as_caller(f, "ReloadConfig"), 3);
}

static void
test_authorization(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(GError) error = NULL;

	/* the bus socket lives in a private temp dir: let nobody reach it */
	assert_int_equal(g_chmod(pbm_test_bus_get_dir(f->bus), 0755), 0);
	/* without polkit on the bus, only root and the control group pass */
	pbm_fixture_spawn(f, NULL);
	assert_int_equal(call_as_caller(f, "StartSession"), 3);
	/* reading is open to everyone, and so are estimates */
	assert_int_equal(call_as_caller(f, "ListProfiles"), 0);
	assert_int_equal(call_as_caller(f, "EstimateSession"), 0);

	f->polkit = pbm_test_polkit_new(f->bus, FALSE, &error);
	assert_non_null(f->polkit);
	assert_int_equal(call_as_caller(f, "StartSession"), 3);
	assert_int_equal(pbm_test_polkit_get_calls(f->polkit, PBM_POLKIT_ACTION_CONTROL), 1);
	pbm_test_polkit_set_answer(f->polkit, TRUE);
	assert_int_equal(call_as_caller(f, "StartSession"), 0);
	/* admin needs its own action */
	pbm_test_polkit_set_action_answer(f->polkit, PBM_POLKIT_ACTION_ADMIN, FALSE);
	assert_int_equal(call_as_caller(f, "ReloadConfig"), 3);
	assert_int_equal(pbm_test_polkit_get_calls(f->polkit, PBM_POLKIT_ACTION_ADMIN), 1);
	assert_int_equal(call_as_caller(f, "StopSession"), 0);

	/* polkit may ask the user only when the call allows it */
	pbm_test_polkit_set_answer(f->polkit, FALSE);
	assert_int_equal(call_as_caller(f, "StartSession"), 3);
	assert_int_equal(polkit_flags(f), 0);
	assert_non_null(strstr(caller_said, "polkit said no"));
	assert_int_equal(call_as_caller_interactive(f, "StartSession"), 3);
	assert_int_equal(polkit_flags(f), 1);
	/* a polkit that does not answer: refused after PBM_AUTH_TIMEOUT_MS (5 s) */
	pbm_test_polkit_set_delay(f->polkit, 8000);
	assert_int_equal(call_as_caller(f, "StartSession"), 3);
	assert_non_null(strstr(caller_said, "polkit did not answer within 5 s"));
	pbm_test_polkit_set_delay(f->polkit, 0);
	/* no polkit on the bus at all */
	g_clear_pointer(&f->polkit, pbm_test_polkit_free);
	assert_int_equal(call_as_caller(f, "StartSession"), 3);
	assert_non_null(strstr(caller_said, "polkit is not running"));
}

/* pbmd, with the caller (outside the control group) able to reach the bus
 * and granted org.pbmd.control by a fake polkit that says no to the rest. */
static void
spawn_for_caller_with_control(PbmFixture *f)
{
	g_autoptr(GError) error = NULL;

	assert_int_equal(g_chmod(pbm_test_bus_get_dir(f->bus), 0755), 0);
	f->polkit = pbm_test_polkit_new(f->bus, FALSE, &error);
	assert_non_null(f->polkit);
	pbm_test_polkit_set_action_answer(f->polkit, PBM_POLKIT_ACTION_CONTROL, TRUE);
	pbm_fixture_spawn(f, NULL);
}

/* Darkening is always allowed. A session's own user pauses, resumes and
 * stops it with no polkit on the bus at all; anyone else stops or pauses it
 * with org.pbmd.stop, which does not let them switch its light back on. */
static void
test_stopping_is_always_allowed(void **state)
{
	PbmFixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;

	spawn_for_caller_with_control(f);
	assert_int_equal(call_as_caller(f, "StartSession"), 0);
	g_clear_pointer(&f->polkit, pbm_test_polkit_free);
	assert_int_equal(call_as_caller(f, "PauseSession"), 0);
	assert_int_equal(call_as_caller(f, "ResumeSession"), 0);
	assert_int_equal(call_as_caller(f, "StopSession"), 0);
	assert_int_equal(pbm_test_count_outcome(f->history_db, "stopped"), 1);

	/* a session of the test's own user */
	f->polkit = pbm_test_polkit_new(f->bus, FALSE, &error);
	assert_non_null(f->polkit);
	path = pbm_fixture_start(f, "demo", NULL);
	assert_int_equal(call_as_caller(f, "PauseSession"), 3);
	assert_non_null(strstr(caller_said, PBM_POLKIT_ACTION_STOP));
	assert_int_equal(pbm_test_polkit_get_calls(f->polkit, PBM_POLKIT_ACTION_STOP), 1);
	assert_int_equal(pbm_test_polkit_get_calls(f->polkit, PBM_POLKIT_ACTION_CONTROL), 0);
	pbm_test_polkit_set_action_answer(f->polkit, PBM_POLKIT_ACTION_STOP, TRUE);
	assert_int_equal(call_as_caller(f, "PauseSession"), 0);
	assert_true(pbm_fixture_wait_property(f, path, PBM_DBUS_INTERFACE_SESSION, "State",
	                                      "paused", PBM_FIXTURE_WAIT_MS));
	assert_int_equal(call_as_caller(f, "ResumeSession"), 3);
	assert_non_null(strstr(caller_said, PBM_POLKIT_ACTION_CONTROL));
	assert_int_equal(call_as_caller(f, "StopSession"), 0);
	assert_true(pbm_fixture_wait_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Outcome",
	                                      "stopped", PBM_FIXTURE_WAIT_MS));
}

typedef struct {
	guint answered, busy;
	gchar *busy_said;
} HistoryReplies;

static void
history_replied(GObject *source, GAsyncResult *result, gpointer data)
{
	HistoryReplies *r = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
	g_autofree gchar *remote = error != NULL ? g_dbus_error_get_remote_error(error) : NULL;

	r->answered++;
	if (g_strcmp0(remote, "org.pbmd1.Error.Busy") == 0) {
		r->busy++;
		g_free(r->busy_said);
		r->busy_said = g_strdup(error->message);
	} else if (reply == NULL) {
		fail_msg("GetHistory: %s", error->message);
	}
}

/* One connection asking for many pages at once gets two in progress and
 * Busy for the rest, at once, and pbmd goes on answering. */
static void
test_history_calls_per_connection(void **state)
{
	PbmFixture *f = *state;
	HistoryReplies r = { 0 };
	gint64 until;

	pbm_fixture_spawn(f, NULL);
	for (guint i = 0; i < 10; i++)
		g_dbus_connection_call(
		        f->client, PBM_DBUS_NAME, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
		        "GetHistory", g_variant_new("(xu)", (gint64)0, 100u), NULL,
		        G_DBUS_CALL_FLAGS_NONE, PBM_FIXTURE_WAIT_MS, NULL, history_replied, &r);
	until = g_get_monotonic_time() + PBM_FIXTURE_WAIT_MS * (gint64)1000;
	while (r.answered < 10 && g_get_monotonic_time() < until)
		g_main_context_iteration(NULL, TRUE);
	assert_int_equal(r.answered, 10);
	assert_true(r.busy >= 1 && r.busy <= 8);
	assert_non_null(strstr(r.busy_said, "in progress already"));
	g_free(r.busy_said);
	g_variant_unref(pbm_fixture_history(f));
}

/* A profile someone else could have changed is not offered, and asking
 * for it says why and what fixes it. */
static void
test_untrusted_profile(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *file = g_build_filename(f->profiles, "open.conf", NULL);
	g_autofree gchar *text = NULL;
	g_autofree gchar *named = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) get_error = NULL;
	g_autofree gchar *session = NULL;
	g_autoptr(GVariant) profile = NULL;

	assert_true(
	        g_file_get_contents(PBM_SOURCE_DIR "/data/profiles/demo.conf", &text, NULL, NULL));
	/* the demo, renamed */
	named = g_strconcat("name = \"open\";\n", strstr(text, "\ntitle") + 1, NULL);
	pbm_test_write_file(file, named);
	assert_int_equal(g_chmod(file, 0666), 0);
	pbm_fixture_spawn(f, NULL);
	session = pbm_fixture_try_start(f, "open", NULL, &error);
	assert_null(session);
	pbm_assert_dbus_error(error, "org.pbmd1.Error.NoSuchProfile",
	                      "writable by everyone (mode 0666)");
	profile = pbm_fixture_manager(f, "GetProfile", g_variant_new("(s)", "open"), &get_error);
	assert_null(profile);
	pbm_assert_dbus_error(get_error, "org.pbmd1.Error.NoSuchProfile", "chmod go-w");
	/* the rest are offered */
	g_free(pbm_fixture_start(f, "demo", NULL));
}

/* The caller's uid: nobody's when the test runs as root, else its own. */
static guint32
caller_uid(void)
{
	struct passwd *pw = geteuid() == 0 ? getpwnam("nobody") : getpwuid(geteuid());

	assert_non_null(pw);
	return pw->pw_uid;
}

static gint
count_rows_of(PbmFixture *f, guint32 uid)
{
	g_autoptr(GVariant) rows = pbm_fixture_history(f);
	gint n = 0;

	for (gsize i = 0; i < g_variant_n_children(rows); i++) {
		g_autoptr(GVariant) row = g_variant_get_child_value(rows, i);
		guint32 owner = G_MAXUINT32;
		g_variant_lookup(row, "owner_uid", "u", &owner);
		n += owner == uid;
	}
	return n;
}

/* The history is health data: a caller outside the control group reads
 * their own sessions only, all of them with org.pbmd.read-history, and
 * polkit is never asked to prompt for it. */
static void
test_history_privacy(void **state)
{
	PbmFixture *f = *state;
	g_autofree gchar *path = NULL;
	gint all, own;

	spawn_for_caller_with_control(f);
	/* one session of the caller, one of the test's own user */
	assert_int_equal(call_as_caller(f, "StartSession"), 0);
	assert_int_equal(call_as_caller(f, "StopSession"), 0);
	path = pbm_fixture_start(f, "demo", NULL);
	pbm_assert_reply(pbm_fixture_manager(f, "StopSession", NULL, NULL));
	assert_true(pbm_fixture_wait_property(f, path, PBM_DBUS_INTERFACE_SESSION, "Outcome",
	                                      "stopped", PBM_FIXTURE_WAIT_MS));

	all = pbm_test_count_outcome(f->history_db, "stopped");
	own = count_rows_of(f, caller_uid());
	assert_int_equal(all, 2);
	print_message("# the caller owns %d of %d sessions\n", own, all);
	assert_int_equal(call_as_caller(f, "GetHistory"), 10 + own);
	assert_int_equal(polkit_flags(f), 0);
	/* with the action, everyone's */
	pbm_test_polkit_set_action_answer(f->polkit, PBM_POLKIT_ACTION_READ_HISTORY, TRUE);
	assert_int_equal(call_as_caller(f, "GetHistory"), 10 + all);
}

int
main(int argc, char **argv)
{
	static const PbmFixtureOptions outsiders = { .control_group = PBM_FIXTURE_NO_GROUP };
	const struct CMUnitTest tests[] = {
		pbm_fixture_test(test_ready_and_contract, NULL),
		pbm_fixture_test(test_startup_errors, NULL),
		pbm_fixture_test(test_simulate_models, NULL),
		pbm_fixture_test(test_introspection_matches_xml, NULL),
		pbm_fixture_test(test_errors, NULL),
		pbm_fixture_test(test_active_session_lifecycle, NULL),
		pbm_fixture_test(test_panel_methods_and_safety_limit, NULL),
		pbm_fixture_test(test_sigterm_mid_session, NULL),
		pbm_fixture_test(test_suspend_interrupts, NULL),
		pbm_fixture_test(test_shutdown_interrupts, NULL),
		pbm_fixture_test(test_sigkill_then_restart_interrupted, NULL),
		pbm_fixture_test(test_sighup_broken_config_keeps_running, NULL),
		pbm_fixture_test(test_watchdog_pings, NULL),
		pbm_fixture_test(test_authorization, &outsiders),
		pbm_fixture_test(test_authorization_by_group, NULL),
		pbm_fixture_test(test_history_privacy, &outsiders),
		pbm_fixture_test(test_stopping_is_always_allowed, &outsiders),
		pbm_fixture_test(test_untrusted_profile, NULL),
		pbm_fixture_test(test_history_calls_per_connection, NULL),
		pbm_fixture_test(test_full_session_signals, NULL),
	};

	if (argc == 4 && g_str_equal(argv[1], "--call"))
		return caller_main(argv[2], argv[3], G_DBUS_CALL_FLAGS_NONE);
	if (argc == 4 && g_str_equal(argv[1], "--call-interactive"))
		return caller_main(argv[2], argv[3],
		                   G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION);
	self_exe = g_file_read_link("/proc/self/exe", NULL);
	return cmocka_run_group_tests_name("daemon", tests, NULL, NULL);
}
