/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Readers of the small frame bodies (header.h): ConnectBody (CONNECT_REQ, ACCEPT, REJECT) and
 * ResetBody (RESET). RdmaBody has its own reader, wire::decode_rdma() (rdma.h).
 *
 * They run on a frame that wire::decode() accepted, check the opcode and body length again
 * themselves (so that no caller can read a body decode() did not vouch for), and turn the
 * peer's codes into the few the receiver acts on. No global state; any thread may call them.
 * Fuzzed by fuzz_wire_decode, on every frame decode() accepts.
 */
#pragma once

#include <cstdint>

#include "codec.h"
#include "mss.h"

namespace dpsan::fastpath::wire {

/** Host-order copy of a ConnectBody. */
struct ConnectInfo {
  uint32_t src_ip;    ///< network order, as ConnectBody carries it
  uint16_t src_port;
  uint16_t dst_port;
  uint32_t reason;    ///< REJECT: kRefused or kNoResources (any other code reads as kRefused)
  /// CONNECT_REQ / ACCEPT: payload bytes per frame the peer takes, as peer_rx_mss() reads the
  /// wire's value (0 there: kMssConservative; always kMssMin..65535). REJECT: 0.
  uint32_t rx_mss;
};

/** @return false (nothing written) unless `fr` is CONNECT_REQ/ACCEPT/REJECT with its body. */
bool read_connect(const Frame& fr, ConnectInfo* out);

/** Why the peer reset: kConnAborted when a RESET says so, else kConnReset (no body, or another code). */
uint32_t read_reset_reason(const Frame& fr);

}  // namespace dpsan::fastpath::wire
