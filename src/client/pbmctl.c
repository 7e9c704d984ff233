/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmctl: the command-line client of pbmd, for people, scripts, cron jobs
 * and systemd timers. It talks to pbmd over D-Bus only. See pbmctl(1).
 */
#include <gio/gio.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "pbm-dbus-error.h"
#include "pbm-format.h"
#include "pbm-profile.h"

/* Exit codes: stable, documented in pbmctl(1). */
enum {
	EXIT_OK = 0,           /* done; for start --wait: completed */
	EXIT_ERROR = 1,        /* anything else */
	EXIT_USAGE = 2,        /* bad command line, unknown profile, invalid argument */
	EXIT_STOPPED = 3,      /* the session was stopped (request, panel button, suspend) */
	EXIT_FAULT = 4,        /* the session ended with a fault */
	EXIT_DISCONNECTED = 5, /* a panel was unplugged during the session */
	EXIT_REFUSED = 6,      /* refused: safety limit, busy, no panel, panel fault */
	EXIT_NOT_AUTHORIZED = 7,
	EXIT_NO_DAEMON = 8, /* pbmd is not running */
};

typedef struct {
	gboolean json;
	gboolean color;
	GBusType bus_type;
	gchar *address;
	GDBusConnection *bus;
} Ctl;

/* ---- output ---- */

static void
print_json(JsonNode *node)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree gchar *text = NULL;

	json_generator_set_root(gen, node);
	json_generator_set_pretty(gen, FALSE);
	text = json_generator_to_data(gen, NULL);
	g_print("%s\n", text);
}

static void
print_variant_json(GVariant *v)
{
	g_autoptr(JsonNode) node = json_gvariant_serialize(v);

	print_json(node);
}

static gint
exit_for_error(const GError *error)
{
	if (g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
	    g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_FILE_NOT_FOUND))
		return EXIT_NO_DAEMON;
	if (error->domain != PBM_DBUS_ERROR)
		return EXIT_ERROR;
	switch (error->code) {
	case PBM_DBUS_ERROR_NOT_AUTHORIZED:
		return EXIT_NOT_AUTHORIZED;
	case PBM_DBUS_ERROR_NO_SUCH_PROFILE:
	case PBM_DBUS_ERROR_INVALID_ARGS:
		return EXIT_USAGE;
	case PBM_DBUS_ERROR_SAFETY_LIMIT:
	case PBM_DBUS_ERROR_BUSY:
	case PBM_DBUS_ERROR_NO_PANEL:
	case PBM_DBUS_ERROR_FAULT:
		return EXIT_REFUSED;
	default:
		return EXIT_ERROR;
	}
}

static gint
fail(Ctl *ctl, GError *error)
{
	gint code = exit_for_error(error);

	g_dbus_error_strip_remote_error(error);
	if (code == EXIT_NO_DAEMON)
		g_printerr("pbmctl: pbmd is not running (%s). Start it with: sudo systemctl start "
		           "pbmd.service\n",
		           error->message);
	else
		g_printerr("pbmctl: %s\n", error->message);
	if (ctl->json) {
		g_autoptr(JsonBuilder) b = json_builder_new();
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "error");
		json_builder_add_string_value(b, error->message);
		json_builder_set_member_name(b, "exit_code");
		json_builder_add_int_value(b, code);
		json_builder_end_object(b);
		g_autoptr(JsonNode) root = json_builder_get_root(b);
		print_json(root);
	}
	g_error_free(error);
	return code;
}

/* ---- calls ---- */

static GVariant *
call(Ctl *ctl, const gchar *path, const gchar *iface, const gchar *method, GVariant *args,
     const GVariantType *reply_type, GError **error)
{
	return g_dbus_connection_call_sync(ctl->bus, "org.pbmd", path, iface, method, args,
	                                   reply_type, G_DBUS_CALL_FLAGS_NONE, 30000, NULL, error);
}

static GVariant *
get_all(Ctl *ctl, const gchar *path, const gchar *iface, GError **error)
{
	g_autoptr(GVariant) reply =
	        call(ctl, path, "org.freedesktop.DBus.Properties", "GetAll",
	             g_variant_new("(s)", iface), G_VARIANT_TYPE("(a{sv})"), error);

	return reply != NULL ? g_variant_get_child_value(reply, 0) : NULL;
}

/* A string or object path from a dictionary; "" when absent. The value
 * lives as long as dict. */
