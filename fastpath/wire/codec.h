/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The one encoder and the one decoder of dpsan frames (Ethernet / IPv4 / UDP / dpsan header).
 *
 * decode() is the only function that reads untrusted bytes. It checks every length and field
 * against the buffer before it is used, and it is what the fuzz target drives. It touches no
 * global state, so any thread may call it.
 */
#pragma once

#include <cstddef>
#include <cstdint>

#include "header.h"

namespace dpsan::fastpath::wire {

inline constexpr uint32_t kEthLen = 14, kIpLen = 20, kUdpLen = 8;
inline constexpr uint32_t kFrameOverhead = kEthLen + kIpLen + kUdpLen + sizeof(Header);

/** Addresses of a frame. IPs are in network byte order, as they sit in the packet. */
struct L3Addr {
  uint8_t src_mac[6];
  uint8_t dst_mac[6];
  uint32_t src_ip;
  uint32_t dst_ip;
  uint8_t via;  ///< not on the wire: index of the engine port the frame leaves or came in by
};

/** Host-order copy of a decoded header. */
struct Fields {
  uint8_t opcode;
  uint16_t flags;
  uint32_t dst_conn, src_conn, psn, ack_psn, recv_limit, early_limit;
  uint32_t msg_seq, msg_len, msg_offset;
  uint64_t sack;
};

struct Frame {
  L3Addr addr;
  Fields f;
  const uint8_t* payload;
  uint16_t payload_len;
};

enum class DecodeStatus : uint8_t {
  kOk,
  kTooShort,     ///< shorter than the headers it claims
  kNotIpv4,      ///< ether type, IP version or IHL not ours
  kIpLength,     ///< IP total length inconsistent with the frame
  kFragment,     ///< fragmented IP
  kNotUdp,
  kWrongPort,    ///< not our UDP port
  kUdpLength,
  kVersion,      ///< unknown dpsan version or header length
  kOpcode,       ///< unknown opcode
  kPayloadLength,///< payload_len disagrees with the UDP length
  kChecksum,     ///< CRC32C mismatch
  kBadBody,      ///< connect body missing or segment fields inconsistent
  kIpChecksum,   ///< IPv4 header checksum wrong
  kTooLong,      ///< longer than the receiving port's MTU (the poll core checks; decode cannot)
  kCount
};

const char* decode_status_name(DecodeStatus s);

/**
 * Decode and validate a frame.
 * @return kOk and fill *out (pointers into `data`), or the first failed check (out undefined).
 */
DecodeStatus decode(const uint8_t* data, size_t len, Frame* out);

/**
 * Write the headers of a frame into `buf` (at least kFrameOverhead + payload_len bytes, with the
 * payload already in place at buf + kFrameOverhead) and compute the checksums; the IPv4 header
 * checksum is left 0 when `ip_cksum` is false (the port computes it: checksum offload).
 * With `ext`, the last `ext_len` bytes of the payload are not in `buf` but at `ext` (a zero-copy
 * segment, zerocopy.h): the CRC covers them there.
 * @return the frame length (ext_len included).
 */
uint32_t encode(uint8_t* buf, const L3Addr& addr, const Fields& f, uint16_t payload_len,
                bool ip_cksum = true, const uint8_t* ext = nullptr, uint16_t ext_len = 0);

/** Bytes before each message of a packed DATA frame (its be32 length). */
inline constexpr uint32_t kPackedLenBytes = 4;

/** Write the length of one message of a packed DATA frame at `p`. */
inline void packed_put_len(uint8_t* p, uint32_t len) {
  p[0] = static_cast<uint8_t>(len >> 24);
  p[1] = static_cast<uint8_t>(len >> 16);
  p[2] = static_cast<uint8_t>(len >> 8);
  p[3] = static_cast<uint8_t>(len);
}

/**
 * The message at byte *off of a packed payload that decode() accepted (so every length is
 * known to fit); *off moves past it. @return its length, *data its bytes.
 */
inline uint32_t packed_next(const uint8_t* payload, uint32_t* off, const uint8_t** data) {
  const uint8_t* p = payload + *off;
  uint32_t len = uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
  *data = p + kPackedLenBytes;
  *off += kPackedLenBytes + len;
  return len;
}

/** CRC32C used by the header (hardware instruction where the CPU has it). */
uint32_t crc32c(const void* data, size_t len, uint32_t init);

}  // namespace dpsan::fastpath::wire
