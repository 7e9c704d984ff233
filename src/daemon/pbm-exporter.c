/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-exporter.h"

#include <math.h>

#include "config.h"
#include "pbm-auth.h"
#include "pbm-dbus-args.h"
#include "pbm-dbus-error.h"
#include "pbm-dbus-generated.h"

#define TICK_US G_USEC_PER_SEC
#define IDENTIFY_SECONDS 5

struct _PbmExporter {
	GObject parent_instance;

	PbmManager *manager;
	GDBusConnection *connection;
	PbmDBusManager *manager_skel;
	GHashTable *panels; /* PbmPanel * -> PbmDBusPanel * */
	PbmDBusSession *session_skel;
	gchar *session_path;
	guint tick; /* 1 Hz while something moves */
};

G_DEFINE_TYPE(PbmExporter, pbm_exporter, G_TYPE_OBJECT)

gchar *
pbm_exporter_panel_path(const gchar *serial)
{
	g_autoptr(GString) path = g_string_new(PBM_DBUS_PATH_PANEL "/");

	for (const gchar *p = serial; *p != '\0'; p++) {
		if (g_ascii_isalnum(*p))
			g_string_append_c(path, *p);
		else
			g_string_append_printf(path, "_%02x", (guchar)*p);
	}
	return g_string_free(g_steal_pointer(&path), FALSE);
}

static const gchar *
group_of(PbmExporter *self)
{
	return pbm_manager_get_config(self->manager)->control_group;
}

/* ---- panels ---- */

static GVariant *
channels_variant(PbmPanel *panel)
{
	const PbmChannel *ch = pbm_panel_get_channels(panel);
	GVariantBuilder list;

	g_variant_builder_init(&list, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < pbm_panel_get_channel_count(panel); i++) {
		GVariantBuilder c, points;
		g_variant_builder_init(&c, G_VARIANT_TYPE("a{sv}"));
		g_variant_builder_init(&points, G_VARIANT_TYPE("a(dd)"));
		for (guint p = 0; p < ch[i].point_count; p++)
			g_variant_builder_add(&points, "(dd)", ch[i].points[p].distance_mm / 10.0,
			                      ch[i].points[p].irradiance_cmw / 100.0);
		g_variant_builder_add(&c, "{sv}", "band",
		                      g_variant_new_string(pbm_band_to_string(ch[i].band)));
		g_variant_builder_add(&c, "{sv}", "wavelength_nm",
		                      g_variant_new_uint32(ch[i].wavelength_nm));
		g_variant_builder_add(&c, "{sv}", "max_level",
		                      g_variant_new_double(ch[i].max_level / 10.0));
		g_variant_builder_add(&c, "{sv}", "irradiance", g_variant_builder_end(&points));
		g_variant_builder_add(&list, "a{sv}", &c);
	}
	return g_variant_builder_end(&list);
}

static void
update_panel_identity(PbmPanel *panel, PbmDBusPanel *skel)
{
	const PbmInfo *info = pbm_panel_get_info(panel);
	g_autofree gchar *proto = g_strdup_printf("%u.%u", info->proto_major, info->proto_minor);

	pbm_dbus_panel_set_serial(skel, info->serial);
	pbm_dbus_panel_set_model(skel, info->model);
	pbm_dbus_panel_set_firmware_version(skel, info->firmware);
	pbm_dbus_panel_set_protocol_version(skel, proto);
	pbm_dbus_panel_set_channels(skel, channels_variant(panel));
}

static void
update_panel_state(PbmPanel *panel, PbmDBusPanel *skel)
{
	const PbmStatus *s = pbm_panel_get_status(panel);
	GPtrArray *faults = g_ptr_array_new_with_free_func(g_free);

	pbm_dbus_panel_set_connected(skel, pbm_panel_is_connected(panel));
	pbm_dbus_panel_set_state(skel, pbm_panel_state_to_string(pbm_panel_get_state(panel)));
	for (guint bit = 0; s != NULL && bit < 32; bit++) {
		if (!(s->faults & (1u << bit)))
			continue;
		g_ptr_array_add(faults, pbm_fault_to_string(1u << bit) != NULL
		                                ? g_strdup(pbm_fault_to_string(1u << bit))
		                                : g_strdup_printf("bit-%u", bit));
	}
	if (pbm_panel_get_faulty_reason(panel) != NULL)
		g_ptr_array_add(faults, g_strdup("untrusted"));
	g_ptr_array_add(faults, NULL);
	pbm_dbus_panel_set_faults(skel, (const gchar *const *)faults->pdata);
	g_ptr_array_unref(faults);
}

