/* SPDX-License-Identifier: BSD-3-Clause */
// rte_dev_dma_map / rte_dev_dma_unmap are still experimental in DPDK 22.11.
#define ALLOW_EXPERIMENTAL_API 1

#include "dma_map.h"

#include <unistd.h>

#include <algorithm>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memory.h>

namespace dpsan::fastpath {

namespace {

uintptr_t page_size() {
  static const uintptr_t ps = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  return ps;
}

DmaOps g_dpdk_ops;

struct Range {
  uintptr_t start, end;
};

/** rte_memseg_list_walk callback: 1 (stop) when the list overlaps the Range. */
int overlaps(const rte_memseg_list* msl, void* arg) {
  const auto* r = static_cast<const Range*>(arg);
  auto base = reinterpret_cast<uintptr_t>(msl->base_va);
  return base < r->end && r->start < base + msl->len ? 1 : 0;
}

}  // namespace

bool DmaOps::iova_is_va() { return rte_eal_iova_mode() == RTE_IOVA_VA; }

int DmaOps::extmem_register(uintptr_t va, size_t len, size_t page) {
  // DPDK registers external memory over its own (or over another external list) without a
  // word (seen on 22.11), and unmapping such a range later would take the device's mapping of
  // DPDK's own memory away with it. DmaMap never asks for its own chunks twice, so any list
  // met here belongs to someone else: refuse, and the range is copied.
  Range r{va, va + len};
  if (rte_memseg_list_walk(overlaps, &r) != 0) return EEXIST;
  // The IOVA table DPDK keeps for the pages (rte_mem_virt2iova answers from it).
  std::vector<rte_iova_t> iova(len / page);
  for (size_t i = 0; i < iova.size(); i++) iova[i] = va + i * page;
  if (rte_extmem_register(reinterpret_cast<void*>(va), len, iova.data(),
                          static_cast<unsigned>(iova.size()), page) == 0)
    return 0;
  return rte_errno ? rte_errno : EINVAL;
}

void DmaOps::extmem_unregister(uintptr_t va, size_t len) {
  rte_extmem_unregister(reinterpret_cast<void*>(va), len);
}

int DmaOps::dma_map(rte_device* dev, uintptr_t va, size_t len) {
  // The vdev bus answers 0 for a driver without a dma_map of its own (nothing to map: it reads
  // through the CPU); a positive answer (no driver bound) is not a mapping either.
  int rc = rte_dev_dma_map(dev, reinterpret_cast<void*>(va), va, len);
  if (rc == 0) return 0;
  return rc < 0 && rte_errno ? rte_errno : ENOTSUP;
}

void DmaOps::dma_unmap(rte_device* dev, uintptr_t va, size_t len) {
  rte_dev_dma_unmap(dev, reinterpret_cast<void*>(va), va, len);
}

DmaMap::~DmaMap() { clear(); }

bool DmaMap::init(const std::vector<rte_device*>& devices, DmaOps* ops) {
  if (devices.size() > kMaxDevices) return false;
  std::lock_guard<std::mutex> lk(mu_);
  devices_ = devices;
  ops_ = ops ? ops : &g_dpdk_ops;
  all_ = devices.empty() ? 0 : static_cast<uint32_t>((uint64_t{1} << devices.size()) - 1);
  // IOVA as PA: no IO address for the switch's pages (dma_map.h), so nothing is mapped.
  enabled_ = !devices.empty() && ops_->iova_is_va();
  return true;
}

bool DmaMap::add_chunk_locked(uintptr_t start, uintptr_t end) {
  size_t len = end - start;
  if (ops_->extmem_register(start, len, page_size()) != 0) return false;
  uint32_t mask = 0;
  for (unsigned i = 0; i < devices_.size(); i++)
    if (ops_->dma_map(devices_[i], start, len) == 0) mask |= 1u << i;
  chunks_.emplace(start, Chunk{end, 0, mask});
  return true;
}

void DmaMap::drop_chunk_locked(Chunks::iterator it) {
  uintptr_t start = it->first;
  size_t len = it->second.end - start;
  // Unmapped from the devices before DPDK forgets the pages (rte_dev_dma_unmap needs them known).
  for (unsigned i = 0; i < devices_.size(); i++)
    if (it->second.mask & (1u << i)) ops_->dma_unmap(devices_[i], start, len);
  ops_->extmem_unregister(start, len);
  chunks_.erase(it);
}

DmaMap::Chunks::iterator DmaMap::first_touching_locked(uintptr_t start) {
  auto it = chunks_.upper_bound(start);
  if (it != chunks_.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end > start) return prev;
  }
  return it;
}

bool DmaMap::fill_gaps_locked(uintptr_t start, uintptr_t end, std::vector<uintptr_t>* created) {
  uintptr_t cur = start;
  auto it = first_touching_locked(start);
  while (cur < end) {
    if (it != chunks_.end() && it->first <= cur) {  // held already: skip over it
      cur = std::max(cur, it->second.end);
      ++it;
      continue;
    }
    uintptr_t gap_end = it != chunks_.end() ? std::min(end, it->first) : end;
    if (!add_chunk_locked(cur, gap_end)) return false;
    created->push_back(cur);
    cur = gap_end;
  }
  return true;
}

void DmaMap::unref_locked(uintptr_t start, uintptr_t end) {
  for (auto it = first_touching_locked(start); it != chunks_.end() && it->first < end;) {
    auto next = std::next(it);
    if (it->second.refs > 0 && --it->second.refs == 0) drop_chunk_locked(it);
    it = next;
  }
}

uint32_t DmaMap::map(uintptr_t addr, uint64_t len) {
  uintptr_t ps = page_size();
  uintptr_t start = addr & ~(ps - 1);
  uintptr_t end = (addr + (len ? len : 1) + ps - 1) & ~(ps - 1);
  std::lock_guard<std::mutex> lk(mu_);
  if (!enabled_) return 0;
  std::vector<uintptr_t> created;
  if (!fill_gaps_locked(start, end, &created)) {
    // All or nothing: what this call registered goes again, the chunks held before stay.
    for (uintptr_t s : created) drop_chunk_locked(chunks_.find(s));
    failures_++;
    return 0;
  }
  uint32_t mask = all_;
  for (auto it = first_touching_locked(start); it != chunks_.end() && it->first < end; ++it) {
    it->second.refs++;
    mask &= it->second.mask;
  }
  if (mask != all_) failures_++;
  if (mask == 0) unref_locked(start, end);  // mapped for no device: hold nothing
  return mask;
}

void DmaMap::unmap(uintptr_t addr, uint64_t len) {
  uintptr_t ps = page_size();
  uintptr_t start = addr & ~(ps - 1);
  uintptr_t end = (addr + (len ? len : 1) + ps - 1) & ~(ps - 1);
  std::lock_guard<std::mutex> lk(mu_);
  unref_locked(start, end);
}

void DmaMap::clear() {
  std::lock_guard<std::mutex> lk(mu_);
  while (!chunks_.empty()) drop_chunk_locked(chunks_.begin());
}

DmaMap::Stats DmaMap::stats() {
  std::lock_guard<std::mutex> lk(mu_);
  return Stats{chunks_.size(), failures_};
}

}  // namespace dpsan::fastpath
