/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Connection set-up for dpsan_peer, as non-blocking state machines so that one thread can
 * listen and connect at once (the --both mode): an Acceptor listens and accepts with FD_ACCEPT
 * (R48, R50); a Dialer connects N sockets with FD_CONNECT (R45), and retries a connect that
 * was refused or timed out (the peer process may not be up yet: R46) until its deadline.
 * Public SPI and the minimal switch's events only. One application thread.
 */
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <dpsan/ws2san.h>
#include <dpsan/ws2spi.h>

#include "mini_switch.h"

namespace dpsan::itest {

/** Parses "a.b.c.d:port". @return false if it is not one. */
bool parse_endpoint(const std::string& s, sockaddr_in* out);

class Acceptor {
 public:
  explicit Acceptor(const WSPPROC_TABLE& proc) : proc_(proc) {}
  ~Acceptor();
  /** Binds, listens (backlog), selects FD_ACCEPT. @return "" or what failed. */
  std::string listen(const sockaddr_in& at, int backlog);
  /** Accepts what is queued. @return "" or what failed; new sockets go to accepted(). */
  std::string step();
  std::vector<SOCKET>& accepted() { return accepted_; }
  void close();

 private:
  const WSPPROC_TABLE& proc_;
  SOCKET l_ = INVALID_SOCKET;
  std::unique_ptr<perf::Event> ev_;
  std::vector<SOCKET> accepted_;
};

class Dialer {
 public:
  using Clock = std::chrono::steady_clock;
  /** Connects n sockets to `to` (bound to `from` first when from.sin_addr is not 0). */
  Dialer(const WSPPROC_TABLE& proc, const sockaddr_in& to, const sockaddr_in& from, unsigned n,
         unsigned parallel);
  ~Dialer();
  /** Starts, checks and retries connects. @return "" or what failed for good. */
  std::string step(Clock::time_point now);
  bool done() const { return connected_ == slots_.size(); }
  /** Connections up since the last call, as (connection number, socket); they are the caller's now. */
  std::vector<std::pair<unsigned, SOCKET>> take_connected();
  unsigned retries() const { return retries_; }

 private:
  struct Slot;
  std::string start(Slot& s);
  const WSPPROC_TABLE& proc_;
  sockaddr_in to_, from_;
  unsigned parallel_;
  std::vector<std::unique_ptr<Slot>> slots_;
  size_t connected_ = 0;
  unsigned retries_ = 0;
};

}  // namespace dpsan::itest
