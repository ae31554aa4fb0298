/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * PollCore: one poll loop on one dedicated lcore, and everything that loop owns.
 *
 * Functions suffixed _pc run only on the owning lcore. Functions suffixed _quiesced run on the
 * control thread during the final cleanup, after the loop has been quiesced (it then touches
 * nothing of the core's but its QSBR state and its exit flag). Everything else says its callers.
 *
 * Loop order (one TSC read per pass): quiescent, requests, RX, timers, send pump, credit
 * updates, TX flush, back-off.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <rte_mbuf.h>

#include "backoff.h"
#include "conn.h"
#include "engine.h"
#include "listener.h"
#include "ring.h"
#include "stats.h"
#include "timer_wheel.h"
#include "wire/arp.h"

namespace dpsan::fastpath {

class PollCore {
 public:
  PollCore(Engine* e, uint16_t index) : e_(e), index_(index) {}
  ~PollCore();

  /** Control, at bring-up. @return false with *err set. */
  bool init(unsigned instance, const char** err);

  /** The lcore body: runs until request_exit(). Registers with QSBR as thread `index`. */
  int run();
  /** Control: make run() return (after the loop was quiesced). */
  void request_exit() { exit_.store(true, std::memory_order_release); }
  /** Any thread. @return false when the ring is full (nothing queued). */
  bool post(Request* r) { return requests_.enqueue(r); }
  /** A received frame on its way to the core that owns its connection. */
  struct HandOff {
    rte_mbuf* m;
    uint64_t via;  ///< index of the port it came in by
  };
  /**
   * Another core: hand over a received frame for a connection this core owns (RSS, or a port
   * with fewer queues than cores, put it on the wrong queue).
   * @return false when the ring is full (the frame stays the caller's).
   */
  bool hand_over(const HandOff& h) { return handoff_.enqueue(h); }

  uint16_t index() const { return index_; }
  const CoreStats& stats() const { return stats_; }

  // Final cleanup, in DESIGN.md's order, after quiescence.
  /** Step 3a: take every request still on the ring; transfers are kept for step 4. */
  void drain_requests_quiesced();
  /** Step 3b: reset every connection and refuse every connect request not yet accepted. */
  void reset_all_quiesced();
  /** Step 4: abort every operation still owned here, releasing resources first; free conns. */
  void abort_all_quiesced();
  /**
   * After step 4: free every frame held in this core's queues of the zero-copy ports, so that
   * aborted zero-copy operations complete (poll_core_zc.cpp).
   */
  void release_frames_quiesced();

 private:
  static constexpr uint16_t kRxBurst = 64;
  static constexpr uint16_t kTxMax = 256;
  static constexpr uint16_t kReqBurst = 64;

  // requests (poll_core_requests.cpp)
  void on_request_pc(Request* r);
  /** A send, RDMA write or RDMA read joins its connection's send queue. */
  void on_send_pc(Request* r);
  void on_recv_pc(Request* r);
  void on_connect_pc(Request* r);
  void on_accept_pc(Request* r);
  void on_reject_pc(Request* r);
  void on_close_pc(Request* r);
  void close_conn(Conn& c, bool send_reset);

  // receive (poll_core_rx.cpp)
  unsigned rx_pc();
  /** Handle one received frame that came in by port `via`. */
  void rx_frame_pc(rte_mbuf* m, uint8_t via);
  /** Answer an ARP request for our address; learn the sender either way. */
  void on_arp_pc(const uint8_t* data, uint32_t len, uint8_t via);
  /**
   * Fill addr->dst_mac for a frame to addr->dst_ip on port addr->via. @return false when the
   * neighbour is unknown (an ARP request has then been sent, at most one per 100 ms).
   */
  bool resolve_pc(wire::L3Addr* addr);
  /** @return true when the frame's mbuf was kept (held out of order), false to free it. */
  bool on_frame_pc(const wire::Frame& fr, rte_mbuf* m);
  void on_ack_info_pc(Conn& c, const wire::Fields& f);
  bool accept_reliable_pc(Conn& c, const wire::Frame& fr, rte_mbuf* m);
  void deliver_pc(Conn& c, const wire::Frame& fr);
  void on_connect_req_pc(const wire::Frame& fr);
  void on_accept_frame_pc(Conn& c, const wire::Frame& fr);
  void on_reject_frame_pc(Conn& c, const wire::Frame& fr);
  void on_data_pc(Conn& c, const wire::Frame& fr);
  /** One segment of a message (a whole one, for each message of a packed frame). */
  void on_segment_pc(Conn& c, const wire::Fields& f, const uint8_t* payload, uint32_t payload_len);
  void on_reset_frame_pc(Conn& c, const wire::Frame& fr);
  void deliver_early_pc(Conn& c);

  // transmit (poll_core_tx.cpp)
  bool tx_has_room(uint16_t n = 1) const { return ntx_ + n <= kTxMax; }
  bool send_frame(const wire::L3Addr& addr, wire::Fields f, const void* payload, uint16_t len);
  /** Encode the headers in front of the payload already in `m`, for port addr.via. */
  void seal_frame(rte_mbuf* m, const wire::L3Addr& addr, const wire::Fields& f, uint16_t len);
  void send_arp_pc(uint8_t via, wire::ArpOp op, const uint8_t target_mac[6], uint32_t target_ip);
  bool send_ctrl(Conn& c, uint8_t opcode);
  bool send_connect_frame(const wire::L3Addr& addr, uint8_t opcode, uint32_t dst_conn,
                          uint32_t src_conn, uint16_t src_port, uint16_t dst_port,
                          uint32_t reason, uint32_t early_limit);
  void fill_conn_fields(Conn& c, wire::Fields& f);
  bool pump_conn_pc(Conn& c);
  /** The peer granted the next message (`r`, not yet numbered) a receive or an early slot. */
  bool send_granted(const Conn& c, const Request* r) const;
  /** `r` (not yet numbered) may join a packed frame with `room` payload bytes left. */
  bool packable(const Conn& c, const Request* r, uint32_t room) const;
  /** The numbered head send `r` and the one after it fit one packed frame. */
  bool packs_with_next(const Conn& c, const Request* r) const;
  void pack_sends_pc(Conn& c, rte_mbuf* mb);
  void pump_sends_pc();
  void send_credits_pc();
  unsigned tx_flush();
  void kick_ports_pc();
  static constexpr uint32_t kTxStuckMs = 100;
  void mark_ready(Conn& c);
  void mark_credit_dirty(Conn& c);
  /** Owe the peer an ack: at once if `urgent` (a hole, a probe), else within ack_delay_us. */
  void mark_ack_due(Conn& c, bool urgent);
  /** A CREDIT now if the peer may be stalled on our limits, or enough credit has built up. */
  void maybe_credit(Conn& c);
  void send_acks_pc();
  bool window_open(const Conn& c) const { return c.snd_nxt - c.snd_una < kWindow; }
  /** Keep a reliable frame in the send window and queue it; takes a psn. */
  void push_reliable(Conn& c, rte_mbuf* m, uint32_t psn);
  unsigned retransmit_pc(Conn& c, unsigned max);
  /** Resend the frame in `s` (the window keeps its reference). @return false: no TX room. */
  bool resend_pc(const Conn& c, TxSlot& s);
  /** Fold the RTT of a frame first sent at `sent_tsc` into the connection's estimate. */
  void rtt_sample_pc(Conn& c, uint64_t sent_tsc);
  /** Retransmission timeout before back-off: RFC 6298's SRTT + 4 RTTVAR, at least rto_min_us. */
  uint64_t rto_us(const Conn& c) const;
  static constexpr uint64_t kRtoMaxUs = 200000;
  void on_timer_pc(Conn& c);
  void ensure_timer(Conn& c);
  void release_windows(Conn& c);
  uint64_t tick() const { return now_ / tsc_per_tick_; }
  uint64_t ticks_of_us(uint64_t us) const { return us / kTickUs + 1; }
  static constexpr uint64_t kTickUs = 100;

  // zero-copy frames (poll_core_zc.cpp, zerocopy.h)
  /**
   * An mbuf for a frame carrying bytes [r->progress, r->progress + n) of the request's buffers
   * after `prefix` bytes the caller writes at kFrameOverhead: copied in, or attached zero-copy
   * when the port allows it and the bytes are many enough and in one buffer. seal_frame() then
   * completes either. nullptr: no mbuf (nothing taken).
   */
  rte_mbuf* payload_frame_pc(const Conn& c, Request* r, uint32_t n, uint16_t prefix);

  // RDMA (poll_core_rdma.cpp)
  enum PumpStatus { kPumpDone, kPumpWait, kPumpNoRoom };
  void on_rdma_reg_pc(Request* r);
  void on_rdma_dereg_pc(Request* r);
  /** Answer a synchronous request; frees it if its poster gave up waiting. */
  void answer_sync(Request* r, uint32_t answer);
  PumpStatus pump_rdma_op_pc(Conn& c, Request* r);
  PumpStatus pump_read_responses_pc(Conn& c);
  /** Build one reliable RDMA frame; `body` (RdmaBody) may be null. nullptr: no buffer. */
  rte_mbuf* rdma_frame_alloc(Conn& c, wire::Fields& f, const wire::RdmaRef* body);
  /** The connection's fields into `f`, and `body` (if any) into `m` after the headers. */
  void rdma_frame_fill(Conn& c, rte_mbuf* m, wire::Fields& f, const wire::RdmaRef* body);
  void rdma_frame_send(Conn& c, rte_mbuf* m, const wire::Fields& f, uint16_t payload_len);
  void on_rdma_write_pc(Conn& c, const wire::Frame& fr);
  void on_rdma_read_req_pc(Conn& c, const wire::Frame& fr);
  void on_rdma_read_resp_pc(Conn& c, const wire::Frame& fr);
  /** Refuse a remote access: nothing was touched; RESET (kConnAborted) and fail the connection. */
  void rdma_deny_pc(Conn& c, RdmaDeny why);
  /** Revoke every region and drop the peer's reads (connection failed or freed, R63). */
  void rdma_revoke_all(Conn& c);
  /** End our reads waiting on `c` with `error`: through complete() (live) or finish() (close). */
  void rdma_end_reads(Conn& c, uint32_t error, bool finish_now);
  /** A peer's read or write is under way on `region` of `c` (R59: not deregistered then). */
  bool rdma_region_busy(const Conn& c, uint32_t region) const;
  bool rdma_idle(const Conn& c) const { return c.reads_q.empty() && c.rjob_count == 0; }

  // timers, completion, connections (poll_core.cpp)
  void timers_pc(uint64_t now);
  /** End an operation: queued in the completion burst, published by flush_completions(). */
  void complete(Request* r, uint32_t error, uint32_t bytes);
  /**
   * Publish the burst (Engine::finish_burst). Called after each RX burst and at the end of
   * every pass, so a result waits at most the rest of one pass; and before a socket's close
   * is acknowledged, so none of its results can follow the close.
   */
  void flush_completions();
  void record_event(SocketLink* link, uint32_t bit, int32_t error);
  void fail_conn(Conn& c, uint32_t error);
  Conn* conn_alloc();
  void conn_free(Conn& c);
  Conn* conn_by_id(uint32_t id);
  Conn* conn_of(SocketLink* link);
  uint64_t ms_to_tsc(uint32_t ms) const { return tsc_hz_ / 1000 * ms; }
  uint64_t us_to_tsc(uint32_t us) const { return tsc_hz_ / 1000000 * us; }
  static Conn* conn_of_timer(TimerNode* t) {
    return reinterpret_cast<Conn*>(reinterpret_cast<char*>(t) - offsetof(Conn, timer));
  }

  Engine* e_;
  uint16_t index_;
  uint64_t tsc_hz_ = 0;
  uint64_t tsc_per_tick_ = 1;
  TimerWheel wheel_;
  Conn* ack_head_ = nullptr;           ///< connections owing the peer an ACK
  TxSlot* txw_store_ = nullptr;        ///< kWindow per connection
  rte_mbuf** rxw_store_ = nullptr;     ///< kWindow per connection
  uint64_t now_ = 0;
  uint64_t next_timer_tsc_ = 0;
  /// Payload bytes per frame a port carries, both ways: what we advertise as our rx_mss in
  /// handshakes, and the most a connection on it sends (Conn::mss may be less: the peer's).
  uint16_t mss_[kMaxPorts] = {};
  uint16_t rx_frame_max_[kMaxPorts] = {};  ///< longest frame a port takes: MTU + Ethernet header
  std::atomic<bool> exit_{false};

  PtrRing<Request> requests_;          ///< MPSC: SPI threads -> this core
  ElemRing<HandOff> handoff_;          ///< MPSC: other cores -> this core (misrouted frames)
  Conn* conns_ = nullptr;              ///< max_conns_per_core
  uint32_t* free_slots_ = nullptr;
  uint32_t nfree_ = 0;
  EarlyMsg* early_store_ = nullptr;    ///< early_slots per connection
  RdmaRegion* region_store_ = nullptr; ///< kRdmaRegionsPerConn per connection
  RdmaReadJob* rjob_store_ = nullptr;  ///< kRdmaReadsMax per connection

  Conn* ready_head_ = nullptr;         ///< connections with sendable work
  Conn* dirty_head_ = nullptr;         ///< connections owing the peer a credit update
  Conn* connecting_head_ = nullptr;    ///< connections waiting for ACCEPT
  PendingConn* pending_head_ = nullptr;///< connect requests queued to listeners
  ReqQueue parked_;                    ///< finished while stopping: ends as an abort
  static constexpr unsigned kDoneMax = 64;
  Engine::Done done_[kDoneMax];        ///< completions of this pass, not yet published
  unsigned ndone_ = 0;

  /// Frames held in send and receive windows. They wait on acks, and acks need mbufs: past
  /// held_budget_ no more are held, so the pool can never be drained by windows (no deadlock).
  uint32_t held_ = 0;
  uint32_t held_budget_ = 0;

  rte_mbuf* txq_[kTxMax];
  uint16_t ntx_ = 0;
  uint64_t tx_stuck_since_ = 0;        ///< since when the ports took none of txq_ (0: they do)
  Backoff backoff_;
  CoreStats stats_;
};

}  // namespace dpsan::fastpath
