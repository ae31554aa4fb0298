/* SPDX-License-Identifier: BSD-3-Clause */
#include "codec.h"

#include <cstring>
#include <nmmintrin.h>
#include <rte_ip.h>

namespace dpsan::fastpath::wire {

namespace {

inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline void wr16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

constexpr size_t kCrcOffset = offsetof(Header, crc32c);

uint32_t header_crc(const uint8_t* hdr, const uint8_t* payload, uint16_t payload_len) {
  static const uint8_t zero[4] = {};
  uint32_t c = crc32c(hdr, kCrcOffset, 0xffffffffu);
  c = crc32c(zero, sizeof zero, c);
  return ~crc32c(payload, payload_len, c);
}

/**
 * A segment of `len` bytes must lie inside its message: offset + len <= msg_len without
 * overflow; the first starts at 0 and the last ends at msg_len.
 */
bool segment_fits(const Fields& f, uint16_t len) {
  if (f.msg_offset > f.msg_len || len > f.msg_len - f.msg_offset) return false;
  if ((f.flags & kFirst) && f.msg_offset != 0) return false;
  if ((f.flags & kLast) && f.msg_offset + len != f.msg_len) return false;
  return true;
}

/**
 * A packed DATA payload (header.h, kPacked) holds exactly msg_len messages, each a be32 length
 * and that many bytes, and nothing after them. Each message takes at least 4 bytes, so the
 * walk ends within payload_len / 4 steps whatever msg_len says.
 */
bool packed_fits(const Fields& f, const uint8_t* payload, uint16_t len) {
  if (f.flags != (kFirst | kLast | kPacked) || f.msg_offset != 0 || f.msg_len == 0) return false;
  uint32_t off = 0;
  for (uint32_t i = 0; i < f.msg_len; i++) {
    if (len - off < kPackedLenBytes) return false;
    const uint8_t* p = payload + off;
    uint32_t n = uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
    off += kPackedLenBytes;
    if (n > len - off) return false;
    off += n;
  }
  return off == len;
}

}  // namespace

namespace {

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);  // frames put the header at odd offsets: no direct unaligned loads
  return v;
}

/**
 * The CRC register is linear in its state when zero bytes are fed, so "feed kLane zero bytes"
 * (what joining a lane to the one after it needs) is a 32x32 bit matrix, kept as four byte
 * tables: shift(s) = t[0][s & 0xff] ^ t[1][s >> 8 & 0xff] ^ ...
 */
template <size_t kLane>
struct ZeroShift {
  uint32_t t[4][256];
  ZeroShift() {
    uint32_t basis[32];
    for (unsigned j = 0; j < 32; j++) {
      uint64_t c = 1u << j;
      for (size_t i = 0; i < kLane; i += 8) c = _mm_crc32_u64(c, 0);
      basis[j] = static_cast<uint32_t>(c);
    }
    for (unsigned k = 0; k < 4; k++)
      for (unsigned v = 0; v < 256; v++) {
        uint32_t x = 0;
        for (unsigned b = 0; b < 8; b++)
          if (v & (1u << b)) x ^= basis[8 * k + b];
        t[k][v] = x;
      }
  }
  uint32_t operator()(uint32_t s) const {
    return t[0][s & 0xff] ^ t[1][(s >> 8) & 0xff] ^ t[2][(s >> 16) & 0xff] ^ t[3][s >> 24];
  }
};

// Built when the library loads (two 4 KiB tables), so the hot path has no init guard.
const ZeroShift<512> g_shift512;
const ZeroShift<64> g_shift64;

/**
 * Blocks of three lanes of kLane bytes, each lane its own CRC chain: the crc32 instruction has
 * a latency of three cycles and a throughput of one, so three chains run about three times as
 * fast as one (a 9 KiB frame is checked twice per hop). The lanes are joined by shifting.
 */
template <size_t kLane>
uint64_t crc_3way(const uint8_t** pp, size_t* len, uint64_t c, const ZeroShift<kLane>& shift) {
  const uint8_t* p = *pp;
  for (; *len >= 3 * kLane; p += 3 * kLane, *len -= 3 * kLane) {
    uint64_t c1 = 0, c2 = 0;
    for (size_t i = 0; i < kLane; i += 8) {
      c = _mm_crc32_u64(c, load64(p + i));
      c1 = _mm_crc32_u64(c1, load64(p + kLane + i));
      c2 = _mm_crc32_u64(c2, load64(p + 2 * kLane + i));
    }
    c = shift(shift(static_cast<uint32_t>(c)) ^ static_cast<uint32_t>(c1)) ^
        static_cast<uint32_t>(c2);
  }
  *pp = p;
  return c;
}

}  // namespace

