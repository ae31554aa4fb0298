/* SPDX-License-Identifier: BSD-3-Clause */
#include "mr_table.h"

namespace dpsan::fastpath {

bool MrTable::init(uint32_t capacity) {
  slots_ = std::vector<Slot>(capacity);
  free_.clear();
  free_.reserve(capacity);
  for (uint32_t i = capacity; i > 0; i--) free_.push_back(i - 1);
  live_.store(0, std::memory_order_relaxed);
  return true;
}

MrTable::Slot* MrTable::slot_of(uint64_t handle, uint32_t* index) const {
  uint64_t idx1 = handle & 0xffffffffu;
  if (idx1 == 0 || idx1 > slots_.size()) return nullptr;
  *index = static_cast<uint32_t>(idx1 - 1);
  return const_cast<Slot*>(&slots_[*index]);
}

uint64_t MrTable::create(uint64_t owner, uintptr_t addr, uint32_t len, uint32_t flags,
                         uint32_t dma_mask) {
  std::lock_guard<std::mutex> lk(mu_);
  if (free_.empty()) return 0;
  uint32_t i = free_.back();
  free_.pop_back();
  Slot& s = slots_[i];
  s.owner.store(owner, std::memory_order_relaxed);
  s.addr.store(addr, std::memory_order_relaxed);
  s.len.store(len, std::memory_order_relaxed);
  s.flags.store(flags, std::memory_order_relaxed);
  s.dma_mask.store(dma_mask, std::memory_order_relaxed);
  uint32_t gen = s.gen.load(std::memory_order_relaxed);
  // A stale acquire() may hold a transient use on the dead slot; wait for it to back out so
  // that its fetch_sub cannot underflow the live count. The release publishes the fields
  // above to acquire(), which reads them after its fetch_add.
  uint64_t expect = kDead;
  while (!s.state.compare_exchange_weak(expect, 0, std::memory_order_release,
                                        std::memory_order_relaxed))
    expect = kDead;
  live_.fetch_add(1, std::memory_order_relaxed);
  return (static_cast<uint64_t>(gen) << 32) | (i + 1);
}

int MrTable::destroy(uint64_t handle, uint64_t owner) {
  uint32_t i;
  Slot* s = slot_of(handle, &i);
  if (s == nullptr) return -1;
  std::lock_guard<std::mutex> lk(mu_);
  if (s->gen.load(std::memory_order_relaxed) != (handle >> 32) ||
      s->owner.load(std::memory_order_relaxed) != owner)
    return -1;
  uint64_t expect = 0;
  if (!s->state.compare_exchange_strong(expect, kDead, std::memory_order_acq_rel)) return -1;
  s->gen.fetch_add(1, std::memory_order_relaxed);
  free_.push_back(i);
  live_.fetch_sub(1, std::memory_order_relaxed);
  return 0;
}

void MrTable::destroy_all() {
  std::lock_guard<std::mutex> lk(mu_);
  free_.clear();
  for (uint32_t i = static_cast<uint32_t>(slots_.size()); i > 0; i--) {
    Slot& s = slots_[i - 1];
    if (!(s.state.load(std::memory_order_relaxed) & kDead)) s.gen.fetch_add(1, std::memory_order_relaxed);
    s.state.store(kDead, std::memory_order_relaxed);
    free_.push_back(i - 1);
  }
  live_.store(0, std::memory_order_relaxed);
}

uint32_t MrTable::acquire(uint64_t handle, uint64_t owner, uintptr_t addr, uint32_t len,
                          uint32_t need) {
  uint32_t i;
  Slot* s = slot_of(handle, &i);
  if (s == nullptr) return kMrNone;
  uint64_t st = s->state.fetch_add(1, std::memory_order_acquire);
  bool ok = !(st & kDead) && s->gen.load(std::memory_order_relaxed) == (handle >> 32) &&
            s->owner.load(std::memory_order_relaxed) == owner &&
            (s->flags.load(std::memory_order_relaxed) & need) == need;
  if (ok) {
    uintptr_t a = s->addr.load(std::memory_order_relaxed);
    uint32_t l = s->len.load(std::memory_order_relaxed);
    ok = addr >= a && len <= l && addr - a <= l - len;
  }
  if (!ok) {
    s->state.fetch_sub(1, std::memory_order_relaxed);
    return kMrNone;
  }
  return i;
}

bool MrTable::covers(uint64_t handle, uint64_t owner, uintptr_t addr, uint32_t len) const {
  uint32_t i;
  const Slot* s = slot_of(handle, &i);
  if (s == nullptr || (s->state.load(std::memory_order_acquire) & kDead)) return false;
  if (s->gen.load(std::memory_order_relaxed) != (handle >> 32) ||
      s->owner.load(std::memory_order_relaxed) != owner)
    return false;
  uintptr_t a = s->addr.load(std::memory_order_relaxed);
  uint32_t l = s->len.load(std::memory_order_relaxed);
  return addr >= a && len <= l && addr - a <= l - len;
}

}  // namespace dpsan::fastpath
