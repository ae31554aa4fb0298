/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * TimerWheel: a hashed timing wheel of intrusive timers, one per poll core (owner core only).
 *
 * Time is in ticks (the caller picks the unit; poll cores use kTickUs microseconds). A timer
 * due `d` ticks ahead lands in slot (due % kSlots); advance() walks the slots passed since the
 * last call and fires the timers that are due, re-filing those that are a lap or more ahead.
 * arm/cancel are O(1); advance is O(slots passed + timers in them).
 *
 *   slots: [0][1][2] ... [kSlots-1]      each slot: a doubly linked list of TimerNode
 *            ^ now % kSlots
 */
#pragma once

#include <cstdint>

namespace dpsan::fastpath {

struct TimerNode {
  TimerNode* prev = nullptr;
  TimerNode* next = nullptr;
  uint64_t due = 0;  ///< tick at which it fires
  bool armed() const { return prev != nullptr; }
};

class TimerWheel {
 public:
  static constexpr uint32_t kSlots = 4096;
  static_assert((kSlots & (kSlots - 1)) == 0, "slots must be a power of two");

  explicit TimerWheel(uint64_t now = 0) { reset(now); }
  // The slots are list heads that point at themselves: the wheel cannot move.
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  /** Empty the wheel (timers armed before are forgotten) and set the time. */
  void reset(uint64_t now) {
    now_ = now;
    for (auto& s : slots_) s.prev = s.next = &s;
  }

  /** (Re)arm `t` to fire at tick `due` (at once on the next advance if due <= now). */
  void arm(TimerNode* t, uint64_t due) {
    cancel(t);
    t->due = due < now_ ? now_ : due;
    TimerNode& head = slots_[t->due & (kSlots - 1)];
    t->next = head.next;
    t->prev = &head;
    head.next->prev = t;
    head.next = t;
  }

  void cancel(TimerNode* t) {
    if (!t->armed()) return;
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->prev = t->next = nullptr;
  }

  /** Move time to `now`, calling fire(TimerNode*) for every timer due; fire may re-arm it. */
  template <class F>
  void advance(uint64_t now, F&& fire) {
    if (now < now_) return;
    uint64_t steps = now - now_ + 1;
    if (steps > kSlots) steps = kSlots;  // every slot once is enough: the rest are re-filed
    for (uint64_t i = 0; i < steps; i++) {
      TimerNode& head = slots_[(now_ + i) & (kSlots - 1)];
      // Detach the slot first: fire() may arm timers into this very slot.
      TimerNode list;
      if (head.next == &head) continue;
      list.next = head.next;
      list.prev = head.prev;
      list.next->prev = &list;
      list.prev->next = &list;
      head.prev = head.next = &head;
      while (list.next != &list) {
        TimerNode* t = list.next;
        list.next = t->next;
        t->next->prev = &list;
        t->prev = t->next = nullptr;
        if (t->due <= now) {
          fire(t);
        } else {
          uint64_t saved = now_;
          now_ = now;  // re-file relative to the new time
          arm(t, t->due);
          now_ = saved;
        }
      }
    }
    now_ = now;
  }

  uint64_t now() const { return now_; }

 private:
  uint64_t now_;
  TimerNode slots_[kSlots];
};

}  // namespace dpsan::fastpath
