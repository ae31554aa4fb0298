/* SPDX-License-Identifier: BSD-3-Clause */
/** @file TimerWheel (fastpath/timer_wheel.h): arm, cancel, advance, laps, re-arming in fire. */
#include <gtest/gtest.h>

#include <vector>

#include "fastpath/timer_wheel.h"

using dpsan::fastpath::TimerNode;
using dpsan::fastpath::TimerWheel;

namespace {
std::vector<TimerNode*> advance(TimerWheel& w, uint64_t now) {
  std::vector<TimerNode*> fired;
  w.advance(now, [&](TimerNode* t) { fired.push_back(t); });
  return fired;
}
}  // namespace

TEST(TimerWheel, ArmFiresAtItsTickNotBefore) {
  // Given a timer due at tick 105 on a wheel at 100
  TimerWheel w(100);
  TimerNode t;
  w.arm(&t, 105);
  EXPECT_TRUE(t.armed());
  // Expect: nothing at 104, then it fires at 105 and is disarmed
  EXPECT_TRUE(advance(w, 104).empty());
  auto fired = advance(w, 105);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0], &t);
  EXPECT_FALSE(t.armed());
  EXPECT_TRUE(advance(w, 200).empty());
}

TEST(TimerWheel, PastDueFiresOnNextAdvance) {
  // Given a timer armed for a tick already past
  TimerWheel w(50);
  TimerNode t;
  w.arm(&t, 10);
  // Expect: it fires on the next advance, even one that does not move time
  EXPECT_EQ(advance(w, 50).size(), 1u);
}

TEST(TimerWheel, CancelPreventsFiringAndIsIdempotent) {
  TimerWheel w(0);
  TimerNode t;
  w.arm(&t, 3);
  w.cancel(&t);
  w.cancel(&t);
  EXPECT_FALSE(t.armed());
  EXPECT_TRUE(advance(w, 10).empty());
}

TEST(TimerWheel, RearmMovesTheTimer) {
  TimerWheel w(0);
  TimerNode t;
  w.arm(&t, 3);
  w.arm(&t, 8);  // re-arming replaces the earlier due time
  EXPECT_TRUE(advance(w, 7).empty());
  EXPECT_EQ(advance(w, 8).size(), 1u);
}

TEST(TimerWheel, TimersLapsAheadAreRefiledNotFiredEarly) {
  // Given a timer several laps ahead (same slot as an earlier tick)
  TimerWheel w(0);
  TimerNode far, near;
  w.arm(&far, 3 * TimerWheel::kSlots + 5);
  w.arm(&near, 5);
  // Expect: only the near one at tick 5; the far one at its own tick
  auto fired = advance(w, 5);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0], &near);
  EXPECT_TRUE(advance(w, 3 * TimerWheel::kSlots + 4).empty());
  EXPECT_TRUE(far.armed());
  EXPECT_EQ(advance(w, 3 * TimerWheel::kSlots + 5).size(), 1u);
}

TEST(TimerWheel, LongJumpFiresEverythingDue) {
  // Given many timers spread over more than a lap, and one jump past all of them
  TimerWheel w(0);
  std::vector<TimerNode> ts(3 * TimerWheel::kSlots);
  for (size_t i = 0; i < ts.size(); i++) w.arm(&ts[i], i + 1);
  // Expect: every one fires exactly once
  auto fired = advance(w, ts.size() + 10);
  EXPECT_EQ(fired.size(), ts.size());
  for (auto& t : ts) EXPECT_FALSE(t.armed());
}

TEST(TimerWheel, FireMayRearmIntoTheSameSlot) {
  // Given a timer whose handler re-arms it for the same tick
  TimerWheel w(0);
  TimerNode t;
  w.arm(&t, 2);
  int calls = 0;
  w.advance(2, [&](TimerNode* n) {
    if (++calls == 1) w.arm(n, 2);
  });
  // Expect: no endless loop; it fires again on the next advance
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(t.armed());
  w.advance(2, [&](TimerNode*) { calls++; });
  EXPECT_EQ(calls, 2);
}

TEST(TimerWheel, ResetForgetsTimers) {
  TimerWheel w(0);
  TimerNode t;
  w.arm(&t, 1);
  w.reset(1000);
  EXPECT_EQ(w.now(), 1000u);
  EXPECT_TRUE(advance(w, 2000).empty());
}
