/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The app's view of pbmd: one connection, the org.pbmd name followed as it
 * comes and goes, and proxies for the Manager, the panels and the latest
 * session. Everything arrives through signals and PropertiesChanged; the
 * client never polls.
 */
#pragma once

#include "pbm-dbus-generated.h"

G_BEGIN_DECLS

#define PBM_TYPE_CLIENT (pbm_client_get_type())
G_DECLARE_FINAL_TYPE(PbmClient, pbm_client, PBM, CLIENT, GObject)

/* address NULL: the bus of bus_type. */
PbmClient *pbm_client_new(GBusType bus_type, const gchar *address);
void pbm_client_connect(PbmClient *self);

/* NULL while pbmd is not on the bus. */
PbmDBusManager *pbm_client_get_manager(PbmClient *self);
/* The panels pbmd lists, as PbmDBusPanel proxies (empty without pbmd). */
GPtrArray *pbm_client_get_panels(PbmClient *self);
/* The active session, or the last one that ended while the app watched
 * (its properties stay as they were at its end); NULL when none. */
PbmDBusSession *pbm_client_get_session(PbmClient *self);
/* The summary of the session's SessionFinished, NULL before it ends. */
GVariant *pbm_client_get_session_summary(PbmClient *self);
/* ListProfiles' reply (aa{sv}), NULL until it came. */
GVariant *pbm_client_get_profiles(PbmClient *self);
/* A profile's title as ListProfiles gives it, else name itself. */
const gchar *pbm_client_profile_title(PbmClient *self, const gchar *name);
/* Why pbmd cannot be reached, for people; NULL when it can. */
const gchar *pbm_client_get_problem(PbmClient *self);

G_END_DECLS
