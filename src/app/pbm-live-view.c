/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The live session view (pbm-live-view.h). It is redrawn from the session
 * proxy's cached properties, which pbmd's PropertiesChanged keep current.
 */
#include "pbm-live-view.h"

#include <string.h>

#include "pbm-app-text.h"
#include "pbm-app-widgets.h"

struct _PbmLiveView {
	AdwBin parent_instance;
	GtkWidget *group;
	GtkWidget *state;
	GtkWidget *step;
	GtkWidget *progress;
	GtkWidget *time_left;
	GtkWidget *dose;
	GtkWidget *warnings;
	GtkWidget *outcome;
};

G_DEFINE_TYPE(PbmLiveView, pbm_live_view, ADW_TYPE_BIN)

static const gchar *
or_empty(const gchar *s)
{
	return s != NULL ? s : "";
}

/* "goggles: wear ..." is shown as "Wear ...": the kind is for scripts. */
static gchar *
warnings_text(const gchar *const *warnings)
{
	g_autoptr(GString) text = g_string_new(NULL);

	for (guint i = 0; warnings != NULL && warnings[i] != NULL; i++) {
		const gchar *colon = strstr(warnings[i], ": ");
		const gchar *sentence = colon != NULL ? colon + 2 : warnings[i];

		if (text->len > 0)
			g_string_append_c(text, '\n');
		g_string_append(text, "⚠ ");
		g_string_append_unichar(text, g_unichar_toupper(g_utf8_get_char(sentence)));
		g_string_append(text, g_utf8_next_char(sentence));
	}
	return g_string_free(g_steal_pointer(&text), FALSE);
}

static gchar *
outcome_text(PbmDBusSession *session, GVariant *summary)
{
	gdouble red = pbm_dbus_session_get_dose_red(session);
	gdouble nir = pbm_dbus_session_get_dose_nir(session);
	gdouble elapsed = (gdouble)pbm_dbus_session_get_elapsed(session) / G_USEC_PER_SEC;
	const gchar *reason = or_empty(pbm_dbus_session_get_reason(session));
	g_autofree gchar *doses = NULL;
	g_autofree gchar *took = NULL;

	if (summary != NULL) {
		g_variant_lookup(summary, "dose_red", "d", &red);
		g_variant_lookup(summary, "dose_nir", "d", &nir);
		g_variant_lookup(summary, "elapsed_s", "d", &elapsed);
		g_variant_lookup(summary, "reason", "&s", &reason);
	}
	doses = pbm_app_dose_text(red, nir);
	took = pbm_app_clock_text((guint64)(elapsed * G_USEC_PER_SEC));
	return g_strdup_printf("%s after %s, %s.%s%s%s",
	                       pbm_app_outcome_word(pbm_dbus_session_get_outcome(session)), took,
	                       doses, *reason != '\0' ? " Why: " : "", reason,
	                       *reason != '\0' ? "." : "");
}

static void
show_nothing(PbmLiveView *self)
{
	adw_preferences_group_set_title(ADW_PREFERENCES_GROUP(self->group), "Session");
	pbm_app_label_set(self->state, "No session");
	pbm_app_label_set(self->step, "");
	pbm_app_label_set(self->time_left, "");
	pbm_app_label_set(self->dose, "");
	pbm_app_label_set(self->warnings, "");
	pbm_app_label_set(self->outcome, "");
	gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(self->progress), 0.0);
}

static const gchar *
state_word(PbmDBusSession *session, gboolean finished)
{
	if (finished)
		return pbm_app_outcome_word(pbm_dbus_session_get_outcome(session));
	if (g_strcmp0(pbm_dbus_session_get_state(session), "paused") == 0)
		return "Paused";
	return "Running";
}

void
pbm_live_view_update(PbmLiveView *self, PbmClient *client)
{
	PbmDBusSession *session = pbm_client_get_session(client);
	GVariant *summary = pbm_client_get_session_summary(client);
	g_autofree gchar *step = NULL, *left = NULL, *dose = NULL, *warnings = NULL;
	g_autofree gchar *title = NULL, *outcome = NULL;
	gboolean finished;

	if (session == NULL) {
		show_nothing(self);
		return;
	}
	finished =
	        summary != NULL || g_strcmp0(pbm_dbus_session_get_state(session), "finished") == 0;
	title = g_strdup_printf(
	        "Session: %s",
	        pbm_client_profile_title(client, or_empty(pbm_dbus_session_get_profile(session))));
	adw_preferences_group_set_title(ADW_PREFERENCES_GROUP(self->group), title);
	step = g_strdup_printf("Step %u of %u: %s", pbm_dbus_session_get_step(session) + 1,
	                       pbm_dbus_session_get_step_count(session),
	                       or_empty(pbm_dbus_session_get_step_name(session)));
	left = pbm_app_clock_text(finished ? 0 : pbm_dbus_session_get_remaining(session));
	dose = pbm_app_dose_text(pbm_dbus_session_get_dose_red(session),
	                         pbm_dbus_session_get_dose_nir(session));
	warnings = warnings_text(pbm_dbus_session_get_warnings(session));
	outcome = finished ? outcome_text(session, summary) : NULL;
	pbm_app_label_set(self->state, state_word(session, finished));
	pbm_app_label_set(self->step, step);
	pbm_app_label_set(self->time_left, left);
	pbm_app_label_set(self->dose, dose);
	pbm_app_label_set(self->warnings, warnings);
	pbm_app_label_set(self->outcome, outcome);
	gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(self->progress),
	                              CLAMP(pbm_dbus_session_get_progress(session), 0.0, 1.0));
}

GtkWidget *
pbm_live_view_new(void)
{
	return g_object_new(PBM_TYPE_LIVE_VIEW, NULL);
}

static void
add_row(PbmLiveView *self, const gchar *caption, GtkWidget *value)
{
	adw_preferences_group_add(ADW_PREFERENCES_GROUP(self->group),
	                          pbm_app_caption_row(caption, value));
}

static void
pbm_live_view_class_init(PbmLiveViewClass *klass)
{
}

static void
pbm_live_view_init(PbmLiveView *self)
{
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 8);

	self->group = adw_preferences_group_new();
	adw_preferences_group_set_title(ADW_PREFERENCES_GROUP(self->group), "Session");
	self->state = pbm_app_value_label("Session state", "title-2");
	self->step = pbm_app_value_label("Step", NULL);
	self->progress = gtk_progress_bar_new();
	gtk_accessible_update_property(GTK_ACCESSIBLE(self->progress),
	                               GTK_ACCESSIBLE_PROPERTY_LABEL, "Session progress", -1);
	self->time_left = pbm_app_value_label("Time left", "numeric");
	self->dose = pbm_app_value_label("Dose so far", NULL);
	self->warnings = pbm_app_value_label("Warnings", "warning");
	self->outcome = pbm_app_value_label("Outcome", NULL);
	adw_preferences_group_add(ADW_PREFERENCES_GROUP(self->group), box);
	gtk_box_append(GTK_BOX(box), self->state);
	gtk_box_append(GTK_BOX(box), self->progress);
	add_row(self, "Step", self->step);
	add_row(self, "Time left", self->time_left);
	add_row(self, "Dose so far", self->dose);
	add_row(self, "Warnings", self->warnings);
	add_row(self, "Outcome", self->outcome);
	adw_bin_set_child(ADW_BIN(self), self->group);
	show_nothing(self);
}
