/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-bus-thread.h"

struct _PbmBusThread {
	GMainContext *context;
	GMainContext *safety;
	GMainLoop *loop;
	GThread *thread;
};

static gpointer
run(gpointer data)
{
	PbmBusThread *self = data;

	/* Async calls made here (credentials, polkit) answer here. */
	g_main_context_push_thread_default(self->context);
	g_main_loop_run(self->loop);
	g_main_context_pop_thread_default(self->context);
	return NULL;
}

PbmBusThread *
pbm_bus_thread_new(GMainContext *safety)
{
	PbmBusThread *self = g_new0(PbmBusThread, 1);

	self->context = g_main_context_new();
	self->safety = g_main_context_ref(safety);
	self->loop = g_main_loop_new(self->context, FALSE);
	self->thread = g_thread_new("pbmd-bus", run, self);
	return self;
}

static void
attach(GMainContext *context, gint priority, GSourceFunc func, gpointer data,
       GDestroyNotify destroy)
{
	g_autoptr(GSource) source = g_idle_source_new();

	g_source_set_priority(source, priority);
	g_source_set_callback(source, func, data, destroy);
	g_source_attach(source, context);
}

void
pbm_bus_thread_invoke(PbmBusThread *self, GSourceFunc func, gpointer data, GDestroyNotify destroy)
{
	attach(self->context, G_PRIORITY_HIGH, func, data, destroy);
}

void
pbm_bus_thread_to_safety(PbmBusThread *self, gint priority, GSourceFunc func, gpointer data,
                         GDestroyNotify destroy)
{
	attach(self->safety, priority, func, data, destroy);
}

typedef struct {
	GSourceFunc func;
	gpointer data;
	GMutex lock;
	GCond cond;
	gboolean done;
} SyncCall;

static gboolean
run_sync_call(gpointer data)
{
	SyncCall *call = data;

	call->func(call->data);
	g_mutex_lock(&call->lock);
	call->done = TRUE;
	g_cond_signal(&call->cond);
	g_mutex_unlock(&call->lock);
	return G_SOURCE_REMOVE;
}

void
pbm_bus_thread_invoke_sync(PbmBusThread *self, GSourceFunc func, gpointer data)
{
	SyncCall call = { .func = func, .data = data };

	g_mutex_init(&call.lock);
	g_cond_init(&call.cond);
	attach(self->context, G_PRIORITY_HIGH, run_sync_call, &call, NULL);
	g_mutex_lock(&call.lock);
	while (!call.done)
		g_cond_wait(&call.cond, &call.lock);
	g_mutex_unlock(&call.lock);
	g_mutex_clear(&call.lock);
	g_cond_clear(&call.cond);
}

static gboolean
quit(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

void
pbm_bus_thread_free(PbmBusThread *self)
{
	if (self == NULL)
		return;
	/* after everything invoked before */
	attach(self->context, G_PRIORITY_HIGH, quit, self->loop, NULL);
	g_thread_join(self->thread);
	g_main_loop_unref(self->loop);
	g_main_context_unref(self->context);
	g_main_context_unref(self->safety);
	g_free(self);
}
