/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Instance: what the 0->1 startup brings up and the final cleanup releases: the configuration,
 * the packet pool, the port, the engine (pools, rings, tables, poll cores), the QSBR variable
 * and the notifier thread.
 */
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include <dpsan/ws2san.h>

#include "config.h"
#include "fastpath/engine.h"
#include "notifier.h"

namespace dpsan::fastpath {
class Port;
}

namespace dpsan::control {

class Instance;

/** What spi-adapter does for the final cleanup's socket-level steps (5 and 6). */
struct TeardownHooks {
  /** Step 5: one WPUCloseSocketHandle per open socket, as its last upcall; free the sockets. */
  void (*close_all_sockets)(Instance* inst);
  /** Step 6: drop every memory registration. */
  void (*drop_registrations)(Instance* inst);
};

class Instance {
 public:
  Instance(unsigned id, const std::atomic<const WSPUPCALLTABLEEX*>* upcalls)
      : id_(id), upcalls_(upcalls) {}
  ~Instance();

  /** Bring everything up. Provider mutex held. @return false with *error; then delete it. */
  bool bring_up(const Config& cfg, std::string* error);

  /** The final cleanup, steps (1)..(7) of DESIGN.md. Provider mutex held. */
  void teardown(const TeardownHooks& hooks);

  fastpath::Engine& engine() { return *engine_; }
  const Config& config() const { return cfg_; }
  Notifier& notifier() { return notifier_; }
  /** The most recently supplied upcall table (R9). */
  const WSPUPCALLTABLEEX* upcalls() const { return upcalls_->load(std::memory_order_acquire); }
  /**
   * Wait for a QSBR grace period (e.g. before freeing an unpublished listener). On the notifier
   * thread (a close made inside an upcall) the notifier is itself a reader, so it passes its own
   * id, which rte_rcu_qsbr_synchronize reports quiescent instead of waiting for.
   */
  void synchronize() {
    rte_rcu_qsbr_synchronize(
        qsbr_, Notifier::on_notifier_thread() ? cfg_.engine.cores : RTE_QSBR_THRID_INVALID);
  }
  /** Marked in step 1; new SPI calls then fail with WSAENETDOWN. */
  bool stopping() const { return engine_->stopping(); }

 private:
  /** Open every configured port, in order, with one queue pair per poll core. */
  bool open_ports(std::string* error);
  fastpath::Port* open_port(const PortConfig& p, std::string* err);

  void stop_lcores();
  /** Teardown, after step 4: have every zero-copy operation's frames released (R19). */
  void release_zero_copy();

  unsigned id_;
  const std::atomic<const WSPUPCALLTABLEEX*>* upcalls_;
  Config cfg_;
  rte_mempool* mbufs_ = nullptr;
  std::vector<fastpath::Port*> ports_;  ///< in the order opened; closed in reverse
  rte_rcu_qsbr* qsbr_ = nullptr;
  std::unique_ptr<fastpath::Engine> engine_;
  std::vector<unsigned> lcores_;
  bool lcores_running_ = false;
  Notifier notifier_;
  bool notifier_running_ = false;
};

}  // namespace dpsan::control
