/* SPDX-License-Identifier: BSD-3-Clause */
#include "reg_cache.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "dma_map.h"

namespace dpsan::fastpath {

namespace {
uintptr_t page_size() {
  static const uintptr_t ps = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  return ps;
}
}  // namespace

uint32_t RegCache::map_dma(Entry& e) {
  if (e.dma == Dma::kUntried && dma_ != nullptr && dma_->enabled()) {
    e.dma_mask = dma_->map(e.start, e.end - e.start);
    e.dma = e.dma_mask ? Dma::kHeld : Dma::kFailed;
  }
  return e.dma == Dma::kHeld ? e.dma_mask : 0;
}

uint64_t RegCache::acquire(uintptr_t addr, uint64_t len, uint32_t rights, bool want_dma,
                           uint32_t* dma_mask) {
  uintptr_t ps = page_size();
  uintptr_t start = addr & ~(ps - 1);
  uintptr_t end = (addr + (len ? len : 1) + ps - 1) & ~(ps - 1);
  std::lock_guard<std::mutex> lk(mu_);
  uint64_t id = 0;
  for (auto& [eid, e] : entries_) {
    if (e.doomed || start < e.start || e.end < end) continue;
    if ((rights & ~e.rights) != 0) {
      // Checked for less than asked: check the pages asked for (the rest of the cached range
      // may rightly lack them), and remember it only if they are the whole range.
      if (!page_rights_allow(addr, len, rights)) return 0;
      if (start == e.start && end == e.end) e.rights |= rights;
    }
    e.refs++;
    hits_++;
    id = eid;
    break;
  }
  if (id == 0) {
    if (!page_rights_allow(addr, len ? len : 1, rights)) return 0;
    // Resident while registered (spec 7); a failure (RLIMIT_MEMLOCK) leaves the memory usable
    // for the CPU. A device that DMAs needs the pages fixed: the DMA mapping pins them itself
    // (VFIO pins what it maps).
    bool pinned = mlock(reinterpret_cast<void*>(start), end - start) == 0;
    id = next_id_++;
    entries_[id] = Entry{start, end, 1, pinned, false, rights, Dma::kUntried, 0};
    misses_++;
  }
  uint32_t mask = want_dma ? map_dma(entries_[id]) : 0;
  if (dma_mask) *dma_mask = mask;
  return id;
}

void RegCache::drop(std::map<uint64_t, Entry>::iterator it) {
  const Entry e = it->second;
  entries_.erase(it);
  // Unmapped before it is unpinned: a device must not be able to read a page that can move.
  if (e.dma == Dma::kHeld) dma_->unmap(e.start, e.end - e.start);
  if (e.pinned) unpin_uncovered(e.start, e.end);
}

void RegCache::unpin_uncovered(uintptr_t start, uintptr_t end) {
  // mlock does not nest: one munlock unlocks a page whatever else locked it, so the pages an
  // overlapping cached range still holds stay locked. Few ranges overlap; a scan per step.
  for (uintptr_t cur = start; cur < end;) {
    uintptr_t covered_to = cur, next_cover = end;
    for (const auto& [id, o] : entries_) {
      if (!o.pinned || o.end <= cur || o.start >= next_cover) continue;
      if (o.start <= cur) covered_to = std::max(covered_to, o.end);
      else next_cover = o.start;
    }
    if (covered_to > cur) {
      cur = covered_to;
      continue;
    }
    munlock(reinterpret_cast<void*>(cur), next_cover - cur);
    cur = next_cover;
  }
}

void RegCache::release(uint64_t id) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.refs == 0) return;
  if (--it->second.refs == 0 && it->second.doomed) drop(it);
}

RegCache::Invalidate RegCache::invalidate(uintptr_t addr, uint64_t size) {
  uintptr_t end = size > UINTPTR_MAX - addr ? UINTPTR_MAX : addr + size;
  std::lock_guard<std::mutex> lk(mu_);
  bool any = false, busy = false;
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    // Overlap, partial or whole (R65): [e.start, e.end) meets [addr, end).
    if (e.start < end && addr < e.end && size != 0) {
      any = true;
      if (e.refs == 0) {
        drop(it++);
        continue;
      }
      e.doomed = true;
      busy = true;
    }
    ++it;
  }
  if (!any) return Invalidate::kNeverCached;
  return busy ? Invalidate::kInUse : Invalidate::kDropped;
}

void RegCache::clear() {
  std::lock_guard<std::mutex> lk(mu_);
  while (!entries_.empty()) drop(entries_.begin());
}

RegCache::Stats RegCache::stats() {
  std::lock_guard<std::mutex> lk(mu_);
  return Stats{entries_.size(), hits_, misses_};
}

}  // namespace dpsan::fastpath
