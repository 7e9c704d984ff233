/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbm-gadget: a board with a USB device controller becomes a light therapy
 * panel that speaks pbmd-protocol(7). See pbm-gadget(8).
 */
#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <systemd/sd-daemon.h>

#include "pbm-gadget-config.h"
#include "pbm-gadget-configfs.h"
#include "pbm-gadget-ffs.h"
#include "pbm-gadget-outputs.h"
#include "pbm-gadget-panel.h"

#define DEFAULT_CONFIG PBM_SYSCONFDIR "/pbmd/pbm-gadget.conf"
#define INTERFACE_NAME "pbmd light therapy panel"

/* Exit codes (pbm-gadget(8)). */
#define EXIT_USAGE 2
#define EXIT_CONFIG 3
#define EXIT_HARDWARE 4
#define EXIT_USB 5

static gchar *opt_config;
static gboolean opt_check;
static gboolean opt_all_off;
static gboolean opt_version;
static gchar *opt_configfs;
static gchar *opt_udc_class;
static gchar *opt_functionfs;
static gchar *opt_name;

static const GOptionEntry entries[] = {
	{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
	  "The configuration (default " DEFAULT_CONFIG ")", "FILE" },
	{ "check", 0, 0, G_OPTION_ARG_NONE, &opt_check,
	  "Check the configuration and exit: 0 when it is valid", NULL },
	{ "all-off", 0, 0, G_OPTION_ARG_NONE, &opt_all_off,
	  "Switch every output of the configuration off and exit (ExecStopPost= of the unit)",
	  NULL },
	{ "configfs", 0, 0, G_OPTION_ARG_FILENAME, &opt_configfs,
	  "Where configfs is mounted (default /sys/kernel/config)", "DIR" },
	{ "udc-class", 0, 0, G_OPTION_ARG_FILENAME, &opt_udc_class,
	  "Where the USB device controllers are listed (default /sys/class/udc)", "DIR" },
	{ "functionfs", 0, 0, G_OPTION_ARG_FILENAME, &opt_functionfs,
	  "Where to mount the function's functionfs (default /run/pbm-gadget/ffs)", "DIR" },
	{ "name", 0, 0, G_OPTION_ARG_STRING, &opt_name,
	  "The gadget's directory in configfs (default pbm-gadget)", "NAME" },
	{ "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
	{ NULL },
};

typedef struct {
	GMainLoop *loop;
	int status;
} Run;

static gboolean
on_terminate(gpointer user_data)
{
	Run *run = user_data;

	g_message("stopping: all outputs off, unplugging from the host");
	g_main_loop_quit(run->loop);
	return G_SOURCE_CONTINUE;
}

static void
on_usb_failed(const GError *error, gpointer user_data)
{
	Run *run = user_data;

	g_printerr("pbm-gadget: %s\n", error->message);
	run->status = EXIT_USB;
	g_main_loop_quit(run->loop);
}

static gboolean
feed_watchdog(gpointer user_data)
{
	sd_notify(0, "WATCHDOG=1");
	return G_SOURCE_CONTINUE;
}

/* systemd's watchdog is the dead man's switch of the main loop, which runs
 * the firmware's own watchdog and thermal rules: if it stops, systemd
 * kills pbm-gadget and ExecStopPost= switches the outputs off. */
static void
start_watchdog(void)
{
	guint64 usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0)
		g_timeout_add((guint)(usec / 2 / 1000), feed_watchdog, NULL);
}

static void
on_panel_fatal(const GError *error, gpointer user_data)
{
	Run *run = user_data;

	run->status = EXIT_HARDWARE;
	g_main_loop_quit(run->loop);
}

static gboolean
check_name(GError **error)
{
	if (opt_name == NULL)
		opt_name = g_strdup("pbm-gadget");
	for (const gchar *p = opt_name; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_') {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			            "--name \"%s\": use letters, digits, '-' and '_' only",
			            opt_name);
			return FALSE;
		}
	}
	if (*opt_name != '\0')
		return TRUE;
	g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
	                    "--name must not be empty");
	return FALSE;
}

static gboolean
parse_options(int *argc, char ***argv, GError **error)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);

	g_option_context_set_summary(ctx, "Runs a light therapy panel on a board with a USB device "
	                                  "controller: the host's pbmd sees a panel of "
	                                  "pbmd-protocol(7).");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, argc, argv, error))
		return FALSE;
	if (*argc > 1) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
		            "unexpected argument \"%s\"; pbm-gadget takes options only",
		            (*argv)[1]);
		return FALSE;
	}
	return check_name(error);
}