static const gchar *
lookup_s(GVariant *dict, const gchar *key)
{
	g_autoptr(GVariant) v = g_variant_lookup_value(dict, key, NULL);

	if (v == NULL || !(g_variant_is_of_type(v, G_VARIANT_TYPE_STRING) ||
	                   g_variant_is_of_type(v, G_VARIANT_TYPE_OBJECT_PATH)))
		return "";
	/* the dictionary keeps the data alive */
	return g_variant_get_string(v, NULL);
}

static gdouble
lookup_d(GVariant *dict, const gchar *key)
{
	gdouble d = 0;

	g_variant_lookup(dict, key, "d", &d);
	return d;
}

static void
warn_version_skew(Ctl *ctl, GVariant *manager)
{
	const gchar *theirs = lookup_s(manager, "Version");
	g_auto(GStrv) a = g_strsplit(PACKAGE_VERSION, ".", 3), b = g_strsplit(theirs, ".", 3);

	if (g_strv_length(a) < 2 || g_strv_length(b) < 2 || g_strcmp0(a[0], b[0]) != 0 ||
	    g_strcmp0(a[1], b[1]) != 0)
		g_printerr("pbmctl: warning: pbmctl %s talks to pbmd %s; update the older one\n",
		           PACKAGE_VERSION, theirs);
}

/* ---- commands ---- */

static gint
cmd_status(Ctl *ctl, gint argc, gchar **argv)
{
	GError *error = NULL;
	g_autoptr(GVariant) m = get_all(ctl, "/org/pbmd", "org.pbmd1.Manager", &error);
	g_autoptr(GVariant) session = NULL;
	const gchar *active;

	if (m == NULL)
		return fail(ctl, error);
	warn_version_skew(ctl, m);
	active = lookup_s(m, "ActiveSession");
	if (!g_str_equal(active, "/"))
		session = get_all(ctl, active, "org.pbmd1.Session", NULL);
	if (ctl->json) {
		g_autoptr(JsonBuilder) b = json_builder_new();
		g_autoptr(GVariant) panels = g_variant_lookup_value(m, "Panels", NULL);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "version");
		json_builder_add_string_value(b, lookup_s(m, "Version"));
		json_builder_set_member_name(b, "state");
		json_builder_add_string_value(b, lookup_s(m, "State"));
		json_builder_set_member_name(b, "panels");
		json_builder_add_int_value(b, panels != NULL ? g_variant_n_children(panels) : 0);
		json_builder_set_member_name(b, "session");
		if (session != NULL) {
			guint64 remaining = 0;
			g_variant_lookup(session, "Remaining", "t", &remaining);
			json_builder_begin_object(b);
			json_builder_set_member_name(b, "profile");
			json_builder_add_string_value(b, lookup_s(session, "Profile"));
			json_builder_set_member_name(b, "state");
			json_builder_add_string_value(b, lookup_s(session, "State"));
			json_builder_set_member_name(b, "outcome");
			json_builder_add_string_value(b, lookup_s(session, "Outcome"));
			json_builder_set_member_name(b, "step");
			json_builder_add_string_value(b, lookup_s(session, "StepName"));
			json_builder_set_member_name(b, "remaining_s");
			json_builder_add_int_value(b, (gint64)(remaining / G_USEC_PER_SEC));
			json_builder_set_member_name(b, "progress");
			json_builder_add_double_value(b, lookup_d(session, "Progress"));
			json_builder_set_member_name(b, "dose_red");
			json_builder_add_double_value(b, lookup_d(session, "DoseRed"));
			json_builder_set_member_name(b, "dose_nir");
			json_builder_add_double_value(b, lookup_d(session, "DoseNir"));
			json_builder_end_object(b);
		} else {
			json_builder_add_null_value(b);
		}
		json_builder_end_object(b);
		g_autoptr(JsonNode) root = json_builder_get_root(b);
		print_json(root);
		return EXIT_OK;
	}
	g_print("pbmd %s: %s\n", lookup_s(m, "Version"), lookup_s(m, "State"));
	if (session != NULL) {
		guint64 remaining = 0;
		g_autofree gchar *left = NULL;
		g_variant_lookup(session, "Remaining", "t", &remaining);
		left = pbm_duration_format((gint64)remaining);
		g_print("session: %s, %s%s%s, step %s, %s left, red %.1f J/cm², NIR %.1f J/cm²\n",
		        lookup_s(session, "Profile"), lookup_s(session, "State"),
		        *lookup_s(session, "Outcome") ? " " : "", lookup_s(session, "Outcome"),
		        lookup_s(session, "StepName"), left, lookup_d(session, "DoseRed"),
		        lookup_d(session, "DoseNir"));
	}
	return EXIT_OK;
}

