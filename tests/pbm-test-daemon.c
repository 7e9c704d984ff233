/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The daemon harness: a private system-style bus, pbmd (or any command) run
 * as systemd would run it, and a fake polkit authority. See pbm-test-daemon.h.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "pbm-test-daemon.h"

#ifndef PBM_SOURCE_DIR
#error "PBM_SOURCE_DIR must be defined (the project's source root)"
#endif

#define BUS_START_TIMEOUT_MS 10000
#define BUS_STOP_TIMEOUT_MS 5000
#define FREE_TERM_MS 10000
/* systemd reads at most this much of a notification (NOTIFY_BUFFER_MAX). */
#define NOTIFY_BUFFER_MAX 4096
/* A line longer than this is relayed in pieces. */
#define RELAY_LINE_MAX 8192

G_DEFINE_QUARK(pbm - test - error - quark, pbm_test_error)

/* ---- output ---- */

/* One whole line on stdout, atomically with respect to other threads'
 * stdio (CMocka's output included), flushed at once. */
static void
emit(const gchar *label, const gchar *text, gsize len)
{
	while (len > 0 && (text[len - 1] == '\r' || text[len - 1] == '\n'))
		len--;
	flockfile(stdout);
	fprintf(stdout, "# [%s] %.*s\n", label, (int)len, text);
	fflush(stdout);
	funlockfile(stdout);
}

static void note(const gchar *label, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

static void
note(const gchar *label, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *text = NULL;

	va_start(args, format);
	text = g_strdup_vprintf(format, args);
	va_end(args);
	emit(label, text, strlen(text));
}

static gchar *
describe_status(gint status)
{
	if (WIFEXITED(status))
		return g_strdup_printf("exited with status %d", WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return g_strdup_printf("was killed by signal %d (%s)%s", WTERMSIG(status),
		                       g_strsignal(WTERMSIG(status)),
		                       WCOREDUMP(status) ? ", core dumped" : "");
	return g_strdup_printf("ended with wait status 0x%x", (guint)status);
}

/* ---- temp dirs ---- */

/* A fresh directory with a short path (unix socket paths go inside). */
static gchar *
make_temp_dir(const gchar *template, GError **error)
{
	const gchar *tmp = g_get_tmp_dir();
	g_autofree gchar *path = NULL;

	if (strlen(tmp) > 48)
		tmp = "/tmp";
	path = g_build_filename(tmp, template, NULL);
	if (g_mkdtemp(path) == NULL) {
		gint saved = errno;
		g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_FAILED, "creating %s: %s", path,
		            g_strerror(saved));
		return NULL;
	}
	return g_steal_pointer(&path);
}

gboolean
pbm_test_rm_rf(const gchar *path)
{
	GStatBuf st;

	if (g_lstat(path, &st) != 0)
		return errno == ENOENT;
	if (S_ISDIR(st.st_mode)) {
		GDir *dir = g_dir_open(path, 0, NULL);
		const gchar *name;

		if (dir != NULL) {
			while ((name = g_dir_read_name(dir)) != NULL) {
				g_autofree gchar *child = g_build_filename(path, name, NULL);
				pbm_test_rm_rf(child);
			}
			g_dir_close(dir);
		}
		return g_rmdir(path) == 0;
	}
	return g_unlink(path) == 0;
}

/* ---- a spawned process: relay thread, notify socket, reaping ---- */

typedef struct {
	gchar *line;
	gboolean taken; /* returned by a wait already */
} NotifyEntry;

static void
notify_entry_free(gpointer data)
{
	NotifyEntry *entry = data;

	g_free(entry->line);
	g_free(entry);
}

typedef struct {
	gchar *label;
	GPid pid; /* 0 before the spawn */
	gboolean reaped;
	gint status;
	gboolean killed_after_timeout;

	/* read ends, non-blocking; the relay thread's once it runs */
	gint out_fd;
	gint err_fd;
	GString *out_partial;
	GString *err_partial;
	gint wake_fd; /* eventfd: the relay thread drains and ends */
	GThread *thread;

	/* the notify socket (-1: none), read under the mutex */
	gint notify_fd;
	GMutex mutex;
	GCond cond;
	GPtrArray *notify_log; /* NotifyEntry */
} Process;

static void
process_init(Process *p, const gchar *argv0)
{
	p->label = g_path_get_basename(argv0);
	p->out_fd = p->err_fd = p->wake_fd = p->notify_fd = -1;
	p->out_partial = g_string_new(NULL);
	p->err_partial = g_string_new(NULL);
	g_mutex_init(&p->mutex);
	g_cond_init(&p->cond);
	p->notify_log = g_ptr_array_new_with_free_func(notify_entry_free);
}

static void
relay_flush(Process *p, GString *partial)
{
	if (partial->len > 0)
		emit(p->label, partial->str, partial->len);
	g_string_truncate(partial, 0);
}

/* Reads what is there (non-blocking) and relays the complete lines. */
static void
relay_read(Process *p, gint *fd, GString *partial)
{
	gchar buf[4096];

	while (*fd >= 0) {
		ssize_t n = read(*fd, buf, sizeof(buf));
		gchar *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(*fd);
			*fd = -1;
			relay_flush(p, partial);
			return;
		}
		g_string_append_len(partial, buf, n);
		while ((nl = memchr(partial->str, '\n', partial->len)) != NULL) {
			emit(p->label, partial->str, nl - partial->str);
			g_string_erase(partial, 0, nl - partial->str + 1);
		}
		if (partial->len > RELAY_LINE_MAX)
			relay_flush(p, partial);
	}
}

