/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The server end of one memif soak RDMA link (protocol: rdma_wire.h): a chain of RDMA writes
 * into the other process's region, each followed by a NOTE send behind it (R44) and a read of
 * the same range back, checked here (sequence number, size, checksum of the payload stream);
 * the target checks each write in its region and acknowledges it. Every operation is a soak
 * Op (op.h): completed exactly once, with the status its situation allows.
 *
 * A link ends as its plan says: gracefully (DONE, the target closes, then this end), by this
 * end's abrupt close with operations in flight (R25, R31), by the target's abrupt close (this
 * end's pending operations complete with a close/reset status, R29), or parked in flight at
 * the server's final WSPCleanup (R12, R19). Driving thread only.
 */
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <dpsan/ws2san.h>

#include "link.h"
#include "op.h"
#include "rdma_wire.h"
#include "stream.h"

namespace dpsan::soak {

class RdmaLink {
 public:
  using Clock = std::chrono::steady_clock;
  enum class State { kDown, kWaitDesc, kRun, kEnding, kClosing, kParked };
  static constexpr uint32_t kParkedRx = 2;  // receives nobody answers, parked at the final cleanup

  RdmaLink(uint32_t rdma_max, Counters* totals);
  ~RdmaLink();
  RdmaLink(const RdmaLink&) = delete;
  RdmaLink& operator=(const RdmaLink&) = delete;

  /** Takes an accepted socket; the plan's action is due at `act_at`. @return "" or what failed. */
  std::string adopt(const Spi& spi, SOCKET s, uint32_t conn, uint64_t seed, rdma_wire::Plan plan,
                    uint32_t close_ms, Clock::time_point act_at);
  /** Reaps, checks, posts, and acts on the plan when due. */
  void step(const Spi& spi);
  /** Before the final cleanup: no new operation; receives nobody answers are left in flight. */
  void park(const Spi& spi);
  /** After the final cleanup returned: nothing pending (R19), each op completed rightly (R12). */
  void after_cleanup();

  State state() const { return state_; }
  bool ended() const { return state_ == State::kDown; }
  /** Seconds since this end closed its socket (0 if it has not). */
  double closing_for() const;
  std::string where() const;

 private:
  Expect base_expect() const;
  void refused(const Spi& spi, int err, const char* what);
  bool post_rx(const Spi& spi, uint32_t slot, Expect x);
  bool post_ctl(const Spi& spi, const rdma_wire::Ctl& c, const char* extra, uint32_t extra_len);
  bool post_rdma(const Spi& spi, bool write);
  void reap_rx(const Spi& spi);
  void on_ctl(const Spi& spi, const char* buf, uint32_t n);
  void reap_tx();
  void reap_rdma(const Spi& spi);
  void chain(const Spi& spi);
  void start_op(const Spi& spi);
  void close_socket(const Spi& spi, const char* why);
  bool all_idle() const;
  bool reap_one(Op& op, const char* what);

  uint32_t rdma_max_;
  Counters* totals_;
  SOCKET s_ = INVALID_SOCKET;
  State state_ = State::kDown;
  rdma_wire::Plan plan_ = rdma_wire::kGraceful;
  uint32_t conn_ = 0, close_ms_ = 0;
  uint64_t seed_ = 0;
  itest::StreamSpec spec_;
  Clock::time_point act_at_{}, closing_since_{};
  bool stopping_ = false;  // no new RDMA operation (graceful end, or parked)
  // The chain: operation seq_ is under way while in_op_; it ends when all four are true.
  bool in_op_ = false, wrote_ = false, read_ok_ = false, noted_ = false, acked_ = false;
  uint32_t seq_ = 0, off_ = 0, len_ = 0;
  bool rdma_is_write_ = false;
  std::unique_ptr<char[]> ctl_, src_, back_, scratch_;  // ctl_: 2 send slots, then 1 + kParkedRx receives
  HANDLE hsrc_ = nullptr, hback_ = nullptr;
  alignas(8) char desc_[rdma_wire::kMaxMsg] = {};
  DWORD desc_len_ = 0;
  Op tx_[2], rx_[1 + kParkedRx], rdma_;
};

}  // namespace dpsan::soak