static gint
cmd_panels(Ctl *ctl, gint argc, gchar **argv)
{
	GError *error = NULL;
	g_autoptr(GVariant) m = get_all(ctl, "/org/pbmd", "org.pbmd1.Manager", &error);
	g_autoptr(GVariant) paths = NULL;
	GVariantBuilder all;
	GVariantIter iter;
	const gchar *path;

	if (m == NULL)
		return fail(ctl, error);
	paths = g_variant_lookup_value(m, "Panels", G_VARIANT_TYPE("ao"));
	g_variant_builder_init(&all, G_VARIANT_TYPE("aa{sv}"));
	g_variant_iter_init(&iter, paths);
	while (g_variant_iter_next(&iter, "&o", &path)) {
		g_autoptr(GVariant) p = get_all(ctl, path, "org.pbmd1.Panel", &error);
		if (p == NULL)
			return fail(ctl, error);
		if (!ctl->json)
			g_print("%-16s %-12s %-28s firmware %-10s %5.1f °C\n",
			        lookup_s(p, "Serial"), lookup_s(p, "State"), lookup_s(p, "Model"),
			        lookup_s(p, "FirmwareVersion"), lookup_d(p, "Temperature"));
		g_variant_builder_add_value(&all, p);
	}
	if (ctl->json) {
		g_autoptr(GVariant) v = g_variant_ref_sink(g_variant_builder_end(&all));
		print_variant_json(v);
	} else {
		g_variant_builder_clear(&all);
		if (g_variant_n_children(paths) == 0)
			g_print("no panel: check the cable and power, that lsusb lists it, and "
			        "that "
			        "the pbmd udev rule is installed\n");
	}
	return EXIT_OK;
}

static gint
cmd_profiles(Ctl *ctl, gint argc, gchar **argv)
{
	GError *error = NULL;
	g_autoptr(GVariant) reply = call(ctl, "/org/pbmd", "org.pbmd1.Manager", "ListProfiles",
	                                 NULL, G_VARIANT_TYPE("(aa{sv})"), &error);
	g_autoptr(GVariant) list = NULL;
	GVariantIter iter;
	GVariant *p;

	if (reply == NULL)
		return fail(ctl, error);
	list = g_variant_get_child_value(reply, 0);
	if (ctl->json) {
		print_variant_json(list);
		return EXIT_OK;
	}
	g_variant_iter_init(&iter, list);
	while ((p = g_variant_iter_next_value(&iter)) != NULL) {
		guint64 duration = 0;
		g_autofree gchar *d = NULL;
		if (g_variant_lookup(p, "duration_s", "t", &duration))
			d = pbm_duration_format((gint64)duration * G_USEC_PER_SEC);
		if (d != NULL)
			g_print("%-14s %-28s %10s  red %5.1f  NIR %5.1f J/cm²\n",
			        lookup_s(p, "name"), lookup_s(p, "title"), d,
			        lookup_d(p, "dose_red"), lookup_d(p, "dose_nir"));
		else /* without a panel there is no calibration to compute them from */
			g_print("%-14s %-28s (duration and dose known once a panel is "
			        "connected)\n",
			        lookup_s(p, "name"), lookup_s(p, "title"));
		g_variant_unref(p);
	}
	return EXIT_OK;
}

static gint
profile_check(Ctl *ctl, const gchar *file)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmProfile) p = pbm_profile_load(file, &error);

	if (p == NULL) {
		g_printerr("%s\n", error->message);
		if (ctl->json) {
			g_autoptr(JsonBuilder) b = json_builder_new();
			json_builder_begin_object(b);
			json_builder_set_member_name(b, "valid");
			json_builder_add_boolean_value(b, FALSE);
			json_builder_set_member_name(b, "error");
			json_builder_add_string_value(b, error->message);
			json_builder_end_object(b);
			g_autoptr(JsonNode) root = json_builder_get_root(b);
			print_json(root);
		}
		return EXIT_USAGE;
	}
	if (ctl->json) {
		g_autoptr(JsonBuilder) b = json_builder_new();
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "valid");
		json_builder_add_boolean_value(b, TRUE);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, p->name);
		json_builder_set_member_name(b, "steps");
		json_builder_add_int_value(b, p->steps->len);
		json_builder_end_object(b);
		g_autoptr(JsonNode) root = json_builder_get_root(b);
		print_json(root);
	} else {
		g_print("%s: profile %s is valid (%u steps)\n", file, p->name, p->steps->len);
	}
	return EXIT_OK;
}

