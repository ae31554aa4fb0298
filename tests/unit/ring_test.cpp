/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * fastpath/ring.h: PtrRing<T> and ElemRing<T>, the typed rte_ring wrappers. One test per API with
 * its boundary cases, then a multi-producer stress. Needs the EAL (eal_main.cpp); skips without.
 */
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "eal_main.h"
#include "fastpath/completion.h"
#include "fastpath/ring.h"

namespace dpsan::fastpath {
namespace {

constexpr unsigned kMpRtsScDeq = RING_F_MP_RTS_ENQ | RING_F_SC_DEQ;

class RingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!unit::eal_available()) GTEST_SKIP() << "no EAL on this machine: " << unit::eal_error();
  }
  /** A ring name no other test uses (rte_ring names are global to the EAL). */
  static std::string unique_name() {
    static std::atomic<unsigned> n{0};
    char b[RTE_RING_NAMESIZE];
    std::snprintf(b, sizeof b, "ut_ring%u", n.fetch_add(1));
    return b;
  }
};

/** Fill a ring until enqueue refuses; @return how many it took. */
template <class Ring, class Make>
unsigned fill(Ring& r, Make make, unsigned limit = 1u << 20) {
  unsigned n = 0;
  while (n < limit && r.enqueue(make(n))) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------
// PtrRing::create: size is the capacity in objects, the mode is fixed at creation; on failure
// the handle stays empty and rte_errno is set.

TEST_F(RingTest, PtrRingCreate_FixesModeAndStartsEmpty) {
  // Given a ring created MP-RTS enqueue / SC dequeue
  PtrRing<int> r;
  ASSERT_TRUE(r.create(unique_name().c_str(), 1024, kMpRtsScDeq));
  // Expect: a live handle, empty, in exactly the mode asked for
  ASSERT_NE(r.raw(), nullptr);
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.count(), 0u);
  EXPECT_EQ(rte_ring_get_prod_sync_type(r.raw()), RTE_RING_SYNC_MT_RTS);
  EXPECT_EQ(rte_ring_get_cons_sync_type(r.raw()), RTE_RING_SYNC_ST);
  r.destroy();
}

TEST_F(RingTest, PtrRingCreate_PowerOfTwoHoldsSizeMinusOne) {
  // Given a ring created with size 1024 and no RING_F_EXACT_SZ (ring.h: "holds size - 1")
  PtrRing<int> r;
  ASSERT_TRUE(r.create(unique_name().c_str(), 1024, kMpRtsScDeq));
  static int x;
  // Expect: 1023 objects fit, the 1024th is refused
  EXPECT_EQ(fill(r, [](unsigned) { return &x; }), 1023u);
  r.destroy();
}

TEST_F(RingTest, PtrRingCreate_ExactSizeHoldsExactlySize) {
  // Given RING_F_EXACT_SZ and a size that is not a power of two (how listener queues are made)
  PtrRing<int> r;
  ASSERT_TRUE(r.create(unique_name().c_str(), 1000, kMpRtsScDeq | RING_F_EXACT_SZ));
  static int x;
  // Expect: exactly 1000 objects fit
  EXPECT_EQ(fill(r, [](unsigned) { return &x; }), 1000u);
  r.destroy();
}

TEST_F(RingTest, PtrRingCreate_NonPowerOfTwoWithoutExactSizeFails) {
  // Given a size that is not a power of two and no RING_F_EXACT_SZ
  PtrRing<int> r;
  // Expect: creation fails with EINVAL and the handle stays empty
  EXPECT_FALSE(r.create(unique_name().c_str(), 1000, kMpRtsScDeq));
  EXPECT_EQ(rte_errno, EINVAL);
  EXPECT_EQ(r.raw(), nullptr);
}

