/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Zero-copy sends: payload bytes of a large send or RDMA write leave as a DPDK external buffer
 * (rte_pktmbuf_attach_extbuf) attached to the switch's registered memory, chained behind a
 * header mbuf, instead of being copied into a hugepage mbuf (README "Zero-copy sends").
 *
 * The rule (R19, spec "Exactly once"): an operation must not complete while any mbuf still
 * points into the switch's memory. Each zero-copy operation counts its references in the
 * external buffer's shared info, which lives inside its Request (so the pool of records is the
 * request pool: preallocated, lock-free): one reference is the operation's own, one more per
 * attached payload mbuf. Retransmissions, the fault injector's duplicates and clones share those
 * mbufs (mbuf refcounts), so they add nothing here; every mbuf freed drops one reference.
 *
 * When the operation ends (acknowledged, failed or aborted), Engine::finish() drops the
 * operation's own reference with zc_settle(). If mbufs still hold the buffer (in a port, a
 * ring, the send window of a dead connection), the result is kept in the Request and published
 * by the free callback of the last mbuf, on whatever provider thread frees it. Meanwhile the
 * socket's `pending_upcalls` is held, so WSPCloseSocket waits for the release, and the local
 * registrations stay in use, so WSPDeregisterMemory answers WSAEINVAL (R59).
 *
 * A receiver in this process (loopback, net_ring pair) never keeps such a frame: zc_flatten()
 * copies a chained frame into one plain mbuf before anything else looks at it, and frees it.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <rte_mbuf.h>

namespace dpsan::fastpath {

class Engine;
struct Request;

/**
 * Default of [fastpath] zerocopy_min: payload bytes per frame from which a frame is attached
 * rather than copied. Measured with micro_zerocopy (README "Zero-copy sends"): below it, the
 * two extra mbuf operations of an attached frame cost about as much as the copy they save.
 */
inline constexpr uint32_t kZeroCopyMin = 2048;

/** The zero-copy state of one operation (inside its Request; zeroed with it). */
struct ZcRefs {
  rte_mbuf_ext_shared_info shinfo;  ///< refcnt: 1 (the operation) + 1 per attached mbuf
  Engine* engine;                   ///< whose finish() the last release completes
  uint32_t error, bytes;            ///< the result, kept while mbufs still hold the buffer
  bool on;                          ///< zc_begin() ran: finish() goes through zc_settle()
};

/** Owner core, first attached frame of `r`: the operation holds its own reference. */
void zc_begin(Request* r, Engine* e);

/**
 * Owner core: an mbuf attached to [p, p+n) of the switch's memory (n <= 65535), counted as one
 * reference of `r`. @return nullptr when the pool is empty (nothing counted).
 */
rte_mbuf* zc_attach(rte_mempool* pool, Request* r, char* p, uint16_t n);

/**
 * Engine::finish, for an operation with zc on: keep (error, bytes) and drop the operation's own
 * reference. @return true when mbufs still hold the buffer: the last one's release publishes
 * the result (Engine::publish); false when none does, and the caller publishes now.
 */
bool zc_settle(Request* r, uint32_t error, uint32_t bytes);

/**
 * Receive side: a frame of several segments (a zero-copy frame from this process) copied into
 * one plain mbuf from `pool`; the chain is freed. A single-segment frame is returned as it is.
 * @return nullptr when no mbuf was free or the frame does not fit one (dropped, as if lost).
 */
rte_mbuf* zc_flatten(rte_mbuf* m, rte_mempool* pool);

}  // namespace dpsan::fastpath