static gint
cmd_profile(Ctl *ctl, gint argc, gchar **argv)
{
	GError *error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) p = NULL;
	g_autoptr(GVariant) steps = NULL;
	GVariantIter iter;
	GVariant *s;

	if (argc == 3 && g_str_equal(argv[1], "check"))
		return profile_check(ctl, argv[2]);
	if (argc != 3 || !g_str_equal(argv[1], "show")) {
		g_printerr("pbmctl: usage: pbmctl profile show NAME | pbmctl profile check FILE\n");
		return EXIT_USAGE;
	}
	reply = call(ctl, "/org/pbmd", "org.pbmd1.Manager", "GetProfile",
	             g_variant_new("(s)", argv[2]), G_VARIANT_TYPE("(a{sv})"), &error);
	if (reply == NULL)
		return fail(ctl, error);
	p = g_variant_get_child_value(reply, 0);
	if (ctl->json) {
		print_variant_json(p);
		return EXIT_OK;
	}
	{
		gboolean goggles = FALSE;
		g_variant_lookup(p, "goggles_required", "b", &goggles);
		g_print("%s: %s\n%s\ndistance %.1f cm, goggles %s\n", lookup_s(p, "name"),
		        lookup_s(p, "title"), lookup_s(p, "description"),
		        lookup_d(p, "distance_cm"), goggles ? "required" : "not required");
	}
	steps = g_variant_lookup_value(p, "steps_detail", G_VARIANT_TYPE("aa{sv}"));
	g_variant_iter_init(&iter, steps);
	while ((s = g_variant_iter_next_value(&iter)) != NULL) {
		guint64 duration = 0;
		g_variant_lookup(s, "duration_s", "t", &duration);
		g_print("  %-14s %5" G_GUINT64_FORMAT
		        " s  red %5.1f %%  NIR %5.1f %%  pulse %g Hz\n",
		        lookup_s(s, "name"), duration, lookup_d(s, "red"), lookup_d(s, "nir"),
		        lookup_d(s, "pulse_hz"));
		g_variant_unref(s);
	}
	return EXIT_OK;
}

static gint
simple_call(Ctl *ctl, const gchar *method, const gchar *done)
{
	GError *error = NULL;
	g_autoptr(GVariant) reply =
	        call(ctl, "/org/pbmd", "org.pbmd1.Manager", method, NULL, NULL, &error);

	if (reply == NULL)
		return fail(ctl, error);
	if (!ctl->json)
		g_print("%s\n", done);
	else
		g_print("{\"ok\":true}\n");
	return EXIT_OK;
}

static gint
cmd_stop(Ctl *ctl, gint argc, gchar **argv)
{
	return simple_call(ctl, "StopSession", "stopped");
}

static gint
cmd_pause(Ctl *ctl, gint argc, gchar **argv)
{
	return simple_call(ctl, "PauseSession", "paused");
}

static gint
cmd_resume(Ctl *ctl, gint argc, gchar **argv)
{
	return simple_call(ctl, "ResumeSession", "resumed");
}

static gint
cmd_reload(Ctl *ctl, gint argc, gchar **argv)
{
	return simple_call(ctl, "ReloadConfig", "configuration and profiles reloaded");
}

