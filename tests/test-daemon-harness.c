/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The daemon harness proves itself: the private bus and its system policy,
 * the fake polkit authority, and spawned processes with NOTIFY_SOCKET (the
 * real sd_notify() of systemd-notify and of a stand-in for pbmd: this very
 * binary run with --stand-in, which owns org.pbmd like pbmd does), early
 * exits, timeouts, signals and cleanup.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <systemd/sd-daemon.h>

#include "pbm-test-harness.h"
#include "pbm-test-files.h"

#define TIMEOUT_MS 10000

/* ---- the stand-in for pbmd (this binary with --stand-in) ---- */

static gboolean
stand_in_quit(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

static gboolean
stand_in_ping(gpointer data)
{
	sd_notify(0, "WATCHDOG=1");
	return G_SOURCE_CONTINUE;
}

/* --address ADDR: the bus (else DBUS_SYSTEM_BUS_ADDRESS); --hang: READY=1,
 * then ignores SIGTERM forever; --no-name: READY=1, then only waits. */
static int
stand_in_main(int argc, char **argv)
{
	const gchar *address = g_getenv("DBUS_SYSTEM_BUS_ADDRESS");
	gboolean hang = FALSE;
	gboolean no_name = FALSE;
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	g_autoptr(GDBusConnection) connection = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *db = NULL;
	guint64 watchdog_usec = 0;

	for (gint i = 1; i < argc; i++) {
		if (g_strcmp0(argv[i], "--address") == 0 && i + 1 < argc)
			address = argv[++i];
		else if (g_strcmp0(argv[i], "--hang") == 0)
			hang = TRUE;
		else if (g_strcmp0(argv[i], "--no-name") == 0)
			no_name = TRUE;
	}
	printf("stand-in: a line on stdout\n");
	fprintf(stderr, "stand-in: a line on stderr without a newline");
	fflush(stdout);
	fflush(stderr);

	if (hang) {
		signal(SIGTERM, SIG_IGN);
		sd_notify(0, "READY=1");
		for (;;)
			pause();
	}
	if (!no_name) {
		connection = g_dbus_connection_new_for_address_sync(
		        address,
		        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		        NULL, NULL, &error);
		if (connection != NULL)
			reply = g_dbus_connection_call_sync(
			        connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			        "org.freedesktop.DBus", "RequestName",
			        g_variant_new("(su)", PBM_DBUS_NAME, 4u), G_VARIANT_TYPE("(u)"),
			        G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
		if (reply == NULL) {
			fprintf(stderr, "stand-in: %s\n", error->message);
			return 1;
		}
	}
	db = g_build_filename(g_getenv("STATE_DIRECTORY"), "history.db", NULL);
	if (!g_file_set_contents(db, "", 0, &error)) {
		fprintf(stderr, "stand-in: %s\n", error->message);
		return 1;
	}

	g_unix_signal_add(SIGTERM, stand_in_quit, loop);
	if (sd_watchdog_enabled(0, &watchdog_usec) > 0)
		g_timeout_add(MAX(watchdog_usec / 2000, 1), stand_in_ping, NULL);
	/* two assignments in one datagram */
	sd_notify(0, "READY=1\nSTATUS=Idle");
	g_main_loop_run(loop);
	sd_notify(0, "STOPPING=1");
	if (connection != NULL)
		g_dbus_connection_close_sync(connection, NULL, NULL);
	return 0;
}

/* ---- fixture ---- */

typedef struct {
	PbmTestBus *bus;
	PbmTestPolkit *polkit;
	PbmTestDaemon *daemon;
	GDBusConnection *client;
} Fixture;

static int
setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	g_autoptr(GError) error = NULL;

	f->bus = pbm_test_bus_new(&error);
	if (f->bus == NULL)
		fail_msg("starting the bus: %s", error->message);
	f->client = pbm_test_bus_connect(f->bus, &error);
	if (f->client == NULL)
		fail_msg("connecting: %s", error->message);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	Fixture *f = *state;

	pbm_test_daemon_free(f->daemon);
	pbm_test_polkit_free(f->polkit);
	if (f->client != NULL) {
		g_dbus_connection_close_sync(f->client, NULL, NULL);
		g_object_unref(f->client);
	}
	pbm_test_bus_free(f->bus);
	g_free(f);
	return 0;
}

static PbmTestDaemon *
spawn(Fixture *f, const gchar *const *argv, const gchar *const *env)
{
	g_autoptr(GError) error = NULL;
	PbmTestDaemon *daemon = pbm_test_daemon_spawn_command(f->bus, argv, env, &error);

	if (daemon == NULL)
		fail_msg("spawning %s: %s", argv[0], error->message);
	return daemon;
}

static void
expect_notify(PbmTestDaemon *daemon, const gchar *prefix, const gchar *expected_line)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *line = NULL;

	if (!pbm_test_daemon_wait_notify(daemon, prefix, TIMEOUT_MS, &line, &error))
		fail_msg("%s", error->message);
	if (expected_line != NULL)
		assert_string_equal(line, expected_line);
}

