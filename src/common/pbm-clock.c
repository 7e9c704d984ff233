/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-clock.h"

G_DEFINE_ABSTRACT_TYPE(PbmClock, pbm_clock, G_TYPE_OBJECT)

static void
pbm_clock_class_init(PbmClockClass *klass)
{
}

static void
pbm_clock_init(PbmClock *self)
{
}

gint64
pbm_clock_now(PbmClock *self)
{
	g_return_val_if_fail(PBM_IS_CLOCK(self), 0);
	return PBM_CLOCK_GET_CLASS(self)->now(self);
}

gint64
pbm_clock_now_wall(PbmClock *self)
{
	g_return_val_if_fail(PBM_IS_CLOCK(self), 0);
	return PBM_CLOCK_GET_CLASS(self)->now_wall(self);
}

guint
pbm_clock_add_deadline(PbmClock *self, gint64 deadline_us, GSourceFunc func, gpointer user_data,
                       GDestroyNotify notify)
{
	g_return_val_if_fail(PBM_IS_CLOCK(self), 0);
	return PBM_CLOCK_GET_CLASS(self)->add_deadline(self, deadline_us, func, user_data, notify);
}

guint
pbm_clock_add_timeout(PbmClock *self, gint64 delay_us, GSourceFunc func, gpointer user_data,
                      GDestroyNotify notify)
{
	return pbm_clock_add_deadline(self, pbm_clock_now(self) + MAX(delay_us, 0), func, user_data,
	                              notify);
}

void
pbm_clock_clear(PbmClock *self, guint *id)
{
	if (*id == 0)
		return;
	g_return_if_fail(PBM_IS_CLOCK(self));
	PBM_CLOCK_GET_CLASS(self)->remove(self, *id);
	*id = 0;
}

/* ---- the real clock ---- */

#define PBM_TYPE_REAL_CLOCK (pbm_real_clock_get_type())
G_DECLARE_FINAL_TYPE(PbmRealClock, pbm_real_clock, PBM, REAL_CLOCK, PbmClock)

struct _PbmRealClock {
	PbmClock parent_instance;
};

G_DEFINE_TYPE(PbmRealClock, pbm_real_clock, PBM_TYPE_CLOCK)

static gint64
real_now(PbmClock *clock)
{
	return g_get_monotonic_time();
}

static gint64
real_now_wall(PbmClock *clock)
{
	return g_get_real_time();
}

static gboolean
deadline_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	/* A one-shot: the callback's return value does not re-arm it. */
	callback(user_data);
	return G_SOURCE_REMOVE;
}

static GSourceFuncs deadline_funcs = {
	.dispatch = deadline_dispatch,
};

static guint
real_add_deadline(PbmClock *clock, gint64 deadline_us, GSourceFunc func, gpointer user_data,
                  GDestroyNotify notify)
{
	g_autoptr(GSource) source = g_source_new(&deadline_funcs, sizeof(GSource));

	/* Ready-time sources fire at the exact microsecond, unlike g_timeout_add()
	 * which rounds to milliseconds from the time it was added. */
	g_source_set_ready_time(source, deadline_us);
	/* Deadlines switch light on and off, step by step, and feed the panel's
	 * watchdog: they go before D-Bus calls waiting in the same loop, so that
	 * many readers cannot stretch a dose. */
	g_source_set_priority(source, G_PRIORITY_HIGH);
	g_source_set_callback(source, func, user_data, notify);
	g_source_set_name(source, "pbm-clock-deadline");
	return g_source_attach(source, g_main_context_get_thread_default());
}

static void
real_remove(PbmClock *clock, guint id)
{
	GSource *source = g_main_context_find_source_by_id(g_main_context_get_thread_default(), id);

	if (source != NULL)
		g_source_destroy(source);
}

static void
pbm_real_clock_class_init(PbmRealClockClass *klass)
{
	PbmClockClass *clock_class = PBM_CLOCK_CLASS(klass);

	clock_class->now = real_now;
	clock_class->now_wall = real_now_wall;
	clock_class->add_deadline = real_add_deadline;
	clock_class->remove = real_remove;
}

static void
pbm_real_clock_init(PbmRealClock *self)
{
}

PbmClock *
pbm_clock_new_real(void)
{
	return g_object_new(PBM_TYPE_REAL_CLOCK, NULL);
}