/* Receives every queued notification, as systemd's manager does: at most
 * NOTIFY_BUFFER_MAX bytes, sender credentials, fds closed. Holds the mutex. */
static void
notify_drain_locked(Process *p)
{
	while (p->notify_fd >= 0) {
		gchar buf[NOTIFY_BUFFER_MAX + 1];
		struct iovec iov = { .iov_base = buf, .iov_len = NOTIFY_BUFFER_MAX };
		union {
			struct cmsghdr header;
			guint8 space[CMSG_SPACE(sizeof(struct ucred)) +
			             CMSG_SPACE(sizeof(gint) * 253)];
		} control;
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = &control,
			.msg_controllen = sizeof(control),
		};
		pid_t sender = 0;
		guint n_fds = 0;
		ssize_t n =
		        recvmsg(p->notify_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET)
				continue;
			if (c->cmsg_type == SCM_CREDENTIALS &&
			    c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
				struct ucred cred;
				memcpy(&cred, CMSG_DATA(c), sizeof(cred));
				sender = cred.pid;
			} else if (c->cmsg_type == SCM_RIGHTS) {
				guint count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(gint);
				for (guint i = 0; i < count; i++) {
					gint fd;
					memcpy(&fd, CMSG_DATA(c) + i * sizeof(gint), sizeof(fd));
					close(fd);
					n_fds++;
				}
			}
		}
		if (n_fds > 0)
			note(p->label,
			     "notify: %u fds passed and closed (systemd closes a BARRIER=1 fd)",
			     n_fds);
		if ((msg.msg_flags & MSG_TRUNC) || n > NOTIFY_BUFFER_MAX) {
			note(p->label,
			     "notify: datagram of %zd bytes ignored (systemd ignores over %d)", n,
			     NOTIFY_BUFFER_MAX);
			continue;
		}
		if (sender != p->pid)
			note(p->label,
			     "notify: sent by pid %d, not the main pid %d (systemd's default "
			     "NotifyAccess=main would ignore it)",
			     (gint)sender, (gint)p->pid);
		buf[n] = '\0';
		g_auto(GStrv) lines = g_strsplit(buf, "\n", -1);
		for (guint i = 0; lines[i] != NULL; i++) {
			NotifyEntry *entry;

			if (lines[i][0] == '\0')
				continue;
			note(p->label, "notify: %s", lines[i]);
			entry = g_new0(NotifyEntry, 1);
			entry->line = g_strdup(lines[i]);
			g_ptr_array_add(p->notify_log, entry);
		}
		g_cond_broadcast(&p->cond);
	}
}

static gpointer
relay_thread(gpointer data)
{
	Process *p = data;
	gboolean stopping = FALSE;

	while (!stopping) {
		struct pollfd fds[] = {
			{ .fd = p->out_fd, .events = POLLIN },
			{ .fd = p->err_fd, .events = POLLIN },
			{ .fd = p->notify_fd, .events = POLLIN },
			{ .fd = p->wake_fd, .events = POLLIN },
		};

		if (poll(fds, G_N_ELEMENTS(fds), -1) < 0) {
			if (errno == EINTR)
				continue;
			g_warning("relay poll: %s", g_strerror(errno));
			break;
		}
		stopping = fds[3].revents != 0;
		if (fds[0].revents != 0 || stopping)
			relay_read(p, &p->out_fd, p->out_partial);
		if (fds[1].revents != 0 || stopping)
			relay_read(p, &p->err_fd, p->err_partial);
		if (fds[2].revents != 0 || stopping) {
			g_mutex_lock(&p->mutex);
			notify_drain_locked(p);
			g_mutex_unlock(&p->mutex);
		}
	}
	relay_flush(p, p->out_partial);
	relay_flush(p, p->err_partial);
	return NULL;
}

typedef struct {
	pid_t parent;
} ChildSetup;

/* In the child, between fork and exec (async-signal-safe calls only): what
 * systemd does before exec, and death with the test process. */
static void
child_setup(gpointer user_data)
{
	const ChildSetup *setup = user_data;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	for (gint sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	umask(022);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != setup->parent)
		_exit(127);
}

/* Spawns argv with stdin from /dev/null and stdout/stderr relayed; map_fd
 * (-1: none) becomes fd 3 of the child. */
static gboolean
process_spawn(Process *p, const gchar *const *argv, gchar **envp, gint map_fd, GError **error)
{
	ChildSetup setup = { .parent = getpid() };
	gint source_fds[] = { map_fd };
	gint target_fds[] = { 3 };
	g_autoptr(GError) local = NULL;
	g_autofree gchar *program =
	        strchr(argv[0], '/') != NULL ? g_strdup(argv[0]) : g_find_program_in_path(argv[0]);

	/* found before forking: a clear error, and no failed exec to clean up after */
	if (program == NULL || !g_file_test(program, G_FILE_TEST_IS_EXECUTABLE) ||
	    g_file_test(program, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_NOT_FOUND,
		            "%s: no such program (PATH=%s)", argv[0], g_getenv("PATH"));
		return FALSE;
	}
	if (!g_spawn_async_with_pipes_and_fds(
	            "/", argv, (const gchar *const *)envp,
	            G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL |
	                    G_SPAWN_CLOEXEC_PIPES,
	            child_setup, &setup, -1, -1, -1, map_fd >= 0 ? source_fds : NULL,
	            map_fd >= 0 ? target_fds : NULL, map_fd >= 0 ? 1 : 0, &p->pid, NULL, &p->out_fd,
	            &p->err_fd, &local)) {
		gint code = g_error_matches(local, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT)
		                    ? PBM_TEST_ERROR_NOT_FOUND
		                    : PBM_TEST_ERROR_FAILED;
		p->pid = 0;
		g_set_error(error, PBM_TEST_ERROR, code, "spawning %s: %s", argv[0],
		            local->message);
		return FALSE;
	}
	g_unix_set_fd_nonblocking(p->out_fd, TRUE, NULL);
	g_unix_set_fd_nonblocking(p->err_fd, TRUE, NULL);
	p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->wake_fd < 0)
		g_error("eventfd: %s", g_strerror(errno));
	p->thread = g_thread_new(p->label, relay_thread, p);
	return TRUE;
}

