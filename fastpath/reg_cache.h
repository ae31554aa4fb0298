/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * RegCache: the registration cache (spec 2.16 "Caching", R65).
 *
 * Registering memory makes its pages resident for the data plane (mlock; best effort, see
 * README) and that is what is cached, by page-aligned virtual range: a deregistration drops
 * its reference and leaves the range pinned, so registering it again costs a lookup. Remote
 * access is *not* cached: RDMA rights live in the connection's region table and are revoked at
 * deregistration whatever the cache holds (R63).
 *
 * The switch calls WSPMemoryRegistrationCacheCallback(addr, size) before it unmaps, frees or
 * remaps a range; invalidate() then drops every cached range that overlaps it, partial
 * overlaps included, so a later registration is a fresh one.
 *
 * Threading: slow path only (SPI threads), serialised by the cache's own mutex.
 */
#pragma once

#include <cstdint>
#include <map>
#include <mutex>

namespace dpsan::fastpath {

class RegCache {
 public:
  struct Stats {
    uint64_t entries = 0;   ///< ranges cached (in use or not)
    uint64_t hits = 0;      ///< registrations served from the cache
    uint64_t misses = 0;    ///< registrations that pinned a new range
  };

  /**
   * Take a reference on a cached range covering [addr, addr+len), pinning a new one if none.
   * @return an id for release() (never 0).
   */
  uint64_t acquire(uintptr_t addr, uint64_t len);
  /** Drop a reference taken by acquire(); the range stays cached. Unknown ids are ignored. */
  void release(uint64_t id);

  enum class Invalidate { kDropped, kNeverCached, kInUse };
  /**
   * Drop every cached range overlapping [addr, addr+size). Ranges still referenced by a live
   * registration cannot be released: they are no longer reused and are dropped at their last
   * release, and the call answers kInUse (WSAEFAULT). kNeverCached: nothing overlapped
   * (WSAEINVAL).
   */
  Invalidate invalidate(uintptr_t addr, uint64_t size);

  /** Unpin and forget everything (final cleanup step 6). */
  void clear();
  Stats stats();

 private:
  struct Entry {
    uintptr_t start, end;  ///< page-aligned [start, end)
    uint32_t refs;
    bool pinned;           ///< mlock succeeded
    bool doomed;           ///< invalidated while in use: never reused, dropped at refs 0
  };
  void drop(std::map<uint64_t, Entry>::iterator it);

  std::mutex mu_;
  std::map<uint64_t, Entry> entries_;  // by id
  uint64_t next_id_ = 1;
  uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace dpsan::fastpath
