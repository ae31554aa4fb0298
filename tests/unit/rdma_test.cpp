/* SPDX-License-Identifier: BSD-3-Clause */
/** @file Unit tests: the RDMA body parser, the target's access check, the registration cache. */
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <cstring>
#include <fstream>
#include <string>
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
  uint64_t a = c.acquire(base + 10, 2 * ps, kPageRead | kPageWrite);  // pages 0..2
  c.release(a);
  uint64_t b = c.acquire(base + ps, 100, kPageRead | kPageWrite);      // inside: a hit
  EXPECT_EQ(b, a);
  c.release(b);
  EXPECT_EQ(c.stats().hits, 1u);
  EXPECT_EQ(c.stats().misses, 1u);
  uint64_t d = c.acquire(base + 5 * ps, ps, kPageRead | kPageWrite);   // elsewhere: a miss
  c.release(d);
  EXPECT_EQ(c.stats().entries, 2u);
  EXPECT_EQ(c.invalidate(base + 7 * ps, ps), RegCache::Invalidate::kNeverCached);
  // Partial overlap of the first range's last page drops it, and only it.
  EXPECT_EQ(c.invalidate(base + 3 * ps - 1, 2), RegCache::Invalidate::kDropped);
  EXPECT_EQ(c.stats().entries, 1u);
  uint64_t e = c.acquire(base, 10, kPageRead | kPageWrite);
  EXPECT_NE(e, a);  // fresh
  EXPECT_EQ(c.stats().misses, 3u);
  // In use: refused, no longer reused, dropped at its last release.
  EXPECT_EQ(c.invalidate(base, 1), RegCache::Invalidate::kInUse);
  uint64_t f = c.acquire(base, 10, kPageRead | kPageWrite);
  EXPECT_NE(f, e);
  c.release(e);
  c.release(f);
  EXPECT_EQ(c.stats().entries, 2u);  // f's range and d's range
  EXPECT_EQ(c.invalidate(0, UINT64_MAX), RegCache::Invalidate::kDropped);
  EXPECT_EQ(c.stats().entries, 0u);
  c.clear();
  munmap(mem, 8 * ps);
}

/** VmLck of this process, in KiB (-1 if unreadable). */
static long locked_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmLck:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

TEST(RegCache, R65_DroppingARangeKeepsThePagesOfAnOverlappingOneLocked) {
  // mlock does not nest: dropping one cached range must not unlock the pages another cached
  // range shares with it.
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's mlock and munlock interceptors do nothing: no page is ever locked";
#endif
  const size_t ps = 4096;
  void* mem = mmap(nullptr, 8 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  std::memset(mem, 1, 8 * ps);
  auto base = reinterpret_cast<uintptr_t>(mem);
  const long before = locked_kib();
  RegCache c;
  c.release(c.acquire(base, 3 * ps, kPageRead | kPageWrite));           // pages 0..2
  c.release(c.acquire(base + 2 * ps, 3 * ps, kPageRead | kPageWrite));  // pages 2..4: not inside the first, a new range
  ASSERT_EQ(c.stats().entries, 2u);
  ASSERT_EQ(locked_kib() - before, 5 * 4) << "mlock refused (RLIMIT_MEMLOCK without CAP_IPC_LOCK?)";
  EXPECT_EQ(c.invalidate(base, 1), RegCache::Invalidate::kDropped);  // the first range only
  EXPECT_EQ(c.stats().entries, 1u);
  EXPECT_EQ(locked_kib() - before, 3 * 4) << "page 2 belongs to the second range too";
  EXPECT_EQ(c.invalidate(base + 4 * ps, 1), RegCache::Invalidate::kDropped);
  EXPECT_EQ(locked_kib() - before, 0);
  munmap(mem, 8 * ps);
}

TEST(PageRights, R60_ReadOnlyNoAccessAndUnmappedPagesAreToldApart) {
  const size_t ps = 4096;
  auto* m = static_cast<char*>(
      mmap(nullptr, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(m, MAP_FAILED);
  auto at = [&](int page) { return reinterpret_cast<uintptr_t>(m) + page * ps; };
  ASSERT_EQ(mprotect(m + ps, ps, PROT_READ), 0);  // page 1: read only
  ASSERT_EQ(mprotect(m + 2 * ps, ps, PROT_NONE), 0);  // page 2: no access
  ASSERT_EQ(munmap(m + 3 * ps, ps), 0);  // page 3: gone
  // Both ways of asking give the same answers.
  for (auto allow : {&page_rights_allow, &page_rights_allow_by_maps}) {
    const bool maps = allow == &page_rights_allow_by_maps;
    SCOPED_TRACE(maps ? "/proc/self/maps" : "MADV_POPULATE");
    EXPECT_TRUE(allow(at(0) + 100, 10, kPageRead | kPageWrite));
    EXPECT_TRUE(allow(at(1), ps, kPageRead));
    EXPECT_FALSE(allow(at(1), ps, kPageWrite));
    EXPECT_FALSE(allow(at(0), 2 * ps, kPageWrite)) << "the second page is read only";
    EXPECT_TRUE(allow(at(0), 2 * ps, kPageRead));
    EXPECT_FALSE(allow(at(2), 1, kPageRead));
    EXPECT_FALSE(allow(at(1), 2 * ps, kPageRead)) << "the second page has no access";
    EXPECT_FALSE(allow(at(3), ps, kPageRead)) << "unmapped";
    EXPECT_FALSE(allow(at(0), 0, kPageRead)) << "empty";
    EXPECT_FALSE(allow(UINTPTR_MAX - 10, 100, kPageRead)) << "wraps";
  }
  munmap(m, 3 * ps);
}

TEST(RegCache, R60_RangesEnterTheCacheOnlyWithTheRightsAskedFor) {
  const size_t ps = 4096;
  auto* m = static_cast<char*>(
      mmap(nullptr, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(m, MAP_FAILED);
  ASSERT_EQ(mprotect(m, ps, PROT_READ), 0);
  auto ro = reinterpret_cast<uintptr_t>(m);
  RegCache c;
  EXPECT_EQ(c.acquire(ro, ps, kPageWrite), 0u) << "a read-only page cached for writing";
  EXPECT_EQ(c.stats().entries, 0u);
  uint64_t r = c.acquire(ro, ps, kPageRead);
  ASSERT_NE(r, 0u);
  // A hit asking for more than was checked is checked again, and refused.
  EXPECT_EQ(c.acquire(ro, ps, kPageRead | kPageWrite), 0u);
  EXPECT_EQ(c.acquire(ro, ps, kPageRead), r) << "a hit";
  c.release(r);
  c.release(r);
  // A writable page enters for writing; asking for reading then is a hit with no new check.
  uint64_t w = c.acquire(ro + ps, ps, kPageWrite);
  ASSERT_NE(w, 0u);
  EXPECT_EQ(c.acquire(ro + ps, 10, kPageRead | kPageWrite), w);
  c.release(w);
  c.release(w);
  c.clear();
  munmap(m, 2 * ps);
}
