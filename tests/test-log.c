/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbmd's log: one line per event, with its MESSAGE_ID and priority. The
 * Manager runs in-process on simulated panels and a manual clock; the test's
 * own log writer keeps every record, as journald would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "pbm-log.h"
#include "pbm-manager.h"
#include "pbm-manual-clock.h"
#include "pbm-test-files.h"

#define S(x) ((gint64)(x)*G_USEC_PER_SEC)

typedef struct {
	GLogLevelFlags level;
	gchar *message_id; /* NULL for a line without one */
	gchar *message;
} Record;

typedef struct {
	gchar *dir;
	PbmClock *clock;
	PbmManager *manager;
} Fixture;

static GPtrArray *records;

static void
record_free(Record *r)
{
	g_free(r->message_id);
	g_free(r->message);
	g_free(r);
}

static GLogWriterOutput
capture(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	Record *r = g_new0(Record, 1);

	r->level = level & G_LOG_LEVEL_MASK;
	for (gsize i = 0; i < n_fields; i++) {
		if (g_strcmp0(fields[i].key, "MESSAGE_ID") == 0)
			r->message_id = g_strdup(fields[i].value);
		else if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
			r->message = g_strdup(fields[i].value);
	}
	g_ptr_array_add(records, r);
	return G_LOG_WRITER_HANDLED;
}

/* The one line shown without -v whose message has both words; fails when
 * there are none or several. */
static const Record *
the_line(const gchar *word, const gchar *other)
{
	const Record *found = NULL;

	for (guint i = 0; i < records->len; i++) {
		const Record *r = g_ptr_array_index(records, i);
		if (r->level == G_LOG_LEVEL_DEBUG || r->message == NULL ||
		    strstr(r->message, word) == NULL || strstr(r->message, other) == NULL)
			continue;
		if (found != NULL)
			fail_msg("logged twice: \"%s\" and \"%s\"", found->message, r->message);
		found = r;
	}
	if (found == NULL)
		fail_msg("nothing logged with \"%s\" and \"%s\"", word, other);
	return found;
}

static guint
count_id(const gchar *message_id)
{
	guint n = 0;

	for (guint i = 0; i < records->len; i++)
		n += g_strcmp0(((const Record *)g_ptr_array_index(records, i))->message_id,
		               message_id) == 0;
	return n;
}

static void
advance(Fixture *f, gint64 us)
{
	pbm_manual_clock_advance(PBM_MANUAL_CLOCK(f->clock), us);
}

static gchar *
write_config(const gchar *dir)
{
	g_autofree gchar *profiles = g_build_filename(dir, "profiles", NULL);
	g_autofree gchar *history = g_build_filename(dir, "history.db", NULL);
	g_autofree gchar *text = g_strdup_printf("profile_dirs = [ \"%s\" ];\n"
	                                         "history_path = \"%s\";\n",
	                                         profiles, history);
	gchar *path = g_build_filename(dir, "pbmd.conf", NULL);

	pbm_test_copy_shipped_profiles(profiles);
	pbm_test_write_file(path, text);
	return path;
}

static int
setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	const gchar *const no_dirs[] = { NULL };
	g_autofree gchar *config = NULL;
	g_autoptr(GError) error = NULL;

	f->dir = g_dir_make_tmp("pbm-log-XXXXXX", NULL);
	config = write_config(f->dir);
	f->clock = pbm_manual_clock_new();
	g_ptr_array_set_size(records, 0);
	f->manager = pbm_manager_new(
	        &(PbmManagerOptions){
	                .config_path = config,
	                .simulate = 2,
	                .state_dir = f->dir,
	                .profile_dirs = no_dirs,
	                .clock = f->clock,
	        },
	        &error);
	if (f->manager == NULL)
		fail_msg("%s", error->message);
	advance(f, S(1));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	Fixture *f = *state;

	pbm_manager_shutdown(f->manager);
	g_object_unref(f->manager);
	pbm_test_drain_main_context();
	g_object_unref(f->clock);
	pbm_test_rm_rf(f->dir);
	g_free(f->dir);
	g_free(f);
	return 0;
}

static void
test_connect(void **state)
{
	const Record *r = the_line("SIM0001", "connected");

	assert_string_equal(r->message_id, PBM_MESSAGE_PANEL_CONNECTED);
	assert_int_equal(r->level, G_LOG_LEVEL_INFO);
	assert_non_null(strstr(r->message, "protocol 1.1"));
}

static void
test_session(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmSession) session = NULL;
	const Record *r;

	g_ptr_array_set_size(records, 0);
	/* the manager lets go of a session when it ends */
	session = pbm_manager_start_session(f->manager, "demo", NULL, &(PbmPlanRequest){ 0 }, 1000,
	                                    &error);
	assert_non_null(session);
	g_object_ref(session);
	advance(f, S(31));
	assert_int_equal(pbm_session_get_outcome(session), PBM_OUTCOME_COMPLETED);

	r = the_line("session 1", "started");
	assert_string_equal(r->message_id, PBM_MESSAGE_SESSION_STARTED);
	assert_int_equal(r->level, G_LOG_LEVEL_MESSAGE);
	/* its end: one line, "finished" (it was "ended" and "finished") */
	r = the_line("session 1", "completed");
	assert_string_equal(r->message_id, PBM_MESSAGE_SESSION_FINISHED);
	assert_int_equal(r->level, G_LOG_LEVEL_MESSAGE);
	assert_int_equal(count_id(PBM_MESSAGE_SESSION_FINISHED), 1);
}

static PbmPanel *
find_panel(Fixture *f, const gchar *serial)
{
	GPtrArray *panels = pbm_manager_get_panels(f->manager);

	for (guint i = 0; i < panels->len; i++) {
		if (g_strcmp0(pbm_panel_get_serial(g_ptr_array_index(panels, i)), serial) == 0)
			return g_ptr_array_index(panels, i);
	}
	fail_msg("no panel %s", serial);
	return NULL;
}

static void
test_disconnect(void **state)
{
	Fixture *f = *state;
	PbmPanel *panel = find_panel(f, "SIM0001");
	const Record *r;

	g_ptr_array_set_size(records, 0);
	/* what the transport's "disconnected" does when the cable is pulled */
	pbm_panel_detach(panel);

	r = the_line("SIM0001", "disconnected");
	assert_string_equal(r->message_id, PBM_MESSAGE_PANEL_DISCONNECTED);
	assert_int_equal(r->level, G_LOG_LEVEL_INFO);
}

static void
test_shutdown(void **state)
{
	Fixture *f = *state;

	g_ptr_array_set_size(records, 0);
	/* the panels pbmd lets go of when it stops are not "disconnected" */
	pbm_manager_shutdown(f->manager);
	assert_false(pbm_panel_is_connected(find_panel(f, "SIM0001")));
	assert_false(pbm_panel_is_connected(find_panel(f, "SIM0002")));
	assert_int_equal(count_id(PBM_MESSAGE_PANEL_DISCONNECTED), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown, setup, teardown),
	};
	gint failed;

	records = g_ptr_array_new_with_free_func((GDestroyNotify)record_free);
	g_log_set_writer_func(capture, NULL, NULL);
	failed = cmocka_run_group_tests_name("log", tests, NULL, NULL);
	g_ptr_array_unref(records);
	return failed;
}
