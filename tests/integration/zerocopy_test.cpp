/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Zero-copy sends end to end (README "Zero-copy sends", fastpath/zerocopy.h), public interface
 * only: large WSPSend and WSPRdmaWrite payloads from registered memory leave attached to the
 * switch's pages (DPSAN_STATS.zerocopy_frames grows), small ones are copied, every byte
 * arrives intact, over the loopback, across a net_ring pair and under fault injection. R19: an
 * operation is never seen complete while frames still point into its buffer
 * (DPSAN_STATS.zerocopy_waiting), and close and the final cleanup wait for those frames. A
 * `uring` port (kernel sockets) falls back to copying.
 *
 * With [fastpath] dma_map = "always" the in-process ports are treated as devices that DMA
 * (fastpath/dma_map.h): local registrations become DPDK external memory mapped for the port's
 * device (rte_mem_virt2memseg_list finds them), frames still go zero-copy from them, the
 * mapping outlives a deregistration while the range is cached and goes with the cache
 * invalidation (R65); a registration that could not be mapped (no memseg list left) is copied,
 * never sent zero-copy. This test links DPDK, the same libraries the provider uses, to look.
 */
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unistd.h>

#include <dpsan/dpsan_stats.h>
#include <rte_eal.h>
#include <rte_memory.h>

#include "mini_switch.h"
#include "provider_calls.h"

using dpsan::perf::MiniSwitch;
using dpsan::test::ext_fn;
using dpsan::test::kPoll;
using dpsan::test::ov_done;
using dpsan::test::post_recv_then_send;
using dpsan::test::post_rdma;
using dpsan::test::start_and_connect;
using dpsan::test::stats;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kBuf = 4u << 20;
constexpr DWORD kAborted = 995;  // WSA_OPERATION_ABORTED

/** A connected pair with registered memory: the client sends and writes into the server. */
struct Ends {
  MiniSwitch sw;
  SOCKET cli = INVALID_SOCKET, srv = INVALID_SOCKET;
  // Page-aligned, with a page of padding after each: no two registrations share a page, so the
  // cache callback on one never meets another (heap neighbours otherwise do).
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  static char* page_buffer() { return static_cast<char*>(std::aligned_alloc(4096, kBuf + 4096)); }
  std::unique_ptr<char[], Free> out{page_buffer()}, in{page_buffer()}, region{page_buffer()};
  HANDLE hout = nullptr, hin = nullptr;
  LPFN_WSPREGISTERMEMORY reg = nullptr;
  LPFN_WSPDEREGISTERMEMORY dereg = nullptr;
  LPFN_WSPMEMORYREGISTRATIONCACHECALLBACK invalidate = nullptr;
  LPFN_WSPRDMAWRITE write = nullptr;
  alignas(8) char desc[64] = {};
  DWORD desc_len = sizeof desc;
  uint64_t max_waiting = 0;  ///< largest zerocopy_waiting seen while an operation was pending
};

/**
 * Every configuration here sets zerocopy_min = 1024, below the default (2,048), so that the
 * threshold itself is crossed by the sizes below (the in-process ports run at MTU 9000 and carry
 * up to 8,916 bytes per frame; `mtu` checks the default threshold in the default layout).
 */
constexpr const char* kZc = "[fastpath]\nzerocopy_min = 1024\n";

