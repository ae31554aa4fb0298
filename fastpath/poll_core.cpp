/* SPDX-License-Identifier: BSD-3-Clause */
#include "poll_core.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <sys/prctl.h>
#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_pause.h>

#include "port/port.h"
#include "tsan.h"

namespace dpsan::fastpath {

PollCore::~PollCore() {
  requests_.destroy();
  if (handoff_.raw()) {
    HandOff h;
    while (handoff_.dequeue_burst(&h, 1)) rte_pktmbuf_free(h.m);
  }
  handoff_.destroy();
  rte_free(conns_);
  rte_free(free_slots_);
  rte_free(early_store_);
  rte_free(region_store_);
  rte_free(rjob_store_);
  rte_free(txw_store_);
  rte_free(rxw_store_);
  tsan_heap_freed();
}

bool PollCore::init(unsigned instance, const char** err) {
  const EngineConfig& cfg = e_->config();
  char name[RTE_RING_NAMESIZE];
  std::snprintf(name, sizeof name, "dpsan_rq%u_%u", instance, index_);
  // Relaxed tail sync: switch threads are preemptible and outnumber cores (rte_ring_rts.h).
  if (!requests_.create(name, rte_align32pow2(cfg.max_requests + 1), RING_F_MP_RTS_ENQ | RING_F_SC_DEQ)) {
    *err = "cannot create a request ring";
    return false;
  }
  std::snprintf(name, sizeof name, "dpsan_ho%u_%u", instance, index_);
  if (cfg.cores > 1 && !handoff_.create(name, 4096, RING_F_SC_DEQ)) {
    *err = "cannot create a hand-over ring";
    return false;
  }
  uint32_t n = cfg.max_conns_per_core;
  conns_ = static_cast<Conn*>(rte_zmalloc("dpsan_conns", sizeof(Conn) * n, 64));
  free_slots_ = static_cast<uint32_t*>(rte_malloc("dpsan_conn_free", sizeof(uint32_t) * n, 64));
  early_store_ = static_cast<EarlyMsg*>(
      rte_malloc("dpsan_early", sizeof(EarlyMsg) * n * cfg.early_slots, 64));
  txw_store_ = static_cast<TxSlot*>(rte_zmalloc("dpsan_txw", sizeof(TxSlot) * n * kWindow, 64));
  rxw_store_ = static_cast<rte_mbuf**>(rte_zmalloc("dpsan_rxw", sizeof(rte_mbuf*) * n * kWindow, 64));
  region_store_ = static_cast<RdmaRegion*>(
      rte_zmalloc("dpsan_rdma_regions", sizeof(RdmaRegion) * n * kRdmaRegionsPerConn, 64));
  rjob_store_ = static_cast<RdmaReadJob*>(
      rte_zmalloc("dpsan_rdma_reads", sizeof(RdmaReadJob) * n * kRdmaReadsMax, 64));
  tsan_heap_allocated();
  if (!conns_ || !free_slots_ || !early_store_ || !txw_store_ || !rxw_store_ || !region_store_ ||
      !rjob_store_) {
    *err = "cannot allocate the connection table";
    return false;
  }
  for (uint32_t i = 0; i < n; i++) {
    new (&conns_[i]) Conn();
    conns_[i].early = early_store_ + static_cast<size_t>(i) * cfg.early_slots;
    conns_[i].txw = txw_store_ + static_cast<size_t>(i) * kWindow;
    conns_[i].rxw = rxw_store_ + static_cast<size_t>(i) * kWindow;
    conns_[i].regions = region_store_ + static_cast<size_t>(i) * kRdmaRegionsPerConn;
    for (uint32_t k = 0; k < kRdmaRegionsPerConn; k++) new (&conns_[i].regions[k]) RdmaRegion();
    conns_[i].rjobs = rjob_store_ + static_cast<size_t>(i) * kRdmaReadsMax;
    free_slots_[i] = n - 1 - i;
  }
  nfree_ = n;
  tsc_hz_ = rte_get_tsc_hz();
  tsc_per_tick_ = std::max<uint64_t>(1, tsc_hz_ / 1000000 * kTickUs);
  wheel_.reset(rte_rdtsc() / tsc_per_tick_);
  uint32_t room = e_->config().mbuf_data_room - RTE_PKTMBUF_HEADROOM;
  for (unsigned p = 0; p < e_->port_count(); p++) {
    uint32_t frame_max = std::min<uint32_t>(room, e_->port(p)->mtu() + wire::kEthLen);
    // Below IPv4's 576 an RDMA_WRITE frame could not carry its body and some data, and peers
    // read any smaller advertised size as kMssMin (wire/mss.h).
    if (frame_max < wire::kFrameOverhead + wire::kMssMin) {
      *err = "a port's MTU is below 576";
      return false;
    }
    mss_[p] = static_cast<uint16_t>(frame_max - wire::kFrameOverhead);
    rx_frame_max_[p] = static_cast<uint16_t>(frame_max);
  }
  uint32_t reserve = std::min<uint32_t>(1024, cfg.mbufs / 4);
  held_budget_ = (cfg.mbufs - reserve) / cfg.cores;
  backoff_.policy = cfg.idle;
  backoff_.sleep_us = cfg.idle_sleep_us;
  return true;
}

int PollCore::run() {
  // Sleeps in the back-off must be as short as asked (the default timer slack is 50 us).
  prctl(PR_SET_TIMERSLACK, 1UL);
  rte_rcu_qsbr_thread_register(e_->qsbr, index_);
  rte_rcu_qsbr_thread_online(e_->qsbr, index_);
  while (!exit_.load(std::memory_order_acquire)) {
    tsan_release(e_->qsbr);  // the grace period's hand-off, for TSan (tsan.h)
    rte_rcu_qsbr_quiescent(e_->qsbr, index_);
    unsigned work = 0;
    if (!e_->stopping()) {
      now_ = rte_rdtsc();
      Request* reqs[kReqBurst];
      unsigned n = requests_.dequeue_burst(reqs, kReqBurst);
      for (unsigned i = 0; i < n; i++) on_request_pc(reqs[i]);
      work += n;
      work += rx_pc();
      flush_completions();
      send_acks_pc();
      if (now_ >= next_timer_tsc_) {
        timers_pc(now_);
        kick_ports_pc();
        next_timer_tsc_ = now_ + ms_to_tsc(1);
      }
      wheel_.advance(tick(), [this](TimerNode* t) { on_timer_pc(*conn_of_timer(t)); });
      pump_sends_pc();
      send_credits_pc();
      work += tx_flush();
      flush_completions();
    }
    if (work) {
      backoff_.busy_pass();
    } else if (backoff_.idle_pass()) {
      tsan_release(e_->qsbr);
      rte_rcu_qsbr_thread_offline(e_->qsbr, index_);
      timespec ts{0, static_cast<long>(backoff_.sleep_us) * 1000};
      nanosleep(&ts, nullptr);
      rte_rcu_qsbr_thread_online(e_->qsbr, index_);
    } else {
      rte_pause();
    }
  }
  tsan_release(e_->qsbr);
  rte_rcu_qsbr_thread_offline(e_->qsbr, index_);
  rte_rcu_qsbr_thread_unregister(e_->qsbr, index_);
  return 0;
}

void PollCore::timers_pc(uint64_t now) {
  Conn** pp = &connecting_head_;
  while (Conn* c = *pp) {
    if (c->state != ConnState::kConnecting) {
      *pp = c->next_connecting;  // accepted, refused or closed meanwhile
      continue;
    }
    if (now >= c->connect_deadline_tsc) {
      // R46: no dpsan peer answered; TCP might still reach the host, so never HOSTUNREACH.
      *pp = c->next_connecting;
      c->state = ConnState::kDead;
      c->link->state.store(kLinkDead, std::memory_order_release);
      record_event(c->link, kConnectBit, 10060 /* WSAETIMEDOUT */);
      continue;
    }
    if (now >= c->connect_retry_tsc && tx_has_room()) {
      if (resolve_pc(&c->addr)) {
        send_connect_frame(c->addr, wire::kConnectReq, 0, c->id, c->local_port, c->peer_port, 0,
                           c->recvs_posted + e_->config().early_slots);
        c->connect_retry_tsc = now + ms_to_tsc(e_->config().connect_retry_ms);
      } else {
        c->connect_retry_tsc = now + ms_to_tsc(1);  // look again soon: the reply is near
      }
    }
    pp = &c->next_connecting;
  }
}

void PollCore::complete(Request* r, uint32_t error, uint32_t bytes) {
  if (e_->stopping()) {
    // Step 1 of the final cleanup has begun: this operation may only end as an abort.
    parked_.push(r);
    return;
  }
  done_[ndone_++] = Engine::Done{r, error, bytes};
  if (ndone_ == kDoneMax) flush_completions();
}

void PollCore::flush_completions() {
  if (ndone_ == 0) return;
  if (e_->stopping()) {
    // Step 1 began while these waited: they may only end as aborts now (step 4).
    for (unsigned i = 0; i < ndone_; i++) parked_.push(done_[i].r);
  } else {
    e_->finish_burst(done_, ndone_);
  }
  ndone_ = 0;
}

void PollCore::record_event(SocketLink* link, uint32_t bit, int32_t error) {
  e_->record_event(link, bit, error);
}

void PollCore::fail_conn(Conn& c, uint32_t error) {
  c.state = ConnState::kDead;
  c.link->sticky_error.store(static_cast<int32_t>(error), std::memory_order_relaxed);
  c.link->state.store(kLinkDead, std::memory_order_release);
  while (Request* r = c.recv_q.pop()) complete(r, error, 0);
  while (Request* r = c.unacked_q.pop()) complete(r, error, 0);
  while (Request* r = c.send_q.pop()) complete(r, error, 0);
  rdma_end_reads(c, error, false);
  rdma_revoke_all(c);  // R63: a dead connection reaches nothing
  c.early_count = 0;
  wheel_.cancel(&c.timer);
  release_windows(c);
}

void PollCore::release_windows(Conn& c) {
  for (uint32_t p = c.snd_una; p != c.snd_nxt; p++) {
    TxSlot& s = c.txw[p % kWindow];
    if (s.m) {
      rte_pktmbuf_free(s.m);
      held_--;
    }
    s = TxSlot{};
  }
  c.snd_una = c.snd_nxt;
  for (uint32_t i = 0; c.rx_held && i < kWindow; i++) {
    if (c.rxw[i]) {
      rte_pktmbuf_free(c.rxw[i]);
      held_--;
    }
    c.rxw[i] = nullptr;
  }
  c.rx_held = 0;
}

void PollCore::ensure_timer(Conn& c) {
  if (c.timer.armed()) return;
  // Silence while nothing was asked of the peer proves nothing: the dead-peer clock starts now.
  c.watch_tsc = now_;
  wheel_.arm(&c.timer, tick() + ticks_of_us(rto_us(c)));
}

uint64_t PollCore::rto_us(const Conn& c) const {
  uint64_t min = e_->config().rto_min_us;
  if (c.srtt_us == 0) return min;
  // The cap never goes below the configured minimum (rto_min_us may be up to 1 s; std::clamp
  // with its bounds the wrong way round is undefined).
  return std::clamp<uint64_t>(uint64_t{c.srtt_us} + 4ull * c.rttvar_us, min,
                              std::max<uint64_t>(min, kRtoMaxUs));
}

void PollCore::rtt_sample_pc(Conn& c, uint64_t sent_tsc) {
  auto r = static_cast<uint32_t>(
      std::clamp<uint64_t>((now_ - sent_tsc) / (tsc_hz_ / 1000000), 1, 1u << 30));
  if (c.srtt_us == 0) {
    c.srtt_us = r;
    c.rttvar_us = r / 2;
    return;
  }
  uint32_t dev = r > c.srtt_us ? r - c.srtt_us : c.srtt_us - r;
  c.rttvar_us = c.rttvar_us - c.rttvar_us / 4 + dev / 4;
  c.srtt_us = c.srtt_us - c.srtt_us / 8 + r / 8;
}

bool PollCore::resend_pc(const Conn& c, TxSlot& s) {
  if (!tx_has_room()) tx_flush();
  if (!tx_has_room()) return false;
  rte_pktmbuf_refcnt_update(s.m, 1);  // the window keeps its reference (every segment)
  s.m->port = c.addr.via;  // our index, set again: in-process ports share the mbuf with a peer
  txq_[ntx_++] = s.m;
  s.resent = true;
  stats_.retransmits.add(1);
  return true;
}

/**
 * The connection's one timer: retransmission while frames are unacknowledged, keepalive while
 * operations wait on the peer, and the dead-peer verdict after peer_timeout_ms of silence.
 */
void PollCore::on_timer_pc(Conn& c) {
  if (c.state != ConnState::kEstablished) return;
  const EngineConfig& cfg = e_->config();
  bool waiting = c.snd_una != c.snd_nxt || !c.recv_q.empty() || !c.send_q.empty() || !rdma_idle(c);
  if (!waiting) return;  // idle: re-armed by the next operation
  if (now_ - std::max(c.last_rx_tsc, c.watch_tsc) > ms_to_tsc(cfg.peer_timeout_ms)) {
    // The peer is gone (killed, or the path is): fail what waits on it, within the bound.
    send_ctrl(c, wire::kReset);
    fail_conn(c, 10053 /* WSAECONNABORTED */);
    return;
  }
  uint64_t next_us;
  if (c.snd_una != c.snd_nxt) {
    retransmit_pc(c, 64);
    if (c.rto_shift < 6) c.rto_shift++;
    // Back off, but probe at least four times within the dead-peer timeout.
    next_us = std::min<uint64_t>(rto_us(c) << c.rto_shift, uint64_t{cfg.peer_timeout_ms} * 250);
  } else if (c.stalled) {
    // Waiting for credits: a lost CREDIT must not stall us. The probe's ACK has the limits.
    send_ctrl(c, wire::kKeepalive);
    next_us = cfg.rto_min_us;
  } else {
    if (now_ - c.last_rx_tsc > ms_to_tsc(cfg.keepalive_ms)) send_ctrl(c, wire::kKeepalive);
    next_us = static_cast<uint64_t>(cfg.keepalive_ms) * 1000;
  }
  wheel_.arm(&c.timer, tick() + ticks_of_us(next_us));
}

unsigned PollCore::retransmit_pc(Conn& c, unsigned max) {
  unsigned n = 0;
  for (uint32_t p = c.snd_una; p != c.snd_nxt && n < max; p++) {
    TxSlot& s = c.txw[p % kWindow];
    if (s.m == nullptr || s.sacked) continue;
    if (!resend_pc(c, s)) break;
    n++;
  }
  return n;
}

Conn* PollCore::conn_alloc() {
  if (nfree_ == 0) return nullptr;
  uint32_t slot = free_slots_[--nfree_];
  Conn& c = conns_[slot];
  uint16_t gen = c.gen;
  EarlyMsg* early = c.early;
  TxSlot* txw = c.txw;
  rte_mbuf** rxw = c.rxw;
  RdmaRegion* regions = c.regions;
  RdmaReadJob* rjobs = c.rjobs;
  c = Conn();
  c.regions = regions;
  c.rjobs = rjobs;
  c.gen = gen;
  c.early = early;
  c.txw = txw;
  c.rxw = rxw;
  c.last_rx_tsc = now_;
  c.id = conn_id_make(gen, index_, slot);
  stats_.conns.add(1);
  return &c;
}

namespace {
/** Remove `c` from an intrusive list linked through `next`. O(list length); slow path only. */
void unlink(Conn** head, Conn* c, Conn* Conn::*next) {
  for (Conn** pp = head; *pp; pp = &((*pp)->*next)) {
    if (*pp == c) {
      *pp = c->*next;
      return;
    }
  }
}
}  // namespace

void PollCore::conn_free(Conn& c) {
  uint32_t slot = conn_id_slot(c.id);
  unlink(&connecting_head_, &c, &Conn::next_connecting);
  if (c.in_ready) unlink(&ready_head_, &c, &Conn::next_ready);
  if (c.credit_dirty) unlink(&dirty_head_, &c, &Conn::next_dirty);
  if (c.in_ack_list) unlink(&ack_head_, &c, &Conn::next_ack);
  wheel_.cancel(&c.timer);
  release_windows(c);
  rdma_revoke_all(c);  // R63: after the close the peer reaches nothing
  if (c.link) c.link->conn_slot_pc = UINT32_MAX;
  c.state = ConnState::kFree;
  c.link = nullptr;
  c.gen = static_cast<uint16_t>((c.gen + 1) & 0xfff);
  if (c.gen == 0) c.gen = 1;
  free_slots_[nfree_++] = slot;
  stats_.conns.add(static_cast<uint64_t>(-1));
}

Conn* PollCore::conn_by_id(uint32_t id) {
  uint32_t slot = conn_id_slot(id);
  if (conn_id_core(id) != index_ || slot >= e_->config().max_conns_per_core) return nullptr;
  Conn& c = conns_[slot];
  if (c.state == ConnState::kFree || c.id != id) return nullptr;
  return &c;
}

Conn* PollCore::conn_of(SocketLink* link) {
  if (link->conn_slot_pc == UINT32_MAX) return nullptr;
  return &conns_[link->conn_slot_pc];
}

}  // namespace dpsan::fastpath
