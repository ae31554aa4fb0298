/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The two-process soak over net_memif. This process is the memif server (198.18.0.1) and
 * accepts; each round a new dpsan_peer process (the memif client, 198.18.0.2, its own EAL and
 * its own WSPStartupEx/WSPCleanup) connects and exchanges checked message streams both ways
 * under the same faults on both sides. The server runs whole startup/cleanup cycles of
 * `rounds_per_cycle` rounds, and cleans up after its last client has exited. After each round
 * the server's counts must be back to their baseline; after each cleanup, its resident memory
 * must be flat.
 */
#pragma once

#include <string>

#include "soak.h"

namespace dpsan::soak {

struct MemifOptions {
  unsigned rounds_per_cycle = 3;
  std::string peer_path;  // dpsan_peer; default: $DPSAN_PEER, else next to dpsan-soak
};

/** @return the exit code (0 ok, 1 violation, 2 set-up error). */
int run_memif(const Options& o, const MemifOptions& m);

}  // namespace dpsan::soak
