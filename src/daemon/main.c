/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmd: the light therapy panel daemon. See pbmd(8).
 */
#include <glib-unix.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "pbm-bus-guard.h"
#include "pbm-clock.h"
#include "pbm-exporter.h"
#include "pbm-log.h"
#include "pbm-manager.h"
#include "pbm-sleep-guard.h"

#define EXIT_USAGE 2
/* How long start-up waits for the first panels before saying READY. */
#define PROBE_WAIT_MS 3000

typedef struct {
	GMainLoop *loop;
	PbmManager *manager;
	PbmExporter *exporter;
	GDBusConnection *connection;
	GDBusConnection *system_bus; /* for logind, when there is one */
	PbmSleepGuard *sleep_guard;
	PbmBusGuard *guard;
	guint name_id;
	guint watchdog_id;
	guint ready_id;
	gboolean ready;
	gboolean name_owned;
	gboolean stopping; /* STOPPING=1 sent: the status says so until the end */
	gint exit_code;
} Daemon;

#define SIMULATE_MAX 8

static gchar *opt_config;
static gint opt_simulate = -1;
static gchar **opt_simulate_models; /* --simulate=MODEL,...; NULL: standard ones */
static gboolean opt_session;
static gchar *opt_address;
static gboolean opt_verbose;
static gboolean opt_version;

static gboolean simulate_error(GError **error, const gchar *value, const gchar *format, ...)
        G_GNUC_PRINTF(3, 4);

/* "--simulate=VALUE: <why>; it takes ..." so that every refusal names the
 * option, the bad entry and the choices. */
static gboolean
simulate_error(GError **error, const gchar *value, const gchar *format, ...)
{
	g_autofree gchar *why = NULL;
	g_autofree gchar *models = g_strjoinv(", ", (gchar **)pbm_sim_model_names());
	va_list args;

	va_start(args, format);
	why = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
	            "--simulate=%s: %s; --simulate takes a number of panels from 1 to %d or a "
	            "comma-separated list of 1 to %d panel models (%s)",
	            value, why, SIMULATE_MAX, SIMULATE_MAX, models);
	return FALSE;
}

static gboolean
parse_simulate_models(const gchar *value, GError **error)
{
	g_auto(GStrv) models = g_strsplit(value, ",", -1);
	guint n = g_strv_length(models);

	if (n > SIMULATE_MAX)
		return simulate_error(error, value, "%u models are too many", n);
	for (guint i = 0; i < n; i++) {
		PbmSimConfig probe;
		if (models[i][0] == '\0')
			return simulate_error(error, value, "model %u is empty", i + 1);
		if (!pbm_sim_config_init_model(&probe, NULL, models[i], NULL))
			return simulate_error(error, value, "\"%s\" is not a panel model",
			                      models[i]);
	}
	g_strfreev(opt_simulate_models);
	opt_simulate_models = g_steal_pointer(&models);
	opt_simulate = (gint)n;
	return TRUE;
}

static gboolean
parse_simulate(const gchar *name, const gchar *value, gpointer data, GError **error)
{
	guint64 n = 1;

	if (value != NULL && value[0] == '\0')
		return simulate_error(error, value, "the value is empty");
	if (value != NULL && !g_ascii_isdigit(value[0]))
		return parse_simulate_models(value, error);
	if (value != NULL && !g_ascii_string_to_unsigned(value, 10, 1, SIMULATE_MAX, &n, NULL))
		return simulate_error(error, value, "%s",
		                      value[strspn(value, "0123456789")] == '\0'
		                              ? "the number of panels is out of range"
		                              : "not a number");
	g_clear_pointer(&opt_simulate_models, g_strfreev);
	opt_simulate = (gint)n;
	return TRUE;
}

