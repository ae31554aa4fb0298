/* SPDX-License-Identifier: BSD-3-Clause */
#include "telemetry.h"

#include <cstring>
#include <iterator>
#include <rte_mempool.h>
#include <rte_telemetry.h>

#include "call_guard.h"
#include "fastpath/poll_core.h"
#include "instance.h"
#include "stats_snapshot.h"

namespace dpsan::control {

namespace {

void add(rte_tel_data* d, const char* name, uint64_t v) { rte_tel_data_add_dict_u64(d, name, v); }

void packets(Instance&, const DPSAN_STATS& s, rte_tel_data* d) {
  add(d, "packets_tx", s.packets_tx);
  add(d, "packets_rx", s.packets_rx);
  add(d, "bytes_tx", s.bytes_tx);
  add(d, "bytes_rx", s.bytes_rx);
  add(d, "arp_tx", s.arp_tx);
  add(d, "arp_rx", s.arp_rx);
  add(d, "handoffs", s.handoffs);
  add(d, "zerocopy_frames", s.zerocopy_frames);
}

void reliability(Instance&, const DPSAN_STATS& s, rte_tel_data* d) {
  add(d, "retransmits", s.retransmits);
  add(d, "credit_stalls", s.credit_stalls);
  add(d, "drops_duplicate", s.drops_duplicate);
  add(d, "faults_injected", s.faults_injected);
}

/** Every drop by reason: the decode checks by name, then the drops of later stages. */
void drops(Instance& inst, const DPSAN_STATS& s, rte_tel_data* d) {
  using fastpath::wire::DecodeStatus;
  for (size_t k = 1; k < static_cast<size_t>(DecodeStatus::kCount) && k < std::size(s.drops_by_reason); k++)
    add(d, fastpath::wire::decode_status_name(static_cast<DecodeStatus>(k)), s.drops_by_reason[k]);
  add(d, "no_conn", s.drops_no_conn);
  add(d, "not_ours", s.drops_not_ours);
  add(d, "duplicate", s.drops_duplicate);
  add(d, "rdma_denied", s.rdma_denied);
  static const char* const kDeny[] = {nullptr,           "rdma_denied_conn",   "rdma_denied_region",
                                      "rdma_denied_revoked", "rdma_denied_key", "rdma_denied_bounds",
                                      "rdma_denied_rights",  "rdma_denied_protocol"};
  static_assert(std::size(kDeny) == std::size(DPSAN_STATS{}.rdma_denied_by_reason));
  for (size_t k = 1; k < std::size(kDeny); k++) add(d, kDeny[k], s.rdma_denied_by_reason[k]);
  // Three counters DPSAN_STATS does not carry.
  uint64_t overrun = 0, alloc_fail = 0, tx_dropped = 0;
  fastpath::Engine& e = inst.engine();
  for (unsigned i = 0; i < e.core_count(); i++) {
    const fastpath::CoreStats& c = e.core(i).stats();
    overrun += c.drops_early_overrun.get();
    alloc_fail += c.tx_alloc_fail.get();
    tx_dropped += c.tx_dropped.get();
  }
  add(d, "early_overrun", overrun);
  add(d, "tx_alloc_fail", alloc_fail);
  add(d, "tx_dropped", tx_dropped);
}

/**
 * Operations by state: posted and not yet completed; ended, their buffer still held by frames
 * sent zero-copy; completed with the upcall still queued.
 */
void ops(Instance&, const DPSAN_STATS& s, rte_tel_data* d) {
  add(d, "in_flight", s.ops_in_flight);
  add(d, "awaiting_buffer_release", s.zerocopy_waiting);
  add(d, "awaiting_upcall", s.pending_upcalls);
  add(d, "connections", s.connections);
  add(d, "registrations", s.registrations);
  add(d, "rdma_registrations", s.rdma_registrations);
  add(d, "dma_chunks", s.dma_chunks);
  add(d, "dma_map_failures", s.dma_map_failures);
}

void pool(rte_tel_data* d, const char* prefix, const rte_mempool* mp) {
  std::string p = prefix;
  add(d, (p + "_in_use").c_str(), rte_mempool_in_use_count(mp));
  add(d, (p + "_size").c_str(), mp->size);
}

void mempool(Instance& inst, const DPSAN_STATS&, rte_tel_data* d) {
  fastpath::Engine& e = inst.engine();
  pool(d, "mbufs", e.mbuf_pool());
  add(d, "requests_in_use", e.requests_in_use());
  add(d, "requests_size", e.config().max_requests);
  pool(d, "pending_conns", e.pending_pool());
}

using Section = void (*)(Instance&, const DPSAN_STATS&, rte_tel_data*);

struct Command {
  const char* path;
  Section fill;  ///< nullptr: every section
  const char* help;
};

const Command kCommands[] = {
    {"/dpsan/packets", packets, "dpsan: packets and bytes by direction"},
    {"/dpsan/reliability", reliability, "dpsan: retransmissions, credit stalls, duplicates"},
    {"/dpsan/drops", drops, "dpsan: dropped frames by reason"},
    {"/dpsan/ops", ops, "dpsan: operations by state"},
    {"/dpsan/mempool", mempool, "dpsan: packet, request and pending-connection pool use"},
    {"/dpsan/all", nullptr, "dpsan: every counter"},
};

/** On DPDK's telemetry thread: the CallGuard keeps the instance alive while we read it. */
int answer(const char* cmd, const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  CallGuard guard;
  Instance* inst = guard.instance();
  add(d, "instance_live", inst != nullptr);
  if (inst == nullptr) return 0;
  DPSAN_STATS st{};
  stats_snapshot(*inst, &st);
  for (const Command& c : kCommands) {
    bool all = std::strcmp(cmd, "/dpsan/all") == 0;
    if (c.fill && (all || std::strcmp(cmd, c.path) == 0)) c.fill(*inst, st, d);
  }
  return 0;
}

}  // namespace

bool telemetry_register() {
  bool ok = true;
  for (const Command& c : kCommands) ok &= rte_telemetry_register_cmd(c.path, answer, c.help) == 0;
  return ok;
}

}  // namespace dpsan::control
