/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmd, or any command, run as systemd runs a service. See
 * pbm-test-daemon.h.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "pbm-names.h"
#include "pbm-test-daemon.h"
#include "pbm-test-files.h"
#include "pbm-test-process.h"

#define FREE_TERM_MS 10000

struct _PbmTestDaemon {
	PbmTestProcess process;
	gchar *run_dir; /* temp dir: state/ and the notify socket */
	gchar *state_dir;
	gchar *history_db_path;
};

const gchar *
pbm_test_daemon_get_binary(GError **error)
{
	const gchar *path = g_getenv("PBMD_BINARY");

	if (path == NULL || path[0] == '\0') {
		g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_NOT_FOUND,
		            "PBMD_BINARY is not set (meson test sets it to the built pbmd)");
		return NULL;
	}
	if (!g_file_test(path, G_FILE_TEST_IS_EXECUTABLE) ||
	    g_file_test(path, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_NOT_FOUND,
		            "%s (PBMD_BINARY) is not an executable: is pbmd built?", path);
		return NULL;
	}
	return path;
}

static gint
notify_socket_new(const gchar *path, GError **error)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	gint one = 1;
	gint fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_FAILED,
		            "%s is too long for a unix socket: set a shorter TMPDIR", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
		gint saved = errno;
		g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_FAILED, "notify socket %s: %s",
		            path, g_strerror(saved));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static const gchar *
env_lookup(const gchar *const *extra_env, const gchar *key)
{
	const gchar *value = NULL;
	gsize len = strlen(key);

	for (guint i = 0; extra_env != NULL && extra_env[i] != NULL; i++) {
		if (strncmp(extra_env[i], key, len) == 0 && extra_env[i][len] == '=')
			value = extra_env[i] + len + 1;
	}
	return value;
}

PbmTestDaemon *
pbm_test_daemon_spawn_command(PbmTestBus *bus, const gchar *const *argv,
                              const gchar *const *extra_env, GError **error)
{
	static const gchar *const unset[] = {
		"JOURNAL_STREAM", "WATCHDOG_USEC",  "WATCHDOG_PID",  "LISTEN_FDS",
		"LISTEN_PID",     "LISTEN_FDNAMES", "NOTIFY_SOCKET", "STATE_DIRECTORY",
	};
	g_autoptr(PbmTestDaemon) daemon = NULL;
	g_autofree gchar *notify_path = NULL;
	g_autofree gchar *no_bus = NULL;
	g_autofree gchar *command = NULL;
	g_auto(GStrv) envp = NULL;
	const gchar *address;
	const gchar *state_dir;

	g_return_val_if_fail(argv != NULL && argv[0] != NULL, NULL);

	daemon = g_new0(PbmTestDaemon, 1);
	pbm_test_process_init(&daemon->process, argv[0]);
	daemon->run_dir = pbm_test_make_temp_dir("pbmd-XXXXXX", error);
	if (daemon->run_dir == NULL)
		return NULL;

	state_dir = env_lookup(extra_env, "STATE_DIRECTORY");
	if (state_dir != NULL) {
		daemon->state_dir = g_strdup(state_dir);
	} else {
		/* systemd creates StateDirectory= with mode 0755 */
		daemon->state_dir = g_build_filename(daemon->run_dir, "state", NULL);
		if (g_mkdir(daemon->state_dir, 0755) != 0) {
			gint saved = errno;
			g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_FAILED, "creating %s: %s",
			            daemon->state_dir, g_strerror(saved));
			return NULL;
		}
	}
	daemon->history_db_path = g_build_filename(daemon->state_dir, "history.db", NULL);

	notify_path = g_build_filename(daemon->run_dir, "notify", NULL);
	daemon->process.notify_fd = notify_socket_new(notify_path, error);
	if (daemon->process.notify_fd < 0)
		return NULL;

	envp = g_get_environ();
	for (guint i = 0; i < G_N_ELEMENTS(unset); i++)
		envp = g_environ_unsetenv(envp, unset[i]);
	envp = g_environ_setenv(envp, "NOTIFY_SOCKET", notify_path, TRUE);
	envp = g_environ_setenv(envp, "STATE_DIRECTORY", daemon->state_dir, TRUE);
	/* nothing reaches the buses of the machine */
	no_bus = g_strconcat("unix:path=", daemon->run_dir, "/no-bus", NULL);
	address = bus != NULL ? pbm_test_bus_get_address(bus) : no_bus;
	envp = g_environ_setenv(envp, "DBUS_SYSTEM_BUS_ADDRESS", address, TRUE);
	envp = g_environ_setenv(envp, "DBUS_SESSION_BUS_ADDRESS", address, TRUE);
	for (guint i = 0; extra_env != NULL && extra_env[i] != NULL; i++) {
		const gchar *eq = strchr(extra_env[i], '=');

		if (eq == NULL) {
			envp = g_environ_unsetenv(envp, extra_env[i]);
		} else {
			g_autofree gchar *key = g_strndup(extra_env[i], eq - extra_env[i]);
			envp = g_environ_setenv(envp, key, eq + 1, TRUE);
		}
	}

	if (!pbm_test_process_spawn(&daemon->process, argv, envp, -1, error))
		return NULL;
	command = g_strjoinv(" ", (gchar **)argv);
	pbm_test_note(daemon->process.label, "pid %d: %s (state %s)", (gint)daemon->process.pid,
	              command, daemon->state_dir);
	return g_steal_pointer(&daemon);
}

