/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The light the LEDs must show now: what pbm-gadget computes from the
 * firmware model and hands to the outputs (pbm-gadget-outputs.h).
 */
#pragma once

#include <glib.h>

#include "pbm-protocol.h"

G_BEGIN_DECLS

typedef struct {
	guint channel_count;             /* the configured channels, in order */
	guint16 level[PBM_MAX_CHANNELS]; /* permille (PBM_LEVEL_MAX), already derated */
	guint32 pulse_mhz;               /* 0: continuous, else PBM_PULSE_MIN_MHZ..MAX_MHZ */
	guint16 duty; /* permille of each pulse (PBM_DUTY_MAX); unused if continuous */
} PbmGadgetLight;

G_END_DECLS
