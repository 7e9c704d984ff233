/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The `sim` transport: the firmware model of src/sim/ in-process, its device
 * time following the injected clock. Used by `pbmd --simulate` and by fast
 * tests; the panel above behaves exactly as with a USB panel.
 */
#pragma once

#include "pbm-clock.h"
#include "pbm-sim.h"
#include "pbm-transport.h"

G_BEGIN_DECLS

#define PBM_TYPE_SIM_TRANSPORT (pbm_sim_transport_get_type())
G_DECLARE_FINAL_TYPE(PbmSimTransport, pbm_sim_transport, PBM, SIM_TRANSPORT, GObject)

PbmSimTransport *pbm_sim_transport_new(PbmClock *clock, const PbmSimConfig *config, GError **error);
/* The model, to press its button or inject faults. Call
 * pbm_sim_transport_sync() afterwards so reports go out at once. */
PbmSim *pbm_sim_transport_get_sim(PbmSimTransport *self);
/* Brings the model up to the clock's time and delivers its reports. */
void pbm_sim_transport_sync(PbmSimTransport *self);
/* The cable is pulled: ::disconnected, and every later transfer fails. */
void pbm_sim_transport_unplug(PbmSimTransport *self);

G_END_DECLS
