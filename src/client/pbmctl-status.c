/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmctl status [--follow]: the daemon's state and the active session.
 * With --follow, one JSON line at once and one more at each change, for
 * status bars (waybar's custom module with return-type json): it follows
 * pbmd's signals and its bus name, and never polls.
 */
#include <glib-unix.h>
#include <math.h>
#include <stdio.h>

#include "pbm-format.h"
#include "pbm-names.h"
#include "pbmctl-commands.h"

/* ---- the status object ---- */

/* The Manager's state as a bar shows it when no session is shown. */
static const gchar *
state_words(const gchar *state)
{
	if (g_str_equal(state, "no-panel"))
		return "no panel";
	if (g_str_equal(state, "fault"))
		return "panel fault";
	return state;
}

static gboolean
session_ended(GVariant *session)
{
	return g_str_equal(pbm_ctl_lookup_s(session, "State"), "finished") ||
	       *pbm_ctl_lookup_s(session, "Outcome") != '\0';
}

/* "3:10", "1:02:05": what fits in a bar. */
static gchar *
clock_left(GVariant *session)
{
	guint64 remaining = 0, s;

	g_variant_lookup(session, "Remaining", "t", &remaining);
	s = remaining / G_USEC_PER_SEC;
	if (s >= 3600)
		return g_strdup_printf("%u:%02u:%02u", (guint)(s / 3600), (guint)(s / 60 % 60),
		                       (guint)(s % 60));
	return g_strdup_printf("%u:%02u", (guint)(s / 60), (guint)(s % 60));
}

/* "demo 42% 3:10 left", "demo paused 42% 3:10 left", "demo stopped" */
static gchar *
session_text(GVariant *session)
{
	const gchar *profile = pbm_ctl_lookup_s(session, "Profile");
	const gchar *state = pbm_ctl_lookup_s(session, "State");
	const gchar *outcome = pbm_ctl_lookup_s(session, "Outcome");
	gint percent = (gint)floor(CLAMP(pbm_ctl_lookup_d(session, "Progress"), 0, 1) * 100);
	g_autofree gchar *left = NULL;

	if (session_ended(session))
		return g_strdup_printf("%s %s", profile, *outcome != '\0' ? outcome : state);
	left = clock_left(session);
	if (g_str_equal(state, "running"))
		return g_strdup_printf("%s %d%% %s left", profile, percent, left);
	return g_strdup_printf("%s %s %d%% %s left", profile, state, percent, left);
}

static gchar *
status_text(GVariant *m, GVariant *session)
{
	if (m == NULL)
		return g_strdup("pbmd not running");
	if (session != NULL)
		return session_text(session);
	return g_strdup(state_words(pbm_ctl_lookup_s(m, "State")));
}

static void
append_session_tooltip(GString *t, GVariant *session)
{
	const gchar *outcome = pbm_ctl_lookup_s(session, "Outcome");
	g_autofree const gchar **warnings = NULL;

	g_string_append_printf(t, "\n%s: %s", pbm_ctl_lookup_s(session, "Profile"),
	                       *outcome != '\0' ? outcome : pbm_ctl_lookup_s(session, "State"));
	if (!session_ended(session)) {
		guint64 remaining = 0;
		g_autofree gchar *left = NULL;

		g_variant_lookup(session, "Remaining", "t", &remaining);
		left = pbm_duration_format((gint64)remaining);
		g_string_append_printf(t, ", step %s, %s left",
		                       pbm_ctl_lookup_s(session, "StepName"), left);
	}
	g_string_append_printf(t, "\nred %.2f J/cm², NIR %.2f J/cm² so far",
	                       pbm_ctl_lookup_d(session, "DoseRed"),
	                       pbm_ctl_lookup_d(session, "DoseNir"));
	if (g_variant_lookup(session, "Warnings", "^a&s", &warnings)) {
		for (guint i = 0; warnings[i] != NULL; i++)
			g_string_append_printf(t, "\nWARNING: %s", warnings[i]);
	}
}

/* Several lines: pbmd and its panels, then the session, its dose and
 * pbmd's warnings for it. */
static gchar *
status_tooltip(GVariant *m, GVariant *session)
{
	g_autoptr(GVariant) panels = NULL;
	GString *t;
	gsize n;

	if (m == NULL)
		return g_strdup("pbmd is not running; start it with: sudo systemctl start "
		                "pbmd.service");
	panels = g_variant_lookup_value(m, "Panels", G_VARIANT_TYPE("ao"));
	n = panels != NULL ? g_variant_n_children(panels) : 0;
	t = g_string_new(NULL);
	g_string_append_printf(t, "pbmd %s: %s, %" G_GSIZE_FORMAT " panel%s",
	                       pbm_ctl_lookup_s(m, "Version"),
	                       state_words(pbm_ctl_lookup_s(m, "State")), n, n == 1 ? "" : "s");
	if (session != NULL)
		append_session_tooltip(t, session);
	return g_string_free(t, FALSE);
}

static void
add_warnings_json(JsonBuilder *b, GVariant *session)
{
	g_autofree const gchar **warnings = NULL;

	json_builder_begin_array(b);
	if (g_variant_lookup(session, "Warnings", "^a&s", &warnings)) {
		for (guint i = 0; warnings[i] != NULL; i++)
			json_builder_add_string_value(b, warnings[i]);
	}
	json_builder_end_array(b);
}

static void
add_session_json(JsonBuilder *b, GVariant *session)
{
	guint64 remaining = 0;

	g_variant_lookup(session, "Remaining", "t", &remaining);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "profile");
	json_builder_add_string_value(b, pbm_ctl_lookup_s(session, "Profile"));
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, pbm_ctl_lookup_s(session, "State"));
	json_builder_set_member_name(b, "outcome");
	json_builder_add_string_value(b, pbm_ctl_lookup_s(session, "Outcome"));
	json_builder_set_member_name(b, "step");
	json_builder_add_string_value(b, pbm_ctl_lookup_s(session, "StepName"));
	json_builder_set_member_name(b, "remaining_s");
	json_builder_add_int_value(b, (gint64)(remaining / G_USEC_PER_SEC));
	json_builder_set_member_name(b, "progress");
	json_builder_add_double_value(b, pbm_ctl_lookup_d(session, "Progress"));
	json_builder_set_member_name(b, "dose_red");
	json_builder_add_double_value(b, pbm_ctl_lookup_d(session, "DoseRed"));
	json_builder_set_member_name(b, "dose_nir");
	json_builder_add_double_value(b, pbm_ctl_lookup_d(session, "DoseNir"));
	json_builder_set_member_name(b, "warnings");
	add_warnings_json(b, session);
	json_builder_end_object(b);
}

