/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The temp trees tests leave behind, removed: one helper for every test,
 * unit or integration.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Removes path and everything below it without following links, making a
 * directory a test took permissions from readable again first. TRUE when
 * nothing is left. */
gboolean pbm_test_rm_rf(const gchar *path);

G_END_DECLS
