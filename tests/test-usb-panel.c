/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The real `usb` transport, in a separately spawned process (panel-driver),
 * against panels emulated at the usbdevfs level by umockdev with the
 * firmware model answering: enumeration, probe, commands, telemetry,
 * hotplug, STALL, timeout, unplug mid-transfer, bad devices, two panels,
 * plug/unplug cycles, and the idle cost of a process with a panel attached.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "pbm-mock-panel.h"

#define EXPECT_TIMEOUT_MS 5000

typedef struct {
	GPid pid;
	gint in_fd;
	gint out_fd;
	GString *partial;
	GPtrArray *backlog; /* complete lines not yet expected */
} Child;

typedef struct {
	PbmMockBus *bus;
	Child *child;
} Fixture;

static PbmSimConfig
config_for(const gchar *serial)
{
	PbmSimConfig config;

	pbm_sim_config_init(&config, serial);
	return config;
}

static PbmMockPanel *
plug(Fixture *f, const gchar *serial)
{
	PbmSimConfig config = config_for(serial);
	g_autoptr(GError) error = NULL;
	PbmMockPanel *panel =
	        pbm_mock_panel_plug(f->bus, &config, PBM_USB_VID, PBM_USB_PID, &error);

	if (panel == NULL)
		fail_msg("plug %s: %s", serial, error->message);
	return panel;
}

/* ---- the child process ---- */

static Child *
child_spawn(const gchar *const *extra_env_unset)
{
	const gchar *driver = g_getenv("PBM_PANEL_DRIVER");
	const gchar *argv[] = { driver, NULL };
	g_auto(GStrv) envp = g_get_environ();
	g_autoptr(GError) error = NULL;
	Child *c = g_new0(Child, 1);

	assert_non_null(driver);
	for (guint i = 0; extra_env_unset != NULL && extra_env_unset[i] != NULL; i++)
		envp = g_environ_unsetenv(envp, extra_env_unset[i]);
	if (!g_spawn_async_with_pipes(NULL, (gchar **)argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
	                              NULL, &c->pid, &c->in_fd, &c->out_fd, NULL, &error))
		fail_msg("spawning %s: %s", driver, error->message);
	c->partial = g_string_new(NULL);
	c->backlog = g_ptr_array_new_with_free_func(g_free);
	return c;
}

