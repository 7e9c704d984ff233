/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The application: its options (which bus pbmd is on), one window, and
 * the client that follows pbmd for it.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define PBM_APP_ID "org.pbmd.Therapy"

#define PBM_TYPE_APP (pbm_app_get_type())
G_DECLARE_FINAL_TYPE(PbmApp, pbm_app, PBM, APP, AdwApplication)

PbmApp *pbm_app_new(void);

G_END_DECLS
