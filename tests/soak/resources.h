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

}  // namespace dpsan::soak
