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
 *
 * Reliability. DATA and CREDIT frames carry a packet sequence number (psn) and are kept in the
 * send window until acknowledged; every frame carries the cumulative ack (rcv_nxt) and a SACK
 * bitmap of the frames held beyond it. Lost frames are resent from the core's timer wheel (RTO,
 * doubling per try) or at once when a SACK shows a hole (fast retransmit). Frames that arrive
 * early are held in the receive window and handed up in order, so the message layer above only
 * ever sees each reliable frame once, in order.
 *
 *   send window:  snd_una ...acked...[unacked frames held in txw]... snd_nxt
 *   recv window:  rcv_nxt [held frames, rxw, marked in SACK bits] ... rcv_nxt + kWindow
 */
#pragma once

#include <cstdint>

#include <rte_mbuf.h>

#include "descriptor.h"
#include "rdma_region.h"
#include "timer_wheel.h"
#include "wire/codec.h"
#include "wire/mss.h"

namespace dpsan::fastpath {

inline constexpr uint32_t kEarlyMax = 256;  ///< largest early message (spec 2.8: 256 bytes)
inline constexpr uint32_t kWindow = 256;    ///< reliable frames in flight / held, per direction

/** Wrap-safe comparisons of 32-bit sequence numbers. */
inline bool seq_lt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
inline bool seq_le(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) <= 0; }

/** A reliable frame sent and not yet acknowledged. */
struct TxSlot {
  rte_mbuf* m;
  uint64_t sent_tsc;  ///< first transmission: the RTT sample when it is acked
  bool sacked;        ///< the peer holds it (SACK): not resent on timeout
  bool resent;        ///< sent more than once: no RTT sample from it (Karn)
}; 

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
  bool stalled = false;         ///< the head message waits for a peer credit
  bool peer_packs = false;      ///< the peer takes packed DATA (it said so in its handshake)
  /// Payload bytes per frame we send (DATA, RDMA_WRITE with its body, READ_RESP): the smaller
  /// of our port's and the peer's rx_mss from its handshake (wire/mss.h). Set when established.
  uint16_t mss = wire::kMssConservative;
  ReqQueue unacked_q;           ///< sends fully framed, completing when their last frame is acked

  // receive side
  ReqQueue recv_q;              ///< posted receives not yet matched
  uint32_t recvs_posted = 0;    ///< cumulative: our recv_limit
  uint32_t credit_sent = 0;     ///< recvs_posted as last advertised to the peer
  uint32_t next_msg_seq = 0;    ///< next message number expected
  uint32_t cur_msg_got = 0;     ///< bytes of the message in progress placed so far
  bool cur_msg_early = false;   ///< the message in progress goes to an early slot
  EarlyMsg* early = nullptr;    ///< `early_slots` slots (ring), owned by the core
  uint32_t early_head = 0, early_count = 0;

  // reliability
  TxSlot* txw = nullptr;        ///< kWindow slots by psn % kWindow
  rte_mbuf** rxw = nullptr;     ///< kWindow slots by psn % kWindow: frames ahead of rcv_nxt
  uint32_t snd_una = 0;         ///< oldest unacknowledged psn
  uint32_t snd_nxt = 0;         ///< next psn to send
  uint32_t rcv_nxt = 0;         ///< next psn expected
  uint32_t rx_held = 0;         ///< frames held in rxw
  uint32_t fast_rtx_psn = 0;    ///< last psn fast-retransmitted (once per hole)
  uint32_t rto_shift = 0;       ///< RTO back-off exponent
  uint32_t srtt_us = 0;         ///< smoothed round-trip time (RFC 6298); 0 = no sample yet
  uint32_t rttvar_us = 0;       ///< its mean deviation
  bool ack_due = false;         ///< an ACK is owed to the peer (any frame we send pays it)
  bool in_ack_list = false;     ///< on the core's ack list
  uint32_t rx_since_ack = 0;    ///< reliable frames received since we last sent an ack
  uint64_t ack_deadline_tsc = 0;///< when the owed ack goes out at the latest
  uint64_t last_rx_tsc = 0;     ///< last valid frame from the peer (liveness)
  uint64_t watch_tsc = 0;       ///< when we last began waiting on the peer (timer armed idle)
  TimerNode timer;              ///< RTO and keepalive

  // RDMA (poll_core_rdma.cpp). Write and read-request frames of ours sit in send_q in order
  // with the sends; a read, once its request is framed, waits in reads_q for its data.
  RdmaRegion* regions = nullptr;///< kRdmaRegionsPerConn: what the peer may reach (target side)
  RdmaReadJob* rjobs = nullptr; ///< kRdmaReadsMax ring: reads the peer asked of us
  uint32_t rjob_head = 0, rjob_count = 0;
  ReqQueue reads_q;             ///< our reads whose request went out, oldest first
  uint32_t next_read_id = 0;    ///< msg_seq of our next RDMA_READ_REQ

  Conn* next_ready = nullptr;
  Conn* next_dirty = nullptr;
  Conn* next_connecting = nullptr;
  Conn* next_ack = nullptr;
};

}  // namespace dpsan::fastpath
