/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The therapy page (pbm-therapy-page.h). Calls go out asynchronously and
 * may ask polkit (a password dialog can take a while); their replies come
 * back as a message for people, never as a dialog that blocks the window.
 */
#include "pbm-therapy-page.h"

#include "pbm-app-text.h"
#include "pbm-app-widgets.h"
#include "pbm-estimates.h"
#include "pbm-live-view.h"
#include "pbm-panel-list.h"
#include "pbm-profile-list.h"

/* pbmd refuses other distances (StartSession's distance_cm). */
#define PBM_APP_DISTANCE_MIN_CM 1.0
#define PBM_APP_DISTANCE_MAX_CM 100.0
/* long enough for a person to answer polkit's password dialog */
#define PBM_APP_CONTROL_TIMEOUT_MS (120 * 1000)

struct _PbmTherapyPage {
	AdwBin parent_instance;
	PbmClient *client;
	GCancellable *cancel;          /* calls of this page; cancelled on dispose */
	GCancellable *estimate_cancel; /* the latest estimate run */
	GtkWidget *message;
	GtkWidget *panels;
	GtkWidget *profiles;
	GtkWidget *distance;
	GtkWidget *goggles_row;
	GtkWidget *goggles;
	GtkWidget *start, *pause, *resume, *stop;
	GtkWidget *live;
	gboolean calling; /* a control call waits for its reply */
};

G_DEFINE_TYPE(PbmTherapyPage, pbm_therapy_page, ADW_TYPE_BIN)

static const gchar *
manager_state(PbmTherapyPage *self)
{
	PbmDBusManager *manager = pbm_client_get_manager(self->client);
	const gchar *state = manager != NULL ? pbm_dbus_manager_get_state(manager) : NULL;

	return state != NULL ? state : "";
}

static void
update_buttons(PbmTherapyPage *self)
{
	const gchar *state = manager_state(self);
	gboolean up = pbm_client_get_manager(self->client) != NULL && !self->calling;
	gboolean active = g_str_equal(state, "running") || g_str_equal(state, "paused");
	g_autoptr(GVariant) selected =
	        pbm_profile_list_get_selected(PBM_PROFILE_LIST(self->profiles));

	gtk_widget_set_sensitive(self->start, up && !active && selected != NULL);
	gtk_widget_set_tooltip_text(self->start, selected != NULL ? "Start the chosen profile"
	                                                          : "Choose a profile first");
	gtk_widget_set_sensitive(self->pause, up && g_str_equal(state, "running"));
	gtk_widget_set_sensitive(self->resume, up && g_str_equal(state, "paused"));
	gtk_widget_set_sensitive(self->stop, up && active);
}

static void
show_message(PbmTherapyPage *self, const gchar *text)
{
	pbm_app_label_set(self->message, text);
}

/* ---- estimates ---- */

static gdouble
distance(PbmTherapyPage *self)
{
	return gtk_spin_button_get_value(GTK_SPIN_BUTTON(self->distance));
}

static void
show_goggles_need(PbmTherapyPage *self, gboolean needed)
{
	adw_action_row_set_subtitle(
	        ADW_ACTION_ROW(self->goggles_row),
	        needed ? "This session exceeds the infrared eye limit (IEC 62471) for bare eyes: "
	                 "pbmd starts it only when you wear goggles that block near-infrared."
	               : "Near-infrared is invisible: wear goggles when the profile says so.");
	if (needed)
		gtk_widget_add_css_class(self->goggles_row, "warning");
	else
		gtk_widget_remove_css_class(self->goggles_row, "warning");
}

static void
on_estimate(const gchar *name, GVariant *estimate, const GError *error, gpointer user_data)
{
	PbmTherapyPage *self = user_data;
	g_autoptr(GVariant) selected =
	        pbm_profile_list_get_selected(PBM_PROFILE_LIST(self->profiles));
	const gchar *selected_name = NULL;
	g_autofree gchar *text = NULL;
	gboolean goggles = FALSE;

	if (selected != NULL)
		g_variant_lookup(selected, "name", "&s", &selected_name);
	if (estimate == NULL) {
		g_autofree gchar *why = pbm_app_error_text(error);

		text = g_strdup_printf("Cannot run at %.0f cm. %s", distance(self), why);
	} else {
		text = pbm_estimate_text(estimate, distance(self));
		g_variant_lookup(estimate, "goggles_needed", "b", &goggles);
	}
	pbm_profile_list_set_estimate(PBM_PROFILE_LIST(self->profiles), name, text);
	if (g_strcmp0(name, selected_name) == 0)
		show_goggles_need(self, goggles);
}

