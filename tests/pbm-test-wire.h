/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Protocol bytes written by hand, for the tests that must send what
 * pbm_output_encode() refuses to write (levels, pulses or lengths out of
 * range), so that the decoder and the firmware model are seen refusing it.
 */
#pragma once

#include "pbm-protocol.h"

G_BEGIN_DECLS

/* SET_OUTPUT's data for o, little-endian as pbmd-protocol(7) lays it out,
 * whatever its values. */
void pbm_test_wire_output_bytes(const PbmOutput *o, guint8 buf[sizeof(struct pbm_wire_output)]);

G_END_DECLS
