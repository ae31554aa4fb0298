/* SPDX-License-Identifier: BSD-3-Clause */
#include "instance.h"

#include <cstdio>
#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "eal.h"
#include "stale_memif.h"
#include "fastpath/poll_core.h"
#include "fastpath/port/port.h"
#include "fastpath/port/uring_port.h"

namespace dpsan::control {

namespace {
rte_mempool* g_kept_pool = nullptr;  ///< the packet pool of probed DPDK devices; control only
int poll_main(void* arg) {
  int rc = static_cast<fastpath::PollCore*>(arg)->run();
  fastpath::tsan_release(arg);  // rte_eal_wait_lcore's hand-off, unseen by TSan (stop_lcores)
  return rc;
}
}  // namespace

Instance::~Instance() {
  stop_lcores();
  if (notifier_running_) notifier_.stop();
  engine_.reset();
  // Reverse order: the first side of a ring pair owns the rings the second side uses.
  for (auto it = ports_.rbegin(); it != ports_.rend(); ++it) {
    (*it)->close();
    delete *it;
  }
  // A DPDK device stays probed for the process, and its driver may still look at the queues'
  // pool from its own threads (net_memif's control channel): such a pool is kept for the next
  // instance instead of freed.
  if (mbufs_ != g_kept_pool) rte_mempool_free(mbufs_);
  rte_free(qsbr_);
  fastpath::tsan_heap_freed();
}

bool Instance::bring_up(const Config& cfg, std::string* error) {
  cfg_ = cfg;
  EalInfo eal;
  if (!eal_init_once(cfg_, &eal, error)) return false;
  if (eal.poll_lcores.size() < cfg_.engine.cores) {
    *error = "fastpath.lcores: the EAL of this process was started with " +
             std::to_string(eal.poll_lcores.size()) + " poll lcore(s)";
    return false;
  }
  lcores_.assign(eal.poll_lcores.begin(), eal.poll_lcores.begin() + cfg_.engine.cores);

  bool dpdk_ports = false;
  for (const PortConfig& p : cfg_.ports) dpdk_ports |= p.kind == PortConfig::Kind::kDpdk;
  if (dpdk_ports && g_kept_pool && g_kept_pool->size == cfg_.engine.mbufs &&
      rte_pktmbuf_data_room_size(g_kept_pool) == cfg_.engine.mbuf_data_room) {
    mbufs_ = g_kept_pool;  // every buffer came back at the last final cleanup
  } else {
    char name[RTE_MEMPOOL_NAMESIZE];
    std::snprintf(name, sizeof name, "dpsan_mbuf%u", id_);
    mbufs_ = rte_pktmbuf_pool_create(name, cfg_.engine.mbufs, 256, 0, cfg_.engine.mbuf_data_room,
                                     SOCKET_ID_ANY);
    if (dpdk_ports && mbufs_) g_kept_pool = mbufs_;  // a previous one, if any, stays with its device
  }
  if (mbufs_ == nullptr) {
    *error = "fastpath.mbufs = " + std::to_string(cfg_.engine.mbufs) +
             ": cannot create the packet pool (not enough memory?)";
    return false;
  }
  if (!open_ports(error)) return false;
  const char* err = nullptr;
  unsigned readers = cfg_.engine.cores + 1;  // poll cores, then the notifier
  qsbr_ = static_cast<rte_rcu_qsbr*>(
      rte_zmalloc("dpsan_qsbr", rte_rcu_qsbr_get_memsize(readers), RTE_CACHE_LINE_SIZE));
  fastpath::tsan_heap_allocated();
  if (qsbr_ == nullptr || rte_rcu_qsbr_init(qsbr_, readers) != 0) {
    *error = "cannot create the QSBR variable";
    return false;
  }
  engine_ = std::make_unique<fastpath::Engine>();
  engine_->qsbr = qsbr_;
  if (!engine_->init(cfg_.engine, id_, ports_.data(), mbufs_, &err)) {
    *error = err;
    return false;
  }
  for (const PortConfig& p : cfg_.ports)
    for (const Neighbour& n : p.neighbours) engine_->neighbours.add_static(n.ipv4, n.mac);
  notifier_.start(engine_.get(), upcalls_, cfg_.engine.cores, this);
  notifier_running_ = true;
  for (unsigned i = 0; i < lcores_.size(); i++) {
    if (rte_eal_remote_launch(poll_main, &engine_->core(i), lcores_[i]) != 0) {
      *error = "cannot launch the poll loop on lcore " + std::to_string(lcores_[i]);
      for (unsigned j = 0; j < i; j++) engine_->core(j).request_exit();
      for (unsigned j = 0; j < i; j++) rte_eal_wait_lcore(lcores_[j]);
      return false;
    }
  }
  lcores_running_ = true;
  return true;
}

fastpath::Port* Instance::open_port(const PortConfig& p, std::string* err) {
  auto queues = static_cast<uint16_t>(cfg_.engine.cores);
  switch (p.kind) {
    case PortConfig::Kind::kLoopback:
      return fastpath::loopback_port_open(id_, mbufs_, queues, p.mtu, err);
    case PortConfig::Kind::kRingPair:
      return fastpath::ring_pair_port_open(p.pair, p.side, mbufs_, queues, p.mtu, err);
    case PortConfig::Kind::kDpdk:
      if (std::string gone = remove_stale_memif_socket(p.device); !gone.empty())
        std::fprintf(stderr, "dpsan: removed the stale memif socket %s (no process listens on it)\n", gone.c_str());
      return fastpath::probe_port_open(p.device, mbufs_, queues, p.mtu, err);
    case PortConfig::Kind::kUring: {
      fastpath::UringPortConfig u;
      u.bind_ip = p.ipv4;
      u.bind_port = p.bind_port;
      u.queues = queues;
      u.gso = p.gso;
      u.mtu = p.mtu;
      return fastpath::uring_port_open(u, mbufs_, err);
    }
  }
  return nullptr;
}

bool Instance::open_ports(std::string* error) {
  for (size_t i = 0; i < cfg_.ports.size(); i++) {
    const PortConfig& p = cfg_.ports[i];
    std::string err;
    fastpath::Port* port = open_port(p, &err);
    if (port == nullptr) {
      // A refused MTU is named by its key too: the device string alone would not say why.
      std::string mtu = p.mtu ? " (port[" + std::to_string(i) + "].mtu = " + std::to_string(p.mtu) + ")" : "";
      *error = "port[" + std::to_string(i) + "].device = \"" + p.device + "\"" + mtu + ": " + err;
      return false;
    }
    if (cfg_.fault.enabled())
      port = fastpath::fault_port_wrap(port, cfg_.fault, mbufs_, static_cast<uint16_t>(cfg_.engine.cores));
    ports_.push_back(port);
  }
  return true;
}

void Instance::stop_lcores() {
  if (!lcores_running_) return;
  for (unsigned i = 0; i < lcores_.size(); i++) engine_->core(i).request_exit();
  for (unsigned i = 0; i < lcores_.size(); i++) {
    rte_eal_wait_lcore(lcores_[i]);
    fastpath::tsan_acquire(&engine_->core(i));
  }
  lcores_running_ = false;
}

void Instance::release_zero_copy() {
  // An aborted zero-copy operation completes when the last frame pointing into the switch's
  // memory is freed (R19, fastpath/zerocopy.h); frames the ports still hold are freed here. A
  // device may free what it sent a little later: wait for it, bounded.
  unsigned n = engine_->core_count();
  for (unsigned ms = 0; ms < 1000; ms++) {
    for (unsigned i = 0; i < n; i++) engine_->core(i).release_frames_quiesced();
    if (engine_->zc_waiting.load(std::memory_order_acquire) == 0) return;
    rte_delay_us_sleep(1000);
  }
  std::fprintf(stderr, "dpsan: final cleanup: %llu zero-copy operation(s) still held by a port\n",
               static_cast<unsigned long long>(engine_->zc_waiting.load()));
}

void Instance::teardown(const TeardownHooks& hooks) {
  // (1) was done by the provider: the engine is stopping and no SPI call is inside.
  // (2) Quiesce: after this grace period no poll loop holds a request, a connection or a
  //     frame, and the notifier signals no more events (R14).
  synchronize();
  unsigned n = engine_->core_count();
  // (3) Reset connections and refuse queued connect requests.
  for (unsigned i = 0; i < n; i++) engine_->core(i).drain_requests_quiesced();
  for (unsigned i = 0; i < n; i++) engine_->core(i).reset_all_quiesced();
  // (4) Abort every in-flight operation exactly once, resources first (R12, R13); then let the
  //     notifier deliver every abort before any handle is closed (R25, R26).
  for (unsigned i = 0; i < n; i++) engine_->core(i).abort_all_quiesced();
  release_zero_copy();
  notifier_.wait_drained();
  // (5) One WPUCloseSocketHandle per socket, as its last upcall (R15).
  hooks.close_all_sockets(this);
  // (6) Drop every registration (R18).
  hooks.drop_registrations(this);
  // (7) Stop lcores, then the notifier, port and pools (the destructor).
  stop_lcores();
  notifier_.stop();
  notifier_running_ = false;
}

}  // namespace dpsan::control
