/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * RDMA write and read, one operation at a time, end to end through the public interface on the
 * embedded default (loopback port, one poll core): the time from WSPRdmaWrite / WSPRdmaRead to
 * its completion, and the bytes per second that gives.
 */
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include <dpsan/dpsan_stats.h>
#include <dpsan/ws2san.h>

#include "micro_main.h"
#include "mini_switch.h"

namespace {

using dpsan::perf::MiniSwitch;
constexpr size_t kMax = 16u << 20;

DPSAN_STATS stats(const MiniSwitch& sw) {
  DPSAN_STATS st;
  sw.stats(&st);
  return st;
}

void run(benchmark::State& state, bool write) {
  static uint16_t port = 44000;
  const auto n = static_cast<size_t>(state.range(0));
  MiniSwitch sw;
  if (sw.startup() != 0) {
    state.SkipWithError("WSPStartupEx failed");
    return;
  }
  SOCKET c = INVALID_SOCKET, s = INVALID_SOCKET;
  std::string why = sw.connect_pair(port++, &c, &s);
  auto reg_rdma = reinterpret_cast<LPFN_WSPREGISTERRDMAMEMORY>(sw.extension(WSAID_REGISTERRDMAMEMORY));
  const GUID wr = WSAID_RDMAWRITE, rd = WSAID_RDMAREAD;
  // WSPRdmaRead has the same signature as WSPRdmaWrite.
  auto op = reinterpret_cast<LPFN_WSPRDMAWRITE>(sw.extension(write ? wr : rd));
  std::unique_ptr<char[]> local(new char[kMax]), remote(new char[kMax]);
  std::memset(local.get(), 1, kMax);
  std::memset(remote.get(), 2, kMax);
  int e = 0;
  HANDLE h = why.empty() ? sw.register_memory(c, local.get(), kMax, MEM_READWRITE, &e) : nullptr;
  char desc[64];
  DWORD dlen = sizeof desc;
  if (!why.empty() || h == nullptr || !reg_rdma || !op ||
      reg_rdma(s, remote.get(), kMax, MEM_READWRITE, desc, &dlen, &e) != 0) {
    state.SkipWithError(("set-up failed: " + why).c_str());
    sw.cleanup();
    return;
  }
  unsigned failed = 0;
  DPSAN_STATS st0 = stats(sw);
  for (auto _ : state) {
    WSAOVERLAPPED ov{};
    ov.hEvent = reinterpret_cast<WSAEVENT>(uintptr_t{1});
    WSABUFEX b{static_cast<ULONG>(n), local.get(), h};
    DWORD got = 0;
    if (op(c, &b, 1, desc, dlen, 0, &got, 0, &ov, nullptr, nullptr, &e) != SOCKET_ERROR ||
        e != WSA_IO_PENDING) {
      failed++;
      continue;
    }
    while (std::atomic_ref<ULONG_PTR>(ov.Internal).load(std::memory_order_acquire) ==
           WSS_OPERATION_IN_PROGRESS) {
    }
    failed += ov.OffsetHigh != 0;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
  DPSAN_STATS st1 = stats(sw);
  // Frames resent per operation: 0 on a clean loopback, unless frames were dropped.
  state.counters["retransmits_per_op"] = benchmark::Counter(
      static_cast<double>(st1.retransmits - st0.retransmits) / static_cast<double>(state.iterations()));
  state.counters["drops_per_op"] = benchmark::Counter(
      static_cast<double>(st1.drops_duplicate + st1.drops_no_conn + st1.drops_bad_packet -
                          st0.drops_duplicate - st0.drops_no_conn - st0.drops_bad_packet) /
      static_cast<double>(state.iterations()));
  sw.proc().lpWSPCloseSocket(c, &e);
  sw.proc().lpWSPCloseSocket(s, &e);
  sw.cleanup();
  if (failed) state.SkipWithError((std::to_string(failed) + " operation(s) failed").c_str());
}

void BM_RdmaWrite(benchmark::State& state) { run(state, true); }
void BM_RdmaRead(benchmark::State& state) { run(state, false); }

BENCHMARK(BM_RdmaWrite)->ArgName("bytes")->Arg(64)->Arg(4096)->Arg(65536)->Arg(1 << 20)->Arg(16 << 20)->UseRealTime();
BENCHMARK(BM_RdmaRead)->ArgName("bytes")->Arg(64)->Arg(4096)->Arg(65536)->Arg(1 << 20)->Arg(16 << 20)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  return dpsan::micro::run_benchmarks();
}
