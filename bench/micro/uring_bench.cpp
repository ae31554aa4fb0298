/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The uring port back-end (fastpath/port/uring_port.h) alone, between two ports of this process
 * on 127.0.0.x loopback addresses, one thread driving both:
 *
 *  (a) BM_UringBurst/payload:P/gro:G: a burst of 32 DATA frames (P payload bytes each, plus the
 *      56-byte dpsan header) sent by one port and all received by the other; items are frames.
 *      The 32 frames go out as GSO batches; G = 1 receives with UDP GRO (coalesced datagrams
 *      into the port's 64 KiB buffers, copied out into mbufs), G = 0 straight into mbufs.
 *  (b) BM_UringRoundTrip/gro:G: one 64-byte frame there and one back; time per round trip.
 *
 * Its own main brings the EAL up without hugepages. Where io_uring is unavailable it says why
 * and exits 77 (a skip for meson) without running anything.
 */
#include <arpa/inet.h>
#include <cstdio>
#include <string>

#include <benchmark/benchmark.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include "fastpath/port/uring_port.h"
#include "fastpath/wire/codec.h"
#include "micro_eal.h"
#include "micro_main.h"

namespace {

using namespace dpsan::fastpath;

rte_mempool* g_pool = nullptr;
unsigned g_next_addr = 0;

/** Two fresh ports on 127.0.0.<n>, 127.0.0.<n+1>; closed by the destructor. */
struct PortPair {
  Port* a = nullptr;
  Port* b = nullptr;
  uint32_t ip_a, ip_b;
  std::string err;
  explicit PortPair(bool gro) {
    UringPortConfig c;
    c.gro = gro;
    ip_a = c.bind_ip = htonl(0x7f000000u | (200 + g_next_addr++ % 50));
    a = uring_port_open(c, g_pool, &err);
    ip_b = c.bind_ip = htonl(0x7f000000u | (200 + g_next_addr++ % 50));
    if (a) b = uring_port_open(c, g_pool, &err);
  }
  ~PortPair() {
    for (Port* p : {a, b}) {
      if (p) p->close();
      delete p;
    }
  }
};

rte_mbuf* data_frame(uint32_t src, uint32_t dst, uint16_t len, uint32_t psn) {
  rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
  if (m == nullptr) return nullptr;
  wire::L3Addr a{};
  a.src_ip = src;
  a.dst_ip = dst;
  wire::Fields f{};
  f.opcode = wire::kData;
  f.flags = wire::kFirst | wire::kLast;
  f.psn = psn;
  f.msg_len = len;
  uint32_t n = wire::encode(rte_pktmbuf_mtod(m, uint8_t*), a, f, len);
  m->data_len = static_cast<uint16_t>(n);
  m->pkt_len = n;
  return m;
}

/** Receive exactly `want` frames on `p` (bounded). @return frames received. */
unsigned drain(Port* p, unsigned want) {
  unsigned got = 0;
  for (unsigned spins = 0; got < want && spins < 1000000; spins++) {
    rte_mbuf* r[32];
    uint16_t n = p->rx_burst(0, r, 32);
    rte_pktmbuf_free_bulk(r, n);
    got += n;
  }
  return got;
}

void BM_UringBurst(benchmark::State& state) {
  const auto len = static_cast<uint16_t>(state.range(0));
  PortPair pp(state.range(1) != 0);
  if (!pp.b) {
    state.SkipWithError(pp.err.c_str());
    return;
  }
  uint32_t psn = 0;
  for (auto _ : state) {
    rte_mbuf* v[32];
    for (auto& m : v) m = data_frame(pp.ip_a, pp.ip_b, len, psn++);
    uint16_t sent = pp.a->tx_burst(0, v, 32);
    if (sent != 32 || drain(pp.b, 32) != 32) {
      rte_pktmbuf_free_bulk(v + sent, 32 - sent);
      state.SkipWithError("a burst was not taken or did not arrive whole");
      return;
    }
    rte_mbuf* none[1];
    pp.a->rx_burst(0, none, 0);  // reap the send completions
  }
  state.SetItemsProcessed(state.iterations() * 32);
  state.SetBytesProcessed(state.iterations() * 32 * (len + int64_t{sizeof(wire::Header)}));
  UringPortStats s;
  uring_port_stats(pp.b, &s);
  state.counters["frames_per_datagram"] = s.rx_datagrams ? double(s.rx_frames) / double(s.rx_datagrams) : 0;
}
BENCHMARK(BM_UringBurst)
    ->ArgNames({"payload", "gro"})
    ->ArgsProduct({{8, 1300, 8800}, {0, 1}})
    ->UseRealTime();

void BM_UringRoundTrip(benchmark::State& state) {
  PortPair pp(state.range(0) != 0);
  if (!pp.b) {
    state.SkipWithError(pp.err.c_str());
    return;
  }
  uint32_t psn = 0;
  for (auto _ : state) {
    rte_mbuf* m = data_frame(pp.ip_a, pp.ip_b, 64, psn++);
    if (pp.a->tx_burst(0, &m, 1) != 1 || drain(pp.b, 1) != 1) {
      state.SkipWithError("a frame did not arrive");
      return;
    }
    m = data_frame(pp.ip_b, pp.ip_a, 64, psn++);
    if (pp.b->tx_burst(0, &m, 1) != 1 || drain(pp.a, 1) != 1) {
      state.SkipWithError("a frame did not come back");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UringRoundTrip)->ArgNames({"gro"})->Arg(0)->Arg(1)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!dpsan::micro::eal_start("dpsan_bench_uring")) {
    std::fprintf(stderr, "%s\n", dpsan::micro::g_eal.error.c_str());
    return 1;
  }
  g_pool = rte_pktmbuf_pool_create("bench_uring", 8191, 256, 0, 9216 + RTE_PKTMBUF_HEADROOM, SOCKET_ID_ANY);
  if (g_pool == nullptr) {
    std::fprintf(stderr, "no packet pool: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  {
    PortPair probe(true);
    if (!probe.b && probe.err.find("io_uring is not available") != std::string::npos) {
      std::fprintf(stderr, "micro_uring: skipped: %s\n", probe.err.c_str());
      return 77;
    }
  }
  int rc = dpsan::micro::run_benchmarks();
  rte_mempool_free(g_pool);
  dpsan::micro::eal_stop();
  return rc;
}
