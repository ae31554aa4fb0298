/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file WSPCloseSocket, and the socket-level steps (5, 6) of the final cleanup.
 *
 * A close runs in this order (spec 2.14): invalidate the descriptor (R27) and stop events; let
 * the calls already inside leave; stop listening and refuse what was queued; have the owning
 * core reset the connection and abort its operations, resources first (R13, R25); wait until
 * the notifier has delivered every upcall owed for the socket; then make the one
 * WPUCloseSocketHandle (R26) and free the slot.
 */

#include "control/notifier.h"
#include "fastpath/engine.h"
#include "sockets.h"
#include "validate.h"
#include "wsp.h"

namespace dpsan::spi {

namespace {

/** Unpublish and free a listener, refusing what it still had queued (R16). */
void close_listener(control::Instance* inst, Socket* s, bool cores_live) {
  fastpath::Listener* l = s->listener;
  if (l == nullptr) return;
  fastpath::Engine& e = inst->engine();
  e.listeners.unpublish(l->port, l);
  if (cores_live) {
    inst->synchronize();  // no poll core queues into it after this grace period
    fastpath::PendingConn* p;
    while (l->queue.dequeue_burst(&p, 1) == 1) {
      fastpath::Request* r = e.request_get();
      if (r == nullptr) break;  // the core refuses the rest at the final cleanup
      r->kind = fastpath::ReqKind::kReject;
      r->pending = p;
      if (!e.post_to(p->core, r)) {
        e.request_put(r);
        break;
      }
    }
  }
  // Pending requests still in the ring belong to their core's pending list, which refuses
  // them at the final cleanup; the ring itself holds only pointers.
  free_listener(l);
  s->listener = nullptr;
}

/** The last upcall for the socket, then free everything it holds. */
void finish_socket(control::Instance* inst, Socket* s) {
  int e = 0;
  inst->upcalls()->lpWPUCloseSocketHandle(static_cast<SOCKET>(s->link.switch_handle), &e);
  {
    std::lock_guard<std::mutex> lk(s->mu);
    for (unsigned i = 0; i < kMaxRegsPerSocket; i++) {
      uint64_t h = s->reg_handles[i].load(std::memory_order_relaxed);
      if (h) inst->engine().mrs.destroy(h, s->self);
      s->reg_handles[i].store(0, std::memory_order_relaxed);
      if (s->regs[i].refs) inst->engine().reg_cache.release(s->regs[i].cache_id);
      s->regs[i] = RegEntry{};
      // The connection is freed by now, and its region table with it (R63).
      if (s->rdma_regs[i].used) inst->engine().reg_cache.release(s->rdma_regs[i].cache_id);
      s->rdma_regs[i] = RdmaEntry{};
    }
    if (s->reserved_port) release_port(s->reserved_port);
    s->reserved_port = 0;
  }
  SocketTable::get().release(s);
}

/** The last step of a close, once no upcall for the socket can follow. Either thread. */
void finish_close(control::Instance* inst, Socket* s, uint8_t who) {
  uint8_t expect = 0;
  if (s->finisher.compare_exchange_strong(expect, who, std::memory_order_acq_rel))
    finish_socket(inst, s);
}

/** A close-handle record reached the notifier: every upcall owed for the socket is made. */
void finish_close_on_notifier(void* owner, fastpath::SocketLink* link) {
  finish_close(static_cast<control::Instance*>(owner), SocketTable::get().of_link(link), 1);
}

void wait_upcalls_delivered(Socket* s) {
  // On the notifier thread (inside a final cleanup made from an upcall) everything queued was
  // just delivered by this thread, and the upcalls still counted are the ones it is inside.
  if (control::Notifier::on_notifier_thread()) return;
  while (s->link.pending_upcalls.load(std::memory_order_acquire) != 0) nap_us(20);
}

/**
 * A close made inside an upcall runs on the notifier thread, so it cannot wait for the
 * socket's aborts to be delivered: it queues the WPUCloseSocketHandle behind them (R26). The
 * ring is sized for every request and socket; if it is full anyway, deliver some and retry.
 */
void finish_close_later(control::Instance* inst, Socket* s) {
  // Zero-copy operations whose frames still hold the switch's buffer queue their completion
  // when the last frame goes (fastpath/zerocopy.h): on a poll core, so waiting here is safe.
  while (s->link.zc_held.load(std::memory_order_acquire) != 0 && !inst->stopping()) nap_us(20);
  while (!inst->engine().queue_close_handle(&s->link)) inst->notifier().wait_drained();
}

}  // namespace

int WSPCloseSocket(SOCKET sock, LPINT lpErrno) {
  control::CallGuard guard;
  Socket* s = SocketTable::get().acquire(sock);
  if (s == nullptr) return fail(lpErrno, WSAENOTSOCK);
  control::Instance* inst = guard.instance();
  if (inst == nullptr) {
    SocketTable::get().put(s);
    return fail(lpErrno, no_instance_code(guard, WSAENOTSOCK));
  }
  s->link.closing.store(true, std::memory_order_seq_cst);  // no event from here on (2.14)
  if (!SocketTable::get().invalidate(s)) {  // a concurrent close won
    SocketTable::get().put(s);
    return fail(lpErrno, WSAENOTSOCK);
  }
  {
    std::lock_guard<std::mutex> lk(s->mu);
    s->state = SockState::kClosing;
  }
  while (s->refs.load(std::memory_order_acquire) > 1) nap_us(10);
  close_listener(inst, s, true);

  fastpath::Engine& e = inst->engine();
  s->link.close_acked.store(0, std::memory_order_relaxed);
  while (!e.post(&s->close_req)) {
    if (inst->stopping()) break;
    nap_us(10);
  }
  // R28: prompt, no linger. The core answers within one pass; if a final cleanup began
  // meanwhile, it finishes this socket and we leave at once.
  while (!s->link.close_acked.load(std::memory_order_acquire)) {
    if (inst->stopping()) {
      SocketTable::get().put(s);
      return 0;
    }
    nap_us(5);
  }
  SocketTable::get().put(s);
  if (control::Notifier::on_notifier_thread()) {
    finish_close_later(inst, s);
    return 0;
  }
  wait_upcalls_delivered(s);
  finish_close(inst, s, 1);
  return 0;
}

void close_all_sockets(control::Instance* inst) {
  SocketTable::get().for_each_allocated([&](Socket& s) {
    uint8_t expect = 0;
    if (!s.finisher.compare_exchange_strong(expect, 2, std::memory_order_acq_rel)) return;
    s.link.closing.store(true, std::memory_order_seq_cst);
    SocketTable::get().invalidate(&s);  // R15: the descriptor answers WSAENOTSOCK from now on
    close_listener(inst, &s, false);
    wait_upcalls_delivered(&s);
    finish_socket(inst, &s);  // R15: one WPUCloseSocketHandle, the last upcall for it
  });
}

void register_close_handler() { control::Notifier::set_close_handler(finish_close_on_notifier); }

void drop_all_registrations(control::Instance* inst) {
  inst->engine().mrs.destroy_all();
  inst->engine().reg_cache.clear();  // R18: cached ranges too
  // Their device mappings went with them; nothing else holds one. Before step 7 closes the
  // ports, since a device must not be unmapped once it is gone.
  inst->engine().dma.clear();
}

}  // namespace dpsan::spi