static void
update_panel_telemetry(PbmPanel *panel, PbmDBusPanel *skel)
{
	const PbmStatus *s = pbm_panel_get_status(panel);
	GVariantBuilder levels;

	if (s == NULL)
		return;
	g_variant_builder_init(&levels, G_VARIANT_TYPE("aq"));
	for (guint i = 0; i < pbm_panel_get_channel_count(panel); i++)
		g_variant_builder_add(&levels, "q", s->level[i]);
	pbm_dbus_panel_set_levels(skel, g_variant_builder_end(&levels));
	pbm_dbus_panel_set_pulse_hz(skel, s->pulse_mhz / 1000.0);
	/* 0.1 degC is what the panel reports; finer is noise */
	pbm_dbus_panel_set_temperature(skel, s->temperature_dc / 10.0);
	pbm_dbus_panel_set_fan_rpm(skel, s->fan_rpm);
}

static void ensure_tick(PbmExporter *self);

static void
on_panel_notify(PbmPanel *panel, GParamSpec *pspec, PbmExporter *self)
{
	PbmDBusPanel *skel = g_hash_table_lookup(self->panels, panel);

	if (pbm_panel_is_connected(panel))
		update_panel_identity(panel, skel);
	update_panel_state(panel, skel);
	update_panel_telemetry(panel, skel);
	ensure_tick(self);
}

typedef struct {
	PbmExporter *self;
	PbmPanel *panel;
	GDBusMethodInvocation *invocation;
} PanelCall;

static void
panel_call_free(PanelCall *c)
{
	g_object_unref(c->self);
	g_object_unref(c->panel);
	g_object_unref(c->invocation);
	g_free(c);
}

static void
identify_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	PanelCall *c = user_data;
	g_autoptr(GError) error = NULL;

	if (!pbm_panel_identify_finish(PBM_PANEL(source), result, &error))
		g_dbus_method_invocation_return_error(c->invocation, PBM_DBUS_ERROR,
		                                      PBM_DBUS_ERROR_DEVICE, "%s", error->message);
	else
		g_dbus_method_invocation_return_value(c->invocation, NULL);
	panel_call_free(c);
}

static void
clear_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	PanelCall *c = user_data;
	g_autoptr(GError) error = NULL;
	const PbmStatus *s = pbm_panel_get_status(c->panel);

	if (!pbm_panel_clear_fault_finish(PBM_PANEL(source), result, &error)) {
		g_dbus_method_invocation_return_error(c->invocation, PBM_DBUS_ERROR,
		                                      PBM_DBUS_ERROR_DEVICE, "%s", error->message);
	} else if (s != NULL && s->faults != 0) {
		g_autofree gchar *names = pbm_faults_describe(s->faults);
		g_dbus_method_invocation_return_error(
		        c->invocation, PBM_DBUS_ERROR, PBM_DBUS_ERROR_FAULT,
		        "the fault persists (%s): its cause has not gone; let the panel cool and "
		        "check its fan",
		        names);
	} else {
		g_dbus_method_invocation_return_value(c->invocation, NULL);
	}
	panel_call_free(c);
}

static void
panel_authorized(GObject *source, GAsyncResult *result, gpointer user_data)
{
	PanelCall *c = user_data;
	GError *error = NULL;
	guint32 uid;
	const gchar *method = g_dbus_method_invocation_get_method_name(c->invocation);

	if (!pbm_auth_check_finish(result, &uid, &error)) {
		g_dbus_method_invocation_take_error(c->invocation, error);
		panel_call_free(c);
		return;
	}
	if (g_str_equal(method, "Identify"))
		pbm_panel_identify_async(c->panel, IDENTIFY_SECONDS, NULL, identify_done, c);
	else
		pbm_panel_clear_fault_async(c->panel, NULL, clear_done, c);
}

