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
#include <string>
#include <rte_mbuf.h>

struct rte_device;

namespace dpsan::fastpath {

inline constexpr uint16_t kMaxQueues = 16;  ///< one per poll core

/// IP MTUs a port may be given (the `mtu` key): IPv4's minimum datagram up to jumbo frames.
inline constexpr uint16_t kMtuMin = 576, kMtuMax = 9000;
/// The in-process ports' MTU unless configured: jumbo, since no wire limits them (README "Ports").
inline constexpr uint16_t kRingMtuDefault = 9000;

class Port {
 public:
  virtual ~Port() = default;
  /** @return frames received (0..n); the caller owns them. */
  virtual uint16_t rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) = 0;
  /**
   * @return frames taken (0..n); pkts[ret..n) stay the caller's. The owning core calls it with
   * n = 0 about once a millisecond while idle, so a port may release frames it holds by time.
   */
  virtual uint16_t tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) = 0;
  /** Stop and release the port. Control only, after the owning cores are stopped. */
  virtual void close() = 0;
  virtual uint16_t mtu() const = 0;
  /** Frames the fault injector lost, duplicated, reordered or corrupted (0 without one). */
  virtual uint64_t faults_injected() const { return 0; }
  /** Ethernet ports resolve peers with ARP; a port that carries only UDP payloads does not. */
  virtual bool needs_arp() const { return true; }
  /**
   * True when frames may carry a payload segment attached to the switch's memory (zerocopy.h):
   * the port takes mbuf chains. Whether a given frame may also depends on the device: one that
   * DMAs reads only memory mapped for it (dma_device(), Engine::zero_copy_ok). Others get
   * copied frames.
   */
  virtual bool zero_copy_tx() const { return false; }
  /** The DPDK device behind the port; nullptr for ports without one (uring). */
  virtual rte_device* dma_device() const { return nullptr; }
  /**
   * True when the device reads what it sends by DMA (any bus but the vdev bus, e.g. PCI), so
   * that memory attached to a frame must be mapped for it (dma_map.h). Virtual devices copy
   * through the CPU (in-process rings, net_memif, net_af_packet...).
   */
  virtual bool reads_by_dma() const { return false; }
  /**
   * Free every frame the port holds back on queue `q` (fault injection's delayed, reordered and
   * refused frames), so that zero-copy operations can complete. Final cleanup, quiesced.
   */
  virtual void release_held(uint16_t q) { (void)q; }
  const uint8_t* mac() const { return mac_; }
  /** True when the port computes the IPv4 header checksum of what it sends. */
  bool tx_ip_cksum() const { return tx_ip_cksum_; }

 protected:
  uint8_t mac_[6] = {};
  bool tx_ip_cksum_ = false;
};

/**
 * Any DPDK port named by a device string: a vdev ("net_memif0,role=server,socket=/tmp/a.sock",
 * "net_af_packet0,iface=veth0", "net_ring0"...) is probed with rte_dev_probe, a PCI address
 * ("0000:01:00.0") must have been allowed on the EAL command line. One RX and one TX queue per
 * poll core, RSS over IPv4/UDP when there are several, IPv4 checksum offload where offered.
 * A device is probed once per process and kept, stopped, between instances (as the EAL is);
 * its arguments cannot change within the process. `mtu`: 0 keeps the device's own (its real
 * limit is outside dpsan: a veth's MTU, a NIC's setting), else kMtuMin..kMtuMax is asked for.
 * Control, at bring-up. @return nullptr and a message in *err on failure.
 */
Port* probe_port_open(const std::string& device, rte_mempool* pool, uint16_t queues, uint16_t mtu,
                      std::string* err);

/**
 * The built-in loopback: per queue, one rte_ring used as both the RX and the TX queue of a port
 * made with rte_eth_from_rings (the net_ring PMD), so that every frame sent comes back on the
 * same port and loopback runs the same fast path as a NIC. `instance` makes the DPDK object
 * names unique per instance. `mtu`: 0 is kRingMtuDefault; it is set at configure time, capped
 * so that a frame fits one buffer of `pool`.
 */
Port* loopback_port_open(unsigned instance, rte_mempool* pool, uint16_t queues, uint16_t mtu,
                         std::string* err);

/**
 * One side (0 or 1) of a pair of net_ring ports joined back to back in this process: what side
 * 0 sends, side 1 receives, and the other way round, like two NICs on a cable. The first side
 * opened creates the rings and frees them when it closes, so close the sides in the reverse
 * order of opening. Each side gets its own MAC (02:44:50:53:<pair>:<side>), and its own `mtu`
 * (as loopback_port_open's): the two sides may differ, and each drops longer frames on receive.
 */
Port* ring_pair_port_open(const std::string& pair, unsigned side, rte_mempool* pool,
                          uint16_t queues, uint16_t mtu, std::string* err);

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
 * configured faults. Each of the `queues` queues has its own generator (seeded with seed + queue)
 * and its own held frames, so cores never share state. Control, at bring-up.
 */
Port* fault_port_wrap(Port* inner, const FaultConfig& f, rte_mempool* pool, uint16_t queues);

}  // namespace dpsan::fastpath
