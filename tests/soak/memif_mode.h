/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The two-process soak over net_memif. This process is the memif server (198.18.0.1) and
 * accepts; each round a new dpsan_peer process (the memif client, 198.18.0.2, its own EAL and
 * its own WSPStartupEx/WSPCleanup) connects `connections` message connections, which exchange
 * checked streams both ways, and as many RDMA links (rdma_link.h, rdma_wire.h): this process
 * writes RDMA payloads into the peer's region, the peer checks each one, this process reads
 * each back and checks it. Each link of a round ends as planned at random: gracefully, by an
 * abrupt close of either side with operations in flight, or - the last round of each server
 * instance - parked in flight into the server's final WSPCleanup while the peer still runs
 * (R12, R15, R19). The same faults run on both sides. After each round the server's counts
 * must be back to their baseline; at each startup they must equal the first startup's; after
 * each cleanup, its resident memory must be flat.
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
