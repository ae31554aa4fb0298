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
  GUID id = WSAID_REGISTERMEMORY;
  DWORD got = 0;
  int err = 0;
  void* fn = nullptr;
  proc_.lpWSPIoctl(0, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof id, &fn, sizeof fn, &got,
                   nullptr, nullptr, nullptr, &err);
  register_memory = reinterpret_cast<LPFN_WSPREGISTERMEMORY>(fn);
  return 0;
}

int MiniSwitch::cleanup() {
  int err = 0;
  return proc_.lpWSPCleanup(&err) == 0 ? 0 : err;
}

std::string MiniSwitch::connect_pair(uint16_t port, SOCKET* client, SOCKET* server,
                                     uint32_t server_ip, uint32_t client_ip) {
  int err = 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = server_ip;
  addr.sin_port = htons(port);
  Event accept_ev, connect_ev;

  SOCKET l = proc_.lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED, &err);
  if (l == INVALID_SOCKET) return "WSPSocket (listener): " + std::to_string(err);
  if (proc_.lpWSPBind(l, reinterpret_cast<sockaddr*>(&addr), sizeof addr, &err) != 0)
    return "WSPBind (listener): " + std::to_string(err);
  if (proc_.lpWSPListen(l, 16, &err) != 0) return "WSPListen: " + std::to_string(err);
  proc_.lpWSPEventSelect(l, &accept_ev, FD_ACCEPT, &err);

  SOCKET c = proc_.lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED, &err);
  sockaddr_in any = addr;
  any.sin_addr.s_addr = client_ip;
  any.sin_port = 0;
  if (proc_.lpWSPBind(c, reinterpret_cast<sockaddr*>(&any), sizeof any, &err) != 0)
    return "WSPBind (client): " + std::to_string(err);
  proc_.lpWSPEventSelect(c, &connect_ev, FD_CONNECT, &err);
  if (proc_.lpWSPConnect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr, nullptr, nullptr,
                         nullptr, nullptr, &err) == 0 || err != WSAEWOULDBLOCK)
    return "WSPConnect: " + std::to_string(err);
  if (!accept_ev.wait(5000)) return "no FD_ACCEPT within 5 s";
  WSANETWORKEVENTS ne{};
  proc_.lpWSPEnumNetworkEvents(l, &accept_ev, &ne, &err);
  sockaddr_in peer{};
  int peer_len = sizeof peer;
  SOCKET s = proc_.lpWSPAccept(l, reinterpret_cast<sockaddr*>(&peer), &peer_len, nullptr, 0, &err);
  if (s == INVALID_SOCKET) return "WSPAccept: " + std::to_string(err);
  if (!connect_ev.wait(5000)) return "no FD_CONNECT within 5 s";
  proc_.lpWSPEnumNetworkEvents(c, &connect_ev, &ne, &err);
  if (!(ne.lNetworkEvents & FD_CONNECT) || ne.iErrorCode[FD_CONNECT_BIT] != 0)
    return "FD_CONNECT error " + std::to_string(ne.iErrorCode[FD_CONNECT_BIT]);
  proc_.lpWSPCloseSocket(l, &err);
  *client = c;
  *server = s;
  return "";
}

}  // namespace dpsan::perf
