/* SPDX-License-Identifier: BSD-3-Clause */
#include "ethdev_port.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <ctime>
#include <map>
#include <rte_alarm.h>
#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_errno.h>

namespace dpsan::fastpath {

namespace {

constexpr uint16_t kRingDescs = 1024;

/** RSS over IPv4 addresses and UDP ports where the device can hash them. */
void set_rss(const rte_eth_dev_info& info, uint16_t queues, rte_eth_conf* conf) {
  uint64_t hf = (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP) & info.flow_type_rss_offloads;
  if (queues < 2 || hf == 0) return;  // one queue, or a port that cannot hash: hand-over fixes it
  conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
  conf->rx_adv_conf.rss_conf.rss_hf = hf;
}

std::string errstr(const char* what, int rc) {
  return std::string(what) + ": " + rte_strerror(rc < 0 ? -rc : rc);
}

/** The largest MTU the device takes, as rte_eth_dev_configure reckons it (DPDK 22.11). */
uint32_t device_max_mtu(const rte_eth_dev_info& info) {
  if (info.max_mtu != UINT16_MAX && info.max_rx_pktlen > info.max_mtu) return info.max_mtu;
  uint32_t overhead = RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
  return info.max_rx_pktlen > overhead ? std::min<uint32_t>(info.max_mtu, info.max_rx_pktlen - overhead) : 0;
}

/** A stop handed to the EAL interrupt thread. */
struct InterruptThreadStop {
  uint16_t port;
  std::atomic<bool> done{false};
};

void stop_from_alarm(void* arg) {
  auto* call = static_cast<InterruptThreadStop*>(arg);
  rte_eth_dev_stop(call->port);
  call->done.store(true, std::memory_order_release);
}

bool is_memif(uint16_t port) {
  rte_eth_dev_info info{};
  return rte_eth_dev_info_get(port, &info) == 0 && info.driver_name != nullptr &&
         std::strcmp(info.driver_name, "net_memif") == 0;
}

/**
 * Stop a port. net_memif runs its control channel on the EAL interrupt thread, and tears the
 * link down there when the peer disconnects; its stop tears down the same state, so a stop from
 * this thread at that moment races it (DPDK 22.11: SIGSEGV on the interrupt thread, seen when
 * two processes clean up at once). Alarm callbacks run on that same thread, so a stop made from
 * one is serialised with the control channel. Other PMDs stop here: some wait for the interrupt
 * thread in their stop, which would then wait on itself.
 */
void stop_port(uint16_t port) {
  if (!is_memif(port)) {
    rte_eth_dev_stop(port);
    return;
  }
  InterruptThreadStop call{port};
  if (rte_eal_alarm_set(1, stop_from_alarm, &call) != 0) {
    rte_eth_dev_stop(port);
    return;
  }
  // Bounded: the interrupt thread runs alarms within microseconds; should it not within 5 s,
  // take the alarm back and stop here rather than hang the final cleanup.
  for (int i = 0; i < 50000 && !call.done.load(std::memory_order_acquire); i++) {
    timespec ts{0, 100000};
    nanosleep(&ts, nullptr);
  }
  if (call.done.load(std::memory_order_acquire)) return;
  if (rte_eal_alarm_cancel(stop_from_alarm, &call) > 0) {
    rte_eth_dev_stop(port);
    return;
  }
  while (!call.done.load(std::memory_order_acquire)) {  // it is running right now
    timespec ts{0, 100000};
    nanosleep(&ts, nullptr);
  }
}

/**
 * Start a port. A net_memif client connects to its server's socket in its start, so a client
 * started a moment before its server would fail; it tries again for up to 5 s (bounded, so a
 * server that never comes still fails the startup with the device named).
 */
int start_port(uint16_t port) {
  int rc = rte_eth_dev_start(port);
  if (rc == 0 || !is_memif(port)) return rc;
  for (int i = 0; i < 100 && rc != 0; i++) {
    timespec ts{0, 50 * 1000 * 1000};
    nanosleep(&ts, nullptr);
    rc = rte_eth_dev_start(port);
  }
  return rc;
}

}  // namespace

void EthdevPort::set_device(rte_device* dev) {
  device_ = dev;
  const rte_bus* bus = dev ? rte_dev_bus(dev) : nullptr;
  // Only the vdev bus is sure to read through the CPU; PCI and any other bus may DMA.
  reads_by_dma_ = bus != nullptr && std::strcmp(rte_bus_name(bus), "vdev") != 0;
}

void EthdevPort::set_mac(const rte_ether_addr& a) {
  std::copy(a.addr_bytes, a.addr_bytes + 6, mac_);
}

void EthdevPort::close() {
  stop_port(id_);
  // Frames still in our rings belong to nobody: give them back to their pool.
  for (rte_ring* r : owned_.drain) {
    void* m;
    while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
  }
  if (owned_.close_device) {
    // Only rte_eth_from_rings devices are closed, and they are vdevs: a closed port stays on
    // the vdev bus under its name, and the next instance could not create it again (R20).
    rte_eth_dev_info info{};
    rte_eth_dev_info_get(id_, &info);
    rte_eth_dev_close(id_);
    if (info.device != nullptr) rte_dev_remove(info.device);
  }
  for (rte_ring* r : owned_.free) rte_ring_free(r);
  owned_ = Owned{};
}

EthdevPort* ethdev_start(uint16_t id, rte_mempool* pool, uint16_t queues, uint16_t mtu,
                         EthdevPort::Owned owned, std::string* err) {
  auto* port = new EthdevPort(id, 0, std::move(owned));
  auto fail = [&](std::string msg) -> EthdevPort* {
    *err = std::move(msg);
    port->close();
    delete port;
    return nullptr;
  };
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(id, &info); rc != 0) return fail(errstr("rte_eth_dev_info_get", rc));
  if (info.max_rx_queues < queues || info.max_tx_queues < queues)
    return fail("the device has " + std::to_string(std::min(info.max_rx_queues, info.max_tx_queues)) +
                " queue pair(s); one per poll core (" + std::to_string(queues) + ") is needed");
  rte_eth_conf conf{};
  set_rss(info, queues, &conf);
  bool cksum = info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  if (cksum) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  // Zero-copy frames are chains (zerocopy.h). net_ring passes mbufs through and claims no
  // offload; the caller knows such a port and says so.
  bool multi_seg = info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  if (multi_seg) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  if (mtu != 0) {
    // A frame must fit one receive buffer (no scatter): Ethernet header and a VLAN tag's room.
    uint32_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
    mtu = static_cast<uint16_t>(std::min<uint32_t>(mtu, room - RTE_ETHER_HDR_LEN - RTE_VLAN_HLEN));
    // At configure time: net_ring has no MTU operation, so rte_eth_dev_set_mtu alone would
    // leave it at 1500 (ENOTSUP); ethdev takes rxmode.mtu from every PMD.
    conf.rxmode.mtu = mtu;
    if (mtu > device_max_mtu(info) || mtu < info.min_mtu)
      return fail("MTU " + std::to_string(mtu) + " is out of the device's range (" +
                  std::to_string(info.min_mtu) + ".." + std::to_string(device_max_mtu(info)) + ")");
  }
  if (int rc = rte_eth_dev_configure(id, queues, queues, &conf); rc != 0)
    return fail(errstr("rte_eth_dev_configure", rc));
  if (mtu != 0) {
    // PMDs that have an MTU operation (a NIC, net_af_packet's interface) apply it here.
    if (int rc = rte_eth_dev_set_mtu(id, mtu); rc != 0 && rc != -ENOTSUP)
      return fail(errstr(("cannot set MTU " + std::to_string(mtu)).c_str(), rc));
  }
  uint16_t actual = 1500;
  rte_eth_dev_get_mtu(id, &actual);
  int socket = rte_eth_dev_socket_id(id);
  for (uint16_t q = 0; q < queues; q++) {
    if (int rc = rte_eth_rx_queue_setup(id, q, kRingDescs, socket, nullptr, pool); rc != 0)
      return fail(errstr("rte_eth_rx_queue_setup", rc));
    if (int rc = rte_eth_tx_queue_setup(id, q, kRingDescs, socket, nullptr); rc != 0)
      return fail(errstr("rte_eth_tx_queue_setup", rc));
  }
  if (int rc = start_port(id); rc != 0) return fail(errstr("rte_eth_dev_start", rc));
  rte_eth_promiscuous_enable(id);  // best effort: virtual ports often need it for unicast
  port->set_mtu(actual);
  rte_ether_addr a;
  rte_eth_macaddr_get(id, &a);
  port->set_mac(a);
  port->set_tx_ip_cksum(cksum);
  port->set_multi_seg(multi_seg);
  port->set_device(info.device);
  return port;
}