/* TRUE once the process has exited (reaped here, once). */
static gboolean
process_try_reap(Process *p)
{
	gint status = 0;
	pid_t r;

	if (p->reaped || p->pid == 0)
		return TRUE;
	do
		r = waitpid(p->pid, &status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return FALSE;
	if (r < 0) {
		g_warning("waitpid %d: %s", (gint)p->pid, g_strerror(errno));
		status = -1;
	}
	p->reaped = TRUE;
	p->status = status;
	g_autofree gchar *what = describe_status(status);
	note(p->label, "pid %d %s", (gint)p->pid, what);
	return TRUE;
}

static gboolean
process_wait(Process *p, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	gulong nap = 1000;

	while (!process_try_reap(p)) {
		if (g_get_monotonic_time() >= deadline)
			return FALSE;
		g_usleep(nap);
		nap = MIN(nap * 2, 10000);
	}
	return TRUE;
}

static void
process_kill_and_reap(Process *p)
{
	if (process_try_reap(p))
		return;
	kill(p->pid, SIGKILL);
	/* SIGKILL cannot be ignored: a blocking wait is bounded. */
	while (!process_try_reap(p))
		g_usleep(1000);
}

/* Kills if needed, reaps, ends the relay thread, closes everything. */
static void
process_clear(Process *p)
{
	if (p->pid != 0) {
		process_kill_and_reap(p);
		g_spawn_close_pid(p->pid);
	}
	if (p->thread != NULL) {
		guint64 one = 1;
		if (write(p->wake_fd, &one, sizeof(one)) != sizeof(one))
			g_warning("waking the relay thread: %s", g_strerror(errno));
		g_thread_join(p->thread);
		p->thread = NULL;
	}
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->err_fd >= 0)
		close(p->err_fd);
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	if (p->notify_fd >= 0)
		close(p->notify_fd);
	g_string_free(p->out_partial, TRUE);
	g_string_free(p->err_partial, TRUE);
	g_ptr_array_unref(p->notify_log);
	g_mutex_clear(&p->mutex);
	g_cond_clear(&p->cond);
	g_free(p->label);
}

/* ---- the private bus ---- */

struct _PbmTestBus {
	Process process;
	gchar *dir;
	gchar *address;
};

static const gchar bus_config_format[] =
        "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
        " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
        "<!-- Written by tests/pbm-test-daemon.c: a private bus with the system bus's\n"
        "     policy (dbus-1/system.conf), plus what the tests need. -->\n"
        "<busconfig>\n"
        "  <type>system</type>\n"
        "  <listen>unix:path=%s</listen>\n"
        "  <auth>EXTERNAL</auth>\n"
        "  <policy context=\"default\">\n"
        "    <allow user=\"*\"/>\n"
        "    <deny own=\"*\"/>\n"
        "    <deny send_type=\"method_call\"/>\n"
        "    <allow send_type=\"signal\"/>\n"
        "    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
        "    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
        "    <allow receive_type=\"method_call\"/>\n"
        "    <allow receive_type=\"method_return\"/>\n"
        "    <allow receive_type=\"error\"/>\n"
        "    <allow receive_type=\"signal\"/>\n"
        "    <allow send_destination=\"org.freedesktop.DBus\"\n"
        "           send_interface=\"org.freedesktop.DBus\"/>\n"
        "    <allow send_destination=\"org.freedesktop.DBus\"\n"
        "           send_interface=\"org.freedesktop.DBus.Introspectable\"/>\n"
        "    <allow send_destination=\"org.freedesktop.DBus\"\n"
        "           send_interface=\"org.freedesktop.DBus.Properties\"/>\n"
        "    <deny send_destination=\"org.freedesktop.DBus\"\n"
        "          send_interface=\"org.freedesktop.DBus\"\n"
        "          send_member=\"UpdateActivationEnvironment\"/>\n"
        "    <deny send_destination=\"org.freedesktop.DBus\"\n"
        "          send_interface=\"org.freedesktop.DBus.Debug.Stats\"/>\n"
        "    <!-- as polkit's own policy: anyone may ask the authority -->\n"
        "    <allow send_destination=\"org.freedesktop.PolicyKit1\"/>\n"
        "  </policy>\n"
        "  <!-- the user running the tests runs pbmd, the fake authority and a\n"
        "       stand-in for logind (PrepareForSleep) -->\n"
        "  <policy user=\"%u\">\n"
        "    <allow own=\"org.pbmd\"/>\n"
        "    <allow own=\"org.freedesktop.PolicyKit1\"/>\n"
        "    <allow own=\"org.freedesktop.login1\"/>\n"
        "  </policy>\n"
        "  <include ignore_missing=\"yes\">%s</include>\n"
        "</busconfig>\n";

