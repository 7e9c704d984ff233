/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The monotonic clock every timed room uses, injected so that tests and
 * simulations can run time at their own pace. The real clock is GLib's
 * monotonic time and main loop; a manual clock (tests) fires its timeouts
 * only when told to advance.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define PBM_TYPE_CLOCK (pbm_clock_get_type())
G_DECLARE_DERIVABLE_TYPE(PbmClock, pbm_clock, PBM, CLOCK, GObject)

struct _PbmClockClass {
	GObjectClass parent_class;

	gint64 (*now)(PbmClock *self);
	/* Wall-clock time, unix microseconds: for records, never for timing. */
	gint64 (*now_wall)(PbmClock *self);
	/* Calls func once at (or after) the monotonic time deadline_us, in the
	 * thread-default main context of the caller. Returns an id > 0. */
	guint (*add_deadline)(PbmClock *self, gint64 deadline_us, GSourceFunc func,
	                      gpointer user_data, GDestroyNotify notify);
	void (*remove)(PbmClock *self, guint id);
};

/* Microseconds, monotonic, with an arbitrary origin. */
gint64 pbm_clock_now(PbmClock *self);
/* Microseconds since the unix epoch. */
gint64 pbm_clock_now_wall(PbmClock *self);
guint pbm_clock_add_deadline(PbmClock *self, gint64 deadline_us, GSourceFunc func,
                             gpointer user_data, GDestroyNotify notify);
guint pbm_clock_add_timeout(PbmClock *self, gint64 delay_us, GSourceFunc func, gpointer user_data,
                            GDestroyNotify notify);
/* Removes *id if it is set and zeroes it. */
void pbm_clock_clear(PbmClock *self, guint *id);

/* The real monotonic clock on the GLib main loop. */
PbmClock *pbm_clock_new_real(void);

G_END_DECLS
