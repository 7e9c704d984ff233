/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libFuzzer target: every protocol decoder on arbitrary bytes. A message a
 * decoder accepts must encode again (it was within range).
 */
#include <stdint.h>
#include <stdlib.h>

#include "pbm-protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	PbmInfo info;
	PbmChannel channels[PBM_MAX_CHANNELS];
	PbmStatus status;
	PbmReport report;
	PbmOutput output;
	guint8 out[PBM_CHANNELS_REPLY_SIZE(PBM_MAX_CHANNELS)];

	if (pbm_info_decode(data, size, &info, NULL) && !pbm_info_encode(&info, out, NULL))
		abort();
	if (size > 0 && pbm_channels_decode(data, size, data[0], channels, NULL) &&
	    pbm_channels_encode(channels, data[0], out, sizeof(out), NULL) != size)
		abort();
	if (pbm_status_decode(data, size, &status, NULL) && !pbm_status_encode(&status, out, NULL))
		abort();
	if (pbm_report_decode(data, size, &report, NULL) && !pbm_report_encode(&report, out, NULL))
		abort();
	if (pbm_output_decode(data, size, &output, NULL) && !pbm_output_encode(&output, out, NULL))
		abort();
	return 0;
}
