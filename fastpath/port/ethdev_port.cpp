/* SPDX-License-Identifier: BSD-3-Clause */
#include <algorithm>
#include <cstdio>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "port.h"

namespace dpsan::fastpath {

namespace {

class EthdevPort final : public Port {
 public:
  EthdevPort(uint16_t id, uint16_t mtu, rte_ring* owned_ring)
      : id_(id), mtu_(mtu), owned_ring_(owned_ring) {}

  uint16_t rx_burst(uint16_t q, rte_mbuf** pkts, uint16_t n) override {
    return rte_eth_rx_burst(id_, q, pkts, n);
  }
  uint16_t tx_burst(uint16_t q, rte_mbuf** pkts, uint16_t n) override {
    return rte_eth_tx_burst(id_, q, pkts, n);
  }
  void close() override {
    rte_eth_dev_stop(id_);
    if (owned_ring_) {
      // Frames still in the loopback ring belong to nobody; give them back to their pool.
      void* m;
      while (rte_ring_dequeue(owned_ring_, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
    }
    rte_eth_dev_close(id_);
    rte_ring_free(owned_ring_);
    owned_ring_ = nullptr;
  }
  uint16_t mtu() const override { return mtu_; }
  void set_mac(const rte_ether_addr& a) { std::copy(a.addr_bytes, a.addr_bytes + 6, mac_); }

 private:
  uint16_t id_;
  uint16_t mtu_;
  rte_ring* owned_ring_;
};

bool configure(uint16_t id, rte_mempool* pool, uint16_t queues, uint16_t mtu, const char** err) {
  rte_eth_conf conf{};
  if (rte_eth_dev_configure(id, queues, queues, &conf) != 0) {
    *err = "rte_eth_dev_configure failed";
    return false;
  }
  rte_eth_dev_set_mtu(id, mtu);  // best effort: virtual ports may not support it
  for (uint16_t q = 0; q < queues; q++) {
    if (rte_eth_rx_queue_setup(id, q, 1024, rte_eth_dev_socket_id(id), nullptr, pool) != 0 ||
        rte_eth_tx_queue_setup(id, q, 1024, rte_eth_dev_socket_id(id), nullptr) != 0) {
      *err = "queue setup failed";
      return false;
    }
  }
  if (rte_eth_dev_start(id) != 0) {
    *err = "rte_eth_dev_start failed";
    return false;
  }
  return true;
}

}  // namespace

Port* ethdev_port_open(uint16_t port_id, rte_mempool* pool, uint16_t queues, uint16_t mtu,
                       const char** err) {
  if (!configure(port_id, pool, queues, mtu, err)) return nullptr;
  auto* p = new EthdevPort(port_id, mtu, nullptr);
  rte_ether_addr a;
  rte_eth_macaddr_get(port_id, &a);
  p->set_mac(a);
  return p;
}

Port* loopback_port_open(unsigned instance, rte_mempool* pool, const char** err) {
  char name[RTE_RING_NAMESIZE];
  std::snprintf(name, sizeof name, "dpsan_lo%u", instance);
  // One core uses the ring as both its TX and its RX queue: single producer, single consumer.
  rte_ring* r = rte_ring_create(name, 16384, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (r == nullptr) {
    *err = "cannot create the loopback ring";
    return nullptr;
  }
  int id = rte_eth_from_rings(name, &r, 1, &r, 1, SOCKET_ID_ANY);
  if (id < 0) {
    rte_ring_free(r);
    *err = "rte_eth_from_rings failed";
    return nullptr;
  }
  if (!configure(static_cast<uint16_t>(id), pool, 1, 9000, err)) {
    rte_eth_dev_close(static_cast<uint16_t>(id));
    rte_ring_free(r);
    return nullptr;
  }
  auto* p = new EthdevPort(static_cast<uint16_t>(id), 9000, r);
  p->set_mac(rte_ether_addr{{0x02, 0x44, 0x50, 0x53, 0x00, 0x01}});
  return p;
}

}  // namespace dpsan::fastpath
