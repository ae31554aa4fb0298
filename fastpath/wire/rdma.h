/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The RDMA part of a frame: the bounds-checked reader of RdmaBody (header.h), and its writer.
 *
 * decode_rdma() is the second reader of untrusted bytes; it runs only on a frame that
 * wire::decode() accepted (so the header fields and the payload length are consistent) and
 * checks everything RDMA-specific before any field is used: the opcode, the body length, the
 * reserved word, and that offset + length fits in 64 bits for the whole operation and for the
 * segment. It touches no global state; any thread may call it. Fuzzed by fuzz_rdma_decode.
 *
 * Whether the reference is *allowed* (key, generation, bounds, rights) is the target's region
 * table's question (fastpath/rdma_region.h), not the parser's.
 */
#pragma once

#include <cstdint>

#include "codec.h"
#include "header.h"

namespace dpsan::fastpath::wire {

/** Host-order copy of an RdmaBody. */
struct RdmaRef {
  uint32_t desc_conn = 0;
  uint32_t region = 0;
  uint32_t gen = 0;
  uint64_t key = 0;
  uint64_t offset = 0;
};

/** What an RDMA_WRITE or RDMA_READ_REQ frame asks of the target. */
struct RdmaOp {
  RdmaRef ref;
  uint64_t op_len;       ///< bytes of the whole operation (msg_len)
  uint64_t seg_offset;   ///< region offset of this frame's first byte (write; read: ref.offset)
  const uint8_t* data;   ///< write: the bytes to place; read request: nullptr
  uint32_t data_len;     ///< write: bytes in this frame; read request: 0
};

enum class RdmaStatus : uint8_t {
  kOk,
  kNotRdma,      ///< not RDMA_WRITE / RDMA_READ_REQ
  kBodyLength,   ///< payload shorter than the body (a frame decode() did not accept)
  kReserved,     ///< reserved word not zero
  kOverflow,     ///< offset + length wraps around 2^64
  kCount
};

const char* rdma_status_name(RdmaStatus s);

/**
 * Read the RDMA body of a frame that wire::decode() accepted.
 * @return kOk and fill *out (data points into fr.payload), or the first failed check.
 */
RdmaStatus decode_rdma(const Frame& fr, RdmaOp* out);

/** Write `ref` as an RdmaBody at `dst` (sizeof(RdmaBody) bytes). */
void put_rdma_body(uint8_t* dst, const RdmaRef& ref);

}  // namespace dpsan::fastpath::wire
