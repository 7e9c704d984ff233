/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The profile list (pbm-profile-list.h). Rows are rebuilt only when the
 * set of profiles changes; otherwise their texts are updated in place, so
 * that the selection and keyboard focus stay.
 */
#include "pbm-profile-list.h"

#include "pbm-app-widgets.h"
#include "pbm-format.h"

struct _PbmProfileList {
	AdwBin parent_instance;
	GtkWidget *list;
	GtkWidget *group;   /* the first button: the radio group */
	GPtrArray *checks;  /* GtkToggleButton, in list order */
	GPtrArray *rows;    /* the label under each title, in list order */
	GVariant *profiles; /* aa{sv} */
};

enum { SIGNAL_SELECTED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_TYPE(PbmProfileList, pbm_profile_list, ADW_TYPE_BIN)

static const gchar *
lookup_s(GVariant *dict, const gchar *key)
{
	const gchar *s = NULL;

	return g_variant_lookup(dict, key, "&s", &s) ? s : "";
}

/* What ListProfiles says of a profile: duration and dose on the panel it
 * estimated with, or why it cannot run there. */
static gchar *
listing_text(GVariant *p)
{
	guint64 duration_s = 0;
	gdouble red = 0, nir = 0;
	gboolean prescribed = TRUE, goggles = FALSE;
	g_autofree gchar *duration = NULL;

	if (*lookup_s(p, "estimate_error") != '\0')
		return g_strdup_printf("Cannot run on this panel: %s",
		                       lookup_s(p, "estimate_error"));
	if (!g_variant_lookup(p, "duration_s", "t", &duration_s))
		return g_strdup(lookup_s(p, "description"));
	g_variant_lookup(p, "dose_red", "d", &red);
	g_variant_lookup(p, "dose_nir", "d", &nir);
	g_variant_lookup(p, "prescribed", "b", &prescribed);
	g_variant_lookup(p, "goggles_required", "b", &goggles);
	duration = pbm_duration_format((gint64)duration_s * G_USEC_PER_SEC);
	return g_strdup_printf("%s · red %.1f J/cm² · NIR %.1f J/cm²%s%s", duration, red, nir,
	                       prescribed ? "" : " on this panel",
	                       goggles ? " · wear goggles" : "");
}

static gint
selected_index(PbmProfileList *self)
{
	for (guint i = 0; i < self->checks->len; i++) {
		if (gtk_toggle_button_get_active(g_ptr_array_index(self->checks, i)))
			return (gint)i;
	}
	return -1;
}

GVariant *
pbm_profile_list_get_selected(PbmProfileList *self)
{
	gint i = selected_index(self);

	if (i < 0 || self->profiles == NULL || (gsize)i >= g_variant_n_children(self->profiles))
		return NULL;
	return g_variant_get_child_value(self->profiles, (gsize)i);
}

gchar **
pbm_profile_list_dup_names(PbmProfileList *self)
{
	g_autoptr(GStrvBuilder) names = g_strv_builder_new();
	gsize n = self->profiles != NULL ? g_variant_n_children(self->profiles) : 0;

	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) p = g_variant_get_child_value(self->profiles, i);

		g_strv_builder_add(names, lookup_s(p, "name"));
	}
	return g_strv_builder_end(names);
}

static void
set_text(PbmProfileList *self, guint i, const gchar *text)
{
	pbm_app_label_set(g_ptr_array_index(self->rows, i), text);
	gtk_accessible_update_property(GTK_ACCESSIBLE(g_ptr_array_index(self->checks, i)),
	                               GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text, -1);
}

void
pbm_profile_list_set_estimate(PbmProfileList *self, const gchar *name, const gchar *text)
{
	g_auto(GStrv) names = pbm_profile_list_dup_names(self);

	for (guint i = 0; names[i] != NULL && i < self->rows->len; i++) {
		if (g_str_equal(names[i], name))
			set_text(self, i, text);
	}
}

static void
on_toggled(GtkToggleButton *check, PbmProfileList *self)
{
	gtk_accessible_update_state(GTK_ACCESSIBLE(check), GTK_ACCESSIBLE_STATE_CHECKED,
	                            gtk_toggle_button_get_active(check)
	                                    ? GTK_ACCESSIBLE_TRISTATE_TRUE
	                                    : GTK_ACCESSIBLE_TRISTATE_FALSE,
	                            -1);
	if (gtk_toggle_button_get_active(check))
		g_signal_emit(self, signals[SIGNAL_SELECTED], 0);
}

/* A toggle button per profile, grouped as radios: GTK 4.8 gives check
 * buttons no accessible action, so a screen reader could not choose one. */
