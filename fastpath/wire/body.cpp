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
  // One word: a reason in REJECT, the receive size in CONNECT_REQ / ACCEPT (header.h).
  const uint32_t word = b.reason.get();
  // The connector reports the reason as its WSPConnect error (R46): only the two we send.
  out->reason = op == kReject && word == kNoResources ? kNoResources : kRefused;
  out->rx_mss = op == kReject ? 0 : peer_rx_mss(word);
  return true;
}

uint32_t read_reset_reason(const Frame& fr) {
  if (fr.f.opcode != kReset || fr.payload_len != sizeof(ResetBody)) return kConnReset;
  ResetBody b;
  std::memcpy(&b, fr.payload, sizeof b);
  return b.reason.get() == kConnAborted ? kConnAborted : kConnReset;
}

}  // namespace dpsan::fastpath::wire
