/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-log.h"

#include <stdio.h>
#include <unistd.h>

static gboolean log_verbose;

static GLogWriterOutput
writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	if ((level & G_LOG_LEVEL_DEBUG) && !log_verbose)
		return G_LOG_WRITER_HANDLED;
	if (g_log_writer_is_journald(fileno(stderr)) &&
	    g_log_writer_journald(level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
		return G_LOG_WRITER_HANDLED;
	return g_log_writer_standard_streams(level, fields, n_fields, user_data);
}

void
pbm_log_setup(gboolean verbose)
{
	log_verbose = verbose;
	/* A daemon's log is stderr: GLib would write info and debug to stdout. */
	g_log_writer_default_set_use_stderr(TRUE);
	g_log_set_writer_func(writer, NULL, NULL);
}

static gchar *
panel_list(PbmSession *session)
{
	PbmPlan *plan = pbm_session_get_plan(session);
	g_autoptr(GString) s = g_string_new(NULL);

	for (guint i = 0; i < plan->panels->len; i++) {
		PbmPanelPlan *pp = g_ptr_array_index(plan->panels, i);
		if (s->len > 0)
			g_string_append_c(s, ',');
		g_string_append(s, pbm_panel_get_serial(pp->panel));
	}
	return g_string_free(g_steal_pointer(&s), FALSE);
}

void
pbm_log_session_started(PbmSession *session)
{
	g_autofree gchar *id = g_strdup_printf("%" G_GINT64_FORMAT, pbm_session_get_id(session));
	g_autofree gchar *panels = panel_list(session);
	const gchar *profile = pbm_session_get_plan(session)->profile->name;

	g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MESSAGE_ID",
	                 PBM_MESSAGE_SESSION_STARTED, "PBMD_SESSION", id, "PBMD_PROFILE", profile,
	                 "PBMD_PANEL", panels, "MESSAGE", "session %s started: %s on %s", id,
	                 profile, panels);
	/* in the journal too, for whoever reads cron's sessions there */
	for (gchar **w = pbm_session_get_plan(session)->warnings; w != NULL && *w != NULL; w++)
		g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "PBMD_SESSION", id,
		                 "PBMD_WARNING", *w, "MESSAGE", "session %s: warning: %s", id, *w);
}

void
pbm_log_session_finished(PbmSession *session)
{
	g_autofree gchar *id = g_strdup_printf("%" G_GINT64_FORMAT, pbm_session_get_id(session));
	g_autofree gchar *panels = panel_list(session);
	const gchar *outcome = pbm_outcome_to_string(pbm_session_get_outcome(session));
	const gchar *reason = pbm_session_get_reason(session);
	gdouble dose[PBM_N_BANDS];

	pbm_session_get_dose(session, dose);
	g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MESSAGE_ID",
	                 PBM_MESSAGE_SESSION_FINISHED, "PBMD_SESSION", id, "PBMD_PROFILE",
	                 pbm_session_get_plan(session)->profile->name, "PBMD_PANEL", panels,
	                 "PBMD_OUTCOME", outcome, "PBMD_REASON", reason, "MESSAGE",
	                 "session %s finished: %s (%s); red %.1f J/cm², NIR %.1f J/cm²", id,
	                 outcome, reason, dose[0], dose[1]);
}

void
pbm_log_session_refused(const gchar *profile, const gchar *reason)
{
	g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MESSAGE_ID",
	                 PBM_MESSAGE_SESSION_REFUSED, "PBMD_PROFILE", profile, "PBMD_REASON",
	                 reason, "MESSAGE", "session of %s refused: %s", profile, reason);
}

void
pbm_log_panel_fault(PbmPanel *panel)
{
	const PbmStatus *status = pbm_panel_get_status(panel);
	const GError *faulty = pbm_panel_get_faulty_reason(panel);
	g_autofree gchar *what = faulty != NULL   ? g_strdup(faulty->message)
	                         : status != NULL ? pbm_faults_describe(status->faults)
	                                          : g_strdup("unknown");

	g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "MESSAGE_ID", PBM_MESSAGE_PANEL_FAULT,
	                 "PBMD_PANEL", pbm_panel_get_serial(panel), "PBMD_REASON", what, "MESSAGE",
	                 "panel %s fault: %s", pbm_panel_get_serial(panel), what);
}

void
pbm_log_panel_connected(PbmPanel *panel)
{
	const PbmInfo *info = pbm_panel_get_info(panel);

	g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "MESSAGE_ID", PBM_MESSAGE_PANEL_CONNECTED,
	                 "PBMD_PANEL", info->serial, "MESSAGE",
	                 "panel %s (%s, firmware %s, protocol %u.%u) connected at %s", info->serial,
	                 info->model, info->firmware, (guint)info->proto_major,
	                 (guint)info->proto_minor, pbm_panel_get_location(panel));
}

void
pbm_log_panel_disconnected(PbmPanel *panel)
{
	g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "MESSAGE_ID",
	                 PBM_MESSAGE_PANEL_DISCONNECTED, "PBMD_PANEL", pbm_panel_get_serial(panel),
	                 "MESSAGE", "panel %s disconnected", pbm_panel_get_serial(panel));
}
