/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Benchmark: how many Properties.Get calls (org.pbmd1.Manager State) pbmd
 * answers per second with 1, 8 and 64 concurrent clients, against
 * org.freedesktop.DBus.Peer.Ping answered by dbus-daemon itself with the
 * same clients. Each client is its own bus connection driven by its own
 * thread and main context, and keeps DEPTH asynchronous calls in flight
 * (pipelined: a reply sends the next call). Each cell warms up, then counts
 * the replies of a fixed window; the CPU time pbmd, dbus-daemon and this
 * process use in that window says which one is the bottleneck. pbmd runs
 * with a simulated panel. PBM_BENCH_WINDOW_MS sets the window.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench-latency-util.h"

#define DEPTH 4
#define MAX_CLIENTS 64
#define WARMUP_MS 300

typedef enum { KIND_GET, KIND_PING } Kind;

typedef struct {
	GDBusConnection *connection;
	Kind kind;
	gint *running; /* shared: 0 tells every client to stop */
	gint replies;  /* atomic */
	gint errors;   /* atomic */
	gint in_flight;
	GMainContext *context;
	GThread *thread;
	gchar *first_error;
} Client;

static void send_one(Client *c);

static void
on_reply(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Client *c = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);

	c->in_flight--;
	if (reply == NULL) {
		if (g_atomic_int_add(&c->errors, 1) == 0)
			c->first_error = g_strdup(error->message);
		return;
	}
	g_atomic_int_inc(&c->replies);
	if (g_atomic_int_get(c->running))
		send_one(c);
}

static void
send_one(Client *c)
{
	c->in_flight++;
	if (c->kind == KIND_GET)
		g_dbus_connection_call(c->connection, PBM_DBUS_NAME, PBM_DBUS_PATH,
		                       "org.freedesktop.DBus.Properties", "Get",
		                       g_variant_new("(ss)", PBM_DBUS_INTERFACE_MANAGER, "State"),
		                       G_VARIANT_TYPE("(v)"), G_DBUS_CALL_FLAGS_NONE,
		                       PBM_BENCH_WAIT_MS, NULL, on_reply, c);
	else
		g_dbus_connection_call(c->connection, "org.freedesktop.DBus",
		                       "/org/freedesktop/DBus", "org.freedesktop.DBus.Peer", "Ping",
		                       NULL, G_VARIANT_TYPE_UNIT, G_DBUS_CALL_FLAGS_NONE,
		                       PBM_BENCH_WAIT_MS, NULL, on_reply, c);
}

static gpointer
client_thread(gpointer user_data)
{
	Client *c = user_data;

	g_main_context_push_thread_default(c->context);
	for (guint i = 0; i < DEPTH; i++)
		send_one(c);
	while (c->in_flight > 0)
		g_main_context_iteration(c->context, TRUE);
	g_main_context_pop_thread_default(c->context);
	return NULL;
}

/* utime + stime of a process, in seconds. */
static gdouble
cpu_seconds(GPid pid)
{
	g_autofree gchar *path = g_strdup_printf("/proc/%d/stat", (gint)pid);
	g_autofree gchar *text = NULL;
	g_auto(GStrv) fields = NULL;
	const gchar *end;

	if (!g_file_get_contents(path, &text, NULL, NULL) || (end = strrchr(text, ')')) == NULL)
		return -1;
	/* after "pid (comm) ": state is field 3; utime and stime 14 and 15 */
	fields = g_strsplit(end + 2, " ", 0);
	if (g_strv_length(fields) < 13)
		return -1;
	return (g_ascii_strtod(fields[11], NULL) + g_ascii_strtod(fields[12], NULL)) /
	       sysconf(_SC_CLK_TCK);
}

static gdouble
self_cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

typedef struct {
	guint clients;
	Kind kind;
	gdouble per_s;
	gdouble cpu_pbmd, cpu_bus, cpu_self; /* percent of one core */
} Cell;

static guint
total_replies(Client *clients, guint n)
{
	guint sum = 0;

	for (guint i = 0; i < n; i++)
		sum += (guint)g_atomic_int_get(&clients[i].replies);
	return sum;
}