static gchar *
bus_policy_path(void)
{
	const gchar *path = g_getenv("PBM_BUS_POLICY");

	if (path != NULL && path[0] != '\0')
		return g_strdup(path);
	return g_build_filename(PBM_SOURCE_DIR, "data", "org.pbmd.conf", NULL);
}

/* Reads the first line dbus-daemon writes on fd (its address). */
static gchar *
read_address(gint fd, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	g_autoptr(GString) text = g_string_new(NULL);

	for (;;) {
		gint64 left = deadline - g_get_monotonic_time();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		gchar buf[256];
		ssize_t n;
		gchar *nl;

		if (left <= 0)
			return NULL;
		if (poll(&pfd, 1, (gint)(left / 1000) + 1) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return NULL;
		g_string_append_len(text, buf, n);
		nl = strchr(text->str, '\n');
		if (nl != NULL)
			return g_strndup(text->str, nl - text->str);
	}
}

PbmTestBus *
pbm_test_bus_new(GError **error)
{
	g_autoptr(PbmTestBus) bus = g_new0(PbmTestBus, 1);
	const gchar *dbus_daemon = g_getenv("DBUS_DAEMON");
	g_autofree gchar *policy = bus_policy_path();
	g_autofree gchar *socket_path = NULL;
	g_autofree gchar *config_path = NULL;
	g_autofree gchar *config = NULL;
	g_autofree gchar *config_arg = NULL;
	g_auto(GStrv) envp = g_get_environ();
	g_autoptr(GError) local = NULL;
	gint pipe_fds[2];
	gboolean spawned;

	if (dbus_daemon == NULL || dbus_daemon[0] == '\0')
		dbus_daemon = "dbus-daemon";
	process_init(&bus->process, dbus_daemon);
	bus->dir = make_temp_dir("pbmbus-XXXXXX", error);
	if (bus->dir == NULL)
		return NULL;
	/* other users may connect, as to the system bus */
	g_chmod(bus->dir, 0755);

	socket_path = g_build_filename(bus->dir, "bus", NULL);
	config_path = g_build_filename(bus->dir, "bus.conf", NULL);
	config = g_markup_printf_escaped(bus_config_format, socket_path, (guint)getuid(), policy);
	if (!g_file_set_contents(config_path, config, -1, &local)) {
		g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_FAILED, "%s", local->message);
		return NULL;
	}

	/* dbus-daemon has no business with a test's preload nor with the
	 * NOTIFY_SOCKET of whatever runs the tests */
	envp = g_environ_unsetenv(envp, "LD_PRELOAD");
	envp = g_environ_unsetenv(envp, "NOTIFY_SOCKET");
	envp = g_environ_unsetenv(envp, "UMOCKDEV_DIR");

	if (!g_unix_open_pipe(pipe_fds, FD_CLOEXEC, &local)) {
		g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_FAILED, "pipe: %s",
		            local->message);
		return NULL;
	}
	config_arg = g_strconcat("--config-file=", config_path, NULL);
	{
		const gchar *argv[] = { dbus_daemon,   config_arg,   "--nofork",
			                "--nopidfile", "--nosyslog", "--print-address=3",
			                NULL };
		spawned = process_spawn(&bus->process, argv, envp, pipe_fds[1], error);
	}
	close(pipe_fds[1]);
	if (spawned)
		bus->address = read_address(pipe_fds[0], BUS_START_TIMEOUT_MS);
	close(pipe_fds[0]);
	if (!spawned)
		return NULL;
	if (bus->address == NULL) {
		g_autofree gchar *what = NULL;

		if (process_wait(&bus->process, 1000)) {
			what = describe_status(bus->process.status);
			g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_EXITED,
			            "dbus-daemon %s before it listened (its messages are above; "
			            "config %s, policy %s)",
			            what, config_path, policy);
		} else {
			g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_TIMED_OUT,
			            "dbus-daemon printed no address within %d ms",
			            BUS_START_TIMEOUT_MS);
		}
		return NULL;
	}
	note(bus->process.label, "pid %d listening on %s", (gint)bus->process.pid, bus->address);
	return g_steal_pointer(&bus);
}

void
pbm_test_bus_free(PbmTestBus *bus)
{
	if (bus == NULL)
		return;
	if (bus->process.pid != 0 && !process_try_reap(&bus->process)) {
		kill(bus->process.pid, SIGTERM);
		if (!process_wait(&bus->process, BUS_STOP_TIMEOUT_MS))
			note(bus->process.label, "did not exit within %d ms of SIGTERM: killing it",
			     BUS_STOP_TIMEOUT_MS);
	}
	process_clear(&bus->process);
	if (bus->dir != NULL && !pbm_test_rm_rf(bus->dir))
		g_warning("could not remove %s", bus->dir);
	g_free(bus->dir);
	g_free(bus->address);
	g_free(bus);
}

const gchar *
pbm_test_bus_get_address(PbmTestBus *bus)
{
	return bus->address;
}

const gchar *
pbm_test_bus_get_dir(PbmTestBus *bus)
{
	return bus->dir;
}

GPid
pbm_test_bus_get_pid(PbmTestBus *bus)
{
	return bus->process.pid;
}

