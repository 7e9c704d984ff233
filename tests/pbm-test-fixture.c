/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "pbm-test-fixture.h"
#include "pbm-test-files.h"

#ifndef PBM_SOURCE_DIR
#error "PBM_SOURCE_DIR must be defined (the project's source root)"
#endif

static void
write_profiles(const PbmFixture *f, const gchar *const *profiles)
{
	for (guint i = 0; profiles != NULL && profiles[i] != NULL; i += 2) {
		g_autofree gchar *file = g_strconcat(profiles[i], ".conf", NULL);
		g_autofree gchar *path = g_build_filename(f->profiles, file, NULL);

		pbm_test_write_file(path, profiles[i + 1]);
	}
}

static void
make_dir(const gchar *path, gint mode)
{
	if (g_mkdir(path, mode) != 0)
		fail_msg("creating %s: %s", path, g_strerror(errno));
}

static gchar *
group_name(gid_t gid)
{
	struct group *gr = getgrgid(gid);

	if (gr == NULL)
		fail_msg("group %u has no name (getgrgid)", (guint)gid);
	return g_strdup(gr->gr_name);
}

/* nobody's ids, looked up before any fork: getpwnam() is not safe in the
 * child of a threaded process */
static uid_t nobody_uid;
static gid_t nobody_gid;

static void
look_up_nobody(void)
{
	struct passwd *pw = getpwnam("nobody");

	if (pw == NULL)
		fail_msg("there is no user nobody (getpwnam)");
	nobody_uid = pw->pw_uid;
	nobody_gid = pw->pw_gid;
}

static void
make_files(PbmFixture *f, const PbmFixtureOptions *options)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *shipped = NULL;

	f->dir = g_dir_make_tmp("pbm-test-XXXXXX", &error);
	if (f->dir == NULL)
		fail_msg("%s", error->message);
	/* pbmctl and callers run as nobody read files in here */
	g_chmod(f->dir, 0755);
	f->config = g_build_filename(f->dir, "pbmd.conf", NULL);
	f->profiles = g_build_filename(f->dir, "profiles", NULL);
	f->state = g_build_filename(f->dir, "state", NULL);
	f->history_db = g_build_filename(f->state, "history.db", NULL);
	make_dir(f->profiles, 0755);
	shipped = g_build_filename(f->dir, "shipped", NULL);
	pbm_test_copy_shipped_profiles(shipped);
	make_dir(f->state, 0700);
	write_profiles(f, options->profiles);
	f->control_group = options->control_group != NULL ? g_strdup(options->control_group)
	                                                  : group_name(getgid());
	pbm_fixture_write_config(f, options->limits);
}

int
pbm_fixture_setup(void **state)
{
	static const PbmFixtureOptions defaults = { 0 };
	const PbmFixtureOptions *options = *state != NULL ? *state : &defaults;
	PbmFixture *f = g_new0(PbmFixture, 1);
	g_autoptr(GError) error = NULL;

	/* the teardown frees what is there when an assertion fails here */
	*state = f;
	look_up_nobody();
	if (options->usb) {
		f->usb = pbm_mock_bus_new(&error);
		if (f->usb == NULL)
			fail_msg("%s", error->message);
	}
	make_files(f, options);
	if (options->serial != NULL)
		pbm_fixture_plug(f, options->serial, NULL);
	f->bus = pbm_test_bus_new(&error);
	if (f->bus == NULL)
		fail_msg("%s", error->message);
	f->client = pbm_test_bus_connect(f->bus, &error);
	if (f->client == NULL)
		fail_msg("%s", error->message);
	return 0;
}

int
pbm_fixture_teardown(void **state)
{
	PbmFixture *f = *state;

	g_clear_pointer(&f->daemon, pbm_test_daemon_free);
	g_clear_pointer(&f->polkit, pbm_test_polkit_free);
	g_clear_object(&f->client);
	g_clear_pointer(&f->bus, pbm_test_bus_free);
	g_clear_pointer(&f->panel, pbm_mock_panel_unplug);
	g_clear_pointer(&f->usb, pbm_mock_bus_free);
	if (f->dir != NULL && !pbm_test_rm_rf(f->dir))
		g_warning("could not remove %s", f->dir);
	g_free(f->dir);
	g_free(f->config);
	g_free(f->profiles);
	g_free(f->state);
	g_free(f->history_db);
	g_free(f->control_group);
	g_free(f);
	return 0;
}

gchar *
pbm_fixture_config_text(const PbmFixture *f, const gchar *limits)
{
	return g_strdup_printf("profile_dirs = [ \"%s\", \"%s/shipped\" ];\n"
	                       "devices = [ %s ]; control_group = \"%s\";\n"
	                       "limits = { min_gap = 0; %s };\n",
	                       f->profiles, f->dir,
	                       f->usb != NULL ? "\"" PBM_FIXTURE_USB_DEVICE "\"" : "",
	                       f->control_group, limits != NULL ? limits : "");
}

void
pbm_fixture_write_config(const PbmFixture *f, const gchar *limits)
{
	g_autofree gchar *text = pbm_fixture_config_text(f, limits);

	pbm_test_write_file(f->config, text);
}

void
pbm_fixture_set_control_group(PbmFixture *f, const gchar *group)
{
	g_free(f->control_group);
	f->control_group = g_strdup(group);
	pbm_fixture_write_config(f, NULL);
}

void
pbm_fixture_grant_admin(PbmFixture *f)
{
	g_autoptr(GError) error = NULL;

	if (geteuid() == 0 || f->polkit != NULL)
		return;
	f->polkit = pbm_test_polkit_new(f->bus, TRUE, &error);
	if (f->polkit == NULL)
		fail_msg("%s", error->message);
}

