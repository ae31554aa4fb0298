/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Engine: everything the poll cores of one provider instance share, and the fast-path API the
 * SPI threads use (take a request, post it, read stats).
 *
 * Control creates an Engine at the 0->1 startup and destroys it at the end of the final
 * cleanup. Between the two, the SPI threads call request_get/post/request_put (lock-free), poll
 * cores run PollCore::run, and the notifier drains `notify`.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include "backoff.h"
#include "completion.h"
#include "descriptor.h"
#include "dma_map.h"
#include "listener.h"
#include "mr_table.h"
#include "neighbour_table.h"
#include "reg_cache.h"
#include "ring.h"

namespace dpsan::fastpath {

class Port;
class PollCore;

inline constexpr unsigned kMaxPorts = 8;

/** The address a port serves. Network byte order. */
struct PortAddr {
  uint32_t ip = 0;
  uint32_t mask = 0xffffffffu;
  bool contains(uint32_t addr) const { return (addr & mask) == (ip & mask); }
};

struct EngineConfig {
  uint32_t cores = 1;                 ///< poll cores
  uint32_t max_conns_per_core = 4096;
  uint32_t max_requests = 131071;     ///< request descriptors (ops in flight, all sockets)
  uint32_t mbufs = 8191;
  uint16_t mbuf_data_room = 9216 + RTE_PKTMBUF_HEADROOM;
  uint32_t early_slots = 4;           ///< early-message slots per connection (R41)
  uint32_t max_registrations = 65536;
  uint32_t connect_timeout_ms = 3000;
  uint32_t connect_retry_ms = 250;
  uint32_t zerocopy_min = kZeroCopyMin;  ///< payload bytes from which a frame is attached; 0: never
  DmaPolicy dma_map = DmaPolicy::kAuto;  ///< which ports' devices get registrations mapped
  uint32_t ack_delay_us = 10;         ///< an ACK waits this long for more frames (or 8 of them)
  uint32_t rto_min_us = 2000;         ///< first retransmission timeout; doubles per try (to 64x)
  uint32_t keepalive_ms = 250;        ///< probe an idle peer while operations are pending
  uint32_t peer_timeout_ms = 3000;    ///< no frame from the peer for this long: it is dead
  IdlePolicy idle = IdlePolicy::kAdaptive;
  uint32_t idle_sleep_us = 20;
  uint32_t arp_timeout_s = 300;       ///< a learned neighbour is forgotten after this
  uint32_t ports = 1;                 ///< ports in use, 1..kMaxPorts
  PortAddr port_addr[kMaxPorts];      ///< what each port serves
};

class Engine {
 public:
  Engine();
  ~Engine();

  /**
   * Create pools, rings, tables and cores. Control, at bring-up; the cfg.ports `ports` stay
   * owned by control.
   * @return false with a message in *err; a failed init leaves nothing to release but the object.
   */
  bool init(const EngineConfig& cfg, unsigned instance, Port* const* ports, rte_mempool* mbufs,
            const char** err);

  /** Any thread. @return a zeroed request, or nullptr when the pool is empty (WSAENOBUFS). */
  Request* request_get();
  /** Give back a request that was never posted. */
  void request_put(Request* r);
  /** Any thread. @return false (owning core's ring full): the request stays the caller's. */
  bool post(Request* r);
  /** As post(), to a given core (for requests that concern no socket, e.g. kReject). */
  bool post_to(unsigned core, Request* r);

  /**
   * End an operation: release its registration uses and the request itself, then publish the
   * result (R13: resources before the signal). Poll mode writes the overlapped in place (OV-R);
   * upcall mode writes Offset/OffsetHigh and queues a record for the notifier.
   * Callers: the owning poll core, or the final cleanup after quiescence. `r` is gone after it.
   */
  void finish(Request* r, uint32_t error, uint32_t bytes);
  /**
   * The second half of finish(): release and publish. finish() calls it at once, except for a
   * zero-copy operation whose frames still hold the switch's buffer: the release of the last
   * one calls it then (zerocopy.h). Any provider thread.
   */
  void publish(Request* r, uint32_t error, uint32_t bytes);
  /// Zero-copy operations that ended and wait for their frames to release the buffer (gauge).
  std::atomic<uint64_t> zc_waiting{0};

