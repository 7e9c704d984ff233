/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The main window (pbm-window.h).
 */
#include "pbm-window.h"

#include "pbm-app-widgets.h"
#include "pbm-history-page.h"
#include "pbm-therapy-page.h"

struct _PbmWindow {
	AdwApplicationWindow parent_instance;
	PbmClient *client;
	GtkWidget *connection;
};

G_DEFINE_TYPE(PbmWindow, pbm_window, ADW_TYPE_APPLICATION_WINDOW)

static void
on_daemon_changed(PbmClient *client, PbmWindow *self)
{
	PbmDBusManager *manager = pbm_client_get_manager(client);
	const gchar *problem = pbm_client_get_problem(client);
	g_autofree gchar *text = NULL;

	if (manager == NULL || problem != NULL) {
		pbm_app_label_set(self->connection, problem != NULL ? problem : "");
		gtk_widget_add_css_class(self->connection, "warning");
		return;
	}
	text = g_strdup_printf("pbmd %s: %s", pbm_dbus_manager_get_version(manager),
	                       pbm_dbus_manager_get_state(manager));
	pbm_app_label_set(self->connection, text);
	gtk_widget_remove_css_class(self->connection, "warning");
}

static GtkWidget *
pages(PbmWindow *self, GtkWidget *switcher_title, GtkWidget *switcher_bar)
{
	GtkWidget *stack = adw_view_stack_new();
	AdwViewStackPage *page;

	page = adw_view_stack_add_titled(ADW_VIEW_STACK(stack), pbm_therapy_page_new(self->client),
	                                 "therapy", "Therapy");
	adw_view_stack_page_set_icon_name(page, "weather-clear-symbolic");
	page = adw_view_stack_add_titled(ADW_VIEW_STACK(stack), pbm_history_page_new(self->client),
	                                 "history", "History");
	adw_view_stack_page_set_icon_name(page, "document-open-recent-symbolic");
	adw_view_switcher_title_set_stack(ADW_VIEW_SWITCHER_TITLE(switcher_title),
	                                  ADW_VIEW_STACK(stack));
	adw_view_switcher_bar_set_stack(ADW_VIEW_SWITCHER_BAR(switcher_bar), ADW_VIEW_STACK(stack));
	gtk_widget_set_vexpand(stack, TRUE);
	return stack;
}

GtkWidget *
pbm_window_new(AdwApplication *app, PbmClient *client)
{
	PbmWindow *self = g_object_new(PBM_TYPE_WINDOW, "application", app, NULL);
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
	GtkWidget *header = adw_header_bar_new();
	GtkWidget *title = adw_view_switcher_title_new();
	GtkWidget *bar = adw_view_switcher_bar_new();

	self->client = g_object_ref(client);
	adw_view_switcher_title_set_title(ADW_VIEW_SWITCHER_TITLE(title), "Light Therapy");
	adw_header_bar_set_title_widget(ADW_HEADER_BAR(header), title);
	g_object_bind_property(title, "title-visible", bar, "reveal", G_BINDING_SYNC_CREATE);
	self->connection = pbm_app_value_label("Connection", NULL);
	gtk_label_set_xalign(GTK_LABEL(self->connection), 0.5f);
	gtk_widget_set_margin_top(self->connection, 6);
	gtk_widget_set_margin_bottom(self->connection, 6);
	gtk_box_append(GTK_BOX(box), header);
	gtk_box_append(GTK_BOX(box), self->connection);
	gtk_box_append(GTK_BOX(box), pages(self, title, bar));
	gtk_box_append(GTK_BOX(box), bar);
	adw_application_window_set_content(ADW_APPLICATION_WINDOW(self), box);
	g_signal_connect_object(client, "daemon-changed", G_CALLBACK(on_daemon_changed), self, 0);
	on_daemon_changed(client, self);
	return GTK_WIDGET(self);
}

static void
pbm_window_dispose(GObject *object)
{
	g_clear_object(&PBM_WINDOW(object)->client);
	G_OBJECT_CLASS(pbm_window_parent_class)->dispose(object);
}

static void
pbm_window_class_init(PbmWindowClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = pbm_window_dispose;
}

static void
pbm_window_init(PbmWindow *self)
{
	gtk_window_set_title(GTK_WINDOW(self), "Light Therapy");
	gtk_window_set_default_size(GTK_WINDOW(self), 1000, 720);
}
