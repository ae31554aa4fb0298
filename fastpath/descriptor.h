/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Request: the descriptor an SPI thread posts to a poll core's request ring.
 *
 * Ownership: an SPI thread takes a Request from the engine's request pool, fills it and
 * enqueues it; from then on the owning poll core (or, after quiescence, the final cleanup) owns
 * it and returns it to the pool *before* the completion is published (R13).
 */
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "completion.h"
#include "socket_link.h"
#include "wire/rdma.h"
#include "zerocopy.h"

namespace dpsan::fastpath {

inline constexpr unsigned kMaxSge = 8;

enum class ReqKind : uint8_t {
  kSend,     ///< overlapped send of one message
  kRecv,     ///< overlapped receive of one message
  kConnect,  ///< open a connection to (peer_ip, peer_port)
  kAccept,   ///< accept the pending request `pending`
  kReject,   ///< refuse the pending request `pending`
  kClose,    ///< reset and free the connection, abort its operations, then ack the link
  kRdmaWrite,  ///< write the local buffers into the peer's region `remote` (overlapped)
  kRdmaRead,   ///< read the peer's region `remote` into the local buffers (overlapped)
  kRdmaReg,    ///< synchronous: open a slot of the connection's RDMA table for reg_*
  kRdmaDereg,  ///< synchronous: revoke the slot `remote` names
};

/** Answer states of a synchronous request (Request::sync, accessed through atomic_ref). */
inline constexpr uint32_t kSyncWaiting = 0, kSyncAnswered = 1, kSyncAbandoned = 2;

/** A scatter/gather entry; `mr` is the registration use taken for it. */
struct Sge {
  char* buf;
  uint32_t len;
  uint32_t mr;
};

struct PendingConn;

struct Request {
  ReqKind kind;
  uint8_t nsge;
  uint16_t started;     ///< send: framing began, msg_seq is assigned (owner core only)
  uint32_t total_len;   ///< bytes in the message (send) or room in the buffers (recv)
  uint32_t progress;    ///< bytes moved so far (owner core only)
  uint32_t msg_seq;     ///< send: the message sequence number (owner core only)
  uint32_t last_psn;    ///< send: psn of its last frame; completes once that is acked
  SocketLink* link;
  OvView* ov;           ///< the switch's WSAOVERLAPPED for transfers
  Request* next;        ///< intrusive queue link (owner core only)
  // kConnect
  uint32_t local_ip, peer_ip;   ///< network byte order
  uint16_t local_port, peer_port;
  // kAccept / kReject
  PendingConn* pending;
  // kRdmaWrite / kRdmaRead: the target region (from the peer's descriptor) and the offset of
  // the first byte; kRdmaReg answers with desc_conn / region / gen; kRdmaDereg names the slot.
  wire::RdmaRef remote;
  // Synchronous requests (kRdmaReg, kRdmaDereg): the SPI thread that posted one
  // waits on `sync`; whoever loses the race between answering and abandoning frees it.
  uint32_t sync;        ///< kSyncWaiting / kSyncAnswered / kSyncAbandoned
  uint32_t answer;      ///< 0 or a WSA code
  uint32_t reg_rights;  ///< kRdmaReg: kRdmaRead | kRdmaWrite
  uint64_t reg_len;     ///< kRdmaReg
  uintptr_t reg_addr;   ///< kRdmaReg
  ZcRefs zc;            ///< sends and RDMA writes with frames attached zero-copy (zerocopy.h)
  Sge sge[kMaxSge];
};

/** Copy `len` bytes into the request's buffers from byte offset `off`; clips at their end. */
inline void request_scatter(Request* r, uint32_t off, const uint8_t* src, uint32_t len) {
  for (unsigned i = 0; i < r->nsge && len; i++) {
    Sge& s = r->sge[i];
    if (off >= s.len) {
      off -= s.len;
      continue;
    }
    uint32_t n = std::min(len, s.len - off);
    std::memcpy(s.buf + off, src, n);
    src += n;
    len -= n;
    off = 0;
  }
}

/** Copy `len` bytes out of the request's buffers from byte offset `off` into `dst`. */
inline void request_gather(const Request* r, uint32_t off, uint8_t* dst, uint32_t len) {
  for (unsigned i = 0; i < r->nsge && len; i++) {
    const Sge& s = r->sge[i];
    if (off >= s.len) {
      off -= s.len;
      continue;
    }
    uint32_t n = std::min(len, s.len - off);
    std::memcpy(dst, s.buf + off, n);
    dst += n;
    len -= n;
    off = 0;
  }
}

/** A FIFO of requests linked through Request::next. Owner core only. */
struct ReqQueue {
  Request* head = nullptr;
  Request* tail = nullptr;
  uint32_t size = 0;

  bool empty() const { return head == nullptr; }
  void push(Request* r) {
    r->next = nullptr;
    if (tail) tail->next = r; else head = r;
    tail = r;
    size++;
  }
  Request* pop() {
    Request* r = head;
    if (r) {
      head = r->next;
      if (!head) tail = nullptr;
      size--;
    }
    return r;
  }
};

}  // namespace dpsan::fastpath
