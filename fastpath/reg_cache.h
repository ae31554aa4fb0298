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
 * DMA mappings follow the cache. A registration that wants its pages readable by the devices
 * that DMA (local registrations: their frames may go zero-copy) has its cached range held in
 * the DmaMap (dma_map.h) for as long as the range is cached: a deregistration keeps the
 * mapping, so registering again costs no system call either, and the mapping goes only when
 * the range does (invalidation, final cleanup). An invalidated range never outlives its
 * mapping's validity: the switch calls the callback before the pages change, and a range a
 * live registration still holds is dropped, and unmapped, at its last release. RDMA
 * registrations (read only by the CPU here) ask for no mapping, so their ranges use no memseg
 * list. A mapping that failed is not tried again while its range stays cached.
 *
 * The switch must also call the callback before it changes the protection of a cached range:
 * rights are checked when a range enters the cache (page_rights.h), not at every registration.
 *
 * Threading: slow path only (SPI threads), serialised by the cache's own mutex.
 */
#pragma once

#include <cstdint>
#include <map>
#include <mutex>

#include "page_rights.h"

namespace dpsan::fastpath {

class DmaMap;

class RegCache {
 public:
  /** `dma` (nullptr: no mapping ever) must outlive the cache. */
  explicit RegCache(DmaMap* dma = nullptr) : dma_(dma) {}
  ~RegCache() { clear(); }

  struct Stats {
    uint64_t entries = 0;   ///< ranges cached (in use or not)
    uint64_t hits = 0;      ///< registrations served from the cache
    uint64_t misses = 0;    ///< registrations that pinned a new range
  };

  /**
   * Take a reference on a cached range covering [addr, addr+len), pinning a new one if none.
   * `rights` (kPageRead | kPageWrite, page_rights.h) are checked when the range enters the
   * cache, or when a cached range is asked for rights it was not checked for: a range already
   * checked costs no system call. With `want_dma`, the range is also held in the DmaMap (once
   * per cached range) and *dma_mask (if not nullptr) gets the devices it is mapped for (0:
   * none, frames are copied to devices that DMA).
   * @return an id for release(), or 0 (nothing taken) if some page lacks the rights.
   */
  uint64_t acquire(uintptr_t addr, uint64_t len, uint32_t rights, bool want_dma = false,
                   uint32_t* dma_mask = nullptr);
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
  enum class Dma : uint8_t { kUntried, kHeld, kFailed };
  struct Entry {
    uintptr_t start, end;  ///< page-aligned [start, end)
    uint32_t refs;
    bool pinned;           ///< mlock succeeded
    bool doomed;           ///< invalidated while in use: never reused, dropped at refs 0
    uint32_t rights;       ///< page rights checked over the whole of [start, end)
    Dma dma;               ///< kHeld: one DmaMap hold on [start, end)
    uint32_t dma_mask;     ///< devices mapped (kHeld)
  };
  void drop(std::map<uint64_t, Entry>::iterator it);
  /** munlock the pages of [start, end) that no other pinned cached range covers. */
  void unpin_uncovered(uintptr_t start, uintptr_t end);
  uint32_t map_dma(Entry& e);

  DmaMap* dma_;
  std::mutex mu_;
  std::map<uint64_t, Entry> entries_;  // by id
  uint64_t next_id_ = 1;
  uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace dpsan::fastpath
