/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The daemon harness in one include: the private bus, pbmd run as systemd
 * runs it, and the fake polkit authority.
 */
#pragma once

#include "pbm-test-bus.h"
#include "pbm-test-daemon.h"
#include "pbm-test-polkit.h"
