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

/* Writes text to path as a profile or configuration file an administrator
 * wrote: mode 0644 whatever the umask, since pbmd refuses profiles that
 * others may change; replaced whole (pbmd may read it at any time). Fails
 * the test on an error. */
void pbm_test_write_file(const gchar *path, const gchar *text);

/* Copies the shipped profiles (data/profiles of the source tree) into dir,
 * made 0755, as 0644 files: what an installation has, whatever the modes
 * of the checkout. */
void pbm_test_copy_shipped_profiles(const gchar *dir);

G_END_DECLS