TEST_F(RingTest, PtrRingCreate_FailureLeavesHandleEmptyWithErrno) {
  std::string name = unique_name();
  PtrRing<int> first;
  ASSERT_TRUE(first.create(name.c_str(), 64, kMpRtsScDeq));

  // Given a name that is already taken
  PtrRing<int> dup;
  rte_errno = 0;
  // Expect: false, an empty handle, rte_errno EEXIST
  EXPECT_FALSE(dup.create(name.c_str(), 64, kMpRtsScDeq));
  EXPECT_EQ(dup.raw(), nullptr);
  EXPECT_EQ(rte_errno, EEXIST);

  // Given a size beyond what rte_ring can index
  PtrRing<int> huge;
  rte_errno = 0;
  // Expect: false, an empty handle, rte_errno EINVAL
  EXPECT_FALSE(huge.create(unique_name().c_str(), 0x80000000u, kMpRtsScDeq));
  EXPECT_EQ(huge.raw(), nullptr);
  EXPECT_EQ(rte_errno, EINVAL);

  first.destroy();
}

// ---------------------------------------------------------------------------------------------
// PtrRing::destroy: frees the ring and empties the handle; the name can be used again.

TEST_F(RingTest, PtrRingDestroy_EmptiesHandleAndFreesName) {
  std::string name = unique_name();
  PtrRing<int> r;
  ASSERT_TRUE(r.create(name.c_str(), 16, kMpRtsScDeq));
  static int x;
  ASSERT_TRUE(r.enqueue(&x));

  // Given a ring that still holds an object: destroy it
  r.destroy();
  // Expect: the handle is empty, and the name is free again
  EXPECT_EQ(r.raw(), nullptr);
  EXPECT_EQ(rte_ring_lookup(name.c_str()), nullptr);
  PtrRing<int> again;
  EXPECT_TRUE(again.create(name.c_str(), 16, kMpRtsScDeq));
  again.destroy();

  // Given an empty handle: destroy it again
  r.destroy();
  // Expect: nothing happens (rte_ring_free(NULL) is a no-op)
  EXPECT_EQ(r.raw(), nullptr);
}

// ---------------------------------------------------------------------------------------------
// PtrRing::enqueue: true, or false when full with nothing queued.

TEST_F(RingTest, PtrRingEnqueue_FullRingReturnsFalseAndQueuesNothing) {
  PtrRing<int> r;
  ASSERT_TRUE(r.create(unique_name().c_str(), 8, kMpRtsScDeq));
  int objs[16] = {};

  // Given a ring filled until enqueue refuses
  unsigned cap = fill(r, [&](unsigned i) { return &objs[i]; }, 16);
  ASSERT_GE(cap, 7u);
  ASSERT_LE(cap, 8u);
  EXPECT_EQ(r.count(), cap);

  // Enqueue once more, twice
  // Expect: false both times, and the count does not move
  EXPECT_FALSE(r.enqueue(&objs[15]));
  EXPECT_FALSE(r.enqueue(&objs[15]));
  EXPECT_EQ(r.count(), cap);

  // Expect: exactly the accepted objects come out, in order; the refused one never does
  int* out[16] = {};
  ASSERT_EQ(r.dequeue_burst(out, 16), cap);
  for (unsigned i = 0; i < cap; i++) EXPECT_EQ(out[i], &objs[i]) << "position " << i;
  EXPECT_TRUE(r.empty());

  // Given a drained ring: one more enqueue
  // Expect: accepted again
  EXPECT_TRUE(r.enqueue(&objs[0]));
  r.destroy();
}

TEST_F(RingTest, PtrRingEnqueue_NullPointerIsAnObject) {
  PtrRing<int> r;
  ASSERT_TRUE(r.create(unique_name().c_str(), 8, kMpRtsScDeq));
  // Given a null pointer enqueued
  EXPECT_TRUE(r.enqueue(nullptr));
  // Expect: it counts and comes back as null
  EXPECT_EQ(r.count(), 1u);
  int* out[2] = {reinterpret_cast<int*>(1), reinterpret_cast<int*>(1)};
  EXPECT_EQ(r.dequeue_burst(out, 2), 1u);
  EXPECT_EQ(out[0], nullptr);
  r.destroy();
}

// ---------------------------------------------------------------------------------------------
// PtrRing::dequeue_burst: up to n, FIFO, returns how many.

