/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * dpsan-perf's runs over dpsan, on the switch's thread: ping-pong, stream and RDMA. With both
 * ends of a connection in this process (b valid), one thread drives both; with b ==
 * INVALID_SOCKET the other end is a `dpsan-perf --role server` process (perf_server.h).
 */
#pragma once

#include "mini_switch.h"
#include "results.h"

namespace dpsan::perf {

/*
 * Each run closes the sockets it is given before returning, while the overlapped structures of
 * the operations still in flight are alive (they are aborted then).
 */

/** Round trips of `size`-byte messages for `seconds`: a sends, b (or the server) echoes. */
Result dpsan_pingpong(MiniSwitch& sw, SOCKET a, SOCKET b, uint32_t size, double seconds);
/**
 * One-way messages of `size` bytes from a, with `window` sends and receives in flight, for
 * `seconds`. Counts the messages b received; with a remote b, the sends that completed.
 */
Result dpsan_stream(MiniSwitch& sw, SOCKET a, SOCKET b, uint32_t size, double seconds,
                    unsigned window);
/**
 * RDMA writes (or reads) of `size` bytes from a into (from) the peer's region named by `desc`,
 * `window` in flight, each at its own offset (the region holds window * size bytes).
 */
Result dpsan_rdma(MiniSwitch& sw, SOCKET a, const void* desc, unsigned desc_len, bool write,
                  uint32_t size, double seconds, unsigned window);

/** Messages in flight for a stream or RDMA run: `window`, but at most 8 MiB of them (at least 2). */
unsigned window_for(uint32_t size, unsigned window);

}  // namespace dpsan::perf
