/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each error domain has the name it was given: GError prints it, and
 * G_DEFINE_QUARK takes it as a bare token that clang-format once turned into
 * "pbm - panel - error - quark".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "pbm-conf-file.h"
#include "pbm-dbus-error.h"
#include "pbm-history.h"
#include "pbm-plan.h"
#include "pbm-protocol.h"
#include "pbm-sim.h"
#include "pbm-transport.h"

typedef struct {
	GQuark (*quark)(void);
	const gchar *name;
} Domain;

static void
test_domain_name(void **state)
{
	const Domain *domain = *state;

	assert_string_equal(g_quark_to_string(domain->quark()), domain->name);
}

/* Named by the domain, so that TAP says which one is wrong. */
#define DOMAIN_TEST(fn, want)                                \
	{                                                    \
		.name = want, .test_func = test_domain_name, \
		.initial_state = &(Domain){ fn, want },      \
	}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		DOMAIN_TEST(pbm_config_error_quark, "pbm-config-error-quark"),
		DOMAIN_TEST(pbm_dbus_error_quark, "pbm-dbus-error-quark"),
		DOMAIN_TEST(pbm_history_error_quark, "pbm-history-error-quark"),
		DOMAIN_TEST(pbm_panel_error_quark, "pbm-panel-error-quark"),
		DOMAIN_TEST(pbm_protocol_error_quark, "pbm-protocol-error-quark"),
		DOMAIN_TEST(pbm_session_error_quark, "pbm-session-error-quark"),
		DOMAIN_TEST(pbm_sim_error_quark, "pbm-sim-error-quark"),
	};

	return cmocka_run_group_tests_name("error-domains", tests, NULL, NULL);
}
