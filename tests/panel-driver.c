/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A separate process that runs the real `usb` transport exactly as pbmd
 * will: PbmPanelMonitor on a GLib main loop. The integration tests spawn it
 * under the umockdev preload, send it commands on stdin and read what
 * happened on stdout, one line each:
 *
 *   commands: light SERIAL RED NIR CAP | heartbeat SERIAL MS | off SERIAL |
 *             clear SERIAL | identify SERIAL SECONDS | status SERIAL |
 *             reports SERIAL | wakeups | quit
 *   output:   ready | usb-unavailable MESSAGE | connected SERIAL LOCATION |
 *             disconnected SERIAL | probe-failed MESSAGE | faulty SERIAL MESSAGE |
 *             events SERIAL NAMES | ok VERB SERIAL | error VERB SERIAL CODE MESSAGE |
 *             status SERIAL STATE LIT | reports SERIAL COUNT | wakeups COUNT
 *
 * wakeups counts the main loop's blocking polls that returned: how often
 * the process woke up, whatever woke it.
 */
#include <gio/gunixinputstream.h>
#include <stdio.h>
#include <stdlib.h>

#include "pbm-panel-monitor.h"

typedef struct {
	GMainLoop *loop;
	PbmPanelMonitor *monitor;
	GDataInputStream *input;
	GHashTable *reports; /* serial -> count */
} Driver;

static guint64 wakeups;

static gint
counting_poll(GPollFD *fds, guint nfds, gint timeout)
{
	gint rc = g_poll(fds, nfds, timeout);

	if (timeout != 0)
		wakeups++;
	return rc;
}

static void G_GNUC_PRINTF(1, 2) say(const gchar *format, ...)
{
	va_list args;

	va_start(args, format);
	vprintf(format, args);
	va_end(args);
	putchar('\n');
	fflush(stdout);
}

static const gchar *
error_code_name(const GError *error)
{
	static const gchar *names[] = { "stall",         "timeout", "no-device",
		                        "permission",    "busy",    "io",
		                        "protocol",      "version", "untrusted",
		                        "not-connected", "invalid", "unavailable" };

	if (error->domain == PBM_PANEL_ERROR && error->code >= 0 &&
	    (gsize)error->code < G_N_ELEMENTS(names))
		return names[error->code];
	return "other";
}

typedef gboolean (*FinishFunc)(PbmPanel *panel, GAsyncResult *result, GError **error);

typedef struct {
	Driver *driver;
	gchar *verb;
	PbmPanel *panel;
	PbmOutput output;
	FinishFunc finish;
} Op;

static void
op_free(Op *op)
{
	g_free(op->verb);
	g_object_unref(op->panel);
	g_free(op);
}

static void
op_report(Op *op, gboolean ok, GError *error)
{
	if (ok)
		say("ok %s %s", op->verb, pbm_panel_get_serial(op->panel));
	else
		say("error %s %s %s %s", op->verb, pbm_panel_get_serial(op->panel),
		    error_code_name(error), error->message);
	op_free(op);
}

static void
generic_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Op *op = user_data;
	g_autoptr(GError) error = NULL;
	gboolean ok = op->finish(op->panel, result, &error);

	op_report(op, ok, error);
}

static void
light_output_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	gboolean ok = pbm_panel_set_output_finish(PBM_PANEL(source), result, &error);

	op_report(user_data, ok, error);
}

static void
light_heartbeat_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Op *op = user_data;
	g_autoptr(GError) error = NULL;

	if (!pbm_panel_heartbeat_finish(op->panel, result, &error)) {
		op_report(op, FALSE, error);
		return;
	}
	pbm_panel_set_output_async(op->panel, &op->output, NULL, light_output_done, op);
}

static gboolean
parse_uint(const gchar *s, guint max, guint *out)
{
	guint64 v;

	if (s == NULL || !g_ascii_string_to_unsigned(s, 10, 0, max, &v, NULL))
		return FALSE;
	*out = (guint)v;
	return TRUE;
}

