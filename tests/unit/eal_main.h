/* SPDX-License-Identifier: BSD-3-Clause */
/** @file What eal_main.cpp tells the EAL tests: whether the EAL is up, and why not. */
#pragma once

#include <string>

namespace dpsan::unit {

/** True once rte_eal_init succeeded in main(). */
bool eal_available();
/** Why rte_eal_init failed (for GTEST_SKIP). */
const std::string& eal_error();

}  // namespace dpsan::unit
