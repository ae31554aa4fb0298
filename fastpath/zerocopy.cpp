/* SPDX-License-Identifier: BSD-3-Clause */
#include "zerocopy.h"

#include <algorithm>
#include <cstring>
#include <rte_eal.h>

#include "descriptor.h"
#include "engine.h"
#include "wsa_codes.h"

namespace dpsan::fastpath {

namespace {

/**
 * The free callback of the last mbuf attached to an operation's buffer, after the operation
 * ended: publish the result kept by zc_settle(). Runs on the provider thread that freed the
 * mbuf (a poll core, or the control thread during a cleanup).
 */
void zc_released(void* /*addr*/, void* opaque) {
  auto* r = static_cast<Request*>(opaque);
  Engine* e = r->zc.engine;
  SocketLink* link = r->link;
  // From step 1 of the final cleanup on, an operation ends only by an abort (R12).
  bool abort = e->stopping();
  // Not waiting any more before it is seen done, so that the gauge never counts a finished one.
  e->zc_waiting.fetch_sub(1, std::memory_order_release);
  e->publish(r, abort ? kWsaAborted : r->zc.error, abort ? 0 : r->zc.bytes);
  link->zc_held.fetch_sub(1, std::memory_order_release);
  link->pending_upcalls.fetch_sub(1, std::memory_order_release);  // WSPCloseSocket may go on
}

}  // namespace

void zc_begin(Request* r, Engine* e) {
  r->zc.shinfo.free_cb = zc_released;
  r->zc.shinfo.fcb_opaque = r;
  rte_mbuf_ext_refcnt_set(&r->zc.shinfo, 1);
  r->zc.engine = e;
  r->zc.on = true;
}

rte_mbuf* zc_attach(rte_mempool* pool, Request* r, char* p, uint16_t n) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) return nullptr;
  // A device that DMAs gets zero-copy frames only from memory mapped with IO address = virtual
  // address, and only with IOVA as VA (dma_map.h); other devices read through the CPU and do
  // not use the IO address.
  rte_iova_t iova = rte_eal_iova_mode() == RTE_IOVA_VA ? reinterpret_cast<uintptr_t>(p) : RTE_BAD_IOVA;
  rte_mbuf_ext_refcnt_update(&r->zc.shinfo, 1);  // attach_extbuf does not count
  rte_pktmbuf_attach_extbuf(m, p, iova, n, &r->zc.shinfo);
  m->data_off = 0;
  m->data_len = n;
  m->pkt_len = n;
  return m;
}

bool zc_settle(Request* r, uint32_t error, uint32_t bytes) {
  Engine* e = r->zc.engine;
  r->zc.error = error;
  r->zc.bytes = bytes;
  // Held before the reference goes: the callback may run on another thread at once.
  r->link->pending_upcalls.fetch_add(1, std::memory_order_acq_rel);
  r->link->zc_held.fetch_add(1, std::memory_order_acq_rel);
  e->zc_waiting.fetch_add(1, std::memory_order_relaxed);
  if (rte_mbuf_ext_refcnt_update(&r->zc.shinfo, -1) != 0) return true;
  e->zc_waiting.fetch_sub(1, std::memory_order_relaxed);
  r->link->zc_held.fetch_sub(1, std::memory_order_release);
  r->link->pending_upcalls.fetch_sub(1, std::memory_order_release);
  return false;
}

rte_mbuf* zc_flatten(rte_mbuf* m, rte_mempool* pool) {
  if (m->nb_segs == 1) return m;
  rte_mbuf* flat = rte_pktmbuf_alloc(pool);
  uint32_t len = rte_pktmbuf_pkt_len(m);
  if (flat == nullptr || len > rte_pktmbuf_tailroom(flat)) {
    rte_pktmbuf_free(flat);
    rte_pktmbuf_free(m);
    return nullptr;
  }
  auto* dst = rte_pktmbuf_mtod(flat, uint8_t*);
  uint32_t off = 0;
  for (rte_mbuf* s = m; s != nullptr && off < len; s = s->next) {
    uint32_t n = std::min<uint32_t>(s->data_len, len - off);
    std::memcpy(dst + off, rte_pktmbuf_mtod(s, const uint8_t*), n);
    off += n;
  }
  flat->data_len = static_cast<uint16_t>(off);
  flat->pkt_len = off;
  flat->port = m->port;
  rte_pktmbuf_free(m);  // the sender's buffer is released here, before the frame is handled
  return flat;
}

}  // namespace dpsan::fastpath
