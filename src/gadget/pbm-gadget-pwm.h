/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One Linux PWM channel, /sys/class/pwm/<chip>/pwm<N>: exported on demand,
 * driven dark, and set to a period and duty cycle in nanoseconds in an
 * order the kernel accepts. Every error names the sysfs file.
 *
 * Dark is duty_cycle 0 with enable 1 and polarity normal: the channel then
 * actively drives its inactive (low) level. A disabled channel's pin is
 * left to the driver (some keep the last level, which may be high, or let
 * the pin float), so a disabled channel is not known to be dark.
 */
#pragma once

#include <glib.h>

#include "pbm-gadget-config.h"

G_BEGIN_DECLS

#define PBM_GADGET_PWM_ERROR (pbm_gadget_pwm_error_quark())
GQuark pbm_gadget_pwm_error_quark(void);

typedef enum {
	PBM_GADGET_PWM_ERROR_NO_CHIP, /* /sys/class/pwm has no such chip */
	PBM_GADGET_PWM_ERROR_EXPORT,  /* the channel did not appear after export */
	PBM_GADGET_PWM_ERROR_IO,      /* a sysfs file could not be read or written */
	PBM_GADGET_PWM_ERROR_VALUE,   /* a sysfs file holds something unexpected */
} PbmGadgetPwmError;

/* Where the PWM chips are. */
#define PBM_GADGET_PWM_CLASS_DIR "/sys/class/pwm"
/* How long an export may take to appear with its permissions (udev). */
#define PBM_GADGET_PWM_EXPORT_WAIT_MS 1000

typedef struct _PbmGadgetPwm PbmGadgetPwm;

/* Exports the channel when its directory is missing, waits until udev made
 * it writable, and drives it dark with dark_period_ns as its period should
 * it have none yet (a channel never used has period 0, which the kernel
 * does not enable). */
PbmGadgetPwm *pbm_gadget_pwm_open(const PbmGadgetPwmOutput *output, guint64 dark_period_ns,
                                  GError **error);
/* Sets period and duty cycle (duty_ns <= period_ns), writing only what
 * changed, duty first when the period shrinks so that the kernel never
 * sees a duty cycle longer than the period. */
gboolean pbm_gadget_pwm_set(PbmGadgetPwm *pwm, guint64 period_ns, guint64 duty_ns, GError **error);
/* duty_cycle 0, written even if it was already, then enable 1 if needed. */
gboolean pbm_gadget_pwm_set_dark(PbmGadgetPwm *pwm, GError **error);
/* Frees; the channel stays exported and as it was (dark, after
 * pbm_gadget_outputs_free()). Unexporting would disable it. */
void pbm_gadget_pwm_free(PbmGadgetPwm *pwm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmGadgetPwm, pbm_gadget_pwm_free)

/* Drives an exported channel dark without knowing its state (another
 * process, now dead, may have set it); a channel that is not exported, or
 * a chip that is missing, is not lit and is left alone. */
gboolean pbm_gadget_pwm_switch_off(const PbmGadgetPwmOutput *output, guint64 dark_period_ns,
                                   GError **error);

G_END_DECLS
