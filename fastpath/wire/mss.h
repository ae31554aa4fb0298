/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Segment size of a connection: the most payload bytes one of its frames carries.
 *
 * A port can receive frames up to its MTU (plus the Ethernet header), so the most dpsan payload
 * a frame to it may carry is its MTU less the IPv4, UDP and dpsan headers (mss_of_mtu). Each
 * side says in CONNECT_REQ and ACCEPT (ConnectBody::rx_mss) how much it can take on the port the
 * connection uses; each then sends at most conn_mss(own port's, peer's) per frame, for DATA,
 * RDMA_WRITE (body included) and RDMA_READ_RESP alike. So two ports of different MTUs talk at
 * the smaller one, and two jumbo ports at the larger.
 *
 * A peer older than the field sends 0 there: it is taken to receive what a 1500-byte MTU holds
 * (kMssConservative), the MTU such peers ran their in-process ports at. Pure functions; any
 * thread may call them.
 */
#pragma once

#include <algorithm>
#include <cstdint>

#include "codec.h"

namespace dpsan::fastpath::wire {

/** dpsan payload bytes a frame of IP MTU `mtu` carries (mtu >= 84). */
inline constexpr uint32_t mss_of_mtu(uint32_t mtu) {
  return mtu - kIpLen - kUdpLen - static_cast<uint32_t>(sizeof(Header));
}

/** What a peer that did not say receives: the payload of a 1500-byte MTU (1,416 bytes). */
inline constexpr uint16_t kMssConservative = static_cast<uint16_t>(mss_of_mtu(1500));
/** The least taken from a peer: the payload of IPv4's minimum datagram, 576 bytes (492). */
inline constexpr uint16_t kMssMin = static_cast<uint16_t>(mss_of_mtu(576));

/**
 * A peer's advertised receive size as this side uses it: 0 (not said) is kMssConservative;
 * below kMssMin reads as kMssMin (so an RDMA_WRITE frame always has room for its body and data);
 * above 65535 as 65535 (payload_len is 16 bits).
 */
inline constexpr uint16_t peer_rx_mss(uint32_t advertised) {
  if (advertised == 0) return kMssConservative;
  return static_cast<uint16_t>(std::clamp<uint32_t>(advertised, kMssMin, 0xffffu));
}

/** Payload bytes per frame on a connection: the smaller of our port's and the peer's. */
inline constexpr uint16_t conn_mss(uint16_t own, uint32_t advertised) {
  return std::min(own, peer_rx_mss(advertised));
}

}  // namespace dpsan::fastpath::wire
