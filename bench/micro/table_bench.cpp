/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Microbenchmarks of the two lock-free lookups on the hot path of WSPSend / WSPRecv:
 *
 *  - spi::SocketTable::get().acquire(s) + put(): pin an open descriptor for one SPI call
 *    (what SocketRef does);
 *  - fastpath::MrTable::acquire() + release(): take and drop one use of a registration that
 *    covers the transfer (what pin_registration does per WSABUF).
 *
 * Each runs single-threaded and with two threads. "Shared" means both threads hit the same
 * socket / registration (one cache line bounces between the cores, as when two switch threads
 * post on one socket); "PerThread" gives each thread its own (no sharing: the scaling limit).
 * Threaded runs use real time: "Time" is wall time per operation over all threads, and
 * items_per_second the combined rate; they only mean something with two idle CPUs.
 * Neither table needs the EAL or a provider instance.
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <benchmark/benchmark.h>

#include "micro_main.h"

#include "fastpath/mr_table.h"
#include "spi-adapter/socket_table.h"

namespace {

using dpsan::fastpath::kMrNone;
using dpsan::fastpath::MrTable;
using dpsan::spi::Socket;
using dpsan::spi::SocketTable;

constexpr int kMaxThreads = 2;
constexpr uint32_t kMemWrite = 2;  // MEM_WRITE

/** Open sockets for the whole process: [0] is shared, [1 + t] is thread t's own. */
const std::vector<Socket*>& open_sockets() {
  static const std::vector<Socket*> socks = [] {
    std::vector<Socket*> v;
    for (int i = 0; i < 1 + kMaxThreads; i++) {
      Socket* s = SocketTable::get().open();
      if (s == nullptr) {
        std::fprintf(stderr, "SocketTable::open failed\n");
        std::abort();
      }
      v.push_back(s);
    }
    return v;
  }();
  return socks;
}

void socket_acquire_put(benchmark::State& state, SOCKET sock) {
  SocketTable& t = SocketTable::get();
  Socket* check = t.acquire(sock);
  if (check == nullptr) {
    state.SkipWithError("acquire() refused an open socket");
    return;
  }
  t.put(check);
  for (auto _ : state) {
    Socket* s = t.acquire(sock);
    // The const overload (an input-only asm operand): with the read-write one, GCC 12 at -O1
    // under ASan had put() write through a stale pointer (a heap-use-after-free report on the
    // vector open_sockets() had grown), most likely a miscompile of its "+m,r" operand.
    benchmark::DoNotOptimize(static_cast<const Socket*>(s));
    t.put(s);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_SocketAcquirePut_Shared(benchmark::State& state) {
  socket_acquire_put(state, static_cast<SOCKET>(open_sockets()[0]->self));
}
BENCHMARK(BM_SocketAcquirePut_Shared)->Threads(1)->Threads(2)->UseRealTime();

void BM_SocketAcquirePut_PerThread(benchmark::State& state) {
  socket_acquire_put(state, static_cast<SOCKET>(open_sockets()[1 + state.thread_index()]->self));
}
BENCHMARK(BM_SocketAcquirePut_PerThread)->Threads(2)->UseRealTime();

// ---------------------------------------------------------------------------------------------

struct MrFixture {
  MrTable table;
  alignas(64) char buf[kMaxThreads + 1][4096];
  uint64_t owner[kMaxThreads + 1];
  uint64_t handle[kMaxThreads + 1];
};

MrFixture& mr_fixture() {
  static MrFixture* f = [] {
    auto* m = new MrFixture;
    m->table.init(1024);
    for (int i = 0; i < kMaxThreads + 1; i++) {
      // Slots are handed out in index order and are ~40 bytes: three fillers between two
      // benchmarked slots keep them on different cache lines (no false sharing PerThread).
      if (i > 0)
        for (int k = 0; k < 3; k++)
          if (m->table.create(~uint64_t{0}, reinterpret_cast<uintptr_t>(m->buf[0]), 1, 1) == 0)
            std::abort();
      m->owner[i] = (uint64_t{1} << 32) | static_cast<uint64_t>(i + 1);
      m->handle[i] = m->table.create(m->owner[i], reinterpret_cast<uintptr_t>(m->buf[i]),
                                     sizeof m->buf[i], 3 /* MEM_READWRITE */);
      if (m->handle[i] == 0) {
        std::fprintf(stderr, "MrTable::create failed\n");
        std::abort();
      }
    }
    return m;
  }();
  return *f;
}

void mr_acquire_release(benchmark::State& state, int which) {
  MrFixture& f = mr_fixture();
  const uint64_t h = f.handle[which], owner = f.owner[which];
  // A 1 KiB receive in the middle of the registered buffer.
  const auto addr = reinterpret_cast<uintptr_t>(f.buf[which]) + 512;
  const uint32_t len = 1024;
  if (uint32_t i = f.table.acquire(h, owner, addr, len, kMemWrite); i == kMrNone) {
    state.SkipWithError("MrTable::acquire refused a covering registration");
    return;
  } else {
    f.table.release(i);
  }
  for (auto _ : state) {
    uint32_t i = f.table.acquire(h, owner, addr, len, kMemWrite);
    benchmark::DoNotOptimize(static_cast<const uint32_t>(i));  // const overload: see above
    f.table.release(i);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_MrAcquireRelease_Shared(benchmark::State& state) { mr_acquire_release(state, 0); }
BENCHMARK(BM_MrAcquireRelease_Shared)->Threads(1)->Threads(2)->UseRealTime();

void BM_MrAcquireRelease_PerThread(benchmark::State& state) {
  mr_acquire_release(state, 1 + state.thread_index());
}
BENCHMARK(BM_MrAcquireRelease_PerThread)->Threads(2)->UseRealTime();

}  // namespace

DPSAN_MICRO_MAIN();