/** Start (with `config` as DPSAN_CONFIG unless empty) and connect. Empty string: success. */
std::string bring_up(Ends& s, uint16_t port, const std::string& config, const char* cli_ip,
                     const char* srv_ip) {
  std::string why = start_and_connect(s.sw, config, port, &s.cli, &s.srv, cli_ip, srv_ip);
  if (!why.empty()) return why;
  auto reg = reinterpret_cast<LPFN_WSPREGISTERMEMORY>(ext_fn(s.sw, WSAID_REGISTERMEMORY));
  auto reg_rdma = reinterpret_cast<LPFN_WSPREGISTERRDMAMEMORY>(ext_fn(s.sw, WSAID_REGISTERRDMAMEMORY));
  s.reg = reg;
  s.dereg = reinterpret_cast<LPFN_WSPDEREGISTERMEMORY>(ext_fn(s.sw, WSAID_DEREGISTERMEMORY));
  s.invalidate = reinterpret_cast<LPFN_WSPMEMORYREGISTRATIONCACHECALLBACK>(
      ext_fn(s.sw, WSAID_MEMORYREGISTRATIONCACHECALLBACK));
  s.write = reinterpret_cast<LPFN_WSPRDMAWRITE>(ext_fn(s.sw, WSAID_RDMAWRITE));
  int e = 0;
  s.hout = reg(s.cli, s.out.get(), kBuf, MEM_READ, &e);
  s.hin = reg(s.srv, s.in.get(), kBuf, MEM_WRITE, &e);
  if (!s.hout || !s.hin) return "register: " + std::to_string(e);
  if (reg_rdma(s.srv, s.region.get(), kBuf, MEM_WRITE, s.desc, &s.desc_len, &e) != 0)
    return "register RDMA: " + std::to_string(e);
  return "";
}

void fill(char* p, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; i++) p[i] = static_cast<char>((i * 2654435761u + seed) >> 7);
}

/**
 * Wait for `ov`, checking R19 all along: whenever it is seen complete, no zero-copy operation
 * waits for frames (one operation is in flight at a time here).
 */
::testing::AssertionResult wait_checked(Ends& s, WSAOVERLAPPED& ov, int seconds) {
  auto end = Clock::now() + std::chrono::seconds(seconds);
  while (!ov_done(ov)) {
    uint64_t w = stats(s.sw).zerocopy_waiting;
    if (w > s.max_waiting) s.max_waiting = w;
    if (Clock::now() > end) return ::testing::AssertionFailure() << "did not complete";
    usleep(20);
  }
  uint64_t w = stats(s.sw).zerocopy_waiting;
  if (w != 0) return ::testing::AssertionFailure() << "R19: complete while " << w << " waits";
  return ::testing::AssertionSuccess();
}

/** One message of n bytes from the client's registered memory, checked byte for byte. */
void send_one(Ends& s, size_t n, uint32_t seed, int timeout_s) {
  SCOPED_TRACE("send of " + std::to_string(n));
  fill(s.out.get() + 3, n, seed);
  std::memset(s.in.get(), 0, n + 16);
  WSAOVERLAPPED rov, sov;
  WSABUF rb{static_cast<ULONG>(n + 16), s.in.get()}, sb{static_cast<ULONG>(n), s.out.get() + 3};
  ASSERT_NO_FATAL_FAILURE(post_recv_then_send(s.sw, s.srv, rb, rov, s.cli, sb, sov));
  ASSERT_TRUE(wait_checked(s, sov, timeout_s));
  ASSERT_EQ(sov.OffsetHigh, 0u);
  ASSERT_TRUE(wait_checked(s, rov, timeout_s));
  ASSERT_EQ(rov.OffsetHigh, 0u);
  ASSERT_EQ(rov.InternalHigh, n);
  ASSERT_EQ(std::memcmp(s.in.get(), s.out.get() + 3, n), 0) << "bytes differ";
}

/** One RDMA write of n bytes at an unaligned offset, checked byte for byte. */
void write_one(Ends& s, size_t n, uint32_t seed, int timeout_s) {
  SCOPED_TRACE("write of " + std::to_string(n));
  fill(s.out.get() + 5, n, seed);
  std::memset(s.region.get(), 0, n + 16);
  WSAOVERLAPPED ov;
  WSABUFEX b{static_cast<ULONG>(n), s.out.get() + 5, s.hout};
  ASSERT_NO_FATAL_FAILURE(post_rdma(s.write, s.cli, b, s.desc, s.desc_len, 7, ov));
  ASSERT_TRUE(wait_checked(s, ov, timeout_s));
  ASSERT_EQ(ov.OffsetHigh, 0u);
  ASSERT_EQ(std::memcmp(s.region.get() + 7, s.out.get() + 5, n), 0) << "bytes differ";
}

