/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The names of the org.pbmd1 D-Bus contract (data/org.pbmd1.xml): the bus
 * name, object paths and interfaces. pbmd, pbmctl, the tests and every
 * later client take them from here, so a rename is one edit.
 */
#pragma once

#define PBM_DBUS_NAME "org.pbmd"

/* The interfaces carry the API version, the bus name does not. */
#define PBM_DBUS_INTERFACE_PREFIX "org.pbmd1."
#define PBM_DBUS_INTERFACE_MANAGER PBM_DBUS_INTERFACE_PREFIX "Manager"
#define PBM_DBUS_INTERFACE_SESSION PBM_DBUS_INTERFACE_PREFIX "Session"
#define PBM_DBUS_INTERFACE_PANEL PBM_DBUS_INTERFACE_PREFIX "Panel"
#define PBM_DBUS_ERROR_PREFIX PBM_DBUS_INTERFACE_PREFIX "Error."

#define PBM_DBUS_PATH "/org/pbmd"
/* A session is PBM_DBUS_PATH_SESSION "/<id>"; a panel is
 * PBM_DBUS_PATH_PANEL "/<serial>", escaped (pbm_export_panel_path()). */
#define PBM_DBUS_PATH_SESSION PBM_DBUS_PATH "/session"
#define PBM_DBUS_PATH_PANEL PBM_DBUS_PATH "/panel"
/* ActiveSession when no session is active. */
#define PBM_DBUS_PATH_NONE "/"

/* polkit actions (data/org.pbmd.policy) */
#define PBM_POLKIT_ACTION_CONTROL "org.pbmd.control"
#define PBM_POLKIT_ACTION_STOP "org.pbmd.stop"
#define PBM_POLKIT_ACTION_ADMIN "org.pbmd.admin"
#define PBM_POLKIT_ACTION_READ_HISTORY "org.pbmd.read-history"
