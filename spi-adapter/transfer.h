/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What every overlapped transfer shares (WSPSend, WSPRecv, WSPRdmaWrite, WSPRdmaRead): the
 * socket's connection state, and turning the caller's buffers into a posted Request whose
 * buffers each hold a use of a registration of the socket (R57, R59). Hot path: no lock, no
 * system call, no heap allocation.
 */
#pragma once

#include <dpsan/ws2san.h>

#include "fastpath/engine.h"
#include "validate.h"

namespace dpsan::spi {

/** 0 when the socket's connection is established; else WSAENOTCONN or the dead one's error. */
inline int link_error(const fastpath::SocketLink& link) {
  uint8_t st = link.state.load(std::memory_order_acquire);
  if (st == fastpath::kLinkEstablished) return 0;
  int sticky = link.sticky_error.load(std::memory_order_relaxed);
  return st == fastpath::kLinkDead && sticky ? sticky : WSAENOTCONN;
}

/** Drop the registration uses taken for r's buffers, and give the request back. */
inline void drop_request(fastpath::Engine& e, fastpath::Request* r) {
  for (unsigned j = 0; j < r->nsge; j++)
    if (r->sge[j].mr != fastpath::kMrNone) e.mrs.release(r->sge[j].mr);
  e.request_put(r);
}

/**
 * Fill r's buffers from `bufs` (WSABUF or WSABUFEX), each pinned by `pin(i)` (a registration
 * use, or kMrNone when none of the socket covers it), mark the overlapped in progress and post.
 * @return WSA_IO_PENDING through fail() (Decision 3), or WSAEFAULT / WSAENOBUFS with nothing
 *   left taken.
 */
template <class Buf, class Pin>
int post_buffers(fastpath::Engine& e, fastpath::Request* r, const Buf* bufs, DWORD count, Pin pin,
                 LPINT lpErrno) {
  r->nsge = 0;
  for (DWORD i = 0; i < count; i++) {
    fastpath::Sge& sg = r->sge[i];
    sg.buf = bufs[i].buf;
    sg.len = bufs[i].len;
    sg.mr = sg.len == 0 ? fastpath::kMrNone : pin(i);
    if (sg.len != 0 && sg.mr == fastpath::kMrNone) {
      drop_request(e, r);
      return fail(lpErrno, WSAEFAULT);  // not inside a registration of this socket (R57)
    }
    r->nsge = static_cast<uint8_t>(i + 1);
  }
  fastpath::ov_start(r->ov);  // R33: in progress until the completion is published
  if (!e.post(r)) {
    drop_request(e, r);
    return fail(lpErrno, WSAENOBUFS);
  }
  return fail(lpErrno, WSA_IO_PENDING);
}

}  // namespace dpsan::spi
