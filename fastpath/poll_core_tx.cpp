/* SPDX-License-Identifier: BSD-3-Clause */
/** @file Frames built and sent by the owning core: data segmentation, control frames, credits. */
#include <cstring>

#include "poll_core.h"
#include "port/port.h"
#include "wire/arp.h"

namespace dpsan::fastpath {

/** Take an mbuf for a frame with `len` payload bytes; nullptr when no room or no buffer. */
static rte_mbuf* frame_alloc(rte_mempool* pool, CoreStats& stats) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) stats.tx_alloc_fail.add(1);
  return m;
}

bool PollCore::send_frame(const wire::L3Addr& addr, wire::Fields f, const void* payload,
                          uint16_t len) {
  if (!tx_has_room()) tx_flush();
  if (!tx_has_room()) return false;
  rte_mbuf* m = frame_alloc(e_->mbuf_pool(), stats_);
  if (m == nullptr) return false;
  uint8_t* buf = rte_pktmbuf_mtod(m, uint8_t*);
  if (len) std::memcpy(buf + wire::kFrameOverhead, payload, len);
  seal_frame(m, addr, f, len);
  txq_[ntx_++] = m;
  return true;
}

void PollCore::seal_frame(rte_mbuf* m, const wire::L3Addr& addr, const wire::Fields& f,
                          uint16_t len) {
  Port* port = e_->port(addr.via);
  bool offload = port->tx_ip_cksum();
  rte_mbuf* ext = m->next;  // a zero-copy payload segment (poll_core_zc.cpp), or none
  uint16_t ext_len = ext ? ext->data_len : 0;
  uint32_t flen = wire::encode(rte_pktmbuf_mtod(m, uint8_t*), addr, f, len, !offload,
                               ext ? rte_pktmbuf_mtod(ext, const uint8_t*) : nullptr, ext_len);
  m->data_len = static_cast<uint16_t>(flen - ext_len);
  m->pkt_len = flen;
  m->port = addr.via;  // tx_flush sends each frame on its own port
  if (offload) {
    m->l2_len = wire::kEthLen;
    m->l3_len = wire::kIpLen;
    m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
  }
  stats_.packets_tx.add(1);
  stats_.bytes_tx.add(flen);
}

/** Fields every frame of a connection carries: ids, the ack and SACK, and our credits. */
void PollCore::fill_conn_fields(Conn& c, wire::Fields& f) {
  f.dst_conn = c.peer_id;
  f.src_conn = c.id;
  f.psn = c.snd_nxt;
  f.ack_psn = c.rcv_nxt;
  uint64_t sack = 0;
  for (uint32_t i = 0; c.rx_held && i < 64 && i + 1 < kWindow; i++)
    if (c.rxw[(c.rcv_nxt + 1 + i) % kWindow]) sack |= 1ull << i;
  f.sack = sack;
  f.recv_limit = c.recvs_posted;
  f.early_limit = c.recvs_posted + e_->config().early_slots;
  c.credit_sent = c.recvs_posted;
  c.ack_due = false;  // this frame carries the ack (the ack list skips it)
  c.rx_since_ack = 0;
}

void PollCore::push_reliable(Conn& c, rte_mbuf* m, uint32_t psn) {
  rte_pktmbuf_refcnt_update(m, 1);  // one for the port, one kept for retransmission (all segments)
  c.txw[psn % kWindow] = TxSlot{m, now_, false, false};
  held_++;
  txq_[ntx_++] = m;
  ensure_timer(c);
}

/** Control frames: DATA-less. Only reliable opcodes (none today) would take a psn. */
bool PollCore::send_ctrl(Conn& c, uint8_t opcode) {
  bool reliable = wire::opcode_reliable(opcode);
  if (reliable && !window_open(c)) return false;
  if (!tx_has_room()) tx_flush();
  if (!tx_has_room()) return false;
  rte_mbuf* m = frame_alloc(e_->mbuf_pool(), stats_);
  if (m == nullptr) return false;
  wire::Fields f{};
  f.opcode = opcode;
  fill_conn_fields(c, f);
  seal_frame(m, c.addr, f, 0);
  if (reliable) {
    push_reliable(c, m, c.snd_nxt++);
  } else {
    txq_[ntx_++] = m;
  }
  return true;
}

