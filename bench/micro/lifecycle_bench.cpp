/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Lifecycle benchmarks, through the public interface only (<dpsan/ws2san.h>,
 * <dpsan/dpsan_stats.h>) and the minimal switch of dpsan-perf (bench/dpsan_perf/mini_switch.h).
 *
 *  - BM_StartupCleanup_NonFinal: one WSPStartupEx + WSPCleanup pair while another startup is
 *    held outside the timed loop, so that neither call brings an instance up or down (R8): the
 *    cost of the reference count, the upcall-table copy and filling the proc table.
 *    heap_bytes_per_pair reports what the provider keeps per pair until the final cleanup (0: a
 *    table it already has is not copied again, Provider::TableCopy).
 *
 *  - BM_FinalCleanup/N: the final WSPCleanup with N poll-mode receives pending (1,000, 10,000,
 *    100,000), spread evenly over 100 connected sockets (50 pairs), each socket with one
 *    registration of a shared buffer. Only the cleanup is timed: the startup, the connections,
 *    the registrations and the N WSPRecv calls run with the timer paused, and before the timer
 *    resumes the poll core has gone quiet (the statistics stop moving) and DPSAN_STATS shows N
 *    operations in flight. After each cleanup every WSAOVERLAPPED is checked: exactly N
 *    completions, each WSA_OPERATION_ABORTED (R12, R37); anything else fails the run.
 *
 *  - BM_RegisterCached/N: WSPRegisterMemory + WSPDeregisterMemory of an N-byte buffer whose
 *    pages the registration cache already holds (R58, R65): what a switch pays to register a
 *    buffer again. Registration reads the buffer's protections from /proc/self/maps (spec
 *    2.16: WSAEFAULT for memory that does not allow the access asked for), which is most of it.
 *
 * The provider brings the EAL up itself at the first WSPStartupEx: nothing here calls
 * rte_eal_init. The EAL stays for the process, so later startups do not pay for it again.
 */
#include <arpa/inet.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <dpsan/dpsan_stats.h>
#include <dpsan/ws2san.h>

#include "micro_main.h"
#include "mini_switch.h"

