/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * CallGuard: marks an SPI call in progress on the current thread, so that the final cleanup can
 * wait for calls that saw the instance alive to leave before it tears anything down.
 *
 * Each thread has its own slot (registered once, on its first call), so entering costs one
 * seq_cst store and no shared cache line. The protocol is Dekker's: the caller stores its slot,
 * then loads the instance pointer; the cleanup unpublishes the instance, then scans the slots.
 * Either the caller sees no instance, or the cleanup sees the caller and waits for it.
 *
 * Calls that block for long (WSPGetOverlappedResult with fWait = TRUE) leave the guard first.
 */
#pragma once

#include <atomic>
#include <cstdint>

namespace dpsan::control {

class Instance;

class CallGuard {
 public:
  /** Enter; instance() is then the live instance, or nullptr (none, or stopping). */
  CallGuard();
  ~CallGuard();
  CallGuard(const CallGuard&) = delete;
  CallGuard& operator=(const CallGuard&) = delete;

  Instance* instance() const { return inst_; }
  /** True when an instance exists but its final cleanup has begun (WSAENETDOWN). */
  bool stopping() const { return stopping_; }

  /** Cleanup side: wait until no thread is inside a guard that may have seen the instance. */
  static void wait_for_callers();

 private:
  std::atomic<uint32_t>* slot_;
  Instance* inst_ = nullptr;
  bool stopping_ = false;
};

}  // namespace dpsan::control