GDBusConnection *
pbm_test_bus_connect(PbmTestBus *bus, GError **error)
{
	return g_dbus_connection_new_for_address_sync(
	        bus->address,
	        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
	                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	        NULL, NULL, error);
}

/* ---- a daemon ---- */

struct _PbmTestDaemon {
	Process process;
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
	process_init(&daemon->process, argv[0]);
	daemon->run_dir = make_temp_dir("pbmd-XXXXXX", error);
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
	address = bus != NULL ? bus->address : no_bus;
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

	if (!process_spawn(&daemon->process, argv, envp, -1, error))
		return NULL;
	command = g_strjoinv(" ", (gchar **)argv);
	note(daemon->process.label, "pid %d: %s (state %s)", (gint)daemon->process.pid, command,
	     daemon->state_dir);
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
	g_ptr_array_add(argv, bus->address);
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
	if (daemon->process.pid != 0 && !process_try_reap(&daemon->process) &&
	    pbm_test_daemon_signal_and_wait(daemon, SIGTERM, FREE_TERM_MS) == -1)
		note(daemon->process.label, "still running %d ms after SIGTERM: SIGKILL",
		     FREE_TERM_MS);
	process_clear(&daemon->process);
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
notify_log_text_locked(Process *p)
{
	g_autoptr(GString) text = g_string_new(NULL);

	for (guint i = 0; i < p->notify_log->len; i++) {
		NotifyEntry *entry = g_ptr_array_index(p->notify_log, i);
		g_string_append_printf(text, "%s\"%s\"", i > 0 ? ", " : "", entry->line);
	}
	if (text->len == 0)
		g_string_append(text, "nothing");
	return g_string_free(g_steal_pointer(&text), FALSE);
}

static NotifyEntry *
notify_take_locked(Process *p, const gchar *prefix)
{
	for (guint i = 0; i < p->notify_log->len; i++) {
		NotifyEntry *entry = g_ptr_array_index(p->notify_log, i);

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
	Process *p = &daemon->process;
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	gboolean exited = FALSE;
	NotifyEntry *entry = NULL;

	g_mutex_lock(&p->mutex);
	for (;;) {
		gint64 now;

		entry = notify_take_locked(p, prefix);
		if (entry != NULL)
			break;
		if (exited) {
			/* what it sent before exiting may still be queued */
			notify_drain_locked(p);
			entry = notify_take_locked(p, prefix);
			if (entry != NULL)
				break;
			g_autofree gchar *what = describe_status(p->status);
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
		exited = process_try_reap(p);
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
	Process *p = &daemon->process;
	GStrvBuilder *builder = g_strv_builder_new();
	gchar **log;

	g_mutex_lock(&p->mutex);
	for (guint i = 0; i < p->notify_log->len; i++) {
		NotifyEntry *entry = g_ptr_array_index(p->notify_log, i);
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
	Process *p = &daemon->process;
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	gulong nap = 1000;
	g_autofree gchar *owner = NULL;
	guint32 pid = 0;

	for (;;) {
		g_autoptr(GError) local = NULL;

		g_clear_pointer(&owner, g_free);
		if (owner_pid(connection, PBM_TEST_DAEMON_BUS_NAME, &pid, &owner, &local)) {
			/* another owner may be on its way out (a daemon just killed) */
			if ((GPid)pid == p->pid)
				return TRUE;
		} else if (!g_error_matches(local, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) &&
		           !g_error_matches(local, G_DBUS_ERROR,
		                            G_DBUS_ERROR_UNIX_PROCESS_ID_UNKNOWN)) {
			g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_FAILED,
			            "asking the bus who owns %s: %s", PBM_TEST_DAEMON_BUS_NAME,
			            local->message);
			return FALSE;
		}
		if (process_try_reap(p)) {
			g_autofree gchar *what = describe_status(p->status);
			g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_EXITED,
			            "%s %s without owning %s", p->label, what,
			            PBM_TEST_DAEMON_BUS_NAME);
			return FALSE;
		}
		if (g_get_monotonic_time() >= deadline) {
			if (owner != NULL)
				g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_FAILED,
				            "%s is owned by %s (pid %u), not by %s (pid %d), after "
				            "%u ms",
				            PBM_TEST_DAEMON_BUS_NAME, owner, pid, p->label,
				            (gint)p->pid, timeout_ms);
			else
				g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_TIMED_OUT,
				            "%s did not own %s within %u ms", p->label,
				            PBM_TEST_DAEMON_BUS_NAME, timeout_ms);
			return FALSE;
		}
		g_usleep(nap);
		nap = MIN(nap * 2, 20000);
	}
}

gint
pbm_test_daemon_signal_and_wait(PbmTestDaemon *daemon, gint signum, guint timeout_ms)
{
	Process *p = &daemon->process;

	if (!process_try_reap(p)) {
		if (signum != 0 && kill(p->pid, signum) != 0)
			g_warning("kill %d %d: %s", (gint)p->pid, signum, g_strerror(errno));
		if (!process_wait(p, timeout_ms)) {
			note(p->label, "did not exit within %u ms of signal %d: SIGKILL",
			     timeout_ms, signum);
			process_kill_and_reap(p);
			p->killed_after_timeout = TRUE;
		}
	}
	return p->killed_after_timeout ? -1 : p->status;
}

gboolean
pbm_test_daemon_has_exited(PbmTestDaemon *daemon, gint *status_out)
{
	Process *p = &daemon->process;

	if (!process_try_reap(p))
		return FALSE;
	if (status_out != NULL)
		*status_out = p->status;
	return TRUE;
}

/* ---- the fake polkit authority ---- */

#define POLKIT_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_ERROR_FAILED "org.freedesktop.PolicyKit1.Error.Failed"
#define POLKIT_ERROR_CANCELLED "org.freedesktop.PolicyKit1.Error.Cancelled"

static const gchar polkit_xml[] = "<node>"
                                  "  <interface name='org.freedesktop.PolicyKit1.Authority'>"
                                  "    <method name='CheckAuthorization'>"
                                  "      <arg type='(sa{sv})' name='subject' direction='in'/>"
                                  "      <arg type='s' name='action_id' direction='in'/>"
                                  "      <arg type='a{ss}' name='details' direction='in'/>"
                                  "      <arg type='u' name='flags' direction='in'/>"
                                  "      <arg type='s' name='cancellation_id' direction='in'/>"
                                  "      <arg type='(bba{ss})' name='result' direction='out'/>"
                                  "    </method>"
                                  "    <method name='CancelCheckAuthorization'>"
                                  "      <arg type='s' name='cancellation_id' direction='in'/>"
                                  "    </method>"
                                  "    <property type='s' name='BackendName' access='read'/>"
                                  "    <property type='s' name='BackendVersion' access='read'/>"
                                  "    <property type='u' name='BackendFeatures' access='read'/>"
                                  "    <signal name='Changed'/>"
                                  "  </interface>"
                                  "</node>";

typedef struct {
	PbmTestPolkit *polkit;
	GDBusMethodInvocation *invocation;
	gchar *sender;
	gchar *cancellation_id;
	gboolean answer;
	GSource *source;
} PolkitPending;

struct _PbmTestPolkit {
	gchar *address;
	GDBusNodeInfo *node_info;
	GThread *thread;
	GMainContext *context;
	GMainLoop *loop;

