/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * libFuzzer target: the RDMA request parser, fastpath::wire::decode_rdma(), and the target's
 * access check, fastpath::rdma_check(), on frames whose every field the fuzzer chooses.
 *
 * A CRC32C guards every frame, so mutated raw frames almost never reach the RDMA code. The input
 * is therefore read as a frame *description*, and the frame is built with wire::encode (valid
 * checksums) before it is decoded:
 *
 *   byte 0       opcode (taken modulo 16, so unknown opcodes are tried too)
 *   bytes 1-2    flags
 *   bytes 3-6    msg_len      bytes 7-10  msg_offset      bytes 11-14  msg_seq
 *   bytes 15-18  the region length of the synthetic target table (slot 0..15, rights from bit 0-1
 *                of byte 19)
 *   bytes 20-    payload (at most the 9000-byte frame room)
 *
 * The raw input is also given to wire::decode as one received frame. Checks: nothing crashes or
 * reads outside its buffer; an accepted RDMA frame has its body inside the payload, data inside
 * the payload, offset + length not wrapping; the body re-encodes to the same bytes; and when
 * rdma_check allows an access, the bytes it covers lie inside the region.
 */
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fastpath/rdma_region.h"
#include "fastpath/wire/codec.h"
#include "fastpath/wire/rdma.h"

namespace fp = dpsan::fastpath;
namespace wire = dpsan::fastpath::wire;

namespace {

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "fuzz_rdma_decode: check failed at %s:%d: %s\n", __FILE__,    \
                   __LINE__, #cond);                                                     \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

uint32_t rd32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

constexpr size_t kDescLen = 20;
constexpr size_t kRoom = 9000;

void check_rdma(const wire::Frame& fr, uint64_t region_len, uint32_t rights) {
  wire::RdmaOp op;
  std::memset(&op, 0xa5, sizeof op);
  wire::RdmaStatus st = wire::decode_rdma(fr, &op);
  FUZZ_CHECK(static_cast<size_t>(st) < static_cast<size_t>(wire::RdmaStatus::kCount));
  FUZZ_CHECK(wire::rdma_status_name(st) != nullptr);
  bool rdma = fr.f.opcode == wire::kRdmaWrite || fr.f.opcode == wire::kRdmaReadReq;
  if (!rdma) {
    FUZZ_CHECK(st == wire::RdmaStatus::kNotRdma);
    return;
  }
  // decode() accepted an RDMA frame: the body is there.
  FUZZ_CHECK(fr.payload_len >= sizeof(wire::RdmaBody));
  if (st != wire::RdmaStatus::kOk) return;
  FUZZ_CHECK(op.ref.offset <= UINT64_MAX - op.op_len);
  FUZZ_CHECK(op.op_len == fr.f.msg_len);
  if (fr.f.opcode == wire::kRdmaWrite) {
    FUZZ_CHECK(op.data == fr.payload + sizeof(wire::RdmaBody));
    FUZZ_CHECK(op.data_len == fr.payload_len - sizeof(wire::RdmaBody));
    FUZZ_CHECK(op.seg_offset >= op.ref.offset);
    FUZZ_CHECK(op.seg_offset - op.ref.offset + op.data_len <= op.op_len);
  } else {
    FUZZ_CHECK(op.data == nullptr && op.data_len == 0);
    FUZZ_CHECK(fr.payload_len == sizeof(wire::RdmaBody));
  }
  // The body re-encodes to the received bytes.
  uint8_t again[sizeof(wire::RdmaBody)];
  wire::put_rdma_body(again, op.ref);
  FUZZ_CHECK(std::memcmp(again, fr.payload, sizeof again) == 0);

  // The access check against a table whose slot `region % 16` holds exactly this key.
  fp::RdmaRegion table[fp::kRdmaRegionsPerConn];
  uint32_t slot = op.ref.region % fp::kRdmaRegionsPerConn;
  table[slot].addr = 0x10000;
  table[slot].len = region_len;
  table[slot].key = op.ref.key;
  table[slot].gen = op.ref.gen;
  table[slot].rights = rights;
  table[slot].live = op.ref.gen != 0;
  const uint32_t need = fr.f.opcode == wire::kRdmaWrite ? fp::kRdmaWrite : fp::kRdmaRead;
  uint64_t off = op.seg_offset, len = fr.f.opcode == wire::kRdmaWrite ? op.data_len : op.op_len;
  fp::RdmaDeny d = fp::rdma_check(table, op.ref.desc_conn, op.ref, off, len, need);
  if (d == fp::RdmaDeny::kOk) {
    FUZZ_CHECK(op.ref.region == slot);
    FUZZ_CHECK(off <= region_len && len <= region_len - off);  // inside, no wrap
    FUZZ_CHECK((rights & need) == need);
  }
  // Another connection id is always refused.
  FUZZ_CHECK(fp::rdma_check(table, op.ref.desc_conn + 1, op.ref, off, len, need) ==
             fp::RdmaDeny::kConn);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The raw input as one received frame.
  wire::Frame raw;
  if (wire::decode(data, size, &raw) == wire::DecodeStatus::kOk) check_rdma(raw, 1u << 20, 3);

  if (size < kDescLen) return 0;
  wire::Fields f{};
  f.opcode = static_cast<uint8_t>(data[0] % 16);
  f.flags = static_cast<uint16_t>(data[1] << 8 | data[2]);
  f.msg_len = rd32(data + 3);
  f.msg_offset = rd32(data + 7);
  f.msg_seq = rd32(data + 11);
  f.dst_conn = 0x10002;
  f.src_conn = 0x20001;
  uint64_t region_len = rd32(data + 15) >> 8;  // up to 16 Mi, so fits are reachable
  uint32_t rights = data[19] & 3;
  size_t plen = size - kDescLen;
  if (plen > kRoom) plen = kRoom;
  std::vector<uint8_t> buf(wire::kFrameOverhead + plen);
  if (plen) std::memcpy(buf.data() + wire::kFrameOverhead, data + kDescLen, plen);
  wire::L3Addr addr{};
  addr.src_ip = 0x0100007f;
  addr.dst_ip = 0x0100007f;
  uint32_t len = wire::encode(buf.data(), addr, f, static_cast<uint16_t>(plen));
  FUZZ_CHECK(len == buf.size());
  wire::Frame fr;
  if (wire::decode(buf.data(), buf.size(), &fr) != wire::DecodeStatus::kOk) return 0;
  check_rdma(fr, region_len, rights);
  return 0;
}