TEST_F(RingTest, PtrRingDequeueBurst_FifoUpToN) {
  PtrRing<int> r;
  ASSERT_TRUE(r.create(unique_name().c_str(), 64, kMpRtsScDeq));
  int objs[10];
  int* out[16];
  int sentinel;

  // Given an empty ring
  // Expect: 0, out untouched
  out[0] = &sentinel;
  EXPECT_EQ(r.dequeue_burst(out, 16), 0u);
  EXPECT_EQ(out[0], &sentinel);

  for (int& o : objs) ASSERT_TRUE(r.enqueue(&o));

  // Given 10 queued: ask for 0
  // Expect: 0, nothing taken
  EXPECT_EQ(r.dequeue_burst(out, 0), 0u);
  EXPECT_EQ(r.count(), 10u);

  // Ask for 3, then 4
  // Expect: the first 3, then the next 4, in enqueue order
  ASSERT_EQ(r.dequeue_burst(out, 3), 3u);
  for (unsigned i = 0; i < 3; i++) EXPECT_EQ(out[i], &objs[i]);
  ASSERT_EQ(r.dequeue_burst(out, 4), 4u);
  for (unsigned i = 0; i < 4; i++) EXPECT_EQ(out[i], &objs[3 + i]);

  // Ask for more than remain
  // Expect: the 3 that remain, and the slot after them untouched
  out[3] = &sentinel;
  ASSERT_EQ(r.dequeue_burst(out, 16), 3u);
  for (unsigned i = 0; i < 3; i++) EXPECT_EQ(out[i], &objs[7 + i]);
  EXPECT_EQ(out[3], &sentinel);
  EXPECT_TRUE(r.empty());
  r.destroy();
}

TEST_F(RingTest, PtrRingDequeueBurst_OrderHoldsAcrossIndexWrap) {
  PtrRing<int> r;
  ASSERT_TRUE(r.create(unique_name().c_str(), 8, kMpRtsScDeq));
  int objs[5];
  int* out[8];
  // Given many rounds of 5 in, 5 out on an 8-slot ring (head and tail wrap the array many times)
  for (unsigned round = 0; round < 1000; round++) {
    for (int& o : objs) ASSERT_TRUE(r.enqueue(&o));
    // Expect: every round comes out whole and in order
    ASSERT_EQ(r.dequeue_burst(out, 8), 5u) << "round " << round;
    for (unsigned i = 0; i < 5; i++) ASSERT_EQ(out[i], &objs[i]) << "round " << round;
  }
  r.destroy();
}

// ---------------------------------------------------------------------------------------------
// PtrRing::count / empty

TEST_F(RingTest, PtrRingCountAndEmpty_TrackContents) {
  PtrRing<int> r;
  ASSERT_TRUE(r.create(unique_name().c_str(), 16, kMpRtsScDeq));
  int objs[4];
  int* out[4];
  // Given a fresh ring / after each enqueue / after each dequeue
  // Expect: count and empty follow the contents
  EXPECT_TRUE(r.empty());
  for (unsigned i = 0; i < 4; i++) {
    ASSERT_TRUE(r.enqueue(&objs[i]));
    EXPECT_EQ(r.count(), i + 1);
    EXPECT_FALSE(r.empty());
  }
  for (unsigned i = 4; i > 0; i--) {
    ASSERT_EQ(r.dequeue_burst(out, 1), 1u);
    EXPECT_EQ(r.count(), i - 1);
  }
  EXPECT_TRUE(r.empty());
  r.destroy();
}

// ---------------------------------------------------------------------------------------------
// ElemRing<T>: records by value (the notifier's NotifyRecord is the real user).

TEST_F(RingTest, ElemRingCreate_FailureLeavesHandleUsableForRetry) {
  std::string name = unique_name();
  ElemRing<NotifyRecord> a, b;
  ASSERT_TRUE(a.create(name.c_str(), 64, kMpRtsScDeq));
  // Given a name already in use
  // Expect: false with EEXIST
  rte_errno = 0;
  EXPECT_FALSE(b.create(name.c_str(), 64, kMpRtsScDeq));
  EXPECT_EQ(rte_errno, EEXIST);
  // Given the first ring destroyed: retry the same name
  // Expect: success
  a.destroy();
  EXPECT_TRUE(b.create(name.c_str(), 64, kMpRtsScDeq));
  EXPECT_TRUE(b.empty());
  b.destroy();
}

