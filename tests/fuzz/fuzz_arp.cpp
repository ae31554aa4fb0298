/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * libFuzzer target: fastpath::wire::arp_decode() on arbitrary bytes taken as one received frame.
 * It must never crash nor read past `size`. An accepted packet is encoded again with
 * arp_encode() and must decode to the same operation and addresses.
 */
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "fastpath/wire/arp.h"

namespace wire = dpsan::fastpath::wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wire::Arp a;
  if (!wire::arp_decode(data, size, &a)) return 0;
  uint8_t buf[wire::kArpFrameLen];
  uint32_t len = wire::arp_encode(buf, a.op, a.sender_mac, a.sender_ip, a.target_mac, a.target_ip);
  wire::Arp b;
  if (len != wire::kArpFrameLen || !wire::arp_decode(buf, len, &b)) std::abort();
  bool same = a.op == b.op && a.sender_ip == b.sender_ip && a.target_ip == b.target_ip &&
              std::memcmp(a.sender_mac, b.sender_mac, 6) == 0 &&
              // A request's target MAC is unknown by definition: encode writes zeros.
              (a.op == wire::ArpOp::kRequest || std::memcmp(a.target_mac, b.target_mac, 6) == 0);
  if (!same) std::abort();
  return 0;
}
