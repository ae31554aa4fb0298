/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The fast-path half of the final cleanup. These run on the control thread once the loop is
 * quiesced (DESIGN.md "Final cleanup, in order"), so they own the core's state outright.
 */
#include "poll_core.h"
#include "port/port.h"
#include "wsa_codes.h"

namespace dpsan::fastpath {

void PollCore::drain_requests_quiesced() {
  Request* reqs[kReqBurst];
  while (unsigned n = requests_.dequeue_burst(reqs, kReqBurst)) {
    for (unsigned i = 0; i < n; i++) {
      Request* r = reqs[i];
      switch (r->kind) {
        case ReqKind::kSend:
        case ReqKind::kRecv:
        case ReqKind::kRdmaWrite:
        case ReqKind::kRdmaRead:
          parked_.push(r);  // aborted in step 4, after the resets
          break;
        case ReqKind::kConnect:
          // R17: a connect not yet started is dropped without FD_CONNECT.
          r->link->state.store(kLinkDead, std::memory_order_release);
          e_->request_put(r);
          break;
        case ReqKind::kAccept:
          r->link->state.store(kLinkDead, std::memory_order_release);
          on_reject_pc(r);  // R16: queued requests are refused, accepted or not yet
          break;
        case ReqKind::kReject:
          on_reject_pc(r);
          break;
        case ReqKind::kClose:
          on_close_pc(r);
          break;
        case ReqKind::kRdmaReg:
        case ReqKind::kRdmaDereg:
          answer_sync(r, 10050 /* WSAENETDOWN */);  // connections are reset next anyway
          break;
      }
    }
  }
}

void PollCore::reset_all_quiesced() {
  for (uint32_t i = 0; i < e_->config().max_conns_per_core; i++) {
    Conn& c = conns_[i];
    if (c.state == ConnState::kEstablished || c.state == ConnState::kConnecting) {
      send_ctrl(c, wire::kReset);  // R15: the remote peer's receives fail
      c.state = ConnState::kDead;
    }
  }
  while (PendingConn* p = pending_head_) {  // R16: refuse what was never accepted
    pending_head_ = p->next_pc;
    send_connect_frame(p->addr, wire::kReject, p->peer_conn, 0, p->local_port, p->peer_port,
                       wire::kRefused, 0);
    rte_mempool_put(e_->pending_pool(), p);
  }
  tx_flush();
}

void PollCore::abort_all_quiesced() {
  while (Request* r = parked_.pop()) e_->finish(r, kWsaAborted, 0);  // R12, R13
  for (uint32_t i = 0; i < e_->config().max_conns_per_core; i++) {
    Conn& c = conns_[i];
    if (c.state == ConnState::kFree) continue;
    while (Request* r = c.recv_q.pop()) e_->finish(r, kWsaAborted, 0);
    while (Request* r = c.unacked_q.pop()) e_->finish(r, kWsaAborted, 0);
    while (Request* r = c.send_q.pop()) e_->finish(r, kWsaAborted, 0);
    rdma_end_reads(c, kWsaAborted, true);
    conn_free(c);
  }
  // Frames the port would not take any more are dropped with the port.
  tx_flush();
  for (uint16_t i = 0; i < ntx_; i++) rte_pktmbuf_free(txq_[i]);
  ntx_ = 0;
}

}  // namespace dpsan::fastpath
