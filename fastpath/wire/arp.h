/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * ARP for IPv4 over Ethernet (RFC 826): the one parser and the one builder of ARP frames.
 *
 * arp_decode() reads untrusted bytes: it checks the length and every fixed field (hardware
 * type 1, protocol 0x0800, sizes 6 and 4, operation 1 or 2) before it fills anything, and it
 * touches no global state. It is driven by the wire fuzz target.
 */
#pragma once

#include <cstddef>
#include <cstdint>

namespace dpsan::fastpath::wire {

inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint32_t kArpFrameLen = 14 + 28;  ///< Ethernet header + ARP body, no padding

enum class ArpOp : uint16_t { kRequest = 1, kReply = 2 };

/** A decoded ARP packet. IPs in network byte order. */
struct Arp {
  ArpOp op;
  uint8_t sender_mac[6];
  uint32_t sender_ip;
  uint8_t target_mac[6];
  uint32_t target_ip;
};

/** @return true if `data` holds an Ethernet frame with a well-formed IPv4 ARP packet. */
bool arp_decode(const uint8_t* data, size_t len, Arp* out);

/**
 * Write an ARP frame into `buf` (at least kArpFrameLen bytes). A request is broadcast at the
 * Ethernet level; a reply goes to `target_mac`. @return the frame length.
 */
uint32_t arp_encode(uint8_t* buf, ArpOp op, const uint8_t sender_mac[6], uint32_t sender_ip,
                    const uint8_t target_mac[6], uint32_t target_ip);

}  // namespace dpsan::fastpath::wire
