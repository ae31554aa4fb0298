/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * RawPeer: a dpsan peer made by hand, for hostile-peer tests. It plays the far side of a
 * ring-pair port (README "Ports": `ringpair:NAME:0` with no side 1 configured leaves the side-1
 * rings to whoever looks them up) and speaks the wire protocol with fastpath/wire directly:
 * ARP, the CONNECT_REQ/ACCEPT handshake, its own psn and ack, and then whatever frames the
 * test crafts, honest or not. It is not the provider: nothing here is compiled into it.
 *
 * Callers: one test thread. Nothing happens behind the caller's back: frames from the target
 * are read only inside the calls below (each `wait_*` pumps until its condition holds or its
 * deadline passes), so a test that stops calling leaves them queued on the ring (1,024 deep;
 * an idle target sends a keepalive per `keepalive_ms` at most).
 *
 * Reliability, as much as a lossless in-process ring needs: every reliable frame it sends takes
 * the next psn of its connection and is never resent (the ring loses nothing, and the target
 * takes an in-order frame at once); every reliable frame from the target is acknowledged at
 * once, in order, and a resent one is acknowledged again; a KEEPALIVE is answered with an ACK.
 * It grants the target no receive credit, so the target never sends it DATA.
 */
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <vector>

#include <rte_mempool.h>
#include <rte_ring.h>

#include "fastpath/wire/codec.h"
#include "fastpath/wire/rdma.h"

namespace dpsan::test {

using Deadline = std::chrono::steady_clock::time_point;

/** A deadline `ms` milliseconds from now. */
inline Deadline after_ms(int ms) {
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
}

/** A reliable frame the target sent on a connection, delivered in order (a copy). */
struct RxFrame {
  fastpath::wire::Fields f;
  std::vector<uint8_t> payload;
};

/** One connection of the raw peer, by its index in RawPeer. */
struct RawConn {
  uint32_t id = 0;          ///< our connection id (src_conn of our frames)
  uint32_t peer_id = 0;     ///< the target's id, from its ACCEPT
  uint16_t port = 0;        ///< our "socket" port (ConnectBody::src_port)
  uint16_t dst_port = 0;    ///< the target's listening port
  bool established = false;
  bool rejected = false;
  bool reset = false;       ///< the target sent RESET
  uint32_t reset_reason = 0;  ///< its reason (wire::read_reset_reason)
  uint32_t snd_nxt = 0;     ///< psn of our next reliable frame
  uint32_t rcv_nxt = 0;     ///< psn of the next reliable frame we expect from the target
  uint32_t acked = 0;       ///< the target's cumulative ack of our frames
  uint32_t recv_limit = 0;  ///< the target's receive credit (receives it posted)
  uint32_t next_msg_seq = 0;  ///< message number of our next DATA
  std::deque<RxFrame> delivered;  ///< reliable frames from the target, oldest first
};

class RawPeer {
 public:
  /**
   * @param from_target ring the target's port transmits on (we take frames off it)
   * @param to_target ring the target's port receives from (we put frames on it)
   * @param pool where our frames come from (the target frees them into it)
   * @param my_ip, target_ip network order; my_mac our Ethernet address
   */
  RawPeer(rte_ring* from_target, rte_ring* to_target, rte_mempool* pool, uint32_t my_ip,
          const uint8_t my_mac[6], uint32_t target_ip);

  /** ARP for the target's address until it answers. @return false at the deadline. */
  bool resolve(Deadline until);

  /**
   * Send a CONNECT_REQ to the target's port `dst_port` (resolve() first). It is sent once: the
   * ring loses nothing, and a request that found no buffer shows as wait_accepted() failing.
   * @return the new connection's index (its state: conn()).
   */
  size_t connect(uint16_t dst_port);
  /** Pump until connection `c` is accepted (true) or refused, or the deadline passes. */
  bool wait_accepted(size_t c, Deadline until);

  /**
   * Send one reliable frame on connection `c`: the next psn, our ack, `payload` as is.
   * @return false if no buffer or no room on the ring (nothing sent, no psn used).
   */
  bool send_reliable(size_t c, uint8_t opcode, uint16_t flags, uint32_t msg_seq, uint32_t msg_len,
                     uint32_t msg_offset, const std::vector<uint8_t>& payload);
  /** An RDMA_WRITE (RdmaBody + `data`) on `c`; flags/msg_len/msg_offset as the wire has them. */
  bool send_rdma_write(size_t c, const fastpath::wire::RdmaRef& ref, const std::vector<uint8_t>& data,
                       uint16_t flags, uint32_t msg_len, uint32_t msg_offset);
  /** An RDMA_READ_REQ on `c` for `len` bytes, as read `read_id`. */
  bool send_rdma_read(size_t c, const fastpath::wire::RdmaRef& ref, uint32_t len, uint32_t read_id);
  /** One whole DATA message on `c` (at most one frame), with the next message number. */
  bool send_data(size_t c, const std::vector<uint8_t>& msg);

  /** Pump until the target has acknowledged every reliable frame we sent on `c`. */
  bool wait_acked(size_t c, Deadline until);
  /**
   * Probe with a KEEPALIVE, then pump until the target has posted more receives on `c` than we
   * sent messages (its ACK carries the count).
   */
  bool wait_credit(size_t c, Deadline until);
  /** Pump until the target sent RESET on `c`; *reason gets its reason. */
  bool wait_reset(size_t c, Deadline until, uint32_t* reason);
  /**
   * Pump until a reliable frame with `opcode` is delivered on `c`, and take it (and the frames
   * before it, which are dropped). @return false at the deadline.
   */
  bool wait_frame(size_t c, uint8_t opcode, Deadline until, RxFrame* out);

  /** Read every frame waiting on the ring and act on it. @return how many were read. */
  unsigned pump();

  const RawConn& conn(size_t c) const { return conns_[c]; }
  const uint8_t* target_mac() const { return target_mac_; }
  uint64_t frames_bad() const { return bad_; }  ///< frames from the target decode() refused

 private:
  bool send_frame(const fastpath::wire::L3Addr& a, const fastpath::wire::Fields& f,
                  const uint8_t* payload, uint16_t payload_len);
  bool send_raw(const uint8_t* frame, uint32_t len);
  fastpath::wire::L3Addr to_target() const;
  fastpath::wire::Fields conn_fields(const RawConn& k, uint8_t opcode) const;
  void send_ack(RawConn& k);
  void on_arp(const uint8_t* data, uint32_t len);
  void on_frame(const fastpath::wire::Frame& fr);
  void on_conn_frame(RawConn& k, const fastpath::wire::Frame& fr);
  template <class Pred>
  bool pump_until(Deadline until, Pred done);

  rte_ring* from_target_;
  rte_ring* to_target_;
  rte_mempool* pool_;
  uint32_t my_ip_, target_ip_;
  uint8_t my_mac_[6];
  uint8_t target_mac_[6] = {};
  bool resolved_ = false;
  uint64_t bad_ = 0;
  std::deque<RawConn> conns_;  // a deque: RawConn& stays valid as connections are added
};

}  // namespace dpsan::test