static void
add_string_member(JsonBuilder *b, const gchar *name, gchar *value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, value);
	g_free(value);
}

/* m: the Manager's properties, NULL when pbmd is not on the bus; session:
 * the Session's, NULL for none. */
static JsonNode *
status_json(GVariant *m, GVariant *session)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(GVariant) panels = NULL;
	const gchar *state = m != NULL ? pbm_ctl_lookup_s(m, "State") : "no-daemon";

	if (m != NULL)
		panels = g_variant_lookup_value(m, "Panels", G_VARIANT_TYPE("ao"));
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "version");
	json_builder_add_string_value(b, m != NULL ? pbm_ctl_lookup_s(m, "Version") : "");
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, state);
	json_builder_set_member_name(b, "panels");
	json_builder_add_int_value(b, panels != NULL ? g_variant_n_children(panels) : 0);
	json_builder_set_member_name(b, "session");
	if (session != NULL)
		add_session_json(b, session);
	else
		json_builder_add_null_value(b);
	/* what waybar's custom module reads with return-type json */
	add_string_member(b, "text", status_text(m, session));
	add_string_member(b, "class", g_strdup(state));
	add_string_member(b, "tooltip", status_tooltip(m, session));
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static void
print_text(GVariant *m, GVariant *session)
{
	guint64 remaining = 0;
	g_autofree gchar *left = NULL;

	g_print("pbmd %s: %s\n", pbm_ctl_lookup_s(m, "Version"), pbm_ctl_lookup_s(m, "State"));
	if (session == NULL)
		return;
	g_variant_lookup(session, "Remaining", "t", &remaining);
	left = pbm_duration_format((gint64)remaining);
	g_print("session: %s, %s%s%s, step %s, %s left, red %.1f J/cm², NIR %.1f J/cm²\n",
	        pbm_ctl_lookup_s(session, "Profile"), pbm_ctl_lookup_s(session, "State"),
	        *pbm_ctl_lookup_s(session, "Outcome") ? " " : "",
	        pbm_ctl_lookup_s(session, "Outcome"), pbm_ctl_lookup_s(session, "StepName"), left,
	        pbm_ctl_lookup_d(session, "DoseRed"), pbm_ctl_lookup_d(session, "DoseNir"));
}