Port* probe_port_open(const std::string& device, rte_mempool* pool, uint16_t queues, uint16_t mtu,
                      std::string* err) {
  // A device is probed once per process, like the EAL, and kept (stopped) between instances:
  // removing and probing again is not reliable for every PMD (net_memif keeps its listening
  // socket), and the next startup then only configures and starts it again.
  static std::map<std::string, std::string> probed;  // name -> device string; control only
  std::string name = device.substr(0, device.find(','));
  auto it = probed.find(name);
  if (it != probed.end() && it->second != device) {
    *err = "\"" + name + "\" was probed as \"" + it->second +
           "\" earlier in this process; a device's arguments cannot change until it exits";
    return nullptr;
  }
  uint16_t id;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) {
    if (int rc = rte_dev_probe(device.c_str()); rc != 0) {
      *err = errstr("the device does not probe (rte_dev_probe)", rc);
      return nullptr;
    }
    if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) {
      *err = "probed, but no ethdev port is named \"" + name + "\"";
      return nullptr;
    }
    probed[name] = device;
  }
  EthdevPort* port = ethdev_start(id, pool, queues, mtu, EthdevPort::Owned{}, err);
  // Any device that takes chains: virtual ones (net_memif, net_af_packet...) copy what they
  // send through the CPU; one that DMAs (a PCI NIC) gets a zero-copy frame only from memory
  // mapped for it (dma_map.h, Engine::zero_copy_ok), others copied.
  if (port) port->set_zero_copy(true);
  return port;
}

}  // namespace dpsan::fastpath