static gint
cmd_identify(Ctl *ctl, gint argc, gchar **argv)
{
	GError *error = NULL;
	g_autoptr(GVariant) m = get_all(ctl, "/org/pbmd", "org.pbmd1.Manager", &error);
	g_autoptr(GVariant) paths = NULL;
	GVariantIter iter;
	const gchar *path;
	guint n = 0;

	if (m == NULL)
		return fail(ctl, error);
	paths = g_variant_lookup_value(m, "Panels", G_VARIANT_TYPE("ao"));
	g_variant_iter_init(&iter, paths);
	while (g_variant_iter_next(&iter, "&o", &path)) {
		g_autoptr(GVariant) serial = NULL;
		g_autoptr(GVariant) reply = NULL;
		g_autoptr(GVariant) p = get_all(ctl, path, "org.pbmd1.Panel", NULL);
		gboolean connected = FALSE;
		if (p == NULL || (argc > 1 && !g_str_equal(lookup_s(p, "Serial"), argv[1])))
			continue;
		if (!g_variant_lookup(p, "Connected", "b", &connected) || !connected)
			continue;
		reply = call(ctl, path, "org.pbmd1.Panel", "Identify", NULL, NULL, &error);
		if (reply == NULL)
			return fail(ctl, error);
		n++;
	}
	if (n == 0) {
		g_printerr("pbmctl: no panel%s%s; pbmctl panels lists them\n",
		           argc > 1 ? " with serial " : "", argc > 1 ? argv[1] : "");
		return EXIT_REFUSED;
	}
	if (!ctl->json)
		g_print("identifying %u panel%s: watch for the blinking indicator\n", n,
		        n == 1 ? "" : "s");
	else
		g_print("{\"ok\":true,\"panels\":%u}\n", n);
	return EXIT_OK;
}

static gint
cmd_history(Ctl *ctl, gint argc, gchar **argv)
{
	g_autofree gchar *since = NULL;
	gint limit = 20;
	GOptionEntry entries[] = {
		{ "since", 0, 0, G_OPTION_ARG_STRING, &since,
		  "Only sessions since DATE (YYYY-MM-DD)", "DATE" },
		{ "limit", 0, 0, G_OPTION_ARG_INT, &limit, "At most N sessions (default 20)", "N" },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new("- list past sessions");
	GError *error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) rows = NULL;
	gint64 since_us = 0;
	GVariantIter iter;
	GVariant *r;

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("pbmctl history: %s\n", error->message);
		g_error_free(error);
		return EXIT_USAGE;
	}
	if (limit < 1 || limit > 10000) {
		g_printerr("pbmctl history: --limit must be 1 to 10000\n");
		return EXIT_USAGE;
	}
	if (since != NULL) {
		g_autofree gchar *iso = g_strconcat(since, "T00:00:00", NULL);
		g_autoptr(GTimeZone) tz = g_time_zone_new_local();
		g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(iso, tz);
		if (dt == NULL) {
			g_printerr(
			        "pbmctl history: --since takes a date as YYYY-MM-DD, not \"%s\"\n",
			        since);
			return EXIT_USAGE;
		}
		since_us = g_date_time_to_unix(dt) * G_USEC_PER_SEC;
	}
	reply = call(ctl, "/org/pbmd", "org.pbmd1.Manager", "GetHistory",
	             g_variant_new("(xu)", since_us, (guint32)limit), G_VARIANT_TYPE("(aa{sv})"),
	             &error);
	if (reply == NULL)
		return fail(ctl, error);
	rows = g_variant_get_child_value(reply, 0);
	if (ctl->json) {
		print_variant_json(rows);
		return EXIT_OK;
	}
	g_variant_iter_init(&iter, rows);
	while ((r = g_variant_iter_next_value(&iter)) != NULL) {
		gint64 started = 0, id = 0;
		g_autoptr(GDateTime) dt = NULL;
		g_autofree gchar *when = NULL;
		g_variant_lookup(r, "started_at", "x", &started);
		g_variant_lookup(r, "id", "x", &id);
		dt = g_date_time_new_from_unix_local(started / G_USEC_PER_SEC);
		when = g_date_time_format(dt, "%Y-%m-%d %H:%M");
		g_print("%4" G_GINT64_FORMAT "  %s  %-14s %-16s red %5.1f  NIR %5.1f J/cm²\n", id,
		        when, lookup_s(r, "profile"),
		        *lookup_s(r, "outcome") ? lookup_s(r, "outcome") : "running",
		        lookup_d(r, "dose_red"), lookup_d(r, "dose_nir"));
		g_variant_unref(r);
	}
	return EXIT_OK;
}

/* ---- start and --wait ---- */

typedef struct {
	Ctl *ctl;
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
		return EXIT_OK;
	if (g_strcmp0(outcome, "fault") == 0)
		return EXIT_FAULT;
	if (g_strcmp0(outcome, "disconnected") == 0)
		return EXIT_DISCONNECTED;
	return EXIT_STOPPED;
}

