/* SPDX-License-Identifier: BSD-3-Clause */
#include "resources.h"

#include <cstdio>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "violation.h"

namespace dpsan::soak {

DPSAN_STATS stats(const WSPPROC_TABLE& proc) {
  DPSAN_STATS st{};
  DWORD got = 0;
  int err = 0;
  if (proc.lpWSPIoctl(0, SIO_DPSAN_GET_STATS, nullptr, 0, &st, sizeof st, &got, nullptr, nullptr,
                      nullptr, &err) != 0)
    st = DPSAN_STATS{};
  return st;
}

uint64_t rss_kib() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  unsigned long long kib = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmRSS: %llu kB", &kib) == 1) break;
  std::fclose(f);
  return kib;
}

Held held(const DPSAN_STATS& st) {
  return Held{st.ops_in_flight, st.sockets_open, st.connections,  st.registrations,
              st.rdma_registrations, st.mbufs_in_use, st.pending_upcalls, st.cache_entries};
}

std::string held_diff(const Held& want, const Held& now) {
  std::string out;
  auto cmp = [&](const char* name, uint64_t w, uint64_t n) {
    if (w != n)
      out += std::string(out.empty() ? "" : ", ") + name + " " + std::to_string(n) + " (expected " +
             std::to_string(w) + ")";
  };
  cmp("ops_in_flight", want.ops_in_flight, now.ops_in_flight);
  cmp("sockets_open", want.sockets_open, now.sockets_open);
  cmp("connections", want.connections, now.connections);
  cmp("registrations", want.registrations, now.registrations);
  cmp("rdma_registrations", want.rdma_registrations, now.rdma_registrations);
  cmp("mbufs_in_use", want.mbufs_in_use, now.mbufs_in_use);
  cmp("pending_upcalls", want.pending_upcalls, now.pending_upcalls);
  cmp("cache_entries", want.cache_entries, now.cache_entries);
  return out;
}

DPSAN_STATS expect_counts(const WSPPROC_TABLE& proc, Held want, const std::string& when, bool any_cache) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  DPSAN_STATS st{};
  std::string diff;
  do {
    st = stats(proc);
    Held now = held(st);
    if (any_cache) want.cache_entries = now.cache_entries;
    diff = held_diff(want, now);
    if (diff.empty()) return st;
    usleep(20 * 1000);
  } while (std::chrono::steady_clock::now() < end);
  violation(when + ": " + diff);
  return st;
}

void Baselines::at_startup(const WSPPROC_TABLE& proc, unsigned cycle) {
  Held now = held(stats(proc));
  if (!have_counts_) {
    counts_ = now;
    have_counts_ = true;
  } else if (std::string d = held_diff(counts_, now); !d.empty()) {
    violation("at startup " + std::to_string(cycle) + ", after the previous final cleanup: " + d);
  }
}

/**
 * Under ASan freed memory waits in a quarantine (256 MiB by default) instead of going back,
 * so resident memory grows by design: the flat-memory check is left to the other builds. The
 * provider's own counts (pools, tables) are still checked exactly.
 */
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

void Baselines::after_cleanup(unsigned cycle) {
  uint64_t rss = rss_kib();
  rss_max_ = std::max(rss_max_, rss);
  if (cycle == 1) rss_first_ = rss;
  if (cycle <= 2) {
    rss_ref_ = std::max(rss_ref_, rss);
  } else if (!kAsan && rss > rss_ref_ + tolerance_kib_) {
    violation("resident memory " + std::to_string(rss / 1024) + " MiB after cleanup " + std::to_string(cycle) +
              ", more than " + std::to_string(tolerance_kib_ / 1024) + " MiB over the " +
              std::to_string(rss_ref_ / 1024) + " MiB after the first two");
  }
}

}  // namespace dpsan::soak
