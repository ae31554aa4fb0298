/* SPDX-License-Identifier: BSD-3-Clause */
/** @file Frames received, handled on the owning core. Every field was checked by wire::decode. */
#include <cstring>

#include "poll_core.h"
#include "port/port.h"

namespace dpsan::fastpath {

namespace {
constexpr uint32_t kWsaMsgSize = 10040;
constexpr uint32_t kWsaConnReset = 10054;

/** Wrap-safe "a is before b" for 32-bit sequence numbers. */
inline bool seq_lt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

}  // namespace

unsigned PollCore::rx_pc() {
  rte_mbuf* pkts[kRxBurst];
  uint16_t n = e_->port()->rx_burst(index_, pkts, kRxBurst);
  for (uint16_t i = 0; i < n; i++) {
    rte_mbuf* m = pkts[i];
    wire::Frame fr;
    // Frames are single-segment: every port is set up without scatter.
    wire::DecodeStatus st = wire::decode(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m), &fr);
    stats_.packets_rx.add(1);
    stats_.bytes_rx.add(rte_pktmbuf_pkt_len(m));
    if (st != wire::DecodeStatus::kOk) {
      stats_.drops[static_cast<int>(st)].add(1);
    } else if (fr.addr.dst_ip != e_->config().served_ip) {
      stats_.drops_no_conn.add(1);  // not an address we serve
    } else {
      on_frame_pc(fr);
    }
    rte_pktmbuf_free(m);
  }
  return n;
}

void PollCore::on_frame_pc(const wire::Frame& fr) {
  if (fr.f.opcode == wire::kConnectReq) {
    on_connect_req_pc(fr);
    return;
  }
  if (fr.f.opcode == wire::kReset && fr.f.dst_conn == 0) {
    // The connector closed before we accepted: its queued request must not become a
    // half-open connection (R30).
    for (PendingConn* p = pending_head_; p; p = p->next_pc)
      if (p->peer_conn == fr.f.src_conn && p->addr.dst_ip == fr.addr.src_ip) p->cancelled = true;
    return;
  }
  Conn* c = conn_by_id(fr.f.dst_conn);
  if (c == nullptr || c->addr.dst_ip != fr.addr.src_ip) {
    stats_.drops_no_conn.add(1);
    // Tell a peer that still believes in this connection that it is gone (no half-open
    // connections); a RESET or REJECT is never answered, so this cannot loop.
    if (fr.f.opcode != wire::kReset && fr.f.opcode != wire::kReject) {
      wire::L3Addr back{};
      std::memcpy(back.src_mac, e_->port()->mac(), 6);
      std::memcpy(back.dst_mac, fr.addr.src_mac, 6);
      back.src_ip = fr.addr.dst_ip;
      back.dst_ip = fr.addr.src_ip;
      wire::Fields f{};
      f.opcode = wire::kReset;
      f.dst_conn = fr.f.src_conn;
      f.src_conn = fr.f.dst_conn;
      send_frame(back, f, nullptr, 0);
    }
    return;
  }
  if (c->state == ConnState::kConnecting) {
    if (fr.f.opcode == wire::kAccept) on_accept_frame_pc(*c, fr);
    else if (fr.f.opcode == wire::kReject) on_reject_frame_pc(*c, fr);
    else stats_.drops_no_conn.add(1);
    return;
  }
  if (c->state != ConnState::kEstablished || fr.f.src_conn != c->peer_id) {
    stats_.drops_no_conn.add(1);
    return;
  }
  // Every header carries the peer's current credit limits.
  if (seq_lt(c->peer_recv_limit, fr.f.recv_limit)) c->peer_recv_limit = fr.f.recv_limit;
  if (seq_lt(c->peer_early_limit, fr.f.early_limit)) c->peer_early_limit = fr.f.early_limit;
  if (!c->send_q.empty()) mark_ready(*c);
  switch (fr.f.opcode) {
    case wire::kData: on_data_pc(*c, fr); break;
    case wire::kReset: on_reset_frame_pc(*c); break;
    default: break;  // credit update, keepalive, duplicate ACCEPT: limits already taken
  }
}

