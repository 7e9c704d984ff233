/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A fake polkit authority on a private bus (pbm-test-bus.h), so that pbmd's
 * polkit path runs in tests without polkitd. Its getters and setters may be
 * called from any thread; keep it in the test fixture and free it in the
 * teardown.
 */
#pragma once

#include <gio/gio.h>

#include "pbm-test-bus.h"

G_BEGIN_DECLS

typedef struct _PbmTestPolkit PbmTestPolkit;

/* Owns org.freedesktop.PolicyKit1 on the bus from a thread of its own and
 * exports /org/freedesktop/PolicyKit1/Authority:
 * CheckAuthorization(subject (sa{sv}), action_id s, details a{ss}, flags u,
 * cancellation_id s) -> ((bba{ss})) answers (answer, FALSE, {}), or
 * org.freedesktop.PolicyKit1.Error.Failed for a subject polkit would refuse
 * (kinds unix-process with pid u, system-bus-name with name s, unix-session
 * with session-id s); CancelCheckAuthorization(s) ends a delayed check with
 * org.freedesktop.PolicyKit1.Error.Cancelled; BackendName, BackendVersion and
 * BackendFeatures properties. Returns once the name is owned. */
PbmTestPolkit *pbm_test_polkit_new(PbmTestBus *bus, gboolean answer, GError **error);
void pbm_test_polkit_free(PbmTestPolkit *polkit);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmTestPolkit, pbm_test_polkit_free)

/* The answer to every action without an answer of its own. */
void pbm_test_polkit_set_answer(PbmTestPolkit *polkit, gboolean answer);
/* The answer for one action id, overriding set_answer(). */
void pbm_test_polkit_set_action_answer(PbmTestPolkit *polkit, const gchar *action_id,
                                       gboolean answer);
/* Answers only after delay_ms (0: at once), like an authentication dialog. */
void pbm_test_polkit_set_delay(PbmTestPolkit *polkit, guint delay_ms);
/* CheckAuthorization calls received for action_id, answered or not. */
guint pbm_test_polkit_get_calls(PbmTestPolkit *polkit, const gchar *action_id);
/* The parameters of the latest CheckAuthorization call, (sa{sv}sa{ss}us), or
 * NULL before the first; g_variant_unref it. */
GVariant *pbm_test_polkit_get_last_parameters(PbmTestPolkit *polkit);

G_END_DECLS
