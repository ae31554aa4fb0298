/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The far end of dpsan-perf's two-process layouts: `dpsan-perf --role server`, started by
 * dpsan-perf itself (two_process.h). It listens, and serves one connection at a time: the
 * client's first message (a Hello) says what the connection is for.
 */
#pragma once

#include <cstdint>
#include <string>

#include "mini_switch.h"

namespace dpsan::perf {

enum class ServeMode : uint32_t { kPingpong = 1, kStream = 2, kRdma = 3, kQuit = 4 };

/** The first message of each connection, client to server. */
struct Hello {
  uint32_t magic = kMagic;
  ServeMode mode;
  uint32_t size;    ///< message or RDMA operation size
  uint32_t window;  ///< messages (RDMA: operations) in flight
  static constexpr uint32_t kMagic = 0x64707066;  // "dppf"
};

/** The server's answer to an RDMA Hello: the descriptor of its region (window * size bytes). */
struct RdmaReply {
  uint32_t desc_len;
  uint8_t desc[124];
};

/**
 * Run the server role (started before any WSPStartupEx of this process, with DPSAN_CONFIG set):
 * start up, listen on ip:port, write "ready\n" to ready_fd, serve until a kQuit Hello, then wait
 * (20 s at most) for EOF on sync_fd, the client's sign that it has cleaned up, and clean up: the
 * server's port outlives the client's. @return the process exit status.
 */
int serve(uint32_t ip, uint16_t port, int ready_fd, int sync_fd);

/**
 * Client side: connect to the server (retrying for up to 20 s while it is not reachable yet),
 * send `hello` and, for kRdma, read the reply. @return "" with *s connected, or what failed.
 */
std::string open_run(MiniSwitch& sw, uint32_t server_ip, uint16_t port, uint32_t client_ip,
                     const Hello& hello, SOCKET* s, RdmaReply* reply);

}  // namespace dpsan::perf
