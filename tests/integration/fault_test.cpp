/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Reliability under injected faults: 5 % loss, 2 % duplication, 5 % reordering and 1 %
 * corruption at once, on the loopback port and on a net_ring pair. Many connections carry
 * messages of mixed sizes;
 * every message must arrive exactly once, intact and in order, and every operation must
 * complete exactly once. The fault seed is printed, and DPSAN_FAULT_SEED replays a run.
 */
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <dpsan/dpsan_stats.h>

#include "mini_switch.h"
#include "provider_calls.h"
#include "traffic.h"

using dpsan::perf::MiniSwitch;
using dpsan::test::run_traffic;
using dpsan::test::TrafficPair;
using dpsan::test::TrafficResult;
using Clock = std::chrono::steady_clock;

namespace {

using dpsan::test::fault_seed;
using dpsan::test::ip;
using dpsan::test::startup_with;
using dpsan::test::stats;

/** Start the provider on `ports` (TOML [[port]] tables) under 5/2/5/1 % faults. */
void start_with_faults(MiniSwitch& sw, const std::string& ports, unsigned long seed) {
  // Generous timeouts: this test is about delivery, and a shared CI machine can starve the
  // poll core for seconds; the dead-peer bound has tests of its own.
  std::string config =
      std::string("[fastpath]\nconnect_timeout_ms = 20000\npeer_timeout_ms = 60000\n") +
      (getenv("NOFAULT") ? "[fault]\nseed = "
                         : "[fault]\nloss = 0.05\nduplicate = 0.02\nreorder = 0.05\ncorrupt = 0.01\nseed = ") +
      std::to_string(seed) + "\n" + ports;
  ASSERT_EQ(startup_with(sw, config), 0);
}

/** Connect `n` pairs (client bound to client_ip, server on server_ip) and register buffers. */
void make_pairs(MiniSwitch& sw, unsigned n, unsigned slots, uint32_t max_msg, uint32_t server_ip,
                uint32_t client_ip, std::vector<std::unique_ptr<TrafficPair>>* pairs) {
  for (unsigned p = 0; p < n; p++) {
    auto pr = std::make_unique<TrafficPair>(slots, max_msg);
    ASSERT_EQ(sw.connect_pair(static_cast<uint16_t>(41000 + p), &pr->tx, &pr->rx, server_ip, client_ip), "")
        << "pair " << p;
    int e = 0;
    size_t len = size_t{slots} * max_msg;
    ASSERT_NE(sw.register_memory(pr->tx, pr->tbuf.get(), len, MEM_READWRITE, &e), nullptr);
    ASSERT_NE(sw.register_memory(pr->rx, pr->rbuf.get(), len, MEM_READWRITE, &e), nullptr);
    pairs->push_back(std::move(pr));
  }
}

void expect_clean(const TrafficResult& r, uint64_t expected, const DPSAN_STATS& st,
                  unsigned long seed) {
  std::printf("messages %llu of %llu (%llu MB), retransmits %llu, bad frames dropped %llu, "
              "duplicates dropped %llu, faults injected %llu, mbufs in use %llu, ops in flight %llu\n",
              (unsigned long long)r.received, (unsigned long long)expected,
              (unsigned long long)(r.bytes >> 20), (unsigned long long)st.retransmits,
              (unsigned long long)st.drops_bad_packet, (unsigned long long)st.drops_duplicate,
              (unsigned long long)st.faults_injected, (unsigned long long)st.mbufs_in_use,
              (unsigned long long)st.ops_in_flight);
  std::printf("no-conn drops %llu, not-ours drops %llu, credit stalls %llu, arp %llu/%llu\n",
              (unsigned long long)st.drops_no_conn, (unsigned long long)st.drops_not_ours,
              (unsigned long long)st.credit_stalls, (unsigned long long)st.arp_tx,
              (unsigned long long)st.arp_rx);
  EXPECT_TRUE(r.all_done) << "not every message arrived in time (seed " << seed << ")";
  EXPECT_EQ(r.received, expected) << "seed " << seed;
  EXPECT_EQ(r.corrupt, 0u) << "messages damaged, out of order or twice (seed " << seed << ")";
  EXPECT_EQ(r.bad_status, 0u) << "operations failed, the first with " << r.first_error
                              << " (seed " << seed << ")";
  EXPECT_GT(st.retransmits, 0u) << "the faults did not bite";
  EXPECT_GT(st.drops_bad_packet, 0u) << "no corrupted frame was caught";
  EXPECT_GT(st.faults_injected, 0u);
}

uint32_t small_mixed_size(unsigned p, unsigned seq) {
  static const uint32_t sizes[] = {1, 7, 64, 256, 257, 1000, 4096, 9000, 20000, 64 * 1024};
  return sizes[(seq * 7 + p) % 10];
}

/**
 * 1 B to 1 MiB: mostly small messages, one in 100 of 64 KiB and up, one in 1000 of 1 MiB, so
 * that 200,000 of them stay within a CI budget while every size class is crossed.
 */
uint32_t wide_mixed_size(unsigned p, unsigned seq) {
  static const uint32_t small[] = {1, 2, 7, 64, 255, 256, 257, 1000, 1500, 4096, 8192, 8937, 9000};
  uint32_t h = (p * 2654435761u) ^ (seq * 40503u + 0x9e37u);
  h ^= h >> 15;
  h *= 0x2c1b3c6du;
  h ^= h >> 12;
  if (h % 1000 == 0) return 1u << 20;
  if (h % 100 == 1) return 65536 + h % (512 * 1024);
  return small[h % (sizeof small / sizeof small[0])];
}

}  // namespace

