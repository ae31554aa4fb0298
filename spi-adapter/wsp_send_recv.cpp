/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file WSPSend, WSPRecv and WSPGetOverlappedResult: the hot path on the switch's side.
 *
 * A transfer is validated, turned into a Request and put on the owning core's ring. Nothing
 * here blocks, locks or allocates from the heap: the request comes from a mempool, the
 * registrations are found in the socket's lock-free handle array and pinned in the MrTable.
 * Every accepted transfer returns WSA_IO_PENDING and completes later (Decision 3, R33).
 */
#include <ctime>
#include <sched.h>
#include <rte_pause.h>

#include "fastpath/engine.h"
#include "overlapped.h"
#include "socket_table.h"
#include "transfer.h"
#include "validate.h"
#include "wsp.h"

namespace dpsan::spi {

namespace {

/** Pin the registration of `s` that covers [addr, addr+len); kMrNone if none does. */
uint32_t pin_registration(fastpath::MrTable& mrs, Socket* s, uintptr_t addr, uint32_t len,
                          uint32_t need) {
  for (unsigned i = 0; i < kMaxRegsPerSocket; i++) {
    uint64_t h = s->reg_handles[i].load(std::memory_order_acquire);
    if (h == 0 || !mrs.covers(h, s->self, addr, len)) continue;
    uint32_t idx = mrs.acquire(h, s->self, addr, len, need);
    if (idx != fastpath::kMrNone) return idx;
  }
  return fastpath::kMrNone;
}

int post_transfer(SOCKET sock, LPWSABUF bufs, DWORD count, LPWSAOVERLAPPED ov,
                  fastpath::ReqKind kind, LPINT lpErrno) {
  if (ov == nullptr) return fail(lpErrno, WSAEINVAL);  // overlapped only (spec 2.9)
  if (count == 0 || count > fastpath::kMaxSge) return fail(lpErrno, WSAEINVAL);
  if (bufs == nullptr) return fail(lpErrno, WSAEFAULT);
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail(lpErrno, WSAENOTSOCK);
  control::Instance* inst = guard.instance();
  if (inst == nullptr) return fail(lpErrno, no_instance_code(guard, WSAENOTSOCK));

  fastpath::SocketLink& link = s->link;
  if (int code = link_error(link)) return fail(lpErrno, code);
  bool send = kind == fastpath::ReqKind::kSend;
  if ((send ? s->shut_send : s->shut_recv).load(std::memory_order_acquire))
    return fail(lpErrno, WSAESHUTDOWN);

  uint64_t total = 0;
  for (DWORD i = 0; i < count; i++) total += bufs[i].len;
  if (send && total > kMaxMsgSize) return fail(lpErrno, WSAEMSGSIZE);  // R42
  if (total > UINT32_MAX) return fail(lpErrno, WSAEINVAL);

  fastpath::Engine& e = inst->engine();
  fastpath::Request* r = e.request_get();
  if (r == nullptr) return fail(lpErrno, WSAENOBUFS);
  r->kind = kind;
  r->link = &link;
  r->ov = ov_view(ov);
  r->total_len = static_cast<uint32_t>(total);
  // Receives write into the buffer: their registration needs MEM_WRITE.
  uint32_t need = send ? 0 : MEM_WRITE;
  return post_buffers(e, r, bufs, count, [&](DWORD i) {
    return pin_registration(e.mrs, s.get(), reinterpret_cast<uintptr_t>(bufs[i].buf), bufs[i].len, need);
  }, lpErrno);
}

}  // namespace

int WSPSend(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesSent,
            DWORD dwFlags, LPWSAOVERLAPPED lpOverlapped,
            LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine, LPWSATHREADID lpThreadId,
            LPINT lpErrno) {
  (void)lpNumberOfBytesSent;  // the count comes only from the completion (Decision 3)
  (void)lpThreadId;
  if (dwFlags != 0) return fail(lpErrno, WSAEINVAL);               // R39
  if (lpCompletionRoutine != nullptr) return fail(lpErrno, WSAEINVAL);  // R32: no APCs
  return post_transfer(s, lpBuffers, dwBufferCount, lpOverlapped, fastpath::ReqKind::kSend, lpErrno);
}

int WSPRecv(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesRecvd,
            LPDWORD lpFlags, LPWSAOVERLAPPED lpOverlapped,
            LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine, LPWSATHREADID lpThreadId,
            LPINT lpErrno) {
  (void)lpNumberOfBytesRecvd;
  (void)lpThreadId;
  if (lpFlags == nullptr) return fail(lpErrno, WSAEFAULT);
  if (*lpFlags != 0) return fail(lpErrno, WSAEOPNOTSUPP);  // no MSG_PEEK / MSG_OOB
  if (lpCompletionRoutine != nullptr) return fail(lpErrno, WSAEINVAL);
  return post_transfer(s, lpBuffers, dwBufferCount, lpOverlapped, fastpath::ReqKind::kRecv, lpErrno);
}

BOOL WSPGetOverlappedResult(SOCKET sock, LPWSAOVERLAPPED lpOverlapped, LPDWORD lpcbTransfer,
                            BOOL fWait, LPDWORD lpdwFlags, LPINT lpErrno) {
  if (lpOverlapped == nullptr || lpcbTransfer == nullptr || lpdwFlags == nullptr) {
    fail(lpErrno, WSAEFAULT);
    return FALSE;
  }
  {
    control::CallGuard guard;
    SocketRef s(sock);
    if (!s) {  // R27: also right after a close
      fail(lpErrno, WSAENOTSOCK);
      return FALSE;
    }
  }
  fastpath::OvView* ov = ov_view(lpOverlapped);
  if (!fastpath::ov_is_done(ov)) {  // OV-A
    if (!fWait) {
      fail(lpErrno, WSA_IO_INCOMPLETE);  // R36
      return FALSE;
    }
    // Decision 6: block until it completes. Every accepted operation completes (by success,
    // error or abort), so this ends; it waits outside any guard so that a cleanup can proceed.
    for (unsigned spins = 0; !fastpath::ov_is_done(ov); spins++) {
      if (spins < 4096) {
        rte_pause();
      } else if (spins < 8192) {
        sched_yield();
      } else {
        timespec ts{0, 20000};
        nanosleep(&ts, nullptr);
      }
    }
  }
  *lpdwFlags = lpOverlapped->Offset;
  if (lpOverlapped->OffsetHigh != 0) {
    fail(lpErrno, static_cast<int>(lpOverlapped->OffsetHigh));
    return FALSE;
  }
  *lpcbTransfer = static_cast<DWORD>(lpOverlapped->InternalHigh);
  return TRUE;
}

}  // namespace dpsan::spi
