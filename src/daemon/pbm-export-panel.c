/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-export-panel.h"

#include "pbm-dbus-error.h"
#include "pbm-dbus-generated.h"
#include "pbm-export-control.h"
#include "pbm-export-variant.h"
#include "pbm-names.h"

#define IDENTIFY_SECONDS 5

struct _PbmExportPanel {
	PbmExportShared *shared;
	PbmPanel *panel;
	PbmDBusPanel *skel;
};

gchar *
pbm_export_panel_path(const gchar *serial)
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

/* ---- properties ---- */

static void
update_identity(PbmExportPanel *self)
{
	const PbmInfo *info = pbm_panel_get_info(self->panel);
	g_autofree gchar *proto = g_strdup_printf("%u.%u", info->proto_major, info->proto_minor);

	pbm_dbus_panel_set_serial(self->skel, info->serial);
	pbm_dbus_panel_set_model(self->skel, info->model);
	pbm_dbus_panel_set_firmware_version(self->skel, info->firmware);
	pbm_dbus_panel_set_protocol_version(self->skel, proto);
	pbm_dbus_panel_set_channels(self->skel, pbm_export_channels_variant(self->panel));
}

static void
add_unknown_fault(GStrvBuilder *b, guint bit)
{
	g_autofree gchar *name = g_strdup_printf("bit-%u", bit);

	g_strv_builder_add(b, name);
}

static GStrv
fault_names(PbmPanel *panel)
{
	const PbmStatus *s = pbm_panel_get_status(panel);
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();

	for (guint bit = 0; s != NULL && bit < 32; bit++) {
		if (!(s->faults & (1u << bit)))
			continue;
		if (pbm_fault_to_string(1u << bit) != NULL)
			g_strv_builder_add(b, pbm_fault_to_string(1u << bit));
		else
			add_unknown_fault(b, bit);
	}
	if (pbm_panel_get_faulty_reason(panel) != NULL)
		g_strv_builder_add(b, "untrusted");
	return g_strv_builder_end(b);
}

static void
update_state(PbmExportPanel *self)
{
	g_auto(GStrv) faults = fault_names(self->panel);

	pbm_dbus_panel_set_connected(self->skel, pbm_panel_is_connected(self->panel));
	pbm_dbus_panel_set_state(self->skel,
	                         pbm_panel_state_to_string(pbm_panel_get_state(self->panel)));
	pbm_dbus_panel_set_faults(self->skel, (const gchar *const *)faults);
}

void
pbm_export_panel_update_telemetry(PbmExportPanel *self)
{
	const PbmStatus *s = pbm_panel_get_status(self->panel);
	GVariantBuilder levels;

	if (s == NULL)
		return;
	g_variant_builder_init(&levels, G_VARIANT_TYPE("aq"));
	for (guint i = 0; i < pbm_panel_get_channel_count(self->panel); i++)
		g_variant_builder_add(&levels, "q", s->level[i]);
	pbm_dbus_panel_set_levels(self->skel, g_variant_builder_end(&levels));
	pbm_dbus_panel_set_pulse_hz(self->skel, s->pulse_mhz / 1000.0);
	/* 0.1 degC is what the panel reports; finer is noise */
	pbm_dbus_panel_set_temperature(self->skel, s->temperature_dc / 10.0);
	pbm_dbus_panel_set_fan_rpm(self->skel, s->fan_rpm);
}

void
pbm_export_panel_update(PbmExportPanel *self)
{
	if (pbm_panel_is_connected(self->panel))
		update_identity(self);
	update_state(self);
	pbm_export_panel_update_telemetry(self);
}

/* ---- methods ---- */

/* The replies come once the panel has answered, on the safety context. */
typedef struct {
	PbmPanel *panel;
	GDBusMethodInvocation *invocation;
} PanelCall;

static PanelCall *
panel_call_new(PbmPanel *panel, GDBusMethodInvocation *invocation)
{
	PanelCall *c = g_new0(PanelCall, 1);

	c->panel = g_object_ref(panel);
	c->invocation = g_object_ref(invocation);
	return c;
}

