/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The daily dose chart (pbm-dose-chart.h). It draws with cairo; its
 * accessible description says in words what the bars show.
 */
#include "pbm-dose-chart.h"

#include <math.h>
#include <string.h>

#define MARGIN_LEFT 44.0
#define MARGIN_RIGHT 12.0
#define MARGIN_TOP 12.0
#define MARGIN_BOTTOM 24.0

struct _PbmDoseChart {
	GtkWidget parent_instance;
	GDateTime *first_day;
	PbmDayDose days[PBM_DOSE_CHART_DAYS];
	gdouble caps[3]; /* red, NIR, both */
	guint selected;
};

enum { SIGNAL_DAY_ACTIVATED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_TYPE(PbmDoseChart, pbm_dose_chart, GTK_TYPE_WIDGET)

static const GdkRGBA red_color = { 0.80f, 0.16f, 0.16f, 1.0f };
static const GdkRGBA nir_color = { 0.42f, 0.22f, 0.58f, 1.0f };
static const GdkRGBA cap_color = { 0.45f, 0.45f, 0.45f, 1.0f };

/* A round step (1, 2 or 5 times a power of ten) for about four ticks. */
static gdouble
tick_step(gdouble largest)
{
	gdouble magnitude = pow(10.0, floor(log10(largest / 4.0)));
	gdouble fraction = largest / 4.0 / magnitude;

	return magnitude * (fraction <= 1.0   ? 1.0
	                    : fraction <= 2.0 ? 2.0
	                    : fraction <= 5.0 ? 5.0
	                                      : 10.0);
}

/* The top of the scale: the largest bar or cap, rounded up to a tick. */
static gdouble
scale_top(PbmDoseChart *self, gdouble *step)
{
	gdouble largest = 1.0;

	for (guint i = 0; i < PBM_DOSE_CHART_DAYS; i++)
		largest = MAX(largest, MAX(self->days[i].red, self->days[i].nir));
	for (guint i = 0; i < G_N_ELEMENTS(self->caps); i++)
		largest = MAX(largest, self->caps[i]);
	*step = tick_step(largest * 1.05);
	return ceil(largest * 1.05 / *step) * *step;
}

static void
draw_text(GtkWidget *widget, cairo_t *cr, const gchar *text, gdouble x, gdouble y, gdouble align)
{
	g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout(widget, text);
	gint w, h;

	pango_layout_get_pixel_size(layout, &w, &h);
	cairo_move_to(cr, x - w * align, y - h / 2.0);
	pango_cairo_show_layout(cr, layout);
}

static void
draw_cap(PbmDoseChart *self, cairo_t *cr, gdouble value, const GdkRGBA *color, const gchar *names,
         gdouble width, gdouble height, gdouble top)
{
	gdouble y = MARGIN_TOP + height * (1.0 - value / top);
	const gdouble dash[] = { 6.0, 4.0 };
	g_autofree gchar *text = g_strdup_printf("daily cap %s: %g J/cm²", names, value);

	cairo_save(cr);
	gdk_cairo_set_source_rgba(cr, color);
	cairo_set_dash(cr, dash, 2, 0);
	cairo_set_line_width(cr, 1.5);
	cairo_move_to(cr, MARGIN_LEFT, y);
	cairo_line_to(cr, MARGIN_LEFT + width, y);
	cairo_stroke(cr);
	draw_text(GTK_WIDGET(self), cr, text, MARGIN_LEFT + 6, y - 9, 0.0);
	cairo_restore(cr);
}

/* Caps of the same value share one line and one label ("red, NIR, both"),
 * which is how pbmd's defaults are. */
static void
draw_caps(PbmDoseChart *self, cairo_t *cr, gdouble width, gdouble height, gdouble top)
{
	static const gchar *const names[] = { "red", "NIR", "both bands" };
	const GdkRGBA *colors[] = { &red_color, &nir_color, &cap_color };

	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autoptr(GString) label = g_string_new(names[i]);
		gboolean drawn = self->caps[i] <= 0;

		for (guint j = 0; j < i && !drawn; j++)
			drawn = self->caps[j] == self->caps[i];
		for (guint j = i + 1; j < G_N_ELEMENTS(names) && !drawn; j++) {
			if (self->caps[j] == self->caps[i])
				g_string_append_printf(label, ", %s", names[j]);
		}
		if (!drawn)
			draw_cap(self, cr, self->caps[i],
			         strchr(label->str, ',') ? &cap_color : colors[i], label->str,
			         width, height, top);
	}
}

