/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * pbm-therapy: the desktop app of pbmd, a thin client of its D-Bus API
 * (org.pbmd1). See pbm-therapy(1).
 */
#include <locale.h>

#include "pbm-app.h"
#include "pbm-dbus-error.h"

int
main(int argc, char **argv)
{
	g_autoptr(PbmApp) app = NULL;

	setlocale(LC_ALL, "");
	/* registered before any call, so that replies map to PBM_DBUS_ERROR */
	(void)PBM_DBUS_ERROR;
	g_set_application_name("Light Therapy");
	app = pbm_app_new();
	return g_application_run(G_APPLICATION(app), argc, argv);
}
