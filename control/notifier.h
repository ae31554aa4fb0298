/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The completion notifier: the one thread that makes WPUCompleteOverlappedRequest and the
 * FD_ACCEPT/FD_CONNECT WPUSetEvent upcalls, so that poll cores never run switch code.
 *
 * It drains the engine's notify ring (MPSC), makes each upcall through the most recent upcall
 * table with no provider lock held, and only then drops the socket's pending-upcall count, which
 * is what keeps the socket (and its switch handle) alive across the upcall (spec 3.3).
 * It is a QSBR reader (thread id = number of poll cores), so the final cleanup's grace period
 * also covers an event signal in progress (R14).
 */
#pragma once

#include <atomic>
#include <thread>

#include <dpsan/ws2san.h>

#include "fastpath/engine.h"

namespace dpsan::control {

class Notifier {
 public:
  /** Control, at bring-up. `upcalls` is read (acquire) before every upcall. */
  void start(fastpath::Engine* e, const std::atomic<const WSPUPCALLTABLEEX*>* upcalls,
             unsigned qsbr_id);
  /** Control: deliver everything queued, then stop the thread. */
  void stop();
  /** Any thread: wait until every record queued so far has been delivered. */
  void wait_drained() const;
  /** True on the notifier thread (used to avoid waiting on ourselves). */
  static bool on_notifier_thread();

 private:
  void run();
  void deliver(const fastpath::NotifyRecord& r);
  /** Sleep until a producer queues a record (or stop(), or at most 50 ms). */
  void long_sleep();

  fastpath::Engine* e_ = nullptr;
  const std::atomic<const WSPUPCALLTABLEEX*>* upcalls_ = nullptr;
  unsigned qsbr_id_ = 0;
  std::atomic<bool> exit_{false};
  std::atomic<bool> busy_{false};
  std::thread thread_;
};

}  // namespace dpsan::control