uint32_t crc32c(const void* data, size_t len, uint32_t init) {
  // SSE4.2 CRC32 (Castagnoli); memcpy loads, as rte_hash_crc's direct unaligned loads are
  // undefined behaviour (UBSan flags them).
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t c = init;
  c = crc_3way(&p, &len, c, g_shift512);
  c = crc_3way(&p, &len, c, g_shift64);
  for (; len >= 8; p += 8, len -= 8) c = _mm_crc32_u64(c, load64(p));
  auto c32 = static_cast<uint32_t>(c);
  for (; len; p++, len--) c32 = _mm_crc32_u8(c32, *p);
  return c32;
}

const char* decode_status_name(DecodeStatus s) {
  static const char* const names[] = {"ok",        "too_short",  "not_ipv4",     "ip_length",
                                      "fragment",  "not_udp",    "wrong_port",   "udp_length",
                                      "version",   "opcode",     "payload_length", "checksum",
                                      "bad_body",  "ip_checksum", "too_long"};
  auto i = static_cast<size_t>(s);
  return i < sizeof names / sizeof names[0] ? names[i] : "?";
}

DecodeStatus decode(const uint8_t* data, size_t len, Frame* out) {
  if (len < kFrameOverhead) return DecodeStatus::kTooShort;
  if (rd16(data + 12) != 0x0800) return DecodeStatus::kNotIpv4;
  const uint8_t* ip = data + kEthLen;
  if (ip[0] != 0x45) return DecodeStatus::kNotIpv4;  // IPv4, no options
  // The dpsan CRC covers neither the addresses nor the TTL: the IP checksum must hold.
  if (rte_raw_cksum(ip, kIpLen) != 0xffff) return DecodeStatus::kIpChecksum;
  uint16_t ip_total = rd16(ip + 2);
  if (ip_total < kIpLen + kUdpLen + sizeof(Header) || ip_total > len - kEthLen)
    return DecodeStatus::kIpLength;
  if (rd16(ip + 6) & 0x3fff) return DecodeStatus::kFragment;  // MF or an offset
  if (ip[9] != 17) return DecodeStatus::kNotUdp;
  const uint8_t* udp = ip + kIpLen;
  if (rd16(udp + 2) != kUdpPort) return DecodeStatus::kWrongPort;
  uint16_t udp_len = rd16(udp + 4);
  if (udp_len != ip_total - kIpLen) return DecodeStatus::kUdpLength;

  const uint8_t* h = udp + kUdpLen;
  Header hdr;
  std::memcpy(&hdr, h, sizeof hdr);
  if (hdr.version != kVersion || hdr.hdr_len.get() != sizeof(Header)) return DecodeStatus::kVersion;
  if (hdr.opcode == 0 || hdr.opcode > kOpcodeMax) return DecodeStatus::kOpcode;
  uint16_t payload_len = hdr.payload_len.get();
  if (payload_len != udp_len - kUdpLen - sizeof(Header)) return DecodeStatus::kPayloadLength;
  const uint8_t* payload = h + sizeof(Header);
  if (header_crc(h, payload, payload_len) != hdr.crc32c.get()) return DecodeStatus::kChecksum;

  Fields& f = out->f;
  f.opcode = hdr.opcode;
  f.flags = hdr.flags.get();
  f.dst_conn = hdr.dst_conn.get();
  f.src_conn = hdr.src_conn.get();
  f.psn = hdr.psn.get();
  f.ack_psn = hdr.ack_psn.get();
  f.recv_limit = hdr.recv_limit.get();
  f.early_limit = hdr.early_limit.get();
  f.msg_seq = hdr.msg_seq.get();
  f.msg_len = hdr.msg_len.get();
  f.msg_offset = hdr.msg_offset.get();
  f.sack = hdr.sack.get();

  switch (f.opcode) {
    case kConnectReq:
    case kAccept:
    case kReject:
      if (payload_len != sizeof(ConnectBody)) return DecodeStatus::kBadBody;
      break;
    case kData:
      if ((f.flags & kPacked) ? !packed_fits(f, payload, payload_len)
                              : !segment_fits(f, payload_len))
        return DecodeStatus::kBadBody;
      break;
    case kRdmaReadResp:
      if (!segment_fits(f, payload_len)) return DecodeStatus::kBadBody;
      break;
    case kRdmaWrite:
      if (payload_len < sizeof(RdmaBody) ||
          !segment_fits(f, static_cast<uint16_t>(payload_len - sizeof(RdmaBody))))
        return DecodeStatus::kBadBody;
      break;
    case kRdmaReadReq:
      // One frame asks for the whole read: msg_len bytes from the body's offset.
      if (payload_len != sizeof(RdmaBody) || f.msg_offset != 0 || f.flags != (kFirst | kLast))
        return DecodeStatus::kBadBody;
      break;
    case kReset:
      if (payload_len != 0 && payload_len != sizeof(ResetBody)) return DecodeStatus::kBadBody;
      break;
    default:
      break;
  }

  std::memcpy(out->addr.dst_mac, data, 6);
  std::memcpy(out->addr.src_mac, data + 6, 6);
  std::memcpy(&out->addr.src_ip, ip + 12, 4);
  std::memcpy(&out->addr.dst_ip, ip + 16, 4);
  out->payload = payload;
  out->payload_len = payload_len;
  return DecodeStatus::kOk;
}