TEST_F(RingTest, ElemRingEnqueue_CopiesByValue) {
  ElemRing<NotifyRecord> r;
  ASSERT_TRUE(r.create(unique_name().c_str(), 16, kMpRtsScDeq));
  SocketLink link;
  OvView ov{};

  // Given a record enqueued, then the caller's copy overwritten
  NotifyRecord rec{NotifyRecord::kComplete, 10054, 12345, 0, &link, &ov};
  ASSERT_TRUE(r.enqueue(rec));
  rec = NotifyRecord{NotifyRecord::kSignalEvent, 1, 2, 0, nullptr, nullptr};

  // Expect: the dequeued record is the original, field for field
  NotifyRecord out[2]{};
  ASSERT_EQ(r.dequeue_burst(out, 2), 1u);
  EXPECT_EQ(out[0].kind, NotifyRecord::kComplete);
  EXPECT_EQ(out[0].error, 10054u);
  EXPECT_EQ(out[0].bytes, 12345u);
  EXPECT_EQ(out[0].link, &link);
  EXPECT_EQ(out[0].ov, &ov);
  r.destroy();
}

TEST_F(RingTest, ElemRingEnqueue_FullRingReturnsFalseAndQueuesNothing) {
  ElemRing<NotifyRecord> r;
  ASSERT_TRUE(r.create(unique_name().c_str(), 8, kMpRtsScDeq));
  auto make = [](unsigned i) {
    return NotifyRecord{NotifyRecord::kComplete, i, i * 3, 0, nullptr, nullptr};
  };
  // Given a ring filled until enqueue refuses
  unsigned cap = fill(r, make, 16);
  ASSERT_GE(cap, 7u);
  ASSERT_LE(cap, 8u);
  // Expect: a further enqueue is refused and changes nothing
  EXPECT_FALSE(r.enqueue(make(99)));
  EXPECT_EQ(r.count(), cap);
  // Expect: the accepted records come out in order, by value
  NotifyRecord out[16];
  ASSERT_EQ(r.dequeue_burst(out, 16), cap);
  for (unsigned i = 0; i < cap; i++) {
    EXPECT_EQ(out[i].error, i);
    EXPECT_EQ(out[i].bytes, i * 3);
  }
  EXPECT_TRUE(r.empty());
  r.destroy();
}

TEST_F(RingTest, ElemRingDequeueBurst_FifoUpToN) {
  struct Rec {
    uint32_t a;
    uint32_t b;
    uint64_t c;
  };
  ElemRing<Rec> r;
  ASSERT_TRUE(r.create(unique_name().c_str(), 32, kMpRtsScDeq));
  Rec out[8];
  // Given an empty ring
  // Expect: 0
  EXPECT_EQ(r.dequeue_burst(out, 8), 0u);
  for (uint32_t i = 0; i < 6; i++) ASSERT_TRUE(r.enqueue(Rec{i, ~i, uint64_t{i} << 40}));
  // Given 6 queued: ask for 0, then 4, then 8
  // Expect: 0; then records 0..3; then the last 2
  EXPECT_EQ(r.dequeue_burst(out, 0), 0u);
  ASSERT_EQ(r.dequeue_burst(out, 4), 4u);
  for (uint32_t i = 0; i < 4; i++) {
    EXPECT_EQ(out[i].a, i);
    EXPECT_EQ(out[i].b, ~i);
    EXPECT_EQ(out[i].c, uint64_t{i} << 40);
  }
  ASSERT_EQ(r.dequeue_burst(out, 8), 2u);
  EXPECT_EQ(out[0].a, 4u);
  EXPECT_EQ(out[1].a, 5u);
  EXPECT_EQ(r.count(), 0u);
  r.destroy();
}

// ---------------------------------------------------------------------------------------------
// Stress: many producers, one consumer. Every object is seen exactly once, and each producer's
// objects keep their order (an MP ring is FIFO per producer).