static void
estimate_all(PbmTherapyPage *self)
{
	PbmDBusManager *manager = pbm_client_get_manager(self->client);
	g_auto(GStrv) names = pbm_profile_list_dup_names(PBM_PROFILE_LIST(self->profiles));

	if (self->estimate_cancel != NULL)
		g_cancellable_cancel(self->estimate_cancel);
	g_clear_object(&self->estimate_cancel);
	if (manager == NULL || names[0] == NULL)
		return;
	self->estimate_cancel = g_cancellable_new();
	pbm_estimates_run(G_DBUS_PROXY(manager), (const gchar *const *)names, distance(self),
	                  self->estimate_cancel, on_estimate, self);
}

/* ---- control calls ---- */

static void
on_control_reply(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), result, &error);
	PbmTherapyPage *self;

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	self = user_data;
	self->calling = FALSE;
	if (reply == NULL) {
		g_autofree gchar *text = pbm_app_error_text(error);

		show_message(self, text);
	} else {
		show_message(self, NULL);
	}
	update_buttons(self);
}

static void
control(PbmTherapyPage *self, const gchar *method, GVariant *args)
{
	PbmDBusManager *manager = pbm_client_get_manager(self->client);

	if (manager == NULL)
		return;
	self->calling = TRUE;
	update_buttons(self);
	g_dbus_proxy_call(G_DBUS_PROXY(manager), method, args,
	                  G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION,
	                  PBM_APP_CONTROL_TIMEOUT_MS, self->cancel, on_control_reply, self);
}

static void
on_start(GtkButton *button, PbmTherapyPage *self)
{
	g_autoptr(GVariant) selected =
	        pbm_profile_list_get_selected(PBM_PROFILE_LIST(self->profiles));
	const gchar *name = NULL;
	GVariantBuilder options;

	if (selected == NULL || !g_variant_lookup(selected, "name", "&s", &name))
		return;
	g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&options, "{sv}", "distance_cm",
	                      g_variant_new_double(distance(self)));
	g_variant_builder_add(
	        &options, "{sv}", "goggles",
	        g_variant_new_boolean(gtk_switch_get_active(GTK_SWITCH(self->goggles))));
	control(self, "StartSession", g_variant_new("(sa{sv})", name, &options));
}

static void
on_pause(GtkButton *button, PbmTherapyPage *self)
{
	control(self, "PauseSession", NULL);
}

static void
on_resume(GtkButton *button, PbmTherapyPage *self)
{
	control(self, "ResumeSession", NULL);
}

static void
on_stop(GtkButton *button, PbmTherapyPage *self)
{
	control(self, "StopSession", NULL);
}

/* ---- following the client ---- */

static void
on_daemon_changed(PbmClient *client, PbmTherapyPage *self)
{
	if (pbm_client_get_manager(client) == NULL)
		self->calling = FALSE;
	update_buttons(self);
}

static void
on_panels_changed(PbmClient *client, PbmTherapyPage *self)
{
	pbm_panel_list_update(self->panels, pbm_client_get_panels(client),
	                      pbm_client_get_manager(client) != NULL);
}

static void
on_profiles_changed(PbmClient *client, PbmTherapyPage *self)
{
	pbm_profile_list_set_profiles(PBM_PROFILE_LIST(self->profiles),
	                              pbm_client_get_profiles(client));
	estimate_all(self);
	update_buttons(self);
}

static void
on_session_changed(PbmClient *client, PbmTherapyPage *self)
{
	pbm_live_view_update(PBM_LIVE_VIEW(self->live), client);
}

