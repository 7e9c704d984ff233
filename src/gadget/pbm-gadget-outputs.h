/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The LEDs' outputs: what makes a PbmGadgetLight real. Two backends, as
 * the configuration's outputs.kind says:
 *
 * - pwm: one Linux PWM channel per LED channel (pbm-gadget-pwm.h).
 *   Continuous light runs at the carrier frequency with the level as duty
 *   cycle; pulsed light makes each pulse one PWM period, with
 *   level x duty of it lit.
 * - none: drives nothing; with a state file, writes the light it would
 *   show there, atomically, as one line:
 *   "lit=1 pulse_mhz=0 duty=1000 level=500,500" (continuous light shows
 *   duty=1000; dark is "lit=0 pulse_mhz=0 duty=1000 level=0,0").
 *
 * Safety: every error leaves every output dark (or says which one could
 * not be switched off), and no value is ever clamped: a light out of
 * range is refused.
 */
#pragma once

#include <glib.h>

#include "pbm-gadget-config.h"
#include "pbm-gadget-light.h"

G_BEGIN_DECLS

#define PBM_GADGET_OUTPUTS_ERROR (pbm_gadget_outputs_error_quark())
GQuark pbm_gadget_outputs_error_quark(void);

typedef enum {
	PBM_GADGET_OUTPUTS_ERROR_CONFIG,     /* the configuration cannot drive outputs */
	PBM_GADGET_OUTPUTS_ERROR_LIGHT,      /* a light out of range: refused, outputs dark */
	PBM_GADGET_OUTPUTS_ERROR_STATE_FILE, /* the none backend's state file cannot be written */
} PbmGadgetOutputsError;
/* Failures of the PWM files are PBM_GADGET_PWM_ERROR (pbm-gadget-pwm.h). */

typedef struct _PbmGadgetOutputs PbmGadgetOutputs;

/* Opens (exports) every output of config and sets it dark. On failure the
 * outputs opened so far are dark again. */
PbmGadgetOutputs *pbm_gadget_outputs_new(const PbmGadgetConfig *config, GError **error);
/* Shows light, writing only what changed. light->channel_count must be
 * the configured count, levels and duty at most 1000, pulse_mhz 0 or
 * within the protocol's range. On any failure everything is switched off
 * and the error names the file (and whether switching off failed too). */
gboolean pbm_gadget_outputs_apply(PbmGadgetOutputs *outputs, const PbmGadgetLight *light,
                                  GError **error);
/* Switches every output off, each even when another fails; the first
 * failure is returned. */
gboolean pbm_gadget_outputs_off(PbmGadgetOutputs *outputs, GError **error);
/* Switches everything off (a failure is logged), then frees. */
void pbm_gadget_outputs_free(PbmGadgetOutputs *outputs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmGadgetOutputs, pbm_gadget_outputs_free)

/* Switches every configured output off with no state of this process:
 * for `pbm-gadget --all-off` after another pbm-gadget died. A PWM channel
 * that is not exported is not lit and is left alone. Tries every output;
 * the first failure is returned. */
gboolean pbm_gadget_outputs_all_off(const PbmGadgetConfig *config, GError **error);

G_END_DECLS
