/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Overlapped operations in poll mode for dpsan-perf's runs: registered slots, posting, waiting.
 * The switch's thread (the one calling) only.
 */
#pragma once

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>
#include <rte_pause.h>

#include "mini_switch.h"

namespace dpsan::perf {

/** Poll mode: hEvent low bit set, so completion is only written in place (R34). */
inline WSAEVENT const kPollMode = reinterpret_cast<WSAEVENT>(uintptr_t{1});

inline bool done(WSAOVERLAPPED& ov) {
  return std::atomic_ref<ULONG_PTR>(ov.Internal).load(std::memory_order_acquire) !=
         WSS_OPERATION_IN_PROGRESS;
}

inline void wait(WSAOVERLAPPED& ov) {
  while (!done(ov)) rte_pause();
}

/** As wait(), for at most `seconds`. @return false on timeout. */
inline bool wait_for(WSAOVERLAPPED& ov, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (unsigned i = 0; !done(ov); i++)
    if ((i & 1023) == 0 && std::chrono::steady_clock::now() > end) return false;
  return true;
}

/**
 * The clock of a timed run that polls completions: its end (not before the first completion, so
 * that a descheduled run on a loaded machine still measures something), and a bound on how long
 * it may go without one (a peer that died would otherwise hold it for ever). Looks at the clock
 * on every 64th check only.
 */
class RunClock {
 public:
  explicit RunClock(double seconds)
      : t0_(Clock::now()), end_(t0_ + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(seconds))),
        last_(t0_) {}
  enum State { kGoOn, kEnd, kStalled };
  /** `completed`: the run's completions so far. */
  State check(uint64_t completed) {
    if ((++calls_ & 63) != 0) return kGoOn;
    auto now = Clock::now();
    if (now >= end_ && completed > 0) return kEnd;
    if (completed != last_count_) {
      last_count_ = completed;
      last_ = now;
    } else if (now - last_ > std::chrono::seconds(10)) {
      return kStalled;
    }
    return kGoOn;
  }
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point t0_, end_, last_;
  uint64_t calls_ = 0, last_count_ = 0;
};

/** One socket's `slots` buffers of `size` bytes each, registered, with an overlapped each. */
struct Side {
  SOCKET s;
  std::unique_ptr<char[]> buf;
  uint32_t slot_size;
  unsigned slots;
  HANDLE handle = nullptr;
  std::vector<WSAOVERLAPPED> ov;

  Side(MiniSwitch& sw, SOCKET sock, uint32_t size, unsigned n, std::string* err)
      : s(sock), buf(new char[static_cast<size_t>(size ? size : 1) * n]), slot_size(size ? size : 1),
        slots(n), ov(n) {
    std::memset(buf.get(), 0x5a, static_cast<size_t>(slot_size) * n);
    int e = 0;
    handle = sw.register_memory(s, buf.get(), slot_size * n, MEM_READWRITE, &e);
    if (handle == nullptr) *err = "WSPRegisterMemory: " + std::to_string(e);
  }
  char* slot(unsigned i) { return buf.get() + static_cast<size_t>(i) * slot_size; }
  /** Posted at least once and not completed yet. */
  bool busy(unsigned i) { return ov[i].hEvent != nullptr && !done(ov[i]); }
};

/** Post a send or a receive of `len` bytes from slot i. @return 0 (pending) or the WSA code. */
inline int post(MiniSwitch& sw, Side& side, unsigned i, uint32_t len, bool send) {
  WSABUF b{len, side.slot(i)};
  WSAOVERLAPPED& ov = side.ov[i];
  ov = WSAOVERLAPPED{};
  ov.hEvent = kPollMode;
  int err = 0;
  DWORD flags = 0;
  int rc = send ? sw.proc().lpWSPSend(side.s, &b, 1, nullptr, 0, &ov, nullptr, nullptr, &err)
                : sw.proc().lpWSPRecv(side.s, &b, 1, nullptr, &flags, &ov, nullptr, nullptr, &err);
  if (rc == 0 || err == WSA_IO_PENDING) return 0;  // done at once, or pending
  return err;
}

/** Close the side's socket, then wait until every operation of its has completed (aborted). */
inline void close_and_drain(MiniSwitch& sw, Side& x) {
  int e;
  sw.proc().lpWSPCloseSocket(x.s, &e);
  for (auto& ov : x.ov)
    if (ov.hEvent != nullptr) wait(ov);
}

/**
 * Register `bytes` at `buf` on socket s as a region the peer may write and read (RDMA). @return ""
 * with its descriptor in desc (room for *desc_len bytes, then its length), or what failed.
 */
inline std::string register_rdma(MiniSwitch& sw, SOCKET s, char* buf, uint32_t bytes, void* desc,
                                 uint32_t* desc_len) {
  auto reg = reinterpret_cast<LPFN_WSPREGISTERRDMAMEMORY>(sw.extension(WSAID_REGISTERRDMAMEMORY));
  DWORD len = *desc_len;
  int e = 0;
  if (reg == nullptr || reg(s, buf, bytes, MEM_READWRITE, desc, &len, &e) != 0)
    return "WSPRegisterRdmaMemory: " + std::to_string(e);
  *desc_len = len;
  return "";
}

/** Closes the sides given, on any return. */
struct Closer {
  MiniSwitch& sw;
  std::vector<Side*> sides;
  ~Closer() {
    for (Side* s : sides)
      if (s) close_and_drain(sw, *s);
  }
};

}  // namespace dpsan::perf
