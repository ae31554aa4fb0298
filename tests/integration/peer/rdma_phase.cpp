/* SPDX-License-Identifier: BSD-3-Clause */
#include "rdma_phase.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>

namespace dpsan::itest {

namespace {

using Clock = std::chrono::steady_clock;
const WSAEVENT kPoll = reinterpret_cast<WSAEVENT>(uintptr_t{1});
constexpr uint32_t kRegion = 1u << 20;
constexpr uint32_t kSizes[] = {1, 1431, 4097, 65537, kRegion};

uint8_t pattern(uint32_t size, uint32_t i) { return static_cast<uint8_t>(size * 7 + i * 31 + 5); }

bool done(const WSAOVERLAPPED& ov) {
  return std::atomic_ref<const ULONG_PTR>(ov.Internal).load(std::memory_order_acquire) !=
         WSS_OPERATION_IN_PROGRESS;
}

/** Wait (up to 30 s) for an operation posted with WSA_IO_PENDING. @return "" or what failed. */
std::string wait_op(const WSAOVERLAPPED& ov, const char* what) {
  auto end = Clock::now() + std::chrono::seconds(30);
  while (!done(ov) && Clock::now() < end) std::this_thread::sleep_for(std::chrono::microseconds(50));
  if (!done(ov)) return std::string(what) + ": not complete within 30 s";
  if (ov.OffsetHigh != 0) return std::string(what) + ": failed with " + std::to_string(ov.OffsetHigh);
  return "";
}

std::string posted(int rc, int e, const char* what) {
  if (rc == SOCKET_ERROR && e == WSA_IO_PENDING) return "";
  return std::string(what) + ": returned " + std::to_string(rc) + ", error " + std::to_string(e);
}

std::string send_one(const WSPPROC_TABLE& proc, SOCKET s, char* buf, uint32_t n) {
  WSAOVERLAPPED ov{};
  ov.hEvent = kPoll;
  WSABUF wb{n, buf};
  int e = 0;
  int rc = proc.lpWSPSend(s, &wb, 1, nullptr, 0, &ov, nullptr, nullptr, &e);
  if (auto err = posted(rc, e, "WSPSend"); !err.empty()) return err;
  return wait_op(ov, "send");
}

std::string recv_one(const WSPPROC_TABLE& proc, SOCKET s, char* buf, uint32_t cap, uint32_t* n) {
  WSAOVERLAPPED ov{};
  ov.hEvent = kPoll;
  WSABUF wb{cap, buf};
  DWORD flags = 0;
  int e = 0;
  int rc = proc.lpWSPRecv(s, &wb, 1, nullptr, &flags, &ov, nullptr, nullptr, &e);
  if (auto err = posted(rc, e, "WSPRecv"); !err.empty()) return err;
  std::string err = wait_op(ov, "receive");
  *n = static_cast<uint32_t>(ov.InternalHigh);
  return err;
}

/** The peer closes first once it is done: a receive ends then (bounded, 10 s). */
void wait_for_peer_close(const WSPPROC_TABLE& proc, LPFN_WSPREGISTERMEMORY reg, SOCKET s) {
  static char b[16];
  int e = 0;
  reg(s, b, sizeof b, MEM_READWRITE, &e);
  WSAOVERLAPPED ov{};
  ov.hEvent = kPoll;
  WSABUF wb{sizeof b, b};
  DWORD flags = 0;
  if (proc.lpWSPRecv(s, &wb, 1, nullptr, &flags, &ov, nullptr, nullptr, &e) != SOCKET_ERROR ||
      e != WSA_IO_PENDING)
    return;
  auto end = Clock::now() + std::chrono::seconds(10);
  while (!done(ov) && Clock::now() < end) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

template <class Fn>
Fn ext_fn(const WSPPROC_TABLE& proc, GUID id) {
  void* fn = nullptr;
  DWORD got = 0;
  int e = 0;
  proc.lpWSPIoctl(0, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof id, &fn, sizeof fn, &got,
                  nullptr, nullptr, nullptr, &e);
  return reinterpret_cast<Fn>(fn);
}

/** One RDMA write (w) or read of n bytes. @return "" or what failed. */
std::string rdma_op(const WSPPROC_TABLE& proc, SOCKET s, bool w, WSABUFEX b, char* desc, uint32_t dlen) {
  static const auto write = ext_fn<LPFN_WSPRDMAWRITE>(proc, WSAID_RDMAWRITE);
  static const auto read = ext_fn<LPFN_WSPRDMAREAD>(proc, WSAID_RDMAREAD);
  if (!write || !read) return "no WSPRdmaWrite/WSPRdmaRead";
  WSAOVERLAPPED ov{};
  ov.hEvent = kPoll;
  DWORD got = 0;
  int e = 0;
  auto fn = w ? write : read;
  const char* what = w ? "WSPRdmaWrite" : "WSPRdmaRead";
  int rc = fn(s, &b, 1, desc, dlen, 0, &got, 0, &ov, nullptr, nullptr, &e);
  if (auto err = posted(rc, e, what); !err.empty()) return err;
  if (auto err = wait_op(ov, what); !err.empty()) return err + " (" + std::to_string(b.len) + " bytes)";
  return "";
}

}  // namespace

std::string rdma_target(const WSPPROC_TABLE& proc, LPFN_WSPREGISTERMEMORY reg, SOCKET s) {
  auto reg_rdma = ext_fn<LPFN_WSPREGISTERRDMAMEMORY>(proc, WSAID_REGISTERRDMAMEMORY);
  if (!reg_rdma) return "no WSPRegisterRdmaMemory";
  std::unique_ptr<char[]> region(new char[kRegion]());
  alignas(8) static char msg[128] = {};
  DWORD len = 64;
  int e = 0;
  if (!reg(s, msg, sizeof msg, MEM_READWRITE, &e)) return "WSPRegisterMemory: " + std::to_string(e);
  if (reg_rdma(s, region.get(), kRegion, MEM_READWRITE, msg, &len, &e) != 0)
    return "WSPRegisterRdmaMemory: " + std::to_string(e);
  if (auto err = send_one(proc, s, msg, len); !err.empty()) return "descriptor " + err;
  uint32_t n = 0;
  if (auto err = recv_one(proc, s, msg, sizeof msg, &n); !err.empty()) return "done " + err;
  for (uint32_t i = 0; i < kRegion; i++)
    if (static_cast<uint8_t>(region[i]) != pattern(kRegion, i))
      return "RDMA region differs at byte " + std::to_string(i);
  // The region stays registered until the peer is gone: its last operations may still ack.
  wait_for_peer_close(proc, reg, s);
  return "";
}

std::string rdma_initiator(const WSPPROC_TABLE& proc, LPFN_WSPREGISTERMEMORY reg, SOCKET s) {
  std::unique_ptr<char[]> out(new char[kRegion]), back(new char[kRegion]);
  alignas(8) static char desc[128] = {};
  int e = 0;
  HANDLE hout = reg(s, out.get(), kRegion, MEM_READWRITE, &e);
  HANDLE hback = reg(s, back.get(), kRegion, MEM_READWRITE, &e);
  if (!hout || !hback || !reg(s, desc, sizeof desc, MEM_READWRITE, &e))
    return "WSPRegisterMemory: " + std::to_string(e);
  uint32_t dlen = 0;
  if (auto err = recv_one(proc, s, desc, sizeof desc, &dlen); !err.empty()) return "descriptor " + err;
  for (uint32_t n : kSizes) {
    for (uint32_t i = 0; i < n; i++) out[i] = static_cast<char>(pattern(n, i));
    std::memset(back.get(), 0, n);
    if (auto err = rdma_op(proc, s, true, WSABUFEX{n, out.get(), hout}, desc, dlen); !err.empty()) return err;
    if (auto err = rdma_op(proc, s, false, WSABUFEX{n, back.get(), hback}, desc, dlen); !err.empty()) return err;
    if (std::memcmp(out.get(), back.get(), n) != 0)
      return "RDMA read back differs (" + std::to_string(n) + " bytes)";
  }
  desc[0] = 'D';
  return send_one(proc, s, desc, 1);
}

}  // namespace dpsan::itest
