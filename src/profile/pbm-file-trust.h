/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Which profile files pbmd may believe. A profile decides how much light
 * goes into someone, so pbmd reads only files and directories that nobody
 * but an administrator could have written: owned by root or by the user
 * pbmd runs as, and writable by neither their group nor others. Anything
 * else is refused with the command that fixes it.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

typedef struct {
	uid_t owners[2]; /* who may own them */
} PbmFileTrust;

/* Root and the process's effective user. */
void pbm_file_trust_init(PbmFileTrust *trust);

/* path (followed if a link) must be owned by one of trust's owners and not
 * writable by group or others. Fails with PBM_CONFIG_ERROR_UNTRUSTED, or
 * PBM_CONFIG_ERROR_UNREADABLE when it cannot be looked at; a missing path
 * is G_FILE_ERROR_NOENT so that callers can allow it. */
gboolean pbm_file_trust_check(const PbmFileTrust *trust, const gchar *path, GError **error);

G_END_DECLS
