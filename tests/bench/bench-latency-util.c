/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bench-latency-util.h"
#include "pbm-test-files.h"

#include <glib/gstdio.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

static gint
compare_gint64(gconstpointer a, gconstpointer b)
{
	gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

	return x < y ? -1 : x > y;
}

static gdouble
rank(GArray *sorted, gdouble percent)
{
	guint i = (guint)ceil(percent / 100.0 * sorted->len);

	return (gdouble)g_array_index(sorted, gint64, MAX(i, 1u) - 1);
}

void
pbm_bench_stats(GArray *samples, PbmBenchStats *stats)
{
	gdouble sum = 0;

	*stats = (PbmBenchStats){ .n = samples->len };
	if (samples->len == 0)
		return;
	g_array_sort(samples, compare_gint64);
	for (guint i = 0; i < samples->len; i++)
		sum += (gdouble)g_array_index(samples, gint64, i);
	stats->min_us = (gdouble)g_array_index(samples, gint64, 0);
	stats->max_us = (gdouble)g_array_index(samples, gint64, samples->len - 1);
	stats->mean_us = sum / samples->len;
	stats->p50_us = rank(samples, 50);
	stats->p99_us = rank(samples, 99);
}

void
pbm_bench_report(const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *line = NULL;

	va_start(args, format);
	line = g_strdup_vprintf(format, args);
	va_end(args);
	fprintf(stderr, "# %s\n", line);
	fflush(stderr);
}

guint
pbm_bench_env_uint(const gchar *name, guint fallback)
{
	const gchar *value = g_getenv(name);
	guint64 n = 0;

	if (value == NULL || !g_ascii_string_to_unsigned(value, 10, 1, G_MAXUINT, &n, NULL))
		return fallback;
	return (guint)n;
}

/* ---- pbmd ---- */

static GVariant *
call(GDBusConnection *client, const gchar *dest, const gchar *path, const gchar *iface,
     const gchar *method, GVariant *args, const GVariantType *reply_type, GError **error)
{
	return g_dbus_connection_call_sync(client, dest, path, iface, method, args, reply_type,
	                                   G_DBUS_CALL_FLAGS_NONE, PBM_BENCH_WAIT_MS, NULL, error);
}

gboolean
pbm_bench_get_state(GDBusConnection *client, gchar **state_out, GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) value = NULL;

	reply = call(client, PBM_DBUS_NAME, PBM_DBUS_PATH, "org.freedesktop.DBus.Properties", "Get",
	             g_variant_new("(ss)", PBM_DBUS_INTERFACE_MANAGER, "State"),
	             G_VARIANT_TYPE("(v)"), error);
	if (reply == NULL)
		return FALSE;
	g_variant_get(reply, "(v)", &value);
	if (!g_variant_is_of_type(value, G_VARIANT_TYPE_STRING)) {
		g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_FAILED,
		            "State is a %s, not a string", g_variant_get_type_string(value));
		return FALSE;
	}
	if (state_out != NULL)
		*state_out = g_variant_dup_string(value, NULL);
	return TRUE;
}

gboolean
pbm_bench_ping_bus(GDBusConnection *client, GError **error)
{
	g_autoptr(GVariant) reply =
	        call(client, "org.freedesktop.DBus", "/org/freedesktop/DBus",
	             "org.freedesktop.DBus.Peer", "Ping", NULL, G_VARIANT_TYPE_UNIT, error);

	return reply != NULL;
}

gboolean
pbm_bench_ping_pbmd(GDBusConnection *client, GError **error)
{
	g_autoptr(GVariant) reply =
	        call(client, PBM_DBUS_NAME, PBM_DBUS_PATH, "org.freedesktop.DBus.Peer", "Ping",
	             NULL, G_VARIANT_TYPE_UNIT, error);

	return reply != NULL;
}

gchar *
pbm_bench_start(PbmBench *bench, const gchar *profile, GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	gchar *path = NULL;

	reply = call(bench->client, PBM_DBUS_NAME, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	             "StartSession",
	             g_variant_new("(s@a{sv})", profile,
	                           g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)),
	             G_VARIANT_TYPE("(o)"), error);
	if (reply == NULL)
		return NULL;
	g_variant_get(reply, "(o)", &path);
	return path;
}

gboolean
pbm_bench_stop(PbmBench *bench, GError **error)
{
	g_autoptr(GVariant) reply =
	        call(bench->client, PBM_DBUS_NAME, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER,
	             "StopSession", NULL, NULL, error);

	return reply != NULL;
}

