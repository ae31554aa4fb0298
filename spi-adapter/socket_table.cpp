/* SPDX-License-Identifier: BSD-3-Clause */
#include "socket_table.h"

namespace dpsan::spi {

SocketTable& SocketTable::get() {
  static SocketTable t;
  return t;
}

SocketTable::SocketTable() : slots_(new Socket[kMaxSockets]), free_(new uint32_t[kMaxSockets]) {
  for (uint32_t i = 0; i < kMaxSockets; i++) {
    slots_[i].index = i;
    free_[i] = kMaxSockets - 1 - i;
  }
  nfree_ = kMaxSockets;
}

Socket* SocketTable::open() {
  std::lock_guard<std::mutex> lk(mu_);
  if (nfree_ == 0) return nullptr;
  Socket* s = &slots_[free_[--nfree_]];
  uint32_t gen = s->gen.load(std::memory_order_relaxed);
  s->self = (static_cast<uint64_t>(gen) << 32) | (s->index + 1);
  s->state = SockState::kCreated;
  s->local = sockaddr_in{};
  s->peer = sockaddr_in{};
  s->listener = nullptr;
  s->reserved_port = 0;
  s->so_debug = 0;
  for (unsigned i = 0; i < kMaxRegsPerSocket; i++) {
    s->regs[i] = RegEntry{};
    s->rdma_regs[i] = RdmaEntry{};
    s->reg_handles[i].store(0, std::memory_order_relaxed);
  }
  s->shut_send.store(false, std::memory_order_relaxed);
  s->shut_recv.store(false, std::memory_order_relaxed);
  s->finisher.store(0, std::memory_order_relaxed);
  fastpath::SocketLink& l = s->link;
  l.switch_handle = 0;
  l.core = 0;
  l.conn_slot_pc = UINT32_MAX;
  l.pending_upcalls.store(0, std::memory_order_relaxed);
  l.sticky_error.store(0, std::memory_order_relaxed);
  l.close_acked.store(0, std::memory_order_relaxed);
  l.closing.store(false, std::memory_order_relaxed);
  l.state.store(fastpath::kLinkNone, std::memory_order_relaxed);
  l.event_queued.store(false, std::memory_order_relaxed);
  l.events.event.store(nullptr, std::memory_order_relaxed);
  l.events.selected.store(0, std::memory_order_relaxed);
  l.events.recorded.store(0, std::memory_order_relaxed);
  for (auto& e : l.events.error) e.store(0, std::memory_order_relaxed);
  // A stale acquire() may hold a transient reference on this slot: add ours to it.
  s->refs.fetch_add(1, std::memory_order_relaxed);
  s->allocated.store(true, std::memory_order_release);
  s->live_value.store(s->self, std::memory_order_release);
  open_count_.fetch_add(1, std::memory_order_relaxed);
  return s;
}

bool SocketTable::invalidate(Socket* s) {
  uint32_t gen = static_cast<uint32_t>(s->self >> 32);
  uint32_t next = gen + 1 == 0xffffffffu ? 1 : gen + 1;  // ~0 would make INVALID_SOCKET
  if (!s->gen.compare_exchange_strong(gen, next, std::memory_order_acq_rel)) return false;
  s->live_value.store(0, std::memory_order_release);
  s->refs.fetch_sub(1, std::memory_order_release);  // the "open" reference
  open_count_.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

void SocketTable::release(Socket* s) {
  {
    std::lock_guard<std::mutex> lk(s->mu);
    s->state = SockState::kFree;
  }
  s->allocated.store(false, std::memory_order_release);
  std::lock_guard<std::mutex> lk(mu_);
  free_[nfree_++] = s->index;
}

Socket* SocketTable::acquire(SOCKET v) {
  uint64_t idx1 = v & 0xffffffffu;
  if (idx1 == 0 || idx1 > kMaxSockets) return nullptr;
  Socket* s = &slots_[idx1 - 1];
  s->refs.fetch_add(1, std::memory_order_acq_rel);
  // Only the value open() issued resolves: not a stale one, not a never-issued next one.
  if (s->live_value.load(std::memory_order_acquire) != v) {
    s->refs.fetch_sub(1, std::memory_order_release);
    return nullptr;
  }
  return s;
}

}  // namespace dpsan::spi
