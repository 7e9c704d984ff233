/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A session and its record: the session engine tied to the history, which
 * the session room may not use. Starting a session the one safe way, shared
 * by the Manager and the tests: read the person's recent history, plan
 * (every refusal happens here), write the start row durably, and only then
 * switch the light on. While the session runs, its dose is checkpointed to
 * the history; when it ends, the outcome is written.
 */
#pragma once

#include "pbm-history.h"
#include "pbm-session.h"

G_BEGIN_DECLS

/* Plans, records and starts a session. On success the session is running
 * (or, if a panel refused at switch-on, already finished with that outcome
 * recorded). Fails, with nothing lit, when the plan is refused or the
 * history cannot be written. */
PbmSession *pbm_recorded_session_start(PbmClock *clock, PbmHistory *history, PbmProfile *profile,
                                       const PbmPlanRequest *request, GPtrArray *panels,
                                       const PbmLimits *limits, gboolean session_active,
                                       guint32 owner_uid, GError **error);

G_END_DECLS