static gboolean
handle_panel_method(PbmDBusPanel *skel, GDBusMethodInvocation *invocation, gpointer user_data)
{
	PbmExporter *self = user_data;
	PanelCall *c = g_new0(PanelCall, 1);
	const gchar *method = g_dbus_method_invocation_get_method_name(invocation);

	c->self = g_object_ref(self);
	c->panel = g_object_ref(g_object_get_data(G_OBJECT(skel), "pbm-panel"));
	c->invocation = g_object_ref(invocation);
	pbm_auth_check_async(invocation,
	                     g_str_equal(method, "ClearFault") ? PBM_AUTH_ADMIN : PBM_AUTH_CONTROL,
	                     group_of(self), NULL, panel_authorized, c);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void update_manager(PbmExporter *self);

static void
on_panel_added(PbmManager *manager, PbmPanel *panel, PbmExporter *self)
{
	g_autoptr(PbmDBusPanel) skel = pbm_dbus_panel_skeleton_new();
	g_autofree gchar *path = pbm_exporter_panel_path(pbm_panel_get_serial(panel));
	g_autoptr(GError) error = NULL;

	g_object_set_data(G_OBJECT(skel), "pbm-panel", panel);
	update_panel_identity(panel, skel);
	update_panel_state(panel, skel);
	update_panel_telemetry(panel, skel);
	g_signal_connect(skel, "handle-identify", G_CALLBACK(handle_panel_method), self);
	g_signal_connect(skel, "handle-clear-fault", G_CALLBACK(handle_panel_method), self);
	if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(skel), self->connection,
	                                      path, &error)) {
		g_warning("cannot export %s: %s", path, error->message);
		return;
	}
	g_hash_table_insert(self->panels, g_object_ref(panel), g_object_ref(skel));
	g_signal_connect(panel, "notify::state", G_CALLBACK(on_panel_notify), self);
	g_signal_connect(panel, "notify::connected", G_CALLBACK(on_panel_notify), self);
	update_manager(self);
}

/* ---- the session object ---- */

static void
update_session_progress(PbmExporter *self)
{
	PbmSession *s = pbm_manager_get_session(self->manager);
	gdouble dose[PBM_N_BANDS];

	if (s == NULL || self->session_skel == NULL)
		return;
	pbm_session_get_dose(s, dose);
	pbm_dbus_session_set_elapsed(self->session_skel, (guint64)pbm_session_get_elapsed(s));
	pbm_dbus_session_set_remaining(self->session_skel, (guint64)pbm_session_get_remaining(s));
	pbm_dbus_session_set_progress(self->session_skel, pbm_session_get_progress(s));
	/* three decimals: J/cm2 changes below that are not worth a signal */
	pbm_dbus_session_set_dose_red(self->session_skel, round(dose[0] * 1000) / 1000);
	pbm_dbus_session_set_dose_nir(self->session_skel, round(dose[1] * 1000) / 1000);
}

static void
update_session_state(PbmExporter *self)
{
	PbmSession *s = pbm_manager_get_session(self->manager);

	if (s == NULL || self->session_skel == NULL)
		return;
	pbm_dbus_session_set_state(self->session_skel,
	                           pbm_session_state_to_string(pbm_session_get_state(s)));
	pbm_dbus_session_set_outcome(self->session_skel,
	                             pbm_outcome_to_string(pbm_session_get_outcome(s)));
	pbm_dbus_session_set_reason(self->session_skel, pbm_session_get_reason(s) != NULL
	                                                        ? pbm_session_get_reason(s)
	                                                        : "");
	pbm_dbus_session_set_step(self->session_skel, pbm_session_get_step(s));
	pbm_dbus_session_set_step_name(self->session_skel, pbm_session_get_step_name(s));
}

/* ---- the manager object ---- */

static void
update_manager(PbmExporter *self)
{
	GPtrArray *panels = pbm_manager_get_panels(self->manager);
	g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < panels->len; i++)
		g_ptr_array_add(paths, pbm_exporter_panel_path(
		                               pbm_panel_get_serial(g_ptr_array_index(panels, i))));
	g_ptr_array_add(paths, NULL);
	pbm_dbus_manager_set_panels(self->manager_skel, (const gchar *const *)paths->pdata);
	pbm_dbus_manager_set_state(self->manager_skel, pbm_manager_get_state(self->manager));
	pbm_dbus_manager_set_active_session(self->manager_skel, self->session_path != NULL
	                                                                ? self->session_path
	                                                                : PBM_DBUS_PATH_NONE);
}

/* ---- the 1 Hz tick: progress and telemetry, only while they move ---- */

