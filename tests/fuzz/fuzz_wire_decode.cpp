/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * libFuzzer target: fastpath::wire::decode() on arbitrary bytes taken as one received frame.
 *
 * decode() must never crash nor read outside the `size` bytes it is given (libFuzzer hands the
 * target an exactly-sized heap copy, so ASan sees any over-read). When it accepts a frame, the
 * decoded addresses, fields and payload are encoded again with wire::encode() into an
 * exactly-sized buffer and decoded again: that must succeed and give back the same values, and
 * a second encode of those must give the same bytes (encode o decode is idempotent). The dpsan
 * header itself has no free bits, so the re-encoded one must equal the received one.
 */
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "fastpath/wire/body.h"
#include "fastpath/wire/codec.h"
#include "fastpath/wire/header.h"

namespace wire = dpsan::fastpath::wire;

namespace {

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "fuzz_wire_decode: check failed at %s:%d: %s\n", __FILE__,    \
                   __LINE__, #cond);                                                     \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

bool same_fields(const wire::Fields& a, const wire::Fields& b) {
  return a.opcode == b.opcode && a.flags == b.flags && a.dst_conn == b.dst_conn &&
         a.src_conn == b.src_conn && a.psn == b.psn && a.ack_psn == b.ack_psn &&
         a.recv_limit == b.recv_limit && a.early_limit == b.early_limit &&
         a.msg_seq == b.msg_seq && a.msg_len == b.msg_len && a.msg_offset == b.msg_offset;
}

bool same_addr(const wire::L3Addr& a, const wire::L3Addr& b) {
  return std::memcmp(a.src_mac, b.src_mac, 6) == 0 && std::memcmp(a.dst_mac, b.dst_mac, 6) == 0 &&
         a.src_ip == b.src_ip && a.dst_ip == b.dst_ip;
}

/** encode() a frame into a heap buffer of exactly the size it needs (so ASan sees overruns). */
std::unique_ptr<uint8_t[]> encode_exact(const wire::Frame& fr, uint32_t* len) {
  const size_t need = wire::kFrameOverhead + fr.payload_len;
  std::unique_ptr<uint8_t[]> buf(new uint8_t[need]);
  if (fr.payload_len != 0) std::memcpy(buf.get() + wire::kFrameOverhead, fr.payload, fr.payload_len);
  *len = wire::encode(buf.get(), fr.addr, fr.f, fr.payload_len);
  return buf;
}

/**
 * The body readers the poll core uses (body.h) on an accepted frame: a connect body is read
 * exactly when the opcode has one, and the codes handed on are only those the receiver acts on.
 * (RDMA bodies: fuzz_rdma_decode; DATA and READ_RESP segments are checked by decode() above.)
 */
void check_bodies(const wire::Frame& fr) {
  const uint8_t op = fr.f.opcode;
  const bool connect = op == wire::kConnectReq || op == wire::kAccept || op == wire::kReject;
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
  const uint32_t why = wire::read_reset_reason(fr);
  FUZZ_CHECK(why == wire::kConnReset || why == wire::kConnAborted);
  if (why == wire::kConnAborted) FUZZ_CHECK(op == wire::kReset && fr.payload_len == 4);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wire::Frame fr;
  std::memset(&fr, 0xa5, sizeof fr);  // "out undefined" on failure: nothing may rely on it
  const wire::DecodeStatus st = wire::decode(data, size, &fr);
  FUZZ_CHECK(static_cast<size_t>(st) < static_cast<size_t>(wire::DecodeStatus::kCount));
  FUZZ_CHECK(wire::decode_status_name(st) != nullptr);
  if (st != wire::DecodeStatus::kOk) return 0;

  // What an accepted frame promises: a known opcode and a payload inside the input.
  FUZZ_CHECK(fr.f.opcode >= 1 && fr.f.opcode <= wire::kOpcodeMax);
  FUZZ_CHECK(size >= wire::kFrameOverhead);
  FUZZ_CHECK(fr.payload == data + wire::kFrameOverhead);
  FUZZ_CHECK(fr.payload_len <= size - wire::kFrameOverhead);
  if (fr.f.opcode == wire::kConnectReq || fr.f.opcode == wire::kAccept ||
      fr.f.opcode == wire::kReject)
    FUZZ_CHECK(fr.payload_len == sizeof(wire::ConnectBody));
  if (fr.f.opcode == wire::kData && (fr.f.flags & wire::kPacked)) {
    // Packed: msg_len whole messages whose lengths walk exactly to the end of the payload.
    FUZZ_CHECK(fr.f.msg_len >= 1 && fr.f.msg_offset == 0);
    uint32_t off = 0;
    for (uint32_t i = 0; i < fr.f.msg_len; i++) {
      FUZZ_CHECK(fr.payload_len - off >= wire::kPackedLenBytes);
      const uint8_t* msg;
      uint32_t n = wire::packed_next(fr.payload, &off, &msg);
      FUZZ_CHECK(msg + n <= fr.payload + fr.payload_len && off <= fr.payload_len);
    }
    FUZZ_CHECK(off == fr.payload_len);
  } else if (fr.f.opcode == wire::kData) {
    FUZZ_CHECK(fr.f.msg_offset <= fr.f.msg_len);
    FUZZ_CHECK(fr.payload_len <= fr.f.msg_len - fr.f.msg_offset);
  }
  check_bodies(fr);

  // Round trip: encode the decoded values, decode that, compare.
  uint32_t len1 = 0;
  auto buf1 = encode_exact(fr, &len1);
  FUZZ_CHECK(len1 == wire::kFrameOverhead + fr.payload_len);
  wire::Frame fr2;
  std::memset(&fr2, 0x5a, sizeof fr2);
  const wire::DecodeStatus st2 = wire::decode(buf1.get(), len1, &fr2);
  if (st2 != wire::DecodeStatus::kOk)
    std::fprintf(stderr, "fuzz_wire_decode: re-encoded frame decodes as %s\n",
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
  constexpr size_t kHdrAt = wire::kEthLen + wire::kIpLen + wire::kUdpLen;
  FUZZ_CHECK(std::memcmp(buf1.get() + kHdrAt, data + kHdrAt, sizeof(wire::Header)) == 0);

  // The canonical encoding is a fixed point.
  uint32_t len2 = 0;
  auto buf2 = encode_exact(fr2, &len2);
  FUZZ_CHECK(len2 == len1);
  FUZZ_CHECK(std::memcmp(buf1.get(), buf2.get(), len1) == 0);
  return 0;
}
