/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The dictionaries of the org.pbmd1 contract (data/org.pbmd1.xml) built
 * from the daemon's objects: a panel's channels, a profile, a history row,
 * a finished session's summary, a session's estimate, the limits. Floating references, ready for a
 * reply, a property or a signal.
 */
#pragma once

#include "pbm-config.h"
#include "pbm-history.h"
#include "pbm-panel.h"
#include "pbm-profile.h"
#include "pbm-session.h"

G_BEGIN_DECLS

/* aa{sv}: band, wavelength_nm, max_level, irradiance a(dd) */
GVariant *pbm_export_channels_variant(PbmPanel *panel);
/* A profile on the panel its estimate was made on. */
typedef struct {
	const gchar *panel;          /* serial; NULL: no panel connected */
	const PbmEstimate *estimate; /* NULL: none (no panel, or error) */
	const gchar *error;          /* why the profile cannot run on panel */
} PbmExportEstimate;

/* a{sv} */
GVariant *pbm_export_profile_variant(PbmProfile *profile, const PbmExportEstimate *estimate,
                                     gboolean with_steps);
GVariant *pbm_export_history_variant(const PbmHistoryEntry *entry);
/* a{sv}: EstimateSession's estimate of plan */
GVariant *pbm_export_estimate_variant(PbmPlan *plan);
/* a{sv}: the Limits property */
GVariant *pbm_export_limits_variant(const PbmLimits *limits);
/* a{sv}: the summary argument of SessionFinished */
GVariant *pbm_export_summary_variant(PbmSession *session);

G_END_DECLS
