/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * fastpath/mr_table.h: MrTable, the local memory registrations. One test per API with boundary
 * cases (handle 0, out-of-range index, stale generation, wrong owner, rights, ranges at their
 * edges), then a concurrent use/destroy test. Pure C++: no EAL.
 *
 * The contract: handle = (generation << 32) | (index + 1), never 0; destroy fails while a use is
 * held (R59); a stale handle is refused everywhere; acquire checks owner, range and `need` rights.
 */
#include <atomic>
#include <cstdint>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fastpath/mr_table.h"

namespace dpsan::fastpath {
namespace {

constexpr uint32_t kRead = 1;   // MEM_READ
constexpr uint32_t kWrite = 2;  // MEM_WRITE
constexpr uint64_t kOwner = 0x0000000700000011ull;
constexpr uint64_t kOther = 0x0000000700000012ull;
constexpr uintptr_t kAddr = 0x10000;
constexpr uint32_t kLen = 4096;

uint32_t index_of(uint64_t h) { return static_cast<uint32_t>(h & 0xffffffffu) - 1; }
uint32_t gen_of(uint64_t h) { return static_cast<uint32_t>(h >> 32); }

// ---------------------------------------------------------------------------------------------
// init(capacity)

TEST(MrTable, Init_EmptyTableOfCapacity) {
  // Given a table of capacity 3
  MrTable t;
  ASSERT_TRUE(t.init(3));
  // Expect: nothing live, and exactly 3 registrations fit
  EXPECT_EQ(t.live(), 0u);
  for (int i = 0; i < 3; i++) EXPECT_NE(t.create(kOwner, kAddr, kLen, kRead), 0u);
  EXPECT_EQ(t.create(kOwner, kAddr, kLen, kRead), 0u);

  // Given a table of capacity 0
  MrTable z;
  ASSERT_TRUE(z.init(0));
  // Expect: every create answers 0 (full), every lookup fails
  EXPECT_EQ(z.create(kOwner, kAddr, kLen, kRead), 0u);
  EXPECT_EQ(z.acquire(1ull << 32 | 1, kOwner, kAddr, 1, 0), kMrNone);
  EXPECT_EQ(z.destroy(1ull << 32 | 1, kOwner), -1);
  EXPECT_FALSE(z.covers(1ull << 32 | 1, kOwner, kAddr, 1));
}

// ---------------------------------------------------------------------------------------------
// create(): (gen << 32) | (index + 1), never 0; 0 when full.

TEST(MrTable, Create_HandleEncodesGenerationAndIndexPlusOne) {
  MrTable t;
  ASSERT_TRUE(t.init(4));
  // Given four registrations in a fresh table
  std::set<uint32_t> idx;
  for (int i = 0; i < 4; i++) {
    uint64_t h = t.create(kOwner, kAddr, kLen, kRead);
    // Expect: low word is index + 1 in [1, capacity], high word the first generation (1)
    ASSERT_NE(h, 0u);
    EXPECT_GE(h & 0xffffffffu, 1u);
    EXPECT_LE(h & 0xffffffffu, 4u);
    EXPECT_EQ(gen_of(h), 1u);
    // Expect: acquire returns the index the handle names
    uint32_t i2 = t.acquire(h, kOwner, kAddr, kLen, 0);
    EXPECT_EQ(i2, index_of(h));
    if (i2 != kMrNone) t.release(i2);
    idx.insert(index_of(h));
  }
  // Expect: four distinct slots
  EXPECT_EQ(idx.size(), 4u);
  EXPECT_EQ(t.live(), 4u);
}

TEST(MrTable, Create_CapacityExhaustedReturnsZeroUntilOneIsDestroyed) {
  MrTable t;
  ASSERT_TRUE(t.init(8));
  std::vector<uint64_t> hs;
  // Given a table filled to its capacity
  for (int i = 0; i < 8; i++) hs.push_back(t.create(kOwner, kAddr + i, kLen, kRead));
  for (uint64_t h : hs) ASSERT_NE(h, 0u);
  // Expect: the next create answers 0 (WSAENOBUFS) and live stays at capacity
  EXPECT_EQ(t.create(kOwner, kAddr, kLen, kRead), 0u);
  EXPECT_EQ(t.create(kOther, kAddr, kLen, kRead | kWrite), 0u);
  EXPECT_EQ(t.live(), 8u);
  // Given one destroyed
  ASSERT_EQ(t.destroy(hs[3], kOwner), 0);
  // Expect: exactly one more fits, with a handle different from the destroyed one
  uint64_t h = t.create(kOwner, kAddr, kLen, kRead);
  EXPECT_NE(h, 0u);
  EXPECT_NE(h, hs[3]);
  EXPECT_EQ(t.create(kOwner, kAddr, kLen, kRead), 0u);
}

TEST(MrTable, Create_ReusedSlotGetsNewGeneration_R27) {
  // Given a table of one slot, so that reuse is certain
  MrTable t;
  ASSERT_TRUE(t.init(1));
  uint64_t h1 = t.create(kOwner, kAddr, kLen, kRead);
  ASSERT_NE(h1, 0u);
  ASSERT_EQ(t.destroy(h1, kOwner), 0);
  // Register again
  uint64_t h2 = t.create(kOwner, kAddr, kLen, kRead);
  // Expect: same slot, next generation; the old handle is refused everywhere
  ASSERT_NE(h2, 0u);
  EXPECT_EQ(index_of(h2), index_of(h1));
  EXPECT_EQ(gen_of(h2), gen_of(h1) + 1);
  EXPECT_EQ(t.acquire(h1, kOwner, kAddr, kLen, 0), kMrNone);
  EXPECT_FALSE(t.covers(h1, kOwner, kAddr, kLen));
  EXPECT_EQ(t.destroy(h1, kOwner), -1);
  // Expect: the new handle was not disturbed by the stale attempts
  EXPECT_TRUE(t.covers(h2, kOwner, kAddr, kLen));
  EXPECT_EQ(t.destroy(h2, kOwner), 0);
}

// ---------------------------------------------------------------------------------------------
// destroy(): 0, or -1 with nothing changed (unknown, stale, wrong owner, in use).

TEST(MrTable, Destroy_LiveHandleOnce) {
  MrTable t;
  ASSERT_TRUE(t.init(4));
  uint64_t h = t.create(kOwner, kAddr, kLen, kRead);
  // Given a live registration: destroy it
  // Expect: 0, live drops, and the handle is dead for every call
  EXPECT_EQ(t.destroy(h, kOwner), 0);
  EXPECT_EQ(t.live(), 0u);
  EXPECT_EQ(t.acquire(h, kOwner, kAddr, kLen, 0), kMrNone);
  EXPECT_FALSE(t.covers(h, kOwner, kAddr, kLen));
  // Destroy it again (double deregistration)
  // Expect: -1, live unchanged
  EXPECT_EQ(t.destroy(h, kOwner), -1);
  EXPECT_EQ(t.live(), 0u);
}

TEST(MrTable, Destroy_BogusHandlesRefusedAndChangeNothing_R59) {
  MrTable t;
  ASSERT_TRUE(t.init(4));
  uint64_t h = t.create(kOwner, kAddr, kLen, kRead);
  ASSERT_NE(h, 0u);
  const uint64_t g = uint64_t{gen_of(h)} << 32;
  const uint64_t bogus[] = {
      0,                           // never a handle
      g,                           // index + 1 == 0
      g | 5,                       // index one past capacity
      g | 0xffffffffu,             // largest index
      ~0ull,                       // all ones
      (g + (1ull << 32)) | (h & 0xffffffffu),  // right slot, next generation
      (g - (1ull << 32)) | (h & 0xffffffffu),  // right slot, previous generation
      h & 0xffffffffu,             // right slot, generation 0
  };
  for (uint64_t b : bogus) {
    SCOPED_TRACE(testing::Message() << "handle 0x" << std::hex << b);
    // Given a handle that names no live registration
    // Expect: -1 (WSAEINVAL)
    EXPECT_EQ(t.destroy(b, kOwner), -1);
  }
  // Given the right handle with another owner
  // Expect: -1
  EXPECT_EQ(t.destroy(h, kOther), -1);
  // Expect: none of this touched the real registration
  EXPECT_EQ(t.live(), 1u);
  EXPECT_TRUE(t.covers(h, kOwner, kAddr, kLen));
  EXPECT_EQ(t.destroy(h, kOwner), 0);
}

TEST(MrTable, DestroyFailsWhileInUse_R59) {
  MrTable t;
  ASSERT_TRUE(t.init(4));
  uint64_t h = t.create(kOwner, kAddr, kLen, kRead | kWrite);
  // Given two uses taken by pending operations
  uint32_t u1 = t.acquire(h, kOwner, kAddr, 100, kRead);
  uint32_t u2 = t.acquire(h, kOwner, kAddr + 100, 100, kWrite);
  ASSERT_NE(u1, kMrNone);
  ASSERT_NE(u2, kMrNone);
  // Expect: deregistration refused, registration intact
  EXPECT_EQ(t.destroy(h, kOwner), -1);
  EXPECT_EQ(t.live(), 1u);
  EXPECT_TRUE(t.covers(h, kOwner, kAddr, kLen));
  // Given one use dropped
  t.release(u1);
  // Expect: still refused
  EXPECT_EQ(t.destroy(h, kOwner), -1);
  // Given the last use dropped
  t.release(u2);
  // Expect: deregistration succeeds
  EXPECT_EQ(t.destroy(h, kOwner), 0);
  EXPECT_EQ(t.live(), 0u);
}

// ---------------------------------------------------------------------------------------------
// acquire(): slot index, or kMrNone with nothing taken. Checks liveness, generation, owner,
// rights (`need` ⊆ flags) and range ([addr, addr+len) inside the registration).

TEST(MrTable, Acquire_RightsMustIncludeNeed) {
  MrTable t;
  ASSERT_TRUE(t.init(4));
  uint64_t ro = t.create(kOwner, kAddr, kLen, kRead);
  uint64_t wo = t.create(kOwner, kAddr, kLen, kWrite);
  uint64_t rw = t.create(kOwner, kAddr, kLen, kRead | kWrite);
  struct Case {
    uint64_t h;
    uint32_t need;
    bool ok;
  } cases[] = {
      {ro, 0, true},       {ro, kRead, true},  {ro, kWrite, false}, {ro, kRead | kWrite, false},
      {wo, 0, true},       {wo, kRead, false}, {wo, kWrite, true},  {wo, kRead | kWrite, false},
      {rw, 0, true},       {rw, kRead, true},  {rw, kWrite, true},  {rw, kRead | kWrite, true},
      {rw, 4, false},      // a right nobody granted
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "handle 0x" << std::hex << c.h << " need " << c.need);
    // Given a registration with some rights and a transfer needing `need`
    uint32_t i = t.acquire(c.h, kOwner, kAddr, kLen, c.need);
    // Expect: a use exactly when need ⊆ flags
    EXPECT_EQ(i != kMrNone, c.ok);
    if (i != kMrNone) t.release(i);
  }
  // Expect: the refusals took nothing, so all three deregister
  EXPECT_EQ(t.destroy(ro, kOwner), 0);
  EXPECT_EQ(t.destroy(wo, kOwner), 0);
  EXPECT_EQ(t.destroy(rw, kOwner), 0);
}

TEST(MrTable, Acquire_RangeMustLieInsideRegistration) {
  MrTable t;
  ASSERT_TRUE(t.init(2));
  uint64_t h = t.create(kOwner, kAddr, kLen, kRead);
  struct Case {
    uintptr_t addr;
    uint32_t len;
    bool ok;
    const char* what;
  } cases[] = {
      {kAddr, kLen, true, "the whole registration"},
      {kAddr, 0, true, "empty at the start"},
      {kAddr + kLen, 0, true, "empty at the end"},
      {kAddr + kLen - 1, 1, true, "last byte"},
      {kAddr + 1, kLen - 1, true, "tail"},
      {kAddr - 1, 1, false, "one byte before"},
      {kAddr - 1, kLen, false, "starts one before"},
      {kAddr, kLen + 1, false, "one byte too long"},
      {kAddr + 1, kLen, false, "ends one after"},
      {kAddr + kLen, 1, false, "first byte after"},
      {kAddr + kLen + 1, 0, false, "empty past the end"},
      {kAddr + 1, UINT32_MAX, false, "length wraps the 32-bit end"},
      {kAddr, UINT32_MAX, false, "huge length"},
      {UINTPTR_MAX, 1, false, "address at the top"},
      {UINTPTR_MAX - kLen + 1, kLen, false, "address + length wraps"},
      {0, 0, false, "null address"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    // Given a transfer over [addr, addr+len) against [kAddr, kAddr+kLen)
    uint32_t i = t.acquire(h, kOwner, c.addr, c.len, kRead);
    // Expect: a use exactly when the range lies inside
    EXPECT_EQ(i != kMrNone, c.ok);
    if (i != kMrNone) t.release(i);
    // Expect: covers() agrees with acquire()
    EXPECT_EQ(t.covers(h, kOwner, c.addr, c.len), c.ok);
  }
  EXPECT_EQ(t.destroy(h, kOwner), 0);
}

TEST(MrTable, Acquire_RefusesStaleBogusAndForeignHandlesTakingNothing_R27) {
  MrTable t;
  ASSERT_TRUE(t.init(4));
  uint64_t dead = t.create(kOwner, kAddr, kLen, kRead);
  ASSERT_EQ(t.destroy(dead, kOwner), 0);
  uint64_t h = t.create(kOwner, kAddr, kLen, kRead);
  ASSERT_NE(h, 0u);
  const uint64_t g = uint64_t{gen_of(h)} << 32;
  const uint64_t bogus[] = {
      0, g, g | 5, g | 0xffffffffu, ~0ull, dead,
      (g + (1ull << 32)) | (h & 0xffffffffu),
      h & 0xffffffffu,
  };
  for (uint64_t b : bogus) {
    SCOPED_TRACE(testing::Message() << "handle 0x" << std::hex << b);
    // Given a handle naming no live registration
    // Expect: kMrNone
    EXPECT_EQ(t.acquire(b, kOwner, kAddr, kLen, 0), kMrNone);
  }
  // Given the live handle presented by another socket
  // Expect: kMrNone
  EXPECT_EQ(t.acquire(h, kOther, kAddr, kLen, 0), kMrNone);
  // Expect: no refusal left a use behind (destroy needs zero uses)
  EXPECT_EQ(t.destroy(h, kOwner), 0);
}

// ---------------------------------------------------------------------------------------------
// release()

TEST(MrTable, Release_DropsExactlyOneUse) {
  MrTable t;
  ASSERT_TRUE(t.init(2));
  uint64_t h = t.create(kOwner, kAddr, kLen, kRead);
  // Given three uses of one registration
  uint32_t a = t.acquire(h, kOwner, kAddr, 1, kRead);
  uint32_t b = t.acquire(h, kOwner, kAddr, 1, kRead);
  uint32_t c = t.acquire(h, kOwner, kAddr, 1, kRead);
  ASSERT_TRUE(a != kMrNone && b != kMrNone && c != kMrNone);
  EXPECT_EQ(a, b);
  EXPECT_EQ(b, c);
  // Expect: destroy is refused until the third release, then succeeds
  t.release(a);
  EXPECT_EQ(t.destroy(h, kOwner), -1);
  t.release(b);
  EXPECT_EQ(t.destroy(h, kOwner), -1);
  t.release(c);
  EXPECT_EQ(t.destroy(h, kOwner), 0);
}

// ---------------------------------------------------------------------------------------------
// covers(): like acquire without rights, and takes nothing.

TEST(MrTable, Covers_TakesNothingAndIgnoresRights) {
  MrTable t;
  ASSERT_TRUE(t.init(2));
  uint64_t h = t.create(kOwner, kAddr, kLen, kWrite);
  // Given a write-only registration
  // Expect: covers() answers for the range, whatever the rights
  EXPECT_TRUE(t.covers(h, kOwner, kAddr, kLen));
  EXPECT_TRUE(t.covers(h, kOwner, kAddr + 10, 10));
  EXPECT_FALSE(t.covers(h, kOwner, kAddr + 10, kLen));
  // Expect: wrong owner, handle 0, out-of-range index: false
  EXPECT_FALSE(t.covers(h, kOther, kAddr, kLen));
  EXPECT_FALSE(t.covers(0, kOwner, kAddr, kLen));
  EXPECT_FALSE(t.covers((h & ~0xffffffffull) | 3, kOwner, kAddr, kLen));
  // Given many covers() calls: destroy
  // Expect: 0, so covers() pinned nothing
  EXPECT_EQ(t.destroy(h, kOwner), 0);
  // Expect: after destroy, covers() is false
  EXPECT_FALSE(t.covers(h, kOwner, kAddr, kLen));
}

// ---------------------------------------------------------------------------------------------
// destroy_all(): drops everything regardless of uses; every old handle turns stale.

TEST(MrTable, DestroyAll_DropsEveryRegistrationAndStalesHandles) {
  MrTable t;
  ASSERT_TRUE(t.init(4));
  uint64_t h[4];
  for (auto& x : h) x = t.create(kOwner, kAddr, kLen, kRead);
  ASSERT_EQ(t.destroy(h[2], kOwner), 0);  // one slot already free: stays free, not doubled
  // Given a use still held on one registration (the final cleanup ran after every abort)
  ASSERT_NE(t.acquire(h[0], kOwner, kAddr, 1, kRead), kMrNone);

  t.destroy_all();

  // Expect: nothing live; every old handle refused by every call
  EXPECT_EQ(t.live(), 0u);
  for (uint64_t x : h) {
    SCOPED_TRACE(testing::Message() << "handle 0x" << std::hex << x);
    EXPECT_EQ(t.acquire(x, kOwner, kAddr, 1, 0), kMrNone);
    EXPECT_FALSE(t.covers(x, kOwner, kAddr, 1));
    EXPECT_EQ(t.destroy(x, kOwner), -1);
  }
  // Expect: the full capacity is available again, exactly once, with fresh handles
  std::set<uint64_t> fresh;
  for (int i = 0; i < 4; i++) {
    uint64_t n = t.create(kOther, kAddr, kLen, kRead);
    ASSERT_NE(n, 0u);
    for (uint64_t x : h) EXPECT_NE(n, x);
    fresh.insert(n);
  }
  EXPECT_EQ(fresh.size(), 4u);
  EXPECT_EQ(t.create(kOther, kAddr, kLen, kRead), 0u);
  EXPECT_EQ(t.live(), 4u);
}

TEST(MrTable, DestroyAll_OnEmptyTableIsHarmless) {
  MrTable t;
  ASSERT_TRUE(t.init(2));
  // Given an empty table: destroy_all twice
  t.destroy_all();
  t.destroy_all();
  // Expect: still exactly capacity registrations fit
  EXPECT_NE(t.create(kOwner, kAddr, kLen, kRead), 0u);
  EXPECT_NE(t.create(kOwner, kAddr, kLen, kRead), 0u);
  EXPECT_EQ(t.create(kOwner, kAddr, kLen, kRead), 0u);
}

// ---------------------------------------------------------------------------------------------
// Concurrency: while a use is held, the registration cannot be destroyed (R59), even when
// destroy and create race with acquire on the same slot. A stale acquire's transient use must
// not stop or corrupt the next create.

TEST(MrTable, AcquireRacingDestroyAndCreate_HeldUseKeepsRegistrationLive_R59) {
  MrTable t;
  ASSERT_TRUE(t.init(1));  // one slot: every create reuses it
  std::atomic<uint64_t> current{t.create(kOwner, kAddr, kLen, kRead)};
  ASSERT_NE(current.load(), 0u);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> held{0}, violations{0};

  // Given a user thread that takes uses of whatever handle is current and checks, while it
  // holds the use, that the registration is still live under that handle
  std::thread user([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      uint64_t h = current.load(std::memory_order_acquire);
      uint32_t i = t.acquire(h, kOwner, kAddr, 8, kRead);
      if (i == kMrNone) continue;
      held.fetch_add(1, std::memory_order_relaxed);
      for (int k = 0; k < 4; k++)
        if (!t.covers(h, kOwner, kAddr, 8)) violations.fetch_add(1, std::memory_order_relaxed);
      t.release(i);
    }
  });

  // And a deregistering thread (this one) that destroys the current handle whenever it can and
  // registers again
  uint64_t destroyed = 0, refused = 0;
  for (int round = 0; round < 200000; round++) {
    uint64_t h = current.load(std::memory_order_relaxed);
    if (t.destroy(h, kOwner) != 0) {
      refused++;
      continue;
    }
    destroyed++;
    uint64_t n = t.create(kOwner, kAddr, kLen, kRead);
    ASSERT_NE(n, 0u) << "round " << round;
    current.store(n, std::memory_order_release);
  }
  stop.store(true);
  user.join();

  // Expect: no held use ever saw its registration gone, and the table is consistent at the end
  EXPECT_EQ(violations.load(), 0u);
  EXPECT_EQ(t.live(), 1u);
  EXPECT_EQ(t.destroy(current.load(), kOwner), 0);
  EXPECT_EQ(t.live(), 0u);
  RecordProperty("destroyed", std::to_string(destroyed));
  RecordProperty("refused_in_use", std::to_string(refused));
  RecordProperty("uses_held", std::to_string(held.load()));
}

}  // namespace
}  // namespace dpsan::fastpath
