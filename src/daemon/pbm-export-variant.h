/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The dictionaries of the org.pbmd1 contract (data/org.pbmd1.xml) built
 * from the daemon's objects: a panel's channels, a profile, a history row,
 * a finished session's summary. Floating references, ready for a reply,
 * a property or a signal.
 */
#pragma once

#include "pbm-history.h"
#include "pbm-panel.h"
#include "pbm-profile.h"
#include "pbm-session.h"

G_BEGIN_DECLS

/* aa{sv}: band, wavelength_nm, max_level, irradiance a(dd) */
GVariant *pbm_export_channels_variant(PbmPanel *panel);
/* a{sv}; estimate NULL: no panel to compute duration and dose from. */
GVariant *pbm_export_profile_variant(PbmProfile *profile, const PbmEstimate *estimate,
                                     gboolean with_steps);
GVariant *pbm_export_history_variant(const PbmHistoryEntry *entry);
/* a{sv}: the summary argument of SessionFinished */
GVariant *pbm_export_summary_variant(PbmSession *session);

G_END_DECLS
