/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Concurrency stress, bounded in time: threads doing startup/cleanup pairs (final ones too),
 * socket churn and send/receive at once, through the public interface only.
 *
 * Expect: no crash, no hang (every wait is bounded), every operation that was accepted
 * (WSA_IO_PENDING) completes exactly once, and the data that arrives is the data sent.
 * Rules: R8 (counting), R12/R35 (exactly one completion), R20/R21 (re-startup, racing cleanup).
 */
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <dpsan/dpsan_stats.h>

#include "mini_switch.h"

using dpsan::perf::MiniSwitch;
using Clock = std::chrono::steady_clock;

namespace {

std::mutex g_mu;
std::unordered_map<LPWSAOVERLAPPED, int> g_completions;  // upcall-mode completions per overlapped
std::atomic<uint64_t> g_bad_counts{0};

/** Forget the overlapped's earlier operation: a new one is about to be posted with it. */
void arm(LPWSAOVERLAPPED ov) {
  std::lock_guard<std::mutex> lk(g_mu);
  g_completions[ov] = 0;
}

/** After the operation ended: exactly one upcall for it (R35, R12). */
void check_once(LPWSAOVERLAPPED ov) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_completions[ov] != 1) g_bad_counts++;
}

void count_completion(LPWSAOVERLAPPED ov, DWORD) {
  std::lock_guard<std::mutex> lk(g_mu);
  g_completions[ov]++;
}

bool wait_done(WSAOVERLAPPED& ov, int ms) {
  auto end = Clock::now() + std::chrono::milliseconds(ms);
  while (std::atomic_ref<ULONG_PTR>(ov.Internal).load(std::memory_order_acquire) ==
         WSS_OPERATION_IN_PROGRESS) {
    if (Clock::now() > end) return false;
    std::this_thread::yield();
  }
  return true;
}

struct Counters {
  std::atomic<uint64_t> accepted{0}, failed_at_once{0}, messages_ok{0}, pairs{0}, cycles{0};
  std::atomic<uint64_t> lost{0}, corrupt{0};
};

/**
 * One worker: its own startup, then pairs of sockets carrying checked messages, then its
 * cleanup. When another worker's cleanup is the final one meanwhile, calls fail cleanly
 * (WSAENETDOWN, WSAENOTSOCK) and accepted operations end as aborts.
 */