static gint
print_once(PbmCtl *ctl)
{
	GError *error = NULL;
	g_autoptr(GVariant) m =
	        pbm_ctl_get_all(ctl, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, &error);
	g_autoptr(GVariant) session = NULL;
	const gchar *active;

	if (m == NULL)
		return pbm_ctl_fail(ctl, error);
	pbm_ctl_warn_version_skew(ctl, m);
	active = pbm_ctl_lookup_s(m, "ActiveSession");
	if (!g_str_equal(active, PBM_DBUS_PATH_NONE))
		session = pbm_ctl_get_all(ctl, active, PBM_DBUS_INTERFACE_SESSION, NULL);
	if (ctl->json) {
		g_autoptr(JsonNode) root = status_json(m, session);
		pbm_ctl_print_json(root);
	} else {
		print_text(m, session);
	}
	return PBM_CTL_EXIT_OK;
}

/* ---- --follow ---- */

typedef struct {
	PbmCtl *ctl;
	GMainLoop *loop;
	/* One per appearance of pbmd on the bus, cancelled when it leaves:
	 * replies from an earlier pbmd are dropped. */
	GCancellable *epoch;
	gchar *owner;        /* pbmd's unique name; NULL while it is not on the bus */
	GVariant *manager;   /* its properties, NULL until read */
	gchar *session_path; /* the session shown, or NULL */
	GVariant *session;   /* its properties, NULL until read */
	guint loading;       /* reads of this epoch in flight: no line until they are in */
	guint in_flight;     /* every read in flight, waited for at the end */
	gchar *last;         /* the last line printed */
	gint code;
} Follow;

typedef struct {
	Follow *f;
	GCancellable *epoch;
	gchar *path;
	gchar *outcome; /* a session's, from SessionFinished; else NULL */
} Read;

static void
read_free(Read *r)
{
	g_object_unref(r->epoch);
	g_free(r->path);
	g_free(r->outcome);
	g_free(r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Read, read_free)

/* Whether the Manager and the session shown agree. pbmd's State says
 * running before ActiveSession names the session (set once its object is
 * on the bus), and the Manager's and the session's changes at a pause,
 * a resume or the end come in either order: a line in between would show
 * a session running and none shown, or a session paused on a running
 * pbmd, or running on an idle one. */
static gboolean
settled(Follow *f)
{
	const gchar *state;
	gboolean active;

	if (f->manager == NULL)
		return TRUE;
	state = pbm_ctl_lookup_s(f->manager, "State");
	active = g_str_equal(state, "running") || g_str_equal(state, "paused");
	if (f->session == NULL)
		return !active || !g_str_equal(pbm_ctl_lookup_s(f->manager, "ActiveSession"),
		                               PBM_DBUS_PATH_NONE);
	if (session_ended(f->session))
		return !active;
	return active && g_str_equal(state, "paused") ==
	                         g_str_equal(pbm_ctl_lookup_s(f->session, "State"), "paused");
}

static void
emit(Follow *f)
{
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(JsonGenerator) gen = NULL;
	g_autofree gchar *line = NULL;

	if (f->loading > 0 || !settled(f))
		return;
	root = status_json(f->manager, f->session);
	gen = json_generator_new();
	json_generator_set_root(gen, root);
	line = json_generator_to_data(gen, NULL);
	if (g_strcmp0(line, f->last) == 0)
		return;
	g_print("%s\n", line);
	/* a bar reads a pipe: each line as it happens */
	fflush(stdout);
	g_free(f->last);
	f->last = g_steal_pointer(&line);
}

/* The properties of iface at path from the current pbmd; on_reply gets a
 * Read with outcome. */
static void
read_properties(Follow *f, const gchar *path, const gchar *iface, const gchar *outcome,
                GAsyncReadyCallback on_reply)
{
	Read *r = g_new0(Read, 1);

	r->f = f;
	r->epoch = g_object_ref(f->epoch);
	r->path = g_strdup(path);
	r->outcome = g_strdup(outcome);
	f->loading++;
	f->in_flight++;
	g_dbus_connection_call(f->ctl->bus, f->owner, path, "org.freedesktop.DBus.Properties",
	                       "GetAll", g_variant_new("(s)", iface), G_VARIANT_TYPE("(a{sv})"),
	                       G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, f->epoch, on_reply, r);
}

/* The reply's a{sv}, or NULL and error; FALSE when the reply is from an
 * earlier pbmd, to be dropped. */
static gboolean
finish_read(Read *r, GObject *source, GAsyncResult *res, GVariant **props, GError **error)
{
	g_autoptr(GVariant) reply =
	        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, error);

	r->f->in_flight--;
	if (g_cancellable_is_cancelled(r->epoch))
		return FALSE;
	r->f->loading--;
	*props = reply != NULL ? g_variant_get_child_value(reply, 0) : NULL;
	return TRUE;
}

