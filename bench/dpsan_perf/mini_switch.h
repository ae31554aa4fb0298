/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A minimal switch for driving dpsan directly: the upcall table, switch-owned events, and the
 * connection set-up sequence the Windows Sockets switch uses (spec 1.4), through the public
 * headers only.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <dpsan/dpsan_stats.h>
#include <dpsan/ws2san.h>

namespace dpsan::perf {

/** A switch-owned event: what WPUSetEvent / WPUResetEvent act on. */
struct Event {
  std::atomic<bool> set{false};
  bool wait(int timeout_ms) const;
};

class MiniSwitch {
 public:
  /** Called from WPUCompleteOverlappedRequest before it publishes (tests count completions). */
  static inline void (*on_complete)(LPWSAOVERLAPPED ov, DWORD error) = nullptr;

  /** The switch's upcall table (the same every time). */
  static WSPUPCALLTABLEEX upcall_table();
  /** WSPStartupEx with this switch's upcall table. @return 0 or the WSA code. */
  int startup();
  int cleanup();
  const WSPPROC_TABLE& proc() const { return proc_; }
  /** An extension function through its GUID (SIO_GET_EXTENSION_FUNCTION_POINTER). nullptr if none. */
  void* extension(GUID id) const;
  /** The provider's counters (SIO_DPSAN_GET_STATS). @return 0 or the WSA code (*st zeroed). */
  int stats(DPSAN_STATS* st) const;
  LPFN_WSPREGISTERMEMORY register_memory = nullptr;

  /**
   * A connected pair: (client, server). The server listens on server_ip:port, the client is
   * bound to client_ip (network order; both default to the embedded default's 127.0.0.1).
   * @return "" or what failed.
   */
  std::string connect_pair(uint16_t port, SOCKET* client, SOCKET* server,
                           uint32_t server_ip = htonl(INADDR_LOOPBACK),
                           uint32_t client_ip = htonl(INADDR_LOOPBACK));

  /*
   * The same steps one end at a time, for ends in two processes. Addresses in network order.
   */
  /** A listener on ip:port that signals `ev` on FD_ACCEPT. @return "" or what failed. */
  std::string listen(uint32_t ip, uint16_t port, Event* ev, SOCKET* listener);
  /** Accept one connection, waiting up to timeout_ms for it. @return "" or what failed. */
  std::string accept(SOCKET listener, Event* ev, int timeout_ms, SOCKET* s);
  /**
   * Start a connect from client_ip to server_ip:port; FD_CONNECT will signal `ev`.
   * @return 0 with *s connecting, or the WSA code (no socket is left open).
   */
  int connect_start(uint32_t server_ip, uint16_t port, uint32_t client_ip, Event* ev, SOCKET* s);
  /**
   * Wait up to timeout_ms for the FD_CONNECT of connect_start; `ev` is released either way.
   * @return 0 (connected), or the WSA code (the socket is then closed).
   */
  int connect_finish(SOCKET s, Event* ev, int timeout_ms);

 private:
  WSPPROC_TABLE proc_{};
};

}  // namespace dpsan::perf
