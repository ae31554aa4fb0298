/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The dpsan wire header, carried in UDP on port kUdpPort (Ethernet / IPv4 / UDP / dpsan).
 *
 *   0               1               2               3
 *   +---------------+---------------+-------------------------------+
 *   |   version=1   |    opcode     |            flags              |  0
 *   +---------------+---------------+-------------------------------+
 *   |                     dst_conn (receiver's id)                  |  4
 *   |                     src_conn (sender's id)                    |  8
 *   |                     psn (packet sequence number)              | 12
 *   |                     ack_psn (cumulative ack)                  | 16
 *   |                     recv_limit (credit: receives posted)      | 20
 *   |                     early_limit (credit incl. early slots)    | 24
 *   |                     msg_seq                                   | 28
 *   |                     msg_len                                   | 32
 *   |                     msg_offset                                | 36
 *   +-------------------------------+-------------------------------+
 *   |          payload_len          |      hdr_len (=56)            | 40
 *   +-------------------------------+-------------------------------+
 *   |         sack: bit i = psn ack_psn + 1 + i is held (64 bits)    | 44
 *   |                                                               |
 *   |                     crc32c (header with this field 0, payload)| 52
 *   +---------------------------------------------------------------+
 *
 * UDP: destination port kUdpPort; the source port is per-connection entropy in 0xc000..0xffff.
 * Every integer is big-endian. CONNECT_REQ, ACCEPT and REJECT carry a ConnectBody as payload,
 * RDMA_WRITE and RDMA_READ_REQ an RdmaBody, RESET optionally a ResetBody.
 *
 * ConnectBody (12 bytes; older decoders want exactly 12, so it never grows):
 *   +-------------------------------+-------------------------------+
 *   |                     src_ip (the sender socket's address)      |  0
 *   +-------------------------------+-------------------------------+
 *   |           src_port            |           dst_port            |  4
 *   +-------------------------------+-------------------------------+
 *   |  REJECT: reason (a WSA code); CONNECT_REQ, ACCEPT: rx_mss      |  8
 *   +---------------------------------------------------------------+
 * rx_mss is the most payload bytes per frame the sender receives on the port the connection
 * uses; each side sends at most the smaller of its own and the peer's (mss.h). 0 = not said
 * (a peer older than the field, which wrote its unused reason 0 there): 1,416, what MTU 1500
 * carries.
 * A reader must bounds-check with wire::decode() before looking at any field.
 */
#pragma once

#include <cstdint>

#include "be.h"

namespace dpsan::fastpath::wire {

inline constexpr uint8_t kVersion = 1;
inline constexpr uint16_t kUdpPort = 21316;  // 0x5344, "SD"

enum Opcode : uint8_t {
  kConnectReq = 1,
  kAccept = 2,
  kReject = 3,
  kData = 4,
  kAck = 5,
  kCredit = 6,
  kReset = 7,
  kKeepalive = 8,
  kRdmaWrite = 9,     ///< RdmaBody + data: place into the receiver's registered region
  kRdmaReadReq = 10,  ///< RdmaBody: the receiver streams msg_len bytes back as READ_RESP
  kRdmaReadResp = 11, ///< data of the read msg_seq, at msg_offset (segmented like DATA)
  kOpcodeMax = 11,
};

/**
 * Opcodes that consume a packet sequence number and are acknowledged and retransmitted. Credit
 * limits are cumulative and ride on every frame, so a lost CREDIT costs nothing but a probe: a
 * sender stalled on credits sends KEEPALIVE after an RTO, and the ACK carries the limits.
 */
inline constexpr bool opcode_reliable(uint8_t op) {
  return op == kData || op == kRdmaWrite || op == kRdmaReadReq || op == kRdmaReadResp;
}

enum Flags : uint16_t {
  kFirst = 1u << 0,  ///< first segment of a message
  kLast = 1u << 1,   ///< last segment of a message
  /// DATA: several whole messages in one frame (flags first|last|packed, msg_seq = the first
  /// one's number, msg_len = how many, msg_offset = 0); the payload is, per message, a be32
  /// length and then its bytes. CONNECT_REQ / ACCEPT: the sender takes packed DATA; a peer
  /// that does not say so is never sent any (older peers ignore the bit).
  kPacked = 1u << 2,
};

struct Header {
  uint8_t version;
  uint8_t opcode;
  be16 flags;
  be32 dst_conn;
  be32 src_conn;
  be32 psn;
  be32 ack_psn;
  be32 recv_limit;
  be32 early_limit;
  be32 msg_seq;
  be32 msg_len;
  be32 msg_offset;
  be16 payload_len;
  be16 hdr_len;
  be64 sack;
  be32 crc32c;
} __attribute__((packed));
static_assert(sizeof(Header) == 56, "dpsan header is 56 bytes on the wire");

/** Payload of CONNECT_REQ / ACCEPT / REJECT. Read only by wire::read_connect() (body.h). */
struct ConnectBody {
  be32 src_ip;     ///< the sender socket's address (network order in host field order)
  be16 src_port;   ///< the sender socket's port
  be16 dst_port;   ///< CONNECT_REQ: the listening port asked for
  /// One word, two meanings by opcode. A union of two names rather than a new field: the body
  /// keeps its 12 bytes, so older peers decode our handshakes and we theirs.
  union {
    be32 reason;   ///< REJECT: a WSA code for the connector (WSAECONNREFUSED...)
    be32 rx_mss;   ///< CONNECT_REQ / ACCEPT: payload bytes per frame we take; 0 = not said
  };
} __attribute__((packed));
static_assert(sizeof(ConnectBody) == 12);

/**
 * The remote half of an RDMA frame (RDMA_WRITE: followed by the data; RDMA_READ_REQ: alone).
 * It repeats the target's RDMA descriptor (README "RDMA descriptor") and the byte offset of the
 * operation's first byte in the region; a segment's bytes go to offset + msg_offset. Parsed
 * only by wire::decode_rdma() (rdma.h), which checks it before any field is used.
 */
struct RdmaBody {
  be32 desc_conn;  ///< the target's connection id, as written in the descriptor
  be32 region;     ///< slot of the region in the target connection's table
  be32 gen;        ///< generation of that slot when the region was registered
  be32 reserved;   ///< 0
  be64 key;        ///< the region's random 64-bit key
  be64 offset;     ///< offset of the operation's first byte in the region
} __attribute__((packed));
static_assert(sizeof(RdmaBody) == 32);

/** Optional payload of RESET: why the sender aborted the connection (a WSA code). */
struct ResetBody {
  be32 reason;
} __attribute__((packed));
static_assert(sizeof(ResetBody) == 4);

/** Reject reasons carried in ConnectBody::reason. */
enum RejectReason : uint32_t {
  kRefused = 10061,      // WSAECONNREFUSED: nothing listens, backlog full, or CF_REJECT
  kNoResources = 10055,  // WSAENOBUFS
};

/** RESET reasons (ResetBody::reason); a RESET without a body means kConnReset. */
enum ResetReason : uint32_t {
  kConnReset = 10054,    // WSAECONNRESET: the peer closed or gave up
  kConnAborted = 10053,  // WSAECONNABORTED: the peer refused an RDMA access (README "RDMA")
};

}  // namespace dpsan::fastpath::wire