/* PBMD_WRAPPER (for example valgrind and its options, from meson test
 * --setup memcheck) goes before pbmd on its command line; the words
 * live as long as the process. */
static gboolean
add_wrapper(GPtrArray *argv, GError **error)
{
	static gchar **words;
	const gchar *wrapper = g_getenv("PBMD_WRAPPER");

	if (wrapper == NULL || wrapper[0] == '\0')
		return TRUE;
	if (words == NULL && !g_shell_parse_argv(wrapper, NULL, &words, error)) {
		g_prefix_error(error, "PBMD_WRAPPER: ");
		return FALSE;
	}
	for (guint i = 0; words[i] != NULL; i++)
		g_ptr_array_add(argv, words[i]);
	return TRUE;
}

PbmTestDaemon *
pbm_test_daemon_spawn(PbmTestBus *bus, const gchar *const *extra_args,
                      const gchar *const *extra_env, GError **error)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	const gchar *binary;

	g_return_val_if_fail(bus != NULL, NULL);

	binary = pbm_test_daemon_get_binary(error);
	if (binary == NULL)
		return NULL;
	if (!add_wrapper(argv, error))
		return NULL;
	g_ptr_array_add(argv, (gpointer)binary);
	g_ptr_array_add(argv, (gpointer) "--address");
	g_ptr_array_add(argv, (gpointer)pbm_test_bus_get_address(bus));
	for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer)extra_args[i]);
	g_ptr_array_add(argv, NULL);
	return pbm_test_daemon_spawn_command(bus, (const gchar *const *)argv->pdata, extra_env,
	                                     error);
}

void
pbm_test_daemon_free(PbmTestDaemon *daemon)
{
	if (daemon == NULL)
		return;
	/* As systemd stops a unit: pbmd shuts down (and memcheck gets its leak
	 * summary) unless it hangs, which SIGKILL then ends. */
	if (daemon->process.pid != 0 && !pbm_test_process_try_reap(&daemon->process) &&
	    pbm_test_daemon_signal_and_wait(daemon, SIGTERM, FREE_TERM_MS) == -1)
		pbm_test_note(daemon->process.label, "still running %d ms after SIGTERM: SIGKILL",
		              FREE_TERM_MS);
	pbm_test_process_clear(&daemon->process);
	if (daemon->run_dir != NULL && !pbm_test_rm_rf(daemon->run_dir))
		g_warning("could not remove %s", daemon->run_dir);
	g_free(daemon->run_dir);
	g_free(daemon->state_dir);
	g_free(daemon->history_db_path);
	g_free(daemon);
}

