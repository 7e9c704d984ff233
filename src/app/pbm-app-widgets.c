/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Small widget builders (pbm-app-widgets.h).
 */
#include "pbm-app-widgets.h"

GtkWidget *
pbm_app_value_label(const gchar *what, const gchar *css_class)
{
	GtkWidget *label = gtk_label_new("");

	gtk_label_set_wrap(GTK_LABEL(label), TRUE);
	gtk_label_set_xalign(GTK_LABEL(label), 0.0f);
	gtk_widget_set_hexpand(label, TRUE);
	if (css_class != NULL)
		gtk_widget_add_css_class(label, css_class);
	/* A label's accessible name is its text; the description says what the
	 * text is. */
	gtk_accessible_update_property(GTK_ACCESSIBLE(label), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
	                               what, GTK_ACCESSIBLE_PROPERTY_LABEL, what, -1);
	g_object_set_data_full(G_OBJECT(label), "pbm-what", g_strdup(what), g_free);
	return label;
}

GtkWidget *
pbm_app_caption_row(const gchar *caption, GtkWidget *value)
{
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);
	GtkWidget *title = gtk_label_new(caption);

	gtk_label_set_xalign(GTK_LABEL(title), 0.0f);
	gtk_widget_set_size_request(title, 120, -1);
	gtk_widget_add_css_class(title, "dim-label");
	gtk_box_append(GTK_BOX(box), title);
	gtk_box_append(GTK_BOX(box), value);
	return box;
}

GtkWidget *
pbm_app_button(const gchar *label, const gchar *tooltip, const gchar *css_class)
{
	GtkWidget *button = gtk_button_new_with_mnemonic(label);
	/* GTK 4.8 names a mnemonic button by its raw label ("_Start") and its
	 * label child ("Start"); the child alone says it right. */
	gtk_accessible_reset_property(GTK_ACCESSIBLE(button), GTK_ACCESSIBLE_PROPERTY_LABEL);
	gtk_widget_set_tooltip_text(button, tooltip);
	if (css_class != NULL)
		gtk_widget_add_css_class(button, css_class);
	return button;
}

void
pbm_app_label_set(GtkWidget *label, const gchar *text)
{
	const gchar *shown = text != NULL ? text : "";

	/* setting the same text again would still notify screen readers */
	const gchar *what = g_object_get_data(G_OBJECT(label), "pbm-what");

	if (g_strcmp0(gtk_label_get_text(GTK_LABEL(label)), shown) != 0)
		gtk_label_set_text(GTK_LABEL(label), shown);
	/* an empty label would be read by its type name ("GtkLabel") */
	if (*shown == '\0' && what != NULL)
		gtk_accessible_update_property(GTK_ACCESSIBLE(label), GTK_ACCESSIBLE_PROPERTY_LABEL,
		                               what, -1);
}

void
pbm_app_list_clear(GtkListBox *list)
{
	GtkWidget *row;

	while ((row = gtk_widget_get_first_child(GTK_WIDGET(list))) != NULL)
		gtk_list_box_remove(list, row);
}
