/* SPDX-License-Identifier: BSD-3-Clause */
#include "mini_switch.h"

#include <arpa/inet.h>
#include <chrono>
#include <thread>

namespace dpsan::perf {

namespace {

std::atomic<SOCKET> g_next_handle{0x100000};

SOCKET WSPAPI create_socket_handle(DWORD, DWORD_PTR, LPINT) { return g_next_handle.fetch_add(1); }
int WSPAPI close_socket_handle(SOCKET, LPINT) { return 0; }
BOOL WSPAPI set_event(WSAEVENT h, LPINT) {
  static_cast<Event*>(h)->set.store(true, std::memory_order_release);
  return TRUE;
}
BOOL WSPAPI reset_event(WSAEVENT h, LPINT) {
  static_cast<Event*>(h)->set.store(false, std::memory_order_release);
  return TRUE;
}
int WSPAPI complete_overlapped(SOCKET, LPWSAOVERLAPPED ov, DWORD error, DWORD bytes, LPINT) {
  if (MiniSwitch::on_complete) MiniSwitch::on_complete(ov, error);
  ov->InternalHigh = bytes;
  std::atomic_ref<ULONG_PTR>(ov->Internal).store(0, std::memory_order_release);
  return 0;
}

}  // namespace

WSPUPCALLTABLEEX MiniSwitch::upcall_table() {
  WSPUPCALLTABLEEX t{};
  t.lpWPUCreateSocketHandle = create_socket_handle;
  t.lpWPUCloseSocketHandle = close_socket_handle;
  t.lpWPUSetEvent = set_event;
  t.lpWPUResetEvent = reset_event;
  t.lpWPUCompleteOverlappedRequest = complete_overlapped;
  return t;
}

bool Event::wait(int timeout_ms) const {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!set.load(std::memory_order_acquire)) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return true;
}

int MiniSwitch::startup() {
  WSPDATA data{};
  WSAPROTOCOL_INFOW info{};
  WSPUPCALLTABLEEX up = upcall_table();
  int rc = WSPStartupEx(MAKEWORD(2, 2), &data, &info, &up, &proc_);
  if (rc != 0) return rc;
  register_memory = reinterpret_cast<LPFN_WSPREGISTERMEMORY>(extension(WSAID_REGISTERMEMORY));
  return 0;
}

void* MiniSwitch::extension(GUID id) const {
  DWORD got = 0;
  int err = 0;
  void* fn = nullptr;
  proc_.lpWSPIoctl(0, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof id, &fn, sizeof fn, &got,
                   nullptr, nullptr, nullptr, &err);
  return fn;
}

int MiniSwitch::stats(DPSAN_STATS* st) const {
  DWORD got = 0;
  int err = 0;
  *st = DPSAN_STATS{};
  if (proc_.lpWSPIoctl(0, SIO_DPSAN_GET_STATS, nullptr, 0, st, sizeof *st, &got, nullptr, nullptr,
                       nullptr, &err) == 0)
    return 0;
  *st = DPSAN_STATS{};
  return err;
}

int MiniSwitch::cleanup() {
  int err = 0;
  return proc_.lpWSPCleanup(&err) == 0 ? 0 : err;
}

std::string MiniSwitch::listen(uint32_t ip, uint16_t port, Event* ev, SOCKET* listener) {
  int err = 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = ip;
  addr.sin_port = htons(port);
  SOCKET l = proc_.lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED, &err);
  if (l == INVALID_SOCKET) return "WSPSocket (listener): " + std::to_string(err);
  *listener = l;
  if (proc_.lpWSPBind(l, reinterpret_cast<sockaddr*>(&addr), sizeof addr, &err) != 0)
    return "WSPBind (listener): " + std::to_string(err);
  if (proc_.lpWSPListen(l, 16, &err) != 0) return "WSPListen: " + std::to_string(err);
  proc_.lpWSPEventSelect(l, ev, FD_ACCEPT, &err);
  return "";
}

std::string MiniSwitch::accept(SOCKET listener, Event* ev, int timeout_ms, SOCKET* s) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int err = 0;
  for (;;) {
    // Try first: a connection queued before the event was last reset signals nothing new.
    sockaddr_in peer{};
    int peer_len = sizeof peer;
    *s = proc_.lpWSPAccept(listener, reinterpret_cast<sockaddr*>(&peer), &peer_len, nullptr, 0, &err);
    if (*s != INVALID_SOCKET) return "";
    if (err != WSAEWOULDBLOCK) return "WSPAccept: " + std::to_string(err);
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    end - std::chrono::steady_clock::now()).count());
    if (left <= 0 || !ev->wait(left)) return "no connection within " + std::to_string(timeout_ms) + " ms";
    WSANETWORKEVENTS ne{};
    proc_.lpWSPEnumNetworkEvents(listener, ev, &ne, &err);
  }
}

int MiniSwitch::connect_start(uint32_t server_ip, uint16_t port, uint32_t client_ip, Event* ev,
                              SOCKET* s) {
  int err = 0;
  SOCKET c = proc_.lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED, &err);
  if (c == INVALID_SOCKET) return err;
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = client_ip;
  sockaddr_in to = any;
  to.sin_addr.s_addr = server_ip;
  to.sin_port = htons(port);
  if (proc_.lpWSPBind(c, reinterpret_cast<sockaddr*>(&any), sizeof any, &err) == 0) {
    proc_.lpWSPEventSelect(c, ev, FD_CONNECT, &err);
    if (proc_.lpWSPConnect(c, reinterpret_cast<sockaddr*>(&to), sizeof to, nullptr, nullptr,
                           nullptr, nullptr, &err) == 0)
      err = WSAEINVAL;  // a non-blocking socket cannot connect at once
    if (err == WSAEWOULDBLOCK) {
      *s = c;
      return 0;
    }
  }
  int e = 0;
  proc_.lpWSPCloseSocket(c, &e);
  return err;
}

int MiniSwitch::connect_finish(SOCKET c, Event* ev, int timeout_ms) {
  int err = 0, code = WSAETIMEDOUT;
  if (ev->wait(timeout_ms)) {
    WSANETWORKEVENTS ne{};
    proc_.lpWSPEnumNetworkEvents(c, ev, &ne, &err);
    if (ne.lNetworkEvents & FD_CONNECT) code = ne.iErrorCode[FD_CONNECT_BIT];
  }
  // The caller's event may go out of scope: no more network events for it.
  proc_.lpWSPEventSelect(c, nullptr, 0, &err);
  if (code != 0) proc_.lpWSPCloseSocket(c, &err);
  return code;
}

std::string MiniSwitch::connect_pair(uint16_t port, SOCKET* client, SOCKET* server,
                                     uint32_t server_ip, uint32_t client_ip) {
  Event accept_ev, connect_ev;
  SOCKET l = INVALID_SOCKET, c = INVALID_SOCKET;
  int err = 0;
  std::string why = listen(server_ip, port, &accept_ev, &l);
  if (why.empty()) {
    if (int rc = connect_start(server_ip, port, client_ip, &connect_ev, &c)) why = "WSPConnect: " + std::to_string(rc);
  }
  if (why.empty()) why = accept(l, &accept_ev, 5000, server);
  if (why.empty()) {
    if (int rc = connect_finish(c, &connect_ev, 5000)) why = "FD_CONNECT error " + std::to_string(rc);
  }
  if (l != INVALID_SOCKET) proc_.lpWSPCloseSocket(l, &err);
  *client = c;
  return why;
}

}  // namespace dpsan::perf
