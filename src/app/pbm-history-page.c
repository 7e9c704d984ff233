/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The history page (pbm-history-page.h). It asks pbmd again when pbmd
 * comes (back), when a session ends and when the page is shown; nothing
 * is polled.
 */
#include "pbm-history-page.h"

#include "pbm-app-text.h"
#include "pbm-app-widgets.h"
#include "pbm-dose-chart.h"
#include "pbm-history-query.h"

struct _PbmHistoryPage {
	AdwBin parent_instance;
	PbmClient *client;
	GCancellable *cancel; /* the latest query */
	GtkWidget *chart;
	GtkWidget *status;
	GtkWidget *day;
	GtkWidget *prev, *next;
	GtkWidget *list;
	GPtrArray *rows;      /* GetHistory rows of the last 30 days */
	GDateTime *first_day; /* local midnight, PBM_DOSE_CHART_DAYS - 1 days ago */
	guint selected;
	gboolean daemon_up;
	GVariant *seen_summary; /* the last session end the page reloaded for */
};

G_DEFINE_TYPE(PbmHistoryPage, pbm_history_page, ADW_TYPE_BIN)

static gint
day_of(PbmHistoryPage *self, GVariant *row)
{
	gint64 started = 0;
	g_autoptr(GDateTime) t = NULL;
	GDate a, b;

	g_variant_lookup(row, "started_at", "x", &started);
	t = g_date_time_new_from_unix_local(started / G_USEC_PER_SEC);
	if (t == NULL)
		return -1;
	g_date_set_dmy(&a, (GDateDay)g_date_time_get_day_of_month(self->first_day),
	               (GDateMonth)g_date_time_get_month(self->first_day),
	               (GDateYear)g_date_time_get_year(self->first_day));
	g_date_set_dmy(&b, (GDateDay)g_date_time_get_day_of_month(t),
	               (GDateMonth)g_date_time_get_month(t), (GDateYear)g_date_time_get_year(t));
	return g_date_days_between(&a, &b);
}

static gchar *
row_text(PbmHistoryPage *self, GVariant *row)
{
	gint64 started = 0;
	const gchar *profile = "", *outcome = "";
	gdouble red = 0, nir = 0;
	gboolean goggles = FALSE;
	g_autoptr(GDateTime) t = NULL;
	g_autofree gchar *time = NULL, *doses = NULL;

	g_variant_lookup(row, "started_at", "x", &started);
	g_variant_lookup(row, "profile", "&s", &profile);
	g_variant_lookup(row, "outcome", "&s", &outcome);
	g_variant_lookup(row, "dose_red", "d", &red);
	g_variant_lookup(row, "dose_nir", "d", &nir);
	g_variant_lookup(row, "goggles", "b", &goggles);
	t = g_date_time_new_from_unix_local(started / G_USEC_PER_SEC);
	time = t != NULL ? g_date_time_format(t, "%H:%M") : g_strdup("?");
	doses = pbm_app_dose_text(red, nir);
	return g_strdup_printf("%s %s: %s, %s%s", time,
	                       pbm_client_profile_title(self->client, profile),
	                       *outcome != '\0' ? pbm_app_outcome_word(outcome) : "running", doses,
	                       goggles ? ", with goggles" : "");
}

static void
add_list_row(PbmHistoryPage *self, const gchar *text)
{
	GtkWidget *label = gtk_label_new(text);

	gtk_label_set_xalign(GTK_LABEL(label), 0.0f);
	gtk_label_set_wrap(GTK_LABEL(label), TRUE);
	gtk_widget_set_margin_top(label, 10);
	gtk_widget_set_margin_bottom(label, 10);
	gtk_widget_set_margin_start(label, 12);
	gtk_widget_set_margin_end(label, 12);
	gtk_list_box_append(GTK_LIST_BOX(self->list), label);
	/* text to read, not a control: no Tab stop */
	gtk_widget_set_focusable(gtk_widget_get_parent(label), FALSE);
}

static void
show_day(PbmHistoryPage *self)
{
	g_autoptr(GDateTime) day = g_date_time_add_days(self->first_day, (gint)self->selected);
	g_autofree gchar *date = g_date_time_format(day, "%A %-d %B %Y");
	guint shown = 0;

	pbm_app_label_set(self->day, g_strstrip(date));
	pbm_dose_chart_set_selected(PBM_DOSE_CHART(self->chart), self->selected);
	gtk_widget_set_sensitive(self->prev, self->selected > 0);
	gtk_widget_set_sensitive(self->next, self->selected < PBM_DOSE_CHART_DAYS - 1);
	pbm_app_list_clear(GTK_LIST_BOX(self->list));
	for (guint i = 0; i < self->rows->len; i++) {
		GVariant *row = g_ptr_array_index(self->rows, i);
		g_autofree gchar *text = NULL;

		if (day_of(self, row) != (gint)self->selected)
			continue;
		text = row_text(self, row);
		add_list_row(self, text);
		shown++;
	}
	if (shown == 0)
		add_list_row(self, "No sessions on this day");
}

