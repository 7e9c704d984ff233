/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-dbus-error.h"

static const GDBusErrorEntry entries[] = {
	{ PBM_DBUS_ERROR_NO_SUCH_PROFILE, "org.pbmd1.Error.NoSuchProfile" },
	{ PBM_DBUS_ERROR_BUSY, "org.pbmd1.Error.Busy" },
	{ PBM_DBUS_ERROR_NO_PANEL, "org.pbmd1.Error.NoPanel" },
	{ PBM_DBUS_ERROR_NOT_RUNNING, "org.pbmd1.Error.NotRunning" },
	{ PBM_DBUS_ERROR_SAFETY_LIMIT, "org.pbmd1.Error.SafetyLimit" },
	{ PBM_DBUS_ERROR_FAULT, "org.pbmd1.Error.Fault" },
	{ PBM_DBUS_ERROR_DEVICE, "org.pbmd1.Error.Device" },
	{ PBM_DBUS_ERROR_INVALID_ARGS, "org.pbmd1.Error.InvalidArgs" },
	{ PBM_DBUS_ERROR_NOT_AUTHORIZED, "org.pbmd1.Error.NotAuthorized" },
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
