/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Reliability under injected faults: 5 % loss, 2 % duplication, 5 % reordering and 1 %
 * corruption at once on the loopback port. Many connections carry messages of mixed sizes;
 * every message must arrive exactly once, intact and in order, and every operation must
 * complete exactly once. The fault seed is printed, and DPSAN_FAULT_SEED replays a run.
 */
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <unistd.h>
#include <vector>

#include <dpsan/dpsan_stats.h>

#include "mini_switch.h"

using dpsan::perf::MiniSwitch;
using Clock = std::chrono::steady_clock;

namespace {

constexpr unsigned kPairs = 16;
constexpr unsigned kMessages = 400;  // per pair
constexpr unsigned kSlots = 8;       // receives and sends in flight per pair
constexpr uint32_t kMaxMsg = 64 * 1024;

WSAEVENT kPoll = reinterpret_cast<WSAEVENT>(uintptr_t{1});

bool done(WSAOVERLAPPED& ov) {
  return std::atomic_ref<ULONG_PTR>(ov.Internal).load(std::memory_order_acquire) !=
         WSS_OPERATION_IN_PROGRESS;
}

/** Message `seq` of pair `p`: its size and its bytes are functions of both. */
uint32_t msg_size(unsigned p, unsigned seq) {
  static const uint32_t sizes[] = {1, 7, 64, 256, 257, 1000, 4096, 9000, 20000, kMaxMsg};
  return sizes[(seq * 7 + p) % 10];
}
uint8_t msg_byte(unsigned p, unsigned seq, uint32_t i) {
  return static_cast<uint8_t>(p * 31 + seq * 17 + i * 13);
}

struct Pair {
  SOCKET tx, rx;
  std::unique_ptr<char[]> tbuf{new char[kSlots * kMaxMsg]}, rbuf{new char[kSlots * kMaxMsg]};
  WSAOVERLAPPED tov[kSlots]{}, rov[kSlots]{};
  bool tbusy[kSlots]{}, rbusy[kSlots]{};
  unsigned next_send = 0, next_recv_post = 0, received = 0;
  unsigned rslot_seq[kSlots]{};  // which message a receive slot must hold (its posting order)
};

}  // namespace