static void child_send(Child *c, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

static void
child_send(Child *c, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *line = NULL;

	va_start(args, format);
	line = g_strdup_vprintf(format, args);
	va_end(args);
	print_message("# > %s\n", line);
	g_autofree gchar *with_nl = g_strconcat(line, "\n", NULL);
	assert_int_equal(write(c->in_fd, with_nl, strlen(with_nl)), (ssize_t)strlen(with_nl));
}

/* Reads whatever the child wrote within timeout_ms into the backlog. */
static gboolean
child_read(Child *c, gint timeout_ms)
{
	struct pollfd pfd = { .fd = c->out_fd, .events = POLLIN };
	gchar buf[4096];
	ssize_t n;
	gchar *nl;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return FALSE;
	n = read(c->out_fd, buf, sizeof(buf));
	if (n <= 0)
		return FALSE;
	g_string_append_len(c->partial, buf, n);
	while ((nl = strchr(c->partial->str, '\n')) != NULL) {
		gchar *line = g_strndup(c->partial->str, nl - c->partial->str);
		print_message("# < %s\n", line);
		g_ptr_array_add(c->backlog, line);
		g_string_erase(c->partial, 0, nl - c->partial->str + 1);
	}
	return TRUE;
}

/* Waits for a line starting with prefix; returns it (owned). */
static gchar *
child_expect(Child *c, const gchar *prefix)
{
	gint64 until = g_get_monotonic_time() + EXPECT_TIMEOUT_MS * 1000;

	for (;;) {
		for (guint i = 0; i < c->backlog->len; i++) {
			const gchar *line = g_ptr_array_index(c->backlog, i);
			if (g_str_has_prefix(line, prefix))
				return g_ptr_array_steal_index(c->backlog, i);
		}
		gint64 left = until - g_get_monotonic_time();
		if (left <= 0)
			break;
		child_read(c, (gint)(left / 1000) + 1);
	}
	fail_msg("the driver never said '%s'", prefix);
	return NULL;
}

static gint
child_wait(Child *c, gint timeout_ms)
{
	gint status = 0;

	for (gint waited = 0; waited < timeout_ms; waited += 10) {
		if (waitpid(c->pid, &status, WNOHANG) == c->pid)
			return status;
		g_usleep(10000);
	}
	kill(c->pid, SIGKILL);
	waitpid(c->pid, &status, 0);
	fail_msg("the driver did not exit in %d ms", timeout_ms);
	return status;
}

static void
child_quit(Child *c)
{
	gint status;

	child_send(c, "quit");
	status = child_wait(c, 10000);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(c->in_fd);
	close(c->out_fd);
	g_string_free(c->partial, TRUE);
	g_ptr_array_unref(c->backlog);
	g_spawn_close_pid(c->pid);
	g_free(c);
}

/* Switches the panel off through the driver and waits for the ok. */
static void
child_off(Child *c, const gchar *serial)
{
	g_autofree gchar *ok = g_strdup_printf("ok off %s", serial);

	child_send(c, "off %s", serial);
	g_free(child_expect(c, ok));
}

/* How many reports the driver has received from the panel. */
static guint64
child_report_count(Child *c, const gchar *serial)
{
	g_autofree gchar *prefix = g_strdup_printf("reports %s ", serial);
	g_autofree gchar *line = NULL;

	child_send(c, "reports %s", serial);
	line = child_expect(c, prefix);
	return g_ascii_strtoull(line + strlen(prefix), NULL, 10);
}

static gboolean
sim_lit(PbmMockPanel *panel)
{
	gboolean lit = pbm_sim_is_lit(pbm_mock_panel_lock_sim(panel));

	pbm_mock_panel_unlock_sim(panel);
	return lit;
}

/* ---- fixture ---- */

static int
setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	g_autoptr(GError) error = NULL;

	f->bus = pbm_mock_bus_new(&error);
	if (f->bus == NULL)
		fail_msg("%s", error->message);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	Fixture *f = *state;

	/* The driver goes before the testbed (it would hang in its next ioctl). */
	if (f->child != NULL)
		child_quit(f->child);
	pbm_mock_bus_free(f->bus);
	g_free(f);
	return 0;
}

/* ---- tests ---- */

static void
test_enumerate_light_telemetry(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) panel = plug(f, "USB-A");
	g_autofree gchar *line = NULL;
	g_autofree gchar *expected = NULL;
	guint64 reports = 0;

	/* present before the process starts: found by enumeration */
	f->child = child_spawn(NULL);
	g_free(child_expect(f->child, "ready"));
	line = child_expect(f->child, "connected USB-A");
	expected =
	        g_strdup_printf("connected USB-A usb %03u/%03u", pbm_mock_panel_get_busnum(panel),
	                        pbm_mock_panel_get_devnum(panel));
	assert_string_equal(line, expected);

	child_send(f->child, "light USB-A 800 600 60");
	g_free(child_expect(f->child, "ok light USB-A"));
	assert_true(sim_lit(panel));
	{
		PbmStatus s;
		pbm_sim_get_status(pbm_mock_panel_lock_sim(panel), &s);
		pbm_mock_panel_unlock_sim(panel);
		assert_int_equal(s.level[0], 800);
		assert_int_equal(s.level[1], 600);
		assert_int_equal(s.watchdog, PBM_WATCHDOG_ARMED);
	}

	/* telemetry over the interrupt endpoint, 10 Hz while lit */
	g_usleep(G_USEC_PER_SEC);
	reports = child_report_count(f->child, "USB-A");
	assert_true(reports >= 5);
	child_send(f->child, "status USB-A");
	g_free(child_expect(f->child, "status USB-A lit"));

	/* nobody feeds the watchdog now: the panel goes dark by itself */
	g_free(child_expect(f->child, "events USB-A watchdog-expired"));
	assert_false(sim_lit(panel));
}

