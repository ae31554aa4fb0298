/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * dpsan-perf --json FILE. The schema (README "dpsan-perf JSON"):
 *   { "tool": "dpsan-perf", "version": 1, "runs": [ {
 *       "transport": "dpsan" | "dpsan-uring" | "kernel-tcp", "mode": "pingpong" | "stream", "size": bytes,
 *       "rtt_us": { "p50": x, "p99": x, "p999": x },   // ping-pong only; 0 for stream
 *       "msgs_per_s": x, "gbps": x, "messages": n, "error": "..."  // error only if it failed
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

/** @return false if the file cannot be written. */
inline bool write_json(const std::string& path, const std::vector<Result>& rows) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  std::fprintf(f, "{\"tool\": \"dpsan-perf\", \"version\": 1, \"runs\": [");
  for (size_t i = 0; i < rows.size(); i++) {
    const Result& r = rows[i];
    std::fprintf(f,
                 "%s\n  {\"transport\": \"%s\", \"mode\": \"%s\", \"size\": %u, "
                 "\"rtt_us\": {\"p50\": %.3f, \"p99\": %.3f, \"p999\": %.3f}, "
                 "\"msgs_per_s\": %.1f, \"gbps\": %.4f, \"messages\": %llu",
                 i ? "," : "", r.transport.c_str(), r.mode.c_str(), r.size, r.rtt_p50_us,
                 r.rtt_p99_us, r.rtt_p999_us, r.msgs_per_s, r.gbps,
                 static_cast<unsigned long long>(r.messages));
    if (!r.error.empty()) std::fprintf(f, ", \"error\": \"%s\"", json_escape(r.error).c_str());
    std::fprintf(f, "}");
  }
  std::fprintf(f, "\n]}\n");
  return std::fclose(f) == 0;
}

}  // namespace dpsan::perf
