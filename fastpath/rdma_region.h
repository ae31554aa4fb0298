/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The remote-access table of one connection: which of our bytes the peer may reach by RDMA,
 * and the check every incoming RDMA request passes before a single byte is touched.
 *
 * Ownership: a connection's table (kRdmaRegionsPerConn slots) belongs to the poll core that owns
 * the connection, like the rest of Conn. SPI threads never touch it: WSPRegisterRdmaMemory and
 * WSPDeregisterRdmaMemory post a request to the owning core and wait for its answer, so when
 * WSPDeregisterRdmaMemory returns, the core has already revoked the slot *between* two frames:
 * no copy into or out of the region is under way, and none can start (R63). Closing or failing
 * the connection revokes every slot the same way.
 *
 * A peer names a region by (desc_conn, region, gen, key): the connection id the descriptor was
 * made on (R64: another connection's descriptor names another id), the slot, the slot's
 * generation (bumped at every revocation, so an old descriptor of a reused slot fails) and a
 * random 64-bit key (so a slot cannot be guessed into).
 */
#pragma once

#include <cstdint>

#include "wire/rdma.h"

namespace dpsan::fastpath {

inline constexpr uint32_t kRdmaRegionsPerConn = 16;  ///< RDMA registrations per socket
/// Reads one side may have outstanding on a connection. The initiator never sends more; the
/// target refuses (aborts) a peer that does, so its response queue is a fixed ring.
inline constexpr uint32_t kRdmaReadsMax = 8;
inline constexpr uint32_t kRdmaRead = 1, kRdmaWrite = 2;  ///< rights, as MEM_READ / MEM_WRITE

struct RdmaRegion {
  uintptr_t addr = 0;
  uint64_t len = 0;
  uint64_t key = 0;
  uint32_t gen = 1;     ///< bumped at each revocation; never 0
  uint32_t rights = 0;  ///< kRdmaRead | kRdmaWrite
  bool live = false;
  bool writing = false; ///< a peer's write is being placed: first frame in, last not yet (R59)
};

/** Why a remote access was refused (stats and tests); kOk when it is allowed. */
enum class RdmaDeny : uint8_t {
  kOk,
  kConn,      ///< descriptor of another connection (R64)
  kRegion,    ///< no such slot
  kRevoked,   ///< slot free, or generation of an older registration (R63)
  kKey,       ///< wrong key
  kBounds,    ///< [offset, offset + len) not inside the region
  kRights,    ///< write to a read-only region or read of a write-only one (R62)
  kProtocol,  ///< malformed, unexpected or excess RDMA frame
};

/**
 * May the peer of connection `conn_id` access [off, off + len) of the region `ref` names,
 * with `need` rights? Pure; owner core. Overflow-safe for any 64-bit off and len.
 */
inline RdmaDeny rdma_check(const RdmaRegion* table, uint32_t conn_id, const wire::RdmaRef& ref,
                           uint64_t off, uint64_t len, uint32_t need) {
  if (ref.desc_conn != conn_id) return RdmaDeny::kConn;
  if (ref.region >= kRdmaRegionsPerConn) return RdmaDeny::kRegion;
  const RdmaRegion& r = table[ref.region];
  if (!r.live || r.gen != ref.gen) return RdmaDeny::kRevoked;
  if (r.key != ref.key) return RdmaDeny::kKey;
  if (off > r.len || len > r.len - off) return RdmaDeny::kBounds;
  if ((r.rights & need) != need) return RdmaDeny::kRights;
  return RdmaDeny::kOk;
}

/** Revoke one slot: nothing the peer holds names it any more. */
inline void rdma_revoke(RdmaRegion& r) {
  r.live = false;
  r.writing = false;
  r.key = 0;
  r.gen = r.gen + 1 == 0 ? 1 : r.gen + 1;
}

/** A read the peer asked of us, streamed back as RDMA_READ_RESP frames (owner core). */
struct RdmaReadJob {
  wire::RdmaRef ref;   ///< re-checked before every frame: a revocation stops it at once
  uint32_t len;        ///< bytes asked
  uint32_t progress;   ///< bytes sent
  uint32_t read_id;    ///< the request's msg_seq, echoed in the responses
};

/** The RDMA descriptor written by WSPRegisterRdmaMemory (README "RDMA descriptor"). */
struct RdmaDescriptor {
  uint32_t magic;      ///< kRdmaDescMagic
  uint32_t conn;       ///< the registering side's connection id
  uint32_t region;
  uint32_t gen;
  uint64_t key;
};
static_assert(sizeof(RdmaDescriptor) == 24);
inline constexpr uint32_t kRdmaDescMagic = 0x44505244;  // "DPRD" in a little-endian dump: "DRPD"

}  // namespace dpsan::fastpath
