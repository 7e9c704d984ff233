/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The pbmctl commands, one file each (pbmctl-NAME.c). Each takes the
 * arguments from its own name on and returns the exit code.
 */
#pragma once

#include "pbmctl-common.h"

G_BEGIN_DECLS

gint pbm_ctl_status(PbmCtl *ctl, gint argc, gchar **argv);
gint pbm_ctl_panels(PbmCtl *ctl, gint argc, gchar **argv);
gint pbm_ctl_profiles(PbmCtl *ctl, gint argc, gchar **argv);
gint pbm_ctl_profile(PbmCtl *ctl, gint argc, gchar **argv);
gint pbm_ctl_start(PbmCtl *ctl, gint argc, gchar **argv);
gint pbm_ctl_stop(PbmCtl *ctl, gint argc, gchar **argv);
gint pbm_ctl_pause(PbmCtl *ctl, gint argc, gchar **argv);
gint pbm_ctl_resume(PbmCtl *ctl, gint argc, gchar **argv);
gint pbm_ctl_monitor(PbmCtl *ctl, gint argc, gchar **argv);
gint pbm_ctl_history(PbmCtl *ctl, gint argc, gchar **argv);
gint pbm_ctl_identify(PbmCtl *ctl, gint argc, gchar **argv);
gint pbm_ctl_reload(PbmCtl *ctl, gint argc, gchar **argv);

G_END_DECLS
