/* SPDX-License-Identifier: BSD-3-Clause */
#include "engine.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_pause.h>

#include "poll_core.h"
#include "port/port.h"

namespace dpsan::fastpath {

namespace {
/// A need no registration's mask meets: the port's device DMAs and nothing is mapped for it.
constexpr uint32_t kNoZeroCopy = 1u << 31;
static_assert(kMaxPorts < 31, "device bits of DmaMap masks stay below kNoZeroCopy");
}  // namespace

Engine::Engine() = default;

Engine::~Engine() {
  if (cores_) {
    for (unsigned i = 0; i < cfg_.cores; i++) cores_[i].reset();
  }
  notify.destroy();
  listeners.fini();
  rte_mempool_free(requests_);
  rte_mempool_free(pendings_);
}

bool Engine::init(const EngineConfig& cfg, unsigned instance, Port* const* ports,
                  rte_mempool* mbufs, const char** err) {
  cfg_ = cfg;
  for (unsigned i = 0; i < cfg.ports; i++) ports_[i] = ports[i];
  mbufs_ = mbufs;
  uint64_t hz = rte_get_tsc_hz();
  neighbours.init(hz * cfg.arp_timeout_s, hz / 10);  // one ARP request per address per 100 ms
  char name[RTE_MEMPOOL_NAMESIZE];
  std::snprintf(name, sizeof name, "dpsan_req%u", instance);
  // No per-lcore cache: most takers are switch threads, which have no lcore id.
  requests_ = rte_mempool_create(name, cfg.max_requests, sizeof(Request), 0, 0, nullptr, nullptr,
                                 nullptr, nullptr, SOCKET_ID_ANY, 0);
  std::snprintf(name, sizeof name, "dpsan_pend%u", instance);
  pendings_ = rte_mempool_create(name, 8191, sizeof(PendingConn), 0, 0, nullptr, nullptr,
                                 nullptr, nullptr, SOCKET_ID_ANY, 0);
  if (requests_ == nullptr || pendings_ == nullptr) {
    *err = "cannot create the request or pending-connection pool (hugepage memory?)";
    return false;
  }
  std::snprintf(name, sizeof name, "dpsan_notify%u", instance);
  // Sized so that it can never fill: one record per request plus one event per socket.
  unsigned notify_size = rte_align32pow2(cfg.max_requests + 2 * cfg.max_conns_per_core * cfg.cores + 1024);
  if (!notify.create(name, notify_size, RING_F_MP_RTS_ENQ | RING_F_SC_DEQ)) {
    *err = "cannot create the notifier ring";
    return false;
  }
  if (!listeners.init() || !mrs.init(cfg.max_registrations)) {
    *err = "cannot allocate the listener or registration table";
    return false;
  }
  if (!init_dma(err)) return false;
  cores_.reset(new std::unique_ptr<PollCore>[cfg.cores]);
  for (unsigned i = 0; i < cfg.cores; i++) {
    cores_[i].reset(new PollCore(this, static_cast<uint16_t>(i)));
    if (!cores_[i]->init(instance, err)) return false;
  }
  return true;
}

bool Engine::init_dma(const char** err) {
  std::vector<rte_device*> devices;
  for (unsigned i = 0; i < cfg_.ports; i++) {
    Port* p = ports_[i];
    rte_device* dev = p->dma_device();
    // "always" treats every DPDK device as one that DMAs, so the whole path runs on vdevs too.
    bool needs = cfg_.dma_map == DmaPolicy::kAlways ? dev != nullptr : p->reads_by_dma();
    dma_need_[i] = 0;
    if (!needs) continue;
    if (cfg_.dma_map == DmaPolicy::kNever || dev == nullptr) {
      dma_need_[i] = kNoZeroCopy;
      continue;
    }
    auto it = std::find(devices.begin(), devices.end(), dev);
    dma_need_[i] = 1u << (it - devices.begin());
    if (it == devices.end()) devices.push_back(dev);
  }
  if (!dma.init(devices)) {
    *err = "too many devices for the DMA map";
    return false;
  }
  return true;
}

Request* Engine::request_get() {
  void* obj;
  if (rte_mempool_get(requests_, &obj) != 0) return nullptr;
  auto* r = static_cast<Request*>(obj);
  std::memset(static_cast<void*>(r), 0, offsetof(Request, sge));
  return r;
}

void Engine::request_put(Request* r) { rte_mempool_put(requests_, r); }

bool Engine::post(Request* r) { return cores_[r->link->core]->post(r); }

bool Engine::post_to(unsigned core, Request* r) { return cores_[core]->post(r); }

void Engine::finish(Request* r, uint32_t error, uint32_t bytes) {
  if (r->zc.on && zc_settle(r, error, bytes)) return;  // R19: published at the last release
  publish(r, error, bytes);
}

void Engine::publish(Request* r, uint32_t error, uint32_t bytes) {
  OvView* ov = r->ov;
  SocketLink* link = r->link;
  for (unsigned i = 0; i < r->nsge; i++)
    if (r->sge[i].mr != kMrNone) mrs.release(r->sge[i].mr);
  request_put(r);  // R13: the provider's resources go first
  publish(ov, link, error, bytes);
}

void Engine::publish(OvView* ov, SocketLink* link, uint32_t error, uint32_t bytes) {
  if (ov_poll_mode(ov)) {
    ov_publish_in_place(ov, error, bytes, 0);  // R34: no upcall
    return;
  }
  ov->offset = 0;
  ov->offset_high = error;
  link->pending_upcalls.fetch_add(1, std::memory_order_acq_rel);
  NotifyRecord rec{NotifyRecord::kComplete, error, bytes, 0, link, ov};
  while (!notify.enqueue(rec)) rte_pause();  // cannot fill: sized for every request
}

void Engine::finish_burst(const Done* d, unsigned n) {
  constexpr unsigned kChunk = 64;
  while (n) {
    unsigned k = n < kChunk ? n : kChunk, m = 0;
    void* reqs[kChunk];
    OvView* ovs[kChunk];
    SocketLink* links[kChunk];
    uint32_t errors[kChunk], bytes[kChunk];
    for (unsigned i = 0; i < k; i++) {
      Request* r = d[i].r;
      if (r->zc.on && zc_settle(r, d[i].error, d[i].bytes)) continue;  // R19: at the last release
      ovs[m] = r->ov;
      links[m] = r->link;
      errors[m] = d[i].error;
      bytes[m] = d[i].bytes;
      for (unsigned j = 0; j < r->nsge; j++)
        if (r->sge[j].mr != kMrNone) mrs.release(r->sge[j].mr);
      reqs[m++] = r;
    }
    if (m) rte_mempool_put_bulk(requests_, reqs, m);  // R13: the provider's resources go first
    for (unsigned i = 0; i < m; i++) publish(ovs[i], links[i], errors[i], bytes[i]);
    d += k;
    n -= k;
  }
}

void Engine::record_event(SocketLink* link, uint32_t bit, int32_t error) {
  if (events_blocked() || link->closing.load(std::memory_order_acquire)) return;  // R14, 2.14
  NetEvents& ev = link->events;
  ev.error[bit].store(error, std::memory_order_relaxed);
  ev.recorded.fetch_or(1u << bit, std::memory_order_release);
  queue_signal(link);
}

void Engine::queue_signal(SocketLink* link) {
  if (link->event_queued.exchange(true, std::memory_order_acq_rel)) return;  // one is queued
  link->pending_upcalls.fetch_add(1, std::memory_order_acq_rel);
  NotifyRecord rec{NotifyRecord::kSignalEvent, 0, 0, 0, link, nullptr};
  while (!notify.enqueue(rec)) rte_pause();  // cannot fill: sized for every request and socket
}

bool Engine::queue_close_handle(SocketLink* link) {
  NotifyRecord rec{NotifyRecord::kCloseHandle, 0, 0, 0, link, nullptr};
  return notify.enqueue(rec);
}

uint64_t Engine::requests_in_use() const { return rte_mempool_in_use_count(requests_); }

}  // namespace dpsan::fastpath
