/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Benchmark: how exactly pbmd times a session, seen from the panel. pbmd
 * drives a panel emulated under umockdev with its real USB transport
 * through a short profile of three timed steps with different levels; the
 * firmware model records when its commanded output changes
 * (pbm_sim_get_output_changes()), the benchmark reads it every millisecond
 * and checks each change has the levels of the next step. A step's actual
 * lit time runs from the change that set its levels to the next change;
 * the session's from the light going on to it going off. Printed per step
 * and per session: planned, mean actual, mean and max error in ms. The
 * reference is the planned durations of the profile. PBM_BENCH_SESSIONS
 * sets the number of sessions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "bench-latency-util.h"

typedef struct {
	const gchar *name;
	guint duration_s;
	guint red, nir; /* percent */
} Step;

static const Step steps[] = {
	{ "red", 1, 20, 0 },
	{ "red-and-nir", 2, 40, 20 },
	{ "nir", 1, 0, 40 },
};
#define N_STEPS G_N_ELEMENTS(steps)

static gchar *
profile_text(void)
{
	GString *s = g_string_new("name = \"bench-timing\";\n"
	                          "title = \"Benchmark: three short steps\";\n"
	                          "distance_cm = 15.0;\n"
	                          "steps = (\n");

	for (guint i = 0; i < N_STEPS; i++)
		g_string_append_printf(s,
		                       "  { name = \"%s\"; duration = %u; percent_red = %u; "
		                       "percent_nir = %u; }%s\n",
		                       steps[i].name, steps[i].duration_s, steps[i].red,
		                       steps[i].nir, i + 1 < N_STEPS ? "," : "");
	g_string_append(s, ");\n");
	return g_string_free(s, FALSE);
}

static int
setup(void **state)
{
	g_autofree gchar *text = profile_text();

	return pbm_bench_setup(state, TRUE, "bench-timing", text);
}

static gchar *
read_outcome(PbmBench *bench, const gchar *path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) value = NULL;
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	        bench->client, PBM_DBUS_NAME, path, "org.freedesktop.DBus.Properties", "Get",
	        g_variant_new("(ss)", PBM_DBUS_INTERFACE_SESSION, "Outcome"), G_VARIANT_TYPE("(v)"),
	        G_DBUS_CALL_FLAGS_NONE, PBM_BENCH_WAIT_MS, NULL, &error);

	if (reply == NULL)
		fail_msg("Outcome of %s: %s", path, error->message);
	g_variant_get(reply, "(v)", &value);
	return g_variant_dup_string(value, NULL);
}

/* The outcome, once pbmd shows it: only after the history has it, which
 * may be a moment after the manager is idle again. */
static gchar *
session_outcome(PbmBench *bench, const gchar *path)
{
	gint64 until = g_get_monotonic_time() + PBM_BENCH_WAIT_MS * (gint64)1000;
	gchar *outcome = read_outcome(bench, path);

	while (outcome[0] == '\0' && g_get_monotonic_time() < until) {
		g_free(outcome);
		g_usleep(5000);
		outcome = read_outcome(bench, path);
	}
	return outcome;
}

/* Runs one session; times[k] is the device time at which step k's levels
 * were set, times[N_STEPS] when the light went off. */