static void
panel_call_free(PanelCall *c)
{
	g_object_unref(c->panel);
	g_object_unref(c->invocation);
	g_free(c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PanelCall, panel_call_free)

static void
identify_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(PanelCall) c = user_data;
	g_autoptr(GError) error = NULL;

	if (!pbm_panel_identify_finish(PBM_PANEL(source), result, &error)) {
		g_dbus_method_invocation_return_error(c->invocation, PBM_DBUS_ERROR,
		                                      PBM_DBUS_ERROR_DEVICE, "%s", error->message);
		return;
	}
	g_dbus_method_invocation_return_value(c->invocation, NULL);
}

static void
identify_run(GDBusMethodInvocation *invocation, guint32 uid, gpointer panel)
{
	pbm_panel_identify_async(panel, IDENTIFY_SECONDS, NULL, identify_done,
	                         panel_call_new(panel, invocation));
}

static gboolean
handle_identify(PbmDBusPanel *skel, GDBusMethodInvocation *invocation, PbmExportPanel *self)
{
	pbm_export_call(self->shared, invocation, PBM_AUTH_CONTROL, PBM_AUTH_NO_OWNER, identify_run,
	                g_object_ref(self->panel), g_object_unref);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
clear_fault_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(PanelCall) c = user_data;
	g_autoptr(GError) error = NULL;
	const PbmStatus *s = pbm_panel_get_status(c->panel);
	g_autofree gchar *names = NULL;

	if (!pbm_panel_clear_fault_finish(PBM_PANEL(source), result, &error)) {
		g_dbus_method_invocation_return_error(c->invocation, PBM_DBUS_ERROR,
		                                      PBM_DBUS_ERROR_DEVICE, "%s", error->message);
		return;
	}
	if (s == NULL || s->faults == 0) {
		g_dbus_method_invocation_return_value(c->invocation, NULL);
		return;
	}
	names = pbm_faults_describe(s->faults);
	g_dbus_method_invocation_return_error(
	        c->invocation, PBM_DBUS_ERROR, PBM_DBUS_ERROR_FAULT,
	        "the fault persists (%s): its cause has not gone; let the panel cool and "
	        "check its fan",
	        names);
}

static void
clear_fault_run(GDBusMethodInvocation *invocation, guint32 uid, gpointer panel)
{
	pbm_panel_clear_fault_async(panel, NULL, clear_fault_done,
	                            panel_call_new(panel, invocation));
}

static gboolean
handle_clear_fault(PbmDBusPanel *skel, GDBusMethodInvocation *invocation, PbmExportPanel *self)
{
	pbm_export_call(self->shared, invocation, PBM_AUTH_ADMIN, PBM_AUTH_NO_OWNER,
	                clear_fault_run, g_object_ref(self->panel), g_object_unref);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- lifecycle ---- */

PbmExportPanel *
pbm_export_panel_new(PbmExportShared *shared, PbmPanel *panel)
{
	PbmExportPanel *self = g_new0(PbmExportPanel, 1);
	g_autofree gchar *path = pbm_export_panel_path(pbm_panel_get_serial(panel));

	self->shared = shared;
	self->panel = g_object_ref(panel);
	self->skel = pbm_dbus_panel_skeleton_new();
	update_identity(self);
	update_state(self);
	pbm_export_panel_update_telemetry(self);
	g_signal_connect(self->skel, "handle-identify", G_CALLBACK(handle_identify), self);
	g_signal_connect(self->skel, "handle-clear-fault", G_CALLBACK(handle_clear_fault), self);
	pbm_export_publish(shared, G_DBUS_INTERFACE_SKELETON(self->skel), path);
	return self;
}

static void
panel_free(gpointer data)
{
	PbmExportPanel *self = data;

	g_object_unref(self->skel);
	g_object_unref(self->panel);
	g_free(self);
}

void
pbm_export_panel_free(PbmExportPanel *self)
{
	pbm_export_retire(self->shared, G_DBUS_INTERFACE_SKELETON(self->skel), self, panel_free);
}