TEST(Fault, R40_EveryMessageOnceIntactInOrderUnderLossDupReorderCorruption) {
  const char* seed_env = std::getenv("DPSAN_FAULT_SEED");
  unsigned long seed = seed_env ? std::strtoul(seed_env, nullptr, 10)
                                : static_cast<unsigned long>(Clock::now().time_since_epoch().count() % 1000000);
  std::printf("fault seed %lu (DPSAN_FAULT_SEED=%lu replays it)\n", seed, seed);
  std::string path = "/tmp/dpsan-fault-" + std::to_string(getpid()) + ".toml";
  {
    std::ofstream f(path);
    f << "[fastpath]\nconnect_timeout_ms = 20000\n"
      << "[fault]\nloss = 0.05\nduplicate = 0.02\nreorder = 0.05\ncorrupt = 0.01\nseed = " << seed
      << "\n[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1/32\"\n";
  }
  setenv("DPSAN_CONFIG", path.c_str(), 1);
  MiniSwitch sw;
  ASSERT_EQ(sw.startup(), 0);
  unlink(path.c_str());
  unsetenv("DPSAN_CONFIG");

  std::vector<std::unique_ptr<Pair>> pairs;
  for (unsigned p = 0; p < kPairs; p++) {
    auto pr = std::make_unique<Pair>();
    ASSERT_EQ(sw.connect_pair(static_cast<uint16_t>(41000 + p), &pr->tx, &pr->rx), "") << "pair " << p;
    int e = 0;
    ASSERT_NE(sw.register_memory(pr->tx, pr->tbuf.get(), kSlots * kMaxMsg, MEM_READWRITE, &e), nullptr);
    ASSERT_NE(sw.register_memory(pr->rx, pr->rbuf.get(), kSlots * kMaxMsg, MEM_READWRITE, &e), nullptr);
    pairs.push_back(std::move(pr));
  }

  uint64_t corrupt = 0, bad_status = 0;
  auto deadline = Clock::now() + std::chrono::seconds(90);
  bool all_done = false;
  while (!all_done && Clock::now() < deadline) {
    all_done = true;
    for (unsigned p = 0; p < kPairs; p++) {
      Pair& pr = *pairs[p];
      int e = 0;
      for (unsigned s = 0; s < kSlots; s++) {
        // Receives: slot s always takes the next message in posting order.
        if (pr.rbusy[s] && done(pr.rov[s])) {
          pr.rbusy[s] = false;
          unsigned seq = pr.rslot_seq[s];
          if (pr.rov[s].OffsetHigh != 0) {
            bad_status++;
          } else {
            uint32_t n = static_cast<uint32_t>(pr.rov[s].InternalHigh);
            const char* b = pr.rbuf.get() + s * kMaxMsg;
            // Message m is placed into the m-th receive posted: the right bytes in the slot that
            // was posted m-th prove order and exactly-once as well as integrity.
            bool ok = n == msg_size(p, seq);
            for (uint32_t i = 0; ok && i < n; i++) ok = static_cast<uint8_t>(b[i]) == msg_byte(p, seq, i);
            if (!ok) corrupt++;
            pr.received++;
          }
        }
        if (!pr.rbusy[s] && pr.next_recv_post < kMessages && pr.next_recv_post - pr.received < kSlots) {
          pr.rov[s] = WSAOVERLAPPED{};
          pr.rov[s].hEvent = kPoll;
          WSABUF wb{kMaxMsg, pr.rbuf.get() + s * kMaxMsg};
          DWORD flags = 0;
          if (sw.proc().lpWSPRecv(pr.rx, &wb, 1, nullptr, &flags, &pr.rov[s], nullptr, nullptr, &e) == SOCKET_ERROR &&
              e == WSA_IO_PENDING) {
            pr.rbusy[s] = true;
            pr.rslot_seq[s] = pr.next_recv_post++;
          }
        }
        // Sends.
        if (pr.tbusy[s] && done(pr.tov[s])) {
          pr.tbusy[s] = false;
          if (pr.tov[s].OffsetHigh != 0) bad_status++;
        }
        if (!pr.tbusy[s] && pr.next_send < kMessages) {
          unsigned seq = pr.next_send;
          uint32_t n = msg_size(p, seq);
          char* b = pr.tbuf.get() + s * kMaxMsg;
          for (uint32_t i = 0; i < n; i++) b[i] = static_cast<char>(msg_byte(p, seq, i));
          pr.tov[s] = WSAOVERLAPPED{};
          pr.tov[s].hEvent = kPoll;
          WSABUF wb{n, b};
          if (sw.proc().lpWSPSend(pr.tx, &wb, 1, nullptr, 0, &pr.tov[s], nullptr, nullptr, &e) == SOCKET_ERROR &&
              e == WSA_IO_PENDING) {
            pr.tbusy[s] = true;
            pr.next_send++;
          }
        }
      }
      if (pr.received < kMessages) all_done = false;
      for (unsigned s = 0; s < kSlots; s++)
        if (pr.tbusy[s]) all_done = false;
    }
  }

  DPSAN_STATS st{};
  DWORD got = 0;
  int e = 0;
  sw.proc().lpWSPIoctl(0, SIO_DPSAN_GET_STATS, nullptr, 0, &st, sizeof st, &got, nullptr, nullptr, nullptr, &e);
  uint64_t total = 0;
  for (auto& pr : pairs) total += pr->received;
  std::printf("messages %llu of %u, retransmits %llu, bad frames dropped %llu, duplicates dropped %llu\n",
              (unsigned long long)total, kPairs * kMessages, (unsigned long long)st.retransmits,
              (unsigned long long)st.drops_bad_packet, (unsigned long long)st.drops_duplicate);
  EXPECT_TRUE(all_done) << "not every message arrived within 90 s (seed " << seed << ")";
  EXPECT_EQ(total, uint64_t{kPairs} * kMessages) << "seed " << seed;
  EXPECT_EQ(corrupt, 0u) << "messages damaged, out of order or twice (seed " << seed << ")";
  EXPECT_EQ(bad_status, 0u) << "operations failed (seed " << seed << ")";
  EXPECT_GT(st.retransmits, 0u) << "the faults did not bite";
  EXPECT_GT(st.drops_bad_packet, 0u) << "no corrupted frame was caught";

  for (auto& pr : pairs) {
    sw.proc().lpWSPCloseSocket(pr->tx, &e);
    sw.proc().lpWSPCloseSocket(pr->rx, &e);
    for (unsigned s = 0; s < kSlots; s++) {
      while (pr->rbusy[s] && !done(pr->rov[s])) usleep(100);
    }
  }
  EXPECT_EQ(sw.cleanup(), 0);
}
