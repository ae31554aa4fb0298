/* SPDX-License-Identifier: BSD-3-Clause */
/** @file Requests posted by the SPI threads, handled on the owning core. */
#include <cstring>

#include "poll_core.h"
#include "port/port.h"
#include "wsa_codes.h"

namespace dpsan::fastpath {

void PollCore::on_request_pc(Request* r) {
  switch (r->kind) {
    case ReqKind::kSend:
    case ReqKind::kRdmaWrite:  // in order with the sends (R44): poll_core_rdma.cpp
    case ReqKind::kRdmaRead: on_send_pc(r); break;
    case ReqKind::kRecv: on_recv_pc(r); break;
    case ReqKind::kConnect: on_connect_pc(r); break;
    case ReqKind::kAccept: on_accept_pc(r); break;
    case ReqKind::kReject: on_reject_pc(r); break;
    case ReqKind::kClose: on_close_pc(r); break;
    case ReqKind::kRdmaReg: on_rdma_reg_pc(r); break;
    case ReqKind::kRdmaDereg: on_rdma_dereg_pc(r); break;
  }
}

void PollCore::on_send_pc(Request* r) {
  Conn* c = conn_of(r->link);
  if (c == nullptr || c->state != ConnState::kEstablished) {
    int32_t sticky = r->link->sticky_error.load(std::memory_order_relaxed);
    complete(r, sticky ? static_cast<uint32_t>(sticky) : kWsaNotConn, 0);
    return;
  }
  r->progress = 0;
  r->started = 0;  // a send: no message number yet
  c->send_q.push(r);
  mark_ready(*c);
  ensure_timer(*c);  // a send stalled on credits still needs the peer watched
}

void PollCore::on_recv_pc(Request* r) {
  Conn* c = conn_of(r->link);
  if (c == nullptr || c->state != ConnState::kEstablished) {
    int32_t sticky = r->link->sticky_error.load(std::memory_order_relaxed);
    complete(r, sticky ? static_cast<uint32_t>(sticky) : kWsaNotConn, 0);
    return;
  }
  c->recvs_posted++;
  c->recv_q.push(r);
  deliver_early_pc(*c);
  maybe_credit(*c);
  ensure_timer(*c);  // keepalive: a dead peer must fail this receive in bounded time
}

/** Hand early messages to receives in order, one message per receive (R41). */
void PollCore::deliver_early_pc(Conn& c) {
  while (c.early_count && !c.recv_q.empty()) {
    // A message still arriving into the tail slot is not complete yet.
    if (c.cur_msg_early && c.early_count == 1) break;
    EarlyMsg& m = c.early[c.early_head];
    Request* r = c.recv_q.pop();
    uint32_t n = std::min(m.len, r->total_len);
    request_scatter(r, 0, m.data, n);
    c.early_head = (c.early_head + 1) % e_->config().early_slots;
    c.early_count--;
    complete(r, m.len > r->total_len ? kWsaMsgSize : 0, n);
  }
}

void PollCore::on_connect_pc(Request* r) {
  SocketLink* link = r->link;
  Conn* c = conn_alloc();
  if (c == nullptr) {
    link->state.store(kLinkDead, std::memory_order_release);
    record_event(link, kConnectBit, static_cast<int32_t>(kWsaNoBufs));
    e_->request_put(r);
    return;
  }
  c->state = ConnState::kConnecting;
  c->link = link;
  link->conn_slot_pc = conn_id_slot(c->id);
  // The port serving the socket's address carries the connection; the SPI checked the address.
  int via = e_->port_serving(r->local_ip);
  c->addr.via = static_cast<uint8_t>(via < 0 ? 0 : via);
  std::memcpy(c->addr.src_mac, e_->port(c->addr.via)->mac(), 6);
  c->addr.src_ip = r->local_ip;
  c->addr.dst_ip = r->peer_ip;
  c->local_port = r->local_port;
  c->peer_port = r->peer_port;
  c->connect_deadline_tsc = now_ + ms_to_tsc(e_->config().connect_timeout_ms);
  c->connect_retry_tsc = now_;  // the timer sends the first request at once
  c->next_connecting = connecting_head_;
  connecting_head_ = c;
  next_timer_tsc_ = 0;
  e_->request_put(r);
}

void PollCore::on_accept_pc(Request* r) {
  PendingConn* p = r->pending;
  SocketLink* link = r->link;
  // Forget the pending request: it no longer needs retransmission filtering.
  for (PendingConn** pp = &pending_head_; *pp; pp = &(*pp)->next_pc) {
    if (*pp == p) {
      *pp = p->next_pc;
      break;
    }
  }
  Conn* c = p->cancelled ? nullptr : conn_alloc();
  if (c == nullptr) {
    send_connect_frame(p->addr, wire::kReject, p->peer_conn, 0, p->local_port, p->peer_port,
                       wire::kNoResources, 0);
    link->sticky_error.store(static_cast<int32_t>(kWsaConnReset), std::memory_order_relaxed);
    link->state.store(kLinkDead, std::memory_order_release);
  } else {
    c->state = ConnState::kEstablished;
    c->link = link;
    link->conn_slot_pc = conn_id_slot(c->id);
    c->addr = p->addr;
    c->local_port = p->local_port;
    c->peer_port = p->peer_port;
    c->peer_id = p->peer_conn;
    c->peer_recv_limit = p->peer_recv_limit;
    c->peer_early_limit = p->peer_early_limit;
    c->peer_packs = p->peer_packs;
    c->mss = wire::conn_mss(mss_[c->addr.via], p->peer_rx_mss);
    send_connect_frame(c->addr, wire::kAccept, c->peer_id, c->id, c->local_port, c->peer_port, 0,
                       c->recvs_posted + e_->config().early_slots);
  }
  rte_mempool_put(e_->pending_pool(), p);
  e_->request_put(r);
}

void PollCore::on_reject_pc(Request* r) {
  PendingConn* p = r->pending;
  for (PendingConn** pp = &pending_head_; *pp; pp = &(*pp)->next_pc) {
    if (*pp == p) {
      *pp = p->next_pc;
      break;
    }
  }
  send_connect_frame(p->addr, wire::kReject, p->peer_conn, 0, p->local_port, p->peer_port,
                     wire::kRefused, 0);
  rte_mempool_put(e_->pending_pool(), p);
  e_->request_put(r);
}

/** Reset (optionally) and free a connection, aborting what is still queued on it (R25). */
void PollCore::close_conn(Conn& c, bool send_reset) {
  if (send_reset && (c.state == ConnState::kEstablished || c.state == ConnState::kConnecting))
    send_ctrl(c, wire::kReset);
  while (Request* q = c.recv_q.pop()) e_->finish(q, kWsaAborted, 0);
  while (Request* q = c.unacked_q.pop()) e_->finish(q, kWsaAborted, 0);
  while (Request* q = c.send_q.pop()) e_->finish(q, kWsaAborted, 0);
  rdma_end_reads(c, kWsaAborted, true);  // R31
  conn_free(c);
}

void PollCore::on_close_pc(Request* r) {
  SocketLink* link = r->link;
  flush_completions();  // every result of this socket goes before its close is acknowledged
  if (Conn* c = conn_of(link)) close_conn(*c, true);
  // r is the socket's own close request (never pooled). The release pairs with the acquire
  // in the closing SPI thread: everything above happened before it goes on.
  link->close_acked.store(1, std::memory_order_release);
}

}  // namespace dpsan::fastpath