bool PollCore::send_connect_frame(const wire::L3Addr& addr, uint8_t opcode, uint32_t dst_conn,
                                  uint32_t src_conn, uint16_t src_port, uint16_t dst_port,
                                  uint32_t reason, uint32_t early_limit) {
  wire::Fields f{};
  f.opcode = opcode;
  // We take packed DATA: say so in the handshake (an older peer ignores the bit).
  if (opcode == wire::kConnectReq || opcode == wire::kAccept) f.flags = wire::kPacked;
  f.dst_conn = dst_conn;
  f.src_conn = src_conn;
  f.early_limit = early_limit;
  wire::ConnectBody body;
  std::memcpy(body.src_ip.raw, &addr.src_ip, 4);  // already network order
  body.src_port = wire::be16::of(src_port);
  body.dst_port = wire::be16::of(dst_port);
  // The body's last word: why, in a REJECT; in CONNECT_REQ and ACCEPT, how much payload per
  // frame we take on this port (header.h, mss.h), so the peer sends us no more.
  if (opcode == wire::kReject) body.reason = wire::be32::of(reason);
  else body.rx_mss = wire::be32::of(mss_[addr.via]);
  return send_frame(addr, f, &body, sizeof body);
}

/**
 * Segment as much of the connection's queued messages as credits, TX room and buffers allow.
 * @return false when it stopped for TX room or buffers (the connection stays ready); true when
 *   it is done for now (queue empty, or waiting for a peer credit).
 */
bool PollCore::pump_conn_pc(Conn& c) {
  if (c.rjob_count) {  // reads the peer asked of us (poll_core_rdma.cpp)
    PumpStatus st = pump_read_responses_pc(c);
    if (st != kPumpDone) return st == kPumpWait;
  }
  while (Request* r = c.send_q.head) {
    if (r->kind != ReqKind::kSend) {  // RDMA write or read, in order with the sends
      PumpStatus st = pump_rdma_op_pc(c, r);
      if (st != kPumpDone) return st == kPumpWait;
      continue;
    }
    if (!c.reads_q.empty()) return true;  // R44: a send waits for the reads before it
    if (!r->started) {
      if (!send_granted(c, r)) {
        if (!c.stalled) stats_.credit_stalls.add(1);
        c.stalled = true;
        return true;
      }
      c.stalled = false;
      r->msg_seq = c.next_send_seq++;
      r->started = 1;
    }
    if (r->progress == 0 && packs_with_next(c, r)) {
      if (!tx_has_room()) return false;
      if (!window_open(c)) return true;
      if (held_ >= held_budget_) return false;
      rte_mbuf* mb = frame_alloc(e_->mbuf_pool(), stats_);
      if (mb == nullptr) return false;
      pack_sends_pc(c, mb);
      continue;
    }
    do {
      if (!tx_has_room()) return false;
      if (!window_open(c)) return true;  // resumes when acks open the window (mark_ready)
      if (held_ >= held_budget_) return false;  // leave mbufs for acks; retry next pass
      uint32_t seg = std::min<uint32_t>(c.mss, r->total_len - r->progress);
      // The payload copied in, or attached zero-copy (poll_core_zc.cpp).
      rte_mbuf* mb = payload_frame_pc(c, r, seg, 0);
      if (mb == nullptr) return false;
      wire::Fields f{};
      f.opcode = wire::kData;
      f.flags = static_cast<uint16_t>((r->progress == 0 ? wire::kFirst : 0) |
                                      (r->progress + seg == r->total_len ? wire::kLast : 0));
      fill_conn_fields(c, f);
      f.msg_seq = r->msg_seq;
      f.msg_len = r->total_len;
      f.msg_offset = r->progress;
      seal_frame(mb, c.addr, f, static_cast<uint16_t>(seg));
      r->last_psn = c.snd_nxt;
      push_reliable(c, mb, c.snd_nxt++);
      r->progress += seg;
    } while (r->progress < r->total_len);
    // Framed: it completes when the peer acknowledges its last frame.
    c.unacked_q.push(c.send_q.pop());
  }
  return true;
}

