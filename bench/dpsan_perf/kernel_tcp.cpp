/* SPDX-License-Identifier: BSD-3-Clause */
#include "kernel_tcp.h"

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace dpsan::perf {

namespace {

using Clock = std::chrono::steady_clock;

bool io_all(int fd, char* p, size_t n, bool send) {
  while (n) {
    ssize_t k = send ? ::send(fd, p, n, MSG_NOSIGNAL) : ::recv(fd, p, n, 0);
    if (k <= 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

/** A connected TCP pair over 127.0.0.1 with TCP_NODELAY. @return false on failure. */
bool tcp_pair(int* a, int* b) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (l < 0 || bind(l, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(l, 1) != 0 ||
      getsockname(l, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return false;
  *a = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(*a, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  *b = accept(l, nullptr, nullptr);
  close(l);
  int one = 1;
  setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return *b >= 0;
}

}  // namespace

Result tcp_pingpong(uint32_t size, double seconds) {
  Result r{"kernel-tcp", "pingpong", size};
  int a, b;
  if (!tcp_pair(&a, &b)) return r.error = "cannot make a TCP pair", r;
  std::thread echo([&] {
    std::vector<char> buf(size);
    while (io_all(b, buf.data(), size, false) && io_all(b, buf.data(), size, true)) {
    }
  });
  std::vector<char> buf(size, 'x');
  std::vector<uint64_t> rtts;
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < end || rtts.empty()) {
    auto t0 = Clock::now();
    if (!io_all(a, buf.data(), size, true) || !io_all(a, buf.data(), size, false)) break;
    rtts.push_back(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count()));
  }
  shutdown(a, SHUT_RDWR);
  echo.join();
  close(a);
  close(b);
  fill_latency(r, rtts, std::chrono::duration<double>(Clock::now() - start).count());
  return r;
}

Result tcp_stream(uint32_t size, double seconds) {
  Result r{"kernel-tcp", "stream", size};
  int a, b;
  if (!tcp_pair(&a, &b)) return r.error = "cannot make a TCP pair", r;
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    std::vector<char> buf(size, 'x');
    while (!stop.load(std::memory_order_relaxed) && io_all(a, buf.data(), size, true)) {
    }
    shutdown(a, SHUT_WR);
  });
  // Messages are framed by size: the receiver reads exactly `size` bytes per message.
  std::vector<char> buf(size);
  uint64_t n = 0;
  auto t0 = Clock::now();
  auto end = t0 + std::chrono::duration<double>(seconds);
  while ((Clock::now() < end || n == 0) && io_all(b, buf.data(), size, false)) n++;
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  stop.store(true);
  // The sender may be blocked in send() on a full window that nobody reads any more: shutting
  // its own socket down wakes it (EPIPE).
  shutdown(a, SHUT_RDWR);
  shutdown(b, SHUT_RDWR);
  sender.join();
  close(a);
  close(b);
  fill_rate(r, n, secs);
  return r;
}

}  // namespace dpsan::perf
