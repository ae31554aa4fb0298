/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Microbenchmarks of the poll core's timer wheel (fastpath/timer_wheel.h), which holds every
 * connection's retransmission, delayed-ack and keepalive timers:
 *
 *  - arm + cancel of one timer (what each sent frame and each ack does to the RTO timer);
 *  - advance by one tick firing N timers that were due (the cost per fired timer).
 *
 * No EAL, single thread: the wheel is owned by one poll core.
 */
#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>

#include "micro_main.h"

#include "fastpath/timer_wheel.h"

namespace {

using dpsan::fastpath::TimerNode;
using dpsan::fastpath::TimerWheel;

void BM_TimerArmCancel(benchmark::State& state) {
  TimerWheel w(1000);
  TimerNode t;
  uint64_t due = 1001;
  for (auto _ : state) {
    w.arm(&t, due);
    w.cancel(&t);
    due = due == 1000 + 200 ? 1001 : due + 1;  // spread over slots, as RTOs are
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TimerArmCancel);

void BM_TimerAdvanceFire(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  std::vector<TimerNode> nodes(n);
  TimerWheel w(0);
  uint64_t now = 0;
  uint64_t fired = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& t : nodes) w.arm(&t, now + 1);
    state.ResumeTiming();
    now++;
    w.advance(now, [&](TimerNode*) { fired++; });
  }
  if (fired != n * state.iterations()) state.SkipWithError("a due timer did not fire");
  state.SetItemsProcessed(static_cast<int64_t>(fired));
}
BENCHMARK(BM_TimerAdvanceFire)->ArgName("timers")->Arg(16)->Arg(256);

}  // namespace

DPSAN_MICRO_MAIN();
