/* SPDX-License-Identifier: BSD-3-Clause */
#include "neighbour_table.h"

#include <cstring>

namespace dpsan::fastpath {

namespace {

uint64_t pack_mac(const uint8_t mac[6]) {
  uint64_t v = 0;
  std::memcpy(&v, mac, 6);
  return v;
}

void unpack_mac(uint64_t word, uint8_t mac[6]) { std::memcpy(mac, &word, 6); }

uint32_t hash_ip(uint32_t ip) { return (ip * 2654435761u) >> 22; }  // 10 bits: kSlots

}  // namespace

void NeighbourTable::init(uint64_t timeout_tsc, uint64_t request_interval_tsc) {
  timeout_tsc_ = timeout_tsc;
  request_interval_tsc_ = request_interval_tsc;
}

NeighbourTable::Slot* NeighbourTable::find(uint32_t ip, bool claim) {
  uint32_t h = hash_ip(ip);
  for (uint32_t i = 0; i < kSlots; i++) {
    Slot& s = slots_[(h + i) % kSlots];
    uint32_t cur = s.ip.load(std::memory_order_acquire);
    if (cur == ip) return &s;
    if (cur != 0) continue;
    if (!claim) return nullptr;  // slots are never freed: a free slot ends the probe
    if (s.ip.compare_exchange_strong(cur, ip, std::memory_order_acq_rel)) {
      used_.fetch_add(1, std::memory_order_relaxed);
      return &s;
    }
    if (cur == ip) return &s;  // another core claimed it for the same address
  }
  return nullptr;
}

const NeighbourTable::Slot* NeighbourTable::find(uint32_t ip) const {
  return const_cast<NeighbourTable*>(this)->find(ip, false);
}

bool NeighbourTable::add_static(uint32_t ip, const uint8_t mac[6]) {
  Slot* s = find(ip, true);
  if (s == nullptr) return false;
  s->word.store(pack_mac(mac) | kValid | kStatic, std::memory_order_release);
  return true;
}

bool NeighbourTable::learn(uint32_t ip, const uint8_t mac[6], uint64_t now_tsc) {
  if (ip == 0) return false;
  Slot* s = find(ip, true);
  if (s == nullptr) return false;
  uint64_t old = s->word.load(std::memory_order_acquire);
  if (old & kStatic) return true;
  s->expires.store(now_tsc + timeout_tsc_, std::memory_order_relaxed);
  s->word.store(pack_mac(mac) | kValid, std::memory_order_release);
  return true;
}

bool NeighbourTable::lookup(uint32_t ip, uint64_t now_tsc, uint8_t mac[6]) const {
  const Slot* s = find(ip);
  if (s == nullptr) return false;
  uint64_t w = s->word.load(std::memory_order_acquire);
  if (!(w & kValid)) return false;
  if (!(w & kStatic) && s->expires.load(std::memory_order_relaxed) <= now_tsc) return false;
  unpack_mac(w, mac);
  return true;
}

bool NeighbourTable::should_request(uint32_t ip, uint64_t now_tsc) {
  Slot* s = find(ip, true);
  if (s == nullptr) return false;
  uint64_t last = s->last_request.load(std::memory_order_relaxed);
  if (last != 0 && now_tsc - last < request_interval_tsc_) return false;
  return s->last_request.compare_exchange_strong(last, now_tsc, std::memory_order_relaxed);
}

}  // namespace dpsan::fastpath
