/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * libFuzzer target: the two translations of the uring port (fastpath/port/uring_frame.h) on
 * arbitrary bytes taken as one frame the fast path hands to the port.
 *
 * datagram_of_frame() must never crash nor read outside the input, and a datagram it finds must
 * lie inside the frame. The round trip must keep frames valid: when the input is a frame that
 * wire::decode() accepts, the datagram sent for it, received and given headers again by
 * write_headers() (the receiving port's side), must decode too, to the same fields and payload.
 */
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "fastpath/port/uring_frame.h"
#include "fastpath/wire/codec.h"

namespace wire = dpsan::fastpath::wire;
namespace uring = dpsan::fastpath::uring;

#define FUZZ_CHECK(cond)                                                                         \
  do {                                                                                           \
    if (!(cond)) {                                                                               \
      std::fprintf(stderr, "fuzz_uring_frame: check failed at %s:%d: %s\n", __FILE__, __LINE__, \
                   #cond);                                                                       \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uring::Datagram d;
  bool sent = uring::datagram_of_frame(data, static_cast<uint32_t>(size), wire::kUdpPort, &d);
  wire::Frame in;
  bool valid = wire::decode(data, size, &in) == wire::DecodeStatus::kOk;
  if (!sent) {
    FUZZ_CHECK(!valid);  // every frame the peer would accept is sent
    return 0;
  }
  FUZZ_CHECK(d.payload >= data + uring::kL2L4Len && d.payload + d.len <= data + size);
  // The receiving side: the datagram behind fresh headers, in an exactly-sized buffer.
  size_t n = uring::kL2L4Len + d.len;
  std::unique_ptr<uint8_t[]> rx(new uint8_t[n]);
  std::memcpy(rx.get() + uring::kL2L4Len, d.payload, d.len);
  const uint32_t src = 0x0100007f;
  uring::write_headers(rx.get(), src, 21316, d.dst_ip, wire::kUdpPort, d.len);
  wire::Frame out;
  bool still = wire::decode(rx.get(), n, &out) == wire::DecodeStatus::kOk;
  if (!valid) return 0;
  FUZZ_CHECK(still);
  FUZZ_CHECK(out.addr.dst_ip == in.addr.dst_ip && out.addr.src_ip == src);
  FUZZ_CHECK(out.f.opcode == in.f.opcode && out.f.psn == in.f.psn && out.f.sack == in.f.sack &&
             out.f.dst_conn == in.f.dst_conn && out.f.msg_len == in.f.msg_len);
  FUZZ_CHECK(out.payload_len == in.payload_len &&
             std::memcmp(out.payload, in.payload, in.payload_len) == 0);
  return 0;
}
