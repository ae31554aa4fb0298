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

#include "port.h"

namespace dpsan::fastpath {

namespace {

class FaultPort final : public Port {
 public:
  FaultPort(Port* inner, const FaultConfig& f, rte_mempool* pool)
      : inner_(inner), f_(f), pool_(pool), rng_(f.seed ? f.seed : 1) {
    std::copy(inner->mac(), inner->mac() + 6, mac_);
    tsc_per_us_ = rte_get_tsc_hz() / 1000000;
  }
  ~FaultPort() override { delete inner_; }

  uint16_t rx_burst(uint16_t q, rte_mbuf** pkts, uint16_t n) override {
    return inner_->rx_burst(q, pkts, n);
  }

  uint16_t tx_burst(uint16_t q, rte_mbuf** pkts, uint16_t n) override {
    uint64_t now = rte_rdtsc();
    rte_mbuf* out[kOut];
    uint16_t k = 0;
    release_delayed(now, out, &k);
    for (uint16_t i = 0; i < n; i++) {
      rte_mbuf* m = pkts[i];
      if (link_down(now) || chance(f_.loss)) {
        rte_pktmbuf_free(m);
        stats.lost++;
        continue;
      }
      if (chance(f_.corrupt)) m = corrupt(m);
      if (m == nullptr) continue;
      if (chance(f_.duplicate) && k + 1 < kOut) {
        rte_mbuf_refcnt_update(m, 1);
        push(out, &k, m);
        stats.duplicated++;
      }
      if (chance(f_.reorder)) {
        // Hold it back: it goes after the next frame (or with the next burst).
        if (held_) push(out, &k, held_);
        held_ = m;
        stats.reordered++;
        continue;
      }
      if (f_.delay_us && dn_ < kDelay) {
        delayed_[(dh_ + dn_++) % kDelay] = {m, now + f_.delay_us * tsc_per_us_};
        continue;
      }
      push(out, &k, m);
      if (held_) {
        push(out, &k, held_);
        held_ = nullptr;
      }
    }
    if (held_ && n == 0) {  // nothing else to go behind it: release it now
      push(out, &k, held_);
      held_ = nullptr;
    }
    uint16_t sent = k ? inner_->tx_burst(q, out, k) : 0;
    for (uint16_t i = sent; i < k; i++) {  // the wire refused it: that is a loss too
      rte_pktmbuf_free(out[i]);
      stats.lost++;
    }
    return n;  // every frame is taken: lost, held or sent
  }

  void close() override {
    if (held_) rte_pktmbuf_free(held_);
    held_ = nullptr;
    while (dn_) {
      rte_pktmbuf_free(delayed_[dh_].m);
      dh_ = (dh_ + 1) % kDelay;
      dn_--;
    }
    inner_->close();
  }
  uint16_t mtu() const override { return inner_->mtu(); }

  struct {
    uint64_t lost = 0, duplicated = 0, reordered = 0, corrupted = 0;
  } stats;

 private:
  static constexpr uint16_t kOut = 1024;
  static constexpr uint32_t kDelay = 4096;
  struct Delayed {
    rte_mbuf* m;
    uint64_t due;
  };

  /** xorshift64*: small, fast, and the same sequence for the same seed. */
  uint64_t next() {
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return rng_ * 2685821657736338717ull;
  }
  bool chance(double p) { return p > 0 && static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }

  bool link_down(uint64_t now) const {
    if (f_.flap_period_ms == 0) return false;
    uint64_t ms = now / (tsc_per_us_ * 1000);
    return ms % f_.flap_period_ms < f_.flap_down_ms;
  }

  rte_mbuf* corrupt(rte_mbuf* m) {
    rte_mbuf* c = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX);
    rte_pktmbuf_free(m);
    if (c == nullptr) return nullptr;
    uint32_t len = rte_pktmbuf_data_len(c);
    uint8_t* p = rte_pktmbuf_mtod(c, uint8_t*);
    p[14 + next() % (len - 14)] ^= static_cast<uint8_t>(1u << (next() % 8));  // past Ethernet
    stats.corrupted++;
    return c;
  }

  void push(rte_mbuf** out, uint16_t* k, rte_mbuf* m) {
    if (*k < kOut) {
      out[(*k)++] = m;
    } else {
      rte_pktmbuf_free(m);
      stats.lost++;
    }
  }

  void release_delayed(uint64_t now, rte_mbuf** out, uint16_t* k) {
    while (dn_ && delayed_[dh_].due <= now && *k < kOut / 2) {
      push(out, k, delayed_[dh_].m);
      dh_ = (dh_ + 1) % kDelay;
      dn_--;
    }
  }

  Port* inner_;
  FaultConfig f_;
  rte_mempool* pool_;
  uint64_t rng_;
  uint64_t tsc_per_us_ = 1;
  rte_mbuf* held_ = nullptr;
  Delayed delayed_[kDelay];
  uint32_t dh_ = 0, dn_ = 0;
};

}  // namespace

Port* fault_port_wrap(Port* inner, const FaultConfig& f, rte_mempool* pool) {
  std::fprintf(stderr,
               "dpsan: fault injection on: loss %.3f duplicate %.3f reorder %.3f corrupt %.3f "
               "delay %u us, flap %u/%u ms, seed %llu\n",
               f.loss, f.duplicate, f.reorder, f.corrupt, f.delay_us, f.flap_down_ms,
               f.flap_period_ms, static_cast<unsigned long long>(f.seed));
  return new FaultPort(inner, f, pool);
}

}  // namespace dpsan::fastpath
