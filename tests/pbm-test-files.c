/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-test-files.h"

#include <errno.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

static void
remove_children(const gchar *path)
{
	g_autoptr(GDir) dir = NULL;
	const gchar *name;

	/* tests of unreadable directories take the owner's permissions away */
	g_chmod(path, 0700);
	dir = g_dir_open(path, 0, NULL);
	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *child = g_build_filename(path, name, NULL);
		pbm_test_rm_rf(child);
	}
}

gboolean
pbm_test_rm_rf(const gchar *path)
{
	GStatBuf st;

	if (g_lstat(path, &st) != 0)
		return errno == ENOENT;
	if (!S_ISDIR(st.st_mode))
		return g_unlink(path) == 0;
	remove_children(path);
	return g_rmdir(path) == 0;
}
