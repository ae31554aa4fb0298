/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The RDMA extensions (spec 2.16, 2.17): WSPRegisterRdmaMemory, WSPDeregisterRdmaMemory,
 * WSPRdmaWrite, WSPRdmaRead and WSPMemoryRegistrationCacheCallback.
 *
 * Registration and deregistration are synchronous requests to the poll core that owns the
 * connection, which alone holds the connection's remote-access table: when
 * WSPDeregisterRdmaMemory returns, the core has revoked the region between two frames, so the
 * peer can reach none of its bytes from then on (R63). Writes and reads are overlapped
 * transfers like WSPSend: checked here, queued to the core, completed later (Decision 3).
 */
#include <sys/random.h>

#include <rte_pause.h>

#include "fastpath/engine.h"
#include "fastpath/page_rights.h"
#include "fastpath/rdma_region.h"
#include "overlapped.h"
#include "socket_table.h"
#include "transfer.h"
#include "validate.h"
#include "wsp.h"

namespace dpsan::spi {

namespace {

using fastpath::RdmaDescriptor;
constexpr DWORD kDescLen = sizeof(RdmaDescriptor);

/**
 * Post a synchronous request to its socket's core and wait for the answer.
 * @return true with *answer set (the caller then owns and frees `r`), or false when the final
 *   cleanup began first: `r` was abandoned to the core, which frees it, and must not be touched.
 */
bool post_sync(control::Instance* inst, fastpath::Request* r, uint32_t* answer) {
  fastpath::Engine& e = inst->engine();
  r->sync = fastpath::kSyncWaiting;
  if (!e.post(r)) {
    *answer = WSAENOBUFS;
    return true;
  }
  std::atomic_ref<uint32_t> sync(r->sync);
  for (unsigned spins = 0;; spins++) {
    if (sync.load(std::memory_order_acquire) == fastpath::kSyncAnswered) {
      *answer = r->answer;
      return true;
    }
    if (inst->stopping()) {
      uint32_t expect = fastpath::kSyncWaiting;
      if (sync.compare_exchange_strong(expect, fastpath::kSyncAbandoned, std::memory_order_acq_rel))
        return false;
      continue;  // answered meanwhile
    }
    if (spins < 2000) rte_pause();
    else nap_us(5);
  }
}

bool valid_flags(DWORD f) { return f == MEM_READ || f == MEM_WRITE || f == MEM_READWRITE; }

uint64_t random_key() {
  uint64_t k = 0;
  while (k == 0) {
    // The key is all that stands between a peer and a slot it could name: kernel randomness.
    if (getrandom(&k, sizeof k, 0) != static_cast<ssize_t>(sizeof k)) k = 0;
  }
  return k;
}

int post_rdma(SOCKET sock, LPWSABUFEX bufs, DWORD count, LPVOID desc_p, DWORD desc_len,
              DWORD offset, DWORD flags, LPWSAOVERLAPPED ov,
              LPWSAOVERLAPPED_COMPLETION_ROUTINE routine, fastpath::ReqKind kind, LPINT lpErrno) {
  if (ov == nullptr || routine != nullptr || flags != 0) return fail(lpErrno, WSAEINVAL);
  if (count == 0 || count > fastpath::kMaxSge) return fail(lpErrno, WSAEINVAL);
  if (bufs == nullptr || desc_p == nullptr) return fail(lpErrno, WSAEFAULT);
  RdmaDescriptor d;
  if (!read_rdma_descriptor(desc_p, desc_len, &d)) return fail(lpErrno, WSAEINVAL);
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail(lpErrno, WSAENOTSOCK);
  control::Instance* inst = guard.instance();
  if (inst == nullptr) return fail(lpErrno, no_instance_code(guard, WSAENOTSOCK));
  fastpath::SocketLink& link = s->link;
  if (int code = link_error(link)) return fail(lpErrno, code);
  bool read = kind == fastpath::ReqKind::kRdmaRead;
  if (!read && s->shut_send.load(std::memory_order_acquire)) return fail(lpErrno, WSAESHUTDOWN);
  uint64_t total = 0;
  for (DWORD i = 0; i < count; i++) total += bufs[i].len;
  if (total > kMaxRdmaSize) return fail(lpErrno, WSAEMSGSIZE);  // R42: SO_MAX_RDMA_SIZE

  fastpath::Engine& e = inst->engine();
  fastpath::Request* r = e.request_get();
  if (r == nullptr) return fail(lpErrno, WSAENOBUFS);
  r->kind = kind;
  r->link = &link;
  r->ov = ov_view(ov);
  r->total_len = static_cast<uint32_t>(total);
  r->remote = fastpath::wire::RdmaRef{d.conn, d.region, d.gen, d.key, offset};
  // A read writes into the local buffers: their registration needs MEM_WRITE (spec 2.16).
  uint32_t need = read ? MEM_WRITE : 0;
  // The handle must be this socket's (R57) and cover the buffer with the rights needed.
  return post_buffers(e, r, bufs, count, [&](DWORD i) {
    return e.mrs.acquire(reinterpret_cast<uint64_t>(bufs[i].handle), s->self,
                         reinterpret_cast<uintptr_t>(bufs[i].buf), bufs[i].len, need);
  }, lpErrno);
}

}  // namespace

BOOL WSPRegisterRdmaMemory(SOCKET sock, PVOID lpBuffer, DWORD dwBufferLength, DWORD dwFlags,
                           LPVOID lpRdmaBufferDescriptor, LPDWORD lpdwDescriptorLength,
                           LPINT lpErrno) {
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail(lpErrno, WSAENOTSOCK);
  control::Instance* inst = guard.instance();
  if (inst == nullptr) return fail(lpErrno, no_instance_code(guard, WSAENOTSOCK));
  if (!valid_flags(dwFlags)) return fail(lpErrno, WSAEINVAL);
  if (lpdwDescriptorLength == nullptr) return fail(lpErrno, WSAEFAULT);
  if (*lpdwDescriptorLength < kDescLen) {  // R61: the switch's probe
    *lpdwDescriptorLength = kDescLen;
    return fail(lpErrno, WSAEFAULT);
  }
  // The descriptor is written to caller memory; the buffer's pages are checked for the rights
  // the peer gets when they enter the registration cache, below.
  if (lpBuffer == nullptr || dwBufferLength == 0 ||
      !fastpath::page_rights_allow(reinterpret_cast<uintptr_t>(lpRdmaBufferDescriptor), kDescLen,
                                   fastpath::kPageWrite))
    return fail(lpErrno, WSAEFAULT);
  if (s->link.state.load(std::memory_order_acquire) != fastpath::kLinkEstablished)
    return fail(lpErrno, WSAENOTCONN);

  fastpath::Engine& e = inst->engine();
  std::lock_guard<std::mutex> lk(s->mu);
  int slot = -1;
  for (unsigned i = 0; i < kMaxRegsPerSocket && slot < 0; i++)
    if (!s->rdma_regs[i].used) slot = static_cast<int>(i);
  if (slot < 0) return fail(lpErrno, WSAENOBUFS);
  auto addr = reinterpret_cast<uintptr_t>(lpBuffer);
  // A remote write into a page that is not writable here would fault in the poll core.
  uint64_t cache_id = e.reg_cache.acquire(addr, dwBufferLength, dwFlags);
  if (cache_id == 0) return fail(lpErrno, WSAEFAULT);
  fastpath::Request* r = e.request_get();
  if (r == nullptr) {
    e.reg_cache.release(cache_id);
    return fail(lpErrno, WSAENOBUFS);
  }
  r->kind = fastpath::ReqKind::kRdmaReg;
  r->link = &s->link;
  r->reg_addr = addr;
  r->reg_len = dwBufferLength;
  r->reg_rights = dwFlags;  // MEM_READ / MEM_WRITE are kRdmaRead / kRdmaWrite
  r->remote.key = random_key();
  uint32_t answer = 0;
  if (!post_sync(inst, r, &answer)) {
    e.reg_cache.release(cache_id);
    return fail(lpErrno, WSAENETDOWN);
  }
  fastpath::wire::RdmaRef ref = r->remote;
  e.request_put(r);
  if (answer != 0) {
    e.reg_cache.release(cache_id);
    return fail(lpErrno, static_cast<int>(answer));
  }
  s->rdma_regs[slot] = RdmaEntry{true, ref, cache_id};
  RdmaDescriptor d{fastpath::kRdmaDescMagic, ref.desc_conn, ref.region, ref.gen, ref.key};
  std::memcpy(lpRdmaBufferDescriptor, &d, sizeof d);
  *lpdwDescriptorLength = kDescLen;
  return 0;
}

int WSPDeregisterRdmaMemory(SOCKET sock, LPVOID lpRdmaBufferDescriptor, DWORD dwDescriptorLength,
                            LPINT lpErrno) {
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail(lpErrno, WSAENOTSOCK);
  control::Instance* inst = guard.instance();
  if (inst == nullptr) return fail(lpErrno, no_instance_code(guard, WSAENOTSOCK));
  if (lpRdmaBufferDescriptor == nullptr) return fail(lpErrno, WSAEFAULT);
  RdmaDescriptor d;
  if (!read_rdma_descriptor(lpRdmaBufferDescriptor, dwDescriptorLength, &d)) return fail(lpErrno, WSAEINVAL);
  fastpath::Engine& e = inst->engine();
  std::lock_guard<std::mutex> lk(s->mu);
  for (unsigned i = 0; i < kMaxRegsPerSocket; i++) {
    RdmaEntry& en = s->rdma_regs[i];
    if (!en.used || en.ref.desc_conn != d.conn || en.ref.region != d.region ||
        en.ref.gen != d.gen || en.ref.key != d.key)
      continue;
    fastpath::Request* r = e.request_get();
    if (r == nullptr) return fail(lpErrno, WSAENOBUFS);
    r->kind = fastpath::ReqKind::kRdmaDereg;
    r->link = &s->link;
    r->remote = en.ref;
    uint32_t answer = 0;
    // Answered 0: the core has revoked the region, the peer can reach none of it (R63).
    // WSAEINVAL: a peer's RDMA is using it, and it stays registered (R59). Abandoned (final
    // cleanup under way): the cleanup frees every connection, and with them every region,
    // before it returns (R18).
    if (post_sync(inst, r, &answer)) {
      e.request_put(r);
      if (answer != 0) return fail(lpErrno, static_cast<int>(answer));
    }
    e.reg_cache.release(en.cache_id);  // the range itself stays cached (spec 2.16)
    en = RdmaEntry{};
    return 0;
  }
  return fail(lpErrno, WSAEINVAL);  // R59: unknown, already deregistered, or another socket's
}

int WSPRdmaWrite(SOCKET s, LPWSABUFEX lpBuffers, DWORD dwBufferCount,
                 LPVOID lpTargetBufferDescriptor, DWORD dwTargetDescriptorLength,
                 DWORD dwTargetBufferOffset, LPDWORD lpdwNumberOfBytesWritten, DWORD dwFlags,
                 LPWSAOVERLAPPED lpOverlapped,
                 LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine, LPWSATHREADID lpThreadId,
                 LPINT lpErrno) {
  (void)lpdwNumberOfBytesWritten;  // the count comes only from the completion (Decision 3)
  (void)lpThreadId;
  return post_rdma(s, lpBuffers, dwBufferCount, lpTargetBufferDescriptor, dwTargetDescriptorLength,
                   dwTargetBufferOffset, dwFlags, lpOverlapped, lpCompletionRoutine,
                   fastpath::ReqKind::kRdmaWrite, lpErrno);
}

int WSPRdmaRead(SOCKET s, LPWSABUFEX lpBuffers, DWORD dwBufferCount,
                LPVOID lpTargetBufferDescriptor, DWORD dwTargetDescriptorLength,
                DWORD dwTargetBufferOffset, LPDWORD lpdwNumberOfBytesRead, DWORD dwFlags,
                LPWSAOVERLAPPED lpOverlapped,
                LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine, LPWSATHREADID lpThreadId,
                LPINT lpErrno) {
  (void)lpdwNumberOfBytesRead;
  (void)lpThreadId;
  return post_rdma(s, lpBuffers, dwBufferCount, lpTargetBufferDescriptor, dwTargetDescriptorLength,
                   dwTargetBufferOffset, dwFlags, lpOverlapped, lpCompletionRoutine,
                   fastpath::ReqKind::kRdmaRead, lpErrno);
}

int WSPMemoryRegistrationCacheCallback(LPVOID lpvAddress, SIZE_T Size, LPINT lpErrno) {
  control::CallGuard guard;
  control::Instance* inst = guard.instance();
  if (inst == nullptr) return fail(lpErrno, no_instance_code(guard, WSANOTINITIALISED));
  switch (inst->engine().reg_cache.invalidate(reinterpret_cast<uintptr_t>(lpvAddress), Size)) {
    case fastpath::RegCache::Invalidate::kDropped: return 0;
    case fastpath::RegCache::Invalidate::kNeverCached: return fail(lpErrno, WSAEINVAL);  // R65
    case fastpath::RegCache::Invalidate::kInUse: break;
  }
  return fail(lpErrno, WSAEFAULT);  // R65: a live registration still holds part of the range
}

}  // namespace dpsan::spi
