/* SPDX-License-Identifier: BSD-3-Clause */
#include "violation.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace dpsan::soak {

namespace {
std::atomic<uint64_t> g_count{0};
std::mutex g_mu;  // only taken on a violation: never on a healthy run's path
std::string g_first;
}  // namespace

void violation(const std::string& what) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_count.fetch_add(1, std::memory_order_acq_rel) == 0) {
    g_first = what;
    std::fprintf(stderr, "dpsan-soak: VIOLATION: %s\n", what.c_str());
  }
}

uint64_t violation_count() { return g_count.load(std::memory_order_acquire); }

std::string first_violation() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_first;
}

}  // namespace dpsan::soak
