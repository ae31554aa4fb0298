/* SPDX-License-Identifier: BSD-3-Clause */
#include "notifier.h"

#include <ctime>
#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <rte_pause.h>

namespace dpsan::control {

namespace {
thread_local bool t_is_notifier = false;
/** Set by stop() on the notifier thread: the instance is being freed under the current upcall,
 *  so once it returns the thread touches nothing (not even `this`) and leaves. */
thread_local bool t_orphaned = false;
std::atomic<Notifier::CloseHandleFn> g_on_close{nullptr};

void short_sleep(long ns) {
  timespec ts{0, ns};
  nanosleep(&ts, nullptr);
}

constexpr unsigned kSpins = 2000;       ///< idle passes spent spinning
constexpr unsigned kShortSleeps = 50;   ///< then 20 us naps (about 1 ms), then the long sleep
constexpr long kLongSleepNs = 50000000; ///< the long sleep's bound (a lost wake cannot hang)
}  // namespace

void Notifier::long_sleep() {
  // Dekker with Engine::wake_notifier_if_asleep: raise the flag, then look at the ring; a
  // producer queues, then looks at the flag. One of the two sees the other.
  std::atomic<uint32_t>& word = e_->notifier_asleep;
  word.store(1, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (e_->notify.empty() && !exit_.load(std::memory_order_seq_cst)) {
    timespec ts{0, kLongSleepNs};
    syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 1, &ts, nullptr, 0);
  }
  word.store(0, std::memory_order_relaxed);
}

bool Notifier::on_notifier_thread() { return t_is_notifier; }

void Notifier::set_close_handler(CloseHandleFn fn) { g_on_close.store(fn); }

void Notifier::start(fastpath::Engine* e, const std::atomic<const WSPUPCALLTABLEEX*>* upcalls,
                     unsigned qsbr_id, void* owner) {
  e_ = e;
  owner_ = owner;
  upcalls_ = upcalls;
  qsbr_id_ = qsbr_id;
  exit_.store(false);
  thread_ = std::thread([this] { run(); });
}

void Notifier::stop() {
  if (on_notifier_thread()) {  // a final WSPCleanup made inside an upcall: we cannot join ourselves
    drain_here();
    exit_.store(true, std::memory_order_release);
    rte_rcu_qsbr_thread_offline(e_->qsbr, qsbr_id_);
    rte_rcu_qsbr_thread_unregister(e_->qsbr, qsbr_id_);
    thread_.detach();
    t_orphaned = true;
    return;
  }
  wait_drained();
  exit_.store(true, std::memory_order_seq_cst);
  e_->wake_notifier();  // out of its long sleep at once: the final cleanup is timed
  if (thread_.joinable()) thread_.join();
}

void Notifier::wait_drained() {
  if (on_notifier_thread()) return drain_here();
  // busy_ is raised before each dequeue, so "ring empty and not busy" means delivered.
  while (!e_->notify.empty() || busy_.load(std::memory_order_seq_cst)) short_sleep(20000);
}

void Notifier::deliver(const fastpath::NotifyRecord& r) {
  const WSPUPCALLTABLEEX* up = upcalls_->load(std::memory_order_acquire);
  fastpath::SocketLink* link = r.link;
  int err = 0;
  if (r.kind == fastpath::NotifyRecord::kCloseHandle) {
    g_on_close.load()(owner_, link);  // holds no pending-upcall count: nothing waits on it
    return;
  }
  if (r.kind == fastpath::NotifyRecord::kComplete) {
    // R35: exactly once, with the switch handle, the error and the byte count.
    up->lpWPUCompleteOverlappedRequest(static_cast<SOCKET>(link->switch_handle),
                                       reinterpret_cast<LPWSAOVERLAPPED>(r.ov), r.error, r.bytes,
                                       &err);
  } else {
    // Clear first: an event recorded from now on queues a new record.
    link->event_queued.store(false, std::memory_order_seq_cst);
    fastpath::NetEvents& ev = link->events;
    uint32_t due = ev.recorded.load(std::memory_order_acquire) &
                   ev.selected.load(std::memory_order_acquire);
    void* h = ev.event.load(std::memory_order_acquire);
    // R14 and 2.14: nothing is signalled once the final cleanup or the socket's close began.
    // Dekker with Engine::block_events(): we raise `signalling`, then look at the gate; the
    // cleanup closes the gate, then waits for `signalling` to drop.
    e_->signalling.store(true, std::memory_order_seq_cst);
    if (due && h && !e_->events_blocked() && !link->closing.load(std::memory_order_seq_cst))
      up->lpWPUSetEvent(static_cast<WSAEVENT>(h), &err);
    e_->signalling.store(false, std::memory_order_release);
  }
  if (t_orphaned) return;  // the final cleanup ran inside this upcall: the link is gone
  link->pending_upcalls.fetch_sub(1, std::memory_order_acq_rel);
}

bool Notifier::deliver_batch() {
  while (batch_next_ < batch_n_) {
    const fastpath::NotifyRecord r = batch_[batch_next_++];  // a nested drain may refill batch_
    deliver(r);
    if (t_orphaned) return false;
  }
  return true;
}

void Notifier::drain_here() {
  do {
    if (!deliver_batch()) return;
    batch_next_ = 0;
    batch_n_ = e_->notify.dequeue_burst(batch_, 64);
  } while (batch_n_ != 0);
}

void Notifier::run() {
  t_is_notifier = true;
  prctl(PR_SET_TIMERSLACK, 1UL);
  rte_rcu_qsbr_thread_register(e_->qsbr, qsbr_id_);
  rte_rcu_qsbr_thread_online(e_->qsbr, qsbr_id_);
  unsigned idle = 0;
  while (true) {
    rte_rcu_qsbr_quiescent(e_->qsbr, qsbr_id_);
    busy_.store(true, std::memory_order_seq_cst);
    batch_next_ = 0;
    batch_n_ = e_->notify.dequeue_burst(batch_, 64);
    unsigned n = batch_n_;
    if (!deliver_batch()) {  // `this` is freed: leave without touching it
      t_is_notifier = false;
      t_orphaned = false;
      return;
    }
    busy_.store(false, std::memory_order_seq_cst);
    if (n) {
      idle = 0;
      continue;
    }
    if (exit_.load(std::memory_order_acquire)) break;
    if (++idle < kSpins) {
      rte_pause();
      continue;
    }
    // Idle: nap 20 us at a time for about 1 ms, then sleep until a producer wakes us. A
    // notifier that napped forever woke 50,000 times a second, each time preempting the
    // app thread or a poll core on a small machine (bench/PROFILE.md).
    rte_rcu_qsbr_thread_offline(e_->qsbr, qsbr_id_);
    if (idle < kSpins + kShortSleeps) short_sleep(20000);
    else long_sleep();
    rte_rcu_qsbr_thread_online(e_->qsbr, qsbr_id_);
  }
  rte_rcu_qsbr_thread_offline(e_->qsbr, qsbr_id_);
  rte_rcu_qsbr_thread_unregister(e_->qsbr, qsbr_id_);
  t_is_notifier = false;
}

}  // namespace dpsan::control
