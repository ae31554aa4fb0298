/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What fuzz_wire_decode and fuzz_wire_body check on one input taken as a received frame: the
 * decoder's contract for every opcode, each body read the way its consumer reads it, and the
 * encode o decode round trip. Included by exactly one translation unit per target.
 *
 * decode() must never crash nor read outside the `size` bytes it is given (libFuzzer hands the
 * target an exactly-sized heap copy, so ASan sees any over-read). When it accepts a frame:
 *   - the payload lies inside the frame, and agrees with the IP and UDP lengths;
 *   - every opcode's body holds what decode() vouched for (connect body, RESET reason, DATA and
 *     RDMA_READ_RESP segments inside their message, the packed DATA walk inside the payload,
 *     RDMA bodies through decode_rdma()); each segment or message is then copied where its
 *     consumer would put it, into an exactly-sized heap buffer, so that a bounds bug in decode()
 *     is an ASan report and not only a failed comparison;
 *   - the decoded values encoded again with wire::encode() decode to the same values, and a
 *     second encode gives the same bytes (encode o decode is idempotent). The dpsan header has no
 *     free bits, so the re-encoded one must equal the received one.
 *
 * With DPSAN_FUZZ_STATS set in the environment, the target prints at exit, per opcode, how many
 * inputs reached the body check of decode() (every earlier check passed: the result is kOk or
 * kBadBody) and how many were accepted, and how many inputs each decode status ended (README.md,
 * "Reaching the bodies").
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "fastpath/wire/body.h"
#include "fastpath/wire/codec.h"
#include "fastpath/wire/header.h"
#include "fastpath/wire/rdma.h"

namespace fuzz_wire {

namespace wire = dpsan::fastpath::wire;

#define FUZZ_CHECK(cond)                                                                     \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "fuzz_wire: check failed at %s:%d: %s\n", __FILE__, __LINE__,     \
                   #cond);                                                                   \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

inline constexpr size_t kHdrAt = wire::kEthLen + wire::kIpLen + wire::kUdpLen;

/** Messages up to this size are copied into a buffer of their own size (the consumer model). */
inline constexpr uint32_t kModelMax = 256 * 1024;

inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

/** Counters printed at exit when DPSAN_FUZZ_STATS is set (any value). */
struct Stats {
  static constexpr size_t kOps = wire::kOpcodeMax + 1;
  static constexpr size_t kStatuses = static_cast<size_t>(wire::DecodeStatus::kCount);
  uint64_t runs = 0;
  uint64_t status[kStatuses] = {};
  uint64_t body[kOps] = {};      ///< reached the body check of decode()
  uint64_t accepted[kOps] = {};  ///< decode() returned kOk

