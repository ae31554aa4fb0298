/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * fastpath/descriptor.h: ReqQueue (the owner core's FIFO) and request_scatter / request_gather
 * (copies across a request's Sge list from a byte offset, clipped at the end of the buffers).
 * The copy helpers are checked against a flat model for every (offset, length) pair, with guard
 * bytes around each buffer so that any write past an Sge shows.
 */
#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "fastpath/descriptor.h"

namespace dpsan::fastpath {
namespace {

// ---------------------------------------------------------------------------------------------
// ReqQueue

TEST(ReqQueue, Pop_EmptyQueueGivesNull) {
  // Given a fresh queue
  ReqQueue q;
  // Expect: empty, size 0, pop answers null and changes nothing
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size, 0u);
  EXPECT_EQ(q.pop(), nullptr);
  EXPECT_EQ(q.pop(), nullptr);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size, 0u);
  EXPECT_EQ(q.head, nullptr);
  EXPECT_EQ(q.tail, nullptr);
}

TEST(ReqQueue, Push_FifoOrderAndSize) {
  ReqQueue q;
  Request r[5] = {};
  // Given five requests pushed, each with a stale `next` from an earlier life
  for (auto& x : r) {
    x.next = &r[0];
    q.push(&x);
  }
  // Expect: size 5, and they come out in push order
  EXPECT_EQ(q.size, 5u);
  EXPECT_FALSE(q.empty());
  for (unsigned i = 0; i < 5; i++) {
    EXPECT_EQ(q.pop(), &r[i]) << "position " << i;
    EXPECT_EQ(q.size, 4u - i);
  }
  // Expect: drained means empty, with head and tail both cleared
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.tail, nullptr);
  EXPECT_EQ(q.pop(), nullptr);
}

TEST(ReqQueue, Push_AfterDrainAndInterleaved) {
  ReqQueue q;
  Request a{}, b{}, c{};
  // Given one in, one out (tail must reset), then push again
  q.push(&a);
  EXPECT_EQ(q.pop(), &a);
  q.push(&b);
  // Expect: the new one is both head and tail, not linked to the old one
  EXPECT_EQ(q.head, &b);
  EXPECT_EQ(q.tail, &b);
  EXPECT_EQ(b.next, nullptr);
  // Given pushes and pops interleaved
  q.push(&c);
  EXPECT_EQ(q.pop(), &b);
  q.push(&a);
  // Expect: still FIFO
  EXPECT_EQ(q.pop(), &c);
  EXPECT_EQ(q.pop(), &a);
  EXPECT_EQ(q.pop(), nullptr);
  EXPECT_EQ(q.size, 0u);
}

TEST(ReqQueue, Push_SingleElementIsHeadAndTail) {
  ReqQueue q;
  Request a{};
  q.push(&a);
  EXPECT_EQ(q.head, &a);
  EXPECT_EQ(q.tail, &a);
  EXPECT_EQ(a.next, nullptr);
  EXPECT_EQ(q.size, 1u);
}

// ---------------------------------------------------------------------------------------------
// request_scatter / request_gather, against a flat model of the Sge list.

constexpr uint8_t kGuard = 0xEE;
constexpr size_t kPad = 16;

/** Sge buffers with guard bytes before and after each, and the flat model of their contents. */
struct Buffers {
  std::vector<std::vector<uint8_t>> mem;  // kPad | len | kPad each
  Request r{};
  uint32_t total = 0;

  explicit Buffers(const std::vector<uint32_t>& lens) {
    r.nsge = static_cast<uint8_t>(lens.size());
    for (size_t i = 0; i < lens.size(); i++) {
      mem.emplace_back(kPad + lens[i] + kPad, kGuard);
      r.sge[i].buf = reinterpret_cast<char*>(mem.back().data() + kPad);
      r.sge[i].len = lens[i];
      r.sge[i].mr = static_cast<uint32_t>(i);
      total += lens[i];
    }
  }
  /** Fill every buffer with its flat position (pos & 0xff) ^ 0x80. */
  void fill_pattern() {
    uint32_t pos = 0;
    for (unsigned i = 0; i < r.nsge; i++)
      for (uint32_t k = 0; k < r.sge[i].len; k++, pos++) r.sge[i].buf[k] = static_cast<char>((pos & 0xff) ^ 0x80);
  }
  void fill_zero() {
    for (unsigned i = 0; i < r.nsge; i++) std::memset(r.sge[i].buf, 0, r.sge[i].len);
  }
  std::vector<uint8_t> flat() const {
    std::vector<uint8_t> f;
    for (unsigned i = 0; i < r.nsge; i++)
      f.insert(f.end(), r.sge[i].buf, r.sge[i].buf + r.sge[i].len);
    return f;
  }
  bool guards_intact() const {
    for (const auto& m : mem) {
      for (size_t k = 0; k < kPad; k++)
        if (m[k] != kGuard || m[m.size() - 1 - k] != kGuard) return false;
    }
    return true;
  }
};

std::vector<uint8_t> source(uint32_t n) {
  std::vector<uint8_t> s(n);
  for (uint32_t i = 0; i < n; i++) s[i] = static_cast<uint8_t>(i * 7 + 1);
  return s;
}

TEST(RequestScatter, EveryOffsetAndLengthMatchesFlatModel) {
  // Given Sges of 5, 0 (empty), 3, 1 and 7 bytes (16 in all)
  const std::vector<uint32_t> lens = {5, 0, 3, 1, 7};
  for (uint32_t off = 0; off <= 18; off++) {
    for (uint32_t len = 0; len <= 18; len++) {
      SCOPED_TRACE(testing::Message() << "off " << off << " len " << len);
      Buffers b(lens);
      b.fill_zero();
      std::vector<uint8_t> src = source(len);
      // Scatter `len` bytes at flat offset `off`
      request_scatter(&b.r, off, src.data(), len);
      // Expect: flat[off .. min(off+len, total)) = src[..], everything else untouched (0), and
      // nothing written outside any Sge
      std::vector<uint8_t> want(b.total, 0);
      for (uint32_t k = 0; k < len && off + k < b.total; k++) want[off + k] = src[k];
      ASSERT_EQ(b.flat(), want);
      ASSERT_TRUE(b.guards_intact());
    }
  }
}

TEST(RequestScatter, OnlyTheFirstNsgeEntriesAreUsed) {
  // Given 3 Sges of 4 bytes, with nsge = 2
  Buffers b({4, 4, 4});
  b.fill_zero();
  b.r.nsge = 2;
  std::vector<uint8_t> src = source(12);
  // Scatter 12 bytes
  request_scatter(&b.r, 0, src.data(), 12);
  // Expect: the first 8 written, the third Sge untouched (clipped at nsge)
  for (int k = 0; k < 4; k++) EXPECT_EQ(static_cast<uint8_t>(b.r.sge[2].buf[k]), 0) << k;
  EXPECT_EQ(std::memcmp(b.r.sge[0].buf, src.data(), 4), 0);
  EXPECT_EQ(std::memcmp(b.r.sge[1].buf, src.data() + 4, 4), 0);
  EXPECT_TRUE(b.guards_intact());
}

TEST(RequestScatter, NoSgeWritesNothing) {
  // Given a request with nsge = 0 whose first Sge slot still names a buffer
  char mem[4] = {};
  Request r{};
  r.sge[0] = Sge{mem, 4, 0};
  r.nsge = 0;
  uint8_t src[4] = {1, 2, 3, 4};
  uint8_t dst[4] = {9, 9, 9, 9};
  // Scatter and gather 4 bytes
  request_scatter(&r, 0, src, 4);
  request_gather(&r, 0, dst, 4);
  // Expect: neither touches anything
  for (int k = 0; k < 4; k++) {
    EXPECT_EQ(mem[k], 0) << k;
    EXPECT_EQ(dst[k], 9) << k;
  }
}

TEST(RequestScatter, MaxSgeEntries) {
  // Given kMaxSge one-byte Sges
  std::vector<uint32_t> lens(kMaxSge, 1);
  Buffers b(lens);
  b.fill_zero();
  std::vector<uint8_t> src = source(kMaxSge + 3);
  // Scatter more than fits
  request_scatter(&b.r, 0, src.data(), kMaxSge + 3);
  // Expect: one byte in each, clipped at the end
  std::vector<uint8_t> want(src.begin(), src.begin() + kMaxSge);
  EXPECT_EQ(b.flat(), want);
  EXPECT_TRUE(b.guards_intact());
}

TEST(RequestGather, EveryOffsetAndLengthMatchesFlatModel) {
  // Given Sges of 5, 0 (empty), 3, 1 and 7 bytes filled with a known pattern
  const std::vector<uint32_t> lens = {5, 0, 3, 1, 7};
  Buffers b(lens);
  b.fill_pattern();
  const std::vector<uint8_t> flat = b.flat();
  for (uint32_t off = 0; off <= 18; off++) {
    for (uint32_t len = 0; len <= 18; len++) {
      SCOPED_TRACE(testing::Message() << "off " << off << " len " << len);
      std::vector<uint8_t> dst(kPad + len + kPad, kGuard);
      // Gather `len` bytes from flat offset `off`
      request_gather(&b.r, off, dst.data() + kPad, len);
      // Expect: dst[0 .. min(len, total-off)) = flat[off..], the rest of dst untouched
      std::vector<uint8_t> want(kPad + len + kPad, kGuard);
      for (uint32_t k = 0; k < len && off + k < b.total; k++) want[kPad + k] = flat[off + k];
      ASSERT_EQ(dst, want);
      // Expect: the source is left as it was
      ASSERT_EQ(b.flat(), flat);
    }
  }
}

TEST(RequestGather, ScatterThenGatherRoundTrips) {
  // Given a 3-Sge request of 1000, 1 and 4095 bytes
  Buffers b({1000, 1, 4095});
  b.fill_zero();
  std::vector<uint8_t> src = source(b.total);
  // Scatter the message in uneven pieces, as segments arrive
  uint32_t off = 0;
  for (uint32_t piece : {1u, 999u, 2u, 1500u, 1000u, 1594u}) {
    request_scatter(&b.r, off, src.data() + off, piece);
    off += piece;
  }
  ASSERT_EQ(off, b.total);
  // Gather it back in other pieces, as segments leave
  std::vector<uint8_t> back(b.total, 0);
  off = 0;
  for (uint32_t piece : {1000u, 1u, 4095u}) {
    request_gather(&b.r, off, back.data() + off, piece);
    off += piece;
  }
  // Expect: the same bytes, and no guard touched
  EXPECT_EQ(back, src);
  EXPECT_TRUE(b.guards_intact());
}

}  // namespace
}  // namespace dpsan::fastpath
