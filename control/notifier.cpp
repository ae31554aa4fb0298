/* SPDX-License-Identifier: BSD-3-Clause */
#include "notifier.h"

#include <ctime>
#include <sys/prctl.h>
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
}  // namespace

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
  exit_.store(true, std::memory_order_release);
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
    if (++idle < 2000) {
      rte_pause();
      continue;
    }
    rte_rcu_qsbr_thread_offline(e_->qsbr, qsbr_id_);
    short_sleep(20000);
    rte_rcu_qsbr_thread_online(e_->qsbr, qsbr_id_);
  }
  rte_rcu_qsbr_thread_offline(e_->qsbr, qsbr_id_);
  rte_rcu_qsbr_thread_unregister(e_->qsbr, qsbr_id_);
  t_is_notifier = false;
}

}  // namespace dpsan::control
