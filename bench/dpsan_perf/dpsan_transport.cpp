/* SPDX-License-Identifier: BSD-3-Clause */
#include "dpsan_transport.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <rte_pause.h>

namespace dpsan::perf {

namespace {

using Clock = std::chrono::steady_clock;

/** Poll mode: hEvent low bit set, so completion is only written in place (R34). */
WSAEVENT kPollMode = reinterpret_cast<WSAEVENT>(uintptr_t{1});

bool done(WSAOVERLAPPED& ov) {
  return std::atomic_ref<ULONG_PTR>(ov.Internal).load(std::memory_order_acquire) !=
         WSS_OPERATION_IN_PROGRESS;
}

struct Side {
  SOCKET s;
  std::unique_ptr<char[]> buf;
  uint32_t slot_size;
  unsigned slots;
  std::vector<WSAOVERLAPPED> ov;

  Side(MiniSwitch& sw, SOCKET sock, uint32_t size, unsigned n, std::string* err)
      : s(sock), buf(new char[static_cast<size_t>(size ? size : 1) * n]), slot_size(size ? size : 1),
        slots(n), ov(n) {
    std::memset(buf.get(), 0x5a, static_cast<size_t>(slot_size) * n);
    int e = 0;
    if (sw.register_memory(s, buf.get(), slot_size * n, MEM_READWRITE, &e) == nullptr)
      *err = "WSPRegisterMemory: " + std::to_string(e);
  }
  char* slot(unsigned i) { return buf.get() + static_cast<size_t>(i) * slot_size; }
};

int post(MiniSwitch& sw, Side& side, unsigned i, uint32_t len, bool send) {
  WSABUF b{len, side.slot(i)};
  WSAOVERLAPPED& ov = side.ov[i];
  ov = WSAOVERLAPPED{};
  ov.hEvent = kPollMode;
  int err = 0;
  DWORD flags = 0;
  int rc = send ? sw.proc().lpWSPSend(side.s, &b, 1, nullptr, 0, &ov, nullptr, nullptr, &err)
                : sw.proc().lpWSPRecv(side.s, &b, 1, nullptr, &flags, &ov, nullptr, nullptr, &err);
  return rc == SOCKET_ERROR && err == WSA_IO_PENDING ? 0 : err;
}

void wait(WSAOVERLAPPED& ov) {
  while (!done(ov)) rte_pause();
}

/** Close both sockets, then wait until every operation of theirs has completed (aborted). */
void close_and_drain(MiniSwitch& sw, Side& x, Side& y) {
  int e;
  sw.proc().lpWSPCloseSocket(x.s, &e);
  sw.proc().lpWSPCloseSocket(y.s, &e);
  for (Side* side : {&x, &y})
    for (auto& ov : side->ov)
      if (ov.hEvent != nullptr) wait(ov);
}

}  // namespace

Result dpsan_pingpong(MiniSwitch& sw, SOCKET a, SOCKET b, uint32_t size, double seconds) {
  Result r{"dpsan", "pingpong", size};
  std::string err;
  // Slot 0 receives; slots 1 and 2 send in turn, so that a send's completion (its ack rides on
  // the next message of the other side) never holds up the next round trip.
  Side ca(sw, a, size, 3, &err), cb(sw, b, size, 3, &err);
  struct Closer {
    MiniSwitch& sw;
    Side &x, &y;
    ~Closer() { close_and_drain(sw, x, y); }
  } closer{sw, ca, cb};
  if (!err.empty()) return r.error = err, r;
  std::vector<uint64_t> rtts;
  rtts.reserve(1 << 20);
  auto end = Clock::now() + std::chrono::duration<double>(seconds);
  for (unsigned i = 0; Clock::now() < end && rtts.size() < (8u << 20); i++) {
    unsigned tx = 1 + (i & 1);
    if (ca.ov[tx].hEvent) wait(ca.ov[tx]);
    if (cb.ov[tx].hEvent) wait(cb.ov[tx]);
    if (post(sw, cb, 0, size, false) || post(sw, ca, 0, size, false)) return r.error = "post failed", r;
    auto t0 = Clock::now();
    if (post(sw, ca, tx, size, true)) return r.error = "post failed", r;
    wait(cb.ov[0]);
    if (post(sw, cb, tx, size, true)) return r.error = "post failed", r;
    wait(ca.ov[0]);
    rtts.push_back(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count()));
    if (ca.ov[0].OffsetHigh || cb.ov[0].OffsetHigh) return r.error = "receive failed", r;
  }
  fill_latency(r, rtts, seconds);
  return r;
}

Result dpsan_stream(MiniSwitch& sw, SOCKET a, SOCKET b, uint32_t size, double seconds,
                    unsigned window) {
  Result r{"dpsan", "stream", size};
  std::string err;
  Side tx(sw, a, size, window, &err), rx(sw, b, size, window, &err);
  struct Closer {
    MiniSwitch& sw;
    Side &x, &y;
    ~Closer() { close_and_drain(sw, x, y); }
  } closer{sw, tx, rx};
  if (!err.empty()) return r.error = err, r;
  for (unsigned i = 0; i < window; i++)
    if (post(sw, rx, i, size, false) || post(sw, tx, i, size, true)) return r.error = "post failed", r;
  // Keep `window` receives and `window` sends posted; count receives completed until the
  // deadline. What is still in flight then is aborted when the sockets close.
  uint64_t received = 0;
  auto t0 = Clock::now();
  auto end = t0 + std::chrono::duration<double>(seconds);
  for (unsigned iter = 0;; iter++) {
    if ((iter & 63) == 0 && Clock::now() >= end) break;
    for (unsigned i = 0; i < window; i++) {
      if (done(rx.ov[i])) {
        if (rx.ov[i].OffsetHigh) return r.error = "receive failed: " + std::to_string(rx.ov[i].OffsetHigh), r;
        received++;
        if (post(sw, rx, i, size, false)) return r.error = "receive post failed", r;
      }
      if (done(tx.ov[i])) {
        if (tx.ov[i].OffsetHigh) return r.error = "send failed: " + std::to_string(tx.ov[i].OffsetHigh), r;
        if (post(sw, tx, i, size, true)) return r.error = "send post failed", r;
      }
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  fill_rate(r, received, secs);
  return r;
}

}  // namespace dpsan::perf