static void
draw(Wait *w)
{
	g_autoptr(GVariant) s = get_all(w->ctl, w->path, "org.pbmd1.Session", NULL);
	guint64 remaining = 0;
	g_autofree gchar *left = NULL;
	const gchar *step;
	gdouble progress;
	gint filled;

	if (s == NULL)
		return;
	g_variant_lookup(s, "Remaining", "t", &remaining);
	left = pbm_duration_format((gint64)remaining);
	step = lookup_s(s, "StepName");
	progress = lookup_d(s, "Progress");
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
	        lookup_d(s, "DoseRed"), lookup_d(s, "DoseNir"));
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
	g_autoptr(GVariant) reply =
	        call(w->ctl, w->path, "org.pbmd1.Session", "Stop", NULL, NULL, &error);
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

static gint
wait_for(Ctl *ctl, const gchar *path)
{
	Wait w = { .ctl = ctl, .path = g_strdup(path), .tty = isatty(STDOUT_FILENO) && !ctl->json };
	guint sub1, sub2, sig, sig_term, watch;
	gint code;

	w.loop = g_main_loop_new(NULL, FALSE);
	sub1 = g_dbus_connection_signal_subscribe(
	        ctl->bus, "org.pbmd", "org.pbmd1.Manager", "SessionFinished", "/org/pbmd", NULL,
	        G_DBUS_SIGNAL_FLAGS_NONE, on_session_signal, &w, NULL);
	sub2 = g_dbus_connection_signal_subscribe(
	        ctl->bus, "org.pbmd", "org.freedesktop.DBus.Properties", "PropertiesChanged", path,
	        NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_session_signal, &w, NULL);
	sig = g_unix_signal_add(SIGINT, on_interrupt, &w);
	/* systemctl stop of a timer's unit sends SIGTERM: the light goes off too */
	sig_term = g_unix_signal_add(SIGTERM, on_interrupt, &w);
	watch = g_bus_watch_name_on_connection(ctl->bus, "org.pbmd", G_BUS_NAME_WATCHER_FLAGS_NONE,
	                                       NULL, on_pbmd_vanished, &w, NULL);
	draw(&w);
	/* it may have ended before we subscribed */
	{
		g_autoptr(GVariant) s = get_all(ctl, path, "org.pbmd1.Session", NULL);
		if (s != NULL && *lookup_s(s, "Outcome"))
			w.outcome = g_strdup(lookup_s(s, "Outcome"));
	}
	if (w.outcome == NULL)
		g_main_loop_run(w.loop);
	g_source_remove(sig);
	g_source_remove(sig_term);
	g_bus_unwatch_name(watch);
	g_dbus_connection_signal_unsubscribe(ctl->bus, sub1);
	g_dbus_connection_signal_unsubscribe(ctl->bus, sub2);
	if (!w.vanished) {
		g_autoptr(GVariant) s = get_all(ctl, path, "org.pbmd1.Session", NULL);
		if (w.tty)
			g_print("\n");
		if (ctl->json && s != NULL) {
			print_variant_json(s);
		} else if (s != NULL) {
			g_print("%s: %s (%s); red %.2f J/cm², NIR %.2f J/cm²\n",
			        lookup_s(s, "Profile"), lookup_s(s, "Outcome"),
			        lookup_s(s, "Reason"), lookup_d(s, "DoseRed"),
			        lookup_d(s, "DoseNir"));
		}
	}
	code = w.vanished ? EXIT_NO_DAEMON : exit_for_outcome(w.outcome);
	g_free(w.outcome);
	g_free(w.last_step);
	g_free(w.path);
	g_main_loop_unref(w.loop);
	return code;
}

static void
show_warnings(Ctl *ctl, const gchar *profile)
{
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) p = NULL;
	gboolean goggles = FALSE;
	const gchar *warning = NULL;

	if (ctl->json || !isatty(STDOUT_FILENO))
		return;
	reply = call(ctl, "/org/pbmd", "org.pbmd1.Manager", "GetProfile",
	             g_variant_new("(s)", profile), G_VARIANT_TYPE("(a{sv})"), NULL);
	if (reply == NULL)
		return;
	p = g_variant_get_child_value(reply, 0);
	if (g_variant_lookup(p, "goggles_required", "b", &goggles) && goggles)
		g_print("WARNING: this session uses near-infrared light, which you cannot see and "
		        "which gives no blink reflex. Wear the goggles and do not look into the "
		        "panel.\n");
	if (g_variant_lookup(p, "pulse_warning", "&s", &warning))
		g_print("WARNING: %s\n", warning);
}

