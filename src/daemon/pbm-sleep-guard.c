/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-sleep-guard.h"

#include <gio/gunixfdlist.h>
#include <unistd.h>

#define LOGIND_NAME "org.freedesktop.login1"
#define LOGIND_PATH "/org/freedesktop/login1"
#define LOGIND_MANAGER "org.freedesktop.login1.Manager"

struct _PbmSleepGuard {
	GDBusConnection *bus;
	PbmManager *manager;
	guint sleep_subscription;
	guint shutdown_subscription;
	gint inhibitor;          /* the delay lock's fd, or -1 */
	GCancellable *taking;    /* an Inhibit call on its way, or NULL */
	gboolean going_to_sleep; /* or shutting down */
	gboolean preparing;      /* ending the session: the lock stays until it is done */
};

static void
release(PbmSleepGuard *self)
{
	if (self->taking != NULL) {
		g_cancellable_cancel(self->taking);
		g_clear_object(&self->taking);
	}
	if (self->inhibitor >= 0) {
		close(self->inhibitor);
		self->inhibitor = -1;
	}
}

static gboolean
wants_lock(PbmSleepGuard *self)
{
	return !self->going_to_sleep && pbm_manager_session_active(self->manager);
}

static void
inhibit_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GUnixFDList) fds = NULL;
	g_autoptr(GVariant) reply = g_dbus_connection_call_with_unix_fd_list_finish(
	        G_DBUS_CONNECTION(source), &fds, result, &error);
	PbmSleepGuard *self = user_data;
	gint32 index = -1;

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	g_clear_object(&self->taking);
	if (reply == NULL) {
		g_debug("no sleep inhibitor from logind: %s", error->message);
		return;
	}
	g_variant_get(reply, "(h)", &index);
	if (fds == NULL || index < 0 || index >= g_unix_fd_list_get_length(fds)) {
		g_warning("logind's Inhibit reply carries no file descriptor");
		return;
	}
	self->inhibitor = g_unix_fd_list_get(fds, index, &error);
	if (self->inhibitor < 0)
		g_warning("logind's sleep inhibitor: %s", error->message);
	else if (!wants_lock(self))
		release(self);
}

static void
take(PbmSleepGuard *self)
{
	self->taking = g_cancellable_new();
	g_dbus_connection_call_with_unix_fd_list(
	        self->bus, LOGIND_NAME, LOGIND_PATH, LOGIND_MANAGER, "Inhibit",
	        g_variant_new(
	                "(ssss)", "sleep:shutdown", "pbmd",
	                "A light therapy session is running; pbmd switches the panel off first",
	                "delay"),
	        G_VARIANT_TYPE("(h)"), G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL, self->taking,
	        inhibit_done, self);
}

/* Held exactly while a session runs. */
static void
on_changed(PbmManager *manager, PbmSleepGuard *self)
{
	gboolean held = self->inhibitor >= 0 || self->taking != NULL;

	if (self->preparing)
		return;
	if (wants_lock(self) && !held)
		take(self);
	else if (!wants_lock(self) && held)
		release(self);
}

/* PrepareForSleep and PrepareForShutdown alike: the session ends as
 * interrupted (a reboot or a suspend is nobody's decision to stop the
 * therapy, and the light must be off before the machine goes), and no
 * session starts until the machine is back or the shutdown is cancelled. */
static void
on_prepare(GDBusConnection *connection, const gchar *sender, const gchar *path, const gchar *iface,
           const gchar *signal, GVariant *params, gpointer user_data)
{
	PbmSleepGuard *self = user_data;
	const gchar *why = g_str_equal(signal, "PrepareForShutdown")
	                           ? "the system is shutting down"
	                           : "the system is going to sleep";
	gboolean going = FALSE;

	if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(b)")))
		return;
	g_variant_get(params, "(b)", &going);
	self->going_to_sleep = going;
	if (!going) {
		pbm_manager_release_starts(self->manager);
		return;
	}
	/* The session's end and the panels going dark emit "changed"; the lock
	 * is kept through all of it, and let go of only once every panel has
	 * confirmed it is dark and the session is recorded. */
	self->preparing = TRUE;
	pbm_manager_hold_starts(self->manager, why);
	pbm_manager_end_session(self->manager, PBM_OUTCOME_INTERRUPTED, why);
	self->preparing = FALSE;
	release(self);
}

static guint
subscribe(PbmSleepGuard *self, const gchar *signal)
{
	return g_dbus_connection_signal_subscribe(self->bus, LOGIND_NAME, LOGIND_MANAGER, signal,
	                                          LOGIND_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
	                                          on_prepare, self, NULL);
}

PbmSleepGuard *
pbm_sleep_guard_new(GDBusConnection *bus, PbmManager *manager)
{
	PbmSleepGuard *self = g_new0(PbmSleepGuard, 1);

	self->bus = g_object_ref(bus);
	self->manager = g_object_ref(manager);
	self->inhibitor = -1;
	self->sleep_subscription = subscribe(self, "PrepareForSleep");
	self->shutdown_subscription = subscribe(self, "PrepareForShutdown");
	g_signal_connect(manager, "changed", G_CALLBACK(on_changed), self);
	on_changed(manager, self);
	return self;
}

void
pbm_sleep_guard_free(PbmSleepGuard *self)
{
	if (self == NULL)
		return;
	release(self);
	g_signal_handlers_disconnect_by_data(self->manager, self);
	g_dbus_connection_signal_unsubscribe(self->bus, self->sleep_subscription);
	g_dbus_connection_signal_unsubscribe(self->bus, self->shutdown_subscription);
	g_object_unref(self->manager);
	g_object_unref(self->bus);
	g_free(self);
}