  ~Stats() {
    if (std::getenv("DPSAN_FUZZ_STATS") == nullptr) return;
    static const char* const ops[kOps] = {
        "?",     "CONNECT_REQ", "ACCEPT",    "REJECT",     "DATA",          "ACK",
        "CREDIT", "RESET",      "KEEPALIVE", "RDMA_WRITE", "RDMA_READ_REQ", "RDMA_READ_RESP"};
    std::fprintf(stderr, "fuzz_wire stats: %llu inputs\n", static_cast<unsigned long long>(runs));
    for (size_t i = 0; i < kStatuses; i++)
      std::fprintf(stderr, "fuzz_wire stats: status %-15s %llu\n",
                   wire::decode_status_name(static_cast<wire::DecodeStatus>(i)),
                   static_cast<unsigned long long>(status[i]));
    for (size_t op = 1; op < kOps; op++)
      std::fprintf(stderr, "fuzz_wire stats: opcode %-15s body %llu accepted %llu\n", ops[op],
                   static_cast<unsigned long long>(body[op]),
                   static_cast<unsigned long long>(accepted[op]));
  }
};

inline Stats g_stats;

inline bool same_fields(const wire::Fields& a, const wire::Fields& b) {
  return a.opcode == b.opcode && a.flags == b.flags && a.dst_conn == b.dst_conn &&
         a.src_conn == b.src_conn && a.psn == b.psn && a.ack_psn == b.ack_psn &&
         a.recv_limit == b.recv_limit && a.early_limit == b.early_limit &&
         a.msg_seq == b.msg_seq && a.msg_len == b.msg_len && a.msg_offset == b.msg_offset;
}

inline bool same_addr(const wire::L3Addr& a, const wire::L3Addr& b) {
  return std::memcmp(a.src_mac, b.src_mac, 6) == 0 && std::memcmp(a.dst_mac, b.dst_mac, 6) == 0 &&
         a.src_ip == b.src_ip && a.dst_ip == b.dst_ip;
}

/** encode() a frame into a heap buffer of exactly the size it needs (so ASan sees overruns). */
inline std::unique_ptr<uint8_t[]> encode_exact(const wire::Frame& fr, uint32_t* len) {
  const size_t need = wire::kFrameOverhead + fr.payload_len;
  std::unique_ptr<uint8_t[]> buf(new uint8_t[need]);
  if (fr.payload_len != 0)
    std::memcpy(buf.get() + wire::kFrameOverhead, fr.payload, fr.payload_len);
  *len = wire::encode(buf.get(), fr.addr, fr.f, fr.payload_len);
  return buf;
}

/**
 * `len` bytes at `at` of a message of `msg_len` bytes, as the receiver reassembles it: a buffer
 * of exactly msg_len bytes (when small enough to allocate) gets the bytes at their offset.
 */
inline void place(uint64_t msg_len, uint64_t at, const uint8_t* src, uint32_t len) {
  FUZZ_CHECK(at <= msg_len && len <= msg_len - at);
  if (msg_len > kModelMax) return;
  std::unique_ptr<uint8_t[]> msg(new uint8_t[msg_len + (msg_len == 0)]);
  if (len != 0) std::memcpy(msg.get() + at, src, len);
}

/**
 * A DATA or RDMA_READ_RESP segment of `len` bytes (decode() checked it): inside its message,
 * the first at offset 0, the last at the end.
 */
inline void check_segment(const wire::Fields& f, const uint8_t* bytes, uint32_t len) {
  FUZZ_CHECK(f.msg_offset <= f.msg_len && len <= f.msg_len - f.msg_offset);
  if (f.flags & wire::kFirst) FUZZ_CHECK(f.msg_offset == 0);
  if (f.flags & wire::kLast) FUZZ_CHECK(f.msg_offset + len == f.msg_len);
  place(f.msg_len, f.msg_offset, bytes, len);
}

/** A packed DATA payload: msg_len whole messages walking exactly to the end of the payload. */
inline void check_packed(const wire::Frame& fr) {
  FUZZ_CHECK(fr.f.flags == (wire::kFirst | wire::kLast | wire::kPacked));
  FUZZ_CHECK(fr.f.msg_len >= 1 && fr.f.msg_offset == 0);
  FUZZ_CHECK(fr.f.msg_len <= fr.payload_len / wire::kPackedLenBytes);  // the walk is bounded
  uint32_t off = 0;
  for (uint32_t i = 0; i < fr.f.msg_len; i++) {
    FUZZ_CHECK(off <= fr.payload_len && fr.payload_len - off >= wire::kPackedLenBytes);
    const uint8_t* msg;
    const uint32_t at = off;
    const uint32_t n = wire::packed_next(fr.payload, &off, &msg);
    FUZZ_CHECK(msg == fr.payload + at + wire::kPackedLenBytes);
    FUZZ_CHECK(n <= fr.payload_len - at - wire::kPackedLenBytes);
    FUZZ_CHECK(off <= fr.payload_len);
    place(n, 0, msg, n);  // each message goes to a receive of its own
  }
  FUZZ_CHECK(off == fr.payload_len);
}

/** RDMA_WRITE and RDMA_READ_REQ through decode_rdma(), the target's reader of their body. */
inline void check_rdma(const wire::Frame& fr) {
  const uint8_t op = fr.f.opcode;
  wire::RdmaOp r;
  std::memset(&r, 0xa5, sizeof r);
  const wire::RdmaStatus st = wire::decode_rdma(fr, &r);
  FUZZ_CHECK(static_cast<size_t>(st) < static_cast<size_t>(wire::RdmaStatus::kCount));
  if (op != wire::kRdmaWrite && op != wire::kRdmaReadReq) {
    FUZZ_CHECK(st == wire::RdmaStatus::kNotRdma);
    return;
  }
  // decode() vouched for the body's length; only the reserved word and a wrap remain.
  FUZZ_CHECK(st == wire::RdmaStatus::kOk || st == wire::RdmaStatus::kReserved ||
             st == wire::RdmaStatus::kOverflow);
  if (st != wire::RdmaStatus::kOk) return;
  FUZZ_CHECK(r.op_len == fr.f.msg_len && r.ref.offset <= UINT64_MAX - r.op_len);
  uint8_t again[sizeof(wire::RdmaBody)];
  wire::put_rdma_body(again, r.ref);
  FUZZ_CHECK(std::memcmp(again, fr.payload, sizeof again) == 0);
  if (op == wire::kRdmaReadReq) {
    FUZZ_CHECK(fr.payload_len == sizeof(wire::RdmaBody));
    FUZZ_CHECK(fr.f.msg_offset == 0 && fr.f.flags == (wire::kFirst | wire::kLast));
    FUZZ_CHECK(r.data == nullptr && r.data_len == 0 && r.seg_offset == r.ref.offset);
    return;
  }
  FUZZ_CHECK(r.data == fr.payload + sizeof(wire::RdmaBody));
  FUZZ_CHECK(r.data_len == fr.payload_len - sizeof(wire::RdmaBody));
  FUZZ_CHECK(r.seg_offset >= r.ref.offset);
  if (fr.f.flags & wire::kFirst) FUZZ_CHECK(fr.f.msg_offset == 0);
  if (fr.f.flags & wire::kLast) FUZZ_CHECK(fr.f.msg_offset + r.data_len == fr.f.msg_len);
  // The region window of the operation, [ref.offset, ref.offset + op_len), gets the data.
  place(r.op_len, r.seg_offset - r.ref.offset, r.data, r.data_len);
}

/** CONNECT_REQ/ACCEPT/REJECT (read_connect) and RESET (read_reset_reason), as the poll core. */
inline void check_small_bodies(const wire::Frame& fr) {
  const uint8_t op = fr.f.opcode;
  const bool connect = op == wire::kConnectReq || op == wire::kAccept || op == wire::kReject;
  if (connect) FUZZ_CHECK(fr.payload_len == sizeof(wire::ConnectBody));
  wire::ConnectInfo ci;
  std::memset(&ci, 0x5a, sizeof ci);
  FUZZ_CHECK(wire::read_connect(fr, &ci) == connect);
  if (connect) {
    wire::ConnectBody b;
    std::memcpy(&b, fr.payload, sizeof b);
    FUZZ_CHECK(ci.src_port == b.src_port.get() && ci.dst_port == b.dst_port.get());
    FUZZ_CHECK(std::memcmp(&ci.src_ip, b.src_ip.raw, 4) == 0);
    FUZZ_CHECK(ci.reason == wire::kRefused || ci.reason == wire::kNoResources);
    // The receive size: none in a REJECT; else within what conn_mss() can use (mss.h).
    if (op == wire::kReject) FUZZ_CHECK(ci.rx_mss == 0);
    else FUZZ_CHECK(ci.rx_mss >= wire::kMssMin && ci.rx_mss <= 0xffff);
  }
  if (op == wire::kReset)
    FUZZ_CHECK(fr.payload_len == 0 || fr.payload_len == sizeof(wire::ResetBody));
  const uint32_t why = wire::read_reset_reason(fr);
  FUZZ_CHECK(why == wire::kConnReset || why == wire::kConnAborted);
  if (why == wire::kConnAborted)
    FUZZ_CHECK(op == wire::kReset && fr.payload_len == sizeof(wire::ResetBody));
}

/** Everything above, on one input taken as a received frame. */
inline void check_frame(const uint8_t* data, size_t size) {
  wire::Frame fr;
  std::memset(&fr, 0xa5, sizeof fr);  // "out undefined" on failure: nothing may rely on it
  const wire::DecodeStatus st = wire::decode(data, size, &fr);
  FUZZ_CHECK(static_cast<size_t>(st) < static_cast<size_t>(wire::DecodeStatus::kCount));
  FUZZ_CHECK(wire::decode_status_name(st) != nullptr);
  g_stats.runs++;
  g_stats.status[static_cast<size_t>(st)]++;
  if ((st == wire::DecodeStatus::kOk || st == wire::DecodeStatus::kBadBody) &&
      size > kHdrAt + 1 && data[kHdrAt + 1] < Stats::kOps)
    g_stats.body[data[kHdrAt + 1]]++;
  if (st != wire::DecodeStatus::kOk) return;
  g_stats.accepted[fr.f.opcode]++;

  // Where an accepted frame's bytes lie: a known opcode, the payload inside the input right
  // after the headers, and the IP and UDP lengths agreeing with it (trailing bytes: padding).
  FUZZ_CHECK(fr.f.opcode >= 1 && fr.f.opcode <= wire::kOpcodeMax);
  FUZZ_CHECK(size >= wire::kFrameOverhead);
  FUZZ_CHECK(fr.payload == data + wire::kFrameOverhead);
  FUZZ_CHECK(fr.payload_len <= size - wire::kFrameOverhead);
  const uint16_t ip_total = rd16(data + wire::kEthLen + 2);
  FUZZ_CHECK(wire::kEthLen + size_t{ip_total} <= size);
  FUZZ_CHECK(ip_total == wire::kFrameOverhead - wire::kEthLen + fr.payload_len);
  FUZZ_CHECK(rd16(data + wire::kEthLen + wire::kIpLen + 4) == ip_total - wire::kIpLen);

  // Each opcode's body, read as its consumer reads it.
  switch (fr.f.opcode) {
    case wire::kData:
      if (fr.f.flags & wire::kPacked) check_packed(fr);
      else check_segment(fr.f, fr.payload, fr.payload_len);
      break;
    case wire::kRdmaReadResp:
      check_segment(fr.f, fr.payload, fr.payload_len);
      break;
    case wire::kRdmaWrite:
      FUZZ_CHECK(fr.payload_len >= sizeof(wire::RdmaBody));
      break;
    case wire::kRdmaReadReq:
      FUZZ_CHECK(fr.payload_len == sizeof(wire::RdmaBody));
      FUZZ_CHECK(fr.f.msg_offset == 0 && fr.f.flags == (wire::kFirst | wire::kLast));
      break;
    default:
      break;  // connect bodies and RESET below; ACK, CREDIT, KEEPALIVE: any payload is ignored
  }
  check_small_bodies(fr);
  check_rdma(fr);

  // Round trip: encode the decoded values, decode that, compare.
  uint32_t len1 = 0;
  auto buf1 = encode_exact(fr, &len1);
  FUZZ_CHECK(len1 == wire::kFrameOverhead + fr.payload_len);
  wire::Frame fr2;
  std::memset(&fr2, 0x5a, sizeof fr2);
  const wire::DecodeStatus st2 = wire::decode(buf1.get(), len1, &fr2);
  if (st2 != wire::DecodeStatus::kOk)
    std::fprintf(stderr, "fuzz_wire: re-encoded frame decodes as %s\n",
                 wire::decode_status_name(st2));
  FUZZ_CHECK(st2 == wire::DecodeStatus::kOk);
  FUZZ_CHECK(same_fields(fr.f, fr2.f));
  FUZZ_CHECK(same_addr(fr.addr, fr2.addr));
  FUZZ_CHECK(fr2.payload_len == fr.payload_len);
  FUZZ_CHECK(fr2.payload == buf1.get() + wire::kFrameOverhead);
  FUZZ_CHECK(fr.payload_len == 0 || std::memcmp(fr2.payload, fr.payload, fr.payload_len) == 0);
  // Every bit of the dpsan header is a field, a checked constant or the CRC of the rest, so the
  // re-encoded header must be the received one byte for byte (this also covers any field that
  // same_fields() does not list).
  FUZZ_CHECK(std::memcmp(buf1.get() + kHdrAt, data + kHdrAt, sizeof(wire::Header)) == 0);

  // The canonical encoding is a fixed point.
  uint32_t len2 = 0;
  auto buf2 = encode_exact(fr2, &len2);
  FUZZ_CHECK(len2 == len1);
  FUZZ_CHECK(std::memcmp(buf1.get(), buf2.get(), len1) == 0);
}

}  // namespace fuzz_wire