static void
draw_axes(PbmDoseChart *self, cairo_t *cr, gdouble width, gdouble height, gdouble top, gdouble step)
{
	GdkRGBA fg;

	gtk_style_context_get_color(gtk_widget_get_style_context(GTK_WIDGET(self)), &fg);
	gdk_cairo_set_source_rgba(cr, &fg);
	cairo_set_line_width(cr, 1.0);
	cairo_move_to(cr, MARGIN_LEFT, MARGIN_TOP);
	cairo_line_to(cr, MARGIN_LEFT, MARGIN_TOP + height);
	cairo_line_to(cr, MARGIN_LEFT + width, MARGIN_TOP + height);
	cairo_stroke(cr);
	for (gdouble v = 0; v <= top + step / 2; v += step) {
		g_autofree gchar *t = g_strdup_printf("%g", v);

		draw_text(GTK_WIDGET(self), cr, t, MARGIN_LEFT - 6,
		          MARGIN_TOP + height * (1 - v / top), 1.0);
	}
	for (guint d = 0; self->first_day != NULL && d < PBM_DOSE_CHART_DAYS; d += 7) {
		g_autoptr(GDateTime) day = g_date_time_add_days(self->first_day, (gint)d);
		g_autofree gchar *t = g_date_time_format(day, "%-d %b");
		gdouble x = MARGIN_LEFT + width * (d + 0.5) / PBM_DOSE_CHART_DAYS;

		draw_text(GTK_WIDGET(self), cr, g_strstrip(t), x, MARGIN_TOP + height + 12, 0.5);
	}
}

static void
draw_bars(PbmDoseChart *self, cairo_t *cr, gdouble width, gdouble height, gdouble top)
{
	gdouble slot = width / PBM_DOSE_CHART_DAYS;

	for (guint d = 0; d < PBM_DOSE_CHART_DAYS; d++) {
		gdouble x = MARGIN_LEFT + slot * d;
		gdouble hr = height * self->days[d].red / top;
		gdouble hn = height * self->days[d].nir / top;

		if (d == self->selected) {
			cairo_set_source_rgba(cr, 0.2, 0.5, 0.9, 0.18);
			cairo_rectangle(cr, x, MARGIN_TOP, slot, height);
			cairo_fill(cr);
		}
		gdk_cairo_set_source_rgba(cr, &red_color);
		cairo_rectangle(cr, x + slot * 0.12, MARGIN_TOP + height - hr, slot * 0.36, hr);
		cairo_fill(cr);
		gdk_cairo_set_source_rgba(cr, &nir_color);
		cairo_rectangle(cr, x + slot * 0.52, MARGIN_TOP + height - hn, slot * 0.36, hn);
		cairo_fill(cr);
	}
}

static void
pbm_dose_chart_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
	PbmDoseChart *self = PBM_DOSE_CHART(widget);
	gdouble w = gtk_widget_get_width(widget), h = gtk_widget_get_height(widget);
	gdouble width = w - MARGIN_LEFT - MARGIN_RIGHT, height = h - MARGIN_TOP - MARGIN_BOTTOM;
	gdouble step;
	gdouble top = scale_top(self, &step);
	cairo_t *cr;

	if (width <= 0 || height <= 0)
		return;
	cr = gtk_snapshot_append_cairo(snapshot, &GRAPHENE_RECT_INIT(0, 0, (float)w, (float)h));
	draw_bars(self, cr, width, height, top);
	draw_axes(self, cr, width, height, top, step);
	draw_caps(self, cr, width, height, top);
	cairo_destroy(cr);
}

/* ---- in words ---- */

