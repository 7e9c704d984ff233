/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A PbmClock for tests: time stands still until the test advances it, and
 * deadlines fire in order while it does.
 */
#pragma once

#include "pbm-clock.h"

G_BEGIN_DECLS

#define PBM_TYPE_MANUAL_CLOCK (pbm_manual_clock_get_type())
G_DECLARE_FINAL_TYPE(PbmManualClock, pbm_manual_clock, PBM, MANUAL_CLOCK, PbmClock)

PbmClock *pbm_manual_clock_new(void);
/* Moves time forward, firing due deadlines in order and running the default
 * main context until it is idle after each one. */
void pbm_manual_clock_advance(PbmManualClock *self, gint64 usec);
/* Wall time follows the monotonic time; this sets where it stands now. */
void pbm_manual_clock_set_wall(PbmManualClock *self, gint64 unix_us);
/* Runs the default main context until nothing is pending. */
void pbm_test_drain_main_context(void);

G_END_DECLS
