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

}  // namespace dpsan::control