/** Small ones copied, large ones attached, all intact; the counters return to baseline. */
void sizes(Ends& s, int timeout_s) {
  uint64_t mbufs0 = stats(s.sw).mbufs_in_use;
  uint32_t seed = 1;
  for (size_t n : {size_t{1}, size_t{100}, size_t{1000}, size_t{1023}}) {  // < zerocopy_min
    uint64_t zc0 = stats(s.sw).zerocopy_frames;
    ASSERT_NO_FATAL_FAILURE(send_one(s, n, seed++, timeout_s));
    ASSERT_NO_FATAL_FAILURE(write_one(s, n, seed++, timeout_s));
    EXPECT_EQ(stats(s.sw).zerocopy_frames, zc0) << n << " bytes: small frames are copied";
  }
  for (size_t n : {size_t{1024}, size_t{4096}, size_t{8999}, size_t{65537}, (size_t{1} << 20) - 1, size_t{1} << 20}) {
    uint64_t zc0 = stats(s.sw).zerocopy_frames;
    ASSERT_NO_FATAL_FAILURE(send_one(s, n, seed++, timeout_s));
    uint64_t zc1 = stats(s.sw).zerocopy_frames;
    EXPECT_GE(zc1 - zc0, n / 9000) << n << " bytes: the send was not attached";
    EXPECT_GT(zc1, zc0);
    ASSERT_NO_FATAL_FAILURE(write_one(s, n, seed++, timeout_s));
    EXPECT_GT(stats(s.sw).zerocopy_frames, zc1) << n << " bytes: the write was not attached";
  }
  ASSERT_NO_FATAL_FAILURE(write_one(s, kBuf - 64, seed++, timeout_s));
  EXPECT_EQ(stats(s.sw).zerocopy_waiting, 0u);
  // Acks may still be on their way (held by the fault injector): wait for them, bounded.
  for (int i = 0; i < 200 && stats(s.sw).mbufs_in_use != mbufs0; i++) usleep(10000);
  EXPECT_EQ(stats(s.sw).mbufs_in_use, mbufs0) << "a frame was leaked";
}

void tear_down(Ends& s) {
  int e = 0;
  s.sw.proc().lpWSPCloseSocket(s.cli, &e);
  s.sw.proc().lpWSPCloseSocket(s.srv, &e);
  EXPECT_EQ(s.sw.cleanup(), 0);
}

/** Wait (bounded) until the first zero-copy frames are out. */
bool first_frames_out(Ends& s) {
  for (int i = 0; i < 2000; i++) {
    if (stats(s.sw).zerocopy_frames > 0) return true;
    usleep(100);
  }
  return false;
}

/** Loopback with every frame delayed: frames outlive their acknowledgement (resent copies). */
std::string delayed(uint32_t delay_us) {
  // The RTO stays above the round trip: the frames stay out, not resent. MTU 1500 (1,416-byte
  // segments): a MiB is 740 frames, three windows of 256, so an operation stays pending for
  // several round trips, however late the test thread looks.
  return std::string(kZc) + "rto_min_us = " + std::to_string(5 * delay_us) +
         "\n[fault]\ndelay_us = " + std::to_string(delay_us) +
         "\nseed = 3\n[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1/32\"\nmtu = 1500\n";
}

}  // namespace

TEST(ZeroCopy, R42_LargeSendsAndWritesAreAttachedOverTheLoopback) {
  Ends s;
  ASSERT_EQ(bring_up(s, 46100,
                     std::string(kZc) + "[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1/32\"\n",
                     "127.0.0.1", "127.0.0.1"),
            "");
  ASSERT_NO_FATAL_FAILURE(sizes(s, 20));
  tear_down(s);
}

TEST(ZeroCopy, R42_LargeSendsAndWritesAreAttachedAcrossANetRingPair) {
  Ends s;
  ASSERT_EQ(bring_up(s, 46200,
                     std::string(kZc) + "[[port]]\ndevice = \"ringpair:zc:0\"\nipv4 = \"198.18.0.1/24\"\n"
                     "[[port]]\ndevice = \"ringpair:zc:1\"\nipv4 = \"198.18.0.2/24\"\n",
                     "198.18.0.1", "198.18.0.2"),
            "");
  ASSERT_NO_FATAL_FAILURE(sizes(s, 30));
  tear_down(s);
}

