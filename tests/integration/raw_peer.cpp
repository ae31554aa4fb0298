/* SPDX-License-Identifier: BSD-3-Clause */
#include "raw_peer.h"

#include <cstring>
#include <thread>

#include <rte_mbuf.h>

#include "fastpath/wire/arp.h"
#include "fastpath/wire/body.h"

namespace dpsan::test {

namespace wire = fastpath::wire;

namespace {

// Larger than any frame a ring-pair port sends (its MTU is 1500; 9000 where a PMD takes it).
constexpr uint32_t kMaxFrame = 9216;
constexpr uint32_t kFirstConnId = 0x52410001;  // "RA..": any non-zero id the target has not seen

bool seq_lt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

/** Idle wait between empty pumps: short, so a test never waits much past its event. */
void nap() { std::this_thread::sleep_for(std::chrono::microseconds(20)); }

}  // namespace

RawPeer::RawPeer(rte_ring* from_target, rte_ring* to_target, rte_mempool* pool, uint32_t my_ip,
                 const uint8_t my_mac[6], uint32_t target_ip)
    : from_target_(from_target), to_target_(to_target), pool_(pool), my_ip_(my_ip),
      target_ip_(target_ip) {
  std::memcpy(my_mac_, my_mac, 6);
}

// ---- sending -------------------------------------------------------------------------------

bool RawPeer::send_raw(const uint8_t* frame, uint32_t len) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) return false;
  if (len > rte_pktmbuf_tailroom(m)) {
    rte_pktmbuf_free(m);
    return false;
  }
  std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), frame, len);
  m->data_len = static_cast<uint16_t>(len);
  m->pkt_len = len;
  // The target's poll core empties its receive ring continuously; a full ring is a moment.
  const Deadline until = after_ms(2000);
  while (rte_ring_mp_enqueue(to_target_, m) != 0) {
    if (std::chrono::steady_clock::now() > until) {
      rte_pktmbuf_free(m);
      return false;
    }
    nap();
  }
  return true;
}

bool RawPeer::send_frame(const wire::L3Addr& a, const wire::Fields& f, const uint8_t* payload,
                         uint16_t payload_len) {
  if (wire::kFrameOverhead + payload_len > kMaxFrame) return false;
  std::vector<uint8_t> buf(wire::kFrameOverhead + payload_len);
  if (payload_len) std::memcpy(buf.data() + wire::kFrameOverhead, payload, payload_len);
  uint32_t len = wire::encode(buf.data(), a, f, payload_len);
  return send_raw(buf.data(), len);
}

wire::L3Addr RawPeer::to_target() const {
  wire::L3Addr a{};
  std::memcpy(a.src_mac, my_mac_, 6);
  std::memcpy(a.dst_mac, target_mac_, 6);
  a.src_ip = my_ip_;
  a.dst_ip = target_ip_;
  return a;
}

wire::Fields RawPeer::conn_fields(const RawConn& k, uint8_t opcode) const {
  wire::Fields f{};
  f.opcode = opcode;
  f.dst_conn = k.peer_id;
  f.src_conn = k.id;
  f.psn = k.snd_nxt;     // a reliable frame takes it; others say what comes next
  f.ack_psn = k.rcv_nxt; // everything the target sent below it is ours
  // recv_limit and early_limit stay 0: no credit, so the target sends us no DATA.
  return f;
}

void RawPeer::send_ack(RawConn& k) {
  wire::Fields f = conn_fields(k, wire::kAck);
  send_frame(to_target(), f, nullptr, 0);
}

bool RawPeer::resolve(Deadline until) {
  static const uint8_t kUnknown[6] = {};
  uint8_t frame[wire::kArpFrameLen];
  while (!resolved_) {
    uint32_t len = wire::arp_encode(frame, wire::ArpOp::kRequest, my_mac_, my_ip_, kUnknown, target_ip_);
    if (!send_raw(frame, len)) return false;
    // Ask again every 100 ms: the target's core may not have been polling yet.
    Deadline retry = std::min(until, after_ms(100));
    if (!pump_until(retry, [&] { return resolved_; }) && std::chrono::steady_clock::now() > until)
      return false;
  }
  return true;
}

