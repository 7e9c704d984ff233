/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A stand-in for systemd-logind on a private bus: it owns
 * org.freedesktop.login1, emits PrepareForSleep when told, and hands out
 * delay inhibitors as logind does, as the write end of a pipe whose
 * closing releases the lock. Its calls are served on the thread-default
 * context of whoever made it, while pbm_test_logind_wait() runs.
 */
#pragma once

#include "pbm-test-bus.h"

G_BEGIN_DECLS

typedef struct _PbmTestLogind PbmTestLogind;

PbmTestLogind *pbm_test_logind_new(PbmTestBus *bus, GError **error);
void pbm_test_logind_free(PbmTestLogind *logind);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmTestLogind, pbm_test_logind_free)

gboolean pbm_test_logind_prepare_for_sleep(PbmTestLogind *logind, gboolean sleeping,
                                           GError **error);
/* A reboot or poweroff is on its way. */
gboolean pbm_test_logind_prepare_for_shutdown(PbmTestLogind *logind, GError **error);
/* Serves calls until inhibits Inhibit calls were made and the caller holds
 * the last one (held) or has let go of it (!held); FALSE after timeout_ms. */
gboolean pbm_test_logind_wait(PbmTestLogind *logind, guint inhibits, gboolean held,
                              guint timeout_ms);
/* The last Inhibit call's (what, who, why, mode), or NULL. */
GVariant *pbm_test_logind_get_last_inhibit(PbmTestLogind *logind);

G_END_DECLS
