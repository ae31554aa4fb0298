/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Zero-copy frames on the owning core (zerocopy.h): building them, and releasing what the
 * ports still hold of them at the final cleanup.
 */
#include "poll_core.h"
#include "port/port.h"

namespace dpsan::fastpath {

namespace {

/**
 * The bytes [off, off+n) of the request's buffers if they lie in one buffer, else nullptr;
 * *mr: that buffer's registration slot.
 */
char* contiguous_span(const Request* r, uint32_t off, uint32_t n, uint32_t* mr) {
  for (unsigned i = 0; i < r->nsge; i++) {
    const Sge& s = r->sge[i];
    if (off >= s.len) {
      off -= s.len;
      continue;
    }
    *mr = s.mr;
    return n <= s.len - off ? s.buf + off : nullptr;
  }
  return nullptr;
}

}  // namespace

rte_mbuf* PollCore::payload_frame_pc(const Conn& c, Request* r, uint32_t n, uint16_t prefix) {
  rte_mempool* pool = e_->mbuf_pool();
  rte_mbuf* h = rte_pktmbuf_alloc(pool);
  if (h == nullptr) {
    stats_.tx_alloc_fail.add(1);
    return nullptr;
  }
  uint32_t min = e_->config().zerocopy_min;  // 0: zero-copy off
  uint32_t mr = kMrNone;
  char* span = min != 0 && n >= min && e_->port(c.addr.via)->zero_copy_tx()
                   ? contiguous_span(r, r->progress, n, &mr)
                   : nullptr;
  // A device that DMAs reads only memory mapped for it: never a zero-copy frame from the rest.
  if (span != nullptr && !e_->zero_copy_ok(c.addr.via, mr)) span = nullptr;
  if (span == nullptr) {  // small, split over two buffers, unmapped, or a port that cannot: copy
    request_gather(r, r->progress, rte_pktmbuf_mtod(h, uint8_t*) + wire::kFrameOverhead + prefix, n);
    return h;
  }
  if (!r->zc.on) zc_begin(r, e_);
  rte_mbuf* d = zc_attach(pool, r, span, static_cast<uint16_t>(n));
  if (d == nullptr) {
    rte_pktmbuf_free(h);
    stats_.tx_alloc_fail.add(1);
    return nullptr;
  }
  h->next = d;  // seal_frame() sets the lengths of both
  h->nb_segs = 2;
  stats_.zerocopy_frames.add(1);
  return h;
}

void PollCore::release_frames_quiesced() {
  for (unsigned p = 0; p < e_->port_count(); p++) {
    Port* port = e_->port(p);
    // Only such ports carry zero-copy frames (and a uring queue must not be driven from here).
    if (!port->zero_copy_tx()) continue;
    port->release_held(index_);
    rte_mbuf* pkts[kRxBurst];
    // In-process rings: frames sent and not yet received. Bounded by what a ring holds.
    for (unsigned round = 0; round < 4096; round++) {
      uint16_t n = port->rx_burst(index_, pkts, kRxBurst);
      if (n == 0) break;
      rte_pktmbuf_free_bulk(pkts, n);
    }
  }
  if (handoff_.raw()) {
    HandOff h;
    while (handoff_.dequeue_burst(&h, 1)) rte_pktmbuf_free(h.m);
  }
}

}  // namespace dpsan::fastpath
