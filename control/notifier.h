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
 *
 * Calls made from inside an upcall run on this thread, so they must never wait for it:
 *  - WSPCloseSocket queues a close-handle record (queue_close_handle) behind the socket's
 *    aborts; delivering it makes the socket's WPUCloseSocketHandle, its last upcall (R26).
 *  - The final WSPCleanup delivers what is queued itself (nested), and stop() then lets the
 *    thread leave as soon as the outer upcall returns, touching nothing of the freed instance.
 */
#pragma once

#include <atomic>
#include <thread>

#include <dpsan/ws2san.h>

#include "fastpath/engine.h"

namespace dpsan::control {

class Notifier {
 public:
  /** What a close-handle record runs: spi-adapter's last step of a socket's close. */
  using CloseHandleFn = void (*)(void* owner, fastpath::SocketLink* link);

  /** Control, at bring-up. `upcalls` is read (acquire) before every upcall. */
  void start(fastpath::Engine* e, const std::atomic<const WSPUPCALLTABLEEX*>* upcalls,
             unsigned qsbr_id, void* owner);
  /** spi-adapter, before the first startup: what a close-handle record runs (with `owner`). */
  static void set_close_handler(CloseHandleFn fn);
  /** Control: deliver everything queued, then stop the thread (or, on the notifier thread
   *  itself, let it leave when the current upcall returns). */
  void stop();
  /** Any thread: wait until every record queued so far has been delivered (on the notifier
   *  thread: deliver them now). */
  void wait_drained();
  /** True on the notifier thread (used to avoid waiting on ourselves). */
  static bool on_notifier_thread();

 private:
  void run();
  void deliver(const fastpath::NotifyRecord& r);
  /** Deliver the rest of the current batch. @return false once the thread is orphaned. */
  bool deliver_batch();
  /** On the notifier thread: deliver everything queued, nested inside the current upcall. */
  void drain_here();

  fastpath::Engine* e_ = nullptr;
  const std::atomic<const WSPUPCALLTABLEEX*>* upcalls_ = nullptr;
  unsigned qsbr_id_ = 0;
  std::atomic<bool> exit_{false};
  std::atomic<bool> busy_{false};
  void* owner_ = nullptr;
  /** The batch being delivered; members, so that a nested drain_here() continues it. */
  fastpath::NotifyRecord batch_[64];
  unsigned batch_n_ = 0;
  unsigned batch_next_ = 0;
  std::thread thread_;
};

}  // namespace dpsan::control
