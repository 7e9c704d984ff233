/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A plan: a profile laid onto the selected panels under the daemon's
 * limits and the person's recent history. Building one is where pbmd says
 * no, naming the limit and, where it frees with time, when.
 */
#pragma once

#include "pbm-config.h"
#include "pbm-panel.h"
#include "pbm-dose.h"

G_BEGIN_DECLS

#define PBM_SESSION_ERROR (pbm_session_error_quark())
GQuark pbm_session_error_quark(void);

typedef enum {
	PBM_SESSION_ERROR_BUSY,         /* a session is running */
	PBM_SESSION_ERROR_NO_PANEL,     /* no (connected) panel to run on */
	PBM_SESSION_ERROR_FAULT,        /* a panel has a latched fault or is untrusted */
	PBM_SESSION_ERROR_SAFETY_LIMIT, /* a limit of pbmd.conf or of the panel */
	PBM_SESSION_ERROR_INVALID,      /* the profile cannot run on these panels */
	PBM_SESSION_ERROR_NOT_RUNNING,  /* pause/resume/stop with nothing to act on */
	PBM_SESSION_ERROR_DEVICE,       /* a panel failed while starting */
} PbmSessionError;

/* One finished or running session of the last 24 hours. */
typedef struct {
	gint64 ended_at; /* unix usec; for a running one, now */
	gdouble dose[PBM_N_BANDS];
} PbmRecentDose;

/* What the history says, handed in by the caller so the planner stays pure. */
typedef struct {
	const PbmRecentDose *recent; /* sessions that ended in the last 24 h */
	guint n_recent;
	gint64 last_end; /* unix usec of the last session's end, 0 if none */
	/* ... of the last session of this profile that counts for its
	 * min_interval, 0 if none */
	gint64 last_profile_end;
	gboolean session_active;
} PbmUsage;

typedef struct {
	PbmPanel *panel;
	/* levels[step][channel] */
	guint16 (*levels)[PBM_MAX_CHANNELS];
	PbmEstimate estimate;
} PbmPanelPlan;

typedef struct {
	gint ref_count;
	PbmProfile *profile;
	gdouble distance_cm;
	PbmLimits limits;
	GPtrArray *panels;         /* PbmPanelPlan * */
	gint64 duration_us;        /* the longest panel's estimate */
	gdouble dose[PBM_N_BANDS]; /* the highest panel's estimate */
	gint64 watchdog_ms;
	/* J/m2 of 780-3000 nm at the eye, every panel together (the face is
	 * in front of all of them), and what IEC 62471 allows over the plan */
	gdouble eye_exposure;
	gdouble eye_limit;
	gboolean goggles; /* the person acknowledged eye protection */
	/* "goggles: ...", "visible-pulse: ...": what the person must know */
	GStrv warnings;
} PbmPlan;

/* What the person starting a session asked for. */
typedef struct {
	gdouble distance_cm; /* <= 0: the profile's own */
	gboolean goggles;    /* they wear eye protection */
} PbmPlanRequest;

/* now is wall time. */
PbmPlan *pbm_plan_new(PbmProfile *profile, const PbmPlanRequest *request, GPtrArray *panels,
                      const PbmLimits *limits, const PbmUsage *usage, gint64 now, GError **error);
PbmPlan *pbm_plan_ref(PbmPlan *plan);
void pbm_plan_unref(PbmPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmPlan, pbm_plan_unref)

/* Whether the plan gives unprotected eyes more than the IEC 62471 limit,
 * which a session may only exceed with request->goggles. */
gboolean pbm_plan_needs_goggles(const PbmPlan *plan);

const PbmStep *pbm_plan_get_step(PbmPlan *plan, guint index);
guint pbm_plan_get_step_count(PbmPlan *plan);
/* The board temperature a session may not reach on this panel: the
 * configured limit, but always some margin below the panel's own cut-out. */
gdouble pbm_plan_temperature_limit(const PbmLimits *limits, PbmPanel *panel);
/* "14:05" in local time, for refusals that free at a time. */
gchar *pbm_format_clock_time(gint64 unix_us);

G_END_DECLS