gboolean
pbm_bench_wait_state(PbmBench *bench, const gchar *want, guint timeout_ms, GError **error)
{
	gint64 until = g_get_monotonic_time() + timeout_ms * (gint64)1000;
	g_autofree gchar *state = NULL;

	for (;;) {
		g_clear_pointer(&state, g_free);
		if (!pbm_bench_get_state(bench->client, &state, error))
			return FALSE;
		if (g_str_equal(state, want))
			return TRUE;
		if (g_get_monotonic_time() > until)
			break;
		g_usleep(1000);
	}
	g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_TIMED_OUT,
	            "pbmd is still %s after %u ms, not %s", state, timeout_ms, want);
	return FALSE;
}

static gboolean
panel_connected(PbmBench *bench, GError **error)
{
	g_autofree gchar *path = g_strdup_printf(PBM_DBUS_PATH_PANEL "/%s", PBM_BENCH_SERIAL);
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) value = NULL;
	g_autoptr(GError) local = NULL;

	reply = call(bench->client, PBM_DBUS_NAME, path, "org.freedesktop.DBus.Properties", "Get",
	             g_variant_new("(ss)", PBM_DBUS_INTERFACE_PANEL, "Connected"),
	             G_VARIANT_TYPE("(v)"), &local);
	if (reply == NULL) {
		/* not there yet */
		if (g_error_matches(local, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT) ||
		    g_error_matches(local, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD))
			return FALSE;
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	g_variant_get(reply, "(v)", &value);
	return g_variant_is_of_type(value, G_VARIANT_TYPE_BOOLEAN) && g_variant_get_boolean(value);
}

static gboolean
wait_ready(PbmBench *bench, GError **error)
{
	gint64 until = g_get_monotonic_time() + PBM_BENCH_WAIT_MS * (gint64)1000;

	if (!pbm_test_daemon_wait_notify(bench->daemon, "READY=1", PBM_BENCH_WAIT_MS, NULL,
	                                 error) ||
	    !pbm_test_daemon_wait_name(bench->daemon, bench->client, PBM_BENCH_WAIT_MS, error))
		return FALSE;
	if (bench->usb == NULL)
		return pbm_bench_wait_state(bench, "idle", PBM_BENCH_WAIT_MS, error);
	for (;;) {
		g_autoptr(GError) local = NULL;

		if (panel_connected(bench, &local))
			break;
		if (local != NULL) {
			g_propagate_error(error, g_steal_pointer(&local));
			return FALSE;
		}
		if (g_get_monotonic_time() > until) {
			g_set_error(error, PBM_TEST_ERROR, PBM_TEST_ERROR_TIMED_OUT,
			            "the emulated panel is not connected after %d ms",
			            PBM_BENCH_WAIT_MS);
			return FALSE;
		}
		g_usleep(10000);
	}
	return pbm_bench_wait_state(bench, "idle", PBM_BENCH_WAIT_MS, error);
}

/* pbmd's own policy, and Peer.Ping on dbus-daemon, which the system bus
 * denies (it allows only the driver's org.freedesktop.DBus, Introspectable
 * and Properties interfaces). */
static gboolean
write_bus_policy(PbmBench *bench, GError **error)
{
	g_autofree gchar *path = g_build_filename(bench->dir, "bus-policy.conf", NULL);
	g_autofree gchar *text = g_strdup_printf(
	        "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration "
	        "1.0//EN\"\n"
	        " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
	        "<busconfig>\n"
	        "  <include>%s/data/org.pbmd.conf</include>\n"
	        "  <policy context=\"default\">\n"
	        "    <allow send_destination=\"org.freedesktop.DBus\"\n"
	        "           send_interface=\"org.freedesktop.DBus.Peer\"/>\n"
	        "  </policy>\n"
	        "</busconfig>\n",
	        PBM_SOURCE_DIR);

	if (!g_file_set_contents(path, text, -1, error))
		return FALSE;
	g_setenv("PBM_BUS_POLICY", path, TRUE);
	return TRUE;
}

