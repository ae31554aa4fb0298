/* SPDX-License-Identifier: BSD-3-Clause */
#include "poll_core.h"

#include <cstdio>
#include <ctime>
#include <sys/prctl.h>
#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_pause.h>

#include "port/port.h"

namespace dpsan::fastpath {

PollCore::~PollCore() {
  requests_.destroy();
  rte_free(conns_);
  rte_free(free_slots_);
  rte_free(early_store_);
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
  uint32_t n = cfg.max_conns_per_core;
  conns_ = static_cast<Conn*>(rte_zmalloc("dpsan_conns", sizeof(Conn) * n, 64));
  free_slots_ = static_cast<uint32_t*>(rte_malloc("dpsan_conn_free", sizeof(uint32_t) * n, 64));
  early_store_ = static_cast<EarlyMsg*>(
      rte_malloc("dpsan_early", sizeof(EarlyMsg) * n * cfg.early_slots, 64));
  if (!conns_ || !free_slots_ || !early_store_) {
    *err = "cannot allocate the connection table";
    return false;
  }
  for (uint32_t i = 0; i < n; i++) {
    new (&conns_[i]) Conn();
    conns_[i].early = early_store_ + static_cast<size_t>(i) * cfg.early_slots;
    free_slots_[i] = n - 1 - i;
  }
  nfree_ = n;
  tsc_hz_ = rte_get_tsc_hz();
  uint16_t mtu = e_->port()->mtu();
  uint32_t room = e_->config().mbuf_data_room - RTE_PKTMBUF_HEADROOM;
  uint32_t frame_max = std::min<uint32_t>(room, mtu + wire::kEthLen);
  mss_ = static_cast<uint16_t>(frame_max - wire::kFrameOverhead);
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
    rte_rcu_qsbr_quiescent(e_->qsbr, index_);
    unsigned work = 0;
    if (!e_->stopping()) {
      now_ = rte_rdtsc();
      Request* reqs[kReqBurst];
      unsigned n = requests_.dequeue_burst(reqs, kReqBurst);
      for (unsigned i = 0; i < n; i++) on_request_pc(reqs[i]);
      work += n;
      work += rx_pc();
      if (now_ >= next_timer_tsc_) {
        timers_pc(now_);
        next_timer_tsc_ = now_ + ms_to_tsc(1);
      }
      pump_sends_pc();
      send_credits_pc();
      work += tx_flush();
    }
    if (work) {
      backoff_.busy_pass();
    } else if (backoff_.idle_pass()) {
      rte_rcu_qsbr_thread_offline(e_->qsbr, index_);
      timespec ts{0, static_cast<long>(backoff_.sleep_us) * 1000};
      nanosleep(&ts, nullptr);
      rte_rcu_qsbr_thread_online(e_->qsbr, index_);
    } else {
      rte_pause();
    }
  }
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
      send_connect_frame(c->addr, wire::kConnectReq, 0, c->id, c->local_port, c->peer_port, 0,
                         c->recvs_posted + e_->config().early_slots);
      c->connect_retry_tsc = now + ms_to_tsc(e_->config().connect_retry_ms);
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
  e_->finish(r, error, bytes);
}

void PollCore::record_event(SocketLink* link, uint32_t bit, int32_t error) {
  e_->record_event(link, bit, error);
}

void PollCore::fail_conn(Conn& c, uint32_t error) {
  c.state = ConnState::kDead;
  c.link->sticky_error.store(static_cast<int32_t>(error), std::memory_order_relaxed);
  c.link->state.store(kLinkDead, std::memory_order_release);
  while (Request* r = c.recv_q.pop()) complete(r, error, 0);
  while (Request* r = c.send_q.pop()) complete(r, error, 0);
  c.early_count = 0;
}

Conn* PollCore::conn_alloc() {
  if (nfree_ == 0) return nullptr;
  uint32_t slot = free_slots_[--nfree_];
  Conn& c = conns_[slot];
  uint16_t gen = c.gen;
  EarlyMsg* early = c.early;
  c = Conn();
  c.gen = gen;
  c.early = early;
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