static gboolean
anything_moves(PbmExporter *self)
{
	GPtrArray *panels = pbm_manager_get_panels(self->manager);

	if (pbm_manager_session_active(self->manager))
		return TRUE;
	for (guint i = 0; i < panels->len; i++) {
		if (pbm_panel_get_state(g_ptr_array_index(panels, i)) == PBM_PANEL_STATE_LIT)
			return TRUE;
	}
	return FALSE;
}

static gboolean
tick(gpointer user_data)
{
	PbmExporter *self = user_data;
	GHashTableIter iter;
	gpointer panel, skel;

	update_session_progress(self);
	g_hash_table_iter_init(&iter, self->panels);
	while (g_hash_table_iter_next(&iter, &panel, &skel))
		update_panel_telemetry(panel, skel);
	if (anything_moves(self))
		return G_SOURCE_CONTINUE;
	self->tick = 0;
	return G_SOURCE_REMOVE;
}

static void
ensure_tick(PbmExporter *self)
{
	if (self->tick == 0 && anything_moves(self))
		self->tick = g_timeout_add_seconds(1, tick, self);
}

/* ---- session lifecycle ---- */

static void
on_session_state(PbmSession *session, PbmExporter *self)
{
	update_session_state(self);
	update_session_progress(self);
	ensure_tick(self);
}

static gboolean handle_session_method(PbmDBusSession *skel, GDBusMethodInvocation *invocation,
                                      gpointer user_data);

static GVariant *
panels_of_session(PbmSession *s)
{
	PbmPlan *plan = pbm_session_get_plan(s);
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("ao"));
	for (guint i = 0; i < plan->panels->len; i++) {
		PbmPanelPlan *pp = g_ptr_array_index(plan->panels, i);
		g_autofree gchar *path = pbm_exporter_panel_path(pbm_panel_get_serial(pp->panel));
		g_variant_builder_add(&b, "o", path);
	}
	return g_variant_builder_end(&b);
}

static void
on_session_started(PbmManager *manager, PbmSession *s, PbmExporter *self)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *id = g_strdup_printf("%" G_GINT64_FORMAT, pbm_session_get_id(s));
	g_autoptr(GVariant) panels = g_variant_ref_sink(panels_of_session(s));

	/* The previous session stays readable until this one starts. */
	if (self->session_skel != NULL) {
		g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(self->session_skel));
		g_clear_object(&self->session_skel);
	}
	g_free(self->session_path);
	self->session_path = g_strdup_printf(PBM_DBUS_PATH_SESSION "/%s", id);
	self->session_skel = pbm_dbus_session_skeleton_new();
	pbm_dbus_session_set_id(self->session_skel, id);
	pbm_dbus_session_set_profile(self->session_skel, pbm_session_get_plan(s)->profile->name);
	pbm_dbus_session_set_started_at(self->session_skel, pbm_session_get_started_at(s));
	pbm_dbus_session_set_duration(self->session_skel,
	                              (guint64)pbm_session_get_plan(s)->duration_us);
	pbm_dbus_session_set_step_count(self->session_skel,
	                                pbm_plan_get_step_count(pbm_session_get_plan(s)));
	pbm_dbus_session_set_owner_uid(self->session_skel, pbm_session_get_owner_uid(s));
	{
		g_autofree const gchar **paths = g_variant_get_objv(panels, NULL);
		pbm_dbus_session_set_panels(self->session_skel, paths);
	}
	update_session_state(self);
	update_session_progress(self);
	g_signal_connect(self->session_skel, "handle-stop", G_CALLBACK(handle_session_method),
	                 self);
	g_signal_connect(self->session_skel, "handle-pause", G_CALLBACK(handle_session_method),
	                 self);
	g_signal_connect(self->session_skel, "handle-resume", G_CALLBACK(handle_session_method),
	                 self);
	g_object_set_data(G_OBJECT(self->session_skel), "pbm-session", s);
	if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(self->session_skel),
	                                      self->connection, self->session_path, &error))
		g_warning("cannot export %s: %s", self->session_path, error->message);
	g_signal_connect_object(s, "state-changed", G_CALLBACK(on_session_state), self, 0);
	g_signal_connect_object(s, "step-changed", G_CALLBACK(on_session_state), self, 0);
	update_manager(self);
	pbm_dbus_manager_emit_session_started(self->manager_skel, self->session_path);
	ensure_tick(self);
}

