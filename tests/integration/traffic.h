/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Checked message traffic over connected pairs, shared by the integration tests.
 *
 * Each pair carries `messages` messages one way, with up to `slots` sends and receives in
 * flight. Message m of pair p has a size and bytes that are functions of (p, m); receive slots
 * are reposted in order, so the m-th receive posted must hold message m. A wrong size, a wrong
 * byte, a message out of order or twice all show as `corrupt`; a failed operation as
 * `bad_status`. Poll mode: no upcalls, the test reads the overlapped in place.
 */
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <unistd.h>
#include <vector>

#include "mini_switch.h"
#include "provider_calls.h"

namespace dpsan::test {

using SizeFn = uint32_t (*)(unsigned pair, unsigned seq);

inline uint8_t msg_byte(unsigned p, unsigned seq, uint32_t i) {
  return static_cast<uint8_t>(p * 31 + seq * 17 + i * 13);
}

struct TrafficPair {
  TrafficPair(unsigned slots, uint32_t max_msg)
      : slots(slots), max_msg(max_msg), tbuf(new char[size_t{slots} * max_msg]),
        rbuf(new char[size_t{slots} * max_msg]), tov(slots), rov(slots), tbusy(slots),
        rbusy(slots), rslot_seq(slots) {}
  unsigned slots;
  uint32_t max_msg;
  SOCKET tx = INVALID_SOCKET, rx = INVALID_SOCKET;
  std::unique_ptr<char[]> tbuf, rbuf;
  std::vector<WSAOVERLAPPED> tov, rov;
  std::vector<char> tbusy, rbusy;
  std::vector<unsigned> rslot_seq;  // which message a receive slot must hold
  unsigned next_send = 0, next_recv_post = 0, received = 0;
};

struct TrafficResult {
  uint64_t received = 0, corrupt = 0, bad_status = 0, bytes = 0;
  uint32_t first_error = 0;  ///< the WSA code of the first failed operation
  bool all_done = false;
};

/** Drive every pair until all `messages` arrived or `timeout` passed. */
inline TrafficResult run_traffic(perf::MiniSwitch& sw,
                                 std::vector<std::unique_ptr<TrafficPair>>& pairs,
                                 unsigned messages, SizeFn size, std::chrono::seconds timeout) {
  TrafficResult res;
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + timeout, next_report = start + std::chrono::seconds(5);
  uint64_t last_got = 0;
  auto last_progress = start;
  while (!res.all_done && std::chrono::steady_clock::now() < deadline) {
    if (std::chrono::steady_clock::now() >= next_report) {  // a long run shows it is moving
      next_report += std::chrono::seconds(5);
      uint64_t got = 0;
      for (auto& pr : pairs) got += pr->received;
      if (got != last_got) {
        last_got = got;
        last_progress = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - last_progress > std::chrono::seconds(20)) {
        std::fprintf(stderr, "  no progress for 20 s: giving up\n");
        break;
      }
      std::fprintf(stderr, "  ... %llu messages, %llu MB, %llu bad\n", (unsigned long long)got,
                   (unsigned long long)(res.bytes >> 20),
                   (unsigned long long)(res.corrupt + res.bad_status));
    }
    res.all_done = true;
    for (unsigned p = 0; p < pairs.size(); p++) {
      TrafficPair& pr = *pairs[p];
      int e = 0;
      for (unsigned s = 0; s < pr.slots; s++) {
        char* rb = pr.rbuf.get() + size_t{s} * pr.max_msg;
        if (pr.rbusy[s] && ov_done(pr.rov[s])) {
          pr.rbusy[s] = false;
          unsigned seq = pr.rslot_seq[s];
          if (pr.rov[s].OffsetHigh != 0) {
            if (res.bad_status++ == 0) res.first_error = static_cast<uint32_t>(pr.rov[s].OffsetHigh);
          } else {
            auto n = static_cast<uint32_t>(pr.rov[s].InternalHigh);
            bool ok = n == size(p, seq);
            for (uint32_t i = 0; ok && i < n; i++) ok = static_cast<uint8_t>(rb[i]) == msg_byte(p, seq, i);
            if (!ok) res.corrupt++;
            res.bytes += n;
            pr.received++;
          }
        }
        if (!pr.rbusy[s] && pr.next_recv_post < messages && pr.next_recv_post - pr.received < pr.slots) {
          pr.rov[s] = WSAOVERLAPPED{};
          pr.rov[s].hEvent = kPoll;
          WSABUF wb{pr.max_msg, rb};
          DWORD flags = 0;
          if (sw.proc().lpWSPRecv(pr.rx, &wb, 1, nullptr, &flags, &pr.rov[s], nullptr, nullptr, &e) ==
                  SOCKET_ERROR && e == WSA_IO_PENDING) {
            pr.rbusy[s] = true;
            pr.rslot_seq[s] = pr.next_recv_post++;
          }
        }
        if (pr.tbusy[s] && ov_done(pr.tov[s])) {
          pr.tbusy[s] = false;
          if (pr.tov[s].OffsetHigh != 0 && res.bad_status++ == 0)
            res.first_error = static_cast<uint32_t>(pr.tov[s].OffsetHigh);
        }
        if (!pr.tbusy[s] && pr.next_send < messages) {
          unsigned seq = pr.next_send;
          uint32_t n = size(p, seq);
          char* b = pr.tbuf.get() + size_t{s} * pr.max_msg;
          for (uint32_t i = 0; i < n; i++) b[i] = static_cast<char>(msg_byte(p, seq, i));
          pr.tov[s] = WSAOVERLAPPED{};
          pr.tov[s].hEvent = kPoll;
          WSABUF wb{n, b};
          if (sw.proc().lpWSPSend(pr.tx, &wb, 1, nullptr, 0, &pr.tov[s], nullptr, nullptr, &e) ==
                  SOCKET_ERROR && e == WSA_IO_PENDING) {
            pr.tbusy[s] = true;
            pr.next_send++;
          }
        }
      }
      if (pr.received < messages) res.all_done = false;
      for (unsigned s = 0; s < pr.slots; s++)
        if (pr.tbusy[s]) res.all_done = false;
    }
  }
  for (auto& pr : pairs) res.received += pr->received;
  return res;
}

/** Close both ends of every pair and wait until each receive still posted has ended. */
inline void close_pairs(perf::MiniSwitch& sw, std::vector<std::unique_ptr<TrafficPair>>& pairs) {
  int e = 0;
  for (auto& pr : pairs) {
    sw.proc().lpWSPCloseSocket(pr->tx, &e);
    sw.proc().lpWSPCloseSocket(pr->rx, &e);
    for (unsigned s = 0; s < pr->slots; s++)
      while ((pr->rbusy[s] && !ov_done(pr->rov[s])) || (pr->tbusy[s] && !ov_done(pr->tov[s])))
        usleep(100);
  }
}


}  // namespace dpsan::test
