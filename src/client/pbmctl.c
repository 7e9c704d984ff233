/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmctl: the command-line client of pbmd, for people, scripts, cron jobs
 * and systemd timers. It talks to pbmd over D-Bus only. See pbmctl(1).
 * This file reads the global options and runs the command; each command is
 * pbmctl-NAME.c.
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "pbm-dbus-error.h"
#include "pbmctl-commands.h"

typedef struct {
	const gchar *name;
	gint (*run)(PbmCtl *, gint, gchar **);
	gboolean needs_bus;
	gboolean takes_args; /* FALSE: any argument is bad usage */
	const gchar *help;
} Command;

static const Command commands[] = {
	{ "status", pbm_ctl_status, TRUE, TRUE,
	  "[--follow]: the daemon's state and the active session; --follow:\n"
	  "             as JSON, a line now and one at each change, for status bars" },
	{ "panels", pbm_ctl_panels, TRUE, FALSE, "the panels and their state" },
	{ "profiles", pbm_ctl_profiles, TRUE, FALSE, "the profiles, with duration and dose" },
	{ "profile", pbm_ctl_profile, FALSE, TRUE,
	  "show NAME: one profile; check FILE: validate a file" },
	{ "start", pbm_ctl_start, TRUE, TRUE,
	  "PROFILE [--panel SERIAL]... [--distance CM] [--wait]" },
	{ "stop", pbm_ctl_stop, TRUE, FALSE, "stop the active session" },
	{ "pause", pbm_ctl_pause, TRUE, FALSE, "pause the active session (lights off)" },
	{ "resume", pbm_ctl_resume, TRUE, FALSE, "resume the paused session" },
	{ "monitor", pbm_ctl_monitor, TRUE, FALSE, "follow signals and property changes" },
	{ "history", pbm_ctl_history, TRUE, TRUE, "[--since DATE] [--limit N]: past sessions" },
	{ "identify", pbm_ctl_identify, TRUE, TRUE, "[SERIAL]: blink a panel's indicator" },
	{ "reload", pbm_ctl_reload, TRUE, FALSE, "reload pbmd's configuration and profiles" },
};

static void
usage(FILE *out)
{
	fprintf(out, "Usage: pbmctl [--json] [--system|--session|--address ADDR] [--no-color] "
	             "COMMAND [ARGS]\n\nCommands:\n");
	for (guint i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\nExit codes: 0 done/completed, 1 error, 2 bad usage, 3 stopped, 4 fault, "
	             "5 disconnected,\n6 refused, 7 not authorized, 8 pbmd not running. See "
	             "pbmctl(1).\n");
}

/* The options before the command. Returns the index of the command, or -1
 * with *code set when there is nothing to run. */
static gint
parse_global_options(PbmCtl *ctl, gint argc, gchar **argv, gint *code)
{
	gint i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (g_str_equal(argv[i], "--json")) {
			ctl->json = TRUE;
		} else if (g_str_equal(argv[i], "--system")) {
			ctl->bus_type = G_BUS_TYPE_SYSTEM;
		} else if (g_str_equal(argv[i], "--session")) {
			ctl->bus_type = G_BUS_TYPE_SESSION;
		} else if (g_str_equal(argv[i], "--address") && i + 1 < argc) {
			ctl->address = argv[++i];
		} else if (g_str_equal(argv[i], "--address")) {
			g_printerr("pbmctl: --address needs a D-Bus address, e.g. "
			           "unix:path=/run/my-bus\n");
			*code = PBM_CTL_EXIT_USAGE;
			return -1;
		} else if (g_str_has_prefix(argv[i], "--address=")) {
			ctl->address = argv[i] + strlen("--address=");
		} else if (g_str_equal(argv[i], "--no-color")) {
			ctl->color = FALSE;
		} else if (g_str_equal(argv[i], "--version")) {
			g_print("pbmctl %s\n", PACKAGE_VERSION);
			*code = PBM_CTL_EXIT_OK;
			return -1;
		} else if (g_str_equal(argv[i], "--help") || g_str_equal(argv[i], "-h")) {
			usage(stdout);
			*code = PBM_CTL_EXIT_OK;
			return -1;
		} else {
			g_printerr("pbmctl: unknown option %s\n", argv[i]);
			usage(stderr);
			*code = PBM_CTL_EXIT_USAGE;
			return -1;
		}
	}
	if (i >= argc) {
		usage(stderr);
		*code = PBM_CTL_EXIT_USAGE;
		return -1;
	}
	return i;
}

/* --json and --no-color may also follow the command: takes them out of
 * argv[first..] and returns the new argc. */
static gint
take_trailing_options(PbmCtl *ctl, gint argc, gchar **argv, gint first)
{
	for (gint k = first; k < argc;) {
		if (g_str_equal(argv[k], "--json") || g_str_equal(argv[k], "--no-color")) {
			ctl->json |= g_str_equal(argv[k], "--json");
			memmove(&argv[k], &argv[k + 1], (gsize)(argc - k) * sizeof(gchar *));
			argc--;
		} else {
			k++;
		}
	}
	return argc;
}

/* Before connecting: bad usage is status 2 whether or not pbmd runs. */
static gboolean
check_no_args(const Command *command, gint argc, gchar **argv)
{
	if (command->takes_args || argc < 2)
		return TRUE;
	g_printerr("pbmctl %s: unexpected argument \"%s\"; %s takes none%s\n", command->name,
	           argv[1], command->name,
	           g_str_equal(argv[1], "--follow") ? " (--follow is for pbmctl status)" : "");
	return FALSE;
}

static gint
run(PbmCtl *ctl, const Command *command, gint argc, gchar **argv)
{
	GError *error = NULL;
	gint code;

	if (!check_no_args(command, argc, argv))
		return PBM_CTL_EXIT_USAGE;
	/* profile check works offline */
	if ((command->needs_bus || !(argc == 3 && g_str_equal(argv[1], "check"))) &&
	    !pbm_ctl_connect(ctl, &error))
		return pbm_ctl_fail(ctl, error);
	code = command->run(ctl, argc, argv);
	g_clear_object(&ctl->bus);
	return code;
}

int
main(int argc, char **argv)
{
	PbmCtl ctl = { .bus_type = G_BUS_TYPE_SYSTEM, .color = TRUE };
	gint code = PBM_CTL_EXIT_OK;
	gint i;

	setlocale(LC_ALL, "");
	/* Registered before any call, so that replies map to PBM_DBUS_ERROR. */
	(void)PBM_DBUS_ERROR;
	i = parse_global_options(&ctl, argc, argv, &code);
	if (i < 0)
		return code;
	argc = take_trailing_options(&ctl, argc, argv, i + 1);
	for (guint c = 0; c < G_N_ELEMENTS(commands); c++) {
		if (g_str_equal(argv[i], commands[c].name))
			return run(&ctl, &commands[c], argc - i, argv + i);
	}
	g_printerr("pbmctl: unknown command \"%s\"\n", argv[i]);
	usage(stderr);
	return PBM_CTL_EXIT_USAGE;
}