static void
show_days(PbmHistoryPage *self)
{
	PbmDayDose days[PBM_DOSE_CHART_DAYS] = { 0 };

	for (guint i = 0; i < self->rows->len; i++) {
		GVariant *row = g_ptr_array_index(self->rows, i);
		gint d = day_of(self, row);
		gdouble red = 0, nir = 0;

		if (d < 0 || d >= (gint)PBM_DOSE_CHART_DAYS)
			continue;
		g_variant_lookup(row, "dose_red", "d", &red);
		g_variant_lookup(row, "dose_nir", "d", &nir);
		days[d].red += red;
		days[d].nir += nir;
		days[d].sessions++;
	}
	pbm_dose_chart_set_days(PBM_DOSE_CHART(self->chart), self->first_day, days);
	show_day(self);
}

static void
show_caps(PbmHistoryPage *self)
{
	PbmDBusManager *manager = pbm_client_get_manager(self->client);
	g_autoptr(GVariant) limits =
	        manager != NULL ? g_dbus_proxy_get_cached_property(G_DBUS_PROXY(manager), "Limits")
	                        : NULL;
	gdouble red = 0, nir = 0, total = 0;

	if (limits != NULL && g_variant_is_of_type(limits, G_VARIANT_TYPE_VARDICT)) {
		g_variant_lookup(limits, "daily_dose_red", "d", &red);
		g_variant_lookup(limits, "daily_dose_nir", "d", &nir);
		g_variant_lookup(limits, "daily_dose_total", "d", &total);
	}
	pbm_dose_chart_set_caps(PBM_DOSE_CHART(self->chart), red, nir, total);
}

static void
on_rows(GPtrArray *rows, const GError *error, gpointer user_data)
{
	PbmHistoryPage *self = user_data;

	if (rows == NULL) {
		g_autofree gchar *text = pbm_app_error_text(error);

		pbm_app_label_set(self->status, text);
		return;
	}
	g_ptr_array_set_size(self->rows, 0);
	for (guint i = 0; i < rows->len; i++)
		g_ptr_array_add(self->rows, g_variant_ref(g_ptr_array_index(rows, i)));
	pbm_app_label_set(self->status, rows->len == 0 ? "No sessions in the last 30 days." : "");
	show_days(self);
}

static void
reload(PbmHistoryPage *self)
{
	PbmDBusManager *manager = pbm_client_get_manager(self->client);
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autoptr(GDateTime) today =
	        g_date_time_new_local(g_date_time_get_year(now), g_date_time_get_month(now),
	                              g_date_time_get_day_of_month(now), 0, 0, 0);

	g_cancellable_cancel(self->cancel);
	g_clear_object(&self->cancel);
	g_clear_pointer(&self->first_day, g_date_time_unref);
	self->first_day = g_date_time_add_days(today, -(gint)(PBM_DOSE_CHART_DAYS - 1));
	show_caps(self);
	if (manager == NULL)
		return;
	self->cancel = g_cancellable_new();
	pbm_history_query(G_DBUS_PROXY(manager),
	                  g_date_time_to_unix(self->first_day) * G_USEC_PER_SEC, self->cancel,
	                  on_rows, self);
}

static void
on_daemon_changed(PbmClient *client, PbmHistoryPage *self)
{
	gboolean up = pbm_client_get_manager(client) != NULL;

	if (up && !self->daemon_up)
		reload(self);
	self->daemon_up = up;
	show_caps(self);
}

static void
on_session_changed(PbmClient *client, PbmHistoryPage *self)
{
	GVariant *summary = pbm_client_get_session_summary(client);

	if (summary == NULL || summary == self->seen_summary)
		return;
	g_clear_pointer(&self->seen_summary, g_variant_unref);
	self->seen_summary = g_variant_ref(summary);
	reload(self);
}

static void
select_day(PbmHistoryPage *self, guint day)
{
	self->selected = MIN(day, PBM_DOSE_CHART_DAYS - 1);
	show_day(self);
}

static void
on_day_activated(PbmDoseChart *chart, guint day, PbmHistoryPage *self)
{
	select_day(self, day);
}

static void
on_prev(GtkButton *button, PbmHistoryPage *self)
{
	if (self->selected > 0)
		select_day(self, self->selected - 1);
}

static void
on_next(GtkButton *button, PbmHistoryPage *self)
{
	select_day(self, self->selected + 1);
}

static void
on_map(GtkWidget *widget, PbmHistoryPage *self)
{
	reload(self);
}

