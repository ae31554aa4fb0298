/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The second ping-pong baseline: kernel UDP over loopback, busy-polled. Both threads spin on a
 * non-blocking recv (and ask for SO_BUSY_POLL, which loopback, having no NAPI queue, ignores),
 * so no round trip waits for a wake-up: the best a kernel socket does on this machine.
 */
#pragma once

#include "results.h"

namespace dpsan::perf {

/** The largest datagram UDP over IPv4 carries. */
constexpr uint32_t kUdpMaxPayload = 65507;

/** Round trips of `size`-byte datagrams (size <= kUdpMaxPayload) for `seconds`. */
Result udp_busy_pingpong(uint32_t size, double seconds);

}  // namespace dpsan::perf