size_t RawPeer::connect(uint16_t dst_port) {
  RawConn& k = conns_.emplace_back();
  k.id = kFirstConnId + static_cast<uint32_t>(conns_.size() - 1);
  k.port = static_cast<uint16_t>(50000 + conns_.size());
  k.dst_port = dst_port;
  wire::Fields f{};
  f.opcode = wire::kConnectReq;
  f.src_conn = k.id;  // dst_conn 0: the target has no id for us yet
  wire::ConnectBody body{};
  std::memcpy(body.src_ip.raw, &my_ip_, 4);  // network order, as the body carries it
  body.src_port = wire::be16::of(k.port);
  body.dst_port = wire::be16::of(dst_port);
  body.reason = wire::be32::of(0);
  send_frame(to_target(), f, reinterpret_cast<const uint8_t*>(&body), sizeof body);
  return conns_.size() - 1;
}

bool RawPeer::send_reliable(size_t c, uint8_t opcode, uint16_t flags, uint32_t msg_seq,
                            uint32_t msg_len, uint32_t msg_offset, const std::vector<uint8_t>& payload) {
  RawConn& k = conns_[c];
  wire::Fields f = conn_fields(k, opcode);
  f.flags = flags;
  f.msg_seq = msg_seq;
  f.msg_len = msg_len;
  f.msg_offset = msg_offset;
  if (payload.size() > UINT16_MAX) return false;
  if (!send_frame(to_target(), f, payload.data(), static_cast<uint16_t>(payload.size()))) return false;
  k.snd_nxt++;
  return true;
}

bool RawPeer::send_rdma_write(size_t c, const wire::RdmaRef& ref, const std::vector<uint8_t>& data,
                              uint16_t flags, uint32_t msg_len, uint32_t msg_offset) {
  std::vector<uint8_t> payload(sizeof(wire::RdmaBody));
  wire::put_rdma_body(payload.data(), ref);
  payload.insert(payload.end(), data.begin(), data.end());
  return send_reliable(c, wire::kRdmaWrite, flags, 0, msg_len, msg_offset, payload);
}

bool RawPeer::send_rdma_read(size_t c, const wire::RdmaRef& ref, uint32_t len, uint32_t read_id) {
  std::vector<uint8_t> payload(sizeof(wire::RdmaBody));
  wire::put_rdma_body(payload.data(), ref);
  return send_reliable(c, wire::kRdmaReadReq, wire::kFirst | wire::kLast, read_id, len, 0, payload);
}

bool RawPeer::send_data(size_t c, const std::vector<uint8_t>& msg) {
  RawConn& k = conns_[c];
  if (!send_reliable(c, wire::kData, wire::kFirst | wire::kLast, k.next_msg_seq,
                     static_cast<uint32_t>(msg.size()), 0, msg))
    return false;
  k.next_msg_seq++;
  return true;
}

// ---- receiving -----------------------------------------------------------------------------

unsigned RawPeer::pump() {
  // Bounded, so that a target that never stops sending cannot keep us here.
  constexpr unsigned kMaxPerPump = 4096;
  unsigned total = 0;
  std::vector<uint8_t> buf(kMaxFrame);
  void* objs[32];
  while (total < kMaxPerPump) {
    unsigned n = rte_ring_mc_dequeue_burst(from_target_, objs, 32, nullptr);
    if (n == 0) break;
    for (unsigned i = 0; i < n; i++) {
      auto* m = static_cast<rte_mbuf*>(objs[i]);
      uint32_t len = rte_pktmbuf_pkt_len(m);
      // A zero-copy frame is a chain: read it whole (bounds-checked by rte_pktmbuf_read).
      const auto* p = len <= kMaxFrame
                          ? static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, len, buf.data()))
                          : nullptr;
      if (p == nullptr) {
        bad_++;
      } else if (len >= wire::kEthLen && (p[12] << 8 | p[13]) == wire::kEtherTypeArp) {
        on_arp(p, len);
      } else {
        wire::Frame fr;
        if (wire::decode(p, len, &fr) != wire::DecodeStatus::kOk) bad_++;
        else if (fr.addr.dst_ip == my_ip_ && fr.addr.src_ip == target_ip_) on_frame(fr);
      }
      rte_pktmbuf_free(m);
    }
    total += n;
  }
  return total;
}

