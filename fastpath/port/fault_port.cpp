/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * FaultPort: a Port that wraps another and, on transmit, loses, duplicates, reorders, corrupts
 * and delays frames and takes the link down and up, at configured rates, from a seeded
 * generator, so that a failing run can be replayed with its seed. Owner core only, like every
 * port queue. Corruption writes into a copy: the original may still be held for retransmission.
 */
#include <algorithm>
#include <cstdio>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <vector>

#include "port.h"
#include "../stats.h"

namespace dpsan::fastpath {

namespace {

class FaultPort final : public Port {
 public:
  FaultPort(Port* inner, const FaultConfig& f, rte_mempool* pool, uint16_t queues)
      : inner_(inner), f_(f), pool_(pool), lanes_(queues) {
    std::copy(inner->mac(), inner->mac() + 6, mac_);
    tx_ip_cksum_ = inner->tx_ip_cksum();
    tsc_per_us_ = rte_get_tsc_hz() / 1000000;
    for (uint16_t q = 0; q < queues; q++) lanes_[q].rng = (f.seed ? f.seed : 1) + q;
  }
  ~FaultPort() override { delete inner_; }

  uint16_t rx_burst(uint16_t q, rte_mbuf** pkts, uint16_t n) override {
    return inner_->rx_burst(q, pkts, n);
  }

  uint16_t tx_burst(uint16_t q, rte_mbuf** pkts, uint16_t n) override {
    Lane& l = lanes_[q];
    // Frames the wire refused last time go first; while some remain, take nothing new, so a
    // full wire pushes back on the core as it would without the injector (no extra loss).
    if (l.nbacklog) {
      uint16_t sent = inner_->tx_burst(q, l.backlog, l.nbacklog);
      std::copy(l.backlog + sent, l.backlog + l.nbacklog, l.backlog);
      l.nbacklog = static_cast<uint16_t>(l.nbacklog - sent);
      if (l.nbacklog) return 0;
    }
    uint64_t now = rte_rdtsc();
    rte_mbuf* out[kOut];
    uint16_t k = 0;
    release_delayed(l, now, out, &k);
    for (uint16_t i = 0; i < n; i++) {
      rte_mbuf* m = pkts[i];
      if (link_down(now) || chance(l, f_.loss)) {
        rte_pktmbuf_free(m);
        l.faults.add(1);
        continue;
      }
      if (chance(l, f_.corrupt)) m = corrupt(l, m);
      if (m == nullptr) continue;
      if (chance(l, f_.duplicate) && k + 1 < kOut) {
        rte_pktmbuf_refcnt_update(m, 1);  // every segment: a zero-copy frame is a chain
        push(l, out, &k, m);
        l.faults.add(1);
      }
      if (chance(l, f_.reorder)) {
        // Hold it back: it goes after the next frame (or with the next burst).
        if (l.held) push(l, out, &k, l.held);
        l.held = m;
        l.faults.add(1);
        continue;
      }
      if (f_.delay_us && l.dn < kDelay) {
        l.delayed[(l.dh + l.dn++) % kDelay] = {m, now + f_.delay_us * tsc_per_us_};
        continue;
      }
      push(l, out, &k, m);
      if (l.held) {
        push(l, out, &k, l.held);
        l.held = nullptr;
      }
    }
    if (l.held && n == 0) {  // nothing else to go behind it: release it now
      push(l, out, &k, l.held);
      l.held = nullptr;
    }
    uint16_t sent = k ? inner_->tx_burst(q, out, k) : 0;
    std::copy(out + sent, out + k, l.backlog);
    l.nbacklog = static_cast<uint16_t>(k - sent);
    return n;  // every frame is taken: lost, held, sent or waiting in the backlog
  }

  void release_held(uint16_t q) override {
    Lane& l = lanes_[q];
    for (uint16_t i = 0; i < l.nbacklog; i++) rte_pktmbuf_free(l.backlog[i]);
    l.nbacklog = 0;
    if (l.held) rte_pktmbuf_free(l.held);
    l.held = nullptr;
    while (l.dn) {
      rte_pktmbuf_free(l.delayed[l.dh].m);
      l.dh = (l.dh + 1) % kDelay;
      l.dn--;
    }
    inner_->release_held(q);
  }

