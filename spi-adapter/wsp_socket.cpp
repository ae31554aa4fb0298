/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file WSPSocket, WSPBind, WSPListen, WSPEventSelect, WSPEnumNetworkEvents, WSPShutdown,
 * WSPGetSockName, WSPGetPeerName.
 */
#include <arpa/inet.h>
#include <bitset>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <rte_malloc.h>

#include "fastpath/engine.h"
#include "fastpath/tsan.h"
#include "sockets.h"
#include "validate.h"
#include "wsp.h"

namespace dpsan::spi {

namespace {

std::mutex g_ports_mu;
std::bitset<65536> g_ports;  // guarded by g_ports_mu
uint16_t g_next_ephemeral = 49152;
std::atomic<uint32_t> g_next_core{0};

constexpr uint32_t kMaxBacklog = 1024;

}  // namespace

uint16_t reserve_port(uint16_t port) {
  std::lock_guard<std::mutex> lk(g_ports_mu);
  if (port != 0) {
    if (g_ports.test(port)) return 0;
    g_ports.set(port);
    return port;
  }
  for (unsigned i = 0; i < 16384; i++) {
    uint16_t p = g_next_ephemeral;
    g_next_ephemeral = p == 65535 ? 49152 : static_cast<uint16_t>(p + 1);
    if (!g_ports.test(p)) {
      g_ports.set(p);
      return p;
    }
  }
  return 0;
}

void release_port(uint16_t port) {
  std::lock_guard<std::mutex> lk(g_ports_mu);
  g_ports.reset(port);
}

Socket* create_socket(control::Instance* inst, DWORD catalog_id, int core, int* err) {
  Socket* s = SocketTable::get().open();
  if (s == nullptr) {
    *err = WSAEMFILE;
    return nullptr;
  }
  unsigned cores = inst->engine().core_count();
  s->link.core = static_cast<uint16_t>(core >= 0 ? core : g_next_core.fetch_add(1) % cores);
  s->close_req.kind = fastpath::ReqKind::kClose;
  s->close_req.link = &s->link;
  int e = 0;
  SOCKET h = inst->upcalls()->lpWPUCreateSocketHandle(catalog_id, reinterpret_cast<DWORD_PTR>(s), &e);
  if (h == INVALID_SOCKET) {
    SocketTable::get().invalidate(s);
    SocketTable::get().release(s);
    *err = e ? e : WSAENOBUFS;
    return nullptr;
  }
  s->link.switch_handle = h;
  return s;
}

SOCKET WSPSocket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW lpProtocolInfo, GROUP g,
                 DWORD dwFlags, LPINT lpErrno) {
  control::CallGuard guard;
  control::Instance* inst = guard.instance();
  if (inst == nullptr) return fail_socket(lpErrno, no_instance_code(guard, WSANOTINITIALISED));
  // R24: AF_INET / SOCK_STREAM / IPPROTO_TCP, overlapped.
  if (af != AF_INET) return fail_socket(lpErrno, WSAEAFNOSUPPORT);
  if (type != SOCK_STREAM) return fail_socket(lpErrno, WSAEPROTOTYPE);
  if (protocol != IPPROTO_TCP && protocol != 0) return fail_socket(lpErrno, WSAEPROTONOSUPPORT);
  if (!(dwFlags & WSA_FLAG_OVERLAPPED) || g != 0) return fail_socket(lpErrno, WSAEINVAL);
  // Duplicated sockets (dwProviderReserved != 0) are not supported yet (README "Status").
  if (lpProtocolInfo != nullptr && lpProtocolInfo->dwProviderReserved != 0)
    return fail_socket(lpErrno, WSAEINVAL);
  int err = 0;
  DWORD catalog = lpProtocolInfo ? lpProtocolInfo->dwCatalogEntryId : 0;
  Socket* s = create_socket(inst, catalog, -1, &err);
  if (s == nullptr) return fail_socket(lpErrno, err);
  return static_cast<SOCKET>(s->self);  // R23: our descriptor, not the switch handle
}

