/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A bar chart of the daily dose per band over the last days, with the
 * daily caps as lines. Clicking a day chooses it.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define PBM_DOSE_CHART_DAYS 30u

typedef struct {
	gdouble red; /* J/cm² */
	gdouble nir;
	guint sessions;
} PbmDayDose;

#define PBM_TYPE_DOSE_CHART (pbm_dose_chart_get_type())
G_DECLARE_FINAL_TYPE(PbmDoseChart, pbm_dose_chart, PBM, DOSE_CHART, GtkWidget)

GtkWidget *pbm_dose_chart_new(void);
/* days[0] is first_day, the last is today (local time). */
void pbm_dose_chart_set_days(PbmDoseChart *self, GDateTime *first_day,
                             const PbmDayDose days[PBM_DOSE_CHART_DAYS]);
/* The daily caps, J/cm²; 0 where pbmd did not say. */
void pbm_dose_chart_set_caps(PbmDoseChart *self, gdouble red, gdouble nir, gdouble total);
/* day: 0 .. PBM_DOSE_CHART_DAYS - 1 */
void pbm_dose_chart_set_selected(PbmDoseChart *self, guint day);

G_END_DECLS