TEST(ZeroCopy, R19_UnderFaultsNothingCompletesWhileFramesHoldTheBuffer) {
  Ends s;
  ASSERT_EQ(bring_up(s, 46300,
                     std::string(kZc) + "connect_timeout_ms = 20000\nrto_min_us = 500\n"
                     "[fault]\nloss = 0.05\nduplicate = 0.05\nreorder = 0.05\ncorrupt = 0.01\n"
                     "delay_us = 1000\nseed = 7\n"
                     "[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1/32\"\n",
                     "127.0.0.1", "127.0.0.1"),
            "");
  ASSERT_NO_FATAL_FAILURE(sizes(s, 60));
  std::printf("largest zerocopy_waiting seen while an operation was pending: %llu (not always > 0)\n",
              static_cast<unsigned long long>(s.max_waiting));
  EXPECT_GT(stats(s.sw).retransmits, 0u);
  tear_down(s);
}

// Every frame duplicated, the duplicate sent at once and the original held 20 ms: the peer
// acknowledges from the duplicates, so every operation ends while its originals still point
// into the buffer. It must complete only when they are gone.
TEST(ZeroCopy, R19_AnAcknowledgedOperationWaitsForItsHeldFrames) {
  Ends s;
  ASSERT_EQ(bring_up(s, 46350,
                     std::string(kZc) + "[fault]\nduplicate = 1.0\ndelay_us = 20000\nseed = 5\n"
                     "[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1/32\"\n",
                     "127.0.0.1", "127.0.0.1"),
            "");
  for (uint32_t i = 0; i < 3; i++) {
    auto t0 = Clock::now();
    ASSERT_NO_FATAL_FAILURE(send_one(s, 65536, 40 + i, 30));
    ASSERT_NO_FATAL_FAILURE(write_one(s, 65536, 50 + i, 30));
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    EXPECT_GE(ms, 20) << "completed before the held frames were released";
  }
  std::printf("largest zerocopy_waiting seen: %llu\n", static_cast<unsigned long long>(s.max_waiting));
  EXPECT_GT(s.max_waiting, 0u) << "no operation was seen waiting for its frames";
  tear_down(s);
}

TEST(ZeroCopy, R25_R59_CloseWaitsForTheFramesAndDeregistrationIsRefusedMeanwhile) {
  Ends s;
  ASSERT_EQ(bring_up(s, 46400, delayed(50000), "127.0.0.1", "127.0.0.1"), "");
  fill(s.out.get(), kBuf, 9);
  WSAOVERLAPPED ov;
  WSABUFEX b{static_cast<ULONG>(kBuf), s.out.get(), s.hout};
  ASSERT_NO_FATAL_FAILURE(post_rdma(s.write, s.cli, b, s.desc, s.desc_len, 0, ov));
  // Frames go out and are held 50 ms by the port; 4 MiB needs a dozen round trips of 100 ms.
  ASSERT_TRUE(first_frames_out(s));
  ASSERT_FALSE(ov_done(ov));
  int e = 0;
  EXPECT_EQ(s.dereg(s.cli, s.hout, &e), SOCKET_ERROR);
  EXPECT_EQ(e, WSAEINVAL) << "R59: the buffer is in use by a pending operation";
  ASSERT_EQ(s.sw.proc().lpWSPCloseSocket(s.cli, &e), 0);
  ASSERT_TRUE(ov_done(ov)) << "R25: the close returned before the aborted write completed";
  EXPECT_EQ(ov.OffsetHigh, kAborted);
  EXPECT_EQ(stats(s.sw).zerocopy_waiting, 0u);
  s.sw.proc().lpWSPCloseSocket(s.srv, &e);
  EXPECT_EQ(s.sw.cleanup(), 0);
}

