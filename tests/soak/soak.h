/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The one-process soak: cycles of WSPStartupEx, many links (link.h) under traffic, faults,
 * random graceful and abrupt closes and reconnects, then a final WSPCleanup with operations
 * in flight. Between and after cycles it checks that the provider's counts and the process's
 * resident memory come back to their baseline. It stops at the first violation.
 */
#pragma once

#include <cstdint>
#include <string>

namespace dpsan::soak {

struct Options {
  double duration_s = 120;
  unsigned connections = 8;
  std::string port = "loopback";  // "loopback" or "ringpair"
  double loss = 0.05, duplicate = 0.02, reorder = 0.05, corrupt = 0.01;
  uint32_t delay_us = 0, flap_period_ms = 0, flap_down_ms = 0;
  uint64_t seed = 1;
  double cycle_min_s = 5, cycle_max_s = 20;  // length of one startup-to-cleanup cycle
  double close_rate = 1.0;                   // random closes per second, all links together
  uint32_t window = 2;
  uint32_t max_size = 1u << 20;
  uint32_t rdma_max = 1u << 20;
  double rate = 0;                           // operations started per second (0: no limit)
  std::string idle = "adaptive";
  uint64_t rss_tolerance_mib = 48;
  uint64_t self_test_corrupt = 0;            // corrupt the n-th message received (0: off)
  bool self_test_leak = false;               // leave one socket open in each cycle
  uint64_t self_test_double = 0;             // deliver the n-th completion twice (0: off)
  uint64_t self_test_status = 0;             // the n-th completion gets WSAECONNRESET (0: off)
};

/** Runs the soak; prints the progress line each second and the summary. @return the exit code. */
int run_soak(const Options& o);

}  // namespace dpsan::soak