GtkWidget *
pbm_history_page_new(PbmClient *client)
{
	PbmHistoryPage *self = g_object_new(PBM_TYPE_HISTORY_PAGE, NULL);

	self->client = g_object_ref(client);
	g_signal_connect_object(client, "daemon-changed", G_CALLBACK(on_daemon_changed), self, 0);
	g_signal_connect_object(client, "session-changed", G_CALLBACK(on_session_changed), self, 0);
	reload(self);
	return GTK_WIDGET(self);
}

static GtkWidget *
day_switcher(PbmHistoryPage *self)
{
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);

	self->prev = pbm_app_button("_Previous day", "Show the day before", NULL);
	self->next = pbm_app_button("_Next day", "Show the day after", NULL);
	self->day = pbm_app_value_label("Day", "heading");
	gtk_label_set_xalign(GTK_LABEL(self->day), 0.5f);
	g_signal_connect(self->prev, "clicked", G_CALLBACK(on_prev), self);
	g_signal_connect(self->next, "clicked", G_CALLBACK(on_next), self);
	gtk_box_append(GTK_BOX(box), self->prev);
	gtk_box_append(GTK_BOX(box), self->day);
	gtk_box_append(GTK_BOX(box), self->next);
	return box;
}

static GtkWidget *
content(PbmHistoryPage *self)
{
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 18);
	GtkWidget *legend = gtk_label_new(NULL);

	self->status = pbm_app_value_label("History status", "dim-label");
	self->chart = pbm_dose_chart_new();
	self->list = gtk_list_box_new();
	gtk_list_box_set_selection_mode(GTK_LIST_BOX(self->list), GTK_SELECTION_NONE);
	gtk_widget_add_css_class(self->list, "boxed-list");
	gtk_accessible_update_property(GTK_ACCESSIBLE(self->list), GTK_ACCESSIBLE_PROPERTY_LABEL,
	                               "Sessions of the day", -1);
	/* the swatches are the chart's colours (pbm-dose-chart.c) */
	gtk_label_set_markup(GTK_LABEL(legend),
	                     "<span foreground=\"#cc2929\">■</span> red and "
	                     "<span foreground=\"#6b3894\">■</span> near-infrared (NIR) dose "
	                     "per day, J/cm². Dashed lines: pbmd's daily caps (rolling 24 h).");
	gtk_label_set_wrap(GTK_LABEL(legend), TRUE);
	gtk_label_set_xalign(GTK_LABEL(legend), 0.0f);
	gtk_widget_add_css_class(legend, "dim-label");
	g_signal_connect(self->chart, "day-activated", G_CALLBACK(on_day_activated), self);
	gtk_box_append(GTK_BOX(box), self->status);
	gtk_box_append(GTK_BOX(box), self->chart);
	gtk_box_append(GTK_BOX(box), legend);
	gtk_box_append(GTK_BOX(box), day_switcher(self));
	gtk_box_append(GTK_BOX(box), self->list);
	return box;
}

static void
pbm_history_page_dispose(GObject *object)
{
	PbmHistoryPage *self = PBM_HISTORY_PAGE(object);

	if (self->cancel != NULL)
		g_cancellable_cancel(self->cancel);
	g_clear_object(&self->cancel);
	g_clear_object(&self->client);
	G_OBJECT_CLASS(pbm_history_page_parent_class)->dispose(object);
}

static void
pbm_history_page_finalize(GObject *object)
{
	PbmHistoryPage *self = PBM_HISTORY_PAGE(object);

	g_ptr_array_unref(self->rows);
	g_clear_pointer(&self->first_day, g_date_time_unref);
	g_clear_pointer(&self->seen_summary, g_variant_unref);
	G_OBJECT_CLASS(pbm_history_page_parent_class)->finalize(object);
}

static void
pbm_history_page_class_init(PbmHistoryPageClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = pbm_history_page_dispose;
	G_OBJECT_CLASS(klass)->finalize = pbm_history_page_finalize;
}

static void
pbm_history_page_init(PbmHistoryPage *self)
{
	GtkWidget *scroll = gtk_scrolled_window_new();
	GtkWidget *clamp = adw_clamp_new();

	self->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);
	self->selected = PBM_DOSE_CHART_DAYS - 1;
	adw_clamp_set_maximum_size(ADW_CLAMP(clamp), 900);
	gtk_widget_set_margin_top(clamp, 24);
	gtk_widget_set_margin_bottom(clamp, 24);
	gtk_widget_set_margin_start(clamp, 12);
	gtk_widget_set_margin_end(clamp, 12);
	adw_clamp_set_child(ADW_CLAMP(clamp), content(self));
	gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), clamp);
	adw_bin_set_child(ADW_BIN(self), scroll);
	g_signal_connect(self, "map", G_CALLBACK(on_map), self);
}
