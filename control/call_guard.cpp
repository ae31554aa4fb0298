/* SPDX-License-Identifier: BSD-3-Clause */
#include "call_guard.h"

#include <ctime>

#include "provider.h"

namespace dpsan::control {

namespace {

struct Slot {
  std::atomic<uint32_t> depth{0};  ///< written by its thread only
  std::atomic<bool> taken{false};
  Slot* next = nullptr;
};

std::atomic<Slot*> g_slots{nullptr};

/** Returns the slot to the pool when the thread exits. */
struct SlotOwner {
  Slot* slot = nullptr;
  ~SlotOwner() {
    if (slot) slot->taken.store(false, std::memory_order_release);
  }
};
thread_local SlotOwner t_owner;

Slot* my_slot() {
  if (t_owner.slot) return t_owner.slot;
  for (Slot* s = g_slots.load(std::memory_order_acquire); s; s = s->next) {
    bool expect = false;
    if (s->taken.compare_exchange_strong(expect, true, std::memory_order_acq_rel))
      return t_owner.slot = s;
  }
  // Slots are never freed: a thread that exits leaves its slot for the next one.
  auto* s = new Slot;
  s->taken.store(true, std::memory_order_relaxed);
  Slot* head = g_slots.load(std::memory_order_relaxed);
  do {
    s->next = head;
  } while (!g_slots.compare_exchange_weak(head, s, std::memory_order_acq_rel));
  return t_owner.slot = s;
}

}  // namespace

CallGuard::CallGuard() {
  Slot* s = my_slot();
  slot_ = &s->depth;
  slot_->store(slot_->load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
  Provider& p = Provider::get();
  inst_ = p.published();
  if (inst_ != nullptr && inst_->stopping()) {
    inst_ = nullptr;
    stopping_ = true;
  } else if (inst_ == nullptr) {
    stopping_ = p.tearing_down();
  }
}

CallGuard::~CallGuard() {
  slot_->store(slot_->load(std::memory_order_relaxed) - 1, std::memory_order_release);
}

void CallGuard::wait_for_callers() {
  Slot* mine = t_owner.slot;
  for (Slot* s = g_slots.load(std::memory_order_acquire); s; s = s->next) {
    if (s == mine) continue;  // a cleanup made from inside an SPI call on this thread
    while (s->depth.load(std::memory_order_seq_cst) != 0) {
      timespec ts{0, 50000};
      nanosleep(&ts, nullptr);
    }
  }
}

}  // namespace dpsan::control
