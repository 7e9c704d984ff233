/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * /proc readers for the cost benchmarks. See bench-cost-common.h.
 */
#include "bench-cost-common.h"

#include <sqlite3.h>

#include "pbm-history.h"
#include "pbm-test-files.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static void
thread_free(gpointer data)
{
	BenchCostThread *t = data;

	g_free(t->comm);
	g_free(t);
}

/* utime + stime (fields 14 and 15) of a /proc stat file. */
static gboolean
read_stat_ticks(const gchar *path, guint64 *ticks, GError **error)
{
	g_autofree gchar *text = NULL;
	g_auto(GStrv) fields = NULL;
	const gchar *end;

	if (!g_file_get_contents(path, &text, NULL, error))
		return FALSE;
	/* comm may hold spaces and parentheses: the fields start after the last ')' */
	end = strrchr(text, ')');
	if (end == NULL) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: no ')'", path);
		return FALSE;
	}
	fields = g_strsplit(end + 2, " ", -1);
	/* fields[0] is field 3 (state): utime is field 14, stime 15 */
	if (g_strv_length(fields) < 13) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: too few fields", path);
		return FALSE;
	}
	*ticks = g_ascii_strtoull(fields[11], NULL, 10) + g_ascii_strtoull(fields[12], NULL, 10);
	return TRUE;
}

/* The value of "key:" in a /proc status-like file, 0 when absent. */
static guint64
status_value(const gchar *text, const gchar *key)
{
	gsize len = strlen(key);

	for (const gchar *line = text; line != NULL && *line != '\0';) {
		const gchar *nl = strchr(line, '\n');

		if (strncmp(line, key, len) == 0 && line[len] == ':')
			return g_ascii_strtoull(line + len + 1, NULL, 10);
		line = nl != NULL ? nl + 1 : NULL;
	}
	return 0;
}

static gint64
process_cpu_ns(GPid pid)
{
	clockid_t id;
	struct timespec ts;

	if (clock_getcpuclockid(pid, &id) != 0 || clock_gettime(id, &ts) != 0)
		return -1;
	return ts.tv_sec * G_GINT64_CONSTANT(1000000000) + ts.tv_nsec;
}

BenchCostSample *
bench_cost_sample_take(GPid pid, GError **error)
{
	g_autoptr(BenchCostSample) s = g_new0(BenchCostSample, 1);
	g_autofree gchar *stat = g_strdup_printf("/proc/%d/stat", (gint)pid);
	g_autofree gchar *task_dir = g_strdup_printf("/proc/%d/task", (gint)pid);
	g_autoptr(GDir) dir = NULL;
	const gchar *name;

	s->pid = pid;
	s->threads = g_ptr_array_new_with_free_func(thread_free);
	s->at_us = g_get_monotonic_time();
	if (!read_stat_ticks(stat, &s->cpu_ticks, error))
		return NULL;
	s->cpu_ns = process_cpu_ns(pid);
	dir = g_dir_open(task_dir, 0, error);
	if (dir == NULL)
		return NULL;
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *status_path = g_build_filename(task_dir, name, "status", NULL);
		g_autofree gchar *stat_path = g_build_filename(task_dir, name, "stat", NULL);
		g_autofree gchar *comm_path = g_build_filename(task_dir, name, "comm", NULL);
		g_autofree gchar *status = NULL;
		g_autofree gchar *comm = NULL;
		BenchCostThread *t;
		guint64 ticks = 0;

		/* a thread that ends while we read is simply not in the sample */
		if (!g_file_get_contents(status_path, &status, NULL, NULL) ||
		    !g_file_get_contents(comm_path, &comm, NULL, NULL) ||
		    !read_stat_ticks(stat_path, &ticks, NULL))
			continue;
		t = g_new0(BenchCostThread, 1);
		t->tid = atoi(name);
		t->comm = g_strdup(g_strstrip(comm));
		t->switches = status_value(status, "voluntary_ctxt_switches") +
		              status_value(status, "nonvoluntary_ctxt_switches");
		t->cpu_ticks = ticks;
		g_ptr_array_add(s->threads, t);
	}
	if (s->threads->len == 0) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no threads", task_dir);
		return NULL;
	}
	return g_steal_pointer(&s);
}

