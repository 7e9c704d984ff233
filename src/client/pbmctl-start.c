/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmctl start PROFILE [--panel SERIAL]... [--distance CM] [--goggles] [--wait]:
 * starts a session, prints the daemon's warnings for it on stderr and,
 * with --wait, follows it to its end, stopping it on Ctrl-C or SIGTERM.
 */
#include <glib-unix.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "pbm-format.h"
#include "pbm-names.h"
#include "pbmctl-commands.h"

typedef struct {
	PbmCtl *ctl;
	GMainLoop *loop;
	gchar *path;
	gboolean tty;
	gchar *last_step;
	gchar *outcome;
	gboolean interrupted;
	gboolean vanished;
} Wait;

static gint
exit_for_outcome(const gchar *outcome)
{
	if (g_strcmp0(outcome, "completed") == 0)
		return PBM_CTL_EXIT_OK;
	if (g_strcmp0(outcome, "fault") == 0)
		return PBM_CTL_EXIT_FAULT;
	if (g_strcmp0(outcome, "disconnected") == 0)
		return PBM_CTL_EXIT_DISCONNECTED;
	return PBM_CTL_EXIT_STOPPED;
}

static GVariant *
get_session(Wait *w)
{
	return pbm_ctl_get_all(w->ctl, w->path, PBM_DBUS_INTERFACE_SESSION, NULL);
}

static void
draw(Wait *w)
{
	g_autoptr(GVariant) s = get_session(w);
	guint64 remaining = 0;
	g_autofree gchar *left = NULL;
	const gchar *step;
	gdouble progress;
	gint filled;

	if (s == NULL)
		return;
	g_variant_lookup(s, "Remaining", "t", &remaining);
	left = pbm_duration_format((gint64)remaining);
	step = pbm_ctl_lookup_s(s, "StepName");
	progress = pbm_ctl_lookup_d(s, "Progress");
	if (!w->tty) {
		/* scripts get one line per step */
		if (g_strcmp0(step, w->last_step) != 0 && !w->ctl->json)
			g_print("step %s, %s left\n", step, left);
		g_free(w->last_step);
		w->last_step = g_strdup(step);
		return;
	}
	filled = (gint)(progress * 30);
	g_print("\r[%.*s%*s] %3.0f%%  %-12s %9s left  red %.2f NIR %.2f J/cm² ", filled,
	        "##############################", 30 - filled, "", progress * 100, step, left,
	        pbm_ctl_lookup_d(s, "DoseRed"), pbm_ctl_lookup_d(s, "DoseNir"));
	fflush(stdout);
}

static void
on_session_signal(GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
                  const gchar *name, GVariant *params, gpointer user_data)
{
	Wait *w = user_data;

	if (g_str_equal(name, "SessionFinished")) {
		const gchar *finished = NULL;
		g_variant_get(params, "(&o&s@a{sv})", &finished, NULL, NULL);
		if (g_strcmp0(finished, w->path) == 0) {
			g_variant_get_child(params, 1, "s", &w->outcome);
			g_main_loop_quit(w->loop);
		}
		return;
	}
	if (g_strcmp0(path, w->path) == 0)
		draw(w);
}

static gboolean
on_interrupt(gpointer user_data)
{
	Wait *w = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = pbm_ctl_call(w->ctl, w->path, PBM_DBUS_INTERFACE_SESSION,
	                                         "Stop", NULL, NULL, &error);
	w->interrupted = TRUE;
	if (reply == NULL)
		g_printerr("%spbmctl: interrupted, but stopping the session failed: %s\n",
		           w->tty ? "\n" : "", error->message);
	else
		g_printerr("%spbmctl: interrupted: the session was stopped\n", w->tty ? "\n" : "");
	return G_SOURCE_CONTINUE;
}

static void
on_pbmd_vanished(GDBusConnection *c, const gchar *name, gpointer user_data)
{
	Wait *w = user_data;

	g_printerr("%spbmctl: pbmd went away during the session; the panel's watchdog switches "
	           "it off, and pbmd records the session as interrupted when it starts again\n",
	           w->tty ? "\n" : "");
	w->vanished = TRUE;
	g_main_loop_quit(w->loop);
}

/* Runs the loop until the session has an outcome or pbmd leaves. */
static void
follow(Wait *w)
{
	GDBusConnection *bus = w->ctl->bus;
	guint sub1, sub2, sig, sig_term, watch;

	sub1 = g_dbus_connection_signal_subscribe(
	        bus, PBM_DBUS_NAME, PBM_DBUS_INTERFACE_MANAGER, "SessionFinished", PBM_DBUS_PATH,
	        NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_session_signal, w, NULL);
	sub2 = g_dbus_connection_signal_subscribe(
	        bus, PBM_DBUS_NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged", w->path,
	        NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_session_signal, w, NULL);
	sig = g_unix_signal_add(SIGINT, on_interrupt, w);
	/* systemctl stop of a timer's unit sends SIGTERM: the light goes off too */
	sig_term = g_unix_signal_add(SIGTERM, on_interrupt, w);
	watch = g_bus_watch_name_on_connection(bus, PBM_DBUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
	                                       NULL, on_pbmd_vanished, w, NULL);
	draw(w);
	/* it may have ended before we subscribed */
	{
		g_autoptr(GVariant) s = get_session(w);
		if (s != NULL && *pbm_ctl_lookup_s(s, "Outcome"))
			w->outcome = g_strdup(pbm_ctl_lookup_s(s, "Outcome"));
	}
	if (w->outcome == NULL)
		g_main_loop_run(w->loop);
	g_source_remove(sig);
	g_source_remove(sig_term);
	g_bus_unwatch_name(watch);
	g_dbus_connection_signal_unsubscribe(bus, sub1);
	g_dbus_connection_signal_unsubscribe(bus, sub2);
}