/* The session shown, ended with outcome. */
static void
finish_session(Follow *f, const gchar *outcome)
{
	g_autoptr(GVariantDict) d = g_variant_dict_new(f->session);

	g_variant_dict_insert(d, "State", "s", "finished");
	g_variant_dict_insert(d, "Outcome", "s", outcome);
	g_variant_unref(f->session);
	f->session = g_variant_ref_sink(g_variant_dict_end(d));
}

static void
on_session_read(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(Read) r = user_data;
	Follow *f = r->f;
	g_autoptr(GVariant) props = NULL;

	if (!finish_read(r, source, res, &props, NULL))
		return;
	/* unless a newer session replaced it meanwhile */
	if (g_strcmp0(r->path, f->session_path) != 0) {
		emit(f);
		return;
	}
	if (props != NULL) {
		g_clear_pointer(&f->session, g_variant_unref);
		f->session = g_steal_pointer(&props);
	} else if (r->outcome != NULL && f->session != NULL) {
		/* its object went: SessionFinished's word for how it ended */
		finish_session(f, r->outcome);
	} else {
		/* a session gone already shows as none */
		g_clear_pointer(&f->session, g_variant_unref);
	}
	emit(f);
}

/* The session that path names is shown from now on. "/" changes nothing:
 * a session that ended stays shown, with its outcome, until the next. */
static void
show_session(Follow *f, const gchar *path)
{
	if (g_str_equal(path, PBM_DBUS_PATH_NONE) || g_strcmp0(path, f->session_path) == 0)
		return;
	g_free(f->session_path);
	f->session_path = g_strdup(path);
	g_clear_pointer(&f->session, g_variant_unref);
	read_properties(f, path, PBM_DBUS_INTERFACE_SESSION, NULL, on_session_read);
}

static void
on_manager_read(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(Read) r = user_data;
	Follow *f = r->f;
	g_autoptr(GVariant) props = NULL;
	g_autoptr(GError) error = NULL;

	if (!finish_read(r, source, res, &props, &error))
		return;
	if (props == NULL) {
		/* the line says no-daemon until pbmd answers, after a restart */
		g_dbus_error_strip_remote_error(error);
		g_printerr("pbmctl: pbmd is on the bus but does not answer: %s\n", error->message);
		emit(f);
		return;
	}
	pbm_ctl_warn_version_skew(f->ctl, props);
	f->manager = g_steal_pointer(&props);
	show_session(f, pbm_ctl_lookup_s(f->manager, "ActiveSession"));
	emit(f);
}

