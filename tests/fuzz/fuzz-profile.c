/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libFuzzer target: the profile loader on arbitrary bytes. Whatever the
 * input, it returns a profile or an error, never crashes, and a profile it
 * accepts can be estimated on the reference panel without crashing.
 */
#include <stdint.h>
#include <stdlib.h>

#include "pbm-dose.h"
#include "pbm-sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PbmProfile) profile =
	        pbm_profile_load_data("/fuzz/fuzz.conf", (const gchar *)data, size, &error);
	PbmSimConfig sim;
	PbmEstimate estimate;

	if (profile == NULL) {
		if (error == NULL)
			abort();
		return 0;
	}
	pbm_sim_config_init(&sim, "FUZZ");
	if (!pbm_profile_estimate(profile, sim.channels, sim.channel_count, &estimate, &error))
		g_clear_error(&error);
	return 0;
}
