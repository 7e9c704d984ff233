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

void
pbm_test_write_file(const gchar *path, const gchar *text)
{
	g_autoptr(GError) error = NULL;

	if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error))
		g_error("%s", error->message);
}

void
pbm_test_copy_shipped_profiles(const gchar *dir)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) shipped = g_dir_open(PBM_SOURCE_DIR "/data/profiles", 0, &error);
	const gchar *name;

	if (shipped == NULL)
		g_error("%s", error->message);
	if (g_mkdir_with_parents(dir, 0755) != 0 || g_chmod(dir, 0755) != 0)
		g_error("%s: %s", dir, g_strerror(errno));
	while ((name = g_dir_read_name(shipped)) != NULL) {
		g_autofree gchar *from =
		        g_build_filename(PBM_SOURCE_DIR, "data", "profiles", name, NULL);
		g_autofree gchar *to = g_build_filename(dir, name, NULL);
		g_autofree gchar *text = NULL;

		if (!g_file_get_contents(from, &text, NULL, &error))
			g_error("%s", error->message);
		pbm_test_write_file(to, text);
	}
}
