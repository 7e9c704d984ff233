/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmctl resume: resume the paused session.
 */
#include "pbmctl-commands.h"

gint
pbm_ctl_resume(PbmCtl *ctl, gint argc, gchar **argv)
{
	return pbm_ctl_simple_call(ctl, "ResumeSession", "resumed");
}