void churn(int id, Clock::time_point end, Counters& c) {
  uint16_t port = static_cast<uint16_t>(30000 + id * 1000);
  std::vector<WSAOVERLAPPED> ovs(64);
  std::vector<char> tx(64 * 256), rx(64 * 256);
  while (Clock::now() < end) {
    MiniSwitch sw;
    if (sw.startup() != 0) continue;
    c.cycles++;
    for (int round = 0; round < 3 && Clock::now() < end; round++) {
      SOCKET a, b;
      if (!sw.connect_pair(port++, &a, &b).empty()) break;
      if (port >= 30000 + id * 1000 + 900) port = static_cast<uint16_t>(30000 + id * 1000);
      c.pairs++;
      int e = 0;
      sw.register_memory(a, tx.data(), static_cast<DWORD>(tx.size()), MEM_READWRITE, &e);
      sw.register_memory(b, rx.data(), static_cast<DWORD>(rx.size()), MEM_READWRITE, &e);
      std::vector<bool> pending(ovs.size(), false);
      for (unsigned i = 0; i < 32; i++) {
        // Receives in upcall mode on b (even slots) ...
        WSAOVERLAPPED& ov = ovs[2 * i];
        ov = WSAOVERLAPPED{};
        arm(&ov);
        WSABUF buf{256, rx.data() + 2 * i * 256};
        DWORD flags = 0;
        if (sw.proc().lpWSPRecv(b, &buf, 1, nullptr, &flags, &ov, nullptr, nullptr, &e) == SOCKET_ERROR &&
            e == WSA_IO_PENDING) {
          pending[2 * i] = true;
          c.accepted++;
        } else {
          c.failed_at_once++;
        }
      }
      for (unsigned i = 0; i < 32; i++) {
        // ... sends in poll mode from a (odd slots), each message numbered.
        WSAOVERLAPPED& ov = ovs[2 * i + 1];
        ov = WSAOVERLAPPED{};
        ov.hEvent = reinterpret_cast<WSAEVENT>(uintptr_t{1});
        char* m = tx.data() + (2 * i + 1) * 256;
        std::memset(m, static_cast<int>(i + 1), 100 + i);
        WSABUF buf{100 + i, m};
        if (sw.proc().lpWSPSend(a, &buf, 1, nullptr, 0, &ov, nullptr, nullptr, &e) == SOCKET_ERROR &&
            e == WSA_IO_PENDING) {
          pending[2 * i + 1] = true;
          c.accepted++;
        } else {
          c.failed_at_once++;
        }
      }
      // Every accepted receive completes: with its message, or with an error after a reset or
      // abort. Check message i is intact and in order (R40).
      for (unsigned i = 0; i < 32; i++) {
        if (!pending[2 * i]) continue;
        if (!wait_done(ovs[2 * i], 5000)) {
          c.lost++;
          continue;
        }
        if (ovs[2 * i].OffsetHigh != 0) continue;
        const char* m = rx.data() + 2 * i * 256;
        bool ok = ovs[2 * i].InternalHigh == 100 + i;
        for (unsigned k = 0; ok && k < 100 + i; k++) ok = m[k] == static_cast<char>(i + 1);
        if (ok) c.messages_ok++; else c.corrupt++;
      }
      sw.proc().lpWSPCloseSocket(a, &e);
      sw.proc().lpWSPCloseSocket(b, &e);
      for (unsigned i = 0; i < ovs.size(); i++) {
        if (!pending[i]) continue;
        if (!wait_done(ovs[i], 5000)) {
          c.lost++;
          continue;
        }
        // Upcall mode (receives): the switch's upcall publishes Internal after counting.
        if (ovs[i].hEvent == nullptr) check_once(&ovs[i]);
      }
    }
    sw.cleanup();
  }
}

}  // namespace

TEST(Stress, R21_StartupCleanupChurnAndTrafficAtOnce) {
  MiniSwitch::on_complete = count_completion;
  Counters c;
  auto end = Clock::now() + std::chrono::seconds(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; i++) threads.emplace_back(churn, i, end, std::ref(c));
  // One more thread does nothing but non-final and final startup/cleanup pairs (R8, R21).
  threads.emplace_back([&] {
    while (Clock::now() < end) {
      MiniSwitch sw;
      if (sw.startup() == 0) sw.cleanup();
      c.cycles++;
    }
  });
  for (auto& t : threads) t.join();

  // Expect: nothing lost or corrupted, and at most one upcall per overlapped.
  EXPECT_EQ(c.lost.load(), 0u);
  EXPECT_EQ(c.corrupt.load(), 0u);
  EXPECT_EQ(g_bad_counts.load(), 0u) << "operations not completed exactly once";
  EXPECT_GT(c.messages_ok.load(), 0u);
  EXPECT_GT(c.pairs.load(), 0u);
  std::printf("cycles %llu, pairs %llu, accepted %llu, refused at once %llu, messages ok %llu\n",
              (unsigned long long)c.cycles.load(), (unsigned long long)c.pairs.load(),
              (unsigned long long)c.accepted.load(), (unsigned long long)c.failed_at_once.load(),
              (unsigned long long)c.messages_ok.load());

  // And the provider is left usable (R20): a full cycle works afterwards.
  MiniSwitch sw;
  ASSERT_EQ(sw.startup(), 0);
  SOCKET a, b;
  EXPECT_EQ(sw.connect_pair(39999, &a, &b), "");
  EXPECT_EQ(sw.cleanup(), 0);
  MiniSwitch::on_complete = nullptr;
}
