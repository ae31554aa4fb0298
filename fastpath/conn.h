/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Conn: one connection, owned by one poll core for its whole life (eRPC/Seastar style).
 *
 * Every field is owner-core only (suffix-free because the whole struct is), except that the
 * final cleanup reads and frees it after the poll loops are quiesced.
 *
 * Credit flow control (spec Decision 8). Messages and receives are numbered from 0 on each
 * side; message m is placed into the m-th receive posted. The receiver advertises two
 * cumulative limits in every header:
 *   recv_limit  = receives posted so far: message m < recv_limit may be of any size;
 *   early_limit = recv_limit + early slots: a message m < early_limit of at most kEarlyMax
 *                 bytes may also go, and is held in an early slot until its receive is posted.
 * Since recv_limit only grows, at most `early slots` messages are ever held (R41).
 */
#pragma once

#include <cstdint>

#include "descriptor.h"
#include "wire/codec.h"

namespace dpsan::fastpath {

inline constexpr uint32_t kEarlyMax = 256;  ///< largest early message (spec 2.8: 256 bytes)

enum class ConnState : uint8_t {
  kFree,
  kConnecting,   ///< CONNECT_REQ sent, waiting for ACCEPT / REJECT
  kEstablished,
  kDead,         ///< reset by the peer or failed; kept until the socket closes (R29)
};

struct EarlyMsg {
  uint32_t len;
  uint8_t data[kEarlyMax];
};

/** Connection ids on the wire: generation | core | slot. */
inline constexpr uint32_t conn_id_make(uint32_t gen, uint32_t core, uint32_t slot) {
  return (gen & 0xfffu) << 20 | (core & 0xfu) << 16 | (slot & 0xffffu);
}
inline constexpr uint32_t conn_id_slot(uint32_t id) { return id & 0xffffu; }
inline constexpr uint32_t conn_id_core(uint32_t id) { return (id >> 16) & 0xfu; }

struct Conn {
  ConnState state = ConnState::kFree;
  bool in_ready = false;        ///< on the core's send-ready list
  bool credit_dirty = false;    ///< on the core's credit-update list
  uint16_t gen = 1;
  uint32_t id = 0;              ///< our id (conn_id_make)
  uint32_t peer_id = 0;
  wire::L3Addr addr{};          ///< src = us, dst = peer
  uint16_t local_port = 0, peer_port = 0;
  SocketLink* link = nullptr;

  // connect
  uint64_t connect_deadline_tsc = 0, connect_retry_tsc = 0;

  // send side
  ReqQueue send_q;              ///< head is being segmented
  uint32_t next_send_seq = 0;   ///< next message number to start
  uint32_t peer_recv_limit = 0;
  uint32_t peer_early_limit = 0;
  uint32_t tx_psn = 0;
  bool stalled = false;         ///< the head message waits for a peer credit

  // receive side
  ReqQueue recv_q;              ///< posted receives not yet matched
  uint32_t recvs_posted = 0;    ///< cumulative: our recv_limit
  uint32_t credit_sent = 0;     ///< recvs_posted as last advertised to the peer
  uint32_t next_msg_seq = 0;    ///< next message number expected
  uint32_t cur_msg_got = 0;     ///< bytes of the message in progress placed so far
  bool cur_msg_early = false;   ///< the message in progress goes to an early slot
  EarlyMsg* early = nullptr;    ///< `early_slots` slots (ring), owned by the core
  uint32_t early_head = 0, early_count = 0;
  uint32_t rx_psn = 0;

  Conn* next_ready = nullptr;
  Conn* next_dirty = nullptr;
  Conn* next_connecting = nullptr;
};

}  // namespace dpsan::fastpath
