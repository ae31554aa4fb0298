/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Test-only: a frame to run through a connection's receive path as if its peer had sent it
 * (ReqKind::kTestInject). The owning core fills in what only it knows (the connection ids, the
 * next expected psn, the current ack and limits), encodes the frame with wire::encode, and hands
 * it to wire::decode and the RX handler exactly like a received one. Hostile-peer tests use it to
 * send crafted RDMA requests without racing the real peer for sequence numbers.
 * Never reached from the SPI tables: only white-box tests link the function that posts it.
 */
#pragma once

#include <cstdint>

namespace dpsan::fastpath {

struct TestFrame {
  uint8_t opcode;
  uint16_t flags;
  uint32_t msg_seq, msg_len, msg_offset;
  const uint8_t* payload;
  uint16_t payload_len;
  // out (answered by the core)
  bool conn_failed;      ///< the connection was failed while handling the frame
};

}  // namespace dpsan::fastpath
