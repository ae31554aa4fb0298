/* SPDX-License-Identifier: BSD-3-Clause */
/** @file WSPRegisterMemory / WSPDeregisterMemory (spec 2.16, R57-R60). */
#include "fastpath/engine.h"
#include "socket_table.h"
#include "validate.h"
#include "wsp.h"

namespace dpsan::spi {

HANDLE WSPRegisterMemory(SOCKET sock, PVOID lpBuffer, DWORD dwBufferLength, DWORD dwFlags,
                         LPINT lpErrno) {
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) {
    fail(lpErrno, WSAENOTSOCK);
    return nullptr;
  }
  control::Instance* inst = guard.instance();
  int code = 0;
  if (inst == nullptr) code = no_instance_code(guard, WSAENOTSOCK);
  else if (dwFlags != MEM_READ && dwFlags != MEM_WRITE && dwFlags != MEM_READWRITE) code = WSAEINVAL;  // R60
  else if (lpBuffer == nullptr || dwBufferLength == 0) code = WSAEFAULT;
  else if (s->link.state.load(std::memory_order_acquire) != fastpath::kLinkEstablished) code = WSAENOTCONN;  // R60
  if (code) {
    fail(lpErrno, code);
    return nullptr;
  }
  auto addr = reinterpret_cast<uintptr_t>(lpBuffer);
  std::lock_guard<std::mutex> lk(s->mu);
  int free_slot = -1;
  for (unsigned i = 0; i < kMaxRegsPerSocket; i++) {
    RegEntry& r = s->regs[i];
    if (r.refs == 0) {
      if (free_slot < 0) free_slot = static_cast<int>(i);
      continue;
    }
    if (r.addr == addr && r.len == dwBufferLength && r.flags == dwFlags) {
      r.refs++;  // R58: the same registration, counted
      return reinterpret_cast<HANDLE>(s->reg_handles[i].load(std::memory_order_relaxed));
    }
  }
  if (free_slot < 0) {
    fail(lpErrno, WSAENOBUFS);
    return nullptr;
  }
  fastpath::Engine& e = inst->engine();
  // The pages are mapped for the devices that DMA (kept while the range stays cached), so
  // that frames from them may go zero-copy to those devices; a failure only means copies.
  uint32_t dma_mask = 0;
  uint64_t cache_id = e.reg_cache.acquire(addr, dwBufferLength, dwFlags, true, &dma_mask);
  if (cache_id == 0) {  // not mapped, or not with the rights the flags grant (2.16)
    fail(lpErrno, WSAEFAULT);
    return nullptr;
  }
  uint64_t h = e.mrs.create(s->self, addr, dwBufferLength, dwFlags, dma_mask);
  if (h == 0) {
    e.reg_cache.release(cache_id);
    fail(lpErrno, WSAENOBUFS);
    return nullptr;
  }
  s->regs[free_slot] = RegEntry{addr, dwBufferLength, dwFlags, 1, cache_id};
  s->reg_handles[free_slot].store(h, std::memory_order_release);
  return reinterpret_cast<HANDLE>(h);
}

int WSPDeregisterMemory(SOCKET sock, HANDLE handle, LPINT lpErrno) {
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail(lpErrno, WSAENOTSOCK);
  control::Instance* inst = guard.instance();
  if (inst == nullptr) return fail(lpErrno, no_instance_code(guard, WSAENOTSOCK));
  auto h = reinterpret_cast<uint64_t>(handle);
  std::lock_guard<std::mutex> lk(s->mu);
  for (unsigned i = 0; i < kMaxRegsPerSocket; i++) {
    RegEntry& r = s->regs[i];
    if (r.refs == 0 || s->reg_handles[i].load(std::memory_order_relaxed) != h) continue;
    if (r.refs > 1) {
      r.refs--;
      return 0;
    }
    // R59: memory used by a pending operation stays registered.
    if (inst->engine().mrs.destroy(h, s->self) != 0) return fail(lpErrno, WSAEINVAL);
    s->reg_handles[i].store(0, std::memory_order_release);
    inst->engine().reg_cache.release(r.cache_id);  // the range stays cached (spec 2.16)
    r = RegEntry{};
    return 0;
  }
  return fail(lpErrno, WSAEINVAL);  // R59: unknown handle (or another socket's, R57)
}

}  // namespace dpsan::spi
