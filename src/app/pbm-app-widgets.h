/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Small widget builders the app's views share, so that every control has
 * its accessible name where it is made.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* A wrapping, left-aligned label whose accessible description is what
 * (a screen reader says "0:27, Time left"); css_class may be NULL. */
GtkWidget *pbm_app_value_label(const gchar *what, const gchar *css_class);
/* A row of a caption ("Time left") beside value. */
GtkWidget *pbm_app_caption_row(const gchar *caption, GtkWidget *value);
/* A button with a mnemonic label (its accessible name) and a tooltip. */
GtkWidget *pbm_app_button(const gchar *label, const gchar *tooltip, const gchar *css_class);
void pbm_app_label_set(GtkWidget *label, const gchar *text);
/* Removes every row of a list box. */
void pbm_app_list_clear(GtkListBox *list);

G_END_DECLS
