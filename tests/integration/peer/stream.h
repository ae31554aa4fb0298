/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The deterministic message streams of dpsan_peer: both ends compute, from the same seed, the
 * size and every byte of message `seq` of connection `conn` in each direction, so a receiver
 * can tell, for each message, that it is the next one, whole and undamaged (R40).
 *
 * A message is a 24-byte header (host byte order: magic, conn, dir, seq, size, checksum of the
 * body) followed by pseudo-random body bytes; a message shorter than 24 bytes is the first
 * bytes of that header. Per direction a connection carries `messages` data messages
 * (seq 0..messages-1) and then a DONE message (seq = messages, 24 bytes). Message 0 from the
 * connecting side is always 24 bytes: it names the connection to the listener (the hello).
 * Other sizes are log-uniform in [min_size, max_size], so small and large messages both occur.
 *
 * Pure functions; any thread.
 */
#pragma once

#include <cstdint>
#include <string>

namespace dpsan::itest {

constexpr uint32_t kHeaderBytes = 24;
constexpr uint32_t kMagic = 0x50534450;  // "PDSP" in memory on little-endian hosts

/** Which way a stream goes. */
enum class Dir : uint32_t { kFromConnector = 0, kFromListener = 1 };

struct StreamSpec {
  uint64_t seed = 1;
  uint32_t messages = 100;  // data messages per connection per direction (>= 1)
  uint32_t min_size = 1;
  uint32_t max_size = 65536;
  /** The largest message of any stream: receive buffers must hold this much. */
  uint32_t buffer_size() const { return max_size > kHeaderBytes ? max_size : kHeaderBytes; }
};

/** Size of message `seq` (0..messages, the last being DONE). */
uint32_t stream_size(const StreamSpec& spec, uint32_t conn, Dir dir, uint32_t seq);

/** Writes message `seq` (stream_size bytes) into buf. */
void stream_fill(const StreamSpec& spec, uint32_t conn, Dir dir, uint32_t seq, char* buf);

/**
 * Checks that (buf, n) is exactly message `seq`. `scratch` must hold spec.buffer_size() bytes.
 * @return "" when it is; otherwise what is wrong (out of order, wrong size, damaged at byte k).
 */
std::string stream_check(const StreamSpec& spec, uint32_t conn, Dir dir, uint32_t seq,
                         const char* buf, uint32_t n, char* scratch);

/** Reads the connection number from a hello. @return false if (buf, n) is no hello. */
bool stream_hello_conn(const char* buf, uint32_t n, uint32_t* conn);

}  // namespace dpsan::itest
