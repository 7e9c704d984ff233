/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libFuzzer target: the daemon configuration loader on arbitrary bytes.
 */
#include <stdint.h>
#include <stdlib.h>

#include "pbm-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const gchar *const dirs[] = { "/etc/pbmd/profiles.d", NULL };
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmConfig) config =
	        pbm_config_load_data("/fuzz/pbmd.conf", (const gchar *)data, size, dirs, &error);

	if (config == NULL && error == NULL)
		abort();
	if (config != NULL &&
	    config->limits.watchdog_timeout_us < 2 * config->limits.heartbeat_interval_us)
		abort();
	return 0;
}
