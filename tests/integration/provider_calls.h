/* SPDX-License-Identifier: BSD-3-Clause */
/** @file Calls the integration tests make of the provider through a MiniSwitch. */
#pragma once

#include <arpa/inet.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <dpsan/dpsan_stats.h>

#include "mini_switch.h"

namespace dpsan::test {

/** An extension function (WSAID_*) of the provider, or nullptr. */
inline void* ext_fn(const perf::MiniSwitch& sw, GUID id) { return sw.extension(id); }

/** The provider's counters (all zero when it is not running). */
inline DPSAN_STATS stats(const perf::MiniSwitch& sw) {
  DPSAN_STATS st;
  sw.stats(&st);
  return st;
}

/** An IPv4 address in network order. */
inline uint32_t ip(const char* a) {
  in_addr v{};
  inet_pton(AF_INET, a, &v);
  return v.s_addr;
}

/**
 * WSPStartupEx, on `config` if not empty (a DPSAN_CONFIG file for this startup only).
 * @return 0 or the WSA code.
 */
inline int startup_with(perf::MiniSwitch& sw, const std::string& config) {
  if (config.empty()) return sw.startup();
  std::string path = "/tmp/dpsan-itest-" + std::to_string(getpid()) + ".toml";
  std::ofstream(path) << config;
  setenv("DPSAN_CONFIG", path.c_str(), 1);
  int rc = sw.startup();
  unlink(path.c_str());
  unsetenv("DPSAN_CONFIG");
  return rc;
}

}  // namespace dpsan::test
