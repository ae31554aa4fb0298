/* SPDX-License-Identifier: BSD-3-Clause */
#include "body.h"

#include <cstring>

namespace dpsan::fastpath::wire {

bool read_connect(const Frame& fr, ConnectInfo* out) {
  const uint8_t op = fr.f.opcode;
  if (op != kConnectReq && op != kAccept && op != kReject) return false;
  if (fr.payload_len != sizeof(ConnectBody)) return false;
  ConnectBody b;
  std::memcpy(&b, fr.payload, sizeof b);
  std::memcpy(&out->src_ip, b.src_ip.raw, 4);  // sent in network order, kept so
  out->src_port = b.src_port.get();
  out->dst_port = b.dst_port.get();
  out->reason = b.reason.get();
  // The connector reports the reason as its WSPConnect error (R46): only the two we send.
  if (out->reason != kNoResources) out->reason = kRefused;
  return true;
}

uint32_t read_reset_reason(const Frame& fr) {
  if (fr.f.opcode != kReset || fr.payload_len != sizeof(ResetBody)) return kConnReset;
  ResetBody b;
  std::memcpy(&b, fr.payload, sizeof b);
  return b.reason.get() == kConnAborted ? kConnAborted : kConnReset;
}

}  // namespace dpsan::fastpath::wire
