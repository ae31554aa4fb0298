/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The provider's counters as DPDK telemetry commands under /dpsan/ (README "Telemetry"):
 * /dpsan/packets, /dpsan/reliability, /dpsan/drops, /dpsan/ops, /dpsan/mempool and /dpsan/all.
 * Each answers a dict of unsigned counters summed over the poll cores of the live instance,
 * plus "instance_live" (0 with no instance, and then nothing else).
 */
#pragma once

namespace dpsan::control {

/**
 * Control, once per process, after rte_eal_init succeeded. The commands outlive instances: they
 * read whichever instance is live when asked (on DPDK's telemetry thread).
 * @return false if DPDK refused a registration (the others may still be registered).
 */
bool telemetry_register();

}  // namespace dpsan::control
