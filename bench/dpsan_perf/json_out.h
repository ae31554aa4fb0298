/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * dpsan-perf --json FILE. The schema (README "dpsan-perf JSON"), version 2:
 *   { "tool": "dpsan-perf", "version": 2, "command": "...", "duration_s": x, "runs": [ {
 *       "transport": "dpsan" | "dpsan-uring" | "dpsan-memif" | "dpsan-veth" | "kernel-tcp"
 *                    | "kernel-udp-busy",
 *       "mode": "pingpong" | "stream" | "rdma-write" | "rdma-read", "size": bytes,
 *       "rtt_us": { "p50": x, "p99": x, "p999": x },   // ping-pong only; 0 otherwise
 *       "msgs_per_s": x,      // round trips, messages or RDMA operations per second
 *       "gbps": x,            // payload Gbit/s (ping-pong: both directions)
 *       "messages": n, "seconds": x,
 *       "ratio": { "kernel-tcp": x, "kernel-udp-busy": x },  // dpsan rows with a baseline only
 *       "rtt_cdf": [[us, fraction], ...],                      // ping-pong only
 *       "error": "..."        // only if it failed
 *   } ] }
 */
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "results.h"

namespace dpsan::perf {

inline std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

/** A ratio of one run to a baseline of the same run set; <= 0 when there is none. */
struct Ratios {
  double tcp = 0, udp = 0;
};

/** @return false if the file cannot be written. ratios[i] belongs to rows[i]. */
inline bool write_json(const std::string& path, const std::string& command, double duration,
                       const std::vector<Result>& rows, const std::vector<Ratios>& ratios) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  std::fprintf(f, "{\"tool\": \"dpsan-perf\", \"version\": 2, \"command\": \"%s\", \"duration_s\": %g, \"runs\": [",
               json_escape(command).c_str(), duration);
  for (size_t i = 0; i < rows.size(); i++) {
    const Result& r = rows[i];
    std::fprintf(f,
                 "%s\n  {\"transport\": \"%s\", \"mode\": \"%s\", \"size\": %u, "
                 "\"rtt_us\": {\"p50\": %.3f, \"p99\": %.3f, \"p999\": %.3f}, "
                 "\"msgs_per_s\": %.1f, \"gbps\": %.4f, \"messages\": %llu, \"seconds\": %.3f",
                 i ? "," : "", r.transport.c_str(), r.mode.c_str(), r.size, r.rtt_p50_us,
                 r.rtt_p99_us, r.rtt_p999_us, r.msgs_per_s, r.gbps,
                 static_cast<unsigned long long>(r.messages), r.seconds);
    if (ratios[i].tcp > 0 || ratios[i].udp > 0) {
      std::fprintf(f, ", \"ratio\": {");
      if (ratios[i].tcp > 0) std::fprintf(f, "\"kernel-tcp\": %.3f", ratios[i].tcp);
      if (ratios[i].udp > 0) std::fprintf(f, "%s\"kernel-udp-busy\": %.3f", ratios[i].tcp > 0 ? ", " : "", ratios[i].udp);
      std::fprintf(f, "}");
    }
    if (!r.rtt_cdf.empty()) {
      std::fprintf(f, ", \"rtt_cdf\": [");
      for (size_t k = 0; k < r.rtt_cdf.size(); k++)
        std::fprintf(f, "%s[%.3f, %.4f]", k ? ", " : "", r.rtt_cdf[k].first, r.rtt_cdf[k].second);
      std::fprintf(f, "]");
    }
    if (!r.error.empty()) std::fprintf(f, ", \"error\": \"%s\"", json_escape(r.error).c_str());
    std::fprintf(f, "}");
  }
  std::fprintf(f, "\n]}\n");
  return std::fclose(f) == 0;
}

}  // namespace dpsan::perf
