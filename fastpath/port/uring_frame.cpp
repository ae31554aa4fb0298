/* SPDX-License-Identifier: BSD-3-Clause */
#include "uring_frame.h"

#include <cstring>
#include <rte_ip.h>

namespace dpsan::fastpath::uring {

namespace {
inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline void wr16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
}  // namespace

bool datagram_of_frame(const uint8_t* frame, uint32_t len, uint16_t udp_port, Datagram* out) {
  if (len < kL2L4Len) return false;
  if (rd16(frame + 12) != 0x0800) return false;
  const uint8_t* ip = frame + 14;
  if (ip[0] != 0x45 || ip[9] != 17) return false;
  // The IPv4 checksum guards the destination address: a corrupted one is never sent anywhere.
  if (rte_raw_cksum(ip, 20) != 0xffff) return false;
  uint16_t ip_total = rd16(ip + 2);
  if (ip_total < 28 || ip_total > len - 14) return false;
  if (rd16(ip + 6) & 0x3fff) return false;  // a fragment
  const uint8_t* udp = ip + 20;
  if (rd16(udp + 2) != udp_port) return false;
  if (rd16(udp + 4) != ip_total - 20) return false;
  out->payload = udp + 8;
  out->len = static_cast<uint16_t>(ip_total - 28);
  std::memcpy(&out->dst_ip, ip + 16, 4);
  return true;
}

void write_headers(uint8_t* frame, uint32_t src_ip, uint16_t src_port, uint32_t dst_ip,
                   uint16_t dst_port, uint16_t payload_len) {
  std::memset(frame, 0, 12);  // no MACs: the kernel chose the link
  wr16(frame + 12, 0x0800);
  uint8_t* ip = frame + 14;
  uint16_t ip_total = static_cast<uint16_t>(28 + payload_len);
  ip[0] = 0x45;
  ip[1] = 0;
  wr16(ip + 2, ip_total);
  wr16(ip + 4, 0);
  wr16(ip + 6, 0x4000);  // DF, as wire::encode
  ip[8] = 64;
  ip[9] = 17;
  wr16(ip + 10, 0);
  std::memcpy(ip + 12, &src_ip, 4);
  std::memcpy(ip + 16, &dst_ip, 4);
  uint16_t csum = rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(ip));
  std::memcpy(ip + 10, &csum, 2);  // rte_ipv4_cksum returns it ready to store
  uint8_t* udp = ip + 20;
  wr16(udp, src_port);
  wr16(udp + 2, dst_port);
  wr16(udp + 4, static_cast<uint16_t>(8 + payload_len));
  wr16(udp + 6, 0);  // the kernel checked the real one; dpsan's CRC32C covers the payload
}

}  // namespace dpsan::fastpath::uring