void
pbm_fixture_become_caller(gpointer unused)
{
	if (geteuid() != 0)
		return;
	if (nobody_uid == 0 || setgroups(0, NULL) != 0 || setgid(nobody_gid) != 0 ||
	    setuid(nobody_uid) != 0)
		_exit(99);
}

const gchar *
pbm_fixture_caller_group(void)
{
	static gchar *name;

	if (name == NULL)
		name = group_name(geteuid() == 0 ? nobody_gid : getgid());
	return name;
}

void
pbm_fixture_plug(PbmFixture *f, const gchar *serial, const PbmSimConfig *config)
{
	g_autoptr(GError) error = NULL;
	PbmSimConfig sim;

	if (config == NULL) {
		pbm_sim_config_init(&sim, serial);
		config = &sim;
	}
	f->panel = pbm_mock_panel_plug(f->usb, config, PBM_USB_VID, PBM_USB_PID, &error);
	if (f->panel == NULL)
		fail_msg("%s", error->message);
}

void
pbm_fixture_wait_ready(PbmFixture *f)
{
	g_autoptr(GError) error = NULL;

	if (!pbm_test_daemon_wait_ready(f->daemon, f->client, PBM_FIXTURE_WAIT_MS, &error))
		fail_msg("%s", error->message);
}

void
pbm_fixture_spawn(PbmFixture *f, const gchar *const *extra_env)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *env_state = g_strconcat("STATE_DIRECTORY=", f->state, NULL);
	g_autoptr(GPtrArray) env = g_ptr_array_new();
	const gchar *args[] = { "--config", f->config, f->usb == NULL ? "--simulate" : NULL, NULL };

	g_ptr_array_add(env, env_state);
	for (guint i = 0; extra_env != NULL && extra_env[i] != NULL; i++)
		g_ptr_array_add(env, (gpointer)extra_env[i]);
	g_ptr_array_add(env, NULL);
	f->daemon = pbm_test_daemon_spawn(f->bus, args, (const gchar *const *)env->pdata, &error);
	if (f->daemon == NULL)
		fail_msg("%s", error->message);
	pbm_fixture_wait_ready(f);
}

void
pbm_fixture_spawn_models(PbmFixture *f, const gchar *models)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *env_state = g_strconcat("STATE_DIRECTORY=", f->state, NULL);
	g_autofree gchar *simulate = g_strconcat("--simulate=", models, NULL);
	const gchar *env[] = { env_state, NULL };
	const gchar *args[] = { "--config", f->config, simulate, NULL };

	f->daemon = pbm_test_daemon_spawn(f->bus, args, env, &error);
	if (f->daemon == NULL)
		fail_msg("%s", error->message);
	pbm_fixture_wait_ready(f);
}

GVariant *
pbm_fixture_call(PbmFixture *f, const gchar *path, const gchar *iface, const gchar *method,
                 GVariant *args, GError **error)
{
	return pbm_test_call(f->client, path, iface, method, args, NULL, PBM_FIXTURE_WAIT_MS,
	                     error);
}

GVariant *
pbm_fixture_manager(PbmFixture *f, const gchar *method, GVariant *args, GError **error)
{
	return pbm_fixture_call(f, PBM_DBUS_PATH, PBM_DBUS_INTERFACE_MANAGER, method, args, error);
}

GVariant *
pbm_fixture_history(PbmFixture *f)
{
	g_autoptr(GError) error = NULL;
	GVariant *rows = pbm_test_history(f->client, PBM_FIXTURE_WAIT_MS, &error);

	if (rows == NULL)
		fail_msg("GetHistory: %s", error->message);
	return rows;
}

GVariant *
pbm_fixture_property(PbmFixture *f, const gchar *path, const gchar *iface, const gchar *name)
{
	g_autoptr(GError) error = NULL;
	GVariant *value =
	        pbm_test_get_property(f->client, path, iface, name, PBM_FIXTURE_WAIT_MS, &error);

	if (value == NULL)
		fail_msg("%s.%s: %s", iface, name, error->message);
	return value;
}

gchar *
pbm_fixture_string_property(PbmFixture *f, const gchar *path, const gchar *iface, const gchar *name)
{
	g_autoptr(GVariant) value = pbm_fixture_property(f, path, iface, name);

	return g_variant_dup_string(value, NULL);
}

gboolean
pbm_fixture_wait_property(PbmFixture *f, const gchar *path, const gchar *iface, const gchar *name,
                          const gchar *want, guint timeout_ms)
{
	return pbm_test_wait_property(f->client, path, iface, name, want, 20, timeout_ms);
}

gchar *
pbm_fixture_try_start(PbmFixture *f, const gchar *profile, GVariant *options, GError **error)
{
	return pbm_test_start_session(f->client, profile, options, PBM_FIXTURE_WAIT_MS, error);
}

gchar *
pbm_fixture_start(PbmFixture *f, const gchar *profile, GVariant *options)
{
	g_autoptr(GError) error = NULL;
	gchar *path = pbm_fixture_try_start(f, profile, options, &error);

	if (path == NULL)
		fail_msg("StartSession %s: %s", profile, error->message);
	return path;
}

void
pbm_assert_reply(GVariant *reply)
{
	assert_non_null(reply);
	g_variant_unref(reply);
}

void
pbm_assert_dbus_error(const GError *error, const gchar *name, const gchar *needle)
{
	g_autofree gchar *remote = NULL;

	assert_non_null(error);
	remote = g_dbus_error_get_remote_error(error);
	if (g_strcmp0(remote, name) != 0)
		fail_msg("expected %s, got %s: %s", name, remote, error->message);
	if (needle != NULL && strstr(error->message, needle) == NULL)
		fail_msg("'%s' does not mention '%s'", error->message, needle);
}