void
bench_cost_sample_free(BenchCostSample *s)
{
	if (s == NULL)
		return;
	g_ptr_array_unref(s->threads);
	g_free(s);
}

static const BenchCostThread *
find_thread(const BenchCostSample *s, gint tid)
{
	for (guint i = 0; i < s->threads->len; i++) {
		const BenchCostThread *t = g_ptr_array_index(s->threads, i);
		if (t->tid == tid)
			return t;
	}
	return NULL;
}

static gdouble
ticks_to_ms(guint64 ticks)
{
	static glong hz;

	if (hz <= 0)
		hz = sysconf(_SC_CLK_TCK);
	return hz > 0 ? ticks * 1000.0 / hz : 0.0;
}

void
bench_cost_delta(const gchar *label, const BenchCostSample *a, const BenchCostSample *b,
                 BenchCostDelta *out)
{
	BenchCostDelta d = { 0 };

	d.seconds = (b->at_us - a->at_us) / 1e6;
	for (guint i = 0; i < b->threads->len; i++) {
		const BenchCostThread *tb = g_ptr_array_index(b->threads, i);
		const BenchCostThread *ta = find_thread(a, tb->tid);
		guint64 sw = tb->switches - (ta != NULL ? ta->switches : 0);
		guint64 ticks = tb->cpu_ticks - (ta != NULL ? ta->cpu_ticks : 0);

		d.switches += sw;
		printf("# %-28s thread %-7d %-16s %6" G_GUINT64_FORMAT
		       " switches %8.2f/s  cpu %7.1f ms%s\n",
		       label, tb->tid, tb->comm, sw, sw / d.seconds, ticks_to_ms(ticks),
		       ta == NULL ? "  (new in the window)" : "");
	}
	for (guint i = 0; i < a->threads->len; i++) {
		const BenchCostThread *ta = g_ptr_array_index(a->threads, i);
		if (find_thread(b, ta->tid) == NULL) {
			d.threads_gone++;
			printf("# %-28s thread %-7d %-16s ended in the window (its switches are "
			       "not counted)\n",
			       label, ta->tid, ta->comm);
		}
	}
	d.switches_per_s = d.switches / d.seconds;
	d.cpu_ms = ticks_to_ms(b->cpu_ticks - a->cpu_ticks);
	d.cpu_ms_per_s = d.cpu_ms / d.seconds;
	d.cpu_clock_ms = a->cpu_ns >= 0 && b->cpu_ns >= 0 ? (b->cpu_ns - a->cpu_ns) / 1e6 : -1.0;
	fflush(stdout);
	*out = d;
}

gboolean
bench_cost_memory_read(GPid pid, BenchCostMemory *out, GError **error)
{
	g_autofree gchar *status_path = g_strdup_printf("/proc/%d/status", (gint)pid);
	g_autofree gchar *rollup_path = g_strdup_printf("/proc/%d/smaps_rollup", (gint)pid);
	g_autofree gchar *status = NULL;
	g_autofree gchar *rollup = NULL;

	if (!g_file_get_contents(status_path, &status, NULL, error) ||
	    !g_file_get_contents(rollup_path, &rollup, NULL, error))
		return FALSE;
	out->rss_kb = status_value(status, "VmRSS");
	out->hwm_kb = status_value(status, "VmHWM");
	out->threads = (guint)status_value(status, "Threads");
	/* the rollup's first line is the address range, then "Rss:", "Pss:" ... */
	{
		const gchar *body = strchr(rollup, '\n');
		out->pss_kb = status_value(body != NULL ? body + 1 : rollup, "Pss");
		out->pss_anon_kb = status_value(body != NULL ? body + 1 : rollup, "Pss_Anon");
	}
	if (out->rss_kb == 0 || out->pss_kb == 0) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
		            "no VmRSS or Pss for pid %d (a kernel thread, or gone)", (gint)pid);
		return FALSE;
	}
	return TRUE;
}

