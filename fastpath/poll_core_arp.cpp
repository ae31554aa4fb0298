/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Neighbours, on the owning core: answering ARP for the addresses we serve, learning from what
 * arrives, and resolving a peer before a connection's first frame. Established connections
 * keep the MAC learned in their handshake, so nothing here runs per data frame.
 */
#include <cstring>

#include "poll_core.h"
#include "port/port.h"

namespace dpsan::fastpath {

void PollCore::on_arp_pc(const uint8_t* data, uint32_t len, uint8_t via) {
  wire::Arp a;
  if (!wire::arp_decode(data, len, &a)) {
    stats_.drops_not_ours.add(1);
    return;
  }
  stats_.arp_rx.add(1);
  const PortAddr& mine = e_->config().port_addr[via];
  // Learn only neighbours on our subnet that speak to us or answer us: a flood of ARP for other
  // hosts must not fill the table.
  bool for_us = a.target_ip == mine.ip;
  if (for_us && mine.contains(a.sender_ip)) e_->neighbours.learn(a.sender_ip, a.sender_mac, now_);
  if (for_us && a.op == wire::ArpOp::kRequest)
    send_arp_pc(via, wire::ArpOp::kReply, a.sender_mac, a.sender_ip);
}

bool PollCore::resolve_pc(wire::L3Addr* addr) {
  Port* port = e_->port(addr->via);
  if (!port->needs_arp()) {
    std::memset(addr->dst_mac, 0, 6);
    return true;
  }
  if (e_->port_serving(addr->dst_ip) == addr->via) {
    std::memcpy(addr->dst_mac, port->mac(), 6);  // our own address: the port loops it back
    return true;
  }
  if (e_->neighbours.lookup(addr->dst_ip, now_, addr->dst_mac)) return true;
  if (e_->neighbours.should_request(addr->dst_ip, now_)) {
    static const uint8_t kUnknown[6] = {};
    send_arp_pc(addr->via, wire::ArpOp::kRequest, kUnknown, addr->dst_ip);
  }
  return false;
}

}  // namespace dpsan::fastpath
