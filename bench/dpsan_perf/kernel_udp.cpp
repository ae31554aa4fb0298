/* SPDX-License-Identifier: BSD-3-Clause */
#include "kernel_udp.h"

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <poll.h>
#include <chrono>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace dpsan::perf {

namespace {

using Clock = std::chrono::steady_clock;

/** The busy-poll budget of one receive, as net.core.busy_read / SO_BUSY_POLL would set it. */
constexpr int kBusyPollUs = 1000;

/** A UDP socket on 127.0.0.1 (any port), busy-polled where the kernel lets us. */
int udp_socket(sockaddr_in* bound) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int us = kBusyPollUs, buf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof us);  // needs CAP_NET_ADMIN to raise
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(bound), &len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/**
 * Busy-poll a receive the way SO_BUSY_POLL does where it works: spin on a non-blocking recv for
 * up to kBusyPollUs, then sleep in poll() until the datagram comes. The budget is longer than a
 * wake-up of an idle vCPU here (about 100 us: with 50 us both threads settled into sleeping on
 * every round trip) and keeps a spinner that lost its CPU to other work from spinning for ever.
 * Gives up at `stop` or `give_up` (a lost datagram would otherwise stall the ping-pong).
 * @return the datagram's length or -1.
 */
ssize_t busy_recv(int fd, char* buf, size_t n, const std::atomic<bool>& stop, Clock::time_point give_up) {
  auto spin_end = Clock::now() + std::chrono::microseconds(kBusyPollUs);
  for (unsigned i = 1;; i++) {
    ssize_t k = recv(fd, buf, n, MSG_DONTWAIT);
    if (k >= 0) return k;
    if ((errno != EAGAIN && errno != EWOULDBLOCK) || stop.load(std::memory_order_relaxed)) return -1;
    // Loopback delivers the datagram in a softirq that may be left to ksoftirqd on this very
    // CPU (the threads are pinned): without yielding, the spin would hold it off for a time slice.
    sched_yield();
    if ((i & 15) != 0) continue;
    auto now = Clock::now();
    if (now > give_up) return -1;
    if (now > spin_end) {
      pollfd p{fd, POLLIN, 0};
      poll(&p, 1, 10);  // wakes at once when the datagram arrives; 10 ms to look at `stop`
    }
  }
}

/**
 * Pin the calling thread to the first (or last) CPU it may use, as dpsan's switch thread and
 * poll core are: two spinning threads that the scheduler puts on one CPU wait for each other's
 * time slices. @return the previous affinity.
 */
cpu_set_t pin_to(bool last) {
  cpu_set_t old, one;
  pthread_getaffinity_np(pthread_self(), sizeof old, &old);
  CPU_ZERO(&one);
  int pick = -1;
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &old) && (pick < 0 || last)) pick = c;
  if (pick >= 0 && CPU_COUNT(&old) > 1) {
    CPU_SET(pick, &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
  }
  return old;
}

}  // namespace

Result udp_busy_pingpong(uint32_t size, double seconds) {
  Result r{"kernel-udp-busy", "pingpong", size};
  if (size > kUdpMaxPayload) return r.error = "a UDP datagram holds at most 65507 bytes", r;
  sockaddr_in aa{}, ba{};
  int a = udp_socket(&aa), b = udp_socket(&ba);
  if (a < 0 || b < 0 || connect(a, reinterpret_cast<sockaddr*>(&ba), sizeof ba) != 0 ||
      connect(b, reinterpret_cast<sockaddr*>(&aa), sizeof aa) != 0) {
    if (a >= 0) close(a);
    if (b >= 0) close(b);
    return r.error = "cannot make a UDP pair", r;
  }
  std::atomic<bool> stop{false};
  cpu_set_t old = pin_to(false);
  std::thread echo([&] {
    pin_to(true);
    std::vector<char> buf(size ? size : 1);
    for (;;) {
      ssize_t k = busy_recv(b, buf.data(), buf.size(), stop, Clock::time_point::max());
      if (k < 0 || send(b, buf.data(), static_cast<size_t>(k), 0) < 0) return;
    }
  });
  std::vector<char> buf(size ? size : 1, 'x');
  std::vector<uint64_t> rtts;
  rtts.reserve(1 << 20);
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  while ((Clock::now() < end || rtts.empty()) && rtts.size() < (8u << 20)) {
    auto t0 = Clock::now();
    if (send(a, buf.data(), size, 0) < 0 || busy_recv(a, buf.data(), buf.size(), stop, t0 + std::chrono::seconds(1)) < 0) {
      r.error = "UDP send failed, or no echo within 1 s";
      break;
    }
    rtts.push_back(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count()));
  }
  stop.store(true);
  echo.join();
  pthread_setaffinity_np(pthread_self(), sizeof old, &old);
  close(a);
  close(b);
  fill_latency(r, rtts, std::chrono::duration<double>(Clock::now() - start).count());
  return r;
}

}  // namespace dpsan::perf
