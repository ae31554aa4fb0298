/* SPDX-License-Identifier: BSD-3-Clause */
/** @file Unit tests: the RDMA body parser, the target's access check, the registration cache. */
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <cstring>
#include <vector>

#include "fastpath/rdma_region.h"
#include "fastpath/reg_cache.h"
#include "fastpath/wire/codec.h"
#include "fastpath/wire/rdma.h"

using namespace dpsan::fastpath;

namespace {

/** Encode then decode a frame; the Frame points into `buf`. */
wire::Frame frame(std::vector<uint8_t>& buf, const wire::Fields& f, const std::vector<uint8_t>& payload) {
  buf.assign(wire::kFrameOverhead + payload.size(), 0);
  std::memcpy(buf.data() + wire::kFrameOverhead, payload.data(), payload.size());
  wire::L3Addr a{};
  wire::encode(buf.data(), a, f, static_cast<uint16_t>(payload.size()));
  wire::Frame fr;
  EXPECT_EQ(wire::decode(buf.data(), buf.size(), &fr), wire::DecodeStatus::kOk);
  return fr;
}

std::vector<uint8_t> body(const wire::RdmaRef& r, size_t data = 0) {
  std::vector<uint8_t> v(sizeof(wire::RdmaBody) + data, 0x77);
  wire::put_rdma_body(v.data(), r);
  return v;
}

wire::Fields fields(uint8_t op, uint16_t flags, uint32_t len, uint32_t off) {
  wire::Fields f{};
  f.opcode = op;
  f.flags = flags;
  f.msg_len = len;
  f.msg_offset = off;
  return f;
}

}  // namespace

TEST(RdmaDecode, WriteSegmentRoundTrips) {
  std::vector<uint8_t> buf;
  wire::RdmaRef ref{0x10002, 3, 9, 0xfeedfacecafebeefull, 1000};
  wire::Frame fr = frame(buf, fields(wire::kRdmaWrite, 0, 300, 128), body(ref, 100));
  wire::RdmaOp op;
  ASSERT_EQ(wire::decode_rdma(fr, &op), wire::RdmaStatus::kOk);
  EXPECT_EQ(op.ref.desc_conn, ref.desc_conn);
  EXPECT_EQ(op.ref.region, 3u);
  EXPECT_EQ(op.ref.gen, 9u);
  EXPECT_EQ(op.ref.key, ref.key);
  EXPECT_EQ(op.ref.offset, 1000u);
  EXPECT_EQ(op.seg_offset, 1128u);
  EXPECT_EQ(op.data_len, 100u);
  EXPECT_EQ(op.op_len, 300u);
  EXPECT_EQ(op.data, fr.payload + sizeof(wire::RdmaBody));
}

TEST(RdmaDecode, OffsetPlusLengthMustNotWrap) {
  std::vector<uint8_t> buf;
  wire::RdmaRef ref{1, 0, 1, 1, UINT64_MAX - 16};
  wire::RdmaOp op;
  EXPECT_EQ(wire::decode_rdma(frame(buf, fields(wire::kRdmaWrite, 3, 16, 0), body(ref, 16)), &op),
            wire::RdmaStatus::kOk);  // the end, offset + len, is still a 64-bit value
  ref.offset = UINT64_MAX - 15;
  EXPECT_EQ(wire::decode_rdma(frame(buf, fields(wire::kRdmaWrite, 3, 16, 0), body(ref, 16)), &op),
            wire::RdmaStatus::kOverflow);
  EXPECT_EQ(wire::decode_rdma(frame(buf, fields(wire::kRdmaReadReq, 3, 16, 0), body(ref)), &op),
            wire::RdmaStatus::kOverflow);
}

TEST(RdmaDecode, ReservedWordAndOpcodeChecked) {
  std::vector<uint8_t> buf;
  std::vector<uint8_t> b = body(wire::RdmaRef{1, 0, 1, 1, 0}, 4);
  b[15] = 1;  // reserved
  wire::RdmaOp op;
  EXPECT_EQ(wire::decode_rdma(frame(buf, fields(wire::kRdmaWrite, 3, 4, 0), b), &op),
            wire::RdmaStatus::kReserved);
  EXPECT_EQ(wire::decode_rdma(frame(buf, fields(wire::kData, 3, 4, 0), {1, 2, 3, 4}), &op),
            wire::RdmaStatus::kNotRdma);
}

