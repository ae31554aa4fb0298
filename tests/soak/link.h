/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * One soak connection: both of its ends live in this process. Each end sends a message stream
 * to the other (tests/integration/peer/stream.h: sizes log-uniform in [1, max_size], a header
 * with connection, direction, sequence number, size and body checksum, pseudo-random body);
 * the initiating end also runs a chain of RDMA writes into the other end's registered region,
 * each followed by a read of the same range back. Every message and RDMA payload is checked
 * on arrival (intact, in order, exactly once), and every operation's completion is checked
 * against what was expected of it (op.h).
 *
 * A link goes through incarnations: connect, run, then a graceful close (everything sent is
 * received and checked, then both sockets close with nothing pending), an abrupt close
 * (both sockets close with operations in flight), or a final cleanup with operations parked
 * in flight. Driving thread only.
 */
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <dpsan/ws2san.h>

#include "mini_switch.h"
#include "op.h"
#include "stream.h"

namespace dpsan::soak {

struct LinkParams {
  uint32_t window = 2;            // sends and receives in flight per end
  uint32_t max_size = 1u << 20;   // largest message
  uint32_t rdma_max = 1u << 20;   // largest RDMA operation (0: no RDMA)
  uint32_t server_ip = 0, client_ip = 0;  // network order
};

/** The SPI and its extension functions, for every link. */
struct Spi {
  perf::MiniSwitch* sw = nullptr;
  LPFN_WSPREGISTERMEMORY reg = nullptr;
  LPFN_WSPREGISTERRDMAMEMORY reg_rdma = nullptr;
  LPFN_WSPRDMAWRITE rdma_write = nullptr;
  LPFN_WSPRDMAREAD rdma_read = nullptr;
  const WSPPROC_TABLE& proc() const { return sw->proc(); }
  /** Loads the extension functions (SIO_GET_EXTENSION_FUNCTION_POINTER). @return "" or what is missing. */
  std::string load();
};

/** What every link adds up, for the progress line and the summary. */
struct Counters {
  uint64_t ops_posted = 0, ops_completed = 0, msgs = 0, bytes = 0, rdma_ops = 0, rdma_bytes = 0;
  uint64_t graceful_closes = 0, abrupt_closes = 0, connects = 0;
  uint64_t aborted_at_cleanup = 0;  // operations parked in flight that the final cleanup ended
};

class Link {
 public:
  enum class State { kDown, kUp, kDraining, kClosing, kParked };
  enum class Park { kTraffic, kReceives, kSends };
  using Clock = std::chrono::steady_clock;

  Link(unsigned index, const LinkParams& p, Counters* totals);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  /** Connects a new incarnation (`conn_id` names its streams) and registers its memory. */
  std::string connect(const Spi& spi, uint16_t port, uint32_t conn_id, const itest::StreamSpec& msgs,
                      const itest::StreamSpec& rdma);
  /** Reaps, checks and posts. `may_start` limits new sends and RDMA (pacing). @return ops started. */
  unsigned step(const Spi& spi, unsigned may_start);

  /** Stop starting messages; finish what is under way. */
  void drain();
  /** Drained: nothing pending and everything sent arrived. Checks the counts. */
  bool drained();
  /** Closes both sockets (graceful: after drained(); abrupt: with operations in flight). */
  void close(const Spi& spi, bool abrupt);
  /** Closed, and every operation of the incarnation has completed. */
  bool closed();

  /** Before a final cleanup: leave operations in flight of the given kind. */
  void park(const Spi& spi, Park kind);
  /** After the final cleanup returned: every operation completed once, rightly. Link is down. */
  void after_cleanup();

  State state() const { return state_; }
  unsigned index() const { return index_; }
  /** Seconds since the current close started (0 if not closing). */
  double closing_for() const;
  /** Corrupt one byte of the n-th message received by any link (self-test of the checks). */
  static void corrupt_nth_message(uint64_t n);

 private:
  struct End;
  void reap_rx(End& e, End& from);
  void reap_tx(End& e);
  bool post_rx(const Spi& spi, End& e, uint32_t seq);
  bool post_tx(const Spi& spi, End& e, uint32_t seq);
  void rdma_step(const Spi& spi, unsigned* may_start);
  bool rdma_post(const Spi& spi, bool write);
  void rdma_reap();
  bool all_idle() const;
  void check_done_ops(const char* when);
  std::string where() const;

  unsigned index_;
  LinkParams p_;
  Counters* totals_;
  std::unique_ptr<End> a_, b_;  // a connects and initiates RDMA; b accepts and owns the region
  State state_ = State::kDown;
  uint32_t conn_id_ = 0;
  itest::StreamSpec msgs_, rdma_spec_;
  std::unique_ptr<char[]> scratch_;
  // RDMA: a's source and read-back buffers, b's region, and the operation chain.
  std::unique_ptr<char[]> rsrc_, rback_, region_;
  HANDLE hsrc_ = nullptr, hback_ = nullptr;
  alignas(8) char desc_[64] = {};
  DWORD desc_len_ = 0;
  std::unique_ptr<Op> rop_;
  bool rop_write_ = false;
  uint32_t rdma_seq_ = 0, roff_ = 0, rn_ = 0;
  Clock::time_point closing_since_{};
};

}  // namespace dpsan::soak
