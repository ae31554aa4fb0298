/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The traffic engine of dpsan_peer and the multi-process tests: it drives connected sockets
 * through the public SPI only (overlapped WSPSend/WSPRecv on registered buffers), sends each
 * connection's message stream (stream.h) and checks every message received against the peer's
 * stream, and accounts for every operation it started.
 *
 * What it checks, per connection: every message arrives exactly once, intact and in order
 * (R40); every accepted operation completes exactly once (R35, counted through the switch's
 * WPUCompleteOverlappedRequest in upcall mode, R36 in poll mode); a connection error is a
 * violation unless the caller expects the peer to die. When both ends have everything, each
 * sends a DONE message; a socket is closed once its DONE went and the peer's arrived, so no
 * close can reset data the peer still needs.
 *
 * One Engine per process at a time, driven from one application thread; the completion hook
 * (install_completion_hook) runs on the provider's notifier thread.
 */
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <dpsan/ws2san.h>
#include <dpsan/ws2spi.h>

#include "stream.h"

namespace dpsan::itest {

struct EngineOptions {
  StreamSpec stream;
  uint32_t conns = 1;               // connection numbers a hello may name: 0..conns-1
  uint32_t window = 4;              // sends and receives in flight per connection, each way
  bool poll_mode = false;           // hEvent & 1: results through WSPGetOverlappedResult
  bool peer_death_expected = false; // a failed operation is recorded, not a violation
  bool keep_first_open = false;     // connection 0 stays open after its exchange (kept_socket())
};

struct EngineTotals {
  uint64_t conns_added = 0, conns_done = 0, conns_failed = 0;
  uint64_t msgs_tx = 0, msgs_rx = 0, bytes_tx = 0, bytes_rx = 0;  // data messages, checked
  uint64_t ops_posted = 0, ops_completed = 0, ops_failed = 0;     // accepted operations
  uint64_t double_completions = 0;  // a completion for an operation already completed
  int first_error = 0;              // WSA code of the first failed operation
  int64_t first_error_ns = 0, last_error_ns = 0;  // CLOCK_MONOTONIC when seen (0: none)
};

/** Routes MiniSwitch::on_complete to the engine's accounting. Call once, before startup. */
void install_completion_hook();

/** CLOCK_MONOTONIC in ns: comparable between processes of one host. */
int64_t monotonic_ns();

class Engine {
 public:
  Engine(const WSPPROC_TABLE& proc, LPFN_WSPREGISTERMEMORY reg, const EngineOptions& opt);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /**
   * Takes a connected socket. A connector's socket carries connection `index`; a listener's
   * learns its number from the peer's hello.
   * @return "" or why the socket could not be used (its registration failed).
   */
  std::string add(SOCKET s, bool connector, uint32_t index);

  /** One pass over every connection: reap completions, check, post. @return whether anything moved. */
  bool step();

  /** Every connection has ended: done and closed, or failed with no operation pending. */
  bool finished() const;

  /** Operations accepted by the provider and not yet seen complete. */
  uint64_t pending_ops() const;

  /** Closes every socket still open and waits up to timeout_ms for their operations to end. */
  void close_all(int timeout_ms);

  EngineTotals totals() const;
  /** What went wrong (the first 32 violations); violation_count() counts them all. */
  /** With keep_first_open: connection 0's connecting (or accepted) socket, once its exchange
   *  is over (else INVALID_SOCKET). It is still the engine's: close_all() closes it. */
  SOCKET kept_socket(bool connector) const { return kept_[connector]; }
  const std::vector<std::string>& violations() const { return violations_; }
  uint64_t violation_count() const;

 private:
  struct Conn;
  bool step_conn(Conn& c);
  bool reap(Conn& c, bool send);
  void post(Conn& c);
  bool post_one(Conn& c, bool send, uint32_t seq);
  void on_result(Conn& c, bool send, uint32_t seq, int err, uint32_t bytes, const char* buf);
  void fail(Conn& c, int err, const std::string& what);
  void violation(const std::string& v);

  const WSPPROC_TABLE& proc_;
  LPFN_WSPREGISTERMEMORY reg_;
  EngineOptions opt_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<bool> index_seen_;
  std::unique_ptr<char[]> scratch_;
  EngineTotals t_;
  std::vector<std::string> violations_;
  uint64_t violation_count_ = 0;
  SOCKET kept_[2] = {INVALID_SOCKET, INVALID_SOCKET};  ///< [connector]
};

}  // namespace dpsan::itest