	GMutex mutex;
	GCond cond;
	gboolean started; /* the thread has set up, or failed: error */
	GError *error;
	gboolean answer;
	GHashTable *action_answers; /* action id -> GINT_TO_POINTER(answer + 1) */
	GHashTable *calls;          /* action id -> GUINT_TO_POINTER(count) */
	guint delay_ms;
	GVariant *last_parameters;

	/* the thread's */
	GDBusConnection *connection;
	guint registration_id;
	GPtrArray *pending; /* PolkitPending */
};

static void
polkit_pending_free(gpointer data)
{
	PolkitPending *pending = data;

	if (pending->invocation != NULL)
		g_dbus_method_invocation_return_dbus_error(pending->invocation, POLKIT_ERROR_FAILED,
		                                           "The authority is going away");
	if (pending->source != NULL) {
		g_source_destroy(pending->source);
		g_source_unref(pending->source);
	}
	g_free(pending->sender);
	g_free(pending->cancellation_id);
	g_free(pending);
}

static GVariant *
polkit_result(gboolean answer)
{
	return g_variant_new("((bb@a{ss}))", answer, FALSE,
	                     g_variant_new_array(G_VARIANT_TYPE("{ss}"), NULL, 0));
}

static gboolean
polkit_pending_answer(gpointer data)
{
	PolkitPending *pending = data;

	g_dbus_method_invocation_return_value(g_steal_pointer(&pending->invocation),
	                                      polkit_result(pending->answer));
	g_ptr_array_remove(pending->polkit->pending, pending);
	return G_SOURCE_REMOVE;
}

/* What polkitd accepts as a subject (polkit_subject_new_for_gvariant). */
static gboolean
polkit_subject_valid(const gchar *kind, GVariant *details, gchar **why)
{
	g_autoptr(GVariant) pid = g_variant_lookup_value(details, "pid", NULL);
	g_autoptr(GVariant) pidfd = g_variant_lookup_value(details, "pidfd", NULL);
	g_autoptr(GVariant) start_time = g_variant_lookup_value(details, "start-time", NULL);
	g_autoptr(GVariant) uid = g_variant_lookup_value(details, "uid", NULL);
	g_autoptr(GVariant) name = g_variant_lookup_value(details, "name", NULL);
	g_autoptr(GVariant) session_id = g_variant_lookup_value(details, "session-id", NULL);

	if (g_strcmp0(kind, "unix-process") == 0) {
		if (pid == NULL && pidfd == NULL)
			*why = g_strdup("unix-process subject without pid");
		else if (pid != NULL && !g_variant_is_of_type(pid, G_VARIANT_TYPE_UINT32))
			*why = g_strdup("unix-process pid is not of type u");
		else if (pidfd != NULL && !g_variant_is_of_type(pidfd, G_VARIANT_TYPE_HANDLE))
			*why = g_strdup("unix-process pidfd is not of type h");
		else if (start_time != NULL &&
		         !g_variant_is_of_type(start_time, G_VARIANT_TYPE_UINT64))
			*why = g_strdup("unix-process start-time is not of type t");
		else if (uid != NULL && !g_variant_is_of_type(uid, G_VARIANT_TYPE_INT32))
			*why = g_strdup("unix-process uid is not of type i");
	} else if (g_strcmp0(kind, "system-bus-name") == 0) {
		if (name == NULL || !g_variant_is_of_type(name, G_VARIANT_TYPE_STRING) ||
		    !g_dbus_is_name(g_variant_get_string(name, NULL)))
			*why = g_strdup("system-bus-name subject without a valid name (s)");
	} else if (g_strcmp0(kind, "unix-session") == 0) {
		if (session_id == NULL || !g_variant_is_of_type(session_id, G_VARIANT_TYPE_STRING))
			*why = g_strdup("unix-session subject without session-id (s)");
	} else {
		*why = g_strdup_printf("Unknown subject kind `%s'", kind);
	}
	return *why == NULL;
}

static void
polkit_check(PbmTestPolkit *p, const gchar *sender, GVariant *parameters,
             GDBusMethodInvocation *invocation)
{
	const gchar *kind;
	const gchar *action_id;
	const gchar *cancellation_id;
	g_autoptr(GVariant) subject_details = NULL;
	g_autoptr(GVariant) details = NULL;
	g_autofree gchar *why = NULL;
	guint32 flags;
	gpointer override;
	gboolean answer;
	guint delay_ms;
	PolkitPending *pending;

	g_variant_get(parameters, "((&s@a{sv})&s@a{ss}u&s)", &kind, &subject_details, &action_id,
	              &details, &flags, &cancellation_id);

	g_mutex_lock(&p->mutex);
	g_hash_table_insert(
	        p->calls, g_strdup(action_id),
	        GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(p->calls, action_id)) + 1));
	g_clear_pointer(&p->last_parameters, g_variant_unref);
	p->last_parameters = g_variant_ref(parameters);
	override = g_hash_table_lookup(p->action_answers, action_id);
	answer = override != NULL ? GPOINTER_TO_INT(override) - 1 : p->answer;
	delay_ms = p->delay_ms;
	g_mutex_unlock(&p->mutex);

	if (!polkit_subject_valid(kind, subject_details, &why)) {
		g_dbus_method_invocation_return_dbus_error(invocation, POLKIT_ERROR_FAILED, why);
		return;
	}
	if (delay_ms == 0) {
		g_dbus_method_invocation_return_value(invocation, polkit_result(answer));
		return;
	}
	pending = g_new0(PolkitPending, 1);
	pending->polkit = p;
	pending->invocation = invocation;
	pending->sender = g_strdup(sender);
	pending->cancellation_id = g_strdup(cancellation_id);
	pending->answer = answer;
	pending->source = g_timeout_source_new(delay_ms);
	g_source_set_callback(pending->source, polkit_pending_answer, pending, NULL);
	g_source_attach(pending->source, p->context);
	g_ptr_array_add(p->pending, pending);
}