  void close() override {
    for (uint16_t q = 0; q < lanes_.size(); q++) release_held(q);
    inner_->close();
  }
  uint16_t mtu() const override { return inner_->mtu(); }
  bool zero_copy_tx() const override { return inner_->zero_copy_tx(); }
  rte_device* dma_device() const override { return inner_->dma_device(); }
  bool reads_by_dma() const override { return inner_->reads_by_dma(); }
  bool needs_arp() const override { return inner_->needs_arp(); }

  uint64_t faults_injected() const override {
    uint64_t n = 0;
    for (const Lane& l : lanes_) n += l.faults.get();
    return n;
  }

 private:
  static constexpr uint16_t kOut = 1024;
  static constexpr uint32_t kDelay = 4096;
  struct Delayed {
    rte_mbuf* m;
    uint64_t due;
  };

  /** What one queue (one core) owns: its generator and the frames it holds back. */
  struct Lane {
    uint64_t rng = 1;
    rte_mbuf* held = nullptr;
    Delayed delayed[kDelay];
    uint32_t dh = 0, dn = 0;
    Counter faults;  ///< frames lost, duplicated, reordered or corrupted (owner-written)
    rte_mbuf* backlog[kOut];  ///< taken from the core, refused by the wire: sent first next time
    uint16_t nbacklog = 0;
  };

  /** xorshift64*: small, fast, and the same sequence for the same seed. */
  static uint64_t next(Lane& l) {
    l.rng ^= l.rng >> 12;
    l.rng ^= l.rng << 25;
    l.rng ^= l.rng >> 27;
    return l.rng * 2685821657736338717ull;
  }
  static bool chance(Lane& l, double p) {
    return p > 0 && static_cast<double>(next(l) >> 11) * 0x1.0p-53 < p;
  }

  bool link_down(uint64_t now) const {
    if (f_.flap_period_ms == 0) return false;
    uint64_t ms = now / (tsc_per_us_ * 1000);
    return ms % f_.flap_period_ms < f_.flap_down_ms;
  }

  rte_mbuf* corrupt(Lane& l, rte_mbuf* m) {
    rte_mbuf* c = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX);
    rte_pktmbuf_free(m);
    if (c == nullptr) return nullptr;
    uint32_t len = rte_pktmbuf_data_len(c);
    uint8_t* p = rte_pktmbuf_mtod(c, uint8_t*);
    p[14 + next(l) % (len - 14)] ^= static_cast<uint8_t>(1u << (next(l) % 8));  // past Ethernet
    l.faults.add(1);
    return c;
  }

  void push(Lane& l, rte_mbuf** out, uint16_t* k, rte_mbuf* m) {
    if (*k < kOut) {
      out[(*k)++] = m;
    } else {
      rte_pktmbuf_free(m);
      l.faults.add(1);
    }
  }

  void release_delayed(Lane& l, uint64_t now, rte_mbuf** out, uint16_t* k) {
    while (l.dn && l.delayed[l.dh].due <= now && *k < kOut / 2) {
      push(l, out, k, l.delayed[l.dh].m);
      l.dh = (l.dh + 1) % kDelay;
      l.dn--;
    }
  }

  Port* inner_;
  FaultConfig f_;
  rte_mempool* pool_;
  uint64_t tsc_per_us_ = 1;
  std::vector<Lane> lanes_;
};

}  // namespace

Port* fault_port_wrap(Port* inner, const FaultConfig& f, rte_mempool* pool, uint16_t queues) {
  std::fprintf(stderr,
               "dpsan: fault injection on: loss %.3f duplicate %.3f reorder %.3f corrupt %.3f "
               "delay %u us, flap %u/%u ms, seed %llu\n",
               f.loss, f.duplicate, f.reorder, f.corrupt, f.delay_us, f.flap_down_ms,
               f.flap_period_ms, static_cast<unsigned long long>(f.seed));
  return new FaultPort(inner, f, pool, queues);
}

}  // namespace dpsan::fastpath
