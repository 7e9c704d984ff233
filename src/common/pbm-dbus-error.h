/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The org.pbmd1.Error.* names of the D-Bus contract, as a GError domain
 * registered with GDBus, so that daemon and clients map them both ways.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PBM_DBUS_ERROR (pbm_dbus_error_quark())
GQuark pbm_dbus_error_quark(void);

typedef enum {
	PBM_DBUS_ERROR_NO_SUCH_PROFILE,
	PBM_DBUS_ERROR_BUSY,
	PBM_DBUS_ERROR_NO_PANEL,
	PBM_DBUS_ERROR_NOT_RUNNING,
	PBM_DBUS_ERROR_SAFETY_LIMIT,
	PBM_DBUS_ERROR_FAULT,
	PBM_DBUS_ERROR_DEVICE,
	PBM_DBUS_ERROR_INVALID_ARGS,
	PBM_DBUS_ERROR_NOT_AUTHORIZED,
} PbmDBusError;

#define PBM_DBUS_ERROR_N_ERRORS (PBM_DBUS_ERROR_NOT_AUTHORIZED + 1)

G_END_DECLS
