/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What the app says to people: errors explained, outcomes, doses, panels.
 */
#pragma once

#include "pbm-dbus-generated.h"

G_BEGIN_DECLS

/* An error of a call to pbmd, explained with what to do next. */
gchar *pbm_app_error_text(const GError *error);
/* "Completed", "Stopped at the panel", ... for an outcome of the contract. */
const gchar *pbm_app_outcome_word(const gchar *outcome);
/* "red 0.12 J/cm², NIR 0.00 J/cm²" */
gchar *pbm_app_dose_text(gdouble red, gdouble nir);
/* "4:05" (minutes:seconds) or "1:02:03" */
gchar *pbm_app_clock_text(guint64 usec);
/* One line about a panel: model, serial, connection, temperature, faults. */
gchar *pbm_app_panel_text(PbmDBusPanel *panel);

G_END_DECLS
