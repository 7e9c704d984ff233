/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Suspend, shutdown and a running session. While a session runs, pbmd
 * holds a logind delay inhibitor for sleep and shutdown, so that the
 * machine does not sleep or reboot with the light on: on PrepareForSleep
 * or PrepareForShutdown (true) pbmd ends the session as interrupted, waits
 * for every panel to confirm it is dark, and only then lets the machine
 * go. From then until resume (or a cancelled shutdown) no session starts.
 * Without logind there is neither a notice nor anything to wait for.
 */
#pragma once

#include "pbm-manager.h"

G_BEGIN_DECLS

typedef struct _PbmSleepGuard PbmSleepGuard;

/* Watches logind on bus (the system bus) for manager, on the calling
 * thread's context (the safety context). */
PbmSleepGuard *pbm_sleep_guard_new(GDBusConnection *bus, PbmManager *manager);
void pbm_sleep_guard_free(PbmSleepGuard *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmSleepGuard, pbm_sleep_guard_free)

G_END_DECLS
