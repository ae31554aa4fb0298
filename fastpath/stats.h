/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Per-core counters. One writer (the owning core) updates them with a relaxed load and store,
 * which is TSan-clean and costs no read-modify-write; any thread may read them.
 */
#pragma once

#include <atomic>
#include <cstdint>

#include "wire/codec.h"

namespace dpsan::fastpath {

struct Counter {
  std::atomic<uint64_t> v{0};
  void add(uint64_t n) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

struct CoreStats {
  Counter packets_tx, packets_rx, bytes_tx, bytes_rx;
  Counter drops[static_cast<int>(wire::DecodeStatus::kCount)];  ///< by decode failure
  Counter drops_no_conn;       ///< no live connection matches the ids
  Counter drops_early_overrun; ///< a message the peer had no credit for
  Counter credit_stalls;       ///< a send found no peer credit
  Counter tx_alloc_fail;       ///< mbuf pool empty when building a frame
  Counter tx_dropped;          ///< frames a port refused for kTxStuckMs, dropped
  Counter retransmits;         ///< reliable frames sent again (timeout or fast retransmit)
  Counter drops_duplicate;     ///< reliable frames already received (or beyond the window)
  Counter arp_rx;              ///< ARP packets received (requests and replies)
  Counter arp_tx;              ///< ARP packets sent (requests and replies)
  Counter drops_not_ours;      ///< frames of other protocols, or for addresses not served here
  Counter handoffs;            ///< frames received by one core for a connection of another
  Counter conns;               ///< live connections (gauge, owner-written)
  Counter rdma_denied;         ///< remote accesses refused (each aborted its connection)
  Counter rdma_denied_by[8];   ///< the same by RdmaDeny (rdma_region.h); [0] unused
  Counter rdma_regions;        ///< live RDMA registrations (gauge, owner-written)
  Counter zerocopy_frames;     ///< frames whose payload was attached, not copied (zerocopy.h)
};

}  // namespace dpsan::fastpath