TEST(Fault, R40_EveryMessageOnceIntactInOrderUnderLossDupReorderCorruption) {
  unsigned long seed = fault_seed();
  MiniSwitch sw;
  start_with_faults(sw, "[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1/32\"\n", seed);
  std::vector<std::unique_ptr<TrafficPair>> pairs;
  make_pairs(sw, 16, 8, 64 * 1024, htonl(INADDR_LOOPBACK), htonl(INADDR_LOOPBACK), &pairs);
  TrafficResult r = run_traffic(sw, pairs, 400, small_mixed_size, std::chrono::seconds(90));
  expect_clean(r, 16 * 400, stats(sw), seed);
  close_pairs(sw, pairs);
  EXPECT_EQ(sw.cleanup(), 0);
}

// Issue 3's scale: 100 connections, 200,000 messages of 1 B to 1 MiB, across two ports of a
// net_ring pair (so ARP, routing by source address and both ports' queues are in the path).
TEST(Fault, R40_100Connections200000MessagesUpTo1MiBOverRingPair) {
  unsigned long seed = fault_seed();
  MiniSwitch sw;
  start_with_faults(sw,
                    "[[port]]\ndevice = \"ringpair:flt:0\"\nipv4 = \"198.18.0.1/24\"\n"
                    "[[port]]\ndevice = \"ringpair:flt:1\"\nipv4 = \"198.18.0.2/24\"\n",
                    seed);
  std::vector<std::unique_ptr<TrafficPair>> pairs;
  make_pairs(sw, 100, 4, 1u << 20, ip("198.18.0.2"), ip("198.18.0.1"), &pairs);
  auto t0 = Clock::now();
  TrafficResult r = run_traffic(sw, pairs, 2000, wide_mixed_size, std::chrono::seconds(240));
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("200,000 messages in %.1f s\n", secs);
  DPSAN_STATS st = stats(sw);
  expect_clean(r, 200000, st, seed);
  EXPECT_GT(st.arp_tx, 0u) << "the ports never resolved each other";
  close_pairs(sw, pairs);
  EXPECT_EQ(sw.cleanup(), 0);
}
