/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What zero-copy would save per frame: building one frame's payload by copying N bytes of
 * registered (switch) memory into a hugepage mbuf, against attaching those N bytes as a DPDK
 * external buffer (rte_pktmbuf_attach_extbuf) chained behind a header mbuf. Both compute the
 * CRC32C that every dpsan frame carries over its payload, which reads every byte either way.
 * The break-even N is the threshold above which an external-buffer send could pay
 * (README "Limits and choices"). Own main: brings the EAL up without hugepages.
 */

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <rte_mbuf.h>

#include "fastpath/wire/codec.h"
#include "micro_eal.h"
#include "micro_main.h"

namespace {

rte_mempool* g_pool = nullptr;

void noop_free(void*, void*) {}

/** Switch memory the frames are built from: page-aligned, touched, larger than the caches. */
std::vector<char>& user_memory() {
  static std::vector<char> mem(64u << 20, 'x');
  return mem;
}

bool ready(benchmark::State& state) {
  if (!dpsan::micro::eal_ready(state)) return false;
  if (g_pool == nullptr) {
    g_pool = rte_pktmbuf_pool_create("zc_bench", 4095, 0, 0, 9216 + RTE_PKTMBUF_HEADROOM, SOCKET_ID_ANY);
    if (g_pool == nullptr) {
      state.SkipWithError("no mbuf pool");
      return false;
    }
  }
  return true;
}

/** Today's path: one mbuf, headers then the payload copied in, CRC over the copy. */
void BM_FrameCopy(benchmark::State& state) {
  if (!ready(state)) return;
  const auto n = static_cast<uint32_t>(state.range(0));
  std::vector<char>& mem = user_memory();
  size_t off = 0;
  uint32_t crc = 0;
  for (auto _ : state) {
    rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
    uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
    std::memcpy(p + dpsan::fastpath::wire::kFrameOverhead, mem.data() + off, n);
    crc ^= dpsan::fastpath::wire::crc32c(p + dpsan::fastpath::wire::kFrameOverhead, n, crc);
    m->data_len = static_cast<uint16_t>(dpsan::fastpath::wire::kFrameOverhead + n);
    rte_pktmbuf_free(m);
    off = (off + 9216) % (mem.size() - 9216);  // walk the memory, as a large send does
  }
  benchmark::DoNotOptimize(crc);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * n);
}

/** Zero-copy: a header mbuf, a second mbuf attached to the switch's bytes, CRC over them. */
void BM_FrameExtAttach(benchmark::State& state) {
  if (!ready(state)) return;
  const auto n = static_cast<uint16_t>(state.range(0));
  std::vector<char>& mem = user_memory();
  rte_mbuf_ext_shared_info shinfo{};
  shinfo.free_cb = noop_free;
  size_t off = 0;
  uint32_t crc = 0;
  for (auto _ : state) {
    rte_mbuf* h = rte_pktmbuf_alloc(g_pool);
    rte_mbuf* d = rte_pktmbuf_alloc(g_pool);
    rte_mbuf_ext_refcnt_set(&shinfo, 1);
    char* p = mem.data() + off;
    rte_pktmbuf_attach_extbuf(d, p, rte_mem_virt2iova(p), n, &shinfo);
    d->data_len = n;
    crc ^= dpsan::fastpath::wire::crc32c(p, n, crc);
    h->data_len = static_cast<uint16_t>(dpsan::fastpath::wire::kFrameOverhead);
    rte_pktmbuf_chain(h, d);
    rte_pktmbuf_free(h);
    off = (off + 9216) % (mem.size() - 9216);
  }
  benchmark::DoNotOptimize(crc);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * n);
}

BENCHMARK(BM_FrameCopy)->ArgName("payload")->Arg(256)->Arg(512)->Arg(1024)->Arg(1416)->Arg(2048)->Arg(4096)->Arg(8192);
BENCHMARK(BM_FrameExtAttach)->ArgName("payload")->Arg(256)->Arg(512)->Arg(1024)->Arg(1416)->Arg(2048)->Arg(4096)->Arg(8192);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!dpsan::micro::eal_start("dpsan_zc_bench"))
    std::fprintf(stderr, "%s; the benchmarks will report an error\n", dpsan::micro::g_eal.error.c_str());
  int rc = dpsan::micro::run_benchmarks();
  if (g_pool) rte_mempool_free(g_pool);
  dpsan::micro::eal_stop();
  return rc;
}
