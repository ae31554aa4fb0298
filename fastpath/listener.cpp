/* SPDX-License-Identifier: BSD-3-Clause */
#include "listener.h"

#include <rte_malloc.h>

#include "tsan.h"

namespace dpsan::fastpath {

bool ListenerTable::init() {
  void* mem = rte_zmalloc("dpsan_listeners", sizeof(std::atomic<Listener*>) * 65536, 64);
  tsan_heap_allocated();
  slots_ = static_cast<std::atomic<Listener*>*>(mem);
  return slots_ != nullptr;
}

void ListenerTable::fini() {
  rte_free(slots_);
  tsan_heap_freed();
  slots_ = nullptr;
}

bool ListenerTable::publish(uint16_t port, Listener* l) {
  Listener* expect = nullptr;
  return slots_[port].compare_exchange_strong(expect, l, std::memory_order_release);
}

void ListenerTable::unpublish(uint16_t port, Listener* l) {
  Listener* expect = l;
  slots_[port].compare_exchange_strong(expect, nullptr, std::memory_order_release);
}

}  // namespace dpsan::fastpath
