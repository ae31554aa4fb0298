/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The provider lifecycle: a process-wide startup count under one mutex (R8), the most recent
 * upcall table (R9), the 0->1 bring-up and the final cleanup (R12-R21).
 */
#pragma once

#include <atomic>
#include <mutex>

#include <dpsan/ws2san.h>

#include "instance.h"

namespace dpsan::control {

class Provider {
 public:
  static Provider& get();

  /**
   * Count one startup; bring an instance up on 0->1. The table is copied and becomes the one in
   * force (R9). @return 0 or a WSA code (WSASYSNOTREADY for a bad configuration).
   */
  int startup(const WSPUPCALLTABLEEX& upcalls);

  /**
   * Count one cleanup; the final one runs the teardown and returns when no upcall can follow.
   * @return 0, or WSANOTINITIALISED at count 0 (R10).
   */
  int cleanup(const TeardownHooks& hooks);

  /** The published instance (nullptr once the final cleanup has begun). For CallGuard. */
  Instance* published() const { return published_.load(std::memory_order_seq_cst); }
  /**
   * Pin the instance a final cleanup is tearing down, for reading its statistics (tests watch
   * R13 from inside abort upcalls). @return nullptr if none; otherwise unpin_teardown() after.
   * The cleanup does not free the instance while it is pinned.
   */
  Instance* pin_teardown();
  void unpin_teardown() { teardown_readers_.fetch_sub(1, std::memory_order_seq_cst); }
  /** True while a final cleanup runs (calls then fail with WSAENETDOWN). */
  bool tearing_down() const { return tearing_down_.load(std::memory_order_seq_cst); }

 private:
  std::mutex mu_;
  unsigned count_ = 0;             // guarded by mu_
  unsigned next_instance_id_ = 0;  // guarded by mu_
  Instance* instance_ = nullptr;   // guarded by mu_
  std::atomic<Instance*> published_{nullptr};
  std::atomic<bool> tearing_down_{false};
  std::atomic<Instance*> in_teardown_{nullptr};
  std::atomic<uint32_t> teardown_readers_{0};
  std::atomic<const WSPUPCALLTABLEEX*> upcalls_{nullptr};
  struct TableCopy {
    WSPUPCALLTABLEEX table;
    TableCopy* older;
  };
  /** Every table ever supplied; a notifier may still read an older one, so none is freed. */
  TableCopy* tables_ = nullptr;  // guarded by mu_
};

}  // namespace dpsan::control