PbmBench *
pbm_bench_new(gboolean usb, const gchar *profile_name, const gchar *profile_text, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autofree gchar *config = NULL;
	g_autofree gchar *env_state = NULL;
	g_autofree gchar *state_dir = NULL;
	PbmBench *bench = g_new0(PbmBench, 1);

	bench->device_t0 = G_MAXINT64;
	bench->dir = g_dir_make_tmp("pbm-bench-XXXXXX", &local);
	if (bench->dir == NULL)
		goto fail;
	bench->profile_dir = g_build_filename(bench->dir, "profiles", NULL);
	bench->config = g_build_filename(bench->dir, "pbmd.conf", NULL);
	state_dir = g_build_filename(bench->dir, "state", NULL);
	g_mkdir(bench->profile_dir, 0755);
	g_mkdir(state_dir, 0700);
	config = g_strdup_printf("profile_dirs = [ \"%s\" ];\n"
	                         "devices = [ %s ];\n"
	                         "limits = { min_gap = 0; };\n",
	                         bench->profile_dir, usb ? "\"1209:7062\"" : "");
	if (!g_file_set_contents(bench->config, config, -1, &local) ||
	    !write_bus_policy(bench, &local))
		goto fail;
	if (profile_text != NULL) {
		g_autofree gchar *name = g_strconcat(profile_name, ".conf", NULL);
		g_autofree gchar *path = g_build_filename(bench->profile_dir, name, NULL);
		if (!g_file_set_contents(path, profile_text, -1, &local))
			goto fail;
	}
	if (usb) {
		PbmSimConfig sim;

		bench->usb = pbm_mock_bus_new(&local);
		if (bench->usb == NULL)
			goto fail;
		pbm_sim_config_init(&sim, PBM_BENCH_SERIAL);
		bench->panel =
		        pbm_mock_panel_plug(bench->usb, &sim, PBM_USB_VID, PBM_USB_PID, &local);
		if (bench->panel == NULL)
			goto fail;
	}
	bench->bus = pbm_test_bus_new(&local);
	if (bench->bus == NULL)
		goto fail;
	bench->client = pbm_test_bus_connect(bench->bus, &local);
	if (bench->client == NULL)
		goto fail;
	{
		const gchar *with_sim[] = { "--simulate", "--config", bench->config, NULL };
		const gchar *with_usb[] = { "--config", bench->config, NULL };
		env_state = g_strconcat("STATE_DIRECTORY=", state_dir, NULL);
		const gchar *env[] = { env_state, NULL };

		bench->daemon =
		        pbm_test_daemon_spawn(bench->bus, usb ? with_usb : with_sim, env, &local);
	}
	if (bench->daemon == NULL || !wait_ready(bench, &local))
		goto fail;
	return bench;
fail:
	g_propagate_error(error, g_steal_pointer(&local));
	pbm_bench_free(bench);
	return NULL;
}

void
pbm_bench_free(PbmBench *bench)
{
	if (bench == NULL)
		return;
	/* pbmd before the emulated device: it would hang in an ioctl */
	g_clear_pointer(&bench->daemon, pbm_test_daemon_free);
	g_clear_object(&bench->client);
	g_clear_pointer(&bench->bus, pbm_test_bus_free);
	g_clear_pointer(&bench->panel, pbm_mock_panel_unplug);
	g_clear_pointer(&bench->usb, pbm_mock_bus_free);
	if (bench->dir != NULL)
		pbm_test_rm_rf(bench->dir);
	g_free(bench->dir);
	g_free(bench->profile_dir);
	g_free(bench->config);
	g_free(bench);
}

/* ---- the emulated panel ---- */

void
pbm_bench_read_output(PbmBench *bench, PbmBenchOutput *out)
{
	PbmSim *sim = pbm_mock_panel_lock_sim(bench->panel);
	gint64 now = g_get_monotonic_time();
	PbmStatus status;

	*out = (PbmBenchOutput){ 0 };
	out->changes = pbm_sim_get_output_changes(sim, &out->changed_at);
	out->lit = pbm_sim_is_lit(sim);
	pbm_sim_get_status(sim, &status);
	bench->device_t0 = MIN(bench->device_t0, now - (gint64)pbm_sim_now(sim));
	pbm_mock_panel_unlock_sim(bench->panel);
	out->level[0] = status.level[0];
	out->level[1] = status.level[1];
}

gboolean
pbm_bench_wait_output_change(PbmBench *bench, guint64 after_changes, guint poll_us,
                             guint timeout_ms, PbmBenchOutput *out)
{
	gint64 until = g_get_monotonic_time() + timeout_ms * (gint64)1000;

	for (;;) {
		pbm_bench_read_output(bench, out);
		if (out->changes > after_changes)
			return TRUE;
		if (g_get_monotonic_time() > until)
			return FALSE;
		g_usleep(poll_us);
	}
}

int
pbm_bench_setup(void **state, gboolean usb, const gchar *profile_name, const gchar *profile_text)
{
	g_autoptr(GError) error = NULL;
	PbmBench *bench = pbm_bench_new(usb, profile_name, profile_text, &error);

	if (bench == NULL)
		fail_msg("%s", error->message);
	*state = bench;
	return 0;
}

int
pbm_bench_teardown(void **state)
{
	pbm_bench_free(*state);
	return 0;
}

gdouble
pbm_bench_load_average(void)
{
	gdouble load[3] = { 0 };

	if (getloadavg(load, 3) < 0)
		return -1;
	return load[0];
}
