/* SPDX-License-Identifier: BSD-3-Clause */
/** @file One measured run of dpsan-perf, and the statistics over it. */
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dpsan::perf {

struct Result {
  /// "dpsan" (ethdev layout), "dpsan-uring", "dpsan-memif", "dpsan-veth", "kernel-tcp" or
  /// "kernel-udp-busy"
  std::string transport;
  std::string mode;       ///< "pingpong", "stream", "rdma-write" or "rdma-read"
  uint32_t size = 0;
  double rtt_p50_us = 0, rtt_p99_us = 0, rtt_p999_us = 0;
  double msgs_per_s = 0;
  double gbps = 0;
  uint64_t messages = 0;
  double seconds = 0;     ///< the run's measured length
  /// Ping-pong: (round trip in us, fraction of round trips at most that long), ascending.
  std::vector<std::pair<double, double>> rtt_cdf;
  std::string error;      ///< non-empty when the run failed
};

/** Percentile (0..1) of sorted samples in nanoseconds, in microseconds. */
inline double percentile_us(const std::vector<uint64_t>& sorted_ns, double q) {
  if (sorted_ns.empty()) return 0;
  size_t i = std::min(sorted_ns.size() - 1, static_cast<size_t>(q * static_cast<double>(sorted_ns.size())));
  return static_cast<double>(sorted_ns[i]) / 1000.0;
}

/** About 100 points of the CDF: every 1% up to 99%, then the tail up to the maximum. */
inline std::vector<std::pair<double, double>> cdf_points(const std::vector<uint64_t>& sorted_ns) {
  std::vector<std::pair<double, double>> out;
  if (sorted_ns.empty()) return out;
  std::vector<double> qs;
  for (int i = 0; i <= 99; i++) qs.push_back(i / 100.0);
  for (double q : {0.995, 0.999, 0.9995, 0.9999}) qs.push_back(q);
  for (double q : qs) out.emplace_back(percentile_us(sorted_ns, q), q);
  out.emplace_back(static_cast<double>(sorted_ns.back()) / 1000.0, 1.0);
  return out;
}

/** Round trips over `seconds` (measured): count, rate, percentiles and CDF of the samples (ns). Sorts them. */
inline void fill_latency(Result& r, std::vector<uint64_t>& rtt_ns, double seconds) {
  std::sort(rtt_ns.begin(), rtt_ns.end());
  r.messages = rtt_ns.size();
  r.seconds = seconds;
  r.msgs_per_s = static_cast<double>(rtt_ns.size()) / seconds;
  r.gbps = r.msgs_per_s * r.size * 2 * 8 / 1e9;  // both directions
  r.rtt_p50_us = percentile_us(rtt_ns, 0.50);
  r.rtt_p99_us = percentile_us(rtt_ns, 0.99);
  r.rtt_p999_us = percentile_us(rtt_ns, 0.999);
  r.rtt_cdf = cdf_points(rtt_ns);
}

inline void fill_rate(Result& r, uint64_t messages, double seconds) {
  r.messages = messages;
  r.seconds = seconds;
  r.msgs_per_s = static_cast<double>(messages) / seconds;
  r.gbps = r.msgs_per_s * r.size * 8 / 1e9;
}

}  // namespace dpsan::perf