void RawPeer::on_arp(const uint8_t* data, uint32_t len) {
  wire::Arp a;
  if (!wire::arp_decode(data, len, &a)) return;
  if (a.op == wire::ArpOp::kReply && a.sender_ip == target_ip_ && a.target_ip == my_ip_) {
    std::memcpy(target_mac_, a.sender_mac, 6);
    resolved_ = true;
  } else if (a.op == wire::ArpOp::kRequest && a.target_ip == my_ip_) {
    uint8_t frame[wire::kArpFrameLen];
    uint32_t n = wire::arp_encode(frame, wire::ArpOp::kReply, my_mac_, my_ip_, a.sender_mac, a.sender_ip);
    send_raw(frame, n);
  }
}

void RawPeer::on_frame(const wire::Frame& fr) {
  for (RawConn& k : conns_) {
    if (k.id == fr.f.dst_conn) {
      on_conn_frame(k, fr);
      return;
    }
  }
}

void RawPeer::on_conn_frame(RawConn& k, const wire::Frame& fr) {
  const wire::Fields& f = fr.f;
  if (!k.established) {
    if (f.opcode == wire::kAccept && !k.rejected) {
      k.established = true;
      k.peer_id = f.src_conn;
      k.recv_limit = f.recv_limit;
    } else if (f.opcode == wire::kReject) {
      k.rejected = true;
    }
    return;
  }
  if (f.src_conn != k.peer_id) return;
  // The ack and the credit ride on every frame; both only move forward.
  if (seq_lt(k.acked, f.ack_psn) && !seq_lt(k.snd_nxt, f.ack_psn)) k.acked = f.ack_psn;
  if (seq_lt(k.recv_limit, f.recv_limit)) k.recv_limit = f.recv_limit;
  if (wire::opcode_reliable(f.opcode)) {
    if (f.psn == k.rcv_nxt) {
      k.rcv_nxt++;
      k.delivered.push_back(RxFrame{f, std::vector<uint8_t>(fr.payload, fr.payload + fr.payload_len)});
    }
    // In order, resent, or ahead of a hole (the target resends the hole): ack what we hold.
    send_ack(k);
    return;
  }
  if (f.opcode == wire::kReset) {
    k.reset = true;
    k.reset_reason = wire::read_reset_reason(fr);
  } else if (f.opcode == wire::kKeepalive) {
    send_ack(k);  // alive; the ACK carries our limits
  }
}

template <class Pred>
bool RawPeer::pump_until(Deadline until, Pred done) {
  for (;;) {
    unsigned n = pump();
    if (done()) return true;
    if (std::chrono::steady_clock::now() > until) return false;
    if (n == 0) nap();
  }
}

bool RawPeer::wait_accepted(size_t c, Deadline until) {
  const RawConn& k = conns_[c];
  return pump_until(until, [&] { return k.established || k.rejected; }) && k.established;
}

bool RawPeer::wait_acked(size_t c, Deadline until) {
  const RawConn& k = conns_[c];
  return pump_until(until, [&] { return k.acked == k.snd_nxt; });
}

bool RawPeer::wait_credit(size_t c, Deadline until) {
  RawConn& k = conns_[c];
  // Ask: a KEEPALIVE is answered with an ACK, which carries the target's current limits.
  send_frame(to_target(), conn_fields(k, wire::kKeepalive), nullptr, 0);
  return pump_until(until, [&] { return seq_lt(k.next_msg_seq, k.recv_limit); });
}

bool RawPeer::wait_reset(size_t c, Deadline until, uint32_t* reason) {
  const RawConn& k = conns_[c];
  if (!pump_until(until, [&] { return k.reset; })) return false;
  *reason = k.reset_reason;
  return true;
}

bool RawPeer::wait_frame(size_t c, uint8_t opcode, Deadline until, RxFrame* out) {
  RawConn& k = conns_[c];
  bool found = pump_until(until, [&] {
    while (!k.delivered.empty() && k.delivered.front().f.opcode != opcode) k.delivered.pop_front();
    return !k.delivered.empty();
  });
  if (!found) return false;
  *out = std::move(k.delivered.front());
  k.delivered.pop_front();
  return true;
}

}  // namespace dpsan::test
