/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What a DMA-mapped registration costs (fastpath/dma_map.h, README "Zero-copy sends"):
 *  - BM_DmaMapUnmap: DmaMap::map + unmap of a fresh range of N bytes: rte_extmem_register
 *    (a memseg list and an IOVA table for the pages), rte_dev_dma_map for one device, then the
 *    reverse. The device is a net_ring port's (vdev: the bus maps nothing and answers 0), so a
 *    NIC's IOMMU work (VFIO_IOMMU_MAP_DMA pins and maps every page) is not in this figure.
 *  - BM_RegisterMiss / BM_RegisterMissMapped: a registration that misses the cache, as
 *    WSPRegisterMemory makes it (RegCache::acquire: mlock, and with mapping the DmaMap hold),
 *    then its deregistration and the cache callback (munlock, unmap, unregister).
 *  - BM_RegisterHitMapped: registering a range the cache holds, mapped: a lookup.
 * Own main: brings the EAL up without hugepages (IOVA as VA).
 */
#include <sys/mman.h>

#include <cstdio>
#include <string>

#include <rte_mbuf.h>

#include "fastpath/dma_map.h"
#include "fastpath/port/port.h"
#include "fastpath/reg_cache.h"
#include "micro_eal.h"
#include "micro_main.h"

namespace {

using dpsan::fastpath::DmaMap;
using dpsan::fastpath::RegCache;
using dpsan::fastpath::kPageRead;

rte_mempool* g_pool = nullptr;
dpsan::fastpath::Port* g_port = nullptr;

constexpr size_t kArea = 64u << 20;  ///< switch memory the ranges come from

char* area() {
  static char* p = [] {
    void* m = mmap(nullptr, kArea, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return static_cast<char*>(nullptr);
    for (size_t i = 0; i < kArea; i += 4096) static_cast<char*>(m)[i] = 1;  // resident
    return static_cast<char*>(m);
  }();
  return p;
}

/** The EAL, a net_ring port whose device is mapped, and the memory. */
bool ready(benchmark::State& state) {
  if (!dpsan::micro::eal_ready(state)) return false;
  if (g_port == nullptr) {
    g_pool = rte_pktmbuf_pool_create("dma_bench", 1023, 0, 0, 2048 + RTE_PKTMBUF_HEADROOM, SOCKET_ID_ANY);
    std::string err;
    if (g_pool) g_port = dpsan::fastpath::loopback_port_open(990, g_pool, 1, 0, &err);
    if (g_port == nullptr) {
      state.SkipWithError(("no net_ring port: " + err).c_str());
      return false;
    }
  }
  if (area() == nullptr) {
    state.SkipWithError("no memory");
    return false;
  }
  return true;
}

bool init_map(benchmark::State& state, DmaMap& map) {
  map.init({g_port->dma_device()});
  if (!map.enabled()) {
    state.SkipWithError("IOVA as PA: DmaMap is off");
    return false;
  }
  return true;
}

void BM_DmaMapUnmap(benchmark::State& state) {
  if (!ready(state)) return;
  DmaMap map;
  if (!init_map(state, map)) return;
  const auto n = static_cast<uint64_t>(state.range(0));
  for (auto _ : state) {
    if (map.map(reinterpret_cast<uintptr_t>(area()), n) == 0) {
      state.SkipWithError("map failed");
      break;
    }
    map.unmap(reinterpret_cast<uintptr_t>(area()), n);
  }
  state.SetLabel("extmem_register + dma_map + unmap + unregister");
}

void register_miss(benchmark::State& state, bool dma) {
  if (!ready(state)) return;
  DmaMap map;
  if (!init_map(state, map)) return;
  RegCache cache(&map);
  const auto n = static_cast<uint64_t>(state.range(0));
  auto a = reinterpret_cast<uintptr_t>(area());
  for (auto _ : state) {
    uint32_t mask = 0;
    uint64_t id = cache.acquire(a, n, kPageRead, dma, &mask);
    if (dma && mask == 0) {
      state.SkipWithError("not mapped");
      break;
    }
    cache.release(id);
    cache.invalidate(a, n);  // the next registration is a miss again
  }
}

void BM_RegisterMiss(benchmark::State& state) { register_miss(state, false); }
void BM_RegisterMissMapped(benchmark::State& state) { register_miss(state, true); }

void BM_RegisterHitMapped(benchmark::State& state) {
  if (!ready(state)) return;
  DmaMap map;
  if (!init_map(state, map)) return;
  RegCache cache(&map);
  const auto n = static_cast<uint64_t>(state.range(0));
  auto a = reinterpret_cast<uintptr_t>(area());
  cache.release(cache.acquire(a, n, kPageRead, true, nullptr));  // cached and mapped
  for (auto _ : state) {
    uint32_t mask = 0;
    cache.release(cache.acquire(a, n, kPageRead, true, &mask));
    benchmark::DoNotOptimize(mask);
  }
}

#define SIZES ArgName("bytes")->Arg(4096)->Arg(64 << 10)->Arg(1 << 20)->Arg(16 << 20)
BENCHMARK(BM_DmaMapUnmap)->SIZES;
BENCHMARK(BM_RegisterMiss)->SIZES;
BENCHMARK(BM_RegisterMissMapped)->SIZES;
BENCHMARK(BM_RegisterHitMapped)->SIZES;

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!dpsan::micro::eal_start("dpsan_dma_bench"))
    std::fprintf(stderr, "%s; the benchmarks will report an error\n", dpsan::micro::g_eal.error.c_str());
  int rc = dpsan::micro::run_benchmarks();
  if (g_port) {
    g_port->close();
    delete g_port;
  }
  if (g_pool) rte_mempool_free(g_pool);
  dpsan::micro::eal_stop();
  return rc;
}
