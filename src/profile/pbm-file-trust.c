/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-file-trust.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <unistd.h>

#include "pbm-conf-file.h"

void
pbm_file_trust_init(PbmFileTrust *trust)
{
	trust->owners[0] = 0;
	trust->owners[1] = geteuid();
}

static gboolean
owner_trusted(const PbmFileTrust *trust, uid_t uid)
{
	for (gsize i = 0; i < G_N_ELEMENTS(trust->owners); i++) {
		if (trust->owners[i] == uid)
			return TRUE;
	}
	return FALSE;
}

/* "uid 1000 (alice)", or the number alone */
static gchar *
describe_user(uid_t uid)
{
	struct passwd entry, *pw = NULL;
	gchar buf[1024];

	if (getpwuid_r(uid, &entry, buf, sizeof buf, &pw) == 0 && pw != NULL)
		return g_strdup_printf("uid %u (%s)", (guint)uid, pw->pw_name);
	return g_strdup_printf("uid %u", (guint)uid);
}

gboolean
pbm_file_trust_check(const PbmFileTrust *trust, const gchar *path, GError **error)
{
	GStatBuf st;
	g_autofree gchar *who = NULL;

	if (g_stat(path, &st) != 0) {
		gint saved = errno;
		if (saved == ENOENT)
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: %s", path,
			            g_strerror(saved));
		else
			g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_UNREADABLE, "%s: %s",
			            path, g_strerror(saved));
		return FALSE;
	}
	if (!owner_trusted(trust, st.st_uid)) {
		who = describe_user(st.st_uid);
		g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_UNTRUSTED,
		            "%s: owned by %s; pbmd reads profiles only from files and directories "
		            "owned by root, so that no user can change a dose: chown root: %s",
		            path, who, path);
		return FALSE;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		g_set_error(error, PBM_CONFIG_ERROR, PBM_CONFIG_ERROR_UNTRUSTED,
		            "%s: writable by %s (mode %04o); pbmd reads profiles only from files "
		            "and directories that only their owner can change: chmod go-w %s",
		            path, (st.st_mode & S_IWOTH) != 0 ? "everyone" : "its group",
		            (guint)(st.st_mode & 07777), path);
		return FALSE;
	}
	return TRUE;
}