static gchar *
describe(PbmDoseChart *self)
{
	g_autoptr(GString) text = g_string_new(NULL);
	guint used = 0, best = 0;

	for (guint d = 0; d < PBM_DOSE_CHART_DAYS; d++) {
		used += self->days[d].sessions > 0;
		if (self->days[d].red + self->days[d].nir >
		    self->days[best].red + self->days[best].nir)
			best = d;
	}
	g_string_append_printf(text, "Daily dose over the last %u days: sessions on %u of them.",
	                       PBM_DOSE_CHART_DAYS, used);
	if (used > 0 && self->first_day != NULL) {
		g_autoptr(GDateTime) day = g_date_time_add_days(self->first_day, (gint)best);
		g_autofree gchar *date = g_date_time_format(day, "%A %-d %B");

		g_string_append_printf(text, " The most on %s: red %.2f, NIR %.2f J/cm².", date,
		                       self->days[best].red, self->days[best].nir);
	}
	if (self->caps[0] > 0)
		g_string_append_printf(text, " Daily caps: red %.0f, NIR %.0f, both %.0f J/cm².",
		                       self->caps[0], self->caps[1], self->caps[2]);
	return g_string_free(g_steal_pointer(&text), FALSE);
}

static void
changed(PbmDoseChart *self)
{
	g_autofree gchar *text = describe(self);

	gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
	                               text, -1);
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

void
pbm_dose_chart_set_days(PbmDoseChart *self, GDateTime *first_day,
                        const PbmDayDose days[PBM_DOSE_CHART_DAYS])
{
	g_clear_pointer(&self->first_day, g_date_time_unref);
	self->first_day = g_date_time_ref(first_day);
	memcpy(self->days, days, sizeof(self->days));
	changed(self);
}

void
pbm_dose_chart_set_caps(PbmDoseChart *self, gdouble red, gdouble nir, gdouble total)
{
	self->caps[0] = red;
	self->caps[1] = nir;
	self->caps[2] = total;
	changed(self);
}

void
pbm_dose_chart_set_selected(PbmDoseChart *self, guint day)
{
	self->selected = MIN(day, PBM_DOSE_CHART_DAYS - 1);
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
on_click(GtkGestureClick *gesture, gint n_press, gdouble x, gdouble y, PbmDoseChart *self)
{
	gdouble width = gtk_widget_get_width(GTK_WIDGET(self)) - MARGIN_LEFT - MARGIN_RIGHT;
	gint day = (gint)((x - MARGIN_LEFT) / (width / PBM_DOSE_CHART_DAYS));

	if (width <= 0 || x < MARGIN_LEFT || day < 0 || day >= (gint)PBM_DOSE_CHART_DAYS)
		return;
	g_signal_emit(self, signals[SIGNAL_DAY_ACTIVATED], 0, (guint)day);
}

GtkWidget *
pbm_dose_chart_new(void)
{
	return g_object_new(PBM_TYPE_DOSE_CHART, "accessible-role", GTK_ACCESSIBLE_ROLE_IMG, NULL);
}

static void
pbm_dose_chart_finalize(GObject *object)
{
	g_clear_pointer(&PBM_DOSE_CHART(object)->first_day, g_date_time_unref);
	G_OBJECT_CLASS(pbm_dose_chart_parent_class)->finalize(object);
}

static void
pbm_dose_chart_class_init(PbmDoseChartClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = pbm_dose_chart_finalize;
	GTK_WIDGET_CLASS(klass)->snapshot = pbm_dose_chart_snapshot;
	/* a day was clicked: its index, 0 .. PBM_DOSE_CHART_DAYS - 1 */
	signals[SIGNAL_DAY_ACTIVATED] =
	        g_signal_new("day-activated", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
	                     NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
}

static void
pbm_dose_chart_init(PbmDoseChart *self)
{
	GtkGesture *click = gtk_gesture_click_new();

	self->selected = PBM_DOSE_CHART_DAYS - 1;
	gtk_widget_set_size_request(GTK_WIDGET(self), 360, 220);
	gtk_widget_set_hexpand(GTK_WIDGET(self), TRUE);
	g_signal_connect(click, "pressed", G_CALLBACK(on_click), self);
	gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(click));
	gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL,
	                               "Daily dose chart", -1);
	changed(self);
}