TEST(ZeroCopy, R12_R19_FinalCleanupAbortsAndReleasesBeforeItReturns) {
  Ends s;
  ASSERT_EQ(bring_up(s, 46500, delayed(50000), "127.0.0.1", "127.0.0.1"), "");
  fill(s.out.get(), 1u << 20, 10);
  WSAOVERLAPPED rov{}, sov{};
  rov.hEvent = sov.hEvent = kPoll;
  WSABUF rb{static_cast<ULONG>(kBuf), s.in.get()}, sb{1u << 20, s.out.get()};
  DWORD flags = 0, got = 0;
  int e = 0;
  s.sw.proc().lpWSPRecv(s.srv, &rb, 1, &got, &flags, &rov, nullptr, nullptr, &e);
  usleep(200000);  // the receive's credit reaches the sender (50 ms on the wire)
  ASSERT_EQ(s.sw.proc().lpWSPSend(s.cli, &sb, 1, &got, 0, &sov, nullptr, nullptr, &e), SOCKET_ERROR);
  ASSERT_EQ(e, WSA_IO_PENDING);
  ASSERT_TRUE(first_frames_out(s));  // 1 MiB needs three round trips of 100 ms
  ASSERT_FALSE(ov_done(sov));
  ASSERT_EQ(s.sw.cleanup(), 0);
  ASSERT_TRUE(ov_done(sov)) << "R12: the send was not aborted by the final cleanup";
  EXPECT_EQ(sov.OffsetHigh, kAborted);
  ASSERT_TRUE(ov_done(rov));
}

TEST(ZeroCopy, UringPortFallsBackToCopies) {
  Ends s;
  std::string why = bring_up(s, 46600,
                             std::string(kZc) + "[[port]]\nbackend = \"uring\"\nbind = \"127.0.46.2\"\n"
                             "[[port]]\nbackend = \"uring\"\nbind = \"127.0.46.3\"\n",
                             "127.0.46.3", "127.0.46.2");
  if (why.rfind("startup:", 0) == 0) GTEST_SKIP() << "no uring port here (" << why << ")";
  ASSERT_EQ(why, "");
  ASSERT_NO_FATAL_FAILURE(send_one(s, 1u << 20, 1, 30));
  ASSERT_NO_FATAL_FAILURE(write_one(s, 1u << 20, 2, 30));
  EXPECT_EQ(stats(s.sw).zerocopy_frames, 0u) << "kernel sockets cannot send attached frames";
  tear_down(s);
}

namespace {

/** Is the byte at `p` in memory DPDK knows (a memseg list: here, registered external memory)? */
bool dpdk_knows(const void* p) { return rte_mem_virt2memseg_list(p) != nullptr; }

/**
 * The EAL picks IOVA as PA where it can (root, hugepages, no IOMMU), and DmaMap then maps
 * nothing (fastpath/dma_map.h). These tests ask for IOVA as VA; the EAL takes the arguments of
 * the first startup of the process only, so meson runs them in a process of their own
 * (zerocopy-dma), and they skip if the EAL was brought up otherwise.
 */
const char* kEalVa = "[eal]\nargs = [\"--iova-mode=va\"]\n";

std::string dma_always(const std::string& ports) {
  return std::string(kEalVa) + kZc + "dma_map = \"always\"\n" + ports;
}

/** Cleans up at scope exit, so that a failed test leaves no instance to the next one. */
struct Up {
  Ends& s;
  bool up = true;
  ~Up() {
    if (up) tear_down(s);
  }
  void down() {
    up = false;
    tear_down(s);
  }
};

/** Skip (after cleaning up) when the EAL runs with IOVA as PA. */
#define SKIP_UNLESS_IOVA_VA(up)                                                       \
  if (rte_eal_iova_mode() != RTE_IOVA_VA) {                                           \
    up.down();                                                                         \
    GTEST_SKIP() << "the EAL of this process runs with IOVA as PA: nothing is mapped"; \
  }

const char* kLoopback = "[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1/32\"\n";

}  // namespace

TEST(ZeroCopyDma, R42_AutoMapsNothingForVirtualDevices) {
  // Given the default policy on the loopback (a vdev: it reads through the CPU)
  Ends s;
  ASSERT_EQ(bring_up(s, 46700, std::string(kEalVa) + kZc + kLoopback, "127.0.0.1", "127.0.0.1"), "");
  Up up{s};
  ASSERT_NO_FATAL_FAILURE(send_one(s, 65536, 1, 20));
  // Expect: zero-copy as before, and no DPDK external memory at all
  EXPECT_GT(stats(s.sw).zerocopy_frames, 0u);
  EXPECT_EQ(stats(s.sw).dma_chunks, 0u);
  EXPECT_FALSE(dpdk_knows(s.out.get()));
  up.down();
}

