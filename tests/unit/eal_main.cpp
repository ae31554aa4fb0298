/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * gtest main for unit tests that need DPDK: brings the EAL up once, without hugepages, PCI or
 * shared files, then runs the tests. When the EAL cannot start on this machine, the tests skip (they
 * check eal_available()) instead of failing.
 */
#include "eal_main.h"

#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_errno.h>

namespace dpsan::unit {

namespace {
bool g_eal_ok = false;
std::string g_eal_error;
}  // namespace

bool eal_available() { return g_eal_ok; }
const std::string& eal_error() { return g_eal_error; }

}  // namespace dpsan::unit

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);

  // No hugepages, no PCI, no shared files. DPDK 22.11 refuses --in-memory together with
  // --no-huge ("--legacy-mem is not compatible with --in-memory": --no-huge implies legacy
  // memory), so --no-shconf stands in for it: with no hugepage files either, nothing is left on
  // disk and concurrent test processes cannot collide.
  const char* eal_args[] = {"unit",           "--no-huge",
                            "-m",             "256",
                            "--no-pci",       "--no-shconf",
                            "--no-telemetry", "--log-level=lib.*:error",
                            "-l",             "0",
                            "--file-prefix=dpsan_unit"};
  int eal_argc = static_cast<int>(sizeof eal_args / sizeof eal_args[0]);
  if (rte_eal_init(eal_argc, const_cast<char**>(eal_args)) < 0) {
    dpsan::unit::g_eal_error = std::string("rte_eal_init failed: ") + rte_strerror(rte_errno);
    std::fprintf(stderr, "%s; the EAL tests will skip\n", dpsan::unit::g_eal_error.c_str());
  } else {
    dpsan::unit::g_eal_ok = true;
  }

  int rc = RUN_ALL_TESTS();
  if (dpsan::unit::g_eal_ok) rte_eal_cleanup();
  return rc;
}
