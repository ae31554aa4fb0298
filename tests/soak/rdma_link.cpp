/* SPDX-License-Identifier: BSD-3-Clause */
#include "rdma_link.h"

#include <algorithm>
#include <cstring>

#include "violation.h"

namespace dpsan::soak {

namespace {

using rdma_wire::Ctl;
constexpr uint32_t kMsg = rdma_wire::kMaxMsg;
constexpr uint32_t kTxSlots = 2;

/** What a post may be refused with once the peer has reset or closed the connection (R29). */
bool closed_status(int err) {
  return err == WSAECONNRESET || err == WSAECONNABORTED || err == WSAENOTCONN || err == WSAENETRESET ||
         err == WSAEDISCON;
}

}  // namespace

RdmaLink::RdmaLink(uint32_t rdma_max, Counters* totals)
    : rdma_max_(rdma_max), totals_(totals), ctl_(new char[(kTxSlots + 1 + kParkedRx) * kMsg]()),
      src_(new char[rdma_max + rdma_wire::kPad]), back_(new char[rdma_max + rdma_wire::kPad]),
      scratch_(new char[std::max(rdma_max, itest::kHeaderBytes)]) {}

RdmaLink::~RdmaLink() = default;

std::string RdmaLink::where() const { return "RDMA link (connection " + std::to_string(conn_) + ")"; }

Expect RdmaLink::base_expect() const {
  // The target may close at any moment (only it knows when): every operation may see it.
  return plan_ == rdma_wire::kTargetAbrupt ? Expect::kClosed : Expect::kSuccess;
}

std::string RdmaLink::adopt(const Spi& spi, SOCKET s, uint32_t conn, uint64_t seed, rdma_wire::Plan plan,
                            uint32_t close_ms, Clock::time_point act_at) {
  s_ = s;
  conn_ = conn;
  seed_ = seed;
  plan_ = plan;
  close_ms_ = close_ms;
  act_at_ = act_at;
  spec_ = itest::StreamSpec{seed, 0xffffffffu, 1, rdma_max_};
  stopping_ = in_op_ = false;
  seq_ = 0;
  int err = 0;
  size_t big = size_t{rdma_max_} + rdma_wire::kPad;
  hsrc_ = spi.reg(s, src_.get(), big, MEM_READWRITE, &err);
  hback_ = spi.reg(s, back_.get(), big, MEM_READWRITE, &err);
  if (!hsrc_ || !hback_ || !spi.reg(s, ctl_.get(), (kTxSlots + 1 + kParkedRx) * kMsg, MEM_READWRITE, &err))
    return where() + ": WSPRegisterMemory failed with " + std::to_string(err);
  totals_->connects++;
  state_ = State::kWaitDesc;
  if (!post_rx(spi, 0, base_expect())) return where() + ": the first receive was refused";
  return "";
}

/**
 * A post the provider refused. Once the target may have closed (its plan says it will, or
 * DONE went), a refusal with a close/reset status is its close arriving: this end closes too.
 * Anything else is a violation.
 */
void RdmaLink::refused(const Spi& spi, int err, const char* what) {
  bool target_may_close = plan_ == rdma_wire::kTargetAbrupt || state_ == State::kEnding;
  if (target_may_close && closed_status(err)) return close_socket(spi, "the target closed");
  violation(where() + ": " + what + " refused with " + std::to_string(err));
}

bool RdmaLink::post_rx(const Spi& spi, uint32_t slot, Expect x) {
  Op& op = rx_[slot];
  op.arm(slot, kMsg);
  op.expect = x;
  WSABUF wb{kMsg, ctl_.get() + (kTxSlots + slot) * kMsg};
  DWORD flags = 0;
  int err = 0;
  if (spi.proc().lpWSPRecv(s_, &wb, 1, nullptr, &flags, &op.ov, nullptr, nullptr, &err) == 0 ||
      err == WSA_IO_PENDING) {
    totals_->ops_posted++;
    return true;
  }
  op.refused();
  refused(spi, err, "WSPRecv");
  return false;
}

bool RdmaLink::post_ctl(const Spi& spi, const Ctl& c, const char* extra, uint32_t extra_len) {
  for (uint32_t i = 0; i < kTxSlots; i++) {
    Op& op = tx_[i];
    if (op.busy) continue;
    char* buf = ctl_.get() + i * kMsg;
    std::memcpy(buf, &c, sizeof c);
    if (extra_len) std::memcpy(buf + sizeof c, extra, extra_len);
    op.arm(c.kind, sizeof c + extra_len);
    op.expect = base_expect();
    WSABUF wb{op.len, buf};
    int err = 0;
    if (spi.proc().lpWSPSend(s_, &wb, 1, nullptr, 0, &op.ov, nullptr, nullptr, &err) == 0 ||
        err == WSA_IO_PENDING) {
      totals_->ops_posted++;
      return true;
    }
    op.refused();
    refused(spi, err, "WSPSend");
    return false;
  }
  violation(where() + ": no free send slot (the chain sends at most two control messages at once)");
  return false;
}

bool RdmaLink::post_rdma(const Spi& spi, bool write) {
  Op& op = rdma_;
  op.arm(seq_, len_);
  op.expect = base_expect();
  rdma_is_write_ = write;
  uint32_t loff = seq_ % 61;  // unaligned local starts
  WSABUFEX b{len_, (write ? src_.get() : back_.get()) + loff, write ? hsrc_ : hback_};
  DWORD got = 0;
  int err = 0;
  auto fn = write ? spi.rdma_write : spi.rdma_read;
  if (fn(s_, &b, 1, desc_, desc_len_, off_, &got, 0, &op.ov, nullptr, nullptr, &err) == 0 ||
      err == WSA_IO_PENDING) {
    totals_->ops_posted++;
    return true;
  }
  op.refused();
  refused(spi, err, write ? "WSPRdmaWrite" : "WSPRdmaRead");
  return false;
}

/** Accounts a finished operation. @return whether it succeeded (status 0). */
bool RdmaLink::reap_one(Op& op, const char* what) {
  op.busy = false;
  totals_->ops_completed++;
  if (!op.status_ok())
    violation(where() + ": " + what + " " + std::to_string(op.seq) + " completed with status " +
              std::to_string(op.error) + ", expected " + expect_name(op.expect));
  return op.error == 0;
}

void RdmaLink::reap_rx(const Spi& spi) {
  for (uint32_t i = 0; i < 1 + kParkedRx; i++) {
    Op& op = rx_[i];
    if (!op.busy || !op.done()) continue;
    Expect x = op.expect;
    bool ok = reap_one(op, "receive");
    auto n = static_cast<uint32_t>(op.ov.InternalHigh);
    if (ok && n > 0 && state_ != State::kClosing) {
      on_ctl(spi, ctl_.get() + (kTxSlots + i) * kMsg, n);
      if (state_ == State::kRun || state_ == State::kWaitDesc) post_rx(spi, 0, base_expect());
      continue;  // (a refused post may have closed the socket: the state says so)
    }
    if (state_ == State::kClosing || state_ == State::kDown) continue;
    // The target closed (end of stream, or a reset): right only if the plan lets it.
    if (x == Expect::kSuccess && ok) violation(where() + ": the target closed the connection unexpectedly");
    close_socket(spi, "the target closed");
  }
}

void RdmaLink::on_ctl(const Spi& spi, const char* buf, uint32_t n) {
  Ctl c;
  if (n < sizeof c) return violation(where() + ": a control message of " + std::to_string(n) + " bytes");
  std::memcpy(&c, buf, sizeof c);
  if (c.magic != rdma_wire::kMagic) return violation(where() + ": a control message without its magic");
  if (c.kind == rdma_wire::kDesc && state_ == State::kWaitDesc && c.len <= n - sizeof c) {
    desc_len_ = c.len;
    std::memcpy(desc_, buf + sizeof c, c.len);
    Ctl plan{};
    plan.kind = rdma_wire::kPlan;
    plan.conn = conn_;
    plan.seed = seed_;
    plan.plan = plan_;
    plan.close_ms = close_ms_;
    state_ = State::kRun;
    post_ctl(spi, plan, nullptr, 0);
    return;
  }
  // ACK(n) exactly once, for the operation under way and no other (in order, once).
  if (c.kind == rdma_wire::kAck && in_op_ && !acked_ && c.seq == seq_) {
    acked_ = true;
    return;
  }
  violation(where() + ": unexpected control message kind " + std::to_string(c.kind) + " seq " +
            std::to_string(c.seq) + " (operation " + std::to_string(seq_) + " under way: " +
            (in_op_ ? "yes" : "no") + ", acknowledged: " + (acked_ ? "yes" : "no") + ")");
}

void RdmaLink::reap_tx() {
  for (Op& op : tx_) {
    if (!op.busy || !op.done()) continue;
    bool note = op.seq == rdma_wire::kNote;
    if (reap_one(op, "control send") && op.ov.InternalHigh != op.len)
      violation(where() + ": a control send completed with " + std::to_string(op.ov.InternalHigh) + " of " +
                std::to_string(op.len) + " bytes");
    if (note) noted_ = true;
  }
}

/** A write that succeeded is read back at once; the read is checked against the stream. */
void RdmaLink::reap_rdma(const Spi& spi) {
  Op& op = rdma_;
  if (!op.busy || !op.done()) return;
  const char* what = rdma_is_write_ ? "RDMA write" : "RDMA read";
  if (!reap_one(op, what)) return;
  if (op.ov.InternalHigh != len_)
    return violation(where() + ": " + what + " " + std::to_string(seq_) + " completed with " +
                     std::to_string(op.ov.InternalHigh) + " of " + std::to_string(len_) + " bytes");
  totals_->rdma_ops++;
  totals_->rdma_bytes += len_;
  if (rdma_is_write_) {
    wrote_ = true;
    if (state_ == State::kRun || state_ == State::kParked || state_ == State::kEnding) post_rdma(spi, false);
    return;
  }
  std::string bad = itest::stream_check(spec_, conn_, itest::Dir::kFromConnector, seq_, back_.get() + seq_ % 61,
                                        len_, scratch_.get());
  if (!bad.empty()) violation(where() + ": RDMA read back: " + bad);
  read_ok_ = true;
}

/** Operation seq_: write the next payload, and send its NOTE behind it (R44). */
void RdmaLink::start_op(const Spi& spi) {
  len_ = itest::stream_size(spec_, conn_, itest::Dir::kFromConnector, seq_);
  off_ = static_cast<uint32_t>((uint64_t{seq_} * 2654435761u) % (rdma_wire::kPad - 64));
  itest::stream_fill(spec_, conn_, itest::Dir::kFromConnector, seq_, src_.get() + seq_ % 61);
  in_op_ = true;
  wrote_ = read_ok_ = noted_ = acked_ = false;
  if (!post_rdma(spi, true) || state_ != State::kRun) return;
  Ctl note{};
  note.kind = rdma_wire::kNote;
  note.conn = conn_;
  note.seq = seq_;
  note.off = off_;
  note.len = len_;
  post_ctl(spi, note, nullptr, 0);
}

void RdmaLink::chain(const Spi& spi) {
  if (in_op_ && wrote_ && read_ok_ && noted_ && acked_) {
    in_op_ = false;
    seq_++;
  }
  if (state_ != State::kRun) return;
  if (!stopping_ && Clock::now() >= act_at_) {
    if (plan_ == rdma_wire::kServerAbrupt) return close_socket(spi, "abrupt close");
    stopping_ = plan_ == rdma_wire::kGraceful;
  }
  if (in_op_) return;
  if (!stopping_) return start_op(spi);
  // Graceful end: DONE names the last operation; the target checks it and closes first.
  Ctl done{};
  done.kind = rdma_wire::kDone;
  done.conn = conn_;
  done.seq = seq_;
  state_ = State::kEnding;
  rx_[0].expect = Expect::kClosed;  // it now waits for the target's close
  post_ctl(spi, done, nullptr, 0);
}

void RdmaLink::step(const Spi& spi) {
  if (state_ == State::kDown) return;
  reap_rx(spi);
  reap_tx();
  reap_rdma(spi);
  if (state_ == State::kClosing) {
    if (all_idle()) state_ = State::kDown;
    return;
  }
  chain(spi);
}

void RdmaLink::close_socket(const Spi& spi, const char* why) {
  for (Op* op : {&tx_[0], &tx_[1], &rx_[0], &rx_[1], &rx_[2], &rdma_})
    if (op->busy) op->expect = Expect::kClosed;
  int err = 0;
  if (spi.proc().lpWSPCloseSocket(s_, &err) != 0)
    violation(where() + ": WSPCloseSocket (" + why + ") failed with " + std::to_string(err));
  s_ = INVALID_SOCKET;
  state_ = State::kClosing;
  closing_since_ = Clock::now();
}

bool RdmaLink::all_idle() const {
  for (const Op* op : {&tx_[0], &tx_[1], &rx_[0], &rx_[1], &rx_[2], &rdma_})
    if (op->busy) return false;
  return true;
}

double RdmaLink::closing_for() const {
  if (state_ != State::kClosing) return 0;
  return std::chrono::duration<double>(Clock::now() - closing_since_).count();
}

void RdmaLink::park(const Spi& spi) {
  if (state_ != State::kRun && state_ != State::kWaitDesc) return;
  // Whatever runs may still finish (an ACK may still come to rx_[0]); the receives posted
  // behind it can only end by the cleanup: nothing else is ever sent to them.
  for (Op* op : {&tx_[0], &tx_[1], &rx_[0], &rdma_})
    if (op->busy) op->expect = Expect::kCleanup;
  bool ack_due = in_op_ && !acked_;
  if (state_ == State::kRun && !ack_due) rx_[0].expect = Expect::kAborted;
  state_ = State::kParked;
  stopping_ = true;
  for (uint32_t i = 1; i <= kParkedRx; i++) post_rx(spi, i, Expect::kAborted);
}

void RdmaLink::after_cleanup() {
  if (state_ == State::kDown) return;
  for (const Op* op : {&tx_[0], &tx_[1], &rx_[0], &rx_[1], &rx_[2], &rdma_})
    if (op->busy && !op->done())
      violation(where() + ": an operation is still pending after WSPCleanup returned (R19)");
  for (Op* op : {&tx_[0], &tx_[1], &rx_[0], &rx_[1], &rx_[2], &rdma_}) {
    if (!op->busy) continue;
    if (op->expect == Expect::kSuccess) op->expect = Expect::kCleanup;
    if (op->expect == Expect::kAborted) totals_->aborted_at_cleanup++;
    reap_one(*op, "operation parked at the final cleanup");
  }
  s_ = INVALID_SOCKET;
  state_ = State::kDown;
}

}  // namespace dpsan::soak
