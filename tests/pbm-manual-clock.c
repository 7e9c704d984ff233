/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-manual-clock.h"

typedef struct {
	guint id;
	gint64 deadline;
	GSourceFunc func;
	gpointer user_data;
	GDestroyNotify notify;
} Deadline;

struct _PbmManualClock {
	PbmClock parent_instance;
	gint64 now;
	gint64 wall_offset; /* wall = now + wall_offset */
	guint next_id;
	GList *deadlines; /* Deadline *, sorted by time then id */
};

G_DEFINE_TYPE(PbmManualClock, pbm_manual_clock, PBM_TYPE_CLOCK)

static void
deadline_free(Deadline *d)
{
	if (d->notify != NULL)
		d->notify(d->user_data);
	g_free(d);
}

static gint
deadline_cmp(gconstpointer a, gconstpointer b)
{
	const Deadline *x = a, *y = b;

	if (x->deadline != y->deadline)
		return x->deadline < y->deadline ? -1 : 1;
	return x->id < y->id ? -1 : (x->id > y->id);
}

static gint64
manual_now(PbmClock *clock)
{
	return PBM_MANUAL_CLOCK(clock)->now;
}

static gint64
manual_now_wall(PbmClock *clock)
{
	PbmManualClock *self = PBM_MANUAL_CLOCK(clock);

	return self->now + self->wall_offset;
}

void
pbm_manual_clock_set_wall(PbmManualClock *self, gint64 unix_us)
{
	self->wall_offset = unix_us - self->now;
}

static guint
manual_add_deadline(PbmClock *clock, gint64 deadline_us, GSourceFunc func, gpointer user_data,
                    GDestroyNotify notify)
{
	PbmManualClock *self = PBM_MANUAL_CLOCK(clock);
	Deadline *d = g_new0(Deadline, 1);

	d->id = ++self->next_id;
	d->deadline = deadline_us;
	d->func = func;
	d->user_data = user_data;
	d->notify = notify;
	self->deadlines = g_list_insert_sorted(self->deadlines, d, deadline_cmp);
	return d->id;
}

static void
manual_remove(PbmClock *clock, guint id)
{
	PbmManualClock *self = PBM_MANUAL_CLOCK(clock);

	for (GList *l = self->deadlines; l != NULL; l = l->next) {
		Deadline *d = l->data;
		if (d->id == id) {
			self->deadlines = g_list_delete_link(self->deadlines, l);
			deadline_free(d);
			return;
		}
	}
}

void
pbm_test_drain_main_context(void)
{
	while (g_main_context_iteration(NULL, FALSE))
		;
}

void
pbm_manual_clock_advance(PbmManualClock *self, gint64 usec)
{
	gint64 end = self->now + usec;

	pbm_test_drain_main_context();
	while (self->deadlines != NULL) {
		Deadline *d = self->deadlines->data;
		if (d->deadline > end)
			break;
		self->deadlines = g_list_delete_link(self->deadlines, self->deadlines);
		self->now = MAX(self->now, d->deadline);
		d->func(d->user_data);
		deadline_free(d);
		pbm_test_drain_main_context();
	}
	self->now = end;
	pbm_test_drain_main_context();
}

static void
pbm_manual_clock_finalize(GObject *object)
{
	PbmManualClock *self = PBM_MANUAL_CLOCK(object);

	g_list_free_full(self->deadlines, (GDestroyNotify)deadline_free);
	G_OBJECT_CLASS(pbm_manual_clock_parent_class)->finalize(object);
}

static void
pbm_manual_clock_class_init(PbmManualClockClass *klass)
{
	PbmClockClass *clock_class = PBM_CLOCK_CLASS(klass);

	G_OBJECT_CLASS(klass)->finalize = pbm_manual_clock_finalize;
	clock_class->now = manual_now;
	clock_class->now_wall = manual_now_wall;
	clock_class->add_deadline = manual_add_deadline;
	clock_class->remove = manual_remove;
}

static void
pbm_manual_clock_init(PbmManualClock *self)
{
	self->now = 1000 * G_USEC_PER_SEC;
	/* 2026-11-24 09:00:00 UTC */
	self->wall_offset = G_GINT64_CONSTANT(1795510800) * G_USEC_PER_SEC - self->now;
}

PbmClock *
pbm_manual_clock_new(void)
{
	return g_object_new(PBM_TYPE_MANUAL_CLOCK, NULL);
}