/* props with the changes of a PropertiesChanged applied. */
static GVariant *
merge_changes(GVariant *props, GVariant *changed, const gchar *const *invalidated)
{
	g_autoptr(GVariantDict) d = g_variant_dict_new(props);
	GVariantIter iter;
	const gchar *key;
	GVariant *value;

	g_variant_iter_init(&iter, changed);
	while (g_variant_iter_loop(&iter, "{&sv}", &key, &value))
		g_variant_dict_insert_value(d, key, value);
	for (guint i = 0; invalidated[i] != NULL; i++)
		g_variant_dict_remove(d, invalidated[i]);
	return g_variant_ref_sink(g_variant_dict_end(d));
}

static void
apply_changes(GVariant **props, GVariant *params)
{
	g_autoptr(GVariant) changed = NULL;
	g_autofree const gchar **invalidated = NULL;
	GVariant *merged;

	g_variant_get(params, "(&s@a{sv}^a&s)", NULL, &changed, &invalidated);
	merged = merge_changes(*props, changed, invalidated);
	g_variant_unref(*props);
	*props = merged;
}

static void
on_properties_changed(GDBusConnection *c, const gchar *sender, const gchar *path,
                      const gchar *iface, const gchar *name, GVariant *params, gpointer user_data)
{
	Follow *f = user_data;

	if (g_strcmp0(sender, f->owner) != 0 ||
	    !g_variant_is_of_type(params, G_VARIANT_TYPE("(sa{sv}as)")))
		return;
	/* before its properties are read, the reply to come is newer */
	if (g_str_equal(path, PBM_DBUS_PATH) && f->manager != NULL) {
		apply_changes(&f->manager, params);
		show_session(f, pbm_ctl_lookup_s(f->manager, "ActiveSession"));
	} else if (g_strcmp0(path, f->session_path) == 0 && f->session != NULL) {
		apply_changes(&f->session, params);
	} else {
		return;
	}
	emit(f);
}

static void
on_manager_signal(GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
                  const gchar *name, GVariant *params, gpointer user_data)
{
	Follow *f = user_data;
	const gchar *session = NULL, *outcome = NULL;

	if (g_strcmp0(sender, f->owner) != 0)
		return;
	if (g_str_equal(name, "SessionStarted") &&
	    g_variant_is_of_type(params, G_VARIANT_TYPE("(o)"))) {
		g_variant_get(params, "(&o)", &session);
		show_session(f, session);
	} else if (g_str_equal(name, "SessionFinished") &&
	           g_variant_is_of_type(params, G_VARIANT_TYPE("(osa{sv})"))) {
		g_variant_get(params, "(&o&s@a{sv})", &session, &outcome, NULL);
		if (g_strcmp0(session, f->session_path) != 0)
			return;
		/* Its final properties, read after pbmd has set them all: no line
		 * until then, rather than one with its outcome and another with
		 * its last dose and progress. */
		read_properties(f, session, PBM_DBUS_INTERFACE_SESSION, outcome, on_session_read);
	} else {
		return;
	}
	emit(f);
}

static void
on_pbmd_appeared(GDBusConnection *c, const gchar *name, const gchar *owner, gpointer user_data)
{
	Follow *f = user_data;

	g_free(f->owner);
	f->owner = g_strdup(owner);
	read_properties(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, NULL, on_manager_read);
}

/* Not running, restarting or crashed: a line that says so, and what was
 * read of it forgotten. */
static void
on_pbmd_vanished(GDBusConnection *c, const gchar *name, gpointer user_data)
{
	Follow *f = user_data;

	g_cancellable_cancel(f->epoch);
	g_object_unref(f->epoch);
	f->epoch = g_cancellable_new();
	f->loading = 0;
	g_clear_pointer(&f->owner, g_free);
	g_clear_pointer(&f->manager, g_variant_unref);
	g_clear_pointer(&f->session_path, g_free);
	g_clear_pointer(&f->session, g_variant_unref);
	/* the bus itself went: on_bus_closed says so */
	if (!g_dbus_connection_is_closed(f->ctl->bus))
		emit(f);
}

static void
on_bus_closed(GDBusConnection *c, gboolean remote_peer_vanished, GError *error, gpointer user_data)
{
	Follow *f = user_data;

	g_printerr("pbmctl: lost the connection to the message bus (%s)\n",
	           error != NULL ? error->message : "closed");
	f->code = PBM_CTL_EXIT_ERROR;
	g_main_loop_quit(f->loop);
}

