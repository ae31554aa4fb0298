/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Idle back-off of a poll loop.
 *
 * busy:     spin with rte_pause() forever (lowest latency, one core burnt).
 * adaptive: spin for `spin_iters` idle iterations, then sleep `sleep_us` per idle iteration.
 *           Work that arrives while the loop sleeps waits at most one sleep plus one pass:
 *           sleep_us (default 20 us) plus the timer slack, which the loop sets to 1 ns.
 * The loop goes offline in QSBR before sleeping (rte_rcu_qsbr.h asks readers to do so before
 * blocking) so that a grace period never waits for a sleeping core.
 */
#pragma once

#include <cstdint>

namespace dpsan::fastpath {

enum class IdlePolicy : uint8_t { kBusy, kAdaptive };

struct Backoff {
  IdlePolicy policy = IdlePolicy::kAdaptive;
  uint32_t spin_iters = 20000;
  uint32_t sleep_us = 20;
  uint32_t idle = 0;

  /** @return true when the caller should sleep now (after going offline). */
  bool idle_pass() {
    if (policy == IdlePolicy::kBusy) return false;
    return ++idle > spin_iters;
  }
  void busy_pass() { idle = 0; }
};

}  // namespace dpsan::fastpath
