/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The panel on a board: the firmware model (src/sim) on the board's
 * monotonic clock, its light on the real outputs, its thermal and fan
 * rules fed by the real sensors, and its stop button on a real line. The
 * USB side calls pbm_gadget_panel_control() for each request.
 */
#pragma once

#include <glib.h>

#include "pbm-clock.h"
#include "pbm-gadget-config.h"
#include "pbm-gadget-ffs.h"

G_BEGIN_DECLS

typedef struct _PbmGadgetPanel PbmGadgetPanel;

/* Opens every output (all dark) and sensor of config, which must outlive
 * the panel. */
PbmGadgetPanel *pbm_gadget_panel_new(const PbmGadgetConfig *config, PbmClock *clock,
                                     GError **error);
/* Every output dark, then everything released. */
void pbm_gadget_panel_free(PbmGadgetPanel *panel);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbmGadgetPanel, pbm_gadget_panel_free)

/* The panel cannot be kept safe any more (its outputs do not switch off,
 * its stop button is gone): pbm-gadget must end, and its unit's
 * ExecStopPost= and restart take over. */
typedef void (*PbmGadgetPanelFatalFunc)(const GError *error, gpointer user_data);
void pbm_gadget_panel_set_fatal_func(PbmGadgetPanel *panel, PbmGadgetPanelFatalFunc func,
                                     gpointer user_data);

/* Where reports go; NULL drops them (no host). */
void pbm_gadget_panel_set_usb(PbmGadgetPanel *panel, PbmGadgetFfs *ffs);
/* The PbmGadgetFfsHandlers of the function, with the panel as user_data. */
const PbmGadgetFfsHandlers *pbm_gadget_panel_usb_handlers(void);

/* Whether a sensor read is under way (it runs in a thread). */
gboolean pbm_gadget_panel_sensing(PbmGadgetPanel *panel);

/* Switches every output off for good, whatever the model says: for
 * pbm-gadget's way out. */
gboolean pbm_gadget_panel_off(PbmGadgetPanel *panel, GError **error);

G_END_DECLS