static void
print_end(Wait *w)
{
	g_autoptr(GVariant) s = get_session(w);

	if (w->tty)
		g_print("\n");
	if (s == NULL)
		return;
	if (w->ctl->json)
		pbm_ctl_print_variant_json(s);
	else
		g_print("%s: %s (%s); red %.2f J/cm², NIR %.2f J/cm²\n",
		        pbm_ctl_lookup_s(s, "Profile"), pbm_ctl_lookup_s(s, "Outcome"),
		        pbm_ctl_lookup_s(s, "Reason"), pbm_ctl_lookup_d(s, "DoseRed"),
		        pbm_ctl_lookup_d(s, "DoseNir"));
}

static gint
wait_for(PbmCtl *ctl, const gchar *path)
{
	Wait w = { .ctl = ctl, .path = g_strdup(path), .tty = isatty(STDOUT_FILENO) && !ctl->json };
	gint code;

	/* The session lives in the pbmd that started it. A call that found it
	 * gone would start another, which knows no such session, and would undo
	 * the `systemctl stop` that ended it (the full-system test saw the stop
	 * job cancelled). */
	ctl->no_auto_start = TRUE;
	w.loop = g_main_loop_new(NULL, FALSE);
	follow(&w);
	if (!w.vanished)
		print_end(&w);
	code = w.vanished ? PBM_CTL_EXIT_NO_DAEMON : exit_for_outcome(w.outcome);
	g_free(w.outcome);
	g_free(w.last_step);
	g_free(w.path);
	g_main_loop_unref(w.loop);
	return code;
}

/* The daemon's warnings for the session, on stderr even when nobody is at
 * a terminal: cron mails it to whoever scheduled the session. */
static void
show_warnings(PbmCtl *ctl, const gchar *path)
{
	g_autoptr(GVariant) s = pbm_ctl_get_all(ctl, path, PBM_DBUS_INTERFACE_SESSION, NULL);
	g_autofree const gchar **warnings = NULL;

	if (s == NULL || !g_variant_lookup(s, "Warnings", "^a&s", &warnings))
		return;
	for (guint i = 0; warnings[i] != NULL; i++)
		g_printerr("WARNING: %s\n", warnings[i]);
}

static GVariant *
start_options(gchar **panels, gdouble distance, gboolean goggles)
{
	GVariantBuilder options;

	g_variant_builder_init(&options, G_VARIANT_TYPE("a{sv}"));
	if (panels != NULL)
		g_variant_builder_add(&options, "{sv}", "panels",
		                      g_variant_new_strv((const gchar *const *)panels, -1));
	if (!isnan(distance))
		g_variant_builder_add(&options, "{sv}", "distance_cm",
		                      g_variant_new_double(distance));
	if (goggles)
		g_variant_builder_add(&options, "{sv}", "goggles", g_variant_new_boolean(TRUE));
	return g_variant_builder_end(&options);
}

gint
pbm_ctl_start(PbmCtl *ctl, gint argc, gchar **argv)
{
	g_auto(GStrv) panels = NULL;
	/* NAN: not given; any number given goes to pbmd, which checks its range */
	gdouble distance = NAN;
	gboolean wait = FALSE, goggles = FALSE;
	GOptionEntry entries[] = {
		{ "panel", 0, 0, G_OPTION_ARG_STRING_ARRAY, &panels, "Use this panel (repeatable)",
		  "SERIAL" },
		{ "distance", 0, 0, G_OPTION_ARG_DOUBLE, &distance, "Distance in cm", "CM" },
		{ "goggles", 0, 0, G_OPTION_ARG_NONE, &goggles,
		  "The person wears eye protection (needed above the eye limit)", NULL },
		{ "wait", 0, 0, G_OPTION_ARG_NONE, &wait, "Wait until the session ends", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new("PROFILE - start a session");
	GError *error = NULL;
	g_autoptr(GVariant) reply = NULL;
	const gchar *path;

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error) || argc != 2) {
		g_printerr("pbmctl start: %s\n", error != NULL
		                                         ? error->message
		                                         : "usage: pbmctl start PROFILE "
		                                           "[--panel SERIAL]... [--distance CM] "
		                                           "[--goggles] [--wait]");
		g_clear_error(&error);
		return PBM_CTL_EXIT_USAGE;
	}
	reply = pbm_ctl_call(
	        ctl, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, "StartSession",
	        g_variant_new("(s@a{sv})", argv[1], start_options(panels, distance, goggles)),
	        G_VARIANT_TYPE("(o)"), &error);
	if (reply == NULL)
		return pbm_ctl_fail(ctl, error);
	g_variant_get(reply, "(&o)", &path);
	show_warnings(ctl, path);
	if (wait)
		return wait_for(ctl, path);
	if (ctl->json)
		g_print("{\"session\":\"%s\"}\n", path);
	else
		g_print("started %s: %s\n", argv[1], path);
	return PBM_CTL_EXIT_OK;
}