static void
add_row(PbmProfileList *self, GVariant *p)
{
	/* a radio for screen readers, with the checked state kept in on_toggled */
	GtkWidget *button = g_object_new(GTK_TYPE_TOGGLE_BUTTON, "accessible-role",
	                                 GTK_ACCESSIBLE_ROLE_RADIO, NULL);
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
	GtkWidget *title_label, *text_label;
	g_autofree gchar *text = listing_text(p);
	const gchar *title = lookup_s(p, "title");

	if (*title == '\0')
		title = lookup_s(p, "name");
	title_label = gtk_label_new(title);
	text_label = gtk_label_new(text);
	gtk_label_set_xalign(GTK_LABEL(title_label), 0.0f);
	gtk_label_set_xalign(GTK_LABEL(text_label), 0.0f);
	gtk_label_set_wrap(GTK_LABEL(text_label), TRUE);
	gtk_widget_add_css_class(text_label, "dim-label");
	gtk_widget_add_css_class(text_label, "caption");
	gtk_box_append(GTK_BOX(box), title_label);
	gtk_box_append(GTK_BOX(box), text_label);
	gtk_button_set_child(GTK_BUTTON(button), box);
	gtk_widget_add_css_class(button, "flat");
	gtk_toggle_button_set_group(GTK_TOGGLE_BUTTON(button),
	                            self->group != NULL ? GTK_TOGGLE_BUTTON(self->group) : NULL);
	if (self->group == NULL)
		self->group = button;
	gtk_accessible_update_property(GTK_ACCESSIBLE(button), GTK_ACCESSIBLE_PROPERTY_LABEL, title,
	                               GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text, -1);
	gtk_accessible_update_state(GTK_ACCESSIBLE(button), GTK_ACCESSIBLE_STATE_CHECKED,
	                            GTK_ACCESSIBLE_TRISTATE_FALSE, -1);
	g_signal_connect(button, "toggled", G_CALLBACK(on_toggled), self);
	gtk_list_box_append(GTK_LIST_BOX(self->list), button);
	/* one Tab stop per profile: the button, not also the row around it */
	gtk_widget_set_focusable(gtk_widget_get_parent(button), FALSE);
	g_ptr_array_add(self->checks, button);
	g_ptr_array_add(self->rows, text_label);
}

static gboolean
same_names(PbmProfileList *self, GVariant *profiles)
{
	g_auto(GStrv) names = pbm_profile_list_dup_names(self);
	gsize n = g_variant_n_children(profiles);

	if (g_strv_length(names) != n || n != self->rows->len)
		return FALSE;
	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) p = g_variant_get_child_value(profiles, i);

		if (!g_str_equal(names[i], lookup_s(p, "name")))
			return FALSE;
	}
	return TRUE;
}

static void
update_texts(PbmProfileList *self, GVariant *profiles)
{
	for (gsize i = 0; i < g_variant_n_children(profiles); i++) {
		g_autoptr(GVariant) p = g_variant_get_child_value(profiles, i);
		g_autofree gchar *text = listing_text(p);

		set_text(self, (guint)i, text);
	}
}

static void
rebuild(PbmProfileList *self, GVariant *profiles, const gchar *selected)
{
	pbm_app_list_clear(GTK_LIST_BOX(self->list));
	g_ptr_array_set_size(self->checks, 0);
	g_ptr_array_set_size(self->rows, 0);
	self->group = NULL;
	for (gsize i = 0; profiles != NULL && i < g_variant_n_children(profiles); i++) {
		g_autoptr(GVariant) p = g_variant_get_child_value(profiles, i);

		add_row(self, p);
		if (g_strcmp0(selected, lookup_s(p, "name")) == 0)
			gtk_toggle_button_set_active(g_ptr_array_index(self->checks, i), TRUE);
	}
}

void
pbm_profile_list_set_profiles(PbmProfileList *self, GVariant *profiles)
{
	g_autoptr(GVariant) old = self->profiles;
	g_autoptr(GVariant) selected = pbm_profile_list_get_selected(self);
	g_autofree gchar *name = selected != NULL ? g_strdup(lookup_s(selected, "name")) : NULL;
	gboolean keep = profiles != NULL && same_names(self, profiles);

	self->profiles = profiles != NULL ? g_variant_ref(profiles) : NULL;
	if (keep) {
		update_texts(self, profiles);
		return;
	}
	rebuild(self, profiles, name);
	g_signal_emit(self, signals[SIGNAL_SELECTED], 0);
}

GtkWidget *
pbm_profile_list_new(void)
{
	return g_object_new(PBM_TYPE_PROFILE_LIST, NULL);
}

static void
pbm_profile_list_finalize(GObject *object)
{
	PbmProfileList *self = PBM_PROFILE_LIST(object);

	g_ptr_array_unref(self->checks);
	g_ptr_array_unref(self->rows);
	g_clear_pointer(&self->profiles, g_variant_unref);
	G_OBJECT_CLASS(pbm_profile_list_parent_class)->finalize(object);
}

static void
pbm_profile_list_class_init(PbmProfileListClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = pbm_profile_list_finalize;
	/* the selection changed (also to none when the profiles went away) */
	signals[SIGNAL_SELECTED] =
	        g_signal_new("selected", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
	                     NULL, G_TYPE_NONE, 0);
}

static void
pbm_profile_list_init(PbmProfileList *self)
{
	self->checks = g_ptr_array_new();
	self->rows = g_ptr_array_new();
	self->list = gtk_list_box_new();
	gtk_list_box_set_selection_mode(GTK_LIST_BOX(self->list), GTK_SELECTION_NONE);
	gtk_widget_add_css_class(self->list, "boxed-list");
	gtk_accessible_update_property(GTK_ACCESSIBLE(self->list), GTK_ACCESSIBLE_PROPERTY_LABEL,
	                               "Profiles", -1);
	gtk_list_box_set_placeholder(GTK_LIST_BOX(self->list),
	                             gtk_label_new("The profiles show once pbmd answers."));
	adw_bin_set_child(ADW_BIN(self), self->list);
}
