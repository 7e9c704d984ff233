/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-dbus-error.h"

#include "pbm-names.h"

static const GDBusErrorEntry entries[] = {
	{ PBM_DBUS_ERROR_NO_SUCH_PROFILE, PBM_DBUS_ERROR_PREFIX "NoSuchProfile" },
	{ PBM_DBUS_ERROR_BUSY, PBM_DBUS_ERROR_PREFIX "Busy" },
	{ PBM_DBUS_ERROR_NO_PANEL, PBM_DBUS_ERROR_PREFIX "NoPanel" },
	{ PBM_DBUS_ERROR_NOT_RUNNING, PBM_DBUS_ERROR_PREFIX "NotRunning" },
	{ PBM_DBUS_ERROR_SAFETY_LIMIT, PBM_DBUS_ERROR_PREFIX "SafetyLimit" },
	{ PBM_DBUS_ERROR_FAULT, PBM_DBUS_ERROR_PREFIX "Fault" },
	{ PBM_DBUS_ERROR_DEVICE, PBM_DBUS_ERROR_PREFIX "Device" },
	{ PBM_DBUS_ERROR_INVALID_ARGS, PBM_DBUS_ERROR_PREFIX "InvalidArgs" },
	{ PBM_DBUS_ERROR_NOT_AUTHORIZED, PBM_DBUS_ERROR_PREFIX "NotAuthorized" },
};

G_STATIC_ASSERT(G_N_ELEMENTS(entries) == PBM_DBUS_ERROR_N_ERRORS);

GQuark
pbm_dbus_error_quark(void)
{
	static gsize quark = 0;

	g_dbus_error_register_error_domain("pbm-dbus-error-quark", &quark, entries,
	                                   G_N_ELEMENTS(entries));
	return (GQuark)quark;
}