// R42 (large messages from registered memory), R58/R65 (the mapping follows the cache).
TEST(ZeroCopyDma, R42_R65_AlwaysMapsRegistrationsSendsZeroCopyAndUnmapsOnInvalidation) {
  // Given dma_map = "always" on the loopback: its device is treated as one that DMAs
  Ends s;
  ASSERT_EQ(bring_up(s, 46710, dma_always(kLoopback), "127.0.0.1", "127.0.0.1"), "");
  Up up{s};
  SKIP_UNLESS_IOVA_VA(up);
  // Expect: both local registrations are DPDK external memory; the RDMA-only region is not
  EXPECT_TRUE(dpdk_knows(s.out.get()));
  EXPECT_TRUE(dpdk_knows(s.out.get() + kBuf - 1));
  EXPECT_TRUE(dpdk_knows(s.in.get()));
  EXPECT_FALSE(dpdk_knows(s.region.get() + kBuf / 2)) << "RDMA registrations need no mapping";
  EXPECT_GE(stats(s.sw).dma_chunks, 2u);
  EXPECT_EQ(stats(s.sw).dma_map_failures, 0u);
  // Expect: large sends and writes go zero-copy from the mapped memory, byte for byte
  ASSERT_NO_FATAL_FAILURE(sizes(s, 20));
  // Given the send buffer deregistered: still cached, so still mapped
  int e = 0;
  ASSERT_EQ(s.dereg(s.cli, s.hout, &e), 0) << e;
  EXPECT_TRUE(dpdk_knows(s.out.get())) << "the mapping follows the cache";
  // Given the cache callback on the range (R65)   Expect: no longer DPDK memory
  ASSERT_EQ(s.invalidate(s.out.get(), kBuf, &e), 0) << e;
  EXPECT_FALSE(dpdk_knows(s.out.get()));
  EXPECT_FALSE(dpdk_knows(s.out.get() + kBuf - 1));
  EXPECT_TRUE(dpdk_knows(s.in.get())) << "another registration's pages stay";
  // Given the memory registered again   Expect: mapped again and still zero-copy
  s.hout = s.reg(s.cli, s.out.get(), kBuf, MEM_READ, &e);
  ASSERT_NE(s.hout, nullptr) << e;
  EXPECT_TRUE(dpdk_knows(s.out.get()));
  uint64_t zc0 = stats(s.sw).zerocopy_frames;
  ASSERT_NO_FATAL_FAILURE(send_one(s, 1u << 20, 77, 20));
  EXPECT_GT(stats(s.sw).zerocopy_frames, zc0);
  up.down();
  // Expect: the final cleanup gave every page back to DPDK (R18)
  EXPECT_FALSE(dpdk_knows(s.out.get()));
  EXPECT_FALSE(dpdk_knows(s.in.get()));
}

TEST(ZeroCopyDma, R42_AlwaysAcrossANetRingPair) {
  Ends s;
  ASSERT_EQ(bring_up(s, 46720,
                     dma_always("[[port]]\ndevice = \"ringpair:zd:0\"\nipv4 = \"198.18.0.1/24\"\n"
                                "[[port]]\ndevice = \"ringpair:zd:1\"\nipv4 = \"198.18.0.2/24\"\n"),
                     "198.18.0.1", "198.18.0.2"),
            "");
  Up up{s};
  SKIP_UNLESS_IOVA_VA(up);
  EXPECT_TRUE(dpdk_knows(s.out.get()));
  ASSERT_NO_FATAL_FAILURE(sizes(s, 30));
  EXPECT_EQ(stats(s.sw).dma_map_failures, 0u);
  up.down();
  EXPECT_FALSE(dpdk_knows(s.out.get()));
}