namespace {

using dpsan::perf::MiniSwitch;
using Clock = std::chrono::steady_clock;

/** DPSAN_STATS of the running instance. @return 0 or the WSA code. */
int get_stats(const MiniSwitch& sw, DPSAN_STATS* st) { return sw.stats(st); }

/** OV-A: the acquire load of Internal (spec section 4). */
std::atomic_ref<ULONG_PTR> ov_internal(const WSAOVERLAPPED& ov) {
  return std::atomic_ref<ULONG_PTR>(const_cast<ULONG_PTR&>(ov.Internal));
}

size_t heap_in_use() { return mallinfo2().uordblks; }

// ---------------------------------------------------------------------------------------------

void BM_StartupCleanup_NonFinal(benchmark::State& state) {
  MiniSwitch sw;
  if (int rc = sw.startup(); rc != 0) {  // held: the count never drops to 0 in the loop
    state.SkipWithError(("held WSPStartupEx: " + std::to_string(rc)).c_str());
    return;
  }
  WSPUPCALLTABLEEX up = MiniSwitch::upcall_table();
  WSPPROC_TABLE proc{};
  WSPDATA data{};
  WSAPROTOCOL_INFOW info{};
  int failed = 0, err = 0;
  const size_t heap0 = heap_in_use();
  for (auto _ : state) {
    int rc = WSPStartupEx(MAKEWORD(2, 2), &data, &info, &up, &proc);
    int rc2 = proc.lpWSPCleanup(&err);
    failed += (rc != 0) | (rc2 != 0);
  }
  const size_t heap1 = heap_in_use();
  state.SetItemsProcessed(state.iterations());
  state.counters["heap_bytes_per_pair"] =
      state.iterations() ? static_cast<double>(heap1 - std::min(heap0, heap1)) /
                               static_cast<double>(state.iterations())
                         : 0.0;
  int rc = sw.cleanup();  // the final one: not timed
  if (failed) {
    state.SkipWithError((std::to_string(failed) + " startup/cleanup pair(s) failed").c_str());
  } else if (rc != 0) {
    state.SkipWithError(("final WSPCleanup: " + std::to_string(rc)).c_str());
  }
}
// A fixed count keeps the run short; heap_bytes_per_pair shows that a repeated table costs
// nothing (the provider keeps one copy of it).
BENCHMARK(BM_StartupCleanup_NonFinal)->Iterations(200000);

// ---------------------------------------------------------------------------------------------

constexpr int kPairs = 50;  // 100 sockets
constexpr uint16_t kBasePort = 30000;
constexpr DWORD kBufLen = 4096;

/** Wait until the poll core has nothing left to do: packet counters still for 5 ms. */
int wait_quiet(const MiniSwitch& sw, DPSAN_STATS* st) {
  DPSAN_STATS prev{};
  if (int rc = get_stats(sw, &prev); rc != 0) return rc;
  int still = 0;
  for (auto end = Clock::now() + std::chrono::seconds(5); Clock::now() < end && still < 5;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (int rc = get_stats(sw, st); rc != 0) return rc;
    bool same = st->packets_tx == prev.packets_tx && st->packets_rx == prev.packets_rx &&
                st->ops_in_flight == prev.ops_in_flight && st->pending_upcalls == 0;
    still = same ? still + 1 : 0;
    prev = *st;
  }
  *st = prev;
  return 0;
}

/**
 * Startup, 100 connected sockets, one registration each, `n` poll-mode receives pending.
 * @return "" or what failed.
 */
std::string set_up(MiniSwitch& sw, int64_t n, char* buf, std::vector<WSAOVERLAPPED>& ovs) {
  if (int rc = sw.startup(); rc != 0) return "WSPStartupEx: " + std::to_string(rc);
  std::vector<SOCKET> socks;
  for (int p = 0; p < kPairs; p++) {
    SOCKET c = INVALID_SOCKET, s = INVALID_SOCKET;
    std::string e = sw.connect_pair(static_cast<uint16_t>(kBasePort + p), &c, &s);
    if (!e.empty()) return "connect_pair " + std::to_string(p) + ": " + e;
    socks.push_back(c);
    socks.push_back(s);
  }
  for (SOCKET s : socks) {
    int err = 0;
    if (sw.register_memory(s, buf, kBufLen, MEM_WRITE, &err) == nullptr)
      return "WSPRegisterMemory: " + std::to_string(err);
  }
  ovs.assign(static_cast<size_t>(n), WSAOVERLAPPED{});
  const size_t nsocks = socks.size();
  for (int64_t i = 0; i < n; i++) {
    WSAOVERLAPPED& ov = ovs[static_cast<size_t>(i)];
    ov.hEvent = reinterpret_cast<WSAEVENT>(uintptr_t{1});  // poll mode: no upcall (R34)
    WSABUF wb{kBufLen, buf};
    DWORD bytes = 0, flags = 0;
    int err = 0;
    SOCKET s = socks[static_cast<size_t>(i) % nsocks];  // round robin: n / 100 per socket
    int rc = sw.proc().lpWSPRecv(s, &wb, 1, &bytes, &flags, &ov, nullptr, nullptr, &err);
    if (rc != SOCKET_ERROR || err != WSA_IO_PENDING)
      return "WSPRecv #" + std::to_string(i) + ": rc " + std::to_string(rc) + ", error " +
             std::to_string(err);
  }
  DPSAN_STATS st{};
  if (int rc = wait_quiet(sw, &st); rc != 0) return "SIO_DPSAN_GET_STATS: " + std::to_string(rc);
  if (st.ops_in_flight != static_cast<uint64_t>(n) || st.sockets_open != nsocks)
    return "before the cleanup: ops_in_flight " + std::to_string(st.ops_in_flight) + " (want " +
           std::to_string(n) + "), sockets_open " + std::to_string(st.sockets_open) + " (want " +
           std::to_string(nsocks) + ")";
  int64_t done = 0;
  for (const WSAOVERLAPPED& ov : ovs)
    done += ov_internal(ov).load(std::memory_order_acquire) !=
            WSS_OPERATION_IN_PROGRESS;
  if (done != 0) return std::to_string(done) + " receive(s) completed before the cleanup";
  return "";
}

/** After the final cleanup: every operation completed exactly as aborted. @return "" or why. */
std::string check_aborted(const std::vector<WSAOVERLAPPED>& ovs) {
  size_t pending = 0, aborted = 0, other = 0;
  uint32_t other_code = 0;
  for (const WSAOVERLAPPED& ov : ovs) {
    if (ov_internal(ov).load(std::memory_order_acquire) ==
        WSS_OPERATION_IN_PROGRESS) {
      pending++;
    } else if (ov.OffsetHigh == WSA_OPERATION_ABORTED) {
      aborted++;
    } else {
      other++;
      other_code = ov.OffsetHigh;
    }
  }
  if (pending == 0 && other == 0 && aborted == ovs.size()) return "";
  return "after the cleanup: " + std::to_string(aborted) + " aborted, " + std::to_string(pending) +
         " still pending, " + std::to_string(other) + " with another result (e.g. " +
         std::to_string(other_code) + ") of " + std::to_string(ovs.size());
}

void BM_FinalCleanup(benchmark::State& state) {
  const int64_t n = state.range(0);
  // One buffer, registered on every socket; every receive points at it (none completes).
  static char buf[kBufLen];
  std::vector<WSAOVERLAPPED> ovs;
  double max_ms = 0, sum_ms = 0;
  for (auto _ : state) {
    state.PauseTiming();
    MiniSwitch sw;
    std::string e = set_up(sw, n, buf, ovs);
    if (!e.empty()) {
      sw.cleanup();
      state.SkipWithError(e.c_str());
      break;
    }
    state.ResumeTiming();
    auto t0 = Clock::now();
    int rc = sw.cleanup();  // the final WSPCleanup: timed
    auto t1 = Clock::now();
    state.PauseTiming();
    double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    max_ms = std::max(max_ms, ms);
    sum_ms += ms;
    if (rc != 0) {
      state.SkipWithError(("final WSPCleanup: " + std::to_string(rc)).c_str());
      break;
    }
    if (e = check_aborted(ovs); !e.empty()) {
      state.SkipWithError(e.c_str());
      break;
    }
    state.ResumeTiming();
  }
  state.counters["pending_ops"] = static_cast<double>(n);
  state.counters["max_ms"] = max_ms;
  if (state.iterations() > 0)
    state.counters["ns_per_op"] = sum_ms * 1e6 / static_cast<double>(state.iterations()) /
                                  static_cast<double>(n);
}
BENCHMARK(BM_FinalCleanup)
    ->ArgName("pending")
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5)
    ->UseRealTime();

void BM_RegisterCached(benchmark::State& state) {
  const auto len = static_cast<DWORD>(state.range(0));
  std::vector<char> buf(len);
  MiniSwitch sw;
  SOCKET c = INVALID_SOCKET, s = INVALID_SOCKET;
  std::string e = sw.startup() == 0 ? sw.connect_pair(kBasePort, &c, &s) : "WSPStartupEx failed";
  auto dereg = reinterpret_cast<LPFN_WSPDEREGISTERMEMORY>(sw.extension(WSAID_DEREGISTERMEMORY));
  if (e.empty() && dereg == nullptr) e = "no WSPDeregisterMemory";
  for (auto _ : state) {
    if (!e.empty()) break;
    int err = 0;
    HANDLE h = sw.register_memory(c, buf.data(), len, MEM_READWRITE, &err);
    if (h == nullptr || dereg(c, h, &err) != 0) e = "register/deregister: " + std::to_string(err);
  }
  if (!e.empty()) state.SkipWithError(e.c_str());
  sw.cleanup();
}
BENCHMARK(BM_RegisterCached)->Arg(4096)->Arg(1 << 20)->Arg(16 << 20);

}  // namespace

DPSAN_MICRO_MAIN();
