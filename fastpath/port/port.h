/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Port: where frames leave and enter. Small and sharp, like liburing: the caller fills a
 * burst, hands it over once, and is told how much was taken; nothing is flushed or retried
 * behind its back.
 *
 * Threading: rx_burst/tx_burst on a queue are called only by the poll core that owns the queue
 * (or by the final cleanup once that core is quiesced). Ownership of mbufs passes to the port on
 * a successful tx (the port frees them) and to the caller on rx.
 */
#pragma once

#include <cstdint>
#include <rte_mbuf.h>

namespace dpsan::fastpath {

class Port {
 public:
  virtual ~Port() = default;
  /** @return frames received (0..n); the caller owns them. */
  virtual uint16_t rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) = 0;
  /** @return frames taken (0..n); pkts[ret..n) stay the caller's. */
  virtual uint16_t tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) = 0;
  /** Stop and release the port. Control only, after the owning cores are stopped. */
  virtual void close() = 0;
  virtual uint16_t mtu() const = 0;
  const uint8_t* mac() const { return mac_; }

 protected:
  uint8_t mac_[6] = {};
};

/**
 * An ethdev port (any DPDK PMD) with one RX and one TX queue per poll core.
 * Control, at bring-up. @return nullptr and a message in *err on failure.
 */
Port* ethdev_port_open(uint16_t port_id, rte_mempool* pool, uint16_t queues, uint16_t mtu,
                       const char** err);

/**
 * The built-in loopback: one rte_ring used as both the RX and the TX queue of a port made with
 * rte_eth_from_rings, so that every frame sent comes back on the same port and loopback runs the
 * same fast path as a NIC. `instance` makes the DPDK object names unique per instance.
 */
Port* loopback_port_open(unsigned instance, rte_mempool* pool, const char** err);

/** Fault injection rates ([fault] in the configuration); all zero means off. */
struct FaultConfig {
  double loss = 0, duplicate = 0, reorder = 0, corrupt = 0;  ///< probabilities per frame
  uint32_t delay_us = 0;        ///< every frame is held this long
  uint32_t flap_period_ms = 0;  ///< link down for flap_down_ms at the start of every period
  uint32_t flap_down_ms = 0;
  uint64_t seed = 1;            ///< the same seed gives the same faults for the same frames
  bool enabled() const {
    return loss > 0 || duplicate > 0 || reorder > 0 || corrupt > 0 || delay_us || flap_period_ms;
  }
};

/**
 * Wrap `inner` (which the result owns from now on) so that its transmit side suffers the
 * configured faults. Control, at bring-up; the wrapper is owner-core only like any port.
 */
Port* fault_port_wrap(Port* inner, const FaultConfig& f, rte_mempool* pool);

}  // namespace dpsan::fastpath
