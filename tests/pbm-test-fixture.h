/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The fixture of the integration tests that run the real pbmd: a temp dir
 * with pbmd.conf, a profiles dir and a state dir, the private bus with a
 * client connection, the daemon, an optional fake polkit authority, and for
 * the tests under umockdev an emulated USB bus with a panel.
 *
 * CMocka groups list their tests with pbm_fixture_test(test, options): the
 * options say which files to write and whether the panel is simulated or
 * emulated on USB, so that no test needs a setup of its own. The helpers
 * fail the test
 * (fail_msg) rather than return errors, except the call helpers whose error
 * is what a test asserts on. Everything in the struct is freed by the
 * teardown: a failing assertion longjmps past g_autoptr cleanups.
 *
 * The suite runs as root (CI) or as a user with sudo (README): pbmd.conf's
 * control_group is the group of whoever runs it, so the test's own calls
 * control pbmd either way. Authorization tests use "the caller": the user
 * nobody when the suite runs as root, else the test's own user.
 */
#pragma once

#include <gio/gio.h>

#include "pbm-mock-panel.h"
#include "pbm-names.h"
#include "pbm-test-client.h"

G_BEGIN_DECLS

/* A group no caller is in (it does not exist), for refusals. */
#define PBM_FIXTURE_NO_GROUP "pbm-test-none"

/* How long a test waits for what must happen; generous, since other builds
 * share the machine. Safety limits asserted are separate. */
#define PBM_FIXTURE_WAIT_MS 10000

/* The USB ids of pbmd.conf's devices when the fixture has a USB bus. */
#define PBM_FIXTURE_USB_DEVICE "1209:7062"

typedef struct {
	gchar *dir;        /* removed with all below it in the teardown */
	gchar *config;     /* dir/pbmd.conf, written by the setup */
	gchar *profiles;   /* dir/profiles, first of profile_dirs */
	gchar *state;      /* dir/state, pbmd's STATE_DIRECTORY */
	gchar *history_db; /* state/history.db */
	PbmTestBus *bus;
	GDBusConnection *client;
	PbmTestDaemon *daemon;
	PbmTestPolkit *polkit; /* for the test to start */
	PbmMockBus *usb;       /* PbmFixtureOptions.usb only */
	PbmMockPanel *panel;   /* pbm_fixture_plug() */
	gchar *control_group;  /* in pbmd.conf (pbm_fixture_set_control_group()) */
} PbmFixture;

/* What a group's tests need besides the defaults; passed to the setup as
 * CMocka's initial state (pbm_fixture_test()). NULL: all defaults. */
typedef struct {
	gboolean usb;                 /* an emulated USB bus instead of --simulate */
	const gchar *serial;          /* a default panel plugged at setup (needs usb) */
	const gchar *const *profiles; /* name, text, name, text, ..., NULL */
	const gchar *limits;          /* in pbmd.conf's limits (pbm_fixture_write_config) */
	const gchar *control_group;   /* NULL: the group of the user running the tests */
} PbmFixtureOptions;

/* The temp dir (0755: pbmctl run as the user nobody reads it), the files, the USB bus
 * and panel as options asks, the private bus and the client. *state is the
 * options (or NULL) on entry, the PbmFixture on return. */
int pbm_fixture_setup(void **state);
/* pbmd goes first, the emulated device after the bus (pbmd would hang in
 * an ioctl on a device that is gone). */
int pbm_fixture_teardown(void **state);

/* A test case with the fixture; options may be NULL. */
#define pbm_fixture_test(test, options)                                                         \
	cmocka_unit_test_prestate_setup_teardown(test, pbm_fixture_setup, pbm_fixture_teardown, \
	                                         (void *)(options))

/* pbmd.conf: line 1 the profile dirs (f->profiles, then data/profiles of
 * the source tree), line 2 the devices and f->control_group, line 3 the
 * limits: min_gap = 0 (so that sessions may run back to back) and limits
 * (may be NULL). */
gchar *pbm_fixture_config_text(const PbmFixture *f, const gchar *limits);
void pbm_fixture_write_config(const PbmFixture *f, const gchar *limits);

/* Plugs a panel into f->usb: the firmware model of config, or with NULL the
 * default model with serial. */
void pbm_fixture_plug(PbmFixture *f, const gchar *serial, const PbmSimConfig *config);

/* pbmd --config f->config (--simulate without USB) with STATE_DIRECTORY
 * f->state, then extra_env (may override it); waits until it is ready. */
void pbm_fixture_spawn(PbmFixture *f, const gchar *const *extra_env);
/* The same with simulated panels of these models: --simulate=MODELS. */
void pbm_fixture_spawn_models(PbmFixture *f, const gchar *models);
/* Waits for READY=1 and the bus name of f->daemon, however spawned. */
void pbm_fixture_wait_ready(PbmFixture *f);

/* A call to pbmd on the client connection with PBM_FIXTURE_WAIT_MS. */
GVariant *pbm_fixture_call(PbmFixture *f, const gchar *path, const gchar *iface,
                           const gchar *method, GVariant *args, GError **error);
/* A call to the Manager. */
GVariant *pbm_fixture_manager(PbmFixture *f, const gchar *method, GVariant *args, GError **error);
/* Every history row the client may read, oldest first (pbm_test_history());
 * a failure fails the test. */
GVariant *pbm_fixture_history(PbmFixture *f);
/* A property's value; a failed Get fails the test. */
GVariant *pbm_fixture_property(PbmFixture *f, const gchar *path, const gchar *iface,
                               const gchar *name);
gchar *pbm_fixture_string_property(PbmFixture *f, const gchar *path, const gchar *iface,
                                   const gchar *name);
/* pbm_test_wait_property() every 20 ms. */
gboolean pbm_fixture_wait_property(PbmFixture *f, const gchar *path, const gchar *iface,
                                   const gchar *name, const gchar *want, guint timeout_ms);
/* StartSession; NULL options means none. The new session's path. */
gchar *pbm_fixture_try_start(PbmFixture *f, const gchar *profile, GVariant *options,
                             GError **error);
/* The same; a refusal fails the test. */
gchar *pbm_fixture_start(PbmFixture *f, const gchar *profile, GVariant *options);

/* pbmd.conf's control_group from now on; rewrites pbmd.conf without limits. */
void pbm_fixture_set_control_group(PbmFixture *f, const gchar *group);

/* Administration (ReloadConfig, ClearFault) as the test's own user: root
 * needs nothing; anyone else gets org.pbmd.admin from a fake polkit that
 * says yes to everything (started here unless the test has one). */
void pbm_fixture_grant_admin(PbmFixture *f);

/* A child setup (g_spawn_*) that makes the child "the caller": as root, the
 * user nobody (exits 99 if it cannot), else the test's own user. */
void pbm_fixture_become_caller(gpointer unused);
/* The caller's own group: nogroup as root, else the test user's group. */
const gchar *pbm_fixture_caller_group(void);

/* A call that must succeed; its reply is not needed. */
void pbm_assert_reply(GVariant *reply);
/* error is the D-Bus error name, as a client sees it, and its message
 * contains needle (NULL: any message). */
void pbm_assert_dbus_error(const GError *error, const gchar *name, const gchar *needle);

G_END_DECLS
