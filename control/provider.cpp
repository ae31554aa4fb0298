/* SPDX-License-Identifier: BSD-3-Clause */
#include "provider.h"

#include <cstdio>
#include <cstring>
#include <thread>

#include "call_guard.h"

namespace dpsan::control {

namespace {
/**
 * Set while this thread runs a final cleanup. The cleanup delivers its aborts itself when it
 * was called from inside an upcall (on the notifier thread), so a switch may call back into
 * the lifecycle from those nested upcalls: answer at once instead of deadlocking on mu_.
 */
thread_local bool t_in_final_cleanup = false;
}  // namespace

Provider& Provider::get() {
  static Provider p;
  return p;
}

int Provider::startup(const WSPUPCALLTABLEEX& upcalls) {
  // R21 would have it wait for the cleanup, which is this very thread further up the stack.
  if (t_in_final_cleanup) return WSASYSNOTREADY;
  std::lock_guard<std::mutex> lk(mu_);  // R21: serialised after a final cleanup in progress
  // A switch supplies the same table each time: keep one copy of it. A different table gets
  // a copy of its own, kept until the final cleanup (an upcall may still be using the old one).
  bool same = tables_ && std::memcmp(&tables_->table, &upcalls, sizeof upcalls) == 0;
  auto* copy = same ? tables_ : new TableCopy{upcalls, tables_};
  if (count_ == 0) {
    Config cfg;
    std::string error;
    if (!load_config(&cfg, &error)) {
      std::fprintf(stderr, "dpsan: configuration error: %s\n", error.c_str());
      if (!same) delete copy;
      return WSASYSNOTREADY;
    }
    auto* inst = new Instance(next_instance_id_++, &upcalls_);
    upcalls_.store(&copy->table, std::memory_order_release);
    if (!inst->bring_up(cfg, &error)) {
      std::fprintf(stderr, "dpsan: startup failed: %s\n", error.c_str());
      delete inst;
      if (!same) delete copy;
      upcalls_.store(tables_ ? &tables_->table : nullptr, std::memory_order_release);
      return WSASYSNOTREADY;
    }
    instance_ = inst;
    published_.store(inst, std::memory_order_seq_cst);
  }
  tables_ = copy;
  upcalls_.store(&copy->table, std::memory_order_release);  // R9: the most recent one wins
  count_++;
  return 0;
}

Instance* Provider::pin_teardown() {
  teardown_readers_.fetch_add(1, std::memory_order_seq_cst);
  Instance* inst = in_teardown_.load(std::memory_order_seq_cst);
  if (inst == nullptr) teardown_readers_.fetch_sub(1, std::memory_order_seq_cst);
  return inst;
}

int Provider::cleanup(const TeardownHooks& hooks) {
  if (t_in_final_cleanup) return WSANOTINITIALISED;  // the count is already 0 (R10)
  std::lock_guard<std::mutex> lk(mu_);
  if (count_ == 0) return WSANOTINITIALISED;  // R10
  if (--count_ > 0) return 0;                 // R8: nothing else changes
  Instance* inst = instance_;
  t_in_final_cleanup = true;
  tearing_down_.store(true, std::memory_order_seq_cst);
  // (1) Events first, and wait out a signal under way, so that nothing observable of the
  // cleanup (a refused call, an abort) can come before a late FD_ACCEPT/FD_CONNECT (R14).
  inst->engine().block_events();
  while (inst->engine().signalling.load(std::memory_order_seq_cst) &&
         !Notifier::on_notifier_thread())
    std::this_thread::yield();
  inst->engine().mark_stopping();
  published_.store(nullptr, std::memory_order_seq_cst);
  CallGuard::wait_for_callers();
  in_teardown_.store(inst, std::memory_order_seq_cst);
  inst->teardown(hooks);                               // (2)..(7)
  in_teardown_.store(nullptr, std::memory_order_seq_cst);
  while (teardown_readers_.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
  delete inst;
  instance_ = nullptr;
  // No thread can read an upcall table any more: keep only the one in force.
  while (tables_ && tables_->older) {
    TableCopy* old = tables_->older;
    tables_->older = old->older;
    delete old;
  }
  tearing_down_.store(false, std::memory_order_seq_cst);
  t_in_final_cleanup = false;
  return 0;
}

}  // namespace dpsan::control