TEST(RdmaDecode, DecodeRefusesMalformedRdmaFrames) {
  std::vector<uint8_t> buf(wire::kFrameOverhead + 64, 0);
  wire::L3Addr a{};
  wire::Frame fr;
  // A write shorter than its body.
  wire::encode(buf.data(), a, fields(wire::kRdmaWrite, 3, 0, 0), 31);
  EXPECT_EQ(wire::decode(buf.data(), wire::kFrameOverhead + 31, &fr), wire::DecodeStatus::kBadBody);
  // A read request with data after the body, or not one whole frame.
  wire::encode(buf.data(), a, fields(wire::kRdmaReadReq, 3, 8, 0), 33);
  EXPECT_EQ(wire::decode(buf.data(), wire::kFrameOverhead + 33, &fr), wire::DecodeStatus::kBadBody);
  wire::encode(buf.data(), a, fields(wire::kRdmaReadReq, 1, 8, 0), 32);
  EXPECT_EQ(wire::decode(buf.data(), wire::kFrameOverhead + 32, &fr), wire::DecodeStatus::kBadBody);
  // A write segment past its message.
  wire::encode(buf.data(), a, fields(wire::kRdmaWrite, 0, 40, 20), 32 + 21);
  EXPECT_EQ(wire::decode(buf.data(), wire::kFrameOverhead + 53, &fr), wire::DecodeStatus::kBadBody);
  // A RESET with a body that is not a reason.
  wire::encode(buf.data(), a, fields(wire::kReset, 0, 0, 0), 5);
  EXPECT_EQ(wire::decode(buf.data(), wire::kFrameOverhead + 5, &fr), wire::DecodeStatus::kBadBody);
}

TEST(RdmaCheck, EveryRuleRefusesItsCase) {
  RdmaRegion t[kRdmaRegionsPerConn];
  t[2] = RdmaRegion{0x1000, 4096, 0xabc, 5, kRdmaRead, true};
  wire::RdmaRef ok{7, 2, 5, 0xabc, 0};
  EXPECT_EQ(rdma_check(t, 7, ok, 0, 4096, kRdmaRead), RdmaDeny::kOk);
  EXPECT_EQ(rdma_check(t, 7, ok, 4096, 0, kRdmaRead), RdmaDeny::kOk);  // empty, at the end
  EXPECT_EQ(rdma_check(t, 8, ok, 0, 1, kRdmaRead), RdmaDeny::kConn);
  wire::RdmaRef r = ok;
  r.region = kRdmaRegionsPerConn;
  EXPECT_EQ(rdma_check(t, 7, r, 0, 1, kRdmaRead), RdmaDeny::kRegion);
  r = ok;
  r.gen = 4;
  EXPECT_EQ(rdma_check(t, 7, r, 0, 1, kRdmaRead), RdmaDeny::kRevoked);
  r = ok;
  r.key = 0xabd;
  EXPECT_EQ(rdma_check(t, 7, r, 0, 1, kRdmaRead), RdmaDeny::kKey);
  EXPECT_EQ(rdma_check(t, 7, ok, 4096, 1, kRdmaRead), RdmaDeny::kBounds);
  EXPECT_EQ(rdma_check(t, 7, ok, 1, 4096, kRdmaRead), RdmaDeny::kBounds);
  EXPECT_EQ(rdma_check(t, 7, ok, UINT64_MAX, 2, kRdmaRead), RdmaDeny::kBounds);
  EXPECT_EQ(rdma_check(t, 7, ok, 2, UINT64_MAX, kRdmaRead), RdmaDeny::kBounds);
  EXPECT_EQ(rdma_check(t, 7, ok, 0, 1, kRdmaWrite), RdmaDeny::kRights);
  rdma_revoke(t[2]);
  EXPECT_EQ(rdma_check(t, 7, ok, 0, 1, kRdmaRead), RdmaDeny::kRevoked);
  EXPECT_EQ(t[2].gen, 6u);
}

TEST(RegCache, HitsMissesAndOverlappingInvalidation) {
  const size_t ps = 4096;
  void* mem = mmap(nullptr, 8 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto base = reinterpret_cast<uintptr_t>(mem);
  RegCache c;
  uint64_t a = c.acquire(base + 10, 2 * ps);  // pages 0..2
  c.release(a);
  uint64_t b = c.acquire(base + ps, 100);      // inside: a hit
  EXPECT_EQ(b, a);
  c.release(b);
  EXPECT_EQ(c.stats().hits, 1u);
  EXPECT_EQ(c.stats().misses, 1u);
  uint64_t d = c.acquire(base + 5 * ps, ps);   // elsewhere: a miss
  c.release(d);
  EXPECT_EQ(c.stats().entries, 2u);
  EXPECT_EQ(c.invalidate(base + 7 * ps, ps), RegCache::Invalidate::kNeverCached);
  // Partial overlap of the first range's last page drops it, and only it.
  EXPECT_EQ(c.invalidate(base + 3 * ps - 1, 2), RegCache::Invalidate::kDropped);
  EXPECT_EQ(c.stats().entries, 1u);
  uint64_t e = c.acquire(base, 10);
  EXPECT_NE(e, a);  // fresh
  EXPECT_EQ(c.stats().misses, 3u);
  // In use: refused, no longer reused, dropped at its last release.
  EXPECT_EQ(c.invalidate(base, 1), RegCache::Invalidate::kInUse);
  uint64_t f = c.acquire(base, 10);
  EXPECT_NE(f, e);
  c.release(e);
  c.release(f);
  EXPECT_EQ(c.stats().entries, 2u);  // f's range and d's range
  EXPECT_EQ(c.invalidate(0, UINT64_MAX), RegCache::Invalidate::kDropped);
  EXPECT_EQ(c.stats().entries, 0u);
  c.clear();
  munmap(mem, 8 * ps);
}
