/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What the soak watches for leaks: the provider's counts (DPSAN_STATS through the public
 * SIO_DPSAN_GET_STATS ioctl) and the process's resident memory (VmRSS).
 */
#pragma once

#include <cstdint>
#include <string>

#include <dpsan/dpsan_stats.h>
#include <dpsan/ws2spi.h>

namespace dpsan::soak {

/** A snapshot of the running instance's counts (zeros when the ioctl fails). */
DPSAN_STATS stats(const WSPPROC_TABLE& proc);

/** The process's resident set in KiB (VmRSS of /proc/self/status). */
uint64_t rss_kib();

/** The counts that must come back to their value in `base` after each final cleanup. */
struct Held {
  uint64_t ops_in_flight, sockets_open, connections, registrations, rdma_registrations,
      mbufs_in_use, pending_upcalls, cache_entries;
};
Held held(const DPSAN_STATS& st);

/** "" when `now` equals `want`; otherwise each count that differs, named, with both values. */
std::string held_diff(const Held& want, const Held& now);

/**
 * Waits up to 5 s (acks, timers and the notifier may still hold some) for the counts to equal
 * `want`, and reports a violation naming `when` if they do not. `any_cache`: the registration
 * cache may hold any number of ranges. @return the last snapshot.
 */
DPSAN_STATS expect_counts(const WSPPROC_TABLE& proc, Held want, const std::string& when, bool any_cache);

/**
 * The baselines of a run: the counts at the first startup, which every later startup must
 * match (R13, R20), and the resident memory after each final cleanup, which must stay within
 * a tolerance of the largest value after the first two cleanups (the warm-up).
 */
class Baselines {
 public:
  explicit Baselines(uint64_t rss_tolerance_mib) : tolerance_kib_(rss_tolerance_mib * 1024) {}
  /** At a startup, before any socket: reports each count the previous cleanup did not bring back. */
  void at_startup(const WSPPROC_TABLE& proc, unsigned cycle);
  /** After a final cleanup: reports resident memory beyond the tolerance. */
  void after_cleanup(unsigned cycle);
  const Held& counts() const { return counts_; }
  uint64_t rss_first_mib() const { return rss_first_ / 1024; }
  uint64_t rss_max_mib() const { return rss_max_ / 1024; }

 private:
  uint64_t tolerance_kib_;
  bool have_counts_ = false;
  Held counts_{};
  uint64_t rss_ref_ = 0, rss_first_ = 0, rss_max_ = 0;
};

}  // namespace dpsan::soak