static void
polkit_cancel(PbmTestPolkit *p, const gchar *sender, GVariant *parameters,
              GDBusMethodInvocation *invocation)
{
	const gchar *cancellation_id;

	g_variant_get(parameters, "(&s)", &cancellation_id);
	for (guint i = 0; cancellation_id[0] != '\0' && i < p->pending->len; i++) {
		PolkitPending *pending = g_ptr_array_index(p->pending, i);

		if (g_strcmp0(pending->sender, sender) == 0 &&
		    g_strcmp0(pending->cancellation_id, cancellation_id) == 0) {
			g_dbus_method_invocation_return_dbus_error(
			        g_steal_pointer(&pending->invocation), POLKIT_ERROR_CANCELLED,
			        "The authentication was cancelled");
			g_ptr_array_remove_index(p->pending, i);
			g_dbus_method_invocation_return_value(invocation, NULL);
			return;
		}
	}
	g_dbus_method_invocation_return_dbus_error(
	        invocation, POLKIT_ERROR_FAILED,
	        "No such cancellation_id for this caller (or the check has ended)");
}

static void
polkit_method_call(GDBusConnection *connection, const gchar *sender, const gchar *object_path,
                   const gchar *interface_name, const gchar *method_name, GVariant *parameters,
                   GDBusMethodInvocation *invocation, gpointer user_data)
{
	PbmTestPolkit *p = user_data;

	if (g_strcmp0(method_name, "CheckAuthorization") == 0)
		polkit_check(p, sender, parameters, invocation);
	else if (g_strcmp0(method_name, "CancelCheckAuthorization") == 0)
		polkit_cancel(p, sender, parameters, invocation);
	else
		g_dbus_method_invocation_return_error(invocation, G_DBUS_ERROR,
		                                      G_DBUS_ERROR_UNKNOWN_METHOD, "No method %s",
		                                      method_name);
}

static GVariant *
polkit_get_property(GDBusConnection *connection, const gchar *sender, const gchar *object_path,
                    const gchar *interface_name, const gchar *property_name, GError **error,
                    gpointer user_data)
{
	if (g_strcmp0(property_name, "BackendName") == 0)
		return g_variant_new_string("pbm-test-polkit");
	if (g_strcmp0(property_name, "BackendVersion") == 0)
		return g_variant_new_string("0.1");
	if (g_strcmp0(property_name, "BackendFeatures") == 0)
		return g_variant_new_uint32(0);
	g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "No property %s",
	            property_name);
	return NULL;
}

static const GDBusInterfaceVTable polkit_vtable = {
	.method_call = polkit_method_call,
	.get_property = polkit_get_property,
};

