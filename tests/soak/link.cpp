/* SPDX-License-Identifier: BSD-3-Clause */
#include "link.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "violation.h"

namespace dpsan::soak {

namespace {

constexpr uint32_t kPad = 4096;  // RDMA offsets and unaligned starts stay below this
constexpr uint32_t kEarlyMax = 256;  // a send this small may complete into an early slot (R41)
uint64_t g_corrupt_at = 0, g_received = 0;

void* ext_fn(const WSPPROC_TABLE& proc, GUID id) {
  void* fn = nullptr;
  DWORD got = 0;
  int e = 0;
  proc.lpWSPIoctl(0, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof id, &fn, sizeof fn, &got,
                  nullptr, nullptr, nullptr, &e);
  return fn;
}

}  // namespace

std::string Spi::load() {
  reg = reinterpret_cast<LPFN_WSPREGISTERMEMORY>(ext_fn(proc(), WSAID_REGISTERMEMORY));
  reg_rdma = reinterpret_cast<LPFN_WSPREGISTERRDMAMEMORY>(ext_fn(proc(), WSAID_REGISTERRDMAMEMORY));
  rdma_write = reinterpret_cast<LPFN_WSPRDMAWRITE>(ext_fn(proc(), WSAID_RDMAWRITE));
  rdma_read = reinterpret_cast<LPFN_WSPRDMAREAD>(ext_fn(proc(), WSAID_RDMAREAD));
  if (!reg || !reg_rdma || !rdma_write || !rdma_read) return "an extension function is missing";
  return "";
}

struct Link::End {
  End(uint32_t window, uint32_t max)
      : tx_buf(new char[size_t{window} * max]), rx_buf(new char[size_t{window} * max]),
        tx(new Op[window]), rx(new Op[window]) {}
  SOCKET s = INVALID_SOCKET;
  itest::Dir dir = itest::Dir::kFromConnector;  // of the messages this end sends
  std::unique_ptr<char[]> tx_buf, rx_buf;
  std::unique_ptr<Op[]> tx, rx;
  uint32_t next_tx = 0, next_rx = 0;     // next message to send, next receive to post
  uint32_t received = 0;                 // messages received and checked
  uint32_t tx_limit = UINT32_MAX, rx_limit = UINT32_MAX;  // while draining
};

Link::Link(unsigned index, const LinkParams& p, Counters* totals)
    : index_(index), p_(p), totals_(totals), a_(new End(p.window, p.max_size)),
      b_(new End(p.window, p.max_size)),
      scratch_(new char[std::max({p.max_size, p.rdma_max, itest::kHeaderBytes})]),
      rop_(new Op) {
  if (p_.rdma_max) {
    rsrc_.reset(new char[p_.rdma_max + kPad]);
    rback_.reset(new char[p_.rdma_max + kPad]);
    region_.reset(new char[p_.rdma_max + kPad]);
  }
}

Link::~Link() = default;

void Link::corrupt_nth_message(uint64_t n) { g_corrupt_at = n; }

std::string Link::where() const {
  return "link " + std::to_string(index_) + " (connection " + std::to_string(conn_id_) + ")";
}

std::string Link::connect(const Spi& spi, uint16_t port, uint32_t conn_id,
                          const itest::StreamSpec& msgs, const itest::StreamSpec& rdma) {
  conn_id_ = conn_id;
  msgs_ = msgs;
  rdma_spec_ = rdma;
  std::string why = spi.sw->connect_pair(port, &a_->s, &b_->s, p_.server_ip, p_.client_ip);
  if (!why.empty()) return where() + ": connect: " + why;
  totals_->connects++;
  for (End* e : {a_.get(), b_.get()}) {
    e->next_tx = e->next_rx = e->received = 0;
    e->tx_limit = e->rx_limit = UINT32_MAX;
    size_t len = size_t{p_.window} * p_.max_size;
    int err = 0;
    if (!spi.reg(e->s, e->tx_buf.get(), len, MEM_READWRITE, &err) ||
        !spi.reg(e->s, e->rx_buf.get(), len, MEM_READWRITE, &err))
      return where() + ": WSPRegisterMemory failed with " + std::to_string(err);
  }
  a_->dir = itest::Dir::kFromConnector;
  b_->dir = itest::Dir::kFromListener;
  rdma_seq_ = 0;
  if (p_.rdma_max) {
    int err = 0;
    hsrc_ = spi.reg(a_->s, rsrc_.get(), p_.rdma_max + kPad, MEM_READWRITE, &err);
    hback_ = spi.reg(a_->s, rback_.get(), p_.rdma_max + kPad, MEM_READWRITE, &err);
    desc_len_ = sizeof desc_;
    if (!hsrc_ || !hback_ ||
        spi.reg_rdma(b_->s, region_.get(), p_.rdma_max + kPad, MEM_READWRITE, desc_, &desc_len_, &err) != 0)
      return where() + ": RDMA registration failed with " + std::to_string(err);
  }
  state_ = State::kUp;
  return "";
}

bool Link::post_rx(const Spi& spi, End& e, uint32_t seq) {
  for (uint32_t s = 0; s < p_.window; s++) {
    Op& op = e.rx[s];
    if (op.busy) continue;
    op.arm(seq, p_.max_size);
    WSABUF wb{p_.max_size, e.rx_buf.get() + size_t{s} * p_.max_size};
    DWORD flags = 0;
    int err = 0;
    if (spi.proc().lpWSPRecv(e.s, &wb, 1, nullptr, &flags, &op.ov, nullptr, nullptr, &err) == 0 ||
        err == WSA_IO_PENDING) {
      totals_->ops_posted++;
      return true;
    }
    op.refused();
    violation(where() + ": WSPRecv refused with " + std::to_string(err));
    return false;
  }
  return false;
}

bool Link::post_tx(const Spi& spi, End& e, uint32_t seq) {
  for (uint32_t s = 0; s < p_.window; s++) {
    Op& op = e.tx[s];
    if (op.busy) continue;
    char* buf = e.tx_buf.get() + size_t{s} * p_.max_size;
    uint32_t n = itest::stream_size(msgs_, conn_id_, e.dir, seq);
    itest::stream_fill(msgs_, conn_id_, e.dir, seq, buf);
    op.arm(seq, n);
    WSABUF wb{n, buf};
    int err = 0;
    if (spi.proc().lpWSPSend(e.s, &wb, 1, nullptr, 0, &op.ov, nullptr, nullptr, &err) == 0 ||
        err == WSA_IO_PENDING) {
      totals_->ops_posted++;
      return true;
    }
    op.refused();
    violation(where() + ": WSPSend refused with " + std::to_string(err));
    return false;
  }
  return false;
}

void Link::reap_rx(End& e, End& from) {
  for (uint32_t s = 0; s < p_.window; s++) {
    Op& op = e.rx[s];
    if (!op.busy || !op.done()) continue;
    op.busy = false;
    totals_->ops_completed++;
    if (!op.status_ok()) {
      violation(where() + ": receive of message " + std::to_string(op.seq) + " completed with status " +
                std::to_string(op.error) + ", expected " + expect_name(op.expect));
      continue;
    }
    if (op.error != 0) continue;
    char* buf = e.rx_buf.get() + size_t{s} * p_.max_size;
    auto n = static_cast<uint32_t>(op.ov.InternalHigh);
    if (g_corrupt_at && ++g_received == g_corrupt_at && n > 0) buf[n / 2] ^= 0x20;  // self-test
    std::string bad = itest::stream_check(msgs_, conn_id_, from.dir, op.seq, buf, n, scratch_.get());
    if (!bad.empty()) violation(where() + ": " + bad);
    e.received++;
    totals_->msgs++;
    totals_->bytes += n;
  }
}

void Link::reap_tx(End& e) {
  for (uint32_t s = 0; s < p_.window; s++) {
    Op& op = e.tx[s];
    if (!op.busy || !op.done()) continue;
    op.busy = false;
    totals_->ops_completed++;
    if (!op.status_ok())
      violation(where() + ": send of message " + std::to_string(op.seq) + " (" + std::to_string(op.len) +
                " bytes) completed with status " + std::to_string(op.error) + ", expected " +
                expect_name(op.expect));
    else if (op.error == 0 && op.ov.InternalHigh != op.len)
      violation(where() + ": send of message " + std::to_string(op.seq) + " completed with " +
                std::to_string(op.ov.InternalHigh) + " of " + std::to_string(op.len) + " bytes");
  }
}

bool Link::rdma_post(const Spi& spi, bool write) {
  Op& op = *rop_;
  op.arm(rdma_seq_, rn_);
  rop_write_ = write;
  uint32_t loff = rdma_seq_ % 61;  // unaligned local starts
  WSABUFEX b{rn_, (write ? rsrc_.get() : rback_.get()) + loff, write ? hsrc_ : hback_};
  DWORD got = 0;
  int err = 0;
  auto fn = write ? spi.rdma_write : spi.rdma_read;
  if (fn(a_->s, &b, 1, desc_, desc_len_, roff_, &got, 0, &op.ov, nullptr, nullptr, &err) == 0 ||
      err == WSA_IO_PENDING) {
    totals_->ops_posted++;
    return true;
  }
  op.refused();
  violation(where() + ": " + (write ? "WSPRdmaWrite" : "WSPRdmaRead") + " refused with " + std::to_string(err));
  return false;
}

/** Checks a finished RDMA operation; a finished write is read back at once (the chain). */
void Link::rdma_reap() {
  Op& op = *rop_;
  op.busy = false;
  totals_->ops_completed++;
  const char* what = rop_write_ ? "RDMA write " : "RDMA read ";
  if (!op.status_ok()) {
    violation(where() + ": " + what + std::to_string(op.seq) + " completed with status " +
              std::to_string(op.error) + ", expected " + expect_name(op.expect));
    return;
  }
  if (op.error != 0) return;
  if (op.ov.InternalHigh != rn_) {
    violation(where() + ": " + what + std::to_string(op.seq) + " completed with " +
              std::to_string(op.ov.InternalHigh) + " of " + std::to_string(rn_) + " bytes");
    return;
  }
  const char* got = rop_write_ ? region_.get() + roff_ : rback_.get() + op.seq % 61;
  std::string bad = itest::stream_check(rdma_spec_, conn_id_, itest::Dir::kFromConnector, op.seq, got, rn_,
                                        scratch_.get());
  if (!bad.empty()) violation(where() + ": " + what + "payload: " + bad);
  if (!rop_write_) rdma_seq_++;  // the chain's read ends RDMA operation seq
  totals_->rdma_ops++;
  totals_->rdma_bytes += rn_;
}

void Link::rdma_step(const Spi& spi, unsigned* may_start) {
  Op& op = *rop_;
  if (op.busy) {
    if (!op.done()) return;
    bool was_write = rop_write_ && op.error == 0;
    rdma_reap();
    // A write is read back even while draining, so that the chain always ends with a read.
    if (was_write && (state_ == State::kUp || state_ == State::kDraining)) rdma_post(spi, false);
    return;
  }
  if (state_ != State::kUp || *may_start == 0 || !p_.rdma_max) return;
  // A new write: the RDMA stream's next payload, at a varying offset in the region.
  rn_ = itest::stream_size(rdma_spec_, conn_id_, itest::Dir::kFromConnector, rdma_seq_);
  roff_ = static_cast<uint32_t>((uint64_t{rdma_seq_} * 2654435761u) % (kPad - 64));
  itest::stream_fill(rdma_spec_, conn_id_, itest::Dir::kFromConnector, rdma_seq_, rsrc_.get() + rdma_seq_ % 61);
  if (rdma_post(spi, true)) (*may_start)--;
}

unsigned Link::step(const Spi& spi, unsigned may_start) {
  if (state_ == State::kDown) return 0;
  reap_rx(*a_, *b_);
  reap_rx(*b_, *a_);
  reap_tx(*a_);
  reap_tx(*b_);
  unsigned budget = may_start;
  if (p_.rdma_max) rdma_step(spi, &budget);
  if (state_ != State::kUp && state_ != State::kDraining) return may_start - budget;
  for (End* e : {a_.get(), b_.get()}) {
    while (e->next_rx < e->rx_limit && post_rx(spi, *e, e->next_rx)) e->next_rx++;
    while (budget > 0 && e->next_tx < e->tx_limit && post_tx(spi, *e, e->next_tx)) {
      e->next_tx++;
      budget--;
    }
  }
  return may_start - budget;
}

void Link::drain() {
  if (state_ != State::kUp) return;
  state_ = State::kDraining;
  // Each direction ends at whichever is further: the sends or the receives already posted.
  for (auto [tx, rx] : {std::pair{a_.get(), b_.get()}, std::pair{b_.get(), a_.get()}}) {
    uint32_t end = std::max(tx->next_tx, rx->next_rx);
    tx->tx_limit = end;
    rx->rx_limit = end;
  }
}

bool Link::all_idle() const {
  for (const End* e : {a_.get(), b_.get()})
    for (uint32_t s = 0; s < p_.window; s++)
      if (e->tx[s].busy || e->rx[s].busy) return false;
  return !rop_->busy;
}

bool Link::drained() {
  if (state_ != State::kDraining || !all_idle()) return false;
  if (a_->next_tx != a_->tx_limit || b_->next_tx != b_->tx_limit || a_->next_rx != a_->rx_limit ||
      b_->next_rx != b_->rx_limit)
    return false;
  // Everything sent must have arrived: a lost message shows here.
  for (auto [tx, rx] : {std::pair{a_.get(), b_.get()}, std::pair{b_.get(), a_.get()}})
    if (rx->received != tx->next_tx)
      violation(where() + ": " + std::to_string(tx->next_tx) + " messages sent, " +
                std::to_string(rx->received) + " received (lost messages)");
  return true;
}

void Link::close(const Spi& spi, bool abrupt) {
  for (End* e : {a_.get(), b_.get()})
    for (uint32_t s = 0; s < p_.window; s++)
      for (Op* op : {&e->tx[s], &e->rx[s]})
        if (op->busy) op->expect = Expect::kClosed;
  if (rop_->busy) rop_->expect = Expect::kClosed;
  int err = 0;
  // An abrupt close takes either end first, so that both orders of the reset race happen.
  End* first = abrupt && (conn_id_ & 1) ? b_.get() : a_.get();
  End* second = first == a_.get() ? b_.get() : a_.get();
  for (End* e : {first, second}) {
    if (spi.proc().lpWSPCloseSocket(e->s, &err) != 0)
      violation(where() + ": WSPCloseSocket failed with " + std::to_string(err));
    e->s = INVALID_SOCKET;
  }
  (abrupt ? totals_->abrupt_closes : totals_->graceful_closes)++;
  state_ = State::kClosing;
  closing_since_ = Clock::now();
}

bool Link::closed() {
  if (state_ != State::kClosing) return state_ == State::kDown;
  reap_rx(*a_, *b_);
  reap_rx(*b_, *a_);
  reap_tx(*a_);
  reap_tx(*b_);
  if (rop_->busy && rop_->done()) rdma_reap();
  if (!all_idle()) return false;
  state_ = State::kDown;
  return true;
}

double Link::closing_for() const {
  if (state_ != State::kClosing) return 0;
  return std::chrono::duration<double>(Clock::now() - closing_since_).count();
}

void Link::park(const Spi& spi, Park kind) {
  if (state_ != State::kDraining) return;  // only drained links are parked
  state_ = kind == Park::kTraffic ? State::kUp : State::kParked;
  for (End* e : {a_.get(), b_.get()}) e->tx_limit = e->rx_limit = UINT32_MAX;
  if (kind == Park::kTraffic) return;
  // Receives nobody sends to, or sends nobody receives: only the final cleanup can end them.
  for (End* e : {a_.get(), b_.get()}) {
    if (kind == Park::kSends && e != a_.get()) continue;
    for (uint32_t s = 0; s < p_.window; s++) {
      bool ok = kind == Park::kReceives ? post_rx(spi, *e, e->next_rx) : post_tx(spi, *e, e->next_tx);
      if (!ok) break;
      Op& op = kind == Park::kReceives ? e->rx[s] : e->tx[s];
      (kind == Park::kReceives ? e->next_rx : e->next_tx)++;
      // A short send may go into an early slot and complete (R41).
      op.expect = kind == Park::kSends && op.len <= kEarlyMax ? Expect::kCleanup : Expect::kAborted;
    }
  }
}

void Link::check_done_ops(const char* when) {
  for (End* e : {a_.get(), b_.get()})
    for (uint32_t s = 0; s < p_.window; s++)
      for (Op* op : {&e->tx[s], &e->rx[s]})
        if (op->busy && !op->done())
          violation(where() + ": operation " + std::to_string(op->seq) + " still pending " + when);
  if (rop_->busy && !rop_->done()) violation(where() + ": RDMA operation still pending " + when);
}

void Link::after_cleanup() {
  if (state_ == State::kDown) return;
  check_done_ops("after WSPCleanup returned (R19)");
  for (End* e : {a_.get(), b_.get()})
    for (uint32_t s = 0; s < p_.window; s++)
      for (Op* op : {&e->tx[s], &e->rx[s]}) {
        if (op->busy && op->expect == Expect::kSuccess) op->expect = Expect::kCleanup;
        if (op->busy && op->expect == Expect::kAborted) totals_->aborted_at_cleanup++;
      }
  if (rop_->busy && rop_->expect == Expect::kSuccess) rop_->expect = Expect::kCleanup;
  reap_rx(*a_, *b_);
  reap_rx(*b_, *a_);
  reap_tx(*a_);
  reap_tx(*b_);
  if (rop_->busy && rop_->done()) rdma_reap();
  a_->s = b_->s = INVALID_SOCKET;
  state_ = State::kDown;
}

}  // namespace dpsan::soak
