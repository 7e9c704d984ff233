/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-export-session.h"

#include <math.h>

#include "pbm-dbus-generated.h"
#include "pbm-export-control.h"
#include "pbm-export-panel.h"
#include "pbm-names.h"

struct _PbmExportSession {
	PbmExportShared *shared;
	PbmSession *session;
	PbmDBusSession *skel;
};

gchar *
pbm_export_session_path(PbmSession *session)
{
	return g_strdup_printf(PBM_DBUS_PATH_SESSION "/%" G_GINT64_FORMAT,
	                       pbm_session_get_id(session));
}

static GStrv
panel_paths(PbmSession *s)
{
	PbmPlan *plan = pbm_session_get_plan(s);
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();

	for (guint i = 0; i < plan->panels->len; i++) {
		PbmPanelPlan *pp = g_ptr_array_index(plan->panels, i);
		g_autofree gchar *path = pbm_export_panel_path(pbm_panel_get_serial(pp->panel));
		g_strv_builder_add(b, path);
	}
	return g_strv_builder_end(b);
}

static void
set_identity(PbmExportSession *self)
{
	PbmSession *s = self->session;
	PbmPlan *plan = pbm_session_get_plan(s);
	g_autofree gchar *id = g_strdup_printf("%" G_GINT64_FORMAT, pbm_session_get_id(s));
	g_auto(GStrv) panels = panel_paths(s);

	pbm_dbus_session_set_id(self->skel, id);
	pbm_dbus_session_set_profile(self->skel, plan->profile->name);
	pbm_dbus_session_set_started_at(self->skel, pbm_session_get_started_at(s));
	pbm_dbus_session_set_duration(self->skel, (guint64)plan->duration_us);
	pbm_dbus_session_set_step_count(self->skel, pbm_plan_get_step_count(plan));
	pbm_dbus_session_set_owner_uid(self->skel, pbm_session_get_owner_uid(s));
	pbm_dbus_session_set_panels(self->skel, (const gchar *const *)panels);
	pbm_dbus_session_set_warnings(self->skel, (const gchar *const *)plan->warnings);
}

void
pbm_export_session_update_state(PbmExportSession *self)
{
	PbmSession *s = self->session;

	pbm_dbus_session_set_state(self->skel,
	                           pbm_session_state_to_string(pbm_session_get_state(s)));
	pbm_dbus_session_set_outcome(self->skel, pbm_outcome_to_string(pbm_session_get_outcome(s)));
	pbm_dbus_session_set_reason(
	        self->skel, pbm_session_get_reason(s) != NULL ? pbm_session_get_reason(s) : "");
	pbm_dbus_session_set_step(self->skel, pbm_session_get_step(s));
	pbm_dbus_session_set_step_name(self->skel, pbm_session_get_step_name(s));
}

void
pbm_export_session_update_progress(PbmExportSession *self)
{
	PbmSession *s = self->session;
	gdouble dose[PBM_N_BANDS];

	pbm_session_get_dose(s, dose);
	pbm_dbus_session_set_elapsed(self->skel, (guint64)pbm_session_get_elapsed(s));
	pbm_dbus_session_set_remaining(self->skel, (guint64)pbm_session_get_remaining(s));
	pbm_dbus_session_set_progress(self->skel, pbm_session_get_progress(s));
	/* three decimals: J/cm2 changes below that are not worth a signal */
	pbm_dbus_session_set_dose_red(self->skel, round(dose[0] * 1000) / 1000);
	pbm_dbus_session_set_dose_nir(self->skel, round(dose[1] * 1000) / 1000);
}

static gboolean
handle_stop(PbmDBusSession *skel, GDBusMethodInvocation *invocation, PbmExportSession *self)
{
	pbm_export_control_invoke(self->shared, PBM_CONTROL_STOP, self->session, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_pause(PbmDBusSession *skel, GDBusMethodInvocation *invocation, PbmExportSession *self)
{
	pbm_export_control_invoke(self->shared, PBM_CONTROL_PAUSE, self->session, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_resume(PbmDBusSession *skel, GDBusMethodInvocation *invocation, PbmExportSession *self)
{
	pbm_export_control_invoke(self->shared, PBM_CONTROL_RESUME, self->session, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

PbmExportSession *
pbm_export_session_new(PbmExportShared *shared, PbmSession *session)
{
	PbmExportSession *self = g_new0(PbmExportSession, 1);
	g_autofree gchar *path = pbm_export_session_path(session);

	self->shared = shared;
	self->session = g_object_ref(session);
	self->skel = pbm_dbus_session_skeleton_new();
	set_identity(self);
	pbm_export_session_update_state(self);
	pbm_export_session_update_progress(self);
	g_signal_connect(self->skel, "handle-stop", G_CALLBACK(handle_stop), self);
	g_signal_connect(self->skel, "handle-pause", G_CALLBACK(handle_pause), self);
	g_signal_connect(self->skel, "handle-resume", G_CALLBACK(handle_resume), self);
	pbm_export_publish(shared, G_DBUS_INTERFACE_SKELETON(self->skel), path);
	return self;
}

PbmSession *
pbm_export_session_get_session(PbmExportSession *self)
{
	return self->session;
}

static void
session_free(gpointer data)
{
	PbmExportSession *self = data;

	g_object_unref(self->skel);
	g_object_unref(self->session);
	g_free(self);
}

void
pbm_export_session_free(PbmExportSession *self)
{
	pbm_export_retire(self->shared, G_DBUS_INTERFACE_SKELETON(self->skel), self, session_free);
}
