/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What the private bus and a daemon share: a spawned process with its
 * output relayed and its notify socket read by a thread, reaping, temp
 * dirs and the harness's error domain. See pbm-test-process.h.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "pbm-test-process.h"

/* systemd reads at most this much of a notification (NOTIFY_BUFFER_MAX). */
#define NOTIFY_BUFFER_MAX 4096
/* A line longer than this is relayed in pieces. */
#define RELAY_LINE_MAX 8192

/* The name is the error domain's string at run time; clang-format would
 * read it as a subtraction and space it out. */
/* clang-format off */
G_DEFINE_QUARK(pbm-test-error-quark, pbm_test_error)
/* clang-format on */

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

void
pbm_test_note(const gchar *label, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *text = NULL;

	va_start(args, format);
	text = g_strdup_vprintf(format, args);
	va_end(args);
	emit(label, text, strlen(text));
}

gchar *
pbm_test_describe_status(gint status)
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
gchar *
pbm_test_make_temp_dir(const gchar *template, GError **error)
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

/* ---- a spawned process: relay thread, notify socket, reaping ---- */

static void
notify_entry_free(gpointer data)
{
	PbmTestNotifyEntry *entry = data;

	g_free(entry->line);
	g_free(entry);
}

void
pbm_test_process_init(PbmTestProcess *p, const gchar *argv0)
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
relay_flush(PbmTestProcess *p, GString *partial)
{
	if (partial->len > 0)
		emit(p->label, partial->str, partial->len);
	g_string_truncate(partial, 0);
}

/* Reads what is there (non-blocking) and relays the complete lines. */
static void
relay_read(PbmTestProcess *p, gint *fd, GString *partial)
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
void
pbm_test_process_notify_drain_locked(PbmTestProcess *p)
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
			pbm_test_note(
			        p->label,
			        "notify: %u fds passed and closed (systemd closes a BARRIER=1 fd)",
			        n_fds);
		if ((msg.msg_flags & MSG_TRUNC) || n > NOTIFY_BUFFER_MAX) {
			pbm_test_note(
			        p->label,
			        "notify: datagram of %zd bytes ignored (systemd ignores over %d)",
			        n, NOTIFY_BUFFER_MAX);
			continue;
		}
		if (sender != p->pid)
			pbm_test_note(
			        p->label,
			        "notify: sent by pid %d, not the main pid %d (systemd's default "
			        "NotifyAccess=main would ignore it)",
			        (gint)sender, (gint)p->pid);
		buf[n] = '\0';
		g_auto(GStrv) lines = g_strsplit(buf, "\n", -1);
		for (guint i = 0; lines[i] != NULL; i++) {
			PbmTestNotifyEntry *entry;

			if (lines[i][0] == '\0')
				continue;
			pbm_test_note(p->label, "notify: %s", lines[i]);
			entry = g_new0(PbmTestNotifyEntry, 1);
			entry->line = g_strdup(lines[i]);
			g_ptr_array_add(p->notify_log, entry);
		}
		g_cond_broadcast(&p->cond);
	}
}

static gpointer
relay_thread(gpointer data)
{
	PbmTestProcess *p = data;
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
			pbm_test_process_notify_drain_locked(p);
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
gboolean
pbm_test_process_spawn(PbmTestProcess *p, const gchar *const *argv, gchar **envp, gint map_fd,
                       GError **error)
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
gboolean
pbm_test_process_try_reap(PbmTestProcess *p)
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
	g_autofree gchar *what = pbm_test_describe_status(status);
	pbm_test_note(p->label, "pid %d %s", (gint)p->pid, what);
	return TRUE;
}

gboolean
pbm_test_process_wait(PbmTestProcess *p, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	gulong nap = 1000;

	while (!pbm_test_process_try_reap(p)) {
		if (g_get_monotonic_time() >= deadline)
			return FALSE;
		g_usleep(nap);
		nap = MIN(nap * 2, 10000);
	}
	return TRUE;
}

void
pbm_test_process_kill_and_reap(PbmTestProcess *p)
{
	if (pbm_test_process_try_reap(p))
		return;
	kill(p->pid, SIGKILL);
	/* SIGKILL cannot be ignored: a blocking wait is bounded. */
	while (!pbm_test_process_try_reap(p))
		g_usleep(1000);
}

void
pbm_test_process_clear(PbmTestProcess *p)
{
	if (p->pid != 0) {
		pbm_test_process_kill_and_reap(p);
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