static void
on_session_finished(PbmManager *manager, PbmSession *s, PbmExporter *self)
{
	GVariantBuilder summary;
	gdouble dose[PBM_N_BANDS];

	update_session_state(self);
	update_session_progress(self);
	pbm_session_get_dose(s, dose);
	g_variant_builder_init(&summary, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&summary, "{sv}", "profile",
	                      g_variant_new_string(pbm_session_get_plan(s)->profile->name));
	g_variant_builder_add(&summary, "{sv}", "reason",
	                      g_variant_new_string(pbm_session_get_reason(s)));
	g_variant_builder_add(&summary, "{sv}", "dose_red", g_variant_new_double(dose[0]));
	g_variant_builder_add(&summary, "{sv}", "dose_nir", g_variant_new_double(dose[1]));
	g_variant_builder_add(&summary, "{sv}", "elapsed_s",
	                      g_variant_new_double(pbm_session_get_elapsed(s) / 1e6));
	g_variant_builder_add(&summary, "{sv}", "lit_s",
	                      g_variant_new_double(pbm_session_get_lit_time(s) / 1e6));
	g_variant_builder_add(&summary, "{sv}", "max_temperature",
	                      g_variant_new_double(pbm_session_get_max_temperature(s)));
	g_variant_builder_add(&summary, "{sv}", "faults",
	                      g_variant_new_string(pbm_session_get_faults(s)));
	pbm_dbus_manager_emit_session_finished(self->manager_skel, self->session_path,
	                                       pbm_outcome_to_string(pbm_session_get_outcome(s)),
	                                       g_variant_builder_end(&summary));
	update_manager(self);
}

static void
on_manager_changed(PbmManager *manager, PbmExporter *self)
{
	update_manager(self);
	ensure_tick(self);
}

/* ---- method calls ---- */

typedef struct {
	PbmExporter *self;
	GDBusMethodInvocation *invocation;
	gchar *profile;
	gchar **serials;
	gdouble distance_cm;
	PbmSession *session; /* for Session methods */
} Call;

static void
call_free(Call *c)
{
	g_object_unref(c->self);
	g_object_unref(c->invocation);
	g_free(c->profile);
	g_strfreev(c->serials);
	g_clear_object(&c->session);
	g_free(c);
}

static Call *
call_new(PbmExporter *self, GDBusMethodInvocation *invocation)
{
	Call *c = g_new0(Call, 1);

	c->self = g_object_ref(self);
	c->invocation = g_object_ref(invocation);
	return c;
}

static void
return_result(GDBusMethodInvocation *invocation, gboolean ok, GError *error)
{
	if (ok)
		g_dbus_method_invocation_return_value(invocation, NULL);
	else
		g_dbus_method_invocation_take_error(invocation, error);
}

static void
control_authorized(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Call *c = user_data;
	PbmManager *m = c->self->manager;
	const gchar *method = g_dbus_method_invocation_get_method_name(c->invocation);
	GError *error = NULL;
	guint32 uid = 0;
	gboolean ok;

	if (!pbm_auth_check_finish(result, &uid, &error)) {
		g_dbus_method_invocation_take_error(c->invocation, error);
		call_free(c);
		return;
	}
	if (g_str_equal(method, "StartSession")) {
		PbmSession *s =
		        pbm_manager_start_session(m, c->profile, (const gchar *const *)c->serials,
		                                  c->distance_cm, uid, &error);
		if (s == NULL)
			g_dbus_method_invocation_take_error(c->invocation, error);
		else
			g_dbus_method_invocation_return_value(
			        c->invocation, g_variant_new("(o)", c->self->session_path));
		call_free(c);
		return;
	}
	if (c->session != NULL && c->session != pbm_manager_get_session(m)) {
		g_dbus_method_invocation_return_error(
		        c->invocation, PBM_DBUS_ERROR, PBM_DBUS_ERROR_NOT_RUNNING,
		        "this session has ended; a newer one is %s", c->self->session_path);
		call_free(c);
		return;
	}
	if (g_str_has_prefix(method, "Stop"))
		ok = pbm_manager_stop_session(m, &error);
	else if (g_str_has_prefix(method, "Pause"))
		ok = pbm_manager_pause_session(m, &error);
	else if (g_str_has_prefix(method, "Resume"))
		ok = pbm_manager_resume_session(m, &error);
	else
		ok = pbm_manager_reload(m, &error);
	return_result(c->invocation, ok, error);
	call_free(c);
}

