/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * fastpath/completion.h: publication of completions into WSAOVERLAPPED (spec section 4).
 * One test per function, then a two-thread publication test whose value is under TSan: a reader
 * that sees Internal done must see the InternalHigh/Offset/OffsetHigh written before it (OV-R /
 * OV-A; R33, R34).
 */
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "fastpath/completion.h"
#include "spi-adapter/overlapped.h"  // static_asserts that OvView and WSAOVERLAPPED agree

namespace dpsan::fastpath {
namespace {

TEST(OvView, MatchesWsaOverlappedLayout) {
  // Given the switch's WSAOVERLAPPED and the fast path's view of it
  // Expect: same size, same offsets, same in-progress value (spec section 4; section 7 widths)
  EXPECT_EQ(sizeof(OvView), sizeof(WSAOVERLAPPED));
  EXPECT_EQ(offsetof(OvView, internal), offsetof(WSAOVERLAPPED, Internal));
  EXPECT_EQ(offsetof(OvView, internal_high), offsetof(WSAOVERLAPPED, InternalHigh));
  EXPECT_EQ(offsetof(OvView, offset), offsetof(WSAOVERLAPPED, Offset));
  EXPECT_EQ(offsetof(OvView, offset_high), offsetof(WSAOVERLAPPED, OffsetHigh));
  EXPECT_EQ(offsetof(OvView, h_event), offsetof(WSAOVERLAPPED, hEvent));
  EXPECT_EQ(kOvInProgress, static_cast<uintptr_t>(WSS_OPERATION_IN_PROGRESS));
  EXPECT_NE(kOvDone, kOvInProgress);
}

// ---------------------------------------------------------------------------------------------
// ov_poll_mode(): hEvent low bit set means poll mode, no upcall (R34).

TEST(OvView, PollMode_IsTheEventLowBit_R34) {
  struct Case {
    uintptr_t ev;
    bool poll;
  } cases[] = {
      {0, false}, {1, true}, {2, false}, {3, true}, {0x1000, false}, {0x1001, true},
      {UINTPTR_MAX, true}, {UINTPTR_MAX - 1, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "hEvent 0x" << std::hex << c.ev);
    // Given an overlapped whose hEvent is `ev`
    OvView ov{};
    ov.h_event = reinterpret_cast<void*>(c.ev);
    // Expect: poll mode exactly when bit 0 is set
    EXPECT_EQ(ov_poll_mode(&ov), c.poll);
  }
}

// ---------------------------------------------------------------------------------------------
// ov_start(): Internal = WSS_OPERATION_IN_PROGRESS, results zeroed, hEvent untouched (R33).

TEST(OvView, Start_MarksInProgressAndClearsResults_R33) {
  // Given an overlapped full of leftovers from an earlier operation
  OvView ov;
  ov.internal = 0;
  ov.internal_high = 777;
  ov.offset = 0xdeadbeef;
  ov.offset_high = 10054;
  ov.h_event = reinterpret_cast<void*>(0x1235);
  ov_start(&ov);
  // Expect: in progress, results zeroed, the switch's hEvent kept
  EXPECT_EQ(ov.internal, kOvInProgress);
  EXPECT_EQ(ov.internal_high, 0u);
  EXPECT_EQ(ov.offset, 0u);
  EXPECT_EQ(ov.offset_high, 0u);
  EXPECT_EQ(ov.h_event, reinterpret_cast<void*>(0x1235));
  EXPECT_FALSE(ov_is_done(&ov));
}

// ---------------------------------------------------------------------------------------------
// ov_publish_in_place(): Offset = flags, OffsetHigh = error, InternalHigh = bytes, Internal done.

TEST(OvView, PublishInPlace_WritesEveryResultField_R34) {
  struct Case {
    uint32_t error, bytes, flags;
  } cases[] = {
      {0, 0, 0},                     // zero-byte success
      {0, 1, 0},
      {0, UINT32_MAX, UINT32_MAX},   // widest values
      {10053, 0, 0},                 // WSAECONNABORTED
      {995, 17, 0x8},                // WSA_OPERATION_ABORTED
      {UINT32_MAX, 0, 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "error " << c.error << " bytes " << c.bytes);
    // Given a started operation in poll mode
    OvView ov{};
    ov.h_event = reinterpret_cast<void*>(0x41);
    ov_start(&ov);
    ov_publish_in_place(&ov, c.error, c.bytes, c.flags);
    // Expect: done, and every field as the spec places it; hEvent untouched
    EXPECT_TRUE(ov_is_done(&ov));
    EXPECT_NE(ov.internal, kOvInProgress);
    EXPECT_EQ(ov.internal_high, uintptr_t{c.bytes});
    EXPECT_EQ(ov.offset, c.flags);
    EXPECT_EQ(ov.offset_high, c.error);
    EXPECT_EQ(ov.h_event, reinterpret_cast<void*>(0x41));
  }
}

// ---------------------------------------------------------------------------------------------
// ov_is_done(): false only for WSS_OPERATION_IN_PROGRESS; any other value is done (the upcall
// may leave a status of its own in Internal).

TEST(OvView, IsDone_AnyValueButInProgress) {
  const uintptr_t values[] = {0, 1, kOvInProgress - 1, kOvInProgress + 1, 0xC0000120u,
                              UINTPTR_MAX};
  for (uintptr_t v : values) {
    OvView ov{};
    ov.internal = v;
    EXPECT_TRUE(ov_is_done(&ov)) << "Internal 0x" << std::hex << v;
  }
  OvView ov{};
  ov.internal = kOvInProgress;
  EXPECT_FALSE(ov_is_done(&ov));
}

// ---------------------------------------------------------------------------------------------
// Ordering: a writer (the poll core) publishes many completions while a reader (the application
// polling WSPGetOverlappedResult) spins on ov_is_done. Once done, the reader must see exactly the
// published InternalHigh / Offset / OffsetHigh. A broken OV-R / OV-A pair shows up as a wrong
// value here and as a data race under TSan.

TEST(OvView, PublishInPlaceOrdering_ReaderSeesResultsOnceDone_R33) {
  constexpr unsigned kN = 1u << 17;
  auto ovs = std::make_unique<OvView[]>(kN);
  // Given kN operations started before either thread runs
  for (unsigned i = 0; i < kN; i++) {
    ovs[i].h_event = reinterpret_cast<void*>(uintptr_t{1});
    ov_start(&ovs[i]);
  }
  auto error_of = [](unsigned i) { return i * 2654435761u; };
  auto bytes_of = [](unsigned i) { return ~i; };
  auto flags_of = [](unsigned i) { return i ^ 0x5a5a5a5au; };

  std::atomic<bool> go{false};
  // A writer publishing them in order
  std::thread writer([&] {
    while (!go.load(std::memory_order_acquire)) {
    }
    for (unsigned i = 0; i < kN; i++) ov_publish_in_place(&ovs[i], error_of(i), bytes_of(i), flags_of(i));
  });

  // And a reader spinning on each in turn
  unsigned wrong = 0, first_wrong = kN;
  go.store(true, std::memory_order_release);
  for (unsigned i = 0; i < kN; i++) {
    while (!ov_is_done(&ovs[i])) {
    }
    bool ok = ovs[i].internal_high == uintptr_t{bytes_of(i)} && ovs[i].offset_high == error_of(i) &&
              ovs[i].offset == flags_of(i);
    if (!ok && wrong++ == 0) first_wrong = i;
  }
  writer.join();
  // Expect: every completion read after done carries its published values
  EXPECT_EQ(wrong, 0u) << "first wrong completion: " << first_wrong;
}

TEST(OvView, PublishInPlaceOrdering_ReaderOnAnotherThreadSeesDoneOnce) {
  // Given one overlapped reused for many operations, handed back and forth: the reader starts
  // the next operation only after it saw the previous one done and checked it
  OvView ov{};
  ov.h_event = reinterpret_cast<void*>(uintptr_t{1});
  constexpr unsigned kRounds = 20000;
  std::atomic<unsigned> started{0};
  std::thread writer([&] {
    for (unsigned r = 1; r <= kRounds; r++) {
      while (started.load(std::memory_order_acquire) != r) {
      }
      ov_publish_in_place(&ov, r, r * 3, r * 5);
    }
  });
  unsigned wrong = 0;
  for (unsigned r = 1; r <= kRounds; r++) {
    ov_start(&ov);
    // Expect: not done right after start
    if (ov_is_done(&ov)) wrong++;
    started.store(r, std::memory_order_release);
    while (!ov_is_done(&ov)) {
    }
    // Expect: the values of this round, not of the previous one
    if (ov.offset_high != r || ov.internal_high != r * 3u || ov.offset != r * 5) wrong++;
  }
  writer.join();
  EXPECT_EQ(wrong, 0u);
}

}  // namespace
}  // namespace dpsan::fastpath
