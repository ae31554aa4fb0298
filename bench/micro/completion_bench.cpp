/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Microbenchmarks of posting a descriptor and publishing its completion:
 *
 *  (a) BM_OvRound: ov_start + ov_publish_in_place + ov_is_done on one WSAOVERLAPPED view, the
 *      poll-mode completion protocol (fastpath/completion.h) with no second thread: the cost of
 *      the stores and the acquire load themselves, not of moving the cache line between cores.
 *  (b) BM_RequestRing: PtrRing<Request> created RING_F_MP_RTS_ENQ | RING_F_SC_DEQ, as a poll
 *      core's request ring: `batch` single enqueues (one per WSPSend/WSPRecv), then one
 *      dequeue_burst of up to 32 (the poll loop's read).
 *  (c) BM_NotifyRing: ElemRing<NotifyRecord> (same flags, as the notifier's ring): `batch`
 *      records enqueued by value, then one dequeue_burst of up to 32.
 *
 * One thread plays both sides, so (b) and (c) are the uncontended ring costs. The rings need
 * the EAL: this executable has its own main, which brings it up once without hugepages, PCI or
 * shared files, and then runs the benchmarks. Without an EAL, (b) and (c) report an error and
 * (a) still runs.
 */
#include <cstdio>

#include <benchmark/benchmark.h>
#include <rte_errno.h>

#include "fastpath/completion.h"
#include "fastpath/descriptor.h"
#include "fastpath/ring.h"
#include "micro_eal.h"
#include "micro_main.h"

namespace {

using namespace dpsan::fastpath;
using dpsan::micro::eal_ready;

constexpr unsigned kMpRtsScDeq = RING_F_MP_RTS_ENQ | RING_F_SC_DEQ;
constexpr unsigned kBurst = 32;  // the poll loop's dequeue burst

void BM_OvRound(benchmark::State& state) {
  alignas(64) OvView ov{};
  ov.h_event = reinterpret_cast<void*>(uintptr_t{1});  // poll mode (hEvent & 1)
  if (!ov_poll_mode(&ov)) {
    state.SkipWithError("hEvent = 1 is not poll mode");
    return;
  }
  uint32_t bytes = 0;
  for (auto _ : state) {
    ov_start(&ov);                                   // SPI thread: in progress (R33)
    benchmark::ClobberMemory();
    ov_publish_in_place(&ov, 0, bytes++ & 0xffff, 0);  // poll core: OV-R
    benchmark::ClobberMemory();
    bool done = ov_is_done(&ov);                     // switch: OV-A
    benchmark::DoNotOptimize(done);
  }
  if (!ov_is_done(&ov)) state.SkipWithError("completion not visible");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OvRound);

void BM_RequestRing(benchmark::State& state) {
  if (!eal_ready(state)) return;
  const auto batch = static_cast<unsigned>(state.range(0));
  PtrRing<Request> ring;
  if (!ring.create("bench_req_ring", 1024, kMpRtsScDeq)) {
    state.SkipWithError(rte_strerror(rte_errno));
    return;
  }
  static Request reqs[kBurst];
  Request* out[kBurst];
  bool ok = true;
  for (auto _ : state) {
    for (unsigned i = 0; i < batch; i++) ok &= ring.enqueue(&reqs[i]);
    unsigned n = ring.dequeue_burst(out, kBurst);
    benchmark::DoNotOptimize(out);
    ok &= n == batch;
  }
  ring.destroy();
  if (!ok) state.SkipWithError("ring lost or refused a request");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * batch);
}
BENCHMARK(BM_RequestRing)->ArgName("batch")->Arg(1)->Arg(kBurst);

void BM_NotifyRing(benchmark::State& state) {
  if (!eal_ready(state)) return;
  const auto batch = static_cast<unsigned>(state.range(0));
  ElemRing<NotifyRecord> ring;
  if (!ring.create("bench_notify_ring", 1024, kMpRtsScDeq)) {
    state.SkipWithError(rte_strerror(rte_errno));
    return;
  }
  static OvView ov{};
  NotifyRecord rec{NotifyRecord::kComplete, 0, 64, 0, nullptr, &ov};
  NotifyRecord out[kBurst];
  bool ok = true;
  for (auto _ : state) {
    for (unsigned i = 0; i < batch; i++) {
      rec.bytes = i;
      ok &= ring.enqueue(rec);
    }
    unsigned n = ring.dequeue_burst(out, kBurst);
    benchmark::DoNotOptimize(out);
    ok &= n == batch;
  }
  ring.destroy();
  if (!ok) state.SkipWithError("ring lost or refused a record");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * batch);
}
BENCHMARK(BM_NotifyRing)->ArgName("batch")->Arg(1)->Arg(kBurst);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!dpsan::micro::eal_start("dpsan_bench"))
    std::fprintf(stderr, "%s; the ring benchmarks will report an error\n",
                 dpsan::micro::g_eal.error.c_str());
  int rc = dpsan::micro::run_benchmarks();
  dpsan::micro::eal_stop();
  return rc;
}
