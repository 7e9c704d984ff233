/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * PbmBusThread: where pbmd serves D-Bus, apart from where it drives the
 * light. pbmd's main thread runs the safety context (the GLib default
 * context: panels, transports, the session engine, the manager, signals
 * and sd_notify); this thread runs its own context, where the objects are
 * exported, so that their properties are read, arguments checked,
 * callers authorized (credentials and polkit) and the history queried
 * without the safety context seeing any of it.
 *
 * The hand-off between the two is narrow and one-way each:
 *   pbm_bus_thread_invoke()  safety -> bus: export, unexport, and what
 *                            must reach clients after them, in order;
 *   pbm_bus_thread_to_safety()  bus -> safety: one command a caller is
 *                            authorized for (start, stop, pause, resume,
 *                            identify, clear a fault, reload), each a
 *                            bounded piece of work: stopping and pausing
 *                            at high priority, with the light's deadlines
 *                            and SIGTERM, the rest at default priority, so
 *                            that a flood of them cannot hold up either;
 *                            and what anyone may ask that needs the
 *                            panels (an EstimateSession plan), at
 *                            default-idle priority, after every command.
 * Neither waits for the other except at start-up and shut-down.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _PbmBusThread PbmBusThread;

/* Starts the thread. safety is the context of the light (held). */
PbmBusThread *pbm_bus_thread_new(GMainContext *safety);
/* Runs func(data) on the bus thread, then destroy(data) there, after
 * everything invoked before it. */
void pbm_bus_thread_invoke(PbmBusThread *self, GSourceFunc func, gpointer data,
                           GDestroyNotify destroy);
/* The same, and waits for it: start-up and shut-down only. */
void pbm_bus_thread_invoke_sync(PbmBusThread *self, GSourceFunc func, gpointer data);
/* Runs func(data) on the safety context at priority (G_PRIORITY_HIGH,
 * G_PRIORITY_DEFAULT or G_PRIORITY_DEFAULT_IDLE), then destroy(data) there. */
void pbm_bus_thread_to_safety(PbmBusThread *self, gint priority, GSourceFunc func, gpointer data,
                              GDestroyNotify destroy);
/* Runs what was invoked before, stops and joins the thread. */
void pbm_bus_thread_free(PbmBusThread *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmBusThread, pbm_bus_thread_free)

G_END_DECLS
