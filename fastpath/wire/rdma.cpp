/* SPDX-License-Identifier: BSD-3-Clause */
#include "rdma.h"

#include <cstring>

namespace dpsan::fastpath::wire {

const char* rdma_status_name(RdmaStatus s) {
  static const char* const names[] = {"ok", "not_rdma", "body_length", "reserved", "overflow"};
  auto i = static_cast<size_t>(s);
  return i < sizeof names / sizeof names[0] ? names[i] : "?";
}

RdmaStatus decode_rdma(const Frame& fr, RdmaOp* out) {
  const Fields& f = fr.f;
  if (f.opcode != kRdmaWrite && f.opcode != kRdmaReadReq) return RdmaStatus::kNotRdma;
  if (fr.payload_len < sizeof(RdmaBody)) return RdmaStatus::kBodyLength;
  RdmaBody b;
  std::memcpy(&b, fr.payload, sizeof b);
  if (b.reserved.get() != 0) return RdmaStatus::kReserved;
  RdmaRef& r = out->ref;
  r.desc_conn = b.desc_conn.get();
  r.region = b.region.get();
  r.gen = b.gen.get();
  r.key = b.key.get();
  r.offset = b.offset.get();
  // The whole operation [offset, offset + msg_len) must not wrap; a segment lies inside it
  // (decode() checked msg_offset + data <= msg_len), so it cannot wrap either.
  if (r.offset > UINT64_MAX - f.msg_len) return RdmaStatus::kOverflow;
  out->op_len = f.msg_len;
  if (f.opcode == kRdmaWrite) {
    out->seg_offset = r.offset + f.msg_offset;
    out->data = fr.payload + sizeof(RdmaBody);
    out->data_len = fr.payload_len - static_cast<uint32_t>(sizeof(RdmaBody));
    if (f.msg_offset > f.msg_len || out->data_len > f.msg_len - f.msg_offset)
      return RdmaStatus::kBodyLength;  // decode() refuses these; checked again, cheaply
  } else {
    if (fr.payload_len != sizeof(RdmaBody)) return RdmaStatus::kBodyLength;
    out->seg_offset = r.offset;
    out->data = nullptr;
    out->data_len = 0;
  }
  return RdmaStatus::kOk;
}

void put_rdma_body(uint8_t* dst, const RdmaRef& ref) {
  RdmaBody b;
  b.desc_conn = be32::of(ref.desc_conn);
  b.region = be32::of(ref.region);
  b.gen = be32::of(ref.gen);
  b.reserved = be32::of(0);
  b.key = be64::of(ref.key);
  b.offset = be64::of(ref.offset);
  std::memcpy(dst, &b, sizeof b);
}

}  // namespace dpsan::fastpath::wire
