/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * libFuzzer target: fastpath::wire::decode() and every opcode's body, on frames whose checksums
 * hold. The checks on the result are fuzz_wire_decode's (wire_checks.h).
 *
 * decode() checks the IPv4 header checksum and the CRC32C over header and payload before it looks
 * at any body, so a mutation of a valid frame is almost always refused there (fuzz_wire_decode).
 * This target's LLVMFuzzerCustomMutator therefore mutates with libFuzzer's own mutators and then
 * repairs the frame, so that the corpus stays valid frames and the mutations land on the bodies:
 *
 *   - 14 mutations in 16: the lengths are made to agree (IP total length: the frame's, or with
 *     one chance in two the mutated one when it still fits, leaving the rest as padding; the UDP
 *     length and the dpsan payload_len from it), then the IPv4 checksum and the CRC32C are
 *     computed with the codec's own functions (rte_ipv4_cksum, wire::crc32c). In 12 of those 14
 *     the constants decode() wants are put back first (ether type, IP version and IHL, no
 *     fragment, UDP, the dpsan port, version and header length), so that the mutation is spent
 *     on the header fields and the body;
 *   - 1 in 16: only the checksums are computed, over the lengths as mutated (the CRC only when
 *     payload_len fits in the frame), so that decode()'s length checks see valid checksums;
 *   - 1 in 16: nothing is repaired, so the checksum checks still meet wrong checksums here too.
 *
 * The input is decoded as it is: every file of the corpus, and every crash, is a frame that
 * replays as is in fuzz_wire_decode too.
 */
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>

#include <rte_ip.h>

#include "wire_checks.h"

namespace {

namespace wire = dpsan::fastpath::wire;

constexpr size_t kCrcOffset = offsetof(wire::Header, crc32c);
constexpr size_t kPayloadLenOffset = offsetof(wire::Header, payload_len);
constexpr uint16_t kMinIpTotal = wire::kFrameOverhead - wire::kEthLen;

void wr16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

/** Make the lengths agree (when `lengths`) and the checksums hold; see the file comment. */
void repair(uint8_t* d, size_t size, bool constants, bool lengths, bool keep_padding) {
  if (size < wire::kFrameOverhead) return;
  uint8_t* ip = d + wire::kEthLen;
  uint8_t* udp = ip + wire::kIpLen;
  uint8_t* h = udp + wire::kUdpLen;
  if (constants) {
    wr16(d + 12, 0x0800);
    ip[0] = 0x45;
    ip[6] &= 0x40;  // DF may stay; MF and the fragment offset go
    ip[7] = 0;
    ip[9] = 17;
    wr16(udp + 2, wire::kUdpPort);
    h[offsetof(wire::Header, version)] = wire::kVersion;
    wr16(h + offsetof(wire::Header, hdr_len), sizeof(wire::Header));
  }
  if (lengths) {
    const size_t room = size - wire::kEthLen > 0xffff ? 0xffff : size - wire::kEthLen;
    uint16_t ip_total = fuzz_wire::rd16(ip + 2);
    if (!keep_padding || ip_total < kMinIpTotal || ip_total > room)
      ip_total = static_cast<uint16_t>(room);
    wr16(ip + 2, ip_total);
    wr16(udp + 4, static_cast<uint16_t>(ip_total - wire::kIpLen));
    wr16(h + kPayloadLenOffset, static_cast<uint16_t>(ip_total - kMinIpTotal));
  }
  wr16(ip + 10, 0);
  const uint16_t csum = rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(ip));
  std::memcpy(ip + 10, &csum, 2);  // ready to store, as encode() does

  const uint16_t payload_len = fuzz_wire::rd16(h + kPayloadLenOffset);
  if (payload_len > size - wire::kFrameOverhead) return;
  static const uint8_t zero[4] = {};
  uint32_t c = wire::crc32c(h, kCrcOffset, 0xffffffffu);
  c = wire::crc32c(zero, sizeof zero, c);
  c = ~wire::crc32c(h + sizeof(wire::Header), payload_len, c);
  const wire::be32 crc = wire::be32::of(c);
  std::memcpy(h + kCrcOffset, &crc, 4);
}

}  // namespace

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  size = LLVMFuzzerMutate(data, size, max_size);
  std::minstd_rand rng(seed);
  const unsigned mode = rng() % 16;
  if (mode == 0) return size;  // raw
  repair(data, size, /*constants=*/mode >= 4, /*lengths=*/mode != 1,
         /*keep_padding=*/rng() % 2 == 0);
  return size;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz_wire::check_frame(data, size);
  return 0;
}
