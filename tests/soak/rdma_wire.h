/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The control messages of a memif soak RDMA link (memif_mode.h), shared by dpsan-soak (the
 * server, which initiates RDMA) and dpsan_peer --rdma-links (the target, which owns the
 * region). Header-only, pure data; any thread.
 *
 * One link: the target connects, registers its region for remote access and sends DESC (its
 * descriptor follows the header). The server answers PLAN (how the link will end, and the
 * stream seed and connection number of its RDMA payloads). Then, per RDMA operation n, the
 * server posts WSPRdmaWrite of payload n, at once a NOTE(n, offset, size) send behind it, and
 * on the write's completion a WSPRdmaRead of the same range back, which it checks. The target
 * checks its region when the NOTE arrives (R44: a send posted after an RDMA write is not
 * delivered before the write's data has been placed) and answers ACK(n); the server starts
 * operation n + 1 only after ACK(n), so the region never changes under the target's check.
 * A graceful end is DONE from the server, then the target's close.
 */
#pragma once

#include <cstdint>

namespace dpsan::soak::rdma_wire {

constexpr uint32_t kMagic = 0x414d4452;  // "RDMA" in memory on little-endian hosts
constexpr uint32_t kPad = 4096;          // RDMA offsets stay below this; regions are max + kPad
constexpr uint32_t kMaxMsg = 256;        // every control message fits (DESC: header + descriptor)

enum Kind : uint32_t { kDesc = 1, kPlan, kNote, kAck, kDone };

/** How a link ends; the target is told in PLAN so that it knows which statuses are right. */
enum Plan : uint32_t {
  kGraceful = 0,     // DONE, then the target closes first, then the server
  kServerAbrupt = 1, // the server closes with operations in flight at close_ms
  kTargetAbrupt = 2, // the target closes with receives in flight close_ms after PLAN
  kParked = 3,       // the server's final WSPCleanup ends it with operations in flight (R15)
};

struct Ctl {
  uint32_t magic = kMagic;
  uint32_t kind = 0;
  uint32_t conn = 0;   // connection number of the RDMA payload stream
  uint32_t seq = 0;    // RDMA operation number (NOTE, ACK, DONE: the last one)
  uint32_t off = 0;    // where in the region (NOTE, DONE)
  uint32_t len = 0;    // payload bytes (NOTE, DONE); descriptor bytes (DESC)
  uint64_t seed = 0;   // payload stream seed (PLAN)
  uint32_t plan = 0;   // Plan (PLAN)
  uint32_t close_ms = 0;  // kTargetAbrupt: close this long after PLAN arrived
};
static_assert(sizeof(Ctl) == 40);

}  // namespace dpsan::soak::rdma_wire