static void
test_hotplug_second_panel_and_unplug_lit(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) a = NULL;
	PbmMockPanel *b;

	f->child = child_spawn(NULL);
	g_free(child_expect(f->child, "ready"));
	/* plugged after start: hotplug */
	a = plug(f, "USB-B1");
	g_free(child_expect(f->child, "connected USB-B1"));
	b = plug(f, "USB-B2");
	g_free(child_expect(f->child, "connected USB-B2"));

	child_send(f->child, "light USB-B2 500 500 60");
	g_free(child_expect(f->child, "ok light USB-B2"));
	/* pulled while lit: the owner hears at once */
	pbm_mock_panel_unplug(b);
	g_free(child_expect(f->child, "disconnected USB-B2"));
	child_send(f->child, "status USB-B2");
	g_free(child_expect(f->child, "status USB-B2 disconnected"));
	/* the other panel is unaffected */
	child_send(f->child, "light USB-B1 300 0 60");
	g_free(child_expect(f->child, "ok light USB-B1"));

	/* back in: same serial, idle, usable */
	b = plug(f, "USB-B2");
	g_free(child_expect(f->child, "connected USB-B2"));
	child_send(f->child, "status USB-B2");
	g_free(child_expect(f->child, "status USB-B2 idle"));
	assert_false(sim_lit(b));
	child_send(f->child, "light USB-B2 100 100 60");
	g_free(child_expect(f->child, "ok light USB-B2"));
	child_off(f->child, "USB-B2");
	child_off(f->child, "USB-B1");
	pbm_mock_panel_unplug(b);
	g_free(child_expect(f->child, "disconnected USB-B2"));
}

static void
test_stall_and_timeout(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) panel = plug(f, "USB-C");

	f->child = child_spawn(NULL);
	g_free(child_expect(f->child, "connected USB-C"));

	pbm_mock_panel_set_stall(panel, PBM_REQ_SET_OUTPUT, TRUE);
	child_send(f->child, "light USB-C 500 500 60");
	g_free(child_expect(f->child, "error light USB-C stall"));
	assert_false(sim_lit(panel));
	pbm_mock_panel_set_stall(panel, PBM_REQ_SET_OUTPUT, FALSE);

	pbm_mock_panel_set_hang(panel, PBM_REQ_HEARTBEAT, TRUE);
	child_send(f->child, "heartbeat USB-C 3000");
	g_free(child_expect(f->child, "error heartbeat USB-C timeout"));
	pbm_mock_panel_set_hang(panel, PBM_REQ_HEARTBEAT, FALSE);

	/* the panel still works after both */
	child_send(f->child, "light USB-C 500 500 60");
	g_free(child_expect(f->child, "ok light USB-C"));
	child_off(f->child, "USB-C");
}

static void
test_unplug_during_transfer(void **state)
{
	Fixture *f = *state;
	PbmMockPanel *panel = plug(f, "USB-D");

	f->child = child_spawn(NULL);
	g_free(child_expect(f->child, "connected USB-D"));
	child_send(f->child, "light USB-D 400 400 60");
	g_free(child_expect(f->child, "ok light USB-D"));
	pbm_mock_panel_set_hang(panel, PBM_REQ_CLEAR_FAULT, TRUE);
	child_send(f->child, "clear USB-D");
	g_usleep(200000);
	pbm_mock_panel_unplug(panel);
	g_autofree gchar *line = child_expect(f->child, "error clear USB-D");
	assert_non_null(strstr(line, "no-device"));
	g_free(child_expect(f->child, "disconnected USB-D"));
	/* and it comes back */
	panel = plug(f, "USB-D");
	g_free(child_expect(f->child, "connected USB-D"));
	pbm_mock_panel_unplug(panel);
	g_free(child_expect(f->child, "disconnected USB-D"));
}

