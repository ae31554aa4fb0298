/* SPDX-License-Identifier: BSD-3-Clause */
/** @file WSPConnect (nonblocking, result through FD_CONNECT) and WSPAccept. */
#include <arpa/inet.h>
#include <cstring>

#include "fastpath/engine.h"
#include "sockets.h"
#include "validate.h"
#include "wsp.h"

namespace dpsan::spi {

namespace {

/** Post a request built by `fill` to `core`; @return 0 or WSAENOBUFS (nothing queued). */
template <class F>
int post_request(control::Instance* inst, unsigned core, fastpath::SocketLink* link, F&& fill) {
  fastpath::Engine& e = inst->engine();
  fastpath::Request* r = e.request_get();
  if (r == nullptr) return WSAENOBUFS;
  r->link = link;
  fill(*r);
  if (!e.post_to(core, r)) {
    e.request_put(r);
    return WSAENOBUFS;
  }
  return 0;
}

}  // namespace

int WSPConnect(SOCKET sock, const struct sockaddr* name, int namelen, LPWSABUF lpCallerData,
               LPWSABUF lpCalleeData, LPQOS lpSQOS, LPQOS lpGQOS, LPINT lpErrno) {
  (void)lpCallerData;  // the switch passes none; connect data is not carried
  (void)lpCalleeData;
  (void)lpSQOS;
  (void)lpGQOS;
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail(lpErrno, WSAENOTSOCK);
  control::Instance* inst = guard.instance();
  if (inst == nullptr) return fail(lpErrno, no_instance_code(guard, WSAENOTSOCK));
  const sockaddr_in* to = as_sockaddr_in(name, namelen);
  if (to == nullptr) return fail(lpErrno, WSAEFAULT);
  if (to->sin_addr.s_addr == htonl(INADDR_ANY) || to->sin_port == 0)
    return fail(lpErrno, WSAEADDRNOTAVAIL);
  {
    std::lock_guard<std::mutex> lk(s->mu);
    switch (s->state) {
      case SockState::kCreated: {  // implicit bind to the served address
        uint16_t port = reserve_port(0);
        if (port == 0) return fail(lpErrno, WSAENOBUFS);
        s->reserved_port = port;
        s->local.sin_family = AF_INET;
        s->local.sin_port = htons(port);
        s->local.sin_addr.s_addr = source_ip(inst, to->sin_addr.s_addr);
        break;
      }
      case SockState::kBound:
        break;
      case SockState::kConnecting:
      case SockState::kConnected:
        switch (s->link.state.load(std::memory_order_acquire)) {
          case fastpath::kLinkEstablished: return fail(lpErrno, WSAEISCONN);
          case fastpath::kLinkConnecting: return fail(lpErrno, WSAEALREADY);
          default: return fail(lpErrno, WSAEINVAL);  // failed: the switch closes it
        }
      default: return fail(lpErrno, WSAEINVAL);  // listening
    }
    s->peer = *to;
    s->state = SockState::kConnecting;
    s->link.state.store(fastpath::kLinkConnecting, std::memory_order_release);
    uint32_t local_ip = s->local.sin_addr.s_addr ? s->local.sin_addr.s_addr
                                                  : source_ip(inst, to->sin_addr.s_addr);
    int rc = post_request(inst, s->link.core, &s->link, [&](fastpath::Request& r) {
      r.kind = fastpath::ReqKind::kConnect;
      r.local_ip = local_ip;
      r.peer_ip = to->sin_addr.s_addr;
      r.local_port = ntohs(s->local.sin_port);
      r.peer_port = ntohs(to->sin_port);
    });
    if (rc != 0) {
      s->state = SockState::kBound;
      s->link.state.store(fastpath::kLinkNone, std::memory_order_release);
      return fail(lpErrno, rc);
    }
  }
  // R45: with FD_CONNECT selected the socket is nonblocking: the result comes as FD_CONNECT.
  if (s->link.events.selected.load(std::memory_order_acquire) & FD_CONNECT)
    return fail(lpErrno, WSAEWOULDBLOCK);
  // A direct user that selected nothing gets a blocking connect.
  while (s->link.state.load(std::memory_order_acquire) == fastpath::kLinkConnecting) {
    if (inst->stopping()) return fail(lpErrno, WSAENETDOWN);
    nap_us(100);
  }
  if (s->link.state.load(std::memory_order_acquire) == fastpath::kLinkEstablished) {
    std::lock_guard<std::mutex> lk(s->mu);
    s->state = SockState::kConnected;
    s->link.events.recorded.fetch_and(~static_cast<uint32_t>(FD_CONNECT), std::memory_order_acq_rel);
    return 0;
  }
  int err = s->link.events.error[FD_CONNECT_BIT].load(std::memory_order_relaxed);
  return fail(lpErrno, err ? err : WSAECONNREFUSED);
}

SOCKET WSPAccept(SOCKET sock, struct sockaddr* addr, LPINT addrlen, LPCONDITIONPROC lpfnCondition,
                 DWORD_PTR dwCallbackData, LPINT lpErrno) {
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail_socket(lpErrno, WSAENOTSOCK);
  control::Instance* inst = guard.instance();
  if (inst == nullptr) return fail_socket(lpErrno, no_instance_code(guard, WSAENOTSOCK));
  if (addr != nullptr && (addrlen == nullptr || *addrlen < static_cast<int>(sizeof(sockaddr_in))))
    return fail_socket(lpErrno, WSAEFAULT);
  fastpath::Listener* l;
  sockaddr_in local;
  {
    std::lock_guard<std::mutex> lk(s->mu);
    if (s->state != SockState::kListening) return fail_socket(lpErrno, WSAEINVAL);
    l = s->listener;
    local = s->local;
  }
  fastpath::PendingConn* p = nullptr;
  if (l->queue.dequeue_burst(&p, 1) == 0) return fail_socket(lpErrno, WSAEWOULDBLOCK);
  l->queued.fetch_sub(1, std::memory_order_acq_rel);

  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_addr.s_addr = p->addr.dst_ip;
  peer.sin_port = htons(p->peer_port);
  local.sin_addr.s_addr = p->addr.src_ip;

  // R49: the condition function runs once, on this thread, before we return.
  int verdict = CF_ACCEPT;
  if (lpfnCondition != nullptr) {
    WSABUF caller_id{sizeof peer, reinterpret_cast<char*>(&peer)};
    WSABUF callee_id{sizeof local, reinterpret_cast<char*>(&local)};
    GROUP g = 0;
    verdict = lpfnCondition(&caller_id, nullptr, nullptr, nullptr, &callee_id, nullptr, &g,
                            dwCallbackData);
  }

  // R50: reset the event before returning; a request still queued signals it again.
  auto rearm = [&] {
    fastpath::NetEvents& ev = s->link.events;
    int e = 0;
    if (void* h = ev.event.load(std::memory_order_acquire))
      inst->upcalls()->lpWPUResetEvent(static_cast<WSAEVENT>(h), &e);
    if (l->queued.load(std::memory_order_acquire) > 0)
      inst->engine().record_event(&s->link, fastpath::kAcceptBit, 0);
  };

  // A refusal is handled by the core that owns the pending request; it concerns no socket.
  auto refuse = [&] {
    // With no request to spare, the core refuses it at the final cleanup instead.
    (void)post_request(inst, p->core, nullptr, [&](fastpath::Request& r) {
      r.kind = fastpath::ReqKind::kReject;
      r.pending = p;
    });
  };
  if (verdict == CF_DEFER) {
    // Back in the queue (there is room: we just took it out), unless the backlog moved.
    l->queued.fetch_add(1, std::memory_order_acq_rel);
    if (!l->queue.enqueue(p)) {
      l->queued.fetch_sub(1, std::memory_order_acq_rel);
      refuse();
    }
    rearm();
    return fail_socket(lpErrno, WSATRY_AGAIN);
  }
  if (verdict != CF_ACCEPT) {
    refuse();
    rearm();
    return fail_socket(lpErrno, verdict == CF_REJECT ? WSAECONNREFUSED : WSAEINVAL);
  }

  int err = 0;
  Socket* n = create_socket(inst, 0, p->core, &err);
  if (n == nullptr) {
    refuse();
    rearm();
    return fail_socket(lpErrno, err);
  }
  {
    std::lock_guard<std::mutex> lk(n->mu);
    n->local = local;
    n->peer = peer;
    n->state = SockState::kConnected;
  }
  n->link.state.store(fastpath::kLinkEstablished, std::memory_order_release);
  int rc = post_request(inst, p->core, &n->link, [&](fastpath::Request& r) {
    r.kind = fastpath::ReqKind::kAccept;
    r.pending = p;
  });
  if (rc != 0) {
    n->link.state.store(fastpath::kLinkDead, std::memory_order_release);
    n->link.sticky_error.store(WSAECONNABORTED, std::memory_order_relaxed);
  }
  rearm();
  if (addr != nullptr) {
    std::memcpy(addr, &peer, sizeof peer);
    *addrlen = sizeof peer;
  }
  return static_cast<SOCKET>(n->self);
}

}  // namespace dpsan::spi
