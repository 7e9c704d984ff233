/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmctl pause: pause the active session (its lights go off).
 */
#include "pbmctl-commands.h"

gint
pbm_ctl_pause(PbmCtl *ctl, gint argc, gchar **argv)
{
	return pbm_ctl_simple_call(ctl, "PauseSession", "paused");
}