static void
test_garbage_report(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) garbage = NULL;

	f->child = child_spawn(NULL);
	g_free(child_expect(f->child, "ready"));
	/* a panel that sends a truncated report: marked faulty, switched off */
	garbage = plug(f, "USB-E2");
	g_free(child_expect(f->child, "connected USB-E2"));
	child_send(f->child, "light USB-E2 500 500 60");
	g_free(child_expect(f->child, "ok light USB-E2"));
	const guint8 junk[7] = { 1, 0, 0, 0, 0xff, 0xff, 0xff };
	pbm_mock_panel_inject_report(garbage, junk, sizeof(junk));
	g_free(child_expect(f->child, "faulty USB-E2"));
	g_usleep(300000);
	assert_false(sim_lit(garbage));
	child_send(f->child, "light USB-E2 500 500 60");
	g_free(child_expect(f->child, "error light USB-E2 untrusted"));
}

static void
test_wrong_version_refused(void **state)
{
	Fixture *f = *state;
	PbmSimConfig config = config_for("USB-V");
	g_autoptr(PbmSim) sim = pbm_sim_new(&config, NULL);
	guint8 info[sizeof(struct pbm_wire_info)];
	g_autoptr(PbmMockPanel) panel = NULL;
	g_autofree gchar *line = NULL;

	assert_true(pbm_info_encode(pbm_sim_get_info(sim), info, NULL));
	info[0] = 2;
	info[1] = 3;
	/* set up before the driver exists, so its very first probe sees it */
	panel = plug(f, "USB-V");
	pbm_mock_panel_override_reply(panel, PBM_REQ_GET_INFO, info, sizeof(info));
	f->child = child_spawn(NULL);
	line = child_expect(f->child, "probe-failed");
	assert_non_null(strstr(line, "2.3"));
	assert_non_null(strstr(line, "pbmd speaks 1.1"));
	child_send(f->child, "status USB-V");
	g_free(child_expect(f->child, "error status USB-V unknown-panel"));
}

/* A board's USB device controller may give the panel's function another
 * endpoint than 0x81 (FunctionFS takes whichever is free): pbmd reads the
 * interrupt IN endpoint from the descriptors. */
static void
test_report_endpoint_elsewhere(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) panel = NULL;

	pbm_mock_bus_set_report_endpoint(f->bus, 0x83);
	panel = plug(f, "USB-E");
	f->child = child_spawn(NULL);
	g_free(child_expect(f->child, "connected USB-E"));
	child_send(f->child, "light USB-E 500 500 60");
	g_free(child_expect(f->child, "ok light USB-E"));
	assert_true(sim_lit(panel));
	g_usleep(G_USEC_PER_SEC);
	assert_true(child_report_count(f->child, "USB-E") >= 5);
	child_off(f->child, "USB-E");
	assert_false(sim_lit(panel));
}

/* Without an interrupt IN endpoint (here an OUT one) there is no telemetry
 * and no fault report: not a panel pbmd drives, and nothing is sent to it. */
static void
test_no_report_endpoint_refused(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) panel = NULL;
	g_autofree gchar *line = NULL;

	pbm_mock_bus_set_report_endpoint(f->bus, 0x03);
	panel = plug(f, "USB-O");
	f->child = child_spawn(NULL);
	line = child_expect(f->child, "probe-failed");
	assert_non_null(strstr(line, pbm_mock_panel_get_devnode(panel)));
	assert_non_null(strstr(line, "with an interrupt IN endpoint"));
	assert_int_equal(pbm_mock_panel_get_ioctl_count(panel), 0);
}

/* ---- 1.1: the result of the last command ---- */

/* A panel behind FunctionFS that enforces a shorter session cap than its
 * GET_INFO advertises: pbmd's SET_OUTPUT passes pbmd's checks, the panel
 * refuses it without a STALL, and only GET_RESULT tells. */
