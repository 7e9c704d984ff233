/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmctl stop: stop the active session.
 */
#include "pbmctl-commands.h"

gint
pbm_ctl_stop(PbmCtl *ctl, gint argc, gchar **argv)
{
	return pbm_ctl_simple_call(ctl, "StopSession", "stopped");
}
