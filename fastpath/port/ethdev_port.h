/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * EthdevPort: a Port over one DPDK ethdev, with queue q used by poll core q. Internal to
 * fastpath/port: the factories in port.h build it for probed devices and for net_ring ports.
 */
#pragma once

#include <string>
#include <vector>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "port.h"
#include "../tsan.h"

namespace dpsan::fastpath {

class EthdevPort final : public Port {
 public:
  /** What close() must undo besides stopping and closing the ethdev. */
  struct Owned {
    std::vector<rte_ring*> drain;  ///< rings whose frames are ours to free at close
    std::vector<rte_ring*> free;   ///< rings to free at close (after draining)
    bool close_device = false;     ///< close the device (else only stop it, for the next instance)
  };

  EthdevPort(uint16_t id, uint16_t mtu, Owned owned) : id_(id), mtu_(mtu), owned_(std::move(owned)) {}

  // The tsan_* calls (build-tsan only) state the hand-off of each frame through the PMD, which
  // TSan cannot see: a net_ring port hands our mbufs to the other engine's poll core.
  uint16_t rx_burst(uint16_t q, rte_mbuf** pkts, uint16_t n) override {
    uint16_t got = rte_eth_rx_burst(id_, q, pkts, n);
    for (uint16_t i = 0; DPSAN_TSAN && i < got; i++) tsan_acquire(pkts[i]);
    return got;
  }
  uint16_t tx_burst(uint16_t q, rte_mbuf** pkts, uint16_t n) override {
    for (uint16_t i = 0; DPSAN_TSAN && i < n; i++) tsan_release(pkts[i]);
    if (n) return rte_eth_tx_burst(id_, q, pkts, n);
    // An empty burst is a kick for wrappers only: some PMDs make a system call for it. A NIC
    // frees what it has sent only in later bursts, and a zero-copy operation completes only
    // once its frames are freed (R19): the idle kick has it free them (PMDs that cannot answer
    // -ENOTSUP and free at their next burst).
    if (reads_by_dma_) rte_eth_tx_done_cleanup(id_, q, 0);
    return 0;
  }
  /** Final cleanup: a NIC gives back the frames it has sent (see tx_burst). */
  void release_held(uint16_t q) override {
    if (reads_by_dma_) rte_eth_tx_done_cleanup(id_, q, 0);
  }
  void close() override;
  uint16_t mtu() const override { return mtu_; }

  void set_mac(const rte_ether_addr& a);
  void set_mtu(uint16_t mtu) { mtu_ = mtu; }
  void set_tx_ip_cksum(bool on) { tx_ip_cksum_ = on; }
  bool zero_copy_tx() const override { return zero_copy_; }
  rte_device* dma_device() const override { return device_; }
  bool reads_by_dma() const override { return reads_by_dma_; }
  /** Allow zero-copy frames: needs multi-segment TX. */
  void set_zero_copy(bool on) { zero_copy_ = on && multi_seg_; }
  void set_multi_seg(bool on) { multi_seg_ = on; }
  /** The ethdev's device, and whether it DMAs (not on the vdev bus). */
  void set_device(rte_device* dev);

 private:
  uint16_t id_;
  uint16_t mtu_;
  Owned owned_;
  bool multi_seg_ = false;  ///< TX takes mbuf chains
  bool zero_copy_ = false;
  rte_device* device_ = nullptr;
  bool reads_by_dma_ = false;
};

/**
 * Configure and start ethdev `id` with `queues` RX/TX queue pairs on `pool`. `mtu`: 0 keeps the
 * device's own; else it is set at configure time (rxmode.mtu, capped so that a frame fits one of
 * the pool's buffers) and with rte_eth_dev_set_mtu where the PMD has that operation. The port's
 * mtu() is what the device reports after that.
 * @return the started port, or nullptr with *err set (the device is left closed).
 */
EthdevPort* ethdev_start(uint16_t id, rte_mempool* pool, uint16_t queues, uint16_t mtu,
                         EthdevPort::Owned owned, std::string* err);

}  // namespace dpsan::fastpath
