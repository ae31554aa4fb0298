/* SPDX-License-Identifier: BSD-3-Clause */
#include "stats_snapshot.h"

#include <iterator>
#include <rte_mempool.h>

#include "fastpath/poll_core.h"
#include "fastpath/port/port.h"
#include "instance.h"

namespace dpsan::control {

namespace {

// The public indices of rdma_denied_by_reason are RdmaDeny's values.
using fastpath::RdmaDeny;
static_assert(DPSAN_RDMA_DENY_CONN == static_cast<int>(RdmaDeny::kConn));
static_assert(DPSAN_RDMA_DENY_REGION == static_cast<int>(RdmaDeny::kRegion));
static_assert(DPSAN_RDMA_DENY_REVOKED == static_cast<int>(RdmaDeny::kRevoked));
static_assert(DPSAN_RDMA_DENY_KEY == static_cast<int>(RdmaDeny::kKey));
static_assert(DPSAN_RDMA_DENY_BOUNDS == static_cast<int>(RdmaDeny::kBounds));
static_assert(DPSAN_RDMA_DENY_RIGHTS == static_cast<int>(RdmaDeny::kRights));
static_assert(DPSAN_RDMA_DENY_PROTOCOL == static_cast<int>(RdmaDeny::kProtocol));
static_assert(std::size(DPSAN_STATS{}.rdma_denied_by_reason) ==
              std::size(fastpath::CoreStats{}.rdma_denied_by));

void add_core(const fastpath::CoreStats& c, DPSAN_STATS& st) {
  st.connections += c.conns.get();
  st.packets_tx += c.packets_tx.get();
  st.packets_rx += c.packets_rx.get();
  st.bytes_tx += c.bytes_tx.get();
  st.bytes_rx += c.bytes_rx.get();
  for (size_t k = 0; k < std::size(c.drops); k++) {
    st.drops_bad_packet += c.drops[k].get();
    if (k < std::size(st.drops_by_reason)) st.drops_by_reason[k] += c.drops[k].get();
  }
  st.drops_not_ours += c.drops_not_ours.get();
  st.arp_rx += c.arp_rx.get();
  st.arp_tx += c.arp_tx.get();
  st.handoffs += c.handoffs.get();
  st.drops_no_conn += c.drops_no_conn.get();
  st.credit_stalls += c.credit_stalls.get();
  st.retransmits += c.retransmits.get();
  st.drops_duplicate += c.drops_duplicate.get();
  st.rdma_registrations += c.rdma_regions.get();
  st.rdma_denied += c.rdma_denied.get();
  for (size_t k = 0; k < std::size(c.rdma_denied_by); k++)
    st.rdma_denied_by_reason[k] += c.rdma_denied_by[k].get();
  st.zerocopy_frames += c.zerocopy_frames.get();
}

}  // namespace

void stats_snapshot(Instance& inst, DPSAN_STATS* out) {
  fastpath::Engine& e = inst.engine();
  DPSAN_STATS st{};
  st.sockets_open = out->sockets_open;
  st.ops_in_flight = e.requests_in_use();
  st.registrations = e.mrs.live();
  st.mbufs_in_use = rte_mempool_in_use_count(e.mbuf_pool());
  st.pending_upcalls = e.notify.count();
  st.poll_cores = e.core_count();
  for (unsigned i = 0; i < e.core_count(); i++) add_core(e.core(i).stats(), st);
  st.neighbours = e.neighbours.size();
  st.ports = e.port_count();
  for (unsigned i = 0; i < e.port_count(); i++) st.faults_injected += e.port(i)->faults_injected();
  fastpath::RegCache::Stats cs = e.reg_cache.stats();
  st.cache_entries = cs.entries;
  st.cache_hits = cs.hits;
  st.cache_misses = cs.misses;
  st.zerocopy_waiting = e.zc_waiting.load(std::memory_order_relaxed);
  fastpath::DmaMap::Stats ds = e.dma.stats();
  st.dma_chunks = ds.chunks;
  st.dma_map_failures = ds.failures;
  *out = st;
}

}  // namespace dpsan::control
