/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Methods that need a right, across the two threads of pbmd-bus-thread.h:
 * the caller is authorized on the bus thread, then what the method does
 * runs on the safety context (pbm_export_call()), which also replies and
 * frees the call, so that panels and sessions are only ever touched, and
 * let go of, there. The methods that act on the active session or the
 * daemon as a whole, with no argument and no reply, are one table that
 * gives each its right and what it runs (pbm_export_control_invoke()).
 *
 * PbmExportShared is what the exporter's handlers on the bus thread may
 * read: the manager only to hand it on to the safety context, the rest
 * under its lock, kept up to date by the exporter on the safety context.
 */
#pragma once

#include "pbm-auth.h"
#include "pbm-bus-thread.h"
#include "pbm-export-catalog.h"
#include "pbm-export-history.h"
#include "pbm-manager.h"

G_BEGIN_DECLS

typedef struct {
	PbmManager *manager; /* for the safety context only */
	PbmBusThread *bus;
	GDBusConnection *connection;
	PbmExportHistory *history;
	GMutex lock; /* guards what follows */
	gchar *control_group;
	PbmExportCatalog *catalog;
	gint64 active_id;     /* the active session's, 0 for none */
	guint32 active_owner; /* its user */
} PbmExportShared;

gchar *pbm_export_shared_dup_control_group(PbmExportShared *shared);
/* A reference to the profiles as they are now, or NULL while there is
 * none yet (at start-up, after a change): then the safety context makes
 * it, pbm_export_shared_ensure_catalog(). Made lazily, so that start-up
 * does not wait for every profile's estimate. */
PbmExportCatalog *pbm_export_shared_get_catalog(PbmExportShared *shared);
/* On the safety context: the catalog, made first if it is missing or stale. */
PbmExportCatalog *pbm_export_shared_ensure_catalog(PbmExportShared *shared);
/* On the safety context: forgets the catalog if the profiles or the
 * estimate panel changed since it was made. */
void pbm_export_shared_drop_stale_catalog(PbmExportShared *shared);

/* What an authorized call does, on the safety context: it replies to
 * invocation (now or later; then it takes a reference). uid: the caller. */
typedef void (*PbmExportRun)(GDBusMethodInvocation *invocation, guint32 uid, gpointer data);

/* On the bus thread: authorizes the caller of invocation for action (owner:
 * as pbm_auth_check_async()), then runs run(invocation, uid, data) on the
 * safety context, or replies with the refusal; data is destroyed on the
 * safety context either way. */
void pbm_export_call(PbmExportShared *shared, GDBusMethodInvocation *invocation,
                     PbmAuthAction action, gint64 owner, PbmExportRun run, gpointer data,
                     GDestroyNotify destroy);

/* Replies value (floating) to invocation from the bus thread, after what
 * was invoked there before (a new session's object is exported first). */
void pbm_export_reply_on_bus(PbmExportShared *shared, GDBusMethodInvocation *invocation,
                             GVariant *value);

/* Exports skel at path on the bus thread, after what was invoked before. */
void pbm_export_publish(PbmExportShared *shared, GDBusInterfaceSkeleton *skel, const gchar *path);
/* On the bus thread: disconnects the handlers of skel that have
 * handler_data and unexports it; then on the safety context
 * free_on_safety(handler_data). */
void pbm_export_retire(PbmExportShared *shared, GDBusInterfaceSkeleton *skel, gpointer handler_data,
                       GDestroyNotify free_on_safety);

typedef enum {
	PBM_CONTROL_STOP,
	PBM_CONTROL_PAUSE,
	PBM_CONTROL_RESUME,
	PBM_CONTROL_RELOAD,
} PbmControl;

/* pbm_export_call() of a control method. session: the Session object's
 * own session; NULL for the Manager's methods, which act on the session
 * active when they are called. That session must still be the active one
 * when the call runs, so that passing as its owner (stop, pause, resume)
 * never acts on someone else's. */
void pbm_export_control_invoke(PbmExportShared *shared, PbmControl control, PbmSession *session,
                               GDBusMethodInvocation *invocation);

G_END_DECLS