bool PollCore::send_granted(const Conn& c, const Request* r) const {
  // Decision 8: a message goes only when the peer granted it a receive or an early slot.
  uint32_t m = c.next_send_seq;
  return seq_lt(m, c.peer_recv_limit) || (r->total_len <= kEarlyMax && seq_lt(m, c.peer_early_limit));
}

bool PollCore::packable(const Conn& c, const Request* r, uint32_t room) const {
  return r != nullptr && r->kind == ReqKind::kSend && !r->started &&
         r->total_len + wire::kPackedLenBytes <= room && send_granted(c, r);
}

bool PollCore::packs_with_next(const Conn& c, const Request* r) const {
  // Worth it from two messages on; `r` has its number already, the next one would take
  // next_send_seq.
  uint32_t room = c.mss;
  if (!c.peer_packs || r->total_len + wire::kPackedLenBytes > room) return false;
  return packable(c, r->next, room - wire::kPackedLenBytes - r->total_len);
}

/**
 * One DATA frame for the send at the head of send_q (numbered, nothing framed yet) and the
 * sends after it that fit and have credit (header.h, kPacked): per-frame costs (buffer,
 * headers, CRC32C, window slot, ack) are paid once for all of them. Each completes when the
 * frame is acked.
 */
void PollCore::pack_sends_pc(Conn& c, rte_mbuf* mb) {
  uint8_t* out = rte_pktmbuf_mtod(mb, uint8_t*) + wire::kFrameOverhead;
  uint32_t room = c.mss, used = 0, n = 0;
  uint32_t first_seq = c.send_q.head->msg_seq;
  for (Request* r = c.send_q.head; r != nullptr; r = c.send_q.head) {
    if (n > 0) {
      if (!packable(c, r, room - used)) break;
      r->msg_seq = c.next_send_seq++;
      r->started = 1;
    }
    wire::packed_put_len(out + used, r->total_len);
    request_gather(r, 0, out + used + wire::kPackedLenBytes, r->total_len);
    used += wire::kPackedLenBytes + r->total_len;
    r->progress = r->total_len;
    r->last_psn = c.snd_nxt;
    c.unacked_q.push(c.send_q.pop());
    n++;
  }
  wire::Fields f{};
  f.opcode = wire::kData;
  f.flags = wire::kFirst | wire::kLast | wire::kPacked;
  fill_conn_fields(c, f);
  f.msg_seq = first_seq;
  f.msg_len = n;
  seal_frame(mb, c.addr, f, static_cast<uint16_t>(used));
  push_reliable(c, mb, c.snd_nxt++);
}

void PollCore::pump_sends_pc() {
  while (Conn* c = ready_head_) {
    ready_head_ = c->next_ready;
    c->in_ready = false;
    if (c->state != ConnState::kEstablished) continue;
    if (!pump_conn_pc(*c)) {
      mark_ready(*c);
      break;
    }
  }
}

void PollCore::send_credits_pc() {
  while (Conn* c = dirty_head_) {
    if (!tx_has_room()) return;
    dirty_head_ = c->next_dirty;
    c->credit_dirty = false;
    // A credit that did not fit (window full) goes with the next frame or the next pass.
    if (c->state == ConnState::kEstablished && c->credit_sent != c->recvs_posted &&
        !send_ctrl(*c, wire::kCredit))
      mark_credit_dirty(*c);
    if (c == dirty_head_) return;  // re-queued itself: try again next pass
  }
}

void PollCore::send_acks_pc() {
  for (Conn** pp = &ack_head_; Conn* c = *pp;) {
    if (c->ack_due && c->state == ConnState::kEstablished) {
      if (now_ < c->ack_deadline_tsc) {  // not due yet: more frames may come to share it
        pp = &c->next_ack;
        continue;
      }
      if (!send_ctrl(*c, wire::kAck)) return;  // no room now: next pass
    }
    *pp = c->next_ack;
    c->in_ack_list = false;
    c->ack_due = false;
  }
}