/* Runs the panel until SIGTERM or SIGINT, or until the USB function dies
 * (exit 5, and systemd starts it again). */
static int
serve(const PbmGadgetConfig *config)
{
	PbmGadgetConfigfsPaths paths = {
		.configfs = opt_configfs != NULL ? opt_configfs : "/sys/kernel/config",
		.udc_class = opt_udc_class != NULL ? opt_udc_class : "/sys/class/udc",
		.mount_dir = opt_functionfs != NULL ? opt_functionfs : "/run/pbm-gadget/ffs",
		.name = opt_name,
	};
	g_autoptr(PbmClock) clock = pbm_clock_new_real();
	g_autoptr(PbmGadgetPanel) panel = NULL;
	g_autoptr(PbmGadgetConfigfs) gadget = NULL;
	g_autoptr(PbmGadgetFfs) ffs = NULL;
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	g_autoptr(GError) error = NULL;
	Run run = { .loop = loop, .status = 0 };

	panel = pbm_gadget_panel_new(config, clock, &error);
	if (panel == NULL) {
		g_printerr("pbm-gadget: %s\n", error->message);
		return EXIT_HARDWARE;
	}
	gadget = pbm_gadget_configfs_new(&paths, config, &error);
	if (gadget != NULL)
		ffs = pbm_gadget_ffs_new(paths.mount_dir, INTERFACE_NAME,
		                         pbm_gadget_panel_usb_handlers(), panel, &error);
	if (ffs == NULL || !pbm_gadget_configfs_bind(gadget, &error)) {
		g_printerr("pbm-gadget: %s\n", error->message);
		return EXIT_USB;
	}
	pbm_gadget_panel_set_usb(panel, ffs);
	pbm_gadget_ffs_set_failed_func(ffs, on_usb_failed, &run);
	pbm_gadget_panel_set_fatal_func(panel, on_panel_fatal, &run);
	g_message("panel %s (%s) on USB device controller %s as %04x:%04x", config->model.serial,
	          config->model.model, pbm_gadget_configfs_udc(gadget), (guint)PBM_USB_VID,
	          config->product_id);
	g_unix_signal_add(SIGTERM, on_terminate, &run);
	g_unix_signal_add(SIGINT, on_terminate, &run);
	sd_notifyf(0, "READY=1\nSTATUS=panel %s on %s", config->model.serial,
	           pbm_gadget_configfs_udc(gadget));
	start_watchdog();
	g_main_loop_run(loop);
	sd_notify(0, "STOPPING=1");

	/* Dark first, then the cable. */
	if (!pbm_gadget_panel_off(panel, &error)) {
		g_printerr("pbm-gadget: %s\n", error->message);
		run.status = EXIT_HARDWARE;
	}
	pbm_gadget_panel_set_usb(panel, NULL);
	pbm_gadget_configfs_unbind(gadget);
	g_clear_pointer(&ffs, pbm_gadget_ffs_free);
	return run.status;
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmGadgetConfig) config = NULL;

	setlocale(LC_ALL, "");
	if (!parse_options(&argc, &argv, &error)) {
		g_printerr("pbm-gadget: %s\nTry pbm-gadget --help.\n", error->message);
		return EXIT_USAGE;
	}
	if (opt_version) {
		g_print("pbm-gadget %s (protocol %d.%d)\n", PACKAGE_VERSION, PBM_PROTOCOL_MAJOR,
		        PBM_PROTOCOL_MINOR);
		return 0;
	}
	config = pbm_gadget_config_load(opt_config != NULL ? opt_config : DEFAULT_CONFIG, &error);
	if (config == NULL) {
		g_printerr("pbm-gadget: %s\n", error->message);
		/* --all-off too: only the configuration names the outputs. The
		 * unit's log keeps this message next to the crash. */
		return EXIT_CONFIG;
	}
	if (opt_check) {
		g_print("%s: valid: panel %s, %u channel%s, outputs %s\n", config->path,
		        config->model.serial, config->model.channel_count,
		        config->model.channel_count == 1 ? "" : "s",
		        config->outputs == PBM_GADGET_OUTPUTS_PWM ? "pwm" : "none");
		return 0;
	}
	if (opt_all_off) {
		if (!pbm_gadget_outputs_all_off(config, &error)) {
			g_printerr("pbm-gadget: %s\n", error->message);
			return EXIT_HARDWARE;
		}
		g_message("all outputs off");
		return 0;
	}
	return serve(config);
}
