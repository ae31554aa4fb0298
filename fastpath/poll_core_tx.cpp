/* SPDX-License-Identifier: BSD-3-Clause */
/** @file Frames built and sent by the owning core: data segmentation, control frames, credits. */
#include <cstring>

#include "poll_core.h"
#include "port/port.h"

namespace dpsan::fastpath {

namespace {
inline bool seq_lt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
}  // namespace

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
  uint32_t flen = wire::encode(buf, addr, f, len);
  m->data_len = static_cast<uint16_t>(flen);
  m->pkt_len = flen;
  txq_[ntx_++] = m;
  stats_.packets_tx.add(1);
  stats_.bytes_tx.add(flen);
  return true;
}

void PollCore::fill_conn_fields(Conn& c, wire::Fields& f) {
  f.dst_conn = c.peer_id;
  f.src_conn = c.id;
  f.psn = c.tx_psn++;
  f.ack_psn = c.rx_psn;
  f.recv_limit = c.recvs_posted;
  f.early_limit = c.recvs_posted + e_->config().early_slots;
  c.credit_sent = c.recvs_posted;
}

bool PollCore::send_ctrl(Conn& c, uint8_t opcode) {
  wire::Fields f{};
  f.opcode = opcode;
  fill_conn_fields(c, f);
  return send_frame(c.addr, f, nullptr, 0);
}

bool PollCore::send_connect_frame(const wire::L3Addr& addr, uint8_t opcode, uint32_t dst_conn,
                                  uint32_t src_conn, uint16_t src_port, uint16_t dst_port,
                                  uint32_t reason, uint32_t early_limit) {
  wire::Fields f{};
  f.opcode = opcode;
  f.dst_conn = dst_conn;
  f.src_conn = src_conn;
  f.early_limit = early_limit;
  wire::ConnectBody body;
  body.src_ip = wire::be32{addr.src_ip};  // already network order
  body.src_port = wire::be16::of(src_port);
  body.dst_port = wire::be16::of(dst_port);
  body.reason = wire::be32::of(reason);
  return send_frame(addr, f, &body, sizeof body);
}

/**
 * Segment as much of the connection's queued messages as credits, TX room and buffers allow.
 * @return false when it stopped for TX room or buffers (the connection stays ready); true when
 *   it is done for now (queue empty, or waiting for a peer credit).
 */
bool PollCore::pump_conn_pc(Conn& c) {
  while (Request* r = c.send_q.head) {
    if (!r->unused) {
      // Decision 8: a message goes only when the peer granted it a receive or an early slot.
      uint32_t m = c.next_send_seq;
      bool granted = seq_lt(m, c.peer_recv_limit) ||
                     (r->total_len <= kEarlyMax && seq_lt(m, c.peer_early_limit));
      if (!granted) {
        if (!c.stalled) stats_.credit_stalls.add(1);
        c.stalled = true;
        return true;
      }
      c.stalled = false;
      r->msg_seq = m;
      r->unused = 1;
      c.next_send_seq++;
    }
    do {
      if (!tx_has_room()) return false;
      rte_mbuf* mb = frame_alloc(e_->mbuf_pool(), stats_);
      if (mb == nullptr) return false;
      uint32_t seg = std::min<uint32_t>(mss_, r->total_len - r->progress);
      wire::Fields f{};
      f.opcode = wire::kData;
      f.flags = static_cast<uint16_t>((r->progress == 0 ? wire::kFirst : 0) |
                                      (r->progress + seg == r->total_len ? wire::kLast : 0));
      fill_conn_fields(c, f);
      f.msg_seq = r->msg_seq;
      f.msg_len = r->total_len;
      f.msg_offset = r->progress;
      uint8_t* buf = rte_pktmbuf_mtod(mb, uint8_t*);
      request_gather(r, r->progress, buf + wire::kFrameOverhead, seg);
      uint32_t flen = wire::encode(buf, c.addr, f, static_cast<uint16_t>(seg));
      mb->data_len = static_cast<uint16_t>(flen);
      mb->pkt_len = flen;
      txq_[ntx_++] = mb;
      stats_.packets_tx.add(1);
      stats_.bytes_tx.add(flen);
      r->progress += seg;
    } while (r->progress < r->total_len);
    c.send_q.pop();
    // The payload now lives in mbufs: the switch's buffer is free again.
    complete(r, 0, r->total_len);
  }
  return true;
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
    if (c->state == ConnState::kEstablished && c->credit_sent != c->recvs_posted)
      send_ctrl(*c, wire::kCredit);
  }
}

unsigned PollCore::tx_flush() {
  if (ntx_ == 0) return 0;
  uint16_t sent = e_->port()->tx_burst(index_, txq_, ntx_);
  if (sent < ntx_) std::memmove(txq_, txq_ + sent, sizeof(txq_[0]) * (ntx_ - sent));
  ntx_ = static_cast<uint16_t>(ntx_ - sent);
  return sent;
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
