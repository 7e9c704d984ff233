/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-test-wire.h"

#include <string.h>

static void
put_le16(guint8 *at, guint16 v)
{
	at[0] = v & 0xff;
	at[1] = v >> 8;
}

void
pbm_test_wire_output_bytes(const PbmOutput *o, guint8 buf[sizeof(struct pbm_wire_output)])
{
	memset(buf, 0, sizeof(struct pbm_wire_output));
	for (guint i = 0; i < PBM_MAX_CHANNELS; i++)
		put_le16(buf + 2 * i, o->level[i]);
	for (guint i = 0; i < 4; i++)
		buf[16 + i] = (o->pulse_mhz >> (8 * i)) & 0xff;
	put_le16(buf + 20, o->duty);
	put_le16(buf + 22, o->ramp_ms);
	put_le16(buf + 24, o->session_cap_s);
}