static gint
compare_doubles(gconstpointer a, gconstpointer b)
{
	gdouble x = *(const gdouble *)a, y = *(const gdouble *)b;

	return x < y ? -1 : x > y ? 1 : 0;
}

void
bench_cost_stats(GArray *values, gdouble *min, gdouble *median, gdouble *max)
{
	guint n = values->len;

	*min = *median = *max = 0.0;
	if (n == 0)
		return;
	g_array_sort(values, compare_doubles);
	*min = g_array_index(values, gdouble, 0);
	*max = g_array_index(values, gdouble, n - 1);
	*median = n % 2 == 1 ? g_array_index(values, gdouble, n / 2)
	                     : (g_array_index(values, gdouble, n / 2 - 1) +
	                        g_array_index(values, gdouble, n / 2)) /
	                               2.0;
}

guint
bench_cost_env_uint(const gchar *name, guint fallback)
{
	const gchar *value = g_getenv(name);
	guint64 n;

	if (value == NULL || !g_ascii_string_to_unsigned(value, 10, 1, G_MAXUINT, &n, NULL))
		return fallback;
	return (guint)n;
}

/* ---- pbmd and the floor on the private bus ---- */

gchar *
bench_cost_write_config(const gchar *dir, const gchar *profile_dir, const gchar *extra)
{
	g_autofree gchar *path = g_build_filename(dir, "pbmd.conf", NULL);
	g_autofree gchar *text = g_strdup_printf("profile_dirs = [ \"%s\" ];\n"
	                                         "devices = [ \"1209:7062\" ];\n"
	                                         "limits = { min_gap = 0; };\n"
	                                         "%s",
	                                         profile_dir, extra != NULL ? extra : "");

	if (!g_file_set_contents(path, text, -1, NULL))
		return NULL;
	return g_steal_pointer(&path);
}

static PbmTestDaemon *
wait_ready(PbmTestDaemon *daemon, GDBusConnection *client, gint64 started, gint64 *ready_us,
           GError **error)
{
	if (daemon == NULL)
		return NULL;
	if (!pbm_test_daemon_wait_notify(daemon, "READY=1", BENCH_COST_WAIT_MS, NULL, error)) {
		pbm_test_daemon_free(daemon);
		return NULL;
	}
	if (ready_us != NULL)
		*ready_us = g_get_monotonic_time() - started;
	if (!pbm_test_daemon_wait_name(daemon, client, BENCH_COST_WAIT_MS, error)) {
		pbm_test_daemon_free(daemon);
		return NULL;
	}
	return daemon;
}

PbmTestDaemon *
bench_cost_spawn_pbmd(PbmTestBus *bus, GDBusConnection *client, const gchar *config,
                      const gchar *state_dir, const gchar *const *extra_args, gboolean no_preload,
                      gint64 *ready_us, GError **error)
{
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	g_autoptr(GPtrArray) env = g_ptr_array_new_with_free_func(g_free);
	gint64 started;

	g_ptr_array_add(args, (gpointer) "--config");
	g_ptr_array_add(args, (gpointer)config);
	for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
		g_ptr_array_add(args, (gpointer)extra_args[i]);
	g_ptr_array_add(args, NULL);
	if (state_dir != NULL)
		g_ptr_array_add(env, g_strconcat("STATE_DIRECTORY=", state_dir, NULL));
	if (no_preload) {
		g_ptr_array_add(env, g_strdup("LD_PRELOAD"));
		g_ptr_array_add(env, g_strdup("UMOCKDEV_DIR"));
	}
	g_ptr_array_add(env, NULL);
	started = g_get_monotonic_time();
	return wait_ready(pbm_test_daemon_spawn(bus, (const gchar *const *)args->pdata,
	                                        (const gchar *const *)env->pdata, error),
	                  client, started, ready_us, error);
}

