/* SPDX-License-Identifier: BSD-3-Clause */
/** @file One measured run of dpsan-perf, and the statistics over it. */
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace dpsan::perf {

struct Result {
  std::string transport;  ///< "dpsan" (ethdev layout), "dpsan-uring" or "kernel-tcp"
  std::string mode;       ///< "pingpong" or "stream"
  uint32_t size = 0;
  double rtt_p50_us = 0, rtt_p99_us = 0, rtt_p999_us = 0;
  double msgs_per_s = 0;
  double gbps = 0;
  uint64_t messages = 0;
  std::string error;      ///< non-empty when the run failed
};

/** Percentile (0..1) of samples in nanoseconds, in microseconds. Sorts `ns`. */
inline double percentile_us(std::vector<uint64_t>& ns, double q) {
  if (ns.empty()) return 0;
  std::sort(ns.begin(), ns.end());
  size_t i = std::min(ns.size() - 1, static_cast<size_t>(q * static_cast<double>(ns.size())));
  return static_cast<double>(ns[i]) / 1000.0;
}

/** Round trips: count, rate and percentiles of the samples (ns). Sorts them. */
inline void fill_latency(Result& r, std::vector<uint64_t>& rtt_ns, double seconds) {
  r.messages = rtt_ns.size();
  r.msgs_per_s = static_cast<double>(rtt_ns.size()) / seconds;
  r.rtt_p50_us = percentile_us(rtt_ns, 0.50);
  r.rtt_p99_us = percentile_us(rtt_ns, 0.99);
  r.rtt_p999_us = percentile_us(rtt_ns, 0.999);
}

inline void fill_rate(Result& r, uint64_t messages, double seconds) {
  r.messages = messages;
  r.msgs_per_s = static_cast<double>(messages) / seconds;
  r.gbps = r.msgs_per_s * r.size * 8 / 1e9;
}

}  // namespace dpsan::perf
