/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * DPDK EAL, initialised once per process and never cleaned up: rte_eal_init fails with
 * EALREADY after rte_eal_cleanup on DPDK 22.11, and R20 needs startup after cleanup to work.
 * Everything above the EAL is per instance.
 */
#pragma once

#include <string>
#include <vector>

#include "config.h"

namespace dpsan::control {

struct EalInfo {
  std::vector<unsigned> poll_lcores;  ///< lcore ids for the poll cores
  bool hugepages = false;
};

/**
 * Initialise the EAL on first call (with the first configuration seen); later calls return the
 * same result. Caller holds the provider mutex.
 * @return true, or false with a message in *error (and the EAL is not usable in this process).
 */
bool eal_init_once(const Config& cfg, EalInfo* info, std::string* error);

/**
 * R22: removes, from `parent` (DPDK's <runtime base>/dpdk, the parent of this process's runtime
 * directory), the directories "dpsan-<pid>" that dpsan processes killed without WSPCleanup left
 * (their telemetry socket), and their files. Called by eal_init_once after rte_eal_init; tests
 * call it on a directory of their own. Any caller; several processes may sweep at once.
 * Left alone: a directory of a PID that exists in this PID namespace (or exists but is not ours
 * to signal), names not exactly "dpsan-" plus a PID without leading zero, symlinks, directories
 * of another owner. A PID that was reused since its process died keeps its old directory.
 * @return the number of directories removed; a directory whose removal fails stays as it was
 *   or emptied of up to 64 files.
 */
int sweep_dead_runtime_dirs(const std::string& parent);

}  // namespace dpsan::control