static gint
cmd_start(Ctl *ctl, gint argc, gchar **argv)
{
	g_auto(GStrv) panels =
	        NULL; /* NAN: not given; any number given goes to pbmd, which checks its range */
	gdouble distance = NAN;
	gboolean wait = FALSE;
	GOptionEntry entries[] = {
		{ "panel", 0, 0, G_OPTION_ARG_STRING_ARRAY, &panels, "Use this panel (repeatable)",
		  "SERIAL" },
		{ "distance", 0, 0, G_OPTION_ARG_DOUBLE, &distance, "Distance in cm", "CM" },
		{ "wait", 0, 0, G_OPTION_ARG_NONE, &wait, "Wait until the session ends", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new("PROFILE - start a session");
	GError *error = NULL;
	GVariantBuilder options;
	g_autoptr(GVariant) reply = NULL;
	const gchar *path;

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error) || argc != 2) {
		g_printerr("pbmctl start: %s\n", error != NULL
		                                         ? error->message
		                                         : "usage: pbmctl start PROFILE "
		                                           "[--panel SERIAL]... [--distance CM] "
		                                           "[--wait]");
		g_clear_error(&error);
		return EXIT_USAGE;
	}
	g_variant_builder_init(&options, G_VARIANT_TYPE("a{sv}"));
	if (panels != NULL)
		g_variant_builder_add(&options, "{sv}", "panels",
		                      g_variant_new_strv((const gchar *const *)panels, -1));
	if (!isnan(distance))
		g_variant_builder_add(&options, "{sv}", "distance_cm",
		                      g_variant_new_double(distance));
	show_warnings(ctl, argv[1]);
	reply = call(ctl, "/org/pbmd", "org.pbmd1.Manager", "StartSession",
	             g_variant_new("(sa{sv})", argv[1], &options), G_VARIANT_TYPE("(o)"), &error);
	if (reply == NULL)
		return fail(ctl, error);
	g_variant_get(reply, "(&o)", &path);
	if (!wait) {
		if (ctl->json)
			g_print("{\"session\":\"%s\"}\n", path);
		else
			g_print("started %s: %s\n", argv[1], path);
		return EXIT_OK;
	}
	return wait_for(ctl, path);
}

static void
on_monitor_signal(GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
                  const gchar *name, GVariant *params, gpointer user_data)
{
	Ctl *ctl = user_data;

	if (ctl->json) {
		/* one JSON object per line, for scripts that follow pbmd */
		g_autoptr(JsonBuilder) b = json_builder_new();
		g_autoptr(JsonNode) root = NULL;
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "path");
		json_builder_add_string_value(b, path);
		json_builder_set_member_name(b, "interface");
		json_builder_add_string_value(b, iface);
		json_builder_set_member_name(b, "signal");
		json_builder_add_string_value(b, name);
		json_builder_set_member_name(b, "args");
		json_builder_add_value(b, json_gvariant_serialize(params));
		json_builder_end_object(b);
		root = json_builder_get_root(b);
		print_json(root);
	} else {
		g_autofree gchar *text = g_variant_print(params, FALSE);
		g_print("%s %s.%s %s\n", path, iface, name, text);
	}
	/* a pipe (pbmctl monitor | grep ...) sees each event as it happens */
	fflush(stdout);
}

static gboolean
quit_loop(gpointer user_data)
{
	g_main_loop_quit(user_data);
	return G_SOURCE_REMOVE;
}

static gint
cmd_monitor(Ctl *ctl, gint argc, gchar **argv)
{
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	GError *error = NULL;
	g_autoptr(GVariant) m = get_all(ctl, "/org/pbmd", "org.pbmd1.Manager", &error);

	if (m == NULL)
		return fail(ctl, error);
	g_dbus_connection_signal_subscribe(ctl->bus, "org.pbmd", NULL, NULL, NULL, NULL,
	                                   G_DBUS_SIGNAL_FLAGS_NONE, on_monitor_signal, ctl, NULL);
	g_unix_signal_add(SIGINT, quit_loop, loop);
	g_unix_signal_add(SIGTERM, quit_loop, loop);
	if (!ctl->json)
		g_print("following pbmd %s (Ctrl-C to stop)\n", lookup_s(m, "Version"));
	g_main_loop_run(loop);
	return EXIT_OK;
}

/* ---- main ---- */

typedef struct {
	const gchar *name;
	gint (*run)(Ctl *, gint, gchar **);
	gboolean needs_bus;
	const gchar *help;
} Command;