int WSPBind(SOCKET sock, const struct sockaddr* name, int namelen, LPINT lpErrno) {
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail(lpErrno, WSAENOTSOCK);
  control::Instance* inst = guard.instance();
  if (inst == nullptr) return fail(lpErrno, no_instance_code(guard, WSAENOTSOCK));
  const sockaddr_in* sin = as_sockaddr_in(name, namelen);
  if (sin == nullptr) return fail(lpErrno, WSAEFAULT);
  // R52: only the addresses we serve, or the wildcard (listen on all of them).
  if (sin->sin_addr.s_addr != htonl(INADDR_ANY) && !control::serves_ip(inst->config(), sin->sin_addr.s_addr))
    return fail(lpErrno, WSAEADDRNOTAVAIL);
  std::lock_guard<std::mutex> lk(s->mu);
  if (s->state != SockState::kCreated) return fail(lpErrno, WSAEINVAL);
  uint16_t port = reserve_port(ntohs(sin->sin_port));
  if (port == 0) return fail(lpErrno, sin->sin_port ? WSAEADDRINUSE : WSAENOBUFS);
  s->reserved_port = port;
  s->local = *sin;
  s->local.sin_port = htons(port);
  s->state = SockState::kBound;
  return 0;
}

int WSPListen(SOCKET sock, int backlog, LPINT lpErrno) {
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail(lpErrno, WSAENOTSOCK);
  control::Instance* inst = guard.instance();
  if (inst == nullptr) return fail(lpErrno, no_instance_code(guard, WSAENOTSOCK));
  uint32_t bl = backlog <= 0 ? 1 : std::min<uint32_t>(static_cast<uint32_t>(backlog), kMaxBacklog);
  std::lock_guard<std::mutex> lk(s->mu);
  if (s->state == SockState::kListening) {  // a second call changes the backlog (WinOF; GEN)
    s->listener->backlog.store(bl, std::memory_order_relaxed);
    return 0;
  }
  // R51: unbound -> WSAEINVAL, connected -> WSAEISCONN, and never WSAEADDRINUSE.
  if (s->state == SockState::kConnecting || s->state == SockState::kConnected)
    return fail(lpErrno, WSAEISCONN);
  if (s->state != SockState::kBound) return fail(lpErrno, WSAEINVAL);
  fastpath::Listener* l = new_listener(s.get());
  if (l == nullptr) return fail(lpErrno, WSAENOBUFS);
  l->ip = s->local.sin_addr.s_addr;
  l->port = ntohs(s->local.sin_port);
  l->backlog.store(bl, std::memory_order_relaxed);
  l->link = &s->link;
  if (!inst->engine().listeners.publish(l->port, l)) {
    free_listener(l);
    return fail(lpErrno, WSAEINVAL);
  }
  s->listener = l;
  s->state = SockState::kListening;
  return 0;
}

fastpath::Listener* new_listener(const Socket* s) {
  fastpath::TsanHeapSection heap;
  auto* l = static_cast<fastpath::Listener*>(rte_zmalloc("dpsan_listener", sizeof(fastpath::Listener), 64));
  if (l == nullptr) return nullptr;
  new (l) fastpath::Listener();
  char name[RTE_RING_NAMESIZE];
  std::snprintf(name, sizeof name, "dpsl%u_%u", s->index, static_cast<unsigned>(s->self >> 32));
  if (!l->queue.create(name, kMaxBacklog, RING_F_EXACT_SZ)) {  // room for a full backlog
    l->~Listener();
    rte_free(l);
    return nullptr;
  }
  return l;
}

void free_listener(fastpath::Listener* l) {
  fastpath::TsanHeapSection heap;
  l->queue.destroy();
  l->~Listener();
  rte_free(l);
}

