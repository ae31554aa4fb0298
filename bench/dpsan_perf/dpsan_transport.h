/* SPDX-License-Identifier: BSD-3-Clause */
/** @file dpsan-perf's runs over dpsan: ping-pong and stream between two sockets of one process. */
#pragma once

#include "results.h"
#include "mini_switch.h"

namespace dpsan::perf {

/*
 * Both runs take the connected pair (a, b) and close it before returning, while the
 * overlapped structures of the operations still in flight are alive (they are aborted then).
 */

/** Round trips of `size`-byte messages for `seconds`. */
Result dpsan_pingpong(MiniSwitch& sw, SOCKET a, SOCKET b, uint32_t size, double seconds);
/** One-way messages of `size` bytes with `window` in flight, for `seconds`. */
Result dpsan_stream(MiniSwitch& sw, SOCKET a, SOCKET b, uint32_t size, double seconds,
                    unsigned window);

}  // namespace dpsan::perf