GPid
pbm_test_daemon_get_pid(PbmTestDaemon *daemon)
{
	return daemon->process.pid;
}

const gchar *
pbm_test_daemon_get_state_dir(PbmTestDaemon *daemon)
{
	return daemon->state_dir;
}

const gchar *
pbm_test_daemon_get_history_db_path(PbmTestDaemon *daemon)
{
	return daemon->history_db_path;
}

static gchar *
notify_log_text_locked(PbmTestProcess *p)
{
	g_autoptr(GString) text = g_string_new(NULL);

	for (guint i = 0; i < p->notify_log->len; i++) {
		PbmTestNotifyEntry *entry = g_ptr_array_index(p->notify_log, i);
		g_string_append_printf(text, "%s\"%s\"", i > 0 ? ", " : "", entry->line);
	}
	if (text->len == 0)
		g_string_append(text, "nothing");
	return g_string_free(g_steal_pointer(&text), FALSE);
}

static PbmTestNotifyEntry *
notify_take_locked(PbmTestProcess *p, const gchar *prefix)
{
	for (guint i = 0; i < p->notify_log->len; i++) {
		PbmTestNotifyEntry *entry = g_ptr_array_index(p->notify_log, i);

		if (!entry->taken && g_str_has_prefix(entry->line, prefix)) {
			entry->taken = TRUE;
			return entry;
		}
	}
	return NULL;
}

gboolean
pbm_test_daemon_wait_notify(PbmTestDaemon *daemon, const gchar *prefix, guint timeout_ms,
                            gchar **line_out, GError **error)
{
	PbmTestProcess *p = &daemon->process;
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	gboolean exited = FALSE;
	PbmTestNotifyEntry *entry = NULL;

	g_mutex_lock(&p->mutex);
	for (;;) {
		gint64 now;

		entry = notify_take_locked(p, prefix);
		if (entry != NULL)
			break;
		if (exited) {
			/* what it sent before exiting may still be queued */
			pbm_test_process_notify_drain_locked(p);
			entry = notify_take_locked(p, prefix);
			if (entry != NULL)
				break;
			g_autofree gchar *what = pbm_test_describe_status(p->status);
			g_autofree gchar *log = notify_log_text_locked(p);
			g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_EXITED,
			            "%s %s without sending %s (it sent %s)", p->label, what, prefix,
			            log);
			break;
		}
		now = g_get_monotonic_time();
		if (now >= deadline) {
			g_autofree gchar *log = notify_log_text_locked(p);
			g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_TIMED_OUT,
			            "%s sent no %s within %u ms (it sent %s)", p->label, prefix,
			            timeout_ms, log);
			break;
		}
		g_cond_wait_until(&p->cond, &p->mutex, MIN(deadline, now + 20 * 1000));
		g_mutex_unlock(&p->mutex);
		exited = pbm_test_process_try_reap(p);
		g_mutex_lock(&p->mutex);
	}
	if (entry != NULL && line_out != NULL)
		*line_out = g_strdup(entry->line);
	g_mutex_unlock(&p->mutex);
	return entry != NULL;
}

gchar **
pbm_test_daemon_get_notify_log(PbmTestDaemon *daemon)
{
	PbmTestProcess *p = &daemon->process;
	GStrvBuilder *builder = g_strv_builder_new();
	gchar **log;

	g_mutex_lock(&p->mutex);
	for (guint i = 0; i < p->notify_log->len; i++) {
		PbmTestNotifyEntry *entry = g_ptr_array_index(p->notify_log, i);
		g_strv_builder_add(builder, entry->line);
	}
	g_mutex_unlock(&p->mutex);
	log = g_strv_builder_end(builder);
	g_strv_builder_unref(builder);
	return log;
}