void PollCore::on_connect_req_pc(const wire::Frame& fr) {
  wire::ConnectBody body;
  std::memcpy(&body, fr.payload, sizeof body);
  wire::L3Addr back{};
  std::memcpy(back.src_mac, e_->port()->mac(), 6);
  std::memcpy(back.dst_mac, fr.addr.src_mac, 6);
  back.src_ip = fr.addr.dst_ip;
  back.dst_ip = fr.addr.src_ip;
  uint16_t dst_port = body.dst_port.get(), src_port = body.src_port.get();

  // A retransmitted request that is already queued is dropped.
  for (PendingConn* p = pending_head_; p; p = p->next_pc)
    if (p->peer_conn == fr.f.src_conn && p->addr.dst_ip == back.dst_ip) return;

  Listener* l = e_->listeners.lookup(dst_port);
  bool ok = l != nullptr && (l->ip == 0 || l->ip == back.src_ip);
  // R47: a full backlog refuses at once, and no FD_ACCEPT is signalled.
  if (ok && l->queued.load(std::memory_order_acquire) >= l->backlog.load(std::memory_order_relaxed))
    ok = false;
  void* obj = nullptr;
  if (ok && rte_mempool_get(e_->pending_pool(), &obj) != 0) ok = false;
  if (!ok) {
    send_connect_frame(back, wire::kReject, fr.f.src_conn, 0, dst_port, src_port, wire::kRefused, 0);
    return;
  }
  auto* p = static_cast<PendingConn*>(obj);
  // The listener's ring holds a full backlog (RING_F_EXACT_SZ); a failure here would be a bug,
  // and refusing is the safe answer to it.
  if (!l->queue.enqueue(p)) {
    rte_mempool_put(e_->pending_pool(), p);
    send_connect_frame(back, wire::kReject, fr.f.src_conn, 0, dst_port, src_port, wire::kRefused, 0);
    return;
  }
  p->addr = back;
  p->local_port = dst_port;
  p->peer_port = src_port;
  p->peer_conn = fr.f.src_conn;
  p->peer_recv_limit = fr.f.recv_limit;
  p->peer_early_limit = fr.f.early_limit;
  p->core = index_;
  p->cancelled = false;
  p->next_pc = pending_head_;
  pending_head_ = p;
  // The listener is alive until a grace period after it is unpublished, which cannot end
  // before this pass reports quiescence.
  l->queued.fetch_add(1, std::memory_order_acq_rel);
  record_event(l->link, kAcceptBit, 0);  // R48
}

void PollCore::on_accept_frame_pc(Conn& c, const wire::Frame& fr) {
  c.state = ConnState::kEstablished;
  c.peer_id = fr.f.src_conn;
  c.peer_recv_limit = fr.f.recv_limit;
  c.peer_early_limit = fr.f.early_limit;
  c.link->state.store(kLinkEstablished, std::memory_order_release);
  record_event(c.link, kConnectBit, 0);  // R45
}

void PollCore::on_reject_frame_pc(Conn& c, const wire::Frame& fr) {
  wire::ConnectBody body;
  std::memcpy(&body, fr.payload, sizeof body);
  uint32_t reason = body.reason.get();
  if (reason != wire::kRefused && reason != wire::kNoResources) reason = wire::kRefused;
  c.state = ConnState::kDead;
  c.link->state.store(kLinkDead, std::memory_order_release);
  record_event(c.link, kConnectBit, static_cast<int32_t>(reason));  // R46, R49
}

void PollCore::on_data_pc(Conn& c, const wire::Frame& fr) {
  const wire::Fields& f = fr.f;
  if (f.flags & wire::kFirst) {
    if (f.msg_seq != c.next_msg_seq || c.cur_msg_got != 0) {
      stats_.drops_no_conn.add(1);
      return;
    }
    if (c.recv_q.empty() || c.early_count) {
      // No receive for it yet: it must fit an early slot the peer was granted.
      if (f.msg_len > kEarlyMax || c.early_count >= e_->config().early_slots) {
        stats_.drops_early_overrun.add(1);
        return;
      }
      c.cur_msg_early = true;
      uint32_t tail = (c.early_head + c.early_count) % e_->config().early_slots;
      c.early[tail].len = f.msg_len;
      c.early_count++;
    } else {
      c.cur_msg_early = false;
    }
  } else if (f.msg_seq != c.next_msg_seq || f.msg_offset != c.cur_msg_got) {
    stats_.drops_no_conn.add(1);  // out of order: the reliability layer never lets this through
    return;
  }

  if (c.cur_msg_early) {
    uint32_t tail = (c.early_head + c.early_count - 1) % e_->config().early_slots;
    std::memcpy(c.early[tail].data + f.msg_offset, fr.payload, fr.payload_len);
  } else {
    request_scatter(c.recv_q.head, f.msg_offset, fr.payload, fr.payload_len);
  }
  c.cur_msg_got += fr.payload_len;
  if (!(f.flags & wire::kLast)) return;

  c.next_msg_seq++;
  c.cur_msg_got = 0;
  if (c.cur_msg_early) {
    c.cur_msg_early = false;
    deliver_early_pc(c);
    return;
  }
  Request* r = c.recv_q.pop();
  uint32_t n = std::min(f.msg_len, r->total_len);
  complete(r, f.msg_len > r->total_len ? kWsaMsgSize : 0, n);  // R40: one message per receive
}

void PollCore::on_reset_frame_pc(Conn& c) {
  fail_conn(c, kWsaConnReset);  // R15, R29: the context stays until WSPCloseSocket
}

}  // namespace dpsan::fastpath