static gint64
elapsed_ms(gint64 since)
{
	return (g_get_monotonic_time() - since) / 1000;
}

/* ---- the bus ---- */

static void
test_bus_system_policy(void **state)
{
	Fixture *f = *state;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree const gchar **names = NULL;
	const gchar *address = pbm_test_bus_get_address(f->bus);

	assert_true(g_str_has_prefix(address, "unix:path="));
	assert_true(strlen(pbm_test_bus_get_dir(f->bus)) < 60);

	reply = g_dbus_connection_call_sync(f->client, "org.freedesktop.DBus",
	                                    "/org/freedesktop/DBus", "org.freedesktop.DBus",
	                                    "ListNames", NULL, G_VARIANT_TYPE("(as)"),
	                                    G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	if (reply == NULL)
		fail_msg("ListNames: %s", error->message);
	g_variant_get(reply, "(^a&s)", &names);
	assert_true(g_strv_contains(names, "org.freedesktop.DBus"));
	assert_true(g_strv_contains(names, g_dbus_connection_get_unique_name(f->client)));
	g_clear_pointer(&reply, g_variant_unref);

	/* as on the system bus, owning a name takes a rule that allows it */
	reply = g_dbus_connection_call_sync(
	        f->client, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
	        "RequestName", g_variant_new("(su)", "org.example.X", 4u), G_VARIANT_TYPE("(u)"),
	        G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	assert_null(reply);
	assert_true(g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED));
	g_clear_error(&error);

	/* the user running the tests may own org.pbmd (pbmd runs as that user) */
	reply = g_dbus_connection_call_sync(
	        f->client, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
	        "RequestName", g_variant_new("(su)", PBM_DBUS_NAME, 4u), G_VARIANT_TYPE("(u)"),
	        G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	if (reply == NULL)
		fail_msg("owning org.pbmd: %s", error->message);
}

static void
test_bus_free_cleans_up(void **state)
{
	Fixture *f = *state;
	g_autofree gchar *dir = g_strdup(pbm_test_bus_get_dir(f->bus));
	GPid pid = pbm_test_bus_get_pid(f->bus);

	assert_true(g_file_test(dir, G_FILE_TEST_IS_DIR));
	g_dbus_connection_close_sync(f->client, NULL, NULL);
	g_clear_object(&f->client);
	pbm_test_bus_free(f->bus);
	f->bus = NULL;
	assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
}

/* ---- the fake polkit authority ---- */

static GVariant *
check_authorization(GDBusConnection *client, const gchar *kind, gboolean with_pid,
                    const gchar *action_id, const gchar *cancellation_id, GError **error)
{
	GVariantBuilder subject;

	g_variant_builder_init(&subject, G_VARIANT_TYPE_VARDICT);
	if (with_pid)
		g_variant_builder_add(&subject, "{sv}", "pid", g_variant_new_uint32(getpid()));
	g_variant_builder_add(&subject, "{sv}", "start-time", g_variant_new_uint64(0));
	return g_dbus_connection_call_sync(
	        client, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
	        "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization",
	        g_variant_new("((sa{sv})sa{ss}us)", kind, &subject, action_id, NULL, 1u,
	                      cancellation_id),
	        G_VARIANT_TYPE("((bba{ss}))"), G_DBUS_CALL_FLAGS_NONE, TIMEOUT_MS, NULL, error);
}

static gboolean
authorized(GDBusConnection *client, const gchar *action_id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	        check_authorization(client, "unix-process", TRUE, action_id, "", &error);
	gboolean is_authorized;
	gboolean is_challenge;
	g_autoptr(GVariant) details = NULL;

	if (reply == NULL)
		fail_msg("CheckAuthorization: %s", error->message);
	g_variant_get(reply, "((bb@a{ss}))", &is_authorized, &is_challenge, &details);
	assert_false(is_challenge);
	assert_int_equal(g_variant_n_children(details), 0);
	return is_authorized;
}

static void
new_polkit(Fixture *f, gboolean answer)
{
	g_autoptr(GError) error = NULL;

	f->polkit = pbm_test_polkit_new(f->bus, answer, &error);
	if (f->polkit == NULL)
		fail_msg("%s", error->message);
}

static void
test_polkit_answers_and_counts(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) last = NULL;
	const gchar *kind;
	const gchar *action_id;
	guint32 flags;

	new_polkit(f, TRUE);
	assert_null(pbm_test_polkit_get_last_parameters(f->polkit));
	assert_true(authorized(f->client, PBM_POLKIT_ACTION_CONTROL));
	pbm_test_polkit_set_answer(f->polkit, FALSE);
	assert_false(authorized(f->client, PBM_POLKIT_ACTION_CONTROL));
	assert_int_equal(pbm_test_polkit_get_calls(f->polkit, PBM_POLKIT_ACTION_CONTROL), 2);
	assert_int_equal(pbm_test_polkit_get_calls(f->polkit, PBM_POLKIT_ACTION_ADMIN), 0);

	/* an answer per action overrides the default */
	pbm_test_polkit_set_action_answer(f->polkit, PBM_POLKIT_ACTION_ADMIN, TRUE);
	assert_true(authorized(f->client, PBM_POLKIT_ACTION_ADMIN));
	assert_false(authorized(f->client, PBM_POLKIT_ACTION_CONTROL));
	assert_int_equal(pbm_test_polkit_get_calls(f->polkit, PBM_POLKIT_ACTION_ADMIN), 1);
	assert_int_equal(pbm_test_polkit_get_calls(f->polkit, PBM_POLKIT_ACTION_CONTROL), 3);

	last = pbm_test_polkit_get_last_parameters(f->polkit);
	assert_non_null(last);
	g_variant_get(last, "((&sa{sv})&sa{ss}u&s)", &kind, NULL, &action_id, NULL, &flags, NULL);
	assert_string_equal(kind, "unix-process");
	assert_string_equal(action_id, PBM_POLKIT_ACTION_CONTROL);
	assert_int_equal(flags, 1);

	/* a subject polkit refuses: an error, counted all the same */
	reply = check_authorization(f->client, "unix-process", FALSE, PBM_POLKIT_ACTION_CONTROL, "",
	                            &error);
	assert_null(reply);
	assert_non_null(error);
	g_autofree gchar *remote = g_dbus_error_get_remote_error(error);
	assert_string_equal(remote, "org.freedesktop.PolicyKit1.Error.Failed");
	assert_int_equal(pbm_test_polkit_get_calls(f->polkit, PBM_POLKIT_ACTION_CONTROL), 4);
	g_clear_error(&error);
	reply = check_authorization(f->client, "no-such-kind", TRUE, PBM_POLKIT_ACTION_CONTROL, "",
	                            &error);
	assert_null(reply);
	assert_non_null(error);

	/* it owns its name on the bus as the real one */
	reply = g_dbus_connection_call_sync(
	        f->client, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
	        "NameHasOwner", g_variant_new("(s)", "org.freedesktop.PolicyKit1"),
	        G_VARIANT_TYPE("(b)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
	assert_non_null(reply);
	gboolean has_owner;
	g_variant_get(reply, "(b)", &has_owner);
	assert_true(has_owner);
}

static void
on_check_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	GError **error = user_data;
	g_autoptr(GVariant) reply =
	        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, error);

	/* a reply instead of an error is a failure: leave a marker error */
	if (reply != NULL)
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, "answered");
}

