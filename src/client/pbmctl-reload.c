/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmctl reload: have pbmd read its configuration and profiles again.
 */
#include "pbmctl-commands.h"

gint
pbm_ctl_reload(PbmCtl *ctl, gint argc, gchar **argv)
{
	return pbm_ctl_simple_call(ctl, "ReloadConfig", "configuration and profiles reloaded");
}