static gboolean
on_quit_signal(gpointer user_data)
{
	g_main_loop_quit(user_data);
	return G_SOURCE_CONTINUE;
}

static guint
subscribe(Follow *f, const gchar *iface, const gchar *member, const gchar *path, const gchar *arg0,
          GDBusSignalCallback callback)
{
	return g_dbus_connection_signal_subscribe(f->ctl->bus, PBM_DBUS_NAME, iface, member, path,
	                                          arg0, G_DBUS_SIGNAL_FLAGS_NONE, callback, f,
	                                          NULL);
}

static void
follow_clear(Follow *f)
{
	g_cancellable_cancel(f->epoch);
	/* The cancelled reads still hold f, and signals already queued may
	 * come while they end: with no owner, they are dropped. */
	g_clear_pointer(&f->owner, g_free);
	while (f->in_flight > 0)
		g_main_context_iteration(NULL, TRUE);
	g_clear_object(&f->epoch);
	g_clear_pointer(&f->loop, g_main_loop_unref);
	g_clear_pointer(&f->manager, g_variant_unref);
	g_clear_pointer(&f->session_path, g_free);
	g_clear_pointer(&f->session, g_variant_unref);
	g_clear_pointer(&f->last, g_free);
}

static gint
follow(PbmCtl *ctl)
{
	Follow f = { .ctl = ctl, .code = PBM_CTL_EXIT_OK };
	GDBusConnection *bus = ctl->bus;
	guint subs[3], watch, sigint, sigterm;
	gulong closed;

	f.loop = g_main_loop_new(NULL, FALSE);
	f.epoch = g_cancellable_new();
	/* a bus that goes away ends this with status 1, not with SIGTERM */
	g_dbus_connection_set_exit_on_close(bus, FALSE);
	closed = g_signal_connect(bus, "closed", G_CALLBACK(on_bus_closed), &f);
	/* the Manager's and the Sessions', not the panels' telemetry */
	subs[0] = subscribe(&f, "org.freedesktop.DBus.Properties", "PropertiesChanged",
	                    PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, on_properties_changed);
	subs[1] = subscribe(&f, "org.freedesktop.DBus.Properties", "PropertiesChanged", NULL,
	                    PBM_DBUS_INTERFACE_SESSION, on_properties_changed);
	subs[2] = subscribe(&f, PBM_DBUS_INTERFACE_MANAGER, NULL, PBM_DBUS_PATH, NULL,
	                    on_manager_signal);
	/* a status bar does not start pbmd by D-Bus activation */
	watch = g_bus_watch_name_on_connection(bus, PBM_DBUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
	                                       on_pbmd_appeared, on_pbmd_vanished, &f, NULL);
	sigint = g_unix_signal_add(SIGINT, on_quit_signal, f.loop);
	sigterm = g_unix_signal_add(SIGTERM, on_quit_signal, f.loop);
	g_main_loop_run(f.loop);
	g_source_remove(sigint);
	g_source_remove(sigterm);
	g_bus_unwatch_name(watch);
	for (guint i = 0; i < G_N_ELEMENTS(subs); i++)
		g_dbus_connection_signal_unsubscribe(bus, subs[i]);
	g_signal_handler_disconnect(bus, closed);
	follow_clear(&f);
	return f.code;
}

/* ---- the command ---- */

gint
pbm_ctl_status(PbmCtl *ctl, gint argc, gchar **argv)
{
	gboolean follow_changes = FALSE;
	GOptionEntry entries[] = {
		{ "follow", 0, 0, G_OPTION_ARG_NONE, &follow_changes,
		  "Print the status as a JSON line, then a new line at each change, until "
		  "interrupted",
		  NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) context =
	        g_option_context_new("- the daemon's state and the active session");
	g_autoptr(GError) error = NULL;

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("pbmctl status: %s\n", error->message);
		return PBM_CTL_EXIT_USAGE;
	}
	if (argc > 1) {
		g_printerr("pbmctl status: unexpected argument \"%s\"; status takes only "
		           "--follow\n",
		           argv[1]);
		return PBM_CTL_EXIT_USAGE;
	}
	return follow_changes ? follow(ctl) : print_once(ctl);
}