static void
on_profile_selected(PbmProfileList *list, PbmTherapyPage *self)
{
	g_autoptr(GVariant) selected = pbm_profile_list_get_selected(list);
	gdouble cm = 0;

	/* a profile comes with the distance its doses are written for */
	if (selected != NULL && g_variant_lookup(selected, "distance_cm", "d", &cm) &&
	    cm != distance(self))
		gtk_spin_button_set_value(GTK_SPIN_BUTTON(self->distance), cm);
	else
		estimate_all(self);
	update_buttons(self);
}

static void
on_distance_changed(GtkSpinButton *spin, PbmTherapyPage *self)
{
	estimate_all(self);
}

/* ---- construction ---- */

static GtkWidget *
group(const gchar *title, const gchar *description, GtkWidget *child)
{
	GtkWidget *g = adw_preferences_group_new();

	adw_preferences_group_set_title(ADW_PREFERENCES_GROUP(g), title);
	if (description != NULL)
		adw_preferences_group_set_description(ADW_PREFERENCES_GROUP(g), description);
	if (child != NULL)
		adw_preferences_group_add(ADW_PREFERENCES_GROUP(g), child);
	return g;
}

static GtkWidget *
settings_group(PbmTherapyPage *self)
{
	GtkWidget *g = group("Before you start", NULL, NULL);
	GtkWidget *distance_row = adw_action_row_new();

	self->distance = gtk_spin_button_new_with_range(PBM_APP_DISTANCE_MIN_CM,
	                                                PBM_APP_DISTANCE_MAX_CM, 1.0);
	gtk_spin_button_set_value(GTK_SPIN_BUTTON(self->distance), 15.0);
	gtk_widget_set_valign(self->distance, GTK_ALIGN_CENTER);
	adw_preferences_row_set_title(ADW_PREFERENCES_ROW(distance_row), "Distance (cm)");
	adw_action_row_set_subtitle(ADW_ACTION_ROW(distance_row),
	                            "From the panel's front to your skin");
	adw_action_row_add_suffix(ADW_ACTION_ROW(distance_row), self->distance);
	adw_action_row_set_activatable_widget(ADW_ACTION_ROW(distance_row), self->distance);
	g_signal_connect(self->distance, "value-changed", G_CALLBACK(on_distance_changed), self);

	self->goggles_row = adw_action_row_new();
	self->goggles = gtk_switch_new();
	gtk_widget_set_valign(self->goggles, GTK_ALIGN_CENTER);
	adw_preferences_row_set_title(ADW_PREFERENCES_ROW(self->goggles_row),
	                              "I wear eye protection");
	adw_action_row_add_suffix(ADW_ACTION_ROW(self->goggles_row), self->goggles);
	adw_action_row_set_activatable_widget(ADW_ACTION_ROW(self->goggles_row), self->goggles);
	show_goggles_need(self, FALSE);

	adw_preferences_group_add(ADW_PREFERENCES_GROUP(g), distance_row);
	adw_preferences_group_add(ADW_PREFERENCES_GROUP(g), self->goggles_row);
	return g;
}

static GtkWidget *
buttons(PbmTherapyPage *self)
{
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);

	self->start = pbm_app_button("_Start", "Start the chosen profile", "suggested-action");
	self->pause = pbm_app_button("_Pause", "Switch the light off and hold the session", NULL);
	self->resume = pbm_app_button("_Resume", "Carry on with the paused session", NULL);
	self->stop = pbm_app_button("S_top", "End the session now", "destructive-action");
	g_signal_connect(self->start, "clicked", G_CALLBACK(on_start), self);
	g_signal_connect(self->pause, "clicked", G_CALLBACK(on_pause), self);
	g_signal_connect(self->resume, "clicked", G_CALLBACK(on_resume), self);
	g_signal_connect(self->stop, "clicked", G_CALLBACK(on_stop), self);
	gtk_box_append(GTK_BOX(box), self->start);
	gtk_box_append(GTK_BOX(box), self->pause);
	gtk_box_append(GTK_BOX(box), self->resume);
	gtk_box_append(GTK_BOX(box), self->stop);
	gtk_widget_add_css_class(box, "pbm-controls");
	gtk_widget_set_halign(box, GTK_ALIGN_CENTER);
	return box;
}