static void
run_session(PbmBench *bench, guint session, guint64 *times)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *outcome = NULL;
	PbmBenchOutput out;
	guint64 before;

	pbm_bench_read_output(bench, &out);
	if (out.lit)
		fail_msg("session %u: the panel is lit before StartSession", session);
	before = out.changes;
	path = pbm_bench_start(bench, "bench-timing", &error);
	if (path == NULL)
		fail_msg("session %u: StartSession: %s", session, error->message);
	for (guint k = 0; k <= N_STEPS; k++) {
		guint red = k < N_STEPS ? steps[k].red * 10 : 0;
		guint nir = k < N_STEPS ? steps[k].nir * 10 : 0;
		guint wait_ms = PBM_BENCH_WAIT_MS + (k > 0 ? steps[k - 1].duration_s * 1000 : 0);

		if (!pbm_bench_wait_output_change(bench, before, 1000, wait_ms, &out))
			fail_msg("session %u: no output change %u within %u ms", session, k,
			         wait_ms);
		if (out.changes != before + 1)
			fail_msg("session %u: the output changed %" G_GUINT64_FORMAT
			         " times between two looks; cannot time step %u",
			         session, out.changes - before, k);
		if (out.level[0] != red || out.level[1] != nir)
			fail_msg("session %u, change %u: levels %u/%u permille, expected %u/%u",
			         session, k, out.level[0], out.level[1], red, nir);
		times[k] = out.changed_at;
		before = out.changes;
	}
	if (!pbm_bench_wait_state(bench, "idle", PBM_BENCH_WAIT_MS, &error))
		fail_msg("session %u: %s", session, error->message);
	outcome = session_outcome(bench, path);
	if (!g_str_equal(outcome, "completed"))
		fail_msg("session %u ended %s, not completed", session, outcome);
}

typedef struct {
	gdouble sum_actual_ms, sum_error_ms, max_abs_error_ms, max_error_ms, min_error_ms;
} Acc;

static void
acc_add(Acc *a, gdouble planned_ms, gdouble actual_ms)
{
	gdouble e = actual_ms - planned_ms;

	a->sum_actual_ms += actual_ms;
	a->sum_error_ms += e;
	a->max_abs_error_ms = MAX(a->max_abs_error_ms, fabs(e));
	a->max_error_ms = MAX(a->max_error_ms, e);
	a->min_error_ms = MIN(a->min_error_ms, e);
}

static void
print_acc(const gchar *what, guint planned_ms, const Acc *a, guint n)
{
	pbm_bench_report("%-16s %8u %10.2f %9.2f %9.2f %9.2f %9.2f", what, planned_ms,
	                 a->sum_actual_ms / n, a->sum_error_ms / n, a->min_error_ms,
	                 a->max_error_ms, a->max_abs_error_ms);
}

static void
bench_step_timing(void **state)
{
	PbmBench *bench = *state;
	guint n = pbm_bench_env_uint("PBM_BENCH_SESSIONS", 15);
	Acc step_acc[N_STEPS], session_acc;
	guint planned_total_ms = 0;
	gdouble load;

	for (guint k = 0; k < N_STEPS; k++) {
		step_acc[k] = (Acc){ .min_error_ms = G_MAXDOUBLE, .max_error_ms = -G_MAXDOUBLE };
		planned_total_ms += steps[k].duration_s * 1000;
	}
	session_acc = (Acc){ .min_error_ms = G_MAXDOUBLE, .max_error_ms = -G_MAXDOUBLE };
	for (guint i = 0; i < n; i++) {
		guint64 times[N_STEPS + 1];

		run_session(bench, i, times);
		for (guint k = 0; k < N_STEPS; k++)
			acc_add(&step_acc[k], steps[k].duration_s * 1000.0,
			        (times[k + 1] - times[k]) / 1000.0);
		acc_add(&session_acc, planned_total_ms, (times[N_STEPS] - times[0]) / 1000.0);
	}
	load = pbm_bench_load_average();
	pbm_bench_report("Lit time planned vs actual at the emulated USB panel, %u sessions of "
	                 "%u steps (load average %.2f); error = actual - planned",
	                 n, (guint)N_STEPS, load);
	pbm_bench_report("%-16s %8s %10s %9s %9s %9s %9s", "ms", "planned", "mean", "mean err",
	                 "min err", "max err", "max |err|");
	for (guint k = 0; k < N_STEPS; k++) {
		g_autofree gchar *label = g_strdup_printf("step %u %s", k + 1, steps[k].name);
		print_acc(label, steps[k].duration_s * 1000, &step_acc[k], n);
	}
	print_acc("session", planned_total_ms, &session_acc, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bench_step_timing, setup, pbm_bench_teardown),
	};

	return cmocka_run_group_tests_name("bench-latency-timing", tests, NULL, NULL);
}