PbmTestDaemon *
bench_cost_spawn_floor(PbmTestBus *bus, GDBusConnection *client, gint64 *ready_us, GError **error)
{
	const gchar *floor = g_getenv("BENCH_COST_FLOOR");
	const gchar *argv[] = { floor, "--address", pbm_test_bus_get_address(bus), NULL };
	const gchar *env[] = { "LD_PRELOAD", "UMOCKDEV_DIR", NULL };
	gint64 started;

	if (floor == NULL) {
		g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_NOT_FOUND,
		            "BENCH_COST_FLOOR is not set (run under meson test --benchmark)");
		return NULL;
	}
	started = g_get_monotonic_time();
	return wait_ready(pbm_test_daemon_spawn_command(bus, argv, env, error), client, started,
	                  ready_us, error);
}

gboolean
bench_cost_stop(PbmTestDaemon *daemon)
{
	gint status = pbm_test_daemon_signal_and_wait(daemon, SIGTERM, BENCH_COST_WAIT_MS);

	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- a long history ---- */

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sqlite3_stmt, sqlite3_finalize)

static gboolean
sqlite_failed(sqlite3 *db, const gchar *path, GError **error)
{
	g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", path, sqlite3_errmsg(db));
	return FALSE;
}

static gboolean
insert_rows(sqlite3 *db, const gchar *path, guint rows, GError **error)
{
	static const gchar *const profiles[] = { "back-pain", "joint", "skin", "recovery",
		                                 "inflammation" };
	const gint64 period = G_GINT64_CONSTANT(8) * 3600 * G_USEC_PER_SEC;
	const gint64 length = G_GINT64_CONSTANT(600) * G_USEC_PER_SEC;
	gint64 now = g_get_real_time();
	g_autoptr(sqlite3_stmt) session = NULL;
	g_autoptr(sqlite3_stmt) panel = NULL;

	if (sqlite3_prepare_v2(db,
	                       "INSERT INTO sessions (profile, owner_uid, started_at, "
	                       "planned_duration_us, planned_dose_red, planned_dose_nir, "
	                       "distance_cm, ended_at, outcome, dose_red, dose_nir, lit_us, "
	                       "max_temperature_c, faults, checkpoint_at) VALUES "
	                       "(?, 1000, ?, ?, 9.0, 14.0, 15.0, ?, 'completed', 9.0, 14.0, "
	                       "?, 38.5, '', ?)",
	                       -1, &session, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "INSERT INTO session_panels (session_id, position, serial) "
	                       "VALUES (?, 0, 'SIM0001')",
	                       -1, &panel, NULL) != SQLITE_OK)
		return sqlite_failed(db, path, error);
	for (guint i = 0; i < rows; i++) {
		gint64 started = now - (gint64)(rows - i) * period;

		sqlite3_bind_text(session, 1, profiles[i % G_N_ELEMENTS(profiles)], -1,
		                  SQLITE_STATIC);
		sqlite3_bind_int64(session, 2, started);
		sqlite3_bind_int64(session, 3, length);
		sqlite3_bind_int64(session, 4, started + length);
		sqlite3_bind_int64(session, 5, length);
		sqlite3_bind_int64(session, 6, started + length - G_USEC_PER_SEC);
		if (sqlite3_step(session) != SQLITE_DONE)
			return sqlite_failed(db, path, error);
		sqlite3_reset(session);
		sqlite3_bind_int64(panel, 1, sqlite3_last_insert_rowid(db));
		if (sqlite3_step(panel) != SQLITE_DONE)
			return sqlite_failed(db, path, error);
		sqlite3_reset(panel);
	}
	return TRUE;
}