static const GOptionEntry entries[] = {
	{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
	  "Configuration file (default " PBM_SYSCONFDIR "/pbmd/pbmd.conf)", "FILE" },
	{ "simulate", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK, parse_simulate,
	  "Run virtual panels, no USB needed: N standard ones (1 to 8, default 1), or one per "
	  "MODEL of a comma-separated list (standard, low, high)",
	  "N|MODEL,..." },
	{ "session", 0, 0, G_OPTION_ARG_NONE, &opt_session, "Use the session bus", NULL },
	{ "address", 0, 0, G_OPTION_ARG_STRING, &opt_address, "Use the bus at ADDR", "ADDR" },
	{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "Log debug messages", NULL },
	{ "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
	{ NULL },
};

/* ---- systemd ---- */

static void
notify_status(Daemon *d)
{
	g_autofree gchar *status = pbm_manager_describe(d->manager);

	sd_notifyf(0, "STATUS=%s", status);
}

static gboolean
watchdog_ping(gpointer user_data)
{
	sd_notify(0, "WATCHDOG=1");
	return G_SOURCE_CONTINUE;
}

static void
start_watchdog(Daemon *d)
{
	guint64 usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
		d->watchdog_id = g_timeout_add(MAX(usec / 2000, 1), watchdog_ping, d);
}

static void
maybe_ready(Daemon *d)
{
	if (d->ready || !d->name_owned)
		return;
	d->ready = TRUE;
	g_clear_handle_id(&d->ready_id, g_source_remove);
	sd_notify(0, "READY=1");
	notify_status(d);
	g_message("pbmd %s ready", PACKAGE_VERSION);
}

/* ---- the bus ---- */

static void
on_name_acquired(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	Daemon *d = user_data;

	d->name_owned = TRUE;
	maybe_ready(d);
}

static void
on_name_lost(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	Daemon *d = user_data;

	if (connection == NULL)
		g_warning("the bus connection is gone; stopping");
	else
		g_warning("cannot own %s on the bus: another pbmd runs, or the bus policy "
		          "(org.pbmd.conf) does not allow this user to own it",
		          name);
	d->exit_code = EXIT_FAILURE;
	g_main_loop_quit(d->loop);
}

/* D-Bus activation hands pbmd the call that started it as soon as the name
 * is owned: owning it only once the panels plugged in at start are probed
 * (or after PROBE_WAIT_MS) keeps that call from answering no-panel about a
 * panel that is there. */
static void
own_name(Daemon *d)
{
	if (d->name_id != 0)
		return;
	g_clear_handle_id(&d->ready_id, g_source_remove);
	d->name_id = g_bus_own_name_on_connection(d->connection, PBM_DBUS_NAME,
	                                          G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
	                                          on_name_acquired, on_name_lost, d, NULL);
}

static gboolean
probe_wait_over(gpointer user_data)
{
	Daemon *d = user_data;

	d->ready_id = 0;
	own_name(d);
	return G_SOURCE_REMOVE;
}

static void
on_changed(PbmManager *manager, Daemon *d)
{
	if (d->name_id == 0 && pbm_manager_get_pending_probes(manager) == 0)
		own_name(d);
	/* After STOPPING=1, sources already due in the same main loop
	 * iteration (a session's progress) would tell systemd of a session
	 * that is being stopped as if it ran on. */
	if (d->ready && !d->stopping)
		notify_status(d);
}

static void
own_name_when_probed(Daemon *d)
{
	if (pbm_manager_get_pending_probes(d->manager) == 0)
		own_name(d);
	else
		d->ready_id = g_timeout_add(PROBE_WAIT_MS, probe_wait_over, d);
}

static GDBusConnection *
connect_bus(GError **error)
{
	if (opt_address != NULL)
		return g_dbus_connection_new_for_address_sync(
		        opt_address,
		        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		        NULL, NULL, error);
	return g_bus_get_sync(opt_session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, error);
}

/* ---- signals and suspend ---- */

static gboolean
on_terminate(gpointer user_data)
{
	Daemon *d = user_data;

	g_message("stopping");
	pbm_manager_hold_starts(d->manager, "pbmd is stopping");
	d->stopping = TRUE;
	sd_notify(0, "STOPPING=1");
	sd_notify(0, "STATUS=Stopping: every panel off, then exit");
	g_main_loop_quit(d->loop);
	return G_SOURCE_CONTINUE;
}

/* Stopping switches the light off: as urgent as the light's own deadlines,
 * so that no amount of other work holds it up. */
static void
watch_signal(gint signum, GSourceFunc func, Daemon *d)
{
	g_autoptr(GSource) source = g_unix_signal_source_new(signum);

	g_source_set_priority(source, G_PRIORITY_HIGH);
	g_source_set_callback(source, func, d, NULL);
	g_source_attach(source, NULL);
}

static gboolean
on_hangup(gpointer user_data)
{
	Daemon *d = user_data;

	sd_notify(0, "RELOADING=1");
	/* A refused configuration is logged by the manager; the running one stays. */
	pbm_manager_reload(d->manager, NULL);
	sd_notify(0, "READY=1");
	notify_status(d);
	return G_SOURCE_CONTINUE;
}

static void
watch_suspend(Daemon *d)
{
	g_autoptr(GError) error = NULL;

	d->system_bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
	if (d->system_bus == NULL) {
		g_debug("no system bus, so no suspend notice: %s", error->message);
		return;
	}
	d->sleep_guard = pbm_sleep_guard_new(d->system_bus, d->manager);
}

/* ---- main ---- */

static gchar *
state_dir(void)
{
	const gchar *dir = g_getenv("STATE_DIRECTORY");

	/* systemd may pass several, colon-separated: the first is ours */
	if (dir != NULL && dir[0] != '\0')
		return g_strndup(dir, strcspn(dir, ":"));
	return g_build_filename(g_get_user_state_dir(), "pbmd", NULL);
}

static gint
run(Daemon *d)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmClock) clock = pbm_clock_new_real();
	g_autofree gchar *dir = state_dir();
	g_autofree gchar *history = NULL;
	const gchar *profile_dirs[] = { PBM_SYSCONFDIR "/pbmd/profiles.d",
		                        PBM_DATADIR "/pbmd/profiles", NULL };
	g_autofree gchar *default_config =
	        g_build_filename(PBM_SYSCONFDIR, "pbmd", "pbmd.conf", NULL);
	PbmManagerOptions options = {
		.config_path = opt_config != NULL                                ? opt_config
		               : g_file_test(default_config, G_FILE_TEST_EXISTS) ? default_config
		                                                                 : NULL,
		.simulate = opt_simulate > 0 ? (guint)opt_simulate : 0,
		.simulate_models = (const gchar *const *)opt_simulate_models,
		.state_dir = dir,
		.profile_dirs = profile_dirs,
		.clock = clock,
	};
	const PbmBusGuardLimits guard_limits = {
		.per_sender = PBM_BUS_GUARD_PER_SENDER,
		.total = PBM_BUS_GUARD_TOTAL,
		.max_body = PBM_BUS_GUARD_MAX_BODY,
	};

	if (g_mkdir_with_parents(dir, 0700) != 0)
		g_warning("cannot create %s: %s", dir, g_strerror(errno));
	d->manager = pbm_manager_new(&options, &error);
	if (d->manager == NULL) {
		g_printerr("pbmd: %s\n", error->message);
		return EXIT_FAILURE;
	}
	d->connection = connect_bus(&error);
	if (d->connection == NULL) {
		g_printerr("pbmd: cannot connect to the bus: %s\n", error->message);
		return EXIT_FAILURE;
	}
	d->guard = pbm_bus_guard_new(d->connection, &guard_limits);
	history = pbm_manager_dup_history_path(d->manager);
	d->exporter = pbm_exporter_new(d->manager, d->connection, history, &error);
	if (d->exporter == NULL) {
		g_printerr("pbmd: %s\n", error->message);
		return EXIT_FAILURE;
	}
	g_signal_connect(d->manager, "changed", G_CALLBACK(on_changed), d);
	watch_signal(SIGTERM, on_terminate, d);
	watch_signal(SIGINT, on_terminate, d);
	g_unix_signal_add(SIGHUP, on_hangup, d);
	watch_suspend(d);
	start_watchdog(d);
	own_name_when_probed(d);
	g_main_loop_run(d->loop);

	/* Light off and the history closed before anything goes away. */
	pbm_manager_shutdown(d->manager);
	g_clear_pointer(&d->sleep_guard, pbm_sleep_guard_free);
	g_clear_object(&d->exporter);
	if (d->name_id != 0)
		g_bus_unown_name(d->name_id);
	g_dbus_connection_flush_sync(d->connection, NULL, NULL);
	return d->exit_code;
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) context = g_option_context_new("- light therapy panel daemon");
	g_autoptr(GError) error = NULL;
	Daemon d = { 0 };
	gint code;

	setlocale(LC_ALL, "");
	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_set_summary(
	        context, "Runs red / near-infrared light therapy sessions on USB panels "
	                 "and offers them on D-Bus as org.pbmd.");
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("pbmd: %s\nTry pbmd --help.\n", error->message);
		return EXIT_USAGE;
	}
	if (opt_version) {
		g_print("pbmd %s\n", PACKAGE_VERSION);
		return EXIT_SUCCESS;
	}
	if (argc > 1 || (opt_session && opt_address != NULL)) {
		g_printerr("pbmd: %s\nTry pbmd --help.\n",
		           argc > 1 ? "unexpected arguments"
		                    : "--session and --address exclude "
		                      "each other");
		return EXIT_USAGE;
	}
	pbm_log_setup(opt_verbose);
	d.loop = g_main_loop_new(NULL, FALSE);
	code = run(&d);
	g_clear_handle_id(&d.watchdog_id, g_source_remove);
	g_clear_handle_id(&d.ready_id, g_source_remove);
	g_clear_object(&d.exporter);
	g_clear_pointer(&d.guard, pbm_bus_guard_free);
	g_clear_object(&d.manager);
	g_clear_object(&d.connection);
	g_clear_object(&d.system_bus);
	g_main_loop_unref(d.loop);
	g_strfreev(opt_simulate_models);
	return code;
}