static void
measure(PbmBench *bench, GDBusConnection **connections, guint n, Kind kind, guint window_ms,
        Cell *cell)
{
	g_autofree Client *clients = g_new0(Client, n);
	gint running = 1;
	GPid pbmd = pbm_test_daemon_get_pid(bench->daemon);
	GPid bus = pbm_test_bus_get_pid(bench->bus);
	gdouble p0, b0, s0;
	gint64 t0, t1;
	guint r0, r1, errors = 0;
	const gchar *first_error = NULL;

	for (guint i = 0; i < n; i++) {
		clients[i] = (Client){ .connection = connections[i],
			               .kind = kind,
			               .running = &running,
			               .context = g_main_context_new() };
		clients[i].thread = g_thread_new("bench-client", client_thread, &clients[i]);
	}
	g_usleep(WARMUP_MS * 1000);
	t0 = g_get_monotonic_time();
	r0 = total_replies(clients, n);
	p0 = cpu_seconds(pbmd);
	b0 = cpu_seconds(bus);
	s0 = self_cpu_seconds();
	g_usleep(window_ms * 1000);
	t1 = g_get_monotonic_time();
	r1 = total_replies(clients, n);
	*cell = (Cell){
		.clients = n,
		.kind = kind,
		.per_s = (r1 - r0) / ((t1 - t0) / 1e6),
		.cpu_pbmd = (cpu_seconds(pbmd) - p0) / ((t1 - t0) / 1e6) * 100,
		.cpu_bus = (cpu_seconds(bus) - b0) / ((t1 - t0) / 1e6) * 100,
		.cpu_self = (self_cpu_seconds() - s0) / ((t1 - t0) / 1e6) * 100,
	};
	g_atomic_int_set(&running, 0);
	for (guint i = 0; i < n; i++) {
		g_thread_join(clients[i].thread);
		g_main_context_unref(clients[i].context);
		errors += (guint)clients[i].errors;
		if (first_error == NULL)
			first_error = clients[i].first_error;
	}
	if (errors > 0)
		fail_msg("%u calls failed; the first: %s", errors, first_error);
	for (guint i = 0; i < n; i++)
		g_free(clients[i].first_error);
	if (r1 <= r0)
		fail_msg("no replies in %u ms with %u clients", window_ms, n);
}

static int
setup(void **state)
{
	return pbm_bench_setup(state, FALSE, NULL, NULL);
}

static void
bench_throughput(void **state)
{
	PbmBench *bench = *state;
	static const guint counts[] = { 1, 8, 64 };
	guint window_ms = pbm_bench_env_uint("PBM_BENCH_WINDOW_MS", 2000);
	GDBusConnection *connections[MAX_CLIENTS] = { NULL };
	Cell cells[G_N_ELEMENTS(counts) * 2];
	gdouble load;

	for (guint i = 0; i < MAX_CLIENTS; i++) {
		g_autoptr(GError) error = NULL;
		connections[i] = pbm_test_bus_connect(bench->bus, &error);
		if (connections[i] == NULL)
			fail_msg("client %u: %s", i, error->message);
	}
	for (guint i = 0; i < G_N_ELEMENTS(counts); i++) {
		measure(bench, connections, counts[i], KIND_GET, window_ms, &cells[2 * i]);
		measure(bench, connections, counts[i], KIND_PING, window_ms, &cells[2 * i + 1]);
	}
	for (guint i = 0; i < MAX_CLIENTS; i++) {
		g_dbus_connection_close_sync(connections[i], NULL, NULL);
		g_object_unref(connections[i]);
	}
	load = pbm_bench_load_average();
	pbm_bench_report("D-Bus throughput: each client its own connection and thread, %d "
	                 "asynchronous calls in flight per client, %u ms windows (load average "
	                 "%.2f, %ld cores)",
	                 DEPTH, window_ms, load, sysconf(_SC_NPROCESSORS_ONLN));
	pbm_bench_report("%7s  %-36s %9s %6s %6s %6s", "clients", "call", "calls/s", "pbmd%",
	                 "bus%", "bench%");
	for (guint i = 0; i < G_N_ELEMENTS(cells); i++) {
		const Cell *c = &cells[i];
		pbm_bench_report("%7u  %-36s %9.0f %6.0f %6.0f %6.0f", c->clients,
		                 c->kind == KIND_GET ? "Properties.Get Manager.State (pbmd)"
		                                     : "Peer.Ping (dbus-daemon)",
		                 c->per_s, c->cpu_pbmd, c->cpu_bus, c->cpu_self);
	}
	for (guint i = 0; i < G_N_ELEMENTS(counts); i++)
		pbm_bench_report("%u client%s: Get reaches %.0f%% of the Ping rate", counts[i],
		                 counts[i] == 1 ? "" : "s",
		                 cells[2 * i].per_s / cells[2 * i + 1].per_s * 100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bench_throughput, setup, pbm_bench_teardown),
	};

	return cmocka_run_group_tests_name("bench-latency-throughput", tests, NULL, NULL);
}
