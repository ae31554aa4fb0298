/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Ports made of rte_rings with the net_ring PMD (rte_eth_from_rings): the built-in loopback,
 * and pairs of ports joined back to back inside one process.
 */
#include <cstdio>
#include <rte_eth_ring.h>

#include "ethdev_port.h"

namespace dpsan::fastpath {

namespace {

// As deep as a NIC's descriptor ring: a deeper one only adds queueing delay (a full ring pushes
// back on the sender, which keeps its frames), and the RTO follows the round-trip time.
constexpr unsigned kRingSize = 1024;

/**
 * Find or create ring `name`. Multi-producer and multi-consumer, although one core uses each
 * end: tests put raw frames on a pair's wire and take frames off it while the cores run.
 */
rte_ring* ring_get(const char* name, bool* created) {
  *created = false;
  if (rte_ring* r = rte_ring_lookup(name)) return r;
  rte_ring* r = rte_ring_create(name, kRingSize, SOCKET_ID_ANY, 0);
  *created = r != nullptr;
  return r;
}

Port* from_rings(const char* name, rte_ring** rx, rte_ring** tx, uint16_t queues,
                 rte_mempool* pool, uint16_t mtu, EthdevPort::Owned owned,
                 const rte_ether_addr& mac, std::string* err) {
  int id = rte_eth_from_rings(name, rx, queues, tx, queues, SOCKET_ID_ANY);
  if (id < 0) {
    for (rte_ring* r : owned.free) rte_ring_free(r);
    *err = "rte_eth_from_rings failed";
    return nullptr;
  }
  owned.close_device = true;
  EthdevPort* p = ethdev_start(static_cast<uint16_t>(id), pool, queues, mtu ? mtu : kRingMtuDefault,
                               std::move(owned), err);
  if (p != nullptr) {
    p->set_mac(mac);
    // net_ring hands the mbufs themselves to the receiving core, which flattens a chain and
    // frees it at once (zerocopy.h): zero-copy frames are safe here.
    p->set_multi_seg(true);
    p->set_zero_copy(true);
  }
  return p;
}

}  // namespace

Port* loopback_port_open(unsigned instance, rte_mempool* pool, uint16_t queues, uint16_t mtu,
                         std::string* err) {
  rte_ring* rings[kMaxQueues];
  EthdevPort::Owned owned;
  for (uint16_t q = 0; q < queues; q++) {
    char name[RTE_RING_NAMESIZE];
    std::snprintf(name, sizeof name, "dpsan_lo%u_%u", instance, q);
    // Each queue's ring is both its TX and its RX: what a core sends comes back to it.
    rings[q] = rte_ring_create(name, kRingSize, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (rings[q] == nullptr) {
      for (rte_ring* r : owned.free) rte_ring_free(r);
      *err = "cannot create the loopback ring";
      return nullptr;
    }
    owned.drain.push_back(rings[q]);
    owned.free.push_back(rings[q]);
  }
  char name[32];
  std::snprintf(name, sizeof name, "dpsan_lo%u", instance);
  return from_rings(name, rings, rings, queues, pool, mtu, std::move(owned),
                    rte_ether_addr{{0x02, 0x44, 0x50, 0x53, 0x00, 0x01}}, err);
}

Port* ring_pair_port_open(const std::string& pair, unsigned side, rte_mempool* pool,
                          uint16_t queues, uint16_t mtu, std::string* err) {
  if (side > 1 || pair.empty() || pair.size() > 12) {
    *err = "a ring pair needs a name of 1..12 characters and side 0 or 1";
    return nullptr;
  }
  rte_ring* rx[kMaxQueues];
  rte_ring* tx[kMaxQueues];
  EthdevPort::Owned owned;
  for (uint16_t q = 0; q < queues; q++) {
    char a[RTE_RING_NAMESIZE], b[RTE_RING_NAMESIZE];
    std::snprintf(a, sizeof a, "dpsan_rp_%s_%u%u", pair.c_str(), side, q);      // we send
    std::snprintf(b, sizeof b, "dpsan_rp_%s_%u%u", pair.c_str(), 1 - side, q);  // we receive
    bool ca, cb;
    tx[q] = ring_get(a, &ca);
    rx[q] = ring_get(b, &cb);
    if (ca) owned.free.push_back(tx[q]);
    if (cb) owned.free.push_back(rx[q]);
    if (tx[q] == nullptr || rx[q] == nullptr) {
      for (rte_ring* r : owned.free) rte_ring_free(r);
      *err = "cannot create the rings of ring pair \"" + pair + "\"";
      return nullptr;
    }
    // Frames waiting for us are ours to free; the side that frees a ring drains it first.
    owned.drain.push_back(rx[q]);
    if (ca) owned.drain.push_back(tx[q]);
  }
  char name[32];
  std::snprintf(name, sizeof name, "dpsan_rp_%s%u", pair.c_str(), side);
  uint8_t tag = static_cast<uint8_t>(pair.size() + pair.front());
  return from_rings(name, rx, tx, queues, pool, mtu, std::move(owned),
                    rte_ether_addr{{0x02, 0x44, 0x50, 0x53, tag, static_cast<uint8_t>(side)}}, err);
}

}  // namespace dpsan::fastpath