static gboolean
owner_pid(GDBusConnection *connection, const gchar *name, guint32 *pid_out, gchar **owner_out,
          GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) pid_reply = NULL;
	const gchar *owner;

	reply = g_dbus_connection_call_sync(
	        connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
	        "GetNameOwner", g_variant_new("(s)", name), G_VARIANT_TYPE("(s)"),
	        G_DBUS_CALL_FLAGS_NONE, 5000, NULL, error);
	if (reply == NULL)
		return FALSE;
	g_variant_get(reply, "(&s)", &owner);
	pid_reply = g_dbus_connection_call_sync(
	        connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
	        "GetConnectionUnixProcessID", g_variant_new("(s)", owner), G_VARIANT_TYPE("(u)"),
	        G_DBUS_CALL_FLAGS_NONE, 5000, NULL, error);
	if (pid_reply == NULL)
		return FALSE;
	g_variant_get(pid_reply, "(u)", pid_out);
	*owner_out = g_strdup(owner);
	return TRUE;
}

gboolean
pbm_test_daemon_wait_name(PbmTestDaemon *daemon, GDBusConnection *connection, guint timeout_ms,
                          GError **error)
{
	PbmTestProcess *p = &daemon->process;
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	gulong nap = 1000;
	g_autofree gchar *owner = NULL;
	guint32 pid = 0;

	for (;;) {
		g_autoptr(GError) local = NULL;

		g_clear_pointer(&owner, g_free);
		if (owner_pid(connection, PBM_DBUS_NAME, &pid, &owner, &local)) {
			/* another owner may be on its way out (a daemon just killed) */
			if ((GPid)pid == p->pid)
				return TRUE;
		} else if (!g_error_matches(local, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) &&
		           !g_error_matches(local, G_DBUS_ERROR,
		                            G_DBUS_ERROR_UNIX_PROCESS_ID_UNKNOWN)) {
			g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_FAILED,
			            "asking the bus who owns %s: %s", PBM_DBUS_NAME,
			            local->message);
			return FALSE;
		}
		if (pbm_test_process_try_reap(p)) {
			g_autofree gchar *what = pbm_test_describe_status(p->status);
			g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_EXITED,
			            "%s %s without owning %s", p->label, what, PBM_DBUS_NAME);
			return FALSE;
		}
		if (g_get_monotonic_time() >= deadline) {
			if (owner != NULL)
				g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_FAILED,
				            "%s is owned by %s (pid %u), not by %s (pid %d), after "
				            "%u ms",
				            PBM_DBUS_NAME, owner, pid, p->label, (gint)p->pid,
				            timeout_ms);
			else
				g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_TIMED_OUT,
				            "%s did not own %s within %u ms", p->label,
				            PBM_DBUS_NAME, timeout_ms);
			return FALSE;
		}
		g_usleep(nap);
		nap = MIN(nap * 2, 20000);
	}
}

gint
pbm_test_daemon_signal_and_wait(PbmTestDaemon *daemon, gint signum, guint timeout_ms)
{
	PbmTestProcess *p = &daemon->process;

	if (!pbm_test_process_try_reap(p)) {
		if (signum != 0 && kill(p->pid, signum) != 0)
			g_warning("kill %d %d: %s", (gint)p->pid, signum, g_strerror(errno));
		if (!pbm_test_process_wait(p, timeout_ms)) {
			pbm_test_note(p->label, "did not exit within %u ms of signal %d: SIGKILL",
			              timeout_ms, signum);
			pbm_test_process_kill_and_reap(p);
			p->killed_after_timeout = TRUE;
		}
	}
	return p->killed_after_timeout ? -1 : p->status;
}

gboolean
pbm_test_daemon_has_exited(PbmTestDaemon *daemon, gint *status_out)
{
	PbmTestProcess *p = &daemon->process;

	if (!pbm_test_process_try_reap(p))
		return FALSE;
	if (status_out != NULL)
		*status_out = p->status;
	return TRUE;
}
