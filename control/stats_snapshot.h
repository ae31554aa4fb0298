/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * One snapshot of an instance's counters, read from the engine and its poll cores. Shared by
 * SIO_DPSAN_GET_STATS (spi-adapter) and DPDK telemetry (control/telemetry.h).
 */
#pragma once

#include <dpsan/dpsan_stats.h>

namespace dpsan::control {

class Instance;

/**
 * Any thread that holds the instance alive (a CallGuard, or a pinned teardown). Counters are
 * read one by one with relaxed loads, so the snapshot is not atomic across fields.
 * Fills everything but sockets_open, which spi-adapter owns (it is left as it was in *out).
 */
void stats_snapshot(Instance& inst, DPSAN_STATS* out);

}  // namespace dpsan::control