int WSPEventSelect(SOCKET sock, WSAEVENT hEventObject, LONG lNetworkEvents, LPINT lpErrno) {
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail(lpErrno, WSAENOTSOCK);
  control::Instance* inst = guard.instance();
  if (inst == nullptr) return fail(lpErrno, no_instance_code(guard, WSAENOTSOCK));
  if (lNetworkEvents & ~static_cast<LONG>(FD_ACCEPT | FD_CONNECT)) return fail(lpErrno, WSAEINVAL);
  fastpath::NetEvents& ev = s->link.events;
  ev.event.store(lNetworkEvents ? hEventObject : nullptr, std::memory_order_release);
  ev.selected.store(static_cast<uint32_t>(lNetworkEvents), std::memory_order_release);
  // An event recorded before the selection is signalled at once (WinOF does the same).
  if (ev.recorded.load(std::memory_order_acquire) & static_cast<uint32_t>(lNetworkEvents))
    inst->engine().queue_signal(&s->link);
  return 0;
}

int WSPEnumNetworkEvents(SOCKET sock, WSAEVENT hEventObject, LPWSANETWORKEVENTS lpNetworkEvents,
                         LPINT lpErrno) {
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail(lpErrno, WSAENOTSOCK);
  control::Instance* inst = guard.instance();
  if (inst == nullptr) return fail(lpErrno, no_instance_code(guard, WSAENOTSOCK));
  if (lpNetworkEvents == nullptr) return fail(lpErrno, WSAEFAULT);
  int e = 0;
  if (hEventObject != nullptr) inst->upcalls()->lpWPUResetEvent(hEventObject, &e);  // Decision 5
  fastpath::NetEvents& ev = s->link.events;
  uint32_t got = ev.recorded.exchange(0, std::memory_order_acq_rel);
  *lpNetworkEvents = WSANETWORKEVENTS{};
  lpNetworkEvents->lNetworkEvents = static_cast<LONG>(got);
  for (int bit : {FD_ACCEPT_BIT, FD_CONNECT_BIT})
    if (got & (1u << bit)) lpNetworkEvents->iErrorCode[bit] = ev.error[bit].load(std::memory_order_relaxed);
  return 0;
}

int WSPShutdown(SOCKET sock, int how, LPINT lpErrno) {
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail(lpErrno, WSAENOTSOCK);
  if (guard.instance() == nullptr) return fail(lpErrno, no_instance_code(guard, WSAENOTSOCK));
  if (how < SD_RECEIVE || how > SD_BOTH) return fail(lpErrno, WSAEINVAL);
  if (s->link.state.load(std::memory_order_acquire) != fastpath::kLinkEstablished)
    return fail(lpErrno, WSAENOTCONN);
  if (how != SD_SEND) s->shut_recv.store(true, std::memory_order_release);
  if (how != SD_RECEIVE) s->shut_send.store(true, std::memory_order_release);
  return 0;
}

namespace {
int copy_name(const sockaddr_in& a, struct sockaddr* name, LPINT namelen, LPINT lpErrno) {
  if (name == nullptr || namelen == nullptr || *namelen < static_cast<int>(sizeof(sockaddr_in)))
    return fail(lpErrno, WSAEFAULT);
  std::memcpy(name, &a, sizeof a);
  *namelen = sizeof a;
  return 0;
}
}  // namespace

int WSPGetSockName(SOCKET sock, struct sockaddr* name, LPINT namelen, LPINT lpErrno) {
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail(lpErrno, WSAENOTSOCK);
  if (guard.instance() == nullptr) return fail(lpErrno, no_instance_code(guard, WSAENOTSOCK));
  std::lock_guard<std::mutex> lk(s->mu);
  if (s->state == SockState::kCreated) return fail(lpErrno, WSAEINVAL);
  return copy_name(s->local, name, namelen, lpErrno);
}

int WSPGetPeerName(SOCKET sock, struct sockaddr* name, LPINT namelen, LPINT lpErrno) {
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail(lpErrno, WSAENOTSOCK);
  if (guard.instance() == nullptr) return fail(lpErrno, no_instance_code(guard, WSAENOTSOCK));
  if (s->link.state.load(std::memory_order_acquire) != fastpath::kLinkEstablished)
    return fail(lpErrno, WSAENOTCONN);
  std::lock_guard<std::mutex> lk(s->mu);
  return copy_name(s->peer, name, namelen, lpErrno);
}

}  // namespace dpsan::spi