static gboolean
handle_control(PbmDBusManager *skel, GDBusMethodInvocation *invocation, gpointer user_data)
{
	PbmExporter *self = user_data;
	const gchar *method = g_dbus_method_invocation_get_method_name(invocation);

	pbm_auth_check_async(
	        invocation, g_str_equal(method, "ReloadConfig") ? PBM_AUTH_ADMIN : PBM_AUTH_CONTROL,
	        group_of(self), NULL, control_authorized, call_new(self, invocation));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_session_method(PbmDBusSession *skel, GDBusMethodInvocation *invocation, gpointer user_data)
{
	PbmExporter *self = user_data;
	Call *c = call_new(self, invocation);

	c->session = g_object_ref(g_object_get_data(G_OBJECT(skel), "pbm-session"));
	pbm_auth_check_async(invocation, PBM_AUTH_CONTROL, group_of(self), NULL, control_authorized,
	                     c);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_start(PbmDBusManager *skel, GDBusMethodInvocation *invocation, const gchar *profile,
             GVariant *options, gpointer user_data)
{
	PbmExporter *self = user_data;
	Call *c = call_new(self, invocation);
	GError *error = NULL;

	if (!pbm_dbus_args_check_profile_name(profile, &error) ||
	    !pbm_dbus_args_parse_start_options(options, &c->serials, &c->distance_cm, &error)) {
		g_dbus_method_invocation_take_error(invocation, error);
		call_free(c);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	c->profile = g_strdup(profile);
	pbm_auth_check_async(invocation, PBM_AUTH_CONTROL, group_of(self), NULL, control_authorized,
	                     c);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static GVariant *
profile_variant(PbmExporter *self, PbmProfile *p, gboolean with_steps)
{
	GVariantBuilder b;
	PbmEstimate e;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "name", g_variant_new_string(p->name));
	g_variant_builder_add(&b, "{sv}", "title", g_variant_new_string(p->title));
	g_variant_builder_add(&b, "{sv}", "description", g_variant_new_string(p->description));
	g_variant_builder_add(&b, "{sv}", "distance_cm", g_variant_new_double(p->distance_cm));
	g_variant_builder_add(&b, "{sv}", "steps", g_variant_new_uint32(p->steps->len));
	g_variant_builder_add(&b, "{sv}", "goggles_required",
	                      g_variant_new_boolean(p->goggles_required));
	g_variant_builder_add(&b, "{sv}", "visible_pulse",
	                      g_variant_new_boolean(pbm_profile_has_visible_pulse(p)));
	if (p->pulse_warning != NULL)
		g_variant_builder_add(&b, "{sv}", "pulse_warning",
		                      g_variant_new_string(p->pulse_warning));
	if (pbm_manager_estimate(self->manager, p, &e)) {
		g_variant_builder_add(
		        &b, "{sv}", "duration_s",
		        g_variant_new_uint64((guint64)(e.duration_us / G_USEC_PER_SEC)));
		g_variant_builder_add(&b, "{sv}", "dose_red", g_variant_new_double(e.dose[0]));
		g_variant_builder_add(&b, "{sv}", "dose_nir", g_variant_new_double(e.dose[1]));
	}
	if (with_steps) {
		GVariantBuilder steps;
		g_variant_builder_init(&steps, G_VARIANT_TYPE("aa{sv}"));
		for (guint i = 0; i < p->steps->len; i++) {
			const PbmStep *s = g_ptr_array_index(p->steps, i);
			GVariantBuilder sb;
			g_variant_builder_init(&sb, G_VARIANT_TYPE("a{sv}"));
			g_variant_builder_add(&sb, "{sv}", "name", g_variant_new_string(s->name));
			g_variant_builder_add(
			        &sb, "{sv}", "duration_s",
			        g_variant_new_uint64((guint64)(s->duration_us / G_USEC_PER_SEC)));
			g_variant_builder_add(&sb, "{sv}", "dose_red",
			                      g_variant_new_double(s->dose_target[0]));
			g_variant_builder_add(&sb, "{sv}", "dose_nir",
			                      g_variant_new_double(s->dose_target[1]));
			g_variant_builder_add(&sb, "{sv}", "red",
			                      g_variant_new_double(s->band_level[0] / 10.0));
			g_variant_builder_add(&sb, "{sv}", "nir",
			                      g_variant_new_double(s->band_level[1] / 10.0));
			g_variant_builder_add(&sb, "{sv}", "pulse_hz",
			                      g_variant_new_double(s->pulse_mhz / 1000.0));
			g_variant_builder_add(&sb, "{sv}", "duty",
			                      g_variant_new_double(s->duty / 10.0));
			g_variant_builder_add(&sb, "{sv}", "ramp_s",
			                      g_variant_new_double(s->ramp_ms / 1000.0));
			g_variant_builder_add(&steps, "a{sv}", &sb);
		}
		g_variant_builder_add(&b, "{sv}", "steps_detail", g_variant_builder_end(&steps));
	}
	return g_variant_builder_end(&b);
}

static gboolean
handle_list_profiles(PbmDBusManager *skel, GDBusMethodInvocation *invocation, gpointer user_data)
{
	PbmExporter *self = user_data;
	g_autoptr(GPtrArray) list = pbm_profile_store_list(pbm_manager_get_profiles(self->manager));
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < list->len; i++)
		g_variant_builder_add_value(
		        &b, profile_variant(self, g_ptr_array_index(list, i), FALSE));
	pbm_dbus_manager_complete_list_profiles(skel, invocation, g_variant_builder_end(&b));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_profile(PbmDBusManager *skel, GDBusMethodInvocation *invocation, const gchar *name,
                   gpointer user_data)
{
	PbmExporter *self = user_data;
	GError *error = NULL;
	PbmProfile *p;

	if (!pbm_dbus_args_check_profile_name(name, &error)) {
		g_dbus_method_invocation_take_error(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	p = pbm_profile_store_lookup(pbm_manager_get_profiles(self->manager), name);
	if (p == NULL) {
		g_dbus_method_invocation_return_error(invocation, PBM_DBUS_ERROR,
		                                      PBM_DBUS_ERROR_NO_SUCH_PROFILE,
		                                      "there is no profile \"%s\"; pbmctl profiles "
		                                      "lists them",
		                                      name);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	pbm_dbus_manager_complete_get_profile(skel, invocation, profile_variant(self, p, TRUE));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static GVariant *
history_entry_variant(const PbmHistoryEntry *e)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "id", g_variant_new_int64(e->id));
	g_variant_builder_add(&b, "{sv}", "profile", g_variant_new_string(e->profile));
	g_variant_builder_add(&b, "{sv}", "panels",
	                      g_variant_new_strv((const gchar *const *)e->panels, -1));
	g_variant_builder_add(&b, "{sv}", "owner_uid", g_variant_new_uint32(e->owner_uid));
	g_variant_builder_add(&b, "{sv}", "started_at", g_variant_new_int64(e->started_at));
	g_variant_builder_add(&b, "{sv}", "ended_at", g_variant_new_int64(e->ended_at));
	g_variant_builder_add(&b, "{sv}", "outcome",
	                      g_variant_new_string(e->outcome != NULL ? e->outcome : ""));
	g_variant_builder_add(
	        &b, "{sv}", "duration_planned_s",
	        g_variant_new_uint64((guint64)(e->planned_duration_us / G_USEC_PER_SEC)));
	g_variant_builder_add(&b, "{sv}", "dose_red", g_variant_new_double(e->dose[0]));
	g_variant_builder_add(&b, "{sv}", "dose_nir", g_variant_new_double(e->dose[1]));
	g_variant_builder_add(&b, "{sv}", "lit_s", g_variant_new_double(e->lit_us / 1e6));
	g_variant_builder_add(&b, "{sv}", "max_temperature",
	                      g_variant_new_double(e->max_temperature_c));
	g_variant_builder_add(&b, "{sv}", "faults",
	                      g_variant_new_string(e->faults != NULL ? e->faults : ""));
	return g_variant_builder_end(&b);
}

static gboolean
handle_get_history(PbmDBusManager *skel, GDBusMethodInvocation *invocation, gint64 since,
                   guint limit, gpointer user_data)
{
	PbmExporter *self = user_data;
	g_autoptr(GPtrArray) rows = NULL;
	GError *error = NULL;
	GVariantBuilder b;

	if (!pbm_dbus_args_check_history_limit(limit, &limit, &error)) {
		g_dbus_method_invocation_take_error(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	rows = pbm_manager_get_history(self->manager, since, limit, &error);
	if (rows == NULL) {
		g_dbus_method_invocation_take_error(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < rows->len; i++)
		g_variant_builder_add_value(&b, history_entry_variant(g_ptr_array_index(rows, i)));
	pbm_dbus_manager_complete_get_history(skel, invocation, g_variant_builder_end(&b));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- lifecycle ---- */

static void
pbm_exporter_dispose(GObject *object)
{
	PbmExporter *self = PBM_EXPORTER(object);

	g_clear_handle_id(&self->tick, g_source_remove);
	if (self->manager != NULL)
		g_signal_handlers_disconnect_by_data(self->manager, self);
	if (self->panels != NULL) {
		GHashTableIter iter;
		gpointer panel, skel;
		g_hash_table_iter_init(&iter, self->panels);
		while (g_hash_table_iter_next(&iter, &panel, &skel)) {
			g_signal_handlers_disconnect_by_data(panel, self);
			g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(skel));
		}
		g_clear_pointer(&self->panels, g_hash_table_unref);
	}
	if (self->session_skel != NULL) {
		g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(self->session_skel));
		g_clear_object(&self->session_skel);
	}
	if (self->manager_skel != NULL) {
		g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(self->manager_skel));
		g_clear_object(&self->manager_skel);
	}
	g_clear_object(&self->manager);
	g_clear_object(&self->connection);
	G_OBJECT_CLASS(pbm_exporter_parent_class)->dispose(object);
}

static void
pbm_exporter_finalize(GObject *object)
{
	g_free(PBM_EXPORTER(object)->session_path);
	G_OBJECT_CLASS(pbm_exporter_parent_class)->finalize(object);
}

static void
pbm_exporter_class_init(PbmExporterClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = pbm_exporter_dispose;
	G_OBJECT_CLASS(klass)->finalize = pbm_exporter_finalize;
}

static void
pbm_exporter_init(PbmExporter *self)
{
	self->panels = g_hash_table_new_full(g_direct_hash, g_direct_equal, g_object_unref,
	                                     g_object_unref);
}

PbmExporter *
pbm_exporter_new(PbmManager *manager, GDBusConnection *connection, GError **error)
{
	g_autoptr(PbmExporter) self = g_object_new(PBM_TYPE_EXPORTER, NULL);
	GPtrArray *panels = pbm_manager_get_panels(manager);

	self->manager = g_object_ref(manager);
	self->connection = g_object_ref(connection);
	self->manager_skel = pbm_dbus_manager_skeleton_new();
	pbm_dbus_manager_set_version(self->manager_skel, PACKAGE_VERSION);
	g_signal_connect(self->manager_skel, "handle-list-profiles",
	                 G_CALLBACK(handle_list_profiles), self);
	g_signal_connect(self->manager_skel, "handle-get-profile", G_CALLBACK(handle_get_profile),
	                 self);
	g_signal_connect(self->manager_skel, "handle-start-session", G_CALLBACK(handle_start),
	                 self);
	g_signal_connect(self->manager_skel, "handle-stop-session", G_CALLBACK(handle_control),
	                 self);
	g_signal_connect(self->manager_skel, "handle-pause-session", G_CALLBACK(handle_control),
	                 self);
	g_signal_connect(self->manager_skel, "handle-resume-session", G_CALLBACK(handle_control),
	                 self);
	g_signal_connect(self->manager_skel, "handle-reload-config", G_CALLBACK(handle_control),
	                 self);
	g_signal_connect(self->manager_skel, "handle-get-history", G_CALLBACK(handle_get_history),
	                 self);
	if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(self->manager_skel),
	                                      connection, PBM_DBUS_PATH, error))
		return NULL;
	for (guint i = 0; i < panels->len; i++)
		on_panel_added(manager, g_ptr_array_index(panels, i), self);
	g_signal_connect(manager, "panel-added", G_CALLBACK(on_panel_added), self);
	g_signal_connect(manager, "session-started", G_CALLBACK(on_session_started), self);
	g_signal_connect(manager, "session-finished", G_CALLBACK(on_session_finished), self);
	g_signal_connect(manager, "changed", G_CALLBACK(on_manager_changed), self);
	update_manager(self);
	return g_steal_pointer(&self);
}