static void
run_command(Driver *d, gchar **argv)
{
	guint n = g_strv_length(argv), a = 0, b = 0, c = 0;
	PbmPanel *panel;
	Op *op;

	if (n == 1 && g_str_equal(argv[0], "wakeups")) {
		say("wakeups %" G_GUINT64_FORMAT, wakeups);
		return;
	}
	if (n == 1 && g_str_equal(argv[0], "quit")) {
		g_main_loop_quit(d->loop);
		return;
	}
	if (n < 2 || (panel = pbm_panel_monitor_find(d->monitor, argv[1])) == NULL) {
		say("error %s %s unknown-panel no such panel", argv[0], n > 1 ? argv[1] : "-");
		return;
	}
	if (g_str_equal(argv[0], "status")) {
		say("status %s %s %s", argv[1],
		    pbm_panel_state_to_string(pbm_panel_get_state(panel)),
		    pbm_panel_get_state(panel) == PBM_PANEL_STATE_LIT ? "lit" : "dark");
		return;
	}
	if (g_str_equal(argv[0], "reports")) {
		say("reports %s %u", argv[1],
		    GPOINTER_TO_UINT(g_hash_table_lookup(d->reports, argv[1])));
		return;
	}
	op = g_new0(Op, 1);
	op->driver = d;
	op->verb = g_strdup(argv[0]);
	op->panel = g_object_ref(panel);
	if (g_str_equal(argv[0], "light") && n == 5 && parse_uint(argv[2], 1000, &a) &&
	    parse_uint(argv[3], 1000, &b) && parse_uint(argv[4], 7200, &c)) {
		op->output = (PbmOutput){ .level = { a, b }, .duty = 1000, .session_cap_s = c };
		pbm_panel_heartbeat_async(panel, 3000, NULL, light_heartbeat_done, op);
	} else if (g_str_equal(argv[0], "heartbeat") && n == 3 && parse_uint(argv[2], 65535, &a)) {
		op->finish = pbm_panel_heartbeat_finish;
		pbm_panel_heartbeat_async(panel, a, NULL, generic_done, op);
	} else if (g_str_equal(argv[0], "off") && n == 2) {
		op->finish = pbm_panel_all_off_finish;
		pbm_panel_all_off_async(panel, NULL, generic_done, op);
	} else if (g_str_equal(argv[0], "clear") && n == 2) {
		op->finish = pbm_panel_clear_fault_finish;
		pbm_panel_clear_fault_async(panel, NULL, generic_done, op);
	} else if (g_str_equal(argv[0], "identify") && n == 3 && parse_uint(argv[2], 65535, &a)) {
		op->finish = pbm_panel_identify_finish;
		pbm_panel_identify_async(panel, a, NULL, generic_done, op);
	} else {
		say("error %s %s usage bad command", argv[0], argv[1]);
		op_free(op);
	}
}

static void read_next(Driver *d);

static void
line_read(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Driver *d = user_data;
	g_autofree gchar *line = g_data_input_stream_read_line_finish(d->input, result, NULL, NULL);
	g_auto(GStrv) argv = NULL;

	if (line == NULL) {
		g_main_loop_quit(d->loop);
		return;
	}
	argv = g_strsplit(g_strstrip(line), " ", -1);
	if (argv[0] != NULL && argv[0][0] != '\0')
		run_command(d, argv);
	if (g_main_loop_is_running(d->loop))
		read_next(d);
}

static void
read_next(Driver *d)
{
	g_data_input_stream_read_line_async(d->input, G_PRIORITY_DEFAULT, NULL, line_read, d);
}

static void
on_report(PbmPanel *panel, gconstpointer report, Driver *d)
{
	const gchar *serial = pbm_panel_get_serial(panel);
	guint count = GPOINTER_TO_UINT(g_hash_table_lookup(d->reports, serial));

	g_hash_table_insert(d->reports, g_strdup(serial), GUINT_TO_POINTER(count + 1));
}

static void
on_events(PbmPanel *panel, guint events, gconstpointer status, Driver *d)
{
	g_autofree gchar *names = pbm_events_describe((guint16)events);

	say("events %s %s", pbm_panel_get_serial(panel), names);
}

static void
on_disconnected(PbmPanel *panel, Driver *d)
{
	say("disconnected %s", pbm_panel_get_serial(panel));
}

static void
on_faulty(PbmPanel *panel, const GError *error, Driver *d)
{
	say("faulty %s %s", pbm_panel_get_serial(panel), error->message);
}

static void
on_panel_added(PbmPanelMonitor *monitor, PbmPanel *panel, Driver *d)
{
	g_signal_connect(panel, "report", G_CALLBACK(on_report), d);
	g_signal_connect(panel, "events", G_CALLBACK(on_events), d);
	g_signal_connect(panel, "disconnected", G_CALLBACK(on_disconnected), d);
	g_signal_connect(panel, "faulty", G_CALLBACK(on_faulty), d);
}

static void
on_panel_connected(PbmPanelMonitor *monitor, PbmPanel *panel, Driver *d)
{
	say("connected %s %s", pbm_panel_get_serial(panel), pbm_panel_get_location(panel));
}

static void
on_probe_failed(PbmPanelMonitor *monitor, const gchar *location, const GError *error, Driver *d)
{
	say("probe-failed %s", error->message);
}

int
main(int argc, char **argv)
{
	Driver d = { 0 };
	PbmUsbId id = { PBM_USB_VID, PBM_USB_PID };
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmClock) clock = pbm_clock_new_real();
	g_autoptr(GInputStream) in = g_unix_input_stream_new(0, FALSE);

	/* The tests read our stdout; GLib's own messages go to stderr. */
	g_main_context_set_poll_func(NULL, counting_poll);
	d.loop = g_main_loop_new(NULL, FALSE);
	d.reports = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	d.monitor = pbm_panel_monitor_new(clock);
	d.input = g_data_input_stream_new(in);
	g_signal_connect(d.monitor, "panel-added", G_CALLBACK(on_panel_added), &d);
	g_signal_connect(d.monitor, "panel-connected", G_CALLBACK(on_panel_connected), &d);
	g_signal_connect(d.monitor, "probe-failed", G_CALLBACK(on_probe_failed), &d);
	if (pbm_panel_monitor_add_usb(d.monitor, &id, 1, &error))
		say("ready");
	else
		say("usb-unavailable %s", error->message);
	read_next(&d);
	g_main_loop_run(d.loop);

	pbm_panel_monitor_shutdown(d.monitor);
	g_object_unref(d.monitor);
	g_object_unref(d.input);
	g_hash_table_unref(d.reports);
	g_main_loop_unref(d.loop);
	return EXIT_SUCCESS;
}
