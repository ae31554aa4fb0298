/* SPDX-License-Identifier: BSD-3-Clause */
// dpsan_conf_child: the child process of R22. Self-contained (no gtest), a minimal switch.
//
//   dpsan_conf_child noclean PORT   startup, listen, connect to its own listener, accept, then
//                                   _exit(0) without WSPCleanup (an abnormal end).
//   dpsan_conf_child full PORT      the same, then one message each way, close everything,
//                                   WSPCleanup (and a second one must say WSANOTINITIALISED).
//
// Exit status: 0 on success; 10 + the number of the step that failed otherwise (printed).

#include <dpsan/ws2san.h>
#include <dpsan/ws2spi.h>

#include <arpa/inet.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace {

struct Ev {
  std::mutex m;
  std::condition_variable cv;
  bool on = false;
};

std::atomic<SOCKET> g_next{0x9000};

SOCKET WSPAPI create_handle(DWORD, DWORD_PTR, LPINT) { return g_next.fetch_add(1); }
int WSPAPI close_handle(SOCKET, LPINT) { return 0; }
BOOL WSPAPI set_event(WSAEVENT e, LPINT) {
  auto* ev = static_cast<Ev*>(e);
  {
    std::lock_guard<std::mutex> lk(ev->m);
    ev->on = true;
  }
  ev->cv.notify_all();
  return TRUE;
}
BOOL WSPAPI reset_event(WSAEVENT e, LPINT) {
  auto* ev = static_cast<Ev*>(e);
  std::lock_guard<std::mutex> lk(ev->m);
  ev->on = false;
  return TRUE;
}
int WSPAPI complete(SOCKET, LPWSAOVERLAPPED ov, DWORD, DWORD bytes, LPINT) {
  __atomic_store_n(&ov->InternalHigh, bytes, __ATOMIC_RELAXED);
  __atomic_store_n(&ov->Internal, 0, __ATOMIC_RELEASE);
  return 0;
}
int WSPAPI query_ctx(SOCKET, PDWORD_PTR c, LPINT) {
  if (c) *c = 0;
  return 0;
}

bool wait_ev(Ev* ev, int ms) {
  std::unique_lock<std::mutex> lk(ev->m);
  return ev->cv.wait_for(lk, std::chrono::milliseconds(ms), [&] { return ev->on; });
}

bool wait_ov(WSAOVERLAPPED* ov, int ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (__atomic_load_n(&ov->Internal, __ATOMIC_ACQUIRE) == WSS_OPERATION_IN_PROGRESS) {
    if (std::chrono::steady_clock::now() > end) return false;
    usleep(200);
  }
  return true;
}

[[noreturn]] void fail(int step, const char* what, int err) {
  std::fprintf(stderr, "dpsan_conf_child: step %d (%s) failed: error %d\n", step, what, err);
  std::fflush(stderr);
  _exit(10 + step);
}

int WSPAPI accept_all(LPWSABUF, LPWSABUF, LPQOS, LPQOS, LPWSABUF, LPWSABUF, GROUP*, DWORD_PTR) {
  return CF_ACCEPT;
}

