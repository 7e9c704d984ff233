/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The panel list (pbm-panel-list.h). Rows are labels, so that a screen
 * reader reads a panel as one sentence.
 */
#include "pbm-panel-list.h"

#include "pbm-app-text.h"
#include "pbm-app-widgets.h"

static void
add_row(GtkWidget *list, const gchar *text, gboolean problem)
{
	GtkWidget *label = gtk_label_new(text);

	gtk_label_set_wrap(GTK_LABEL(label), TRUE);
	gtk_label_set_xalign(GTK_LABEL(label), 0.0f);
	gtk_widget_set_margin_top(label, 12);
	gtk_widget_set_margin_bottom(label, 12);
	gtk_widget_set_margin_start(label, 12);
	gtk_widget_set_margin_end(label, 12);
	if (problem)
		gtk_widget_add_css_class(label, "warning");
	gtk_list_box_append(GTK_LIST_BOX(list), label);
	/* text to read, not a control: no Tab stop */
	gtk_widget_set_focusable(gtk_widget_get_parent(label), FALSE);
}

/* Temperatures change every few seconds: rows are kept, so that keyboard
 * focus stays where it is, while the same number of panels is shown. */
static gboolean
update_in_place(GtkWidget *list, GPtrArray *panels)
{
	GtkListBoxRow *row;
	guint i;

	for (i = 0; (row = gtk_list_box_get_row_at_index(GTK_LIST_BOX(list), (gint)i)) != NULL;
	     i++) {
		g_autofree gchar *text = NULL;

		if (i >= panels->len)
			return FALSE;
		text = pbm_app_panel_text(g_ptr_array_index(panels, i));
		pbm_app_label_set(gtk_list_box_row_get_child(row), text);
	}
	return i == panels->len && i > 0;
}

void
pbm_panel_list_update(GtkWidget *list, GPtrArray *panels, gboolean daemon_up)
{
	if (daemon_up && panels->len > 0 &&
	    gtk_list_box_get_row_at_index(GTK_LIST_BOX(list), 0) != NULL &&
	    g_object_get_data(G_OBJECT(list), "pbm-placeholder") == NULL &&
	    update_in_place(list, panels))
		return;
	g_object_set_data(G_OBJECT(list), "pbm-placeholder", NULL);
	pbm_app_list_clear(GTK_LIST_BOX(list));
	if (!daemon_up) {
		add_row(list, "Unknown while pbmd is not running.", TRUE);
		g_object_set_data(G_OBJECT(list), "pbm-placeholder", GINT_TO_POINTER(1));
		return;
	}
	if (panels->len == 0) {
		add_row(list, "No panel. Plug the panel in and switch it on.", TRUE);
		g_object_set_data(G_OBJECT(list), "pbm-placeholder", GINT_TO_POINTER(1));
	}
	for (guint i = 0; i < panels->len; i++) {
		PbmDBusPanel *panel = g_ptr_array_index(panels, i);
		const gchar *const *faults = pbm_dbus_panel_get_faults(panel);
		g_autofree gchar *text = pbm_app_panel_text(panel);

		add_row(list, text,
		        !pbm_dbus_panel_get_connected(panel) ||
		                (faults != NULL && faults[0] != NULL));
	}
}

GtkWidget *
pbm_panel_list_new(void)
{
	GtkWidget *list = gtk_list_box_new();

	gtk_list_box_set_selection_mode(GTK_LIST_BOX(list), GTK_SELECTION_NONE);
	gtk_widget_add_css_class(list, "boxed-list");
	gtk_accessible_update_property(GTK_ACCESSIBLE(list), GTK_ACCESSIBLE_PROPERTY_LABEL,
	                               "Panels", -1);
	return list;
}
