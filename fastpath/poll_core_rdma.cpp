/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * RDMA write and read over the reliable connection, on the owning core.
 *
 * Initiator. A write or read request joins send_q, in order with the sends. A write is framed
 * as RDMA_WRITE segments (RdmaBody + data) and completes when its last frame is acknowledged,
 * like a send. A read sends one RDMA_READ_REQ and waits in reads_q until the RDMA_READ_RESP
 * frames have brought all its bytes. All of them take psns from the connection's one sequence
 * space, so the peer sees them in posting order: a send posted after a write is delivered after
 * the write's bytes are placed. A send posted after a read waits until the read has completed
 * (a fence, R44), since the read's data flows the other way.
 *
 * Target. Every RDMA frame is checked against the connection's region table (rdma_region.h)
 * before a byte is touched: the first write segment and a read request for the whole
 * operation, every write segment and every response frame again for its own bytes, so a
 * revocation stops an operation under way at once. A refused access resets the connection with
 * reason kConnAborted: the initiator's operations fail with WSAECONNABORTED, and ours too.
 */
#include <cstring>

#include "poll_core.h"
#include "port/port.h"
#include "wsa_codes.h"

namespace dpsan::fastpath {

namespace {
constexpr uint16_t kRdmaBodyLen = sizeof(wire::RdmaBody);
}  // namespace

// ---- requests --------------------------------------------------------------------------------

void PollCore::answer_sync(Request* r, uint32_t answer) {
  r->answer = answer;
  uint32_t expect = kSyncWaiting;
  // The release publishes `answer` (and the rest of r) to the waiter's acquire.
  if (!std::atomic_ref<uint32_t>(r->sync).compare_exchange_strong(expect, kSyncAnswered,
                                                                  std::memory_order_acq_rel))
    e_->request_put(r);  // abandoned: the poster is gone, the request is ours to free
}

void PollCore::on_rdma_reg_pc(Request* r) {
  Conn* c = conn_of(r->link);
  if (c == nullptr || c->state != ConnState::kEstablished) {
    answer_sync(r, kWsaNotConn);
    return;
  }
  for (uint32_t i = 0; i < kRdmaRegionsPerConn; i++) {
    RdmaRegion& g = c->regions[i];
    if (g.live) continue;
    g.addr = r->reg_addr;
    g.len = r->reg_len;
    g.key = r->remote.key;  // drawn by the SPI thread from the kernel's random source
    g.rights = r->reg_rights;
    g.live = true;
    r->remote.desc_conn = c->id;
    r->remote.region = i;
    r->remote.gen = g.gen;
    stats_.rdma_regions.add(1);
    answer_sync(r, 0);
    return;
  }
  answer_sync(r, kWsaNoBufs);
}

bool PollCore::rdma_region_busy(const Conn& c, uint32_t region) const {
  const RdmaRegion& g = c.regions[region];
  if (g.writing) return true;
  for (uint32_t k = 0; k < c.rjob_count; k++) {
    const wire::RdmaRef& ref = c.rjobs[(c.rjob_head + k) % kRdmaReadsMax].ref;
    if (ref.region == region && ref.gen == g.gen) return true;  // not an older registration's
  }
  return false;
}

void PollCore::on_rdma_dereg_pc(Request* r) {
  Conn* c = conn_of(r->link);
  // A connection already failed or freed has revoked everything: nothing is left to do.
  if (c != nullptr && r->remote.desc_conn == c->id && r->remote.region < kRdmaRegionsPerConn) {
    RdmaRegion& g = c->regions[r->remote.region];
    if (g.live && g.gen == r->remote.gen && g.key == r->remote.key) {
      // R59: a peer's RDMA is using it. It stays registered, so R63 holds (nothing was
      // deregistered); WSPCloseSocket revokes it at once whatever the peer does.
      if (rdma_region_busy(*c, r->remote.region)) {
        answer_sync(r, kWsaInval);
        return;
      }
      rdma_revoke(g);
      stats_.rdma_regions.add(static_cast<uint64_t>(-1));
    }
  }
  answer_sync(r, 0);
}

// ---- initiator: framing ----------------------------------------------------------------------

rte_mbuf* PollCore::rdma_frame_alloc(Conn& c, wire::Fields& f, const wire::RdmaRef* body) {
  rte_mbuf* m = rte_pktmbuf_alloc(e_->mbuf_pool());
  if (m == nullptr) {
    stats_.tx_alloc_fail.add(1);
    return nullptr;
  }
  rdma_frame_fill(c, m, f, body);
  return m;
}

void PollCore::rdma_frame_fill(Conn& c, rte_mbuf* m, wire::Fields& f, const wire::RdmaRef* body) {
  fill_conn_fields(c, f);
  if (body) wire::put_rdma_body(rte_pktmbuf_mtod(m, uint8_t*) + wire::kFrameOverhead, *body);
}

void PollCore::rdma_frame_send(Conn& c, rte_mbuf* m, const wire::Fields& f, uint16_t payload_len) {
  seal_frame(m, c.addr, f, payload_len);  // headers, checksums, and the port it leaves by
  push_reliable(c, m, c.snd_nxt++);
}

PollCore::PumpStatus PollCore::pump_rdma_op_pc(Conn& c, Request* r) {
  if (r->kind == ReqKind::kRdmaRead) {
    if (c.reads_q.size >= kRdmaReadsMax) return kPumpWait;  // a completing read resumes us
    if (!tx_has_room()) return kPumpNoRoom;
    if (!window_open(c)) return kPumpWait;
    if (held_ >= held_budget_) return kPumpNoRoom;
    wire::Fields f{};
    f.opcode = wire::kRdmaReadReq;
    f.flags = wire::kFirst | wire::kLast;
    rte_mbuf* m = rdma_frame_alloc(c, f, &r->remote);
    if (m == nullptr) return kPumpNoRoom;
    r->msg_seq = c.next_read_id++;
    f.msg_seq = r->msg_seq;
    f.msg_len = r->total_len;
    r->last_psn = c.snd_nxt;
    rdma_frame_send(c, m, f, kRdmaBodyLen);
    c.reads_q.push(c.send_q.pop());
    return kPumpDone;
  }
  const uint32_t room = c.mss - kRdmaBodyLen;  // c.mss >= wire::kMssMin > the body
  do {  // at least one frame: a zero-length write is checked by the target too
    if (!tx_has_room()) return kPumpNoRoom;
    if (!window_open(c)) return kPumpWait;
    if (held_ >= held_budget_) return kPumpNoRoom;
    uint32_t seg = std::min<uint32_t>(room, r->total_len - r->progress);
    wire::Fields f{};
    f.opcode = wire::kRdmaWrite;
    f.flags = static_cast<uint16_t>((r->progress == 0 ? wire::kFirst : 0) |
                                    (r->progress + seg == r->total_len ? wire::kLast : 0));
    // The data copied in, or attached zero-copy (poll_core_zc.cpp), behind the body.
    rte_mbuf* m = payload_frame_pc(c, r, seg, kRdmaBodyLen);
    if (m == nullptr) return kPumpNoRoom;
    rdma_frame_fill(c, m, f, &r->remote);
    f.msg_len = r->total_len;
    f.msg_offset = r->progress;
    r->last_psn = c.snd_nxt;
    rdma_frame_send(c, m, f, static_cast<uint16_t>(kRdmaBodyLen + seg));
    r->progress += seg;
  } while (r->progress < r->total_len);
  c.unacked_q.push(c.send_q.pop());  // completes when its last frame is acknowledged
  return kPumpDone;
}

// ---- target: reads the peer asked for --------------------------------------------------------

PollCore::PumpStatus PollCore::pump_read_responses_pc(Conn& c) {
  while (c.rjob_count) {
    RdmaReadJob& j = c.rjobs[c.rjob_head];
    do {
      if (!tx_has_room()) return kPumpNoRoom;
      if (!window_open(c)) return kPumpWait;
      if (held_ >= held_budget_) return kPumpNoRoom;
      uint32_t seg = std::min<uint32_t>(c.mss, j.len - j.progress);
      uint64_t off = j.ref.offset + j.progress;
      // Checked again for these bytes: a region revoked since the request is not read.
      RdmaDeny d = rdma_check(c.regions, c.id, j.ref, off, seg, kRdmaRead);
      if (d != RdmaDeny::kOk) {
        rdma_deny_pc(c, d);
        return kPumpWait;  // the connection is gone
      }
      wire::Fields f{};
      f.opcode = wire::kRdmaReadResp;
      f.flags = static_cast<uint16_t>((j.progress == 0 ? wire::kFirst : 0) |
                                      (j.progress + seg == j.len ? wire::kLast : 0));
      rte_mbuf* m = rdma_frame_alloc(c, f, nullptr);
      if (m == nullptr) return kPumpNoRoom;
      f.msg_seq = j.read_id;
      f.msg_len = j.len;
      f.msg_offset = j.progress;
      const RdmaRegion& g = c.regions[j.ref.region];
      if (seg)
        std::memcpy(rte_pktmbuf_mtod(m, uint8_t*) + wire::kFrameOverhead,
                    reinterpret_cast<const void*>(g.addr + off), seg);
      rdma_frame_send(c, m, f, static_cast<uint16_t>(seg));
      j.progress += seg;
    } while (j.progress < j.len);
    c.rjob_head = (c.rjob_head + 1) % kRdmaReadsMax;
    c.rjob_count--;
  }
  return kPumpDone;
}

// ---- receive ---------------------------------------------------------------------------------

void PollCore::on_rdma_write_pc(Conn& c, const wire::Frame& fr) {
  wire::RdmaOp op;
  if (wire::decode_rdma(fr, &op) != wire::RdmaStatus::kOk) {
    rdma_deny_pc(c, RdmaDeny::kProtocol);
    return;
  }
  // The whole write first, so that a write running past the region places nothing at all.
  RdmaDeny d = RdmaDeny::kOk;
  if (fr.f.flags & wire::kFirst) d = rdma_check(c.regions, c.id, op.ref, op.ref.offset, op.op_len, kRdmaWrite);
  if (d == RdmaDeny::kOk) d = rdma_check(c.regions, c.id, op.ref, op.seg_offset, op.data_len, kRdmaWrite);
  if (d != RdmaDeny::kOk) {
    rdma_deny_pc(c, d);
    return;
  }
  RdmaRegion& g = c.regions[op.ref.region];
  if (op.data_len) std::memcpy(reinterpret_cast<void*>(g.addr + op.seg_offset), op.data, op.data_len);
  g.writing = !(fr.f.flags & wire::kLast);  // in use between its first and last frame (R59)
}

void PollCore::on_rdma_read_req_pc(Conn& c, const wire::Frame& fr) {
  wire::RdmaOp op;
  if (wire::decode_rdma(fr, &op) != wire::RdmaStatus::kOk || c.rjob_count >= kRdmaReadsMax) {
    rdma_deny_pc(c, RdmaDeny::kProtocol);  // malformed, or more reads than the protocol allows
    return;
  }
  RdmaDeny d = rdma_check(c.regions, c.id, op.ref, op.ref.offset, op.op_len, kRdmaRead);
  if (d != RdmaDeny::kOk) {
    rdma_deny_pc(c, d);
    return;
  }
  RdmaReadJob& j = c.rjobs[(c.rjob_head + c.rjob_count) % kRdmaReadsMax];
  j.ref = op.ref;
  j.len = fr.f.msg_len;
  j.progress = 0;
  j.read_id = fr.f.msg_seq;
  c.rjob_count++;
  mark_ready(c);
}

void PollCore::on_rdma_read_resp_pc(Conn& c, const wire::Frame& fr) {
  Request* r = c.reads_q.head;
  const wire::Fields& f = fr.f;
  // Responses come in request order, each in order: anything else is a broken peer.
  if (r == nullptr || f.msg_seq != r->msg_seq || f.msg_len != r->total_len ||
      f.msg_offset != r->progress) {
    rdma_deny_pc(c, RdmaDeny::kProtocol);
    return;
  }
  request_scatter(r, f.msg_offset, fr.payload, fr.payload_len);
  r->progress += fr.payload_len;
  if (!(f.flags & wire::kLast)) return;
  c.reads_q.pop();
  complete(r, 0, r->total_len);
  if (!c.send_q.empty()) mark_ready(c);  // a fenced send, or a read held back by the limit
}

void PollCore::rdma_deny_pc(Conn& c, RdmaDeny why) {
  stats_.rdma_denied.add(1);
  stats_.rdma_denied_by[static_cast<unsigned>(why)].add(1);
  wire::Fields f{};
  f.opcode = wire::kReset;
  fill_conn_fields(c, f);
  wire::ResetBody body{wire::be32::of(wire::kConnAborted)};
  send_frame(c.addr, f, &body, sizeof body);
  fail_conn(c, kWsaConnAborted);
}

// ---- teardown --------------------------------------------------------------------------------

void PollCore::rdma_revoke_all(Conn& c) {
  for (uint32_t i = 0; i < kRdmaRegionsPerConn; i++) {
    if (c.regions[i].live) stats_.rdma_regions.add(static_cast<uint64_t>(-1));
    if (c.regions[i].live || c.regions[i].key) rdma_revoke(c.regions[i]);
  }
  c.rjob_head = c.rjob_count = 0;
}

void PollCore::rdma_end_reads(Conn& c, uint32_t error, bool finish_now) {
  while (Request* r = c.reads_q.pop()) {
    if (finish_now) e_->finish(r, error == 0 ? kWsaAborted : error, 0);
    else complete(r, error, 0);
  }
}

}  // namespace dpsan::fastpath
