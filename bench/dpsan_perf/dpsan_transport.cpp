/* SPDX-License-Identifier: BSD-3-Clause */
#include "dpsan_transport.h"

#include <algorithm>
#include <optional>

#include "ops.h"

namespace dpsan::perf {

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

unsigned window_for(uint32_t size, unsigned window) {
  unsigned cap = std::max(2u, static_cast<unsigned>((8u << 20) / std::max(size, 1u)));
  return std::min(window, cap);
}

Result dpsan_pingpong(MiniSwitch& sw, SOCKET a, SOCKET b, uint32_t size, double seconds) {
  Result r{"dpsan", "pingpong", size};
  std::string err;
  // Slot 0 receives; slots 1 and 2 send in turn, so that a send's completion (its ack rides on
  // the next message of the other side) never holds up the next round trip.
  Side ca(sw, a, size, 3, &err);
  std::optional<Side> cb;
  if (b != INVALID_SOCKET) cb.emplace(sw, b, size, 3, &err);
  Closer closer{sw, {&ca, cb ? &*cb : nullptr}};
  if (!err.empty()) return r.error = err, r;
  std::vector<uint64_t> rtts;
  rtts.reserve(1 << 20);
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  for (unsigned i = 0; (Clock::now() < end || rtts.empty()) && rtts.size() < (8u << 20); i++) {
    unsigned tx = 1 + (i & 1);
    if (ca.ov[tx].hEvent) wait(ca.ov[tx]);
    if (cb && cb->ov[tx].hEvent) wait(cb->ov[tx]);
    if ((cb && post(sw, *cb, 0, size, false)) || post(sw, ca, 0, size, false))
      return r.error = "post failed", r;
    auto t0 = Clock::now();
    if (post(sw, ca, tx, size, true)) return r.error = "post failed", r;
    if (cb) {
      wait(cb->ov[0]);
      if (post(sw, *cb, tx, size, true)) return r.error = "post failed", r;
    }
    // A remote echo that died would leave this receive pending: bounded.
    if (!wait_for(ca.ov[0], 10)) return r.error = "no echo within 10 s", r;
    rtts.push_back(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count()));
    if (ca.ov[0].OffsetHigh || (cb && cb->ov[0].OffsetHigh))
      return r.error = "receive failed: " + std::to_string(ca.ov[0].OffsetHigh), r;
  }
  fill_latency(r, rtts, std::chrono::duration<double>(Clock::now() - start).count());
  return r;
}

Result dpsan_stream(MiniSwitch& sw, SOCKET a, SOCKET b, uint32_t size, double seconds,
                    unsigned window) {
  Result r{"dpsan", "stream", size};
  std::string err;
  Side tx(sw, a, size, window, &err);
  std::optional<Side> rx;
  if (b != INVALID_SOCKET) rx.emplace(sw, b, size, window, &err);
  Closer closer{sw, {&tx, rx ? &*rx : nullptr}};
  if (!err.empty()) return r.error = err, r;
  for (unsigned i = 0; i < window; i++)
    if ((rx && post(sw, *rx, i, size, false)) || post(sw, tx, i, size, true))
      return r.error = "post failed", r;
  // Keep `window` receives and `window` sends posted; count what completed until the deadline.
  // What is still in flight then is aborted when the sockets close.
  uint64_t received = 0, sent = 0;
  RunClock clock(seconds);
  for (;;) {
    RunClock::State st = clock.check(sent + received);
    if (st == RunClock::kEnd) break;
    if (st == RunClock::kStalled) return r.error = "no completion within 10 s", r;
    for (unsigned i = 0; i < window; i++) {
      if (rx && done(rx->ov[i])) {
        if (rx->ov[i].OffsetHigh) return r.error = "receive failed: " + std::to_string(rx->ov[i].OffsetHigh), r;
        received++;
        if (post(sw, *rx, i, size, false)) return r.error = "receive post failed", r;
      }
      if (done(tx.ov[i])) {
        if (tx.ov[i].OffsetHigh) return r.error = "send failed: " + std::to_string(tx.ov[i].OffsetHigh), r;
        sent++;
        if (post(sw, tx, i, size, true)) return r.error = "send post failed", r;
      }
    }
  }
  fill_rate(r, rx ? received : sent, clock.elapsed());
  return r;
}

Result dpsan_rdma(MiniSwitch& sw, SOCKET a, const void* desc, unsigned desc_len, bool write,
                  uint32_t size, double seconds, unsigned window) {
  Result r{"dpsan", write ? "rdma-write" : "rdma-read", size};
  // The extension functions, through their GUIDs (spec 2.16, 2.17), as a switch gets them.
  auto fn_write = reinterpret_cast<LPFN_WSPRDMAWRITE>(sw.extension(WSAID_RDMAWRITE));
  auto fn_read = reinterpret_cast<LPFN_WSPRDMAREAD>(sw.extension(WSAID_RDMAREAD));
  if (!fn_write || !fn_read) {
    int e = 0;
    sw.proc().lpWSPCloseSocket(a, &e);
    return r.error = "no RDMA extension functions", r;
  }
  std::string err;
  Side loc(sw, a, size, window, &err);
  Closer closer{sw, {&loc}};
  if (!err.empty()) return r.error = err, r;
  auto start = [&](unsigned i) {
    WSABUFEX b{size, loc.slot(i), loc.handle};
    WSAOVERLAPPED& ov = loc.ov[i];
    ov = WSAOVERLAPPED{};
    ov.hEvent = kPollMode;
    DWORD got = 0;
    int e = 0;
    auto off = static_cast<DWORD>(static_cast<size_t>(i) * size);
    void* d = const_cast<void*>(desc);
    int rc = write ? fn_write(a, &b, 1, d, desc_len, off, &got, 0, &ov, nullptr, nullptr, &e)
                   : fn_read(a, &b, 1, d, desc_len, off, &got, 0, &ov, nullptr, nullptr, &e);
    return rc == 0 || e == WSA_IO_PENDING ? 0 : e;
  };
  for (unsigned i = 0; i < window; i++)
    if (int e = start(i)) return r.error = "RDMA post failed: " + std::to_string(e), r;
  uint64_t ops = 0;
  RunClock clock(seconds);
  for (;;) {
    RunClock::State st = clock.check(ops);
    if (st == RunClock::kEnd) break;
    if (st == RunClock::kStalled) return r.error = "no completion within 10 s", r;
    for (unsigned i = 0; i < window; i++) {
      if (!done(loc.ov[i])) continue;
      if (loc.ov[i].OffsetHigh) return r.error = "RDMA failed: " + std::to_string(loc.ov[i].OffsetHigh), r;
      ops++;
      if (int e = start(i)) return r.error = "RDMA post failed: " + std::to_string(e), r;
    }
  }
  fill_rate(r, ops, clock.elapsed());
  return r;
}

}  // namespace dpsan::perf