TEST_F(RingTest, PtrRingStress_FourProducersOneConsumerEveryPointerOnce) {
  constexpr unsigned kProducers = 4, kPerProducer = 100000;
  constexpr unsigned kTotal = kProducers * kPerProducer;
  PtrRing<uint32_t> r;
  ASSERT_TRUE(r.create(unique_name().c_str(), 1024, kMpRtsScDeq));  // small: producers hit full
  std::vector<uint32_t> objs(kTotal);
  for (uint32_t i = 0; i < kTotal; i++) objs[i] = i;

  // Given 4 producers each enqueueing its own 100k pointers, retrying while the ring is full
  std::atomic<bool> go{false};
  std::vector<std::thread> producers;
  for (unsigned p = 0; p < kProducers; p++)
    producers.emplace_back([&, p] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (unsigned i = 0; i < kPerProducer; i++) {
        uint32_t* o = &objs[p * kPerProducer + i];
        while (!r.enqueue(o)) std::this_thread::yield();
      }
    });

  // And one consumer draining with bursts
  std::vector<uint8_t> seen(kTotal, 0);
  std::vector<int64_t> last(kProducers, -1);
  unsigned got = 0, dup = 0, out_of_order = 0, foreign = 0;
  go.store(true, std::memory_order_release);
  uint32_t* burst[64];
  while (got < kTotal) {
    unsigned n = r.dequeue_burst(burst, 64);
    if (n == 0) {
      std::this_thread::yield();
      continue;
    }
    for (unsigned k = 0; k < n; k++) {
      got++;
      if (burst[k] < objs.data() || burst[k] >= objs.data() + kTotal) {
        foreign++;
        continue;
      }
      uint32_t v = *burst[k];
      if (seen[v]++) dup++;
      unsigned p = v / kPerProducer;
      if (static_cast<int64_t>(v) <= last[p]) out_of_order++;
      last[p] = v;
    }
  }
  for (auto& t : producers) t.join();

  // Expect: every pointer exactly once, in per-producer order, and nothing left over
  EXPECT_EQ(foreign, 0u);
  EXPECT_EQ(dup, 0u);
  EXPECT_EQ(out_of_order, 0u);
  unsigned missing = 0;
  for (uint8_t s : seen) missing += s == 0;
  EXPECT_EQ(missing, 0u);
  EXPECT_TRUE(r.empty());
  r.destroy();
}

TEST_F(RingTest, ElemRingStress_FourProducersOneConsumerEveryRecordOnce) {
  constexpr unsigned kProducers = 4, kPerProducer = 100000;
  ElemRing<NotifyRecord> r;
  ASSERT_TRUE(r.create(unique_name().c_str(), 1024, kMpRtsScDeq));

  // Given 4 producers each enqueueing 100k records (producer, sequence) by value
  std::atomic<bool> go{false};
  std::vector<std::thread> producers;
  for (unsigned p = 0; p < kProducers; p++)
    producers.emplace_back([&, p] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (uint32_t i = 0; i < kPerProducer; i++) {
        NotifyRecord rec{NotifyRecord::kComplete, p, i, 0, nullptr, nullptr};
        while (!r.enqueue(rec)) std::this_thread::yield();
      }
    });

  std::vector<uint32_t> next(kProducers, 0);
  unsigned got = 0, bad = 0;
  go.store(true, std::memory_order_release);
  NotifyRecord burst[32];
  while (got < kProducers * kPerProducer) {
    unsigned n = r.dequeue_burst(burst, 32);
    if (n == 0) {
      std::this_thread::yield();
      continue;
    }
    for (unsigned k = 0; k < n; k++, got++) {
      const NotifyRecord& rec = burst[k];
      if (rec.kind != NotifyRecord::kComplete || rec.error >= kProducers ||
          rec.bytes != next[rec.error]) {
        bad++;
        continue;
      }
      next[rec.error]++;
    }
  }
  for (auto& t : producers) t.join();

  // Expect: each producer's records arrive whole, once, in order
  EXPECT_EQ(bad, 0u);
  for (unsigned p = 0; p < kProducers; p++) EXPECT_EQ(next[p], kPerProducer) << "producer " << p;
  EXPECT_TRUE(r.empty());
  r.destroy();
}

}  // namespace
}  // namespace dpsan::fastpath