static const Command commands[] = {
	{ "status", cmd_status, TRUE, "the daemon's state and the active session" },
	{ "panels", cmd_panels, TRUE, "the panels and their state" },
	{ "profiles", cmd_profiles, TRUE, "the profiles, with duration and dose" },
	{ "profile", cmd_profile, FALSE, "show NAME: one profile; check FILE: validate a file" },
	{ "start", cmd_start, TRUE, "PROFILE [--panel SERIAL]... [--distance CM] [--wait]" },
	{ "stop", cmd_stop, TRUE, "stop the active session" },
	{ "pause", cmd_pause, TRUE, "pause the active session (lights off)" },
	{ "resume", cmd_resume, TRUE, "resume the paused session" },
	{ "monitor", cmd_monitor, TRUE, "follow signals and property changes" },
	{ "history", cmd_history, TRUE, "[--since DATE] [--limit N]: past sessions" },
	{ "identify", cmd_identify, TRUE, "[SERIAL]: blink a panel's indicator" },
	{ "reload", cmd_reload, TRUE, "reload pbmd's configuration and profiles" },
};

static void
usage(FILE *out)
{
	fprintf(out, "Usage: pbmctl [--json] [--system|--session|--address ADDR] [--no-color] "
	             "COMMAND [ARGS]\n\nCommands:\n");
	for (guint i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\nExit codes: 0 done/completed, 1 error, 2 bad usage, 3 stopped, 4 fault, "
	             "5 disconnected,\n6 refused, 7 not authorized, 8 pbmd not running. See "
	             "pbmctl(1).\n");
}

static gboolean
connect_bus(Ctl *ctl, GError **error)
{
	if (ctl->address != NULL)
		ctl->bus = g_dbus_connection_new_for_address_sync(
		        ctl->address,
		        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		        NULL, NULL, error);
	else
		ctl->bus = g_bus_get_sync(ctl->bus_type, NULL, error);
	return ctl->bus != NULL;
}

int
main(int argc, char **argv)
{
	Ctl ctl = { .bus_type = G_BUS_TYPE_SYSTEM, .color = TRUE };
	gint i = 1;
	gint code;
	GError *error = NULL;

	setlocale(LC_ALL, "");
	/* Registered before any call, so that replies map to PBM_DBUS_ERROR. */
	(void)PBM_DBUS_ERROR;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (g_str_equal(argv[i], "--json"))
			ctl.json = TRUE;
		else if (g_str_equal(argv[i], "--system"))
			ctl.bus_type = G_BUS_TYPE_SYSTEM;
		else if (g_str_equal(argv[i], "--session"))
			ctl.bus_type = G_BUS_TYPE_SESSION;
		else if (g_str_equal(argv[i], "--address") && i + 1 < argc)
			ctl.address = argv[++i];
		else if (g_str_equal(argv[i], "--address")) {
			g_printerr("pbmctl: --address needs a D-Bus address, e.g. "
			           "unix:path=/run/my-bus\n");
			return EXIT_USAGE;
		} else if (g_str_has_prefix(argv[i], "--address="))
			ctl.address = argv[i] + strlen("--address=");
		else if (g_str_equal(argv[i], "--no-color"))
			ctl.color = FALSE;
		else if (g_str_equal(argv[i], "--version")) {
			g_print("pbmctl %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		} else if (g_str_equal(argv[i], "--help") || g_str_equal(argv[i], "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else {
			g_printerr("pbmctl: unknown option %s\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	} /* --json and --no-color may also follow the command */
	for (gint k = i + 1; k < argc;) {
		if (g_str_equal(argv[k], "--json") || g_str_equal(argv[k], "--no-color")) {
			ctl.json |= g_str_equal(argv[k], "--json");
			memmove(&argv[k], &argv[k + 1], (gsize)(argc - k) * sizeof(gchar *));
			argc--;
		} else {
			k++;
		}
	}
	for (guint c = 0; c < G_N_ELEMENTS(commands); c++) {
		if (!g_str_equal(argv[i], commands[c].name))
			continue;
		/* profile check works offline */
		if ((commands[c].needs_bus ||
		     !(argc - i == 3 && g_str_equal(argv[i + 1], "check"))) &&
		    !connect_bus(&ctl, &error))
			return fail(&ctl, error);
		code = commands[c].run(&ctl, argc - i, argv + i);
		g_clear_object(&ctl.bus);
		return code;
	}
	g_printerr("pbmctl: unknown command \"%s\"\n", argv[i]);
	usage(stderr);
	return EXIT_USAGE;
}
