/* SPDX-License-Identifier: BSD-3-Clause */
#include "arp.h"

#include <cstring>

namespace dpsan::fastpath::wire {

namespace {

inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline void wr16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// Offsets inside the ARP body (after the 14-byte Ethernet header).
constexpr size_t kHtype = 0, kPtype = 2, kHlen = 4, kPlen = 5, kOper = 6, kSha = 8, kSpa = 14,
                 kTha = 18, kTpa = 24;

}  // namespace

bool arp_decode(const uint8_t* data, size_t len, Arp* out) {
  if (len < kArpFrameLen) return false;
  if (rd16(data + 12) != kEtherTypeArp) return false;
  const uint8_t* a = data + 14;
  if (rd16(a + kHtype) != 1 || rd16(a + kPtype) != 0x0800 || a[kHlen] != 6 || a[kPlen] != 4)
    return false;
  uint16_t op = rd16(a + kOper);
  if (op != static_cast<uint16_t>(ArpOp::kRequest) && op != static_cast<uint16_t>(ArpOp::kReply))
    return false;
  out->op = static_cast<ArpOp>(op);
  std::memcpy(out->sender_mac, a + kSha, 6);
  std::memcpy(&out->sender_ip, a + kSpa, 4);
  std::memcpy(out->target_mac, a + kTha, 6);
  std::memcpy(&out->target_ip, a + kTpa, 4);
  return true;
}

uint32_t arp_encode(uint8_t* buf, ArpOp op, const uint8_t sender_mac[6], uint32_t sender_ip,
                    const uint8_t target_mac[6], uint32_t target_ip) {
  static const uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  static const uint8_t kUnknown[6] = {};
  bool request = op == ArpOp::kRequest;
  std::memcpy(buf, request ? kBroadcast : target_mac, 6);
  std::memcpy(buf + 6, sender_mac, 6);
  wr16(buf + 12, kEtherTypeArp);
  uint8_t* a = buf + 14;
  wr16(a + kHtype, 1);
  wr16(a + kPtype, 0x0800);
  a[kHlen] = 6;
  a[kPlen] = 4;
  wr16(a + kOper, static_cast<uint16_t>(op));
  std::memcpy(a + kSha, sender_mac, 6);
  std::memcpy(a + kSpa, &sender_ip, 4);
  std::memcpy(a + kTha, request ? kUnknown : target_mac, 6);
  std::memcpy(a + kTpa, &target_ip, 4);
  return kArpFrameLen;
}

}  // namespace dpsan::fastpath::wire