static gboolean
polkit_setup(PbmTestPolkit *p, GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	guint32 result;

	p->connection = g_dbus_connection_new_for_address_sync(
	        p->address,
	        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
	                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	        NULL, NULL, error);
	if (p->connection == NULL)
		return FALSE;
	p->registration_id = g_dbus_connection_register_object(p->connection, POLKIT_PATH,
	                                                       p->node_info->interfaces[0],
	                                                       &polkit_vtable, p, NULL, error);
	if (p->registration_id == 0)
		return FALSE;
	/* 4: DBUS_NAME_FLAG_DO_NOT_QUEUE */
	reply = g_dbus_connection_call_sync(
	        p->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
	        "org.freedesktop.DBus", "RequestName", g_variant_new("(su)", POLKIT_NAME, 4u),
	        G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, error);
	if (reply == NULL)
		return FALSE;
	g_variant_get(reply, "(u)", &result);
	if (result != 1) {
		g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_FAILED,
		            "RequestName %s answered %u, not 1 (primary owner)", POLKIT_NAME,
		            result);
		return FALSE;
	}
	return TRUE;
}

static gpointer
polkit_thread(gpointer data)
{
	PbmTestPolkit *p = data;
	GError *error = NULL;
	gboolean ok;

	g_main_context_push_thread_default(p->context);
	ok = polkit_setup(p, &error);

	g_mutex_lock(&p->mutex);
	p->error = error;
	p->started = TRUE;
	g_cond_signal(&p->cond);
	g_mutex_unlock(&p->mutex);

	if (ok)
		g_main_loop_run(p->loop);

	g_ptr_array_set_size(p->pending, 0);
	if (p->registration_id != 0)
		g_dbus_connection_unregister_object(p->connection, p->registration_id);
	if (p->connection != NULL) {
		g_dbus_connection_close_sync(p->connection, NULL, NULL);
		g_clear_object(&p->connection);
	}
	/* sources the connection left (e.g. idle replies) go with the context */
	while (g_main_context_iteration(p->context, FALSE))
		;
	g_main_context_pop_thread_default(p->context);
	return NULL;
}

static gboolean
polkit_quit(gpointer data)
{
	PbmTestPolkit *p = data;

	g_main_loop_quit(p->loop);
	return G_SOURCE_REMOVE;
}

PbmTestPolkit *
pbm_test_polkit_new(PbmTestBus *bus, gboolean answer, GError **error)
{
	PbmTestPolkit *p = g_new0(PbmTestPolkit, 1);

	p->address = g_strdup(bus->address);
	p->node_info = g_dbus_node_info_new_for_xml(polkit_xml, NULL);
	g_assert(p->node_info != NULL);
	p->context = g_main_context_new();
	p->loop = g_main_loop_new(p->context, FALSE);
	g_mutex_init(&p->mutex);
	g_cond_init(&p->cond);
	p->answer = answer;
	p->action_answers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	p->calls = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	p->pending = g_ptr_array_new_with_free_func(polkit_pending_free);

	p->thread = g_thread_new("fake-polkit", polkit_thread, p);
	g_mutex_lock(&p->mutex);
	while (!p->started)
		g_cond_wait(&p->cond, &p->mutex);
	g_mutex_unlock(&p->mutex);
	if (p->error != NULL) {
		g_propagate_prefixed_error(error, g_steal_pointer(&p->error),
		                           "fake polkit authority: ");
		pbm_test_polkit_free(p);
		return NULL;
	}
	return p;
}

void
pbm_test_polkit_free(PbmTestPolkit *p)
{
	if (p == NULL)
		return;
	if (p->thread != NULL) {
		GSource *source = g_idle_source_new();

		g_source_set_callback(source, polkit_quit, p, NULL);
		g_source_attach(source, p->context);
		g_source_unref(source);
		g_thread_join(p->thread);
	}
	g_clear_error(&p->error);
	g_ptr_array_unref(p->pending);
	g_hash_table_unref(p->action_answers);
	g_hash_table_unref(p->calls);
	g_clear_pointer(&p->last_parameters, g_variant_unref);
	g_main_loop_unref(p->loop);
	g_main_context_unref(p->context);
	g_dbus_node_info_unref(p->node_info);
	g_mutex_clear(&p->mutex);
	g_cond_clear(&p->cond);
	g_free(p->address);
	g_free(p);
}

void
pbm_test_polkit_set_answer(PbmTestPolkit *p, gboolean answer)
{
	g_mutex_lock(&p->mutex);
	p->answer = answer;
	g_mutex_unlock(&p->mutex);
}

void
pbm_test_polkit_set_action_answer(PbmTestPolkit *p, const gchar *action_id, gboolean answer)
{
	g_mutex_lock(&p->mutex);
	g_hash_table_insert(p->action_answers, g_strdup(action_id),
	                    GINT_TO_POINTER((answer ? 1 : 0) + 1));
	g_mutex_unlock(&p->mutex);
}

void
pbm_test_polkit_set_delay(PbmTestPolkit *p, guint delay_ms)
{
	g_mutex_lock(&p->mutex);
	p->delay_ms = delay_ms;
	g_mutex_unlock(&p->mutex);
}

guint
pbm_test_polkit_get_calls(PbmTestPolkit *p, const gchar *action_id)
{
	guint calls;

	g_mutex_lock(&p->mutex);
	calls = GPOINTER_TO_UINT(g_hash_table_lookup(p->calls, action_id));
	g_mutex_unlock(&p->mutex);
	return calls;
}

GVariant *
pbm_test_polkit_get_last_parameters(PbmTestPolkit *p)
{
	GVariant *parameters;

	g_mutex_lock(&p->mutex);
	parameters = p->last_parameters != NULL ? g_variant_ref(p->last_parameters) : NULL;
	g_mutex_unlock(&p->mutex);
	return parameters;
}