// R59's "valid memory" side: a registration that could not be mapped still works, by copies.
TEST(ZeroCopyDma, R59_UnmappedRegistrationIsValidAndIsCopiedNeverZeroCopy) {
  Ends s;
  ASSERT_EQ(bring_up(s, 46730, dma_always(kLoopback), "127.0.0.1", "127.0.0.1"), "");
  Up up{s};
  SKIP_UNLESS_IOVA_VA(up);
  // Given more cached ranges than DPDK has memseg lists: registered and deregistered, each
  // stays cached and mapped, until mapping fails
  constexpr size_t kRange = 64 * 1024, kRanges = RTE_MAX_MEMSEG_LISTS + 8;
  std::unique_ptr<char[]> many(new char[2 * kRange * (kRanges + 1)]);
  int e = 0;
  for (size_t i = 0; i < kRanges && stats(s.sw).dma_map_failures == 0; i++) {
    HANDLE h = s.reg(s.cli, many.get() + 2 * kRange * i, kRange, MEM_READ, &e);
    ASSERT_NE(h, nullptr) << "a registration must succeed even unmapped: " << e;
    ASSERT_EQ(s.dereg(s.cli, h, &e), 0);
  }
  ASSERT_GT(stats(s.sw).dma_map_failures, 0u) << "memseg lists never ran out";
  std::printf("external chunks held when mapping failed: %llu\n",
              static_cast<unsigned long long>(stats(s.sw).dma_chunks));
  // Given a fresh registration now (no memseg list left for it)
  char* buf = many.get() + 2 * kRange * kRanges;
  HANDLE h = s.reg(s.cli, buf, kRange, MEM_READ, &e);
  ASSERT_NE(h, nullptr) << e;
  EXPECT_FALSE(dpdk_knows(buf));
  // Expect: a large send from it arrives intact and goes out copied, not zero-copy
  fill(buf, kRange, 99);
  std::memset(s.in.get(), 0, kRange);
  WSAOVERLAPPED rov{}, sov{};
  rov.hEvent = sov.hEvent = kPoll;
  WSABUF rb{static_cast<ULONG>(kRange), s.in.get()}, sb{static_cast<ULONG>(kRange), buf};
  DWORD flags = 0, got = 0;
  uint64_t zc0 = stats(s.sw).zerocopy_frames;
  ASSERT_EQ(s.sw.proc().lpWSPRecv(s.srv, &rb, 1, &got, &flags, &rov, nullptr, nullptr, &e), SOCKET_ERROR);
  ASSERT_EQ(s.sw.proc().lpWSPSend(s.cli, &sb, 1, &got, 0, &sov, nullptr, nullptr, &e), SOCKET_ERROR);
  ASSERT_TRUE(wait_checked(s, sov, 20));
  ASSERT_TRUE(wait_checked(s, rov, 20));
  EXPECT_EQ(rov.InternalHigh, kRange);
  EXPECT_EQ(std::memcmp(s.in.get(), buf, kRange), 0);
  EXPECT_EQ(stats(s.sw).zerocopy_frames, zc0) << "a frame from unmapped memory went zero-copy";
  // Expect: the mapped registrations still go zero-copy
  ASSERT_NO_FATAL_FAILURE(send_one(s, 65536, 5, 20));
  EXPECT_GT(stats(s.sw).zerocopy_frames, zc0);
  // Given the whole area invalidated   Expect: the cached chunks are given back to DPDK
  ASSERT_EQ(s.dereg(s.cli, h, &e), 0);
  uint64_t before = stats(s.sw).dma_chunks;
  ASSERT_EQ(s.invalidate(many.get(), 2 * kRange * (kRanges + 1), &e), 0) << e;
  EXPECT_LT(stats(s.sw).dma_chunks, before);
  EXPECT_EQ(stats(s.sw).dma_chunks, 2u) << "only the live registrations' ranges (out, in) stay";
  EXPECT_FALSE(dpdk_knows(many.get()));
  up.down();
}

TEST(ZeroCopyDma, R42_NeverMapsNothingAndVirtualDevicesStayZeroCopy) {
  Ends s;
  ASSERT_EQ(bring_up(s, 46740, std::string(kEalVa) + kZc + "dma_map = \"never\"\n" + kLoopback,
                     "127.0.0.1", "127.0.0.1"),
            "");
  Up up{s};
  ASSERT_NO_FATAL_FAILURE(send_one(s, 65536, 3, 20));
  EXPECT_GT(stats(s.sw).zerocopy_frames, 0u);
  EXPECT_EQ(stats(s.sw).dma_chunks, 0u);
  EXPECT_FALSE(dpdk_knows(s.out.get()));
  up.down();
}
