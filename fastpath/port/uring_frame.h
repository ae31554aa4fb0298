/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The two translations of the uring back-end between whole dpsan frames and UDP datagrams:
 * where the datagram of a frame is (TX), and the Ethernet/IPv4/UDP headers written in front of
 * a received datagram (RX). Pure functions on bytes; any thread.
 */
#pragma once

#include <cstdint>

namespace dpsan::fastpath::uring {

inline constexpr uint32_t kL2L4Len = 14 + 20 + 8;  ///< Ethernet + IPv4 + UDP, as wire::kFrameOverhead

/** The UDP payload of a frame and where it goes. */
struct Datagram {
  const uint8_t* payload;
  uint16_t len;
  uint32_t dst_ip;  ///< network order
};

/**
 * Find the datagram inside a frame, checking the frame as a receiver would: bounds first, then
 * Ethernet type IPv4, version 4 without options, the IPv4 header checksum, UDP, destination port
 * `udp_port`, and lengths that agree. A frame that fails (for instance one the fault injector
 * corrupted in its headers) would be dropped by the peer, so the port drops it too.
 * @return true and *out, or false (out undefined).
 */
bool datagram_of_frame(const uint8_t* frame, uint32_t len, uint16_t udp_port, Datagram* out);

/**
 * Write Ethernet (MACs zero, type IPv4), IPv4 (DF, TTL 64, valid header checksum) and UDP
 * (checksum 0) headers into the kL2L4Len bytes at `frame`, for a payload of `payload_len`
 * bytes that follows them. Addresses in network order, ports in host order.
 * @pre payload_len <= 65535 - 28.
 */
void write_headers(uint8_t* frame, uint32_t src_ip, uint16_t src_port, uint32_t dst_ip,
                   uint16_t dst_port, uint16_t payload_len);

}  // namespace dpsan::fastpath::uring
