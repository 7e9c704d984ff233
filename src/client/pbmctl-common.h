/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What every pbmctl command shares: the client context, exit codes, calls
 * to pbmd, reading replies, turning errors into an exit code and a hint,
 * and JSON output.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Exit codes: stable, documented in pbmctl(1). */
typedef enum {
	PBM_CTL_EXIT_OK = 0,      /* done; for start --wait: completed */
	PBM_CTL_EXIT_ERROR = 1,   /* anything else */
	PBM_CTL_EXIT_USAGE = 2,   /* bad command line, unknown profile, invalid argument */
	PBM_CTL_EXIT_STOPPED = 3, /* the session was stopped (request, panel button, suspend) */
	PBM_CTL_EXIT_FAULT = 4,   /* the session ended with a fault */
	PBM_CTL_EXIT_DISCONNECTED = 5, /* a panel was unplugged during the session */
	PBM_CTL_EXIT_REFUSED = 6,      /* refused: safety limit, busy, no panel, panel fault */
	PBM_CTL_EXIT_NOT_AUTHORIZED = 7,
	PBM_CTL_EXIT_NO_DAEMON = 8, /* pbmd is not running */
} PbmCtlExit;

typedef struct {
	gboolean json;
	gboolean color;
	GBusType bus_type;
	gchar *address;
	GDBusConnection *bus;
	/* Set once a command talks to one pbmd in particular (start --wait):
	 * a later call must not D-Bus-activate another. */
	gboolean no_auto_start;
} PbmCtl;

gboolean pbm_ctl_connect(PbmCtl *ctl, GError **error);

/* A method of pbmd's; reply_type NULL: any reply. */
GVariant *pbm_ctl_call(PbmCtl *ctl, const gchar *path, const gchar *iface, const gchar *method,
                       GVariant *args, const GVariantType *reply_type, GError **error);
/* The properties of iface at path, as a{sv}. */
GVariant *pbm_ctl_get_all(PbmCtl *ctl, const gchar *path, const gchar *iface, GError **error);
/* Calls the Manager's method that takes no argument and prints done. */
gint pbm_ctl_simple_call(PbmCtl *ctl, const gchar *method, const gchar *done);

/* A string or object path from a dictionary; "" when absent. The value
 * lives as long as dict. */
const gchar *pbm_ctl_lookup_s(GVariant *dict, const gchar *key);
/* A double from a dictionary; 0 when absent. */
gdouble pbm_ctl_lookup_d(GVariant *dict, const gchar *key);

/* Warns on stderr when pbmd's major.minor differs from pbmctl's. */
void pbm_ctl_warn_version_skew(PbmCtl *ctl, GVariant *manager);

/* Prints error (with a hint for people, and as JSON with --json), frees
 * it and returns its exit code. */
gint pbm_ctl_fail(PbmCtl *ctl, GError *error);

void pbm_ctl_print_json(JsonNode *node);
void pbm_ctl_print_variant_json(GVariant *value);

G_END_DECLS