static void
test_polkit_delay_and_cancel(void **state)
{
	Fixture *f = *state;
	g_autoptr(GMainContext) context = g_main_context_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) check_error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) property = NULL;
	GVariantBuilder subject;
	gint64 start;

	new_polkit(f, TRUE);

	/* answers after the delay; the test thread may block meanwhile */
	pbm_test_polkit_set_delay(f->polkit, 300);
	start = g_get_monotonic_time();
	assert_true(authorized(f->client, PBM_POLKIT_ACTION_CONTROL));
	assert_true(elapsed_ms(start) >= 290);

	/* a pending check ends with Cancelled when its caller cancels it */
	pbm_test_polkit_set_delay(f->polkit, 20000);
	g_main_context_push_thread_default(context);
	g_variant_builder_init(&subject, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&subject, "{sv}", "name",
	                      g_variant_new_string(g_dbus_connection_get_unique_name(f->client)));
	g_dbus_connection_call(f->client, "org.freedesktop.PolicyKit1",
	                       "/org/freedesktop/PolicyKit1/Authority",
	                       "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization",
	                       g_variant_new("((sa{sv})sa{ss}us)", "system-bus-name", &subject,
	                                     PBM_POLKIT_ACTION_ADMIN, NULL, 1u, "cancel-me"),
	                       G_VARIANT_TYPE("((bba{ss}))"), G_DBUS_CALL_FLAGS_NONE, TIMEOUT_MS,
	                       NULL, on_check_done, &check_error);
	start = g_get_monotonic_time();
	reply = g_dbus_connection_call_sync(
	        f->client, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
	        "org.freedesktop.PolicyKit1.Authority", "CancelCheckAuthorization",
	        g_variant_new("(s)", "cancel-me"), NULL, G_DBUS_CALL_FLAGS_NONE, TIMEOUT_MS, NULL,
	        &error);
	if (reply == NULL)
		fail_msg("CancelCheckAuthorization: %s", error->message);
	while (check_error == NULL)
		g_main_context_iteration(context, TRUE);
	g_main_context_pop_thread_default(context);
	assert_true(elapsed_ms(start) < 5000);
	g_autofree gchar *remote = g_dbus_error_get_remote_error(check_error);
	assert_string_equal(remote, "org.freedesktop.PolicyKit1.Error.Cancelled");
	assert_int_equal(pbm_test_polkit_get_calls(f->polkit, PBM_POLKIT_ACTION_ADMIN), 1);

	/* nothing left to cancel */
	g_clear_pointer(&reply, g_variant_unref);
	reply = g_dbus_connection_call_sync(
	        f->client, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
	        "org.freedesktop.PolicyKit1.Authority", "CancelCheckAuthorization",
	        g_variant_new("(s)", "cancel-me"), NULL, G_DBUS_CALL_FLAGS_NONE, TIMEOUT_MS, NULL,
	        &error);
	assert_null(reply);

	/* what libpolkit reads first */
	property = g_dbus_connection_call_sync(
	        f->client, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
	        "org.freedesktop.DBus.Properties", "Get",
	        g_variant_new("(ss)", "org.freedesktop.PolicyKit1.Authority", "BackendName"),
	        G_VARIANT_TYPE("(v)"), G_DBUS_CALL_FLAGS_NONE, TIMEOUT_MS, NULL, NULL);
	assert_non_null(property);

	/* freed with a check still pending: it answers and goes */
	g_variant_builder_init(&subject, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&subject, "{sv}", "session-id", g_variant_new_string("c1"));
	g_dbus_connection_call(f->client, "org.freedesktop.PolicyKit1",
	                       "/org/freedesktop/PolicyKit1/Authority",
	                       "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization",
	                       g_variant_new("((sa{sv})sa{ss}us)", "unix-session", &subject,
	                                     PBM_POLKIT_ACTION_ADMIN, NULL, 0u, ""),
	                       G_VARIANT_TYPE("((bba{ss}))"), G_DBUS_CALL_FLAGS_NONE, TIMEOUT_MS,
	                       NULL, NULL, NULL);
	g_usleep(100 * 1000);
	pbm_test_polkit_free(f->polkit);
	f->polkit = NULL;
}