static void
test_silent_refusal(void **state)
{
	Fixture *f = *state;
	PbmSimConfig config = config_for("USB-R");
	g_autoptr(PbmSim) advertised = pbm_sim_new(&config, NULL);
	guint8 info[sizeof(struct pbm_wire_info)];
	g_autoptr(PbmMockPanel) panel = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *line = NULL;

	/* it says 3600 s, and enforces 30 s */
	assert_true(pbm_info_encode(pbm_sim_get_info(advertised), info, NULL));
	config.max_session_s = 30;
	panel = pbm_mock_panel_plug(f->bus, &config, PBM_USB_VID, PBM_USB_PID, &error);
	assert_non_null(panel);
	pbm_mock_panel_override_reply(panel, PBM_REQ_GET_INFO, info, sizeof(info));
	pbm_mock_panel_set_ack_out_data(panel, TRUE);
	f->child = child_spawn(NULL);
	g_free(child_expect(f->child, "connected USB-R"));

	child_send(f->child, "light USB-R 500 500 60");
	line = child_expect(f->child, "error light USB-R stall");
	assert_non_null(strstr(line, "panel USB-R refused set-output: the session cap was 0 or "
	                             "above the panel's limit (result 8, session-cap)"));
	assert_false(sim_lit(panel));
	/* within the panel's real cap it lights, confirmed */
	child_send(f->child, "light USB-R 500 500 30");
	g_free(child_expect(f->child, "ok light USB-R"));
	assert_true(sim_lit(panel));
	child_off(f->child, "USB-R");
}

/* GET_RESULT answers the same count whatever pbmd sends: no SET_OUTPUT is
 * confirmed, although the model takes them. */
static void
test_count_stuck(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) panel = plug(f, "USB-S");
	const guint8 stuck[sizeof(struct pbm_wire_result)] = { PBM_REQ_SET_OUTPUT, PBM_RESULT_OK, 7,
		                                               0 };
	g_autofree gchar *line = NULL;

	pbm_mock_panel_override_reply(panel, PBM_REQ_GET_RESULT, stuck, sizeof(stuck));
	f->child = child_spawn(NULL);
	g_free(child_expect(f->child, "connected USB-S"));
	child_send(f->child, "light USB-S 500 500 60");
	line = child_expect(f->child, "error light USB-S stall");
	assert_non_null(strstr(line, "panel USB-S did not receive set-output: its count of "
	                             "set-output requests stayed at 7"));
	child_off(f->child, "USB-S");
	assert_false(sim_lit(panel));
}

/* A 1.0 panel knows no GET_RESULT: pbmd drives it as before. */
static void
test_protocol_1_0_panel(void **state)
{
	Fixture *f = *state;
	PbmSimConfig config = config_for("USB-OLD");
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmMockPanel) panel = NULL;

	config.protocol_minor = 0;
	panel = pbm_mock_panel_plug(f->bus, &config, PBM_USB_VID, PBM_USB_PID, &error);
	assert_non_null(panel);
	f->child = child_spawn(NULL);
	g_free(child_expect(f->child, "connected USB-OLD"));
	child_send(f->child, "light USB-OLD 800 600 60");
	g_free(child_expect(f->child, "ok light USB-OLD"));
	assert_true(sim_lit(panel));
	child_off(f->child, "USB-OLD");
	/* its refusals are STALLs */
	child_send(f->child, "heartbeat USB-OLD 3000");
	g_free(child_expect(f->child, "ok heartbeat USB-OLD"));
	pbm_mock_panel_set_stall(panel, PBM_REQ_SET_OUTPUT, TRUE);
	child_send(f->child, "light USB-OLD 800 600 60");
	g_free(child_expect(f->child, "error light USB-OLD stall"));
	assert_false(sim_lit(panel));
}

static guint
child_fd_count(GPid pid)
{
	g_autofree gchar *path = g_strdup_printf("/proc/%d/fd", pid);
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	guint n = 0;

	while (dir != NULL && g_dir_read_name(dir) != NULL)
		n++;
	return n;
}