void PollCore::mark_ack_due(Conn& c, bool urgent) {
  c.ack_due = true;
  if (urgent || ++c.rx_since_ack >= 8) c.ack_deadline_tsc = 0;
  else if (c.rx_since_ack == 1) c.ack_deadline_tsc = now_ + us_to_tsc(e_->config().ack_delay_us);
  if (c.in_ack_list) return;
  c.in_ack_list = true;
  c.next_ack = ack_head_;
  ack_head_ = &c;
}

void PollCore::maybe_credit(Conn& c) {
  // The peer may send messages below credit_sent; once it has sent them all it may be waiting.
  bool peer_may_wait = !seq_lt(c.next_msg_seq, c.credit_sent);
  if (c.recvs_posted != c.credit_sent && (peer_may_wait || c.recvs_posted - c.credit_sent >= 8))
    mark_credit_dirty(c);
}

unsigned PollCore::tx_flush() {
  // Runs of frames for the same port go in one burst; a port that takes less stops the flush
  // so that no frame overtakes another (order matters to the peer's receive window).
  uint16_t sent = 0;
  while (sent < ntx_) {
    uint16_t via = txq_[sent]->port, run = 1;
    while (sent + run < ntx_ && txq_[sent + run]->port == via) run++;
    uint16_t n = e_->port(via)->tx_burst(index_, txq_ + sent, run);
    sent = static_cast<uint16_t>(sent + n);
    if (n < run) break;
  }
  if (sent < ntx_) std::memmove(txq_, txq_ + sent, sizeof(txq_[0]) * (ntx_ - sent));
  ntx_ = static_cast<uint16_t>(ntx_ - sent);
  if (sent || ntx_ == 0) {
    tx_stuck_since_ = 0;
  } else if (tx_stuck_since_ == 0) {
    tx_stuck_since_ = now_;
  } else if (now_ - tx_stuck_since_ > ms_to_tsc(kTxStuckMs)) {
    // The port has taken nothing for a while (a link down, a peer gone): drop what waits, as
    // the wire would. Retransmission covers reliable frames; the rest were best effort.
    for (uint16_t i = 0; i < ntx_; i++) rte_pktmbuf_free(txq_[i]);
    stats_.tx_dropped.add(ntx_);
    ntx_ = 0;
    tx_stuck_since_ = 0;
  }
  return sent;
}

void PollCore::kick_ports_pc() {
  // An empty burst lets a port release what it holds back by time (fault injection's delayed
  // and reordered frames) when nothing else is being sent.
  if (ntx_ != 0) return;
  for (unsigned p = 0; p < e_->port_count(); p++) e_->port(p)->tx_burst(index_, txq_, 0);
}

void PollCore::send_arp_pc(uint8_t via, wire::ArpOp op, const uint8_t target_mac[6],
                           uint32_t target_ip) {
  if (!tx_has_room()) tx_flush();
  if (!tx_has_room()) return;
  rte_mbuf* m = frame_alloc(e_->mbuf_pool(), stats_);
  if (m == nullptr) return;
  Port* port = e_->port(via);
  uint32_t len = wire::arp_encode(rte_pktmbuf_mtod(m, uint8_t*), op, port->mac(),
                                  e_->config().port_addr[via].ip, target_mac, target_ip);
  m->data_len = static_cast<uint16_t>(len);
  m->pkt_len = len;
  m->port = via;
  txq_[ntx_++] = m;
  stats_.arp_tx.add(1);
}

void PollCore::mark_ready(Conn& c) {
  if (c.in_ready) return;
  c.in_ready = true;
  c.next_ready = ready_head_;
  ready_head_ = &c;
}

void PollCore::mark_credit_dirty(Conn& c) {
  if (c.credit_dirty) return;
  c.credit_dirty = true;
  c.next_dirty = dirty_head_;
  dirty_head_ = &c;
}

}  // namespace dpsan::fastpath
