/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The `uring` port back-end: dpsan frames over kernel UDP sockets, driven through liburing, for
 * hosts without a DPDK-capable port. It speaks the same wire protocol as an `ethdev` port, so the
 * fast path above it is unchanged and a `uring` peer talks to an `ethdev` peer.
 *
 * What it translates (the fast path still sees whole Ethernet/IPv4/UDP/dpsan frames):
 *  - TX: the destination IPv4 address is read from the frame's IPv4 header, and only the UDP
 *    payload (dpsan header + data) is sent, from the port's socket to `dst_ip:bind_port`.
 *    Frames whose IPv4 header fails its checksum (the fault injector corrupted it) or that are
 *    not IPv4/UDP are dropped, as a receiving NIC or wire::decode would drop them.
 *    Consecutive frames to one destination with one segment size go out as one sendmsg with
 *    UDP GSO (UDP_SEGMENT), where the kernel offers it; every burst is one io_uring_enter.
 *  - RX: a multishot recvmsg on a provided-buffer ring receives the payloads; each datagram
 *    becomes a frame with Ethernet/IPv4/UDP headers in front of it (MACs zero, IPv4 checksum
 *    valid, source address and port from the kernel, destination the bound address, UDP
 *    destination port wire::kUdpPort), so wire::decode accepts it. With UDP GRO (the default
 *    where the kernel has it) the ring holds 64 KiB buffers of hugepage memory owned by the
 *    port, a completion may carry several coalesced datagrams, and each is copied into an mbuf
 *    of the caller's pool. Without GRO the ring holds mbufs of that pool and the headers are
 *    written in front of the payload in place (no copy, but one kernel skb per datagram). On
 *    loopback GRO moved 1.4x to 4x more frames per second (bench/micro/uring_bench.cpp).
 *
 * Rings: one io_uring per queue (= poll core), with IORING_SETUP_SINGLE_ISSUER and
 * IORING_SETUP_DEFER_TASKRUN. The ring is created disabled by control and enabled by the first
 * rx_burst/tx_burst on its queue, so that the poll core is its single issuer. Completions that
 * need the kernel (deferred task work) are fetched with io_uring_get_events() only when the ring
 * says work is waiting (IORING_SQ_TASKRUN), so an idle poll makes no system call. Each queue
 * has its own socket (SO_REUSEPORT); with several queues a classic BPF reuseport program steers
 * every datagram to the queue of its destination connection (conn_id_core of dst_conn).
 *
 * Unlike ethdev, this back-end makes system calls on the poll core: one io_uring_enter per
 * transmitted burst and one per batch of received completions. That is its price.
 *
 * Requires Linux 6.1+ (DEFER_TASKRUN; multishot recvmsg is 6.0). Without io_uring (ENOSYS,
 * kernel.io_uring_disabled, EPERM) open fails with a message that says so.
 */
#pragma once

#include <cstdint>
#include <string>

#include "port.h"

namespace dpsan::fastpath {

struct UringPortConfig {
  uint32_t bind_ip = 0;       ///< network order; a specific local address (not 0.0.0.0)
  uint16_t bind_port = 21316; ///< host order: bound locally and the port frames are sent to
  uint16_t queues = 1;        ///< one ring and one socket per poll core
  uint16_t mtu = 0;           ///< IP MTU; 0 = the MTU of the interface holding bind_ip, <= 9000
  bool gso = true;            ///< use UDP GSO when the kernel has it
  /**
   * Use UDP GRO when the kernel has it: datagrams of one sender arrive coalesced, into 64 KiB
   * buffers of the port's own (hugepage memory), and each is copied out into an mbuf. Without
   * it each datagram is received straight into an mbuf (no copy, one kernel skb each).
   */
  bool gro = true;
};

/** Counters of one port (all queues), for tests and --verbose. */
struct UringPortStats {
  uint64_t tx_frames = 0;     ///< frames handed to the kernel
  uint64_t tx_sends = 0;      ///< sendmsg operations (one per GSO batch or lone frame)
  uint64_t tx_gso_sends = 0;  ///< of which carried more than one frame
  uint64_t tx_errors = 0;     ///< sendmsg completions with an error (frames lost)
  uint64_t tx_dropped = 0;    ///< frames refused before sending (bad headers)
  uint64_t rx_frames = 0;
  uint64_t rx_datagrams = 0;  ///< receive completions with data (< rx_frames when GRO coalesced)
  uint64_t rx_dropped = 0;    ///< truncated, malformed, or no room to hold them
  uint64_t rx_rearms = 0;     ///< multishot receives armed again after ending
  uint64_t rx_no_mbuf = 0;    ///< buffer ring refills that found the mempool empty
};

/**
 * Open a uring port. Control, at bring-up; the first rx_burst/tx_burst on each queue must come
 * from the thread that will own it.
 * @param pool mempool whose mbufs become receive buffers (a few hundred per queue stay in the
 *             buffer ring); its data room must hold 9216 bytes.
 * @return the port, or nullptr with a one-line message in *err (nothing is left open).
 */
Port* uring_port_open(const UringPortConfig& cfg, rte_mempool* pool, std::string* err);

/** Counters of a port made by uring_port_open. @return false if `p` is not a uring port. */
bool uring_port_stats(const Port* p, UringPortStats* out);

/**
 * The message given when io_uring cannot be used: `err` is the positive errno of
 * io_uring_setup; the text names kernel.io_uring_disabled when that is set.
 */
std::string uring_unavailable_message(int err);

}  // namespace dpsan::fastpath