sockaddr_in addr(const char* ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s noclean|full PORT\n", argv[0]);
    return 2;
  }
  bool full = std::strcmp(argv[1], "full") == 0;
  uint16_t port = static_cast<uint16_t>(std::atoi(argv[2]));

  static WSPUPCALLTABLEEX up{};
  up.lpWPUCreateSocketHandle = create_handle;
  up.lpWPUCloseSocketHandle = close_handle;
  up.lpWPUSetEvent = set_event;
  up.lpWPUResetEvent = reset_event;
  up.lpWPUCompleteOverlappedRequest = complete;
  up.lpWPUQuerySocketHandleContext = query_ctx;
  static WSAPROTOCOL_INFOW info{};
  info.iAddressFamily = AF_INET;
  info.iSocketType = SOCK_STREAM;
  info.iProtocol = IPPROTO_TCP;
  info.dwCatalogEntryId = 1001;
  WSPDATA data{};
  static WSPPROC_TABLE p{};
  int rc = WSPStartupEx(MAKEWORD(2, 2), &data, &info, &up, &p);
  if (rc != 0) fail(1, "WSPStartupEx", rc);

  int err = 0;
  static Ev lev, cev;
  SOCKET l = p.lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, &info, 0, WSA_FLAG_OVERLAPPED, &err);
  if (l == INVALID_SOCKET) fail(2, "WSPSocket", err);
  sockaddr_in la = addr("127.0.0.1", port);
  if (p.lpWSPBind(l, reinterpret_cast<sockaddr*>(&la), sizeof la, &err) != 0) fail(3, "bind", err);
  if (p.lpWSPListen(l, SOMAXCONN, &err) != 0) fail(4, "listen", err);
  if (p.lpWSPEventSelect(l, &lev, FD_ACCEPT, &err) != 0) fail(5, "EventSelect", err);

  SOCKET c = p.lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, &info, 0, WSA_FLAG_OVERLAPPED, &err);
  if (c == INVALID_SOCKET) fail(6, "WSPSocket", err);
  sockaddr_in ca = addr("127.0.0.1", 0);
  if (p.lpWSPBind(c, reinterpret_cast<sockaddr*>(&ca), sizeof ca, &err) != 0) fail(7, "bind", err);
  if (p.lpWSPEventSelect(c, &cev, FD_CONNECT, &err) != 0) fail(8, "EventSelect", err);
  if (p.lpWSPConnect(c, reinterpret_cast<sockaddr*>(&la), sizeof la, nullptr, nullptr, nullptr,
                     nullptr, &err) != SOCKET_ERROR ||
      err != WSAEWOULDBLOCK)
    fail(9, "connect", err);
  if (!wait_ev(&lev, 5000)) fail(10, "FD_ACCEPT", 0);
  WSANETWORKEVENTS ne{};
  if (p.lpWSPEnumNetworkEvents(l, &lev, &ne, &err) != 0) fail(11, "EnumNetworkEvents", err);
  sockaddr_in peer{};
  int plen = sizeof peer;
  SOCKET a = p.lpWSPAccept(l, reinterpret_cast<sockaddr*>(&peer), &plen, accept_all, 0, &err);
  if (a == INVALID_SOCKET) fail(12, "accept", err);
  if (!wait_ev(&cev, 5000)) fail(13, "FD_CONNECT", 0);
  if (p.lpWSPEnumNetworkEvents(c, &cev, &ne, &err) != 0) fail(14, "EnumNetworkEvents", err);
  if (!(ne.lNetworkEvents & FD_CONNECT) || ne.iErrorCode[FD_CONNECT_BIT] != 0)
    fail(15, "connect result", ne.iErrorCode[FD_CONNECT_BIT]);

  if (!full) _exit(0);  // R22: the process ends without WSPCleanup.

  GUID greg = WSAID_REGISTERMEMORY;
  LPFN_WSPREGISTERMEMORY reg = nullptr;
  DWORD ret = 0;
  if (p.lpWSPIoctl(c, SIO_GET_EXTENSION_FUNCTION_POINTER, &greg, sizeof greg, &reg, sizeof reg,
                   &ret, nullptr, nullptr, nullptr, &err) != 0)
    fail(16, "extension pointer", err);
  static char cbuf[4096], abuf[4096];
  if (reg(c, cbuf, sizeof cbuf, MEM_READWRITE, &err) == nullptr) fail(17, "register", err);
  if (reg(a, abuf, sizeof abuf, MEM_READWRITE, &err) == nullptr) fail(18, "register", err);
  static WSAOVERLAPPED rov{}, sov{};
  static WSABUF rb{sizeof abuf, abuf}, sb{5, cbuf};
  std::memcpy(cbuf, "hello", 5);
  DWORD n = 0, fl = 0;
  if (p.lpWSPRecv(a, &rb, 1, &n, &fl, &rov, nullptr, nullptr, &err) != SOCKET_ERROR ||
      err != WSA_IO_PENDING)
    fail(19, "recv", err);
  if (p.lpWSPSend(c, &sb, 1, &n, 0, &sov, nullptr, nullptr, &err) != SOCKET_ERROR ||
      err != WSA_IO_PENDING)
    fail(20, "send", err);
  if (!wait_ov(&rov, 5000) || rov.OffsetHigh != 0 || rov.InternalHigh != 5 ||
      std::memcmp(abuf, "hello", 5) != 0)
    fail(21, "receive completion", static_cast<int>(rov.OffsetHigh));
  if (!wait_ov(&sov, 5000) || sov.OffsetHigh != 0) fail(22, "send completion", 0);
  if (p.lpWSPCloseSocket(a, &err) != 0) fail(23, "close", err);
  if (p.lpWSPCloseSocket(c, &err) != 0) fail(24, "close", err);
  if (p.lpWSPCloseSocket(l, &err) != 0) fail(25, "close", err);
  if (p.lpWSPCleanup(&err) != 0) fail(26, "WSPCleanup", err);
  if (p.lpWSPCleanup(&err) != SOCKET_ERROR || err != WSANOTINITIALISED)
    fail(27, "second WSPCleanup", err);
  return 0;
}