gboolean
bench_cost_write_history(const gchar *state, guint rows, GError **error)
{
	g_autofree gchar *path = g_build_filename(state, "history.db", NULL);
	PbmHistory *history;
	sqlite3 *db = NULL;
	gboolean ok;

	if (g_mkdir_with_parents(state, 0700) != 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", state,
		            g_strerror(errno));
		return FALSE;
	}
	history = pbm_history_open(path, error);
	if (history == NULL)
		return FALSE;
	pbm_history_free(history);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		ok = sqlite_failed(db, path, error);
		sqlite3_close(db);
		return ok;
	}
	ok = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK
	             ? insert_rows(db, path, rows, error)
	             : sqlite_failed(db, path, error);
	if (ok && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		ok = sqlite_failed(db, path, error);
	sqlite3_close(db);
	return ok;
}

static void
row_free(gpointer data)
{
	/* the label is the row's first member */
	g_free(*(gchar **)data);
	g_free(data);
}

GPtrArray *
bench_cost_rows_new(void)
{
	return g_ptr_array_new_with_free_func(row_free);
}

void
bench_cost_base_setup(BenchCostBase *base, const gchar *dir_template, gboolean polkit)
{
	g_autoptr(GError) error = NULL;

	*base = (BenchCostBase){ 0 };
	base->dir = g_dir_make_tmp(dir_template, &error);
	assert_non_null(base->dir);
	base->bus = pbm_test_bus_new(&error);
	if (base->bus == NULL)
		fail_msg("%s", error->message);
	if (polkit) {
		base->polkit = pbm_test_polkit_new(base->bus, TRUE, &error);
		if (base->polkit == NULL)
			fail_msg("%s", error->message);
	}
	base->client = pbm_test_bus_connect(base->bus, &error);
	if (base->client == NULL)
		fail_msg("%s", error->message);
}

void
bench_cost_base_teardown(BenchCostBase *base)
{
	g_clear_pointer(&base->daemon, pbm_test_daemon_free);
	g_clear_object(&base->client);
	g_clear_pointer(&base->polkit, pbm_test_polkit_free);
	g_clear_pointer(&base->bus, pbm_test_bus_free);
	if (base->dir != NULL)
		pbm_test_rm_rf(base->dir);
	g_clear_pointer(&base->dir, g_free);
}

void
bench_cost_base_stop_daemon(BenchCostBase *base)
{
	if (!bench_cost_stop(base->daemon))
		print_message("# note: the process did not exit cleanly on SIGTERM\n");
	g_clear_pointer(&base->daemon, pbm_test_daemon_free);
}

GVariant *
bench_cost_manager_call(BenchCostBase *base, const gchar *method, GVariant *params,
                        const GVariantType *reply_type)
{
	g_autoptr(GError) error = NULL;
	GVariant *reply = g_dbus_connection_call_sync(
	        base->client, PBM_DBUS_NAME, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, method,
	        params, reply_type, G_DBUS_CALL_FLAGS_NONE, BENCH_COST_WAIT_MS, NULL, &error);

	if (reply == NULL)
		fail_msg("%s: %s", method, error->message);
	return reply;
}

gchar *
bench_cost_manager_state(BenchCostBase *base)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	        base->client, PBM_DBUS_NAME, PBM_DBUS_PATH, "org.freedesktop.DBus.Properties",
	        "Get", g_variant_new("(ss)", PBM_DBUS_INTERFACE_MANAGER, "State"),
	        G_VARIANT_TYPE("(v)"), G_DBUS_CALL_FLAGS_NONE, BENCH_COST_WAIT_MS, NULL, &error);
	g_autoptr(GVariant) v = NULL;

	if (reply == NULL)
		fail_msg("State: %s", error->message);
	g_variant_get(reply, "(v)", &v);
	return g_variant_dup_string(v, NULL);
}