/* ---- spawned processes ---- */

static void
test_systemd_notify(void **state)
{
	Fixture *f = *state;
	g_autofree gchar *program = g_find_program_in_path("systemd-notify");
	const gchar *argv[] = { "systemd-notify", "--ready", "--status=hi", NULL };
	gint status;

	if (program == NULL) {
		print_message("# no systemd-notify in PATH\n");
		skip();
	}
	f->daemon = spawn(f, argv, NULL);
	expect_notify(f->daemon, "READY=1", "READY=1");
	expect_notify(f->daemon, "STATUS=", "STATUS=hi");
	status = pbm_test_daemon_signal_and_wait(f->daemon, 0, TIMEOUT_MS);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_stand_in_lifecycle(void **state)
{
	Fixture *f = *state;
	const gchar *args[] = { "--stand-in", NULL };
	const gchar *env[] = { "WATCHDOG_USEC=100000", NULL };
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) log = NULL;
	g_autofree gchar *expected_db = NULL;
	gint status;

	/* through pbm_test_daemon_spawn(): PBMD_BINARY is this binary */
	f->daemon = pbm_test_daemon_spawn(f->bus, args, env, &error);
	if (f->daemon == NULL)
		fail_msg("%s", error->message);
	assert_true(pbm_test_daemon_get_pid(f->daemon) > 0);
	expect_notify(f->daemon, "READY=1", "READY=1");
	expect_notify(f->daemon, "STATUS=", "STATUS=Idle");
	/* each wait takes a ping of its own */
	expect_notify(f->daemon, "WATCHDOG=1", NULL);
	expect_notify(f->daemon, "WATCHDOG=1", NULL);
	if (!pbm_test_daemon_wait_name(f->daemon, f->client, TIMEOUT_MS, &error))
		fail_msg("%s", error->message);

	expected_db =
	        g_build_filename(pbm_test_daemon_get_state_dir(f->daemon), "history.db", NULL);
	assert_string_equal(pbm_test_daemon_get_history_db_path(f->daemon), expected_db);
	assert_true(g_file_test(expected_db, G_FILE_TEST_IS_REGULAR));
	assert_false(pbm_test_daemon_has_exited(f->daemon, NULL));

	status = pbm_test_daemon_signal_and_wait(f->daemon, SIGTERM, TIMEOUT_MS);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(pbm_test_daemon_signal_and_wait(f->daemon, SIGTERM, 10), status);
	/* sent just before exiting: still found */
	expect_notify(f->daemon, "STOPPING=1", "STOPPING=1");

	log = pbm_test_daemon_get_notify_log(f->daemon);
	assert_true(g_strv_length(log) >= 5);
	assert_string_equal(log[0], "READY=1");
	assert_string_equal(log[1], "STATUS=Idle");
	assert_string_equal(log[g_strv_length(log) - 1], "STOPPING=1");
}