uint32_t encode(uint8_t* buf, const L3Addr& addr, const Fields& f, uint16_t payload_len,
                bool ip_cksum, const uint8_t* ext, uint16_t ext_len) {
  std::memcpy(buf, addr.dst_mac, 6);
  std::memcpy(buf + 6, addr.src_mac, 6);
  wr16(buf + 12, 0x0800);

  uint8_t* ip = buf + kEthLen;
  uint16_t ip_total = static_cast<uint16_t>(kIpLen + kUdpLen + sizeof(Header) + payload_len);
  ip[0] = 0x45;
  ip[1] = 0;
  wr16(ip + 2, ip_total);
  wr16(ip + 4, 0);
  wr16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = 17;
  wr16(ip + 10, 0);
  std::memcpy(ip + 12, &addr.src_ip, 4);
  std::memcpy(ip + 16, &addr.dst_ip, 4);
  if (ip_cksum) {
    uint16_t csum = rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(ip));
    std::memcpy(ip + 10, &csum, 2);  // rte_ipv4_cksum returns it ready to store
  }

  uint8_t* udp = ip + kIpLen;
  // The source port is entropy (as in RoCEv2): one per connection, so that RSS spreads
  // connections over queues and keeps each connection's frames on one queue.
  wr16(udp, static_cast<uint16_t>(0xc000u | ((f.src_conn * 0x9e3779b1u) >> 18)));
  wr16(udp + 2, kUdpPort);
  wr16(udp + 4, static_cast<uint16_t>(ip_total - kIpLen));
  wr16(udp + 6, 0);  // IPv4 allows no UDP checksum; the dpsan CRC32C covers header and payload

  Header hdr;
  hdr.version = kVersion;
  hdr.opcode = f.opcode;
  hdr.flags = be16::of(f.flags);
  hdr.dst_conn = be32::of(f.dst_conn);
  hdr.src_conn = be32::of(f.src_conn);
  hdr.psn = be32::of(f.psn);
  hdr.ack_psn = be32::of(f.ack_psn);
  hdr.recv_limit = be32::of(f.recv_limit);
  hdr.early_limit = be32::of(f.early_limit);
  hdr.msg_seq = be32::of(f.msg_seq);
  hdr.msg_len = be32::of(f.msg_len);
  hdr.msg_offset = be32::of(f.msg_offset);
  hdr.payload_len = be16::of(payload_len);
  hdr.hdr_len = be16::of(sizeof(Header));
  hdr.sack = be64::of(f.sack);
  hdr.crc32c = be32::of(0);
  uint8_t* h = udp + kUdpLen;
  std::memcpy(h, &hdr, sizeof hdr);
  uint32_t c = header_crc(h, h + sizeof(Header), static_cast<uint16_t>(payload_len - ext_len));
  if (ext_len) c = ~crc32c(ext, ext_len, ~c);  // continue the CRC over the attached bytes
  be32 crc = be32::of(c);
  std::memcpy(h + kCrcOffset, &crc, 4);
  return kEthLen + ip_total;
}

}  // namespace dpsan::fastpath::wire
