/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-gadget-errors.h"

G_DEFINE_QUARK(pbm - gadget - error - quark, pbm_gadget_error)