static void
test_early_exit_and_timeouts(void **state)
{
	Fixture *f = *state;
	const gchar *exit3[] = { "/bin/sh", "-c", "echo going; exit 3", NULL };
	const gchar *sleeper[] = { "sleep", "30", NULL };
	g_autoptr(PbmTestDaemon) daemon = NULL;
	g_autoptr(GError) error = NULL;
	gint64 start = g_get_monotonic_time();
	gint status;

	/* an exit is reported at once, not after the timeout */
	daemon = spawn(f, exit3, NULL);
	assert_false(pbm_test_daemon_wait_notify(daemon, "READY=1", 20000, NULL, &error));
	assert_true(g_error_matches(error, PBM_TEST_ERROR, PBM_TEST_ERROR_EXITED));
	assert_non_null(strstr(error->message, "exited with status 3"));
	g_clear_error(&error);
	assert_false(pbm_test_daemon_wait_name(daemon, f->client, 20000, &error));
	assert_true(g_error_matches(error, PBM_TEST_ERROR, PBM_TEST_ERROR_EXITED));
	g_clear_error(&error);
	assert_true(elapsed_ms(start) < 5000);
	assert_true(pbm_test_daemon_has_exited(daemon, &status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
	g_clear_pointer(&daemon, pbm_test_daemon_free);

	/* silence times out */
	daemon = spawn(f, sleeper, NULL);
	start = g_get_monotonic_time();
	assert_false(pbm_test_daemon_wait_notify(daemon, "READY=1", 200, NULL, &error));
	assert_true(g_error_matches(error, PBM_TEST_ERROR, PBM_TEST_ERROR_TIMED_OUT));
	g_clear_error(&error);
	assert_false(pbm_test_daemon_wait_name(daemon, f->client, 200, &error));
	assert_true(g_error_matches(error, PBM_TEST_ERROR, PBM_TEST_ERROR_TIMED_OUT));
	g_clear_error(&error);
	assert_true(elapsed_ms(start) >= 390);
	assert_true(elapsed_ms(start) < 5000);
	status = pbm_test_daemon_signal_and_wait(daemon, SIGTERM, TIMEOUT_MS);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
	g_clear_pointer(&daemon, pbm_test_daemon_free);
}

static void
test_ignored_sigterm_is_killed(void **state)
{
	Fixture *f = *state;
	const gchar *args[] = { "--stand-in", "--hang", NULL };
	g_autoptr(GError) error = NULL;
	gint64 start;
	gint status;

	f->daemon = pbm_test_daemon_spawn(f->bus, args, NULL, &error);
	if (f->daemon == NULL)
		fail_msg("%s", error->message);
	expect_notify(f->daemon, "READY=1", NULL);
	start = g_get_monotonic_time();
	assert_int_equal(pbm_test_daemon_signal_and_wait(f->daemon, SIGTERM, 300), -1);
	assert_true(elapsed_ms(start) >= 290);
	assert_true(pbm_test_daemon_has_exited(f->daemon, &status));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_int_equal(pbm_test_daemon_signal_and_wait(f->daemon, SIGTERM, 10), -1);
}

static void
test_name_owned_by_another(void **state)
{
	Fixture *f = *state;
	const gchar *args[] = { "--stand-in", "--no-name", NULL };
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GError) error = NULL;

	/* the test's own connection owns the name, not the daemon */
	reply = g_dbus_connection_call_sync(
	        f->client, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
	        "RequestName", g_variant_new("(su)", PBM_DBUS_NAME, 4u), G_VARIANT_TYPE("(u)"),
	        G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	if (reply == NULL)
		fail_msg("%s", error->message);
	f->daemon = pbm_test_daemon_spawn(f->bus, args, NULL, &error);
	if (f->daemon == NULL)
		fail_msg("%s", error->message);
	expect_notify(f->daemon, "READY=1", NULL);
	assert_false(pbm_test_daemon_wait_name(f->daemon, f->client, 300, &error));
	assert_true(g_error_matches(error, PBM_TEST_ERROR, PBM_TEST_ERROR_FAILED));
	assert_non_null(strstr(error->message, "not by"));
}

static void
test_environment(void **state)
{
	Fixture *f = *state;
	g_autofree gchar *expected =
	        g_strconcat("EXPECTED_BUS=", pbm_test_bus_get_address(f->bus), NULL);
	const gchar *env[] = { "FOO=bar",        "HOME",   "JOURNAL_STREAM=8:9",
		               "JOURNAL_STREAM", expected, NULL };
	const gchar *argv[] = {
		"/bin/sh", "-c",
		"set -e; test \"$FOO\" = bar; test -z \"${HOME+x}\"; test -z "
		"\"${JOURNAL_STREAM+x}\"; "
		"test \"$(umask)\" = 0022; test \"$(pwd)\" = /; ! read line; "
		"test -S \"$NOTIFY_SOCKET\"; test -d \"$STATE_DIRECTORY\"; "
		"test \"$DBUS_SYSTEM_BUS_ADDRESS\" = \"$EXPECTED_BUS\"; "
		"test \"$DBUS_SESSION_BUS_ADDRESS\" = \"$EXPECTED_BUS\"; echo environment ok",
		NULL
	};
	g_autofree gchar *custom = NULL;
	g_autofree gchar *custom_env = NULL;
	g_autofree gchar *run_dir = NULL;
	gint status;

	f->daemon = spawn(f, argv, env);
	status = pbm_test_daemon_signal_and_wait(f->daemon, 0, TIMEOUT_MS);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* the state directory goes with the daemon... */
	run_dir = g_path_get_dirname(pbm_test_daemon_get_state_dir(f->daemon));
	assert_true(g_file_test(run_dir, G_FILE_TEST_IS_DIR));
	g_clear_pointer(&f->daemon, pbm_test_daemon_free);
	assert_false(g_file_test(run_dir, G_FILE_TEST_EXISTS));

	/* ...unless the test brings its own, to run a second daemon on it */
	custom = g_dir_make_tmp("pbm-state-XXXXXX", NULL);
	assert_non_null(custom);
	custom_env = g_strconcat("STATE_DIRECTORY=", custom, NULL);
	{
		const gchar *env2[] = { custom_env, NULL };
		const gchar *argv2[] = { "/bin/sh", "-c",   "test \"$STATE_DIRECTORY\" = \"$1\"",
			                 "sh",      custom, NULL };

		f->daemon = spawn(f, argv2, env2);
	}
	assert_string_equal(pbm_test_daemon_get_state_dir(f->daemon), custom);
	status = pbm_test_daemon_signal_and_wait(f->daemon, 0, TIMEOUT_MS);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	g_clear_pointer(&f->daemon, pbm_test_daemon_free);
	assert_true(g_file_test(custom, G_FILE_TEST_IS_DIR));
	assert_true(pbm_test_rm_rf(custom));
}

static void
test_free_kills(void **state)
{
	Fixture *f = *state;
	const gchar *sleeper[] = { "sleep", "30", NULL };
	const gchar *missing[] = { "/nonexistent/pbmd", NULL };
	g_autoptr(GError) error = NULL;
	g_autofree gchar *run_dir = NULL;
	GPid pid;

	f->daemon = spawn(f, sleeper, NULL);
	pid = pbm_test_daemon_get_pid(f->daemon);
	run_dir = g_path_get_dirname(pbm_test_daemon_get_state_dir(f->daemon));
	g_clear_pointer(&f->daemon, pbm_test_daemon_free);
	/* killed and reaped: not even a zombie is left */
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_false(g_file_test(run_dir, G_FILE_TEST_EXISTS));

	assert_null(pbm_test_daemon_spawn_command(f->bus, missing, NULL, &error));
	assert_true(g_error_matches(error, PBM_TEST_ERROR, PBM_TEST_ERROR_NOT_FOUND));
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bus_system_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_free_cleans_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_polkit_answers_and_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_polkit_delay_and_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_systemd_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stand_in_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_early_exit_and_timeouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignored_sigterm_is_killed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_owned_by_another, setup, teardown),
		cmocka_unit_test_setup_teardown(test_environment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_kills, setup, teardown),
	};
	g_autofree gchar *self = NULL;

	for (gint i = 1; i < argc; i++) {
		if (g_strcmp0(argv[i], "--stand-in") == 0)
			return stand_in_main(argc, argv);
	}
	/* pbm_test_daemon_spawn() runs this binary as the stand-in; set
	 * before any thread exists */
	self = g_file_read_link("/proc/self/exe", NULL);
	g_assert(self != NULL);
	g_setenv("PBMD_BINARY", self, TRUE);
	return cmocka_run_group_tests_name("daemon-harness", tests, NULL, NULL);
}