  /** One operation's result, waiting in a poll core's completion burst. */
  struct Done {
    Request* r;
    uint32_t error, bytes;
  };
  /**
   * finish() for a burst: every request's registration uses and the requests themselves go
   * back first (one bulk put to the pool), then every result is published in order. The same
   * R13 order as finish(), with one pass over the shared pool and registration lines per
   * burst instead of one per operation. Callers as finish().
   */
  void finish_burst(const Done* d, unsigned n);

  const EngineConfig& config() const { return cfg_; }
  PollCore& core(unsigned i) { return *cores_[i]; }
  unsigned core_count() const { return cfg_.cores; }
  unsigned port_count() const { return cfg_.ports; }
  Port* port(unsigned i) const { return ports_[i]; }
  /**
   * May a frame of port `port` carry a payload attached to the memory of registration slot
   * `mr` (a use of which the caller holds)? Yes when the port's device reads through the CPU,
   * or when that memory is mapped for it (dma_map.h). Owning poll core, per zero-copy frame:
   * two loads, no lock.
   */
  bool zero_copy_ok(unsigned port, uint32_t mr) const {
    uint32_t need = dma_need_[port];
    return need == 0 || (mrs.dma_mask(mr) & need) == need;
  }
  /** @return the index of the port serving `ip` (network order), or -1. */
  int port_serving(uint32_t ip) const {
    for (unsigned i = 0; i < cfg_.ports; i++)
      if (cfg_.port_addr[i].ip == ip) return static_cast<int>(i);
    return -1;
  }

  /**
   * First part of step 1: no network event is recorded or signalled from now on (R14). The
   * notifier raises `signalling` around each event check-and-signal, so once this returns the
   * caller can wait for a signal already under way and know that none can follow.
   */
  void block_events() { events_blocked_.store(true, std::memory_order_seq_cst); }
  bool events_blocked() const { return events_blocked_.load(std::memory_order_seq_cst); }
  std::atomic<bool> signalling{false};  ///< written by the notifier only

  /** Step 1 of the final cleanup: from now on no operation completes but by an abort. */
  void mark_stopping() { stopping_.store(true, std::memory_order_seq_cst); }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  /**
   * Record a network event for a socket and have the notifier signal its event (R45, R48).
   * Any thread. Nothing is recorded once the final cleanup or the socket's close has begun (R14).
   */
  void record_event(SocketLink* link, uint32_t bit, int32_t error);
  /** Have the notifier signal the socket's event if a selected event is recorded. Any thread. */
  void queue_signal(SocketLink* link);
  /**
   * Have the notifier finish a socket's close (its WPUCloseSocketHandle) after every record
   * queued so far: for a close made inside an upcall, which cannot wait for the notifier.
   * @return false if the ring is full (the caller delivers some records and tries again).
   */
  bool queue_close_handle(SocketLink* link);

  uint64_t requests_in_use() const;
  rte_mempool* mbuf_pool() const { return mbufs_; }
  rte_mempool* pending_pool() const { return pendings_; }

  ElemRing<NotifyRecord> notify;   ///< MPSC: producers = cores and control, consumer = notifier
  ListenerTable listeners;
  MrTable mrs;
  NeighbourTable neighbours;       ///< shared by the cores: ARP learns, connects look up
  /// Device mappings of registered memory (dma_map.h), held by the cache's ranges. Declared
  /// before the cache, which uses it until its own destruction.
  DmaMap dma;
  /// The registration cache. Process-wide rather than per instance would outlive the final
  /// cleanup, which must release every registration (R18): it is cleared there.
  RegCache reg_cache{&dma};
  rte_rcu_qsbr* qsbr = nullptr;    ///< readers: cores 0..n-1, the notifier as thread n

 private:
  /** Publish a result whose request is already released: in place, or to the notifier. */
  void publish(OvView* ov, SocketLink* link, uint32_t error, uint32_t bytes);

  EngineConfig cfg_;
  Port* ports_[kMaxPorts] = {};
  /// Per port: 0 (reads through the CPU), the DmaMap bit of its device, or kNoZeroCopy.
  uint32_t dma_need_[kMaxPorts] = {};
  bool init_dma(const char** err);
  rte_mempool* mbufs_ = nullptr;
  rte_mempool* requests_ = nullptr;
  rte_mempool* pendings_ = nullptr;
  std::unique_ptr<std::unique_ptr<PollCore>[]> cores_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> events_blocked_{false};
};

}  // namespace dpsan::fastpath