static GtkWidget *
scrolled(GtkWidget *child)
{
	GtkWidget *scroll = gtk_scrolled_window_new();
	GtkWidget *clamp = adw_clamp_new();

	gtk_widget_set_margin_top(clamp, 24);
	gtk_widget_set_margin_bottom(clamp, 24);
	gtk_widget_set_margin_start(clamp, 12);
	gtk_widget_set_margin_end(clamp, 12);
	adw_clamp_set_child(ADW_CLAMP(clamp), child);
	gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), clamp);
	gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroll), GTK_POLICY_NEVER,
	                               GTK_POLICY_AUTOMATIC);
	gtk_widget_set_hexpand(scroll, TRUE);
	return scroll;
}

/* What to run: the profiles, the distance and goggles, the panels. */
static GtkWidget *
setup_column(PbmTherapyPage *self)
{
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 24);

	self->panels = pbm_panel_list_new();
	self->profiles = pbm_profile_list_new();
	g_signal_connect(self->profiles, "selected", G_CALLBACK(on_profile_selected), self);
	gtk_box_append(GTK_BOX(box), group("Panels", NULL, self->panels));
	gtk_box_append(
	        GTK_BOX(box),
	        group("Profile", "What each session gives at the distance below", self->profiles));
	gtk_box_append(GTK_BOX(box), settings_group(self));
	return scrolled(box);
}

/* The session: the controls, what pbmd answered, the live view. */
static GtkWidget *
session_column(PbmTherapyPage *self)
{
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 24);

	self->message = pbm_app_value_label("Message", "error");
	self->live = pbm_live_view_new();
	gtk_box_append(GTK_BOX(box), buttons(self));
	gtk_box_append(GTK_BOX(box), self->message);
	gtk_box_append(GTK_BOX(box), self->live);
	return scrolled(box);
}

GtkWidget *
pbm_therapy_page_new(PbmClient *client)
{
	PbmTherapyPage *self = g_object_new(PBM_TYPE_THERAPY_PAGE, NULL);

	self->client = g_object_ref(client);
	g_signal_connect_object(client, "daemon-changed", G_CALLBACK(on_daemon_changed), self, 0);
	g_signal_connect_object(client, "panels-changed", G_CALLBACK(on_panels_changed), self, 0);
	g_signal_connect_object(client, "profiles-changed", G_CALLBACK(on_profiles_changed), self,
	                        0);
	g_signal_connect_object(client, "session-changed", G_CALLBACK(on_session_changed), self, 0);
	update_buttons(self);
	return GTK_WIDGET(self);
}

static void
pbm_therapy_page_dispose(GObject *object)
{
	PbmTherapyPage *self = PBM_THERAPY_PAGE(object);

	g_cancellable_cancel(self->cancel);
	if (self->estimate_cancel != NULL)
		g_cancellable_cancel(self->estimate_cancel);
	g_clear_object(&self->estimate_cancel);
	g_clear_object(&self->client);
	G_OBJECT_CLASS(pbm_therapy_page_parent_class)->dispose(object);
}

static void
pbm_therapy_page_finalize(GObject *object)
{
	g_object_unref(PBM_THERAPY_PAGE(object)->cancel);
	G_OBJECT_CLASS(pbm_therapy_page_parent_class)->finalize(object);
}

static void
pbm_therapy_page_class_init(PbmTherapyPageClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = pbm_therapy_page_dispose;
	G_OBJECT_CLASS(klass)->finalize = pbm_therapy_page_finalize;
}

static void
pbm_therapy_page_init(PbmTherapyPage *self)
{
	GtkWidget *columns = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 0);

	self->cancel = g_cancellable_new();
	gtk_box_set_homogeneous(GTK_BOX(columns), TRUE);
	gtk_box_append(GTK_BOX(columns), setup_column(self));
	gtk_box_append(GTK_BOX(columns), session_column(self));
	adw_bin_set_child(ADW_BIN(self), columns);
}
