/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-transport.h"

/* The name is the error domain's string at run time; clang-format would
 * read it as a subtraction and space it out. */
/* clang-format off */
G_DEFINE_QUARK(pbm-panel-error-quark, pbm_panel_error)
/* clang-format on */

G_DEFINE_INTERFACE(PbmTransport, pbm_transport, G_TYPE_OBJECT)

enum { SIGNAL_REPORT, SIGNAL_DISCONNECTED, SIGNAL_FAILED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
pbm_transport_default_init(PbmTransportInterface *iface)
{
	signals[SIGNAL_REPORT] =
	        g_signal_new("report", G_TYPE_FROM_INTERFACE(iface), G_SIGNAL_RUN_LAST, 0, NULL,
	                     NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BYTES);
	signals[SIGNAL_DISCONNECTED] =
	        g_signal_new("disconnected", G_TYPE_FROM_INTERFACE(iface), G_SIGNAL_RUN_LAST, 0,
	                     NULL, NULL, NULL, G_TYPE_NONE, 0);
	signals[SIGNAL_FAILED] =
	        g_signal_new("failed", G_TYPE_FROM_INTERFACE(iface), G_SIGNAL_RUN_LAST, 0, NULL,
	                     NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

void
pbm_transport_control_async(PbmTransport *self, const struct pbm_wire_setup *setup, GBytes *data,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data)
{
	g_return_if_fail(PBM_IS_TRANSPORT(self));
	PBM_TRANSPORT_GET_IFACE(self)->control_async(self, setup, data, cancellable, callback,
	                                             user_data);
}

GBytes *
pbm_transport_control_finish(PbmTransport *self, GAsyncResult *result, GError **error)
{
	g_return_val_if_fail(PBM_IS_TRANSPORT(self), NULL);
	return PBM_TRANSPORT_GET_IFACE(self)->control_finish(self, result, error);
}

void
pbm_transport_start(PbmTransport *self)
{
	g_return_if_fail(PBM_IS_TRANSPORT(self));
	PBM_TRANSPORT_GET_IFACE(self)->start(self);
}

void
pbm_transport_close(PbmTransport *self)
{
	g_return_if_fail(PBM_IS_TRANSPORT(self));
	PBM_TRANSPORT_GET_IFACE(self)->close(self);
}

const gchar *
pbm_transport_get_location(PbmTransport *self)
{
	g_return_val_if_fail(PBM_IS_TRANSPORT(self), NULL);
	return PBM_TRANSPORT_GET_IFACE(self)->get_location(self);
}

void
pbm_transport_emit_report(PbmTransport *self, GBytes *raw)
{
	g_signal_emit(self, signals[SIGNAL_REPORT], 0, raw);
}

void
pbm_transport_emit_disconnected(PbmTransport *self)
{
	g_signal_emit(self, signals[SIGNAL_DISCONNECTED], 0);
}

void
pbm_transport_emit_failed(PbmTransport *self, const GError *error)
{
	g_signal_emit(self, signals[SIGNAL_FAILED], 0, error);
}
