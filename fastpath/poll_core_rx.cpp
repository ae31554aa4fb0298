/* SPDX-License-Identifier: BSD-3-Clause */
/** @file Frames received, handled on the owning core. Every field was checked by wire::decode. */
#include <cstring>

#include "poll_core.h"
#include "port/port.h"
#include "wire/body.h"

namespace dpsan::fastpath {

namespace {
constexpr uint32_t kWsaMsgSize = 10040;

}  // namespace

unsigned PollCore::rx_pc() {
  rte_mbuf* pkts[kRxBurst];
  unsigned total = 0;
  for (unsigned p = 0; p < e_->port_count(); p++) {
    uint16_t n = e_->port(p)->rx_burst(index_, pkts, kRxBurst);
    for (uint16_t i = 0; i < n; i++) {
      stats_.packets_rx.add(1);
      stats_.bytes_rx.add(rte_pktmbuf_pkt_len(pkts[i]));
      rx_frame_pc(pkts[i], static_cast<uint8_t>(p));
    }
    total += n;
  }
  if (handoff_.raw()) {
    HandOff hs[kRxBurst];
    unsigned n = handoff_.dequeue_burst(hs, kRxBurst);
    for (unsigned i = 0; i < n; i++) rx_frame_pc(hs[i].m, static_cast<uint8_t>(hs[i].via));
    total += n;
  }
  return total;
}

void PollCore::rx_frame_pc(rte_mbuf* m, uint8_t via) {
  // A zero-copy frame of this process: copied out, the sender's buffer released (zerocopy.h).
  if (m->nb_segs > 1 && (m = zc_flatten(m, e_->mbuf_pool())) == nullptr) return;
  // Frames are single-segment: every port is set up without scatter. The mbuf is read only:
  // with in-process ports (loopback, ring pairs) it is also in the sender's window.
  const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
  uint32_t len = rte_pktmbuf_data_len(m);
  if (len > rx_frame_max_[via]) {
    // Longer than the port's MTU: a NIC drops it, and so do the in-process ports, so that a
    // peer sending more than our rx_mss (wire/mss.h) fails the same way on every port.
    stats_.drops[static_cast<int>(wire::DecodeStatus::kTooLong)].add(1);
    rte_pktmbuf_free(m);
    return;
  }
  if (len >= wire::kEthLen && (data[12] << 8 | data[13]) == wire::kEtherTypeArp) {
    on_arp_pc(data, len, via);
    rte_pktmbuf_free(m);
    return;
  }
  wire::Frame fr;
  wire::DecodeStatus st = wire::decode(data, len, &fr);
  if (st != wire::DecodeStatus::kOk) {
    stats_.drops[static_cast<int>(st)].add(1);
  } else if (fr.addr.dst_ip != e_->config().port_addr[via].ip) {
    stats_.drops_not_ours.add(1);  // not the address this port serves
  } else if (uint32_t owner = conn_id_core(fr.f.dst_conn);
             fr.f.dst_conn != 0 && owner != index_ && owner < e_->core_count()) {
    // Another core owns the connection: it alone may touch it (no shared state, no locks).
    stats_.handoffs.add(1);
    if (e_->core(owner).hand_over(HandOff{m, via})) return;
    stats_.drops_no_conn.add(1);  // its ring is full: as if lost on the wire
  } else {
    fr.addr.via = via;
    if (on_frame_pc(fr, m)) return;  // held in a receive window
  }
  rte_pktmbuf_free(m);
}

bool PollCore::on_frame_pc(const wire::Frame& fr, rte_mbuf* m) {
  if (fr.f.opcode == wire::kConnectReq) {
    on_connect_req_pc(fr);
    return false;
  }
  if (fr.f.opcode == wire::kReset && fr.f.dst_conn == 0) {
    // The connector closed before we accepted: its queued request must not become a
    // half-open connection (R30).
    for (PendingConn* p = pending_head_; p; p = p->next_pc)
      if (p->peer_conn == fr.f.src_conn && p->addr.dst_ip == fr.addr.src_ip) p->cancelled = true;
    return false;
  }
  Conn* c = conn_by_id(fr.f.dst_conn);
  if (c == nullptr || c->addr.dst_ip != fr.addr.src_ip) {
    stats_.drops_no_conn.add(1);
    // Tell a peer that still believes in this connection that it is gone (no half-open
    // connections); a RESET or REJECT is never answered, so this cannot loop.
    if (fr.f.opcode != wire::kReset && fr.f.opcode != wire::kReject) {
      wire::L3Addr back{};
      std::memcpy(back.src_mac, e_->port(fr.addr.via)->mac(), 6);
      std::memcpy(back.dst_mac, fr.addr.src_mac, 6);
      back.src_ip = fr.addr.dst_ip;
      back.dst_ip = fr.addr.src_ip;
      back.via = fr.addr.via;
      wire::Fields f{};
      f.opcode = wire::kReset;
      f.dst_conn = fr.f.src_conn;
      f.src_conn = fr.f.dst_conn;
      send_frame(back, f, nullptr, 0);
    }
    return false;
  }
  if (c->state == ConnState::kConnecting) {
    if (fr.f.opcode == wire::kAccept) on_accept_frame_pc(*c, fr);
    else if (fr.f.opcode == wire::kReject) on_reject_frame_pc(*c, fr);
    else stats_.drops_no_conn.add(1);
    return false;
  }
  if (c->state != ConnState::kEstablished || fr.f.src_conn != c->peer_id) {
    stats_.drops_no_conn.add(1);
    return false;
  }
  c->last_rx_tsc = now_;
  // Every header carries the peer's ack, SACK and current credit limits.
  on_ack_info_pc(*c, fr.f);
  if (seq_lt(c->peer_recv_limit, fr.f.recv_limit)) c->peer_recv_limit = fr.f.recv_limit;
  if (seq_lt(c->peer_early_limit, fr.f.early_limit)) c->peer_early_limit = fr.f.early_limit;
  if (!c->send_q.empty() || c->rjob_count) mark_ready(*c);
  if (wire::opcode_reliable(fr.f.opcode)) return accept_reliable_pc(*c, fr, m);
  switch (fr.f.opcode) {
    case wire::kKeepalive:
      mark_ack_due(*c, true);  // a probe: alive? what are your limits?
      return false;
    case wire::kReset:
      on_reset_frame_pc(*c, fr);
      return false;
    default:
      return false;  // ACK, duplicate ACCEPT: the header said it all
  }
}

/** Take the peer's cumulative ack and SACK: free acked frames, complete acked sends. */
void PollCore::on_ack_info_pc(Conn& c, const wire::Fields& f) {
  uint32_t ack = f.ack_psn;
  if (seq_lt(c.snd_una, ack) && seq_le(ack, c.snd_nxt)) {
    const TxSlot& newest = c.txw[(ack - 1) % kWindow];
    uint64_t sample_tsc = newest.m && !newest.resent ? newest.sent_tsc : 0;
    for (uint32_t p = c.snd_una; p != ack; p++) {
      TxSlot& s = c.txw[p % kWindow];
      // Karn: an ack that jumps over a resent frame waited for that repair, not for the path;
      // sampling it would grow the RTO to the recovery time (seen with 16 MiB RDMA under loss).
      if (s.resent) sample_tsc = 0;
      rte_pktmbuf_free(s.m);
      held_--;
      s = TxSlot{};
    }
    if (sample_tsc) rtt_sample_pc(c, sample_tsc);
    c.snd_una = ack;
    c.rto_shift = 0;
    while (Request* r = c.unacked_q.head) {
      if (!seq_lt(r->last_psn, ack)) break;
      c.unacked_q.pop();
      complete(r, 0, r->total_len);
    }
    if (!c.send_q.empty() || c.rjob_count) mark_ready(c);  // the window opened
    if (c.snd_una != c.snd_nxt) wheel_.arm(&c.timer, tick() + ticks_of_us(rto_us(c)));
  }
  if (f.sack == 0 || c.snd_una == c.snd_nxt || ack != c.snd_una) return;
  // The peer holds frames beyond a hole at snd_una: mark them, and resend the hole once.
  for (uint32_t i = 0; i < 64; i++) {
    uint32_t p = ack + 1 + i;
    if (!seq_lt(p, c.snd_nxt)) break;
    if (f.sack & (1ull << i)) c.txw[p % kWindow].sacked = true;
  }
  if (c.fast_rtx_psn != c.snd_una || c.rto_shift == 0) {
    TxSlot& s = c.txw[c.snd_una % kWindow];
    if (s.m && resend_pc(c, s)) {
      c.fast_rtx_psn = c.snd_una;
      c.rto_shift = 1;  // once per hole until the next timeout or progress
    }
  }
}

/**
 * A reliable frame: hand it up if it is the next one (then any held ones that follow), hold it
 * if it is ahead within the window, drop a duplicate. Always owe the peer an ack.
 * @return true when `m` is held.
 */
bool PollCore::accept_reliable_pc(Conn& c, const wire::Frame& fr, rte_mbuf* m) {
  uint32_t psn = fr.f.psn;
  mark_ack_due(c, psn != c.rcv_nxt);  // a hole or a duplicate: tell the sender at once
  if (psn != c.rcv_nxt) {
    uint32_t ahead = psn - c.rcv_nxt;
    if (seq_lt(psn, c.rcv_nxt) || ahead >= kWindow || c.rxw[psn % kWindow] ||
        held_ >= held_budget_) {
      stats_.drops_duplicate.add(1);  // the sender resends it when its turn comes
      return false;
    }
    c.rxw[psn % kWindow] = m;
    c.rx_held++;
    held_++;
    return true;
  }
  deliver_pc(c, fr);
  c.rcv_nxt++;
  while (c.state == ConnState::kEstablished) {
    rte_mbuf* held = c.rxw[c.rcv_nxt % kWindow];
    if (held == nullptr) break;
    c.rxw[c.rcv_nxt % kWindow] = nullptr;
    c.rx_held--;
    held_--;
    wire::Frame hf;
    // It passed decode once; decode again to rebuild the view (the bytes did not change).
    if (wire::decode(rte_pktmbuf_mtod(held, const uint8_t*), rte_pktmbuf_data_len(held), &hf) ==
        wire::DecodeStatus::kOk)
      deliver_pc(c, hf);
    rte_pktmbuf_free(held);
    c.rcv_nxt++;
  }
  return false;
}

/** In order, exactly once: the message layer. */
void PollCore::deliver_pc(Conn& c, const wire::Frame& fr) {
  switch (fr.f.opcode) {
    case wire::kData: on_data_pc(c, fr); break;
    case wire::kRdmaWrite: on_rdma_write_pc(c, fr); break;
    case wire::kRdmaReadReq: on_rdma_read_req_pc(c, fr); break;
    case wire::kRdmaReadResp: on_rdma_read_resp_pc(c, fr); break;
    default: break;
  }
}

void PollCore::on_connect_req_pc(const wire::Frame& fr) {
  wire::ConnectInfo body;
  if (!wire::read_connect(fr, &body)) return;  // decode() vouched for it: never taken
  wire::L3Addr back{};
  std::memcpy(back.src_mac, e_->port(fr.addr.via)->mac(), 6);
  std::memcpy(back.dst_mac, fr.addr.src_mac, 6);
  back.src_ip = fr.addr.dst_ip;
  back.dst_ip = fr.addr.src_ip;
  back.via = fr.addr.via;
  // The connector is a neighbour: learning it here spares our own connects to it an ARP.
  if (e_->port(fr.addr.via)->needs_arp()) e_->neighbours.learn(back.dst_ip, back.dst_mac, now_);
  uint16_t dst_port = body.dst_port, src_port = body.src_port;

  // A retransmitted request that is already queued is dropped.
  for (PendingConn* p = pending_head_; p; p = p->next_pc)
    if (p->peer_conn == fr.f.src_conn && p->addr.dst_ip == back.dst_ip) return;
  // One already accepted means our ACCEPT was lost: send it again. O(connections), but only
  // for a retransmitted request.
  for (uint32_t i = 0; i < e_->config().max_conns_per_core; i++) {
    Conn& c = conns_[i];
    if (c.state == ConnState::kEstablished && c.peer_id == fr.f.src_conn &&
        c.addr.dst_ip == back.dst_ip && c.peer_port == src_port) {
      send_connect_frame(c.addr, wire::kAccept, c.peer_id, c.id, c.local_port, c.peer_port, 0,
                         c.recvs_posted + e_->config().early_slots);
      return;
    }
  }

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
  p->peer_packs = (fr.f.flags & wire::kPacked) != 0;
  p->peer_rx_mss = static_cast<uint16_t>(body.rx_mss);
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
  std::memcpy(c.addr.dst_mac, fr.addr.src_mac, 6);  // the connection keeps it for its life
  c.peer_recv_limit = fr.f.recv_limit;
  c.peer_early_limit = fr.f.early_limit;
  c.peer_packs = (fr.f.flags & wire::kPacked) != 0;
  // decode() vouched for the body; an unreadable one would count as an older peer's (0).
  wire::ConnectInfo body{};
  c.mss = wire::conn_mss(mss_[c.addr.via], wire::read_connect(fr, &body) ? body.rx_mss : 0);
  c.link->state.store(kLinkEstablished, std::memory_order_release);
  record_event(c.link, kConnectBit, 0);  // R45
}

void PollCore::on_reject_frame_pc(Conn& c, const wire::Frame& fr) {
  wire::ConnectInfo body;
  uint32_t reason = wire::read_connect(fr, &body) ? body.reason : wire::kRefused;
  c.state = ConnState::kDead;
  c.link->state.store(kLinkDead, std::memory_order_release);
  record_event(c.link, kConnectBit, static_cast<int32_t>(reason));  // R46, R49
}

void PollCore::on_data_pc(Conn& c, const wire::Frame& fr) {
  if (!(fr.f.flags & wire::kPacked)) {
    on_segment_pc(c, fr.f, fr.payload, fr.payload_len);
    return;
  }
  // Whole messages, numbered from msg_seq (decode checked every length). Each is handled as
  // a one-segment message; one that is dropped (no credit) ends the frame, as it would end
  // a run of single frames (the numbers after it no longer match).
  wire::Fields one = fr.f;
  one.flags = wire::kFirst | wire::kLast;
  one.msg_offset = 0;
  uint32_t off = 0;
  for (uint32_t i = 0; i < fr.f.msg_len; i++) {
    const uint8_t* data;
    one.msg_len = wire::packed_next(fr.payload, &off, &data);
    one.msg_seq = fr.f.msg_seq + i;
    on_segment_pc(c, one, data, one.msg_len);
    if (c.next_msg_seq != one.msg_seq + 1 || c.state != ConnState::kEstablished) return;
  }
}

void PollCore::on_segment_pc(Conn& c, const wire::Fields& f, const uint8_t* payload,
                             uint32_t payload_len) {
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
    std::memcpy(c.early[tail].data + f.msg_offset, payload, payload_len);
  } else {
    request_scatter(c.recv_q.head, f.msg_offset, payload, payload_len);
  }
  c.cur_msg_got += payload_len;
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
  maybe_credit(c);  // that may have used the last credit the peer had
}

void PollCore::on_reset_frame_pc(Conn& c, const wire::Frame& fr) {
  // A reason rides along when the peer refused one of our RDMA accesses (README "RDMA").
  fail_conn(c, wire::read_reset_reason(fr));  // R15, R29: the context stays until WSPCloseSocket
}

}  // namespace dpsan::fastpath
