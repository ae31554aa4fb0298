/* SPDX-License-Identifier: BSD-3-Clause */
/** @file dpsan-perf's runs over dpsan: ping-pong and stream between two sockets of one process. */
#pragma once

#include "results.h"
#include "mini_switch.h"

namespace dpsan::perf {

/** Round trips of `size`-byte messages for `seconds`. */
Result dpsan_pingpong(MiniSwitch& sw, SOCKET a, SOCKET b, uint32_t size, double seconds);
/** One-way messages of `size` bytes with `window` in flight, for `seconds`. */
Result dpsan_stream(MiniSwitch& sw, SOCKET a, SOCKET b, uint32_t size, double seconds,
                    unsigned window);

}  // namespace dpsan::perf
