/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The second ping-pong baseline: kernel UDP over loopback, busy-polled. Both threads, each on a
 * CPU of its own, spin on a non-blocking recv (yielding between tries) for up to 1 ms before
 * sleeping in poll(): what SO_BUSY_POLL does on a NIC queue (they ask for it too, but loopback
 * has no NAPI queue to poll), so a round trip seldom waits for a wake-up.
 */
#pragma once

#include "results.h"

namespace dpsan::perf {

/** The largest datagram UDP over IPv4 carries. */
constexpr uint32_t kUdpMaxPayload = 65507;

/** Round trips of `size`-byte datagrams (size <= kUdpMaxPayload) for `seconds`. */
Result udp_busy_pingpong(uint32_t size, double seconds);

}  // namespace dpsan::perf
