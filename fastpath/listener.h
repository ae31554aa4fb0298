/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Listeners and their accept queues.
 *
 * The listener table maps a port to the Listener that owns it. SPI threads publish and
 * unpublish entries (under the socket's lock); poll cores read them without locks, under
 * QSBR: a listener is freed only after a grace period (rte_rcu_qsbr_synchronize).
 *
 * A connect request for a listener becomes a PendingConn. The core that received it keeps it
 * on its pending list (to drop retransmitted requests) and queues it on the listener's accept
 * ring (multi-producer / multi-consumer); WSPAccept takes it from there and posts kAccept or
 * kReject back to that core, which then forgets it.
 */
#pragma once

#include <atomic>
#include <cstdint>

#include "ring.h"
#include "socket_link.h"
#include "wire/codec.h"

namespace dpsan::fastpath {

struct PendingConn {
  wire::L3Addr addr;           ///< src = us (the listener side), dst = the connector
  uint16_t local_port, peer_port;
  uint32_t peer_conn;
  uint32_t peer_recv_limit, peer_early_limit;
  uint16_t core;               ///< core that received the request and owns this record
  bool cancelled;              ///< the connector gave up (RESET) before it was accepted
  bool peer_packs;             ///< the connector takes packed DATA (wire::kPacked)
  uint16_t peer_rx_mss;        ///< payload bytes per frame the connector takes (wire/mss.h)
  PendingConn* next_pc;        ///< owner core's pending list
};

struct Listener {
  uint32_t ip = 0;             ///< network order; 0 = every served address
  uint16_t port = 0;
  std::atomic<uint32_t> backlog{0};
  std::atomic<uint32_t> queued{0};   ///< requests queued and not yet taken by WSPAccept
  PtrRing<PendingConn> queue;        ///< MP/MC
  SocketLink* link = nullptr;
};

/** Port -> Listener*, one atomic slot per port. */
class ListenerTable {
 public:
  bool init();
  void fini();
  /** SPI thread. @return false if the port is taken. */
  bool publish(uint16_t port, Listener* l);
  /** SPI thread; the caller must wait for a grace period before freeing `l`. */
  void unpublish(uint16_t port, Listener* l);
  /** Poll core, under QSBR. */
  Listener* lookup(uint16_t port) const {
    return slots_[port].load(std::memory_order_acquire);
  }

 private:
  std::atomic<Listener*>* slots_ = nullptr;
};

}  // namespace dpsan::fastpath