static void
test_plug_cycles(void **state)
{
	Fixture *f = *state;
	guint fds_before, fds_after;
	PbmMockPanel *panel = plug(f, "USB-F");

	f->child = child_spawn(NULL);
	g_free(child_expect(f->child, "connected USB-F"));
	pbm_mock_panel_unplug(panel);
	g_free(child_expect(f->child, "disconnected USB-F"));
	/* the driver closes a gone device's handle on its next main loop
	 * iteration: count once that has happened */
	g_usleep(300 * 1000);
	fds_before = child_fd_count(f->child->pid);
	for (guint i = 0; i < 100; i++) {
		panel = plug(f, "USB-F");
		g_free(child_expect(f->child, "connected USB-F"));
		pbm_mock_panel_unplug(panel);
		g_free(child_expect(f->child, "disconnected USB-F"));
	}
	g_usleep(300 * 1000);
	fds_after = child_fd_count(f->child->pid);
	print_message("# fds in the driver before/after 100 cycles: %u/%u\n", fds_before,
	              fds_after);
	assert_int_equal(fds_after, fds_before);
	/* still serving */
	panel = plug(f, "USB-F");
	g_free(child_expect(f->child, "connected USB-F"));
	child_send(f->child, "light USB-F 200 200 60");
	g_free(child_expect(f->child, "ok light USB-F"));
	child_off(f->child, "USB-F");
	pbm_mock_panel_unplug(panel);
	g_free(child_expect(f->child, "disconnected USB-F"));
}

static guint64
child_wakeups(Child *c)
{
	g_autofree gchar *line = NULL;

	child_send(c, "wakeups");
	line = child_expect(c, "wakeups ");
	return g_ascii_strtoull(line + strlen("wakeups "), NULL, 10);
}

static void
test_idle_wakeups(void **state)
{
	Fixture *f = *state;
	g_autoptr(PbmMockPanel) panel = plug(f, "USB-G");
	const gdouble seconds = 5.0;
	guint64 before, after, reports_before, reports_after;
	gdouble wakeups, device;

	f->child = child_spawn(NULL);
	g_free(child_expect(f->child, "connected USB-G"));
	g_usleep(G_USEC_PER_SEC); /* let start-up settle */
	before = child_wakeups(f->child);
	reports_before = pbm_mock_panel_get_reports_sent(panel);
	g_usleep((gulong)(seconds * G_USEC_PER_SEC));
	after = child_wakeups(f->child);
	reports_after = pbm_mock_panel_get_reports_sent(panel);
	/* the "wakeups" command itself woke the driver once */
	wakeups = (after - before - 1) / seconds;
	device = (reports_after - reports_before) / seconds;
	print_message("# idle process with one panel attached: %.1f wakeups/s; the emulated "
	              "device sends %.1f reports/s (its idle rate); %.1f wakeups/s beyond them\n",
	              wakeups, device, MAX(wakeups - device, 0.0));
	/* a polling timer or a busy loop would show tens or thousands */
	assert_true(wakeups - device <= 1.0);
}

static void
test_no_usb_carries_on(void **state)
{
	Fixture *f = *state;
	const gchar *unset[] = { "LD_PRELOAD", "UMOCKDEV_DIR", NULL };
	g_autofree gchar *line = NULL;

	/* without the emulation this machine has no USB at all */
	f->child = child_spawn(unset);
	child_read(f->child, EXPECT_TIMEOUT_MS);
	assert_true(f->child->backlog->len > 0);
	line = g_strdup(g_ptr_array_index(f->child->backlog, 0));
	print_message("# without umockdev: %s\n", line);
	assert_true(g_str_has_prefix(line, "usb-unavailable") || g_str_equal(line, "ready"));
	/* and it keeps serving commands */
	child_send(f->child, "status NONE");
	g_free(child_expect(f->child, "error status NONE unknown-panel"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enumerate_light_telemetry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hotplug_second_panel_and_unplug_lit, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_stall_and_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unplug_during_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_report, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_version_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_endpoint_elsewhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_report_endpoint_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_refusal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_stuck, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocol_1_0_panel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plug_cycles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_wakeups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_usb_carries_on, setup, teardown),
	};

	return cmocka_run_group_tests_name("usb-panel", tests, NULL, NULL);
}
