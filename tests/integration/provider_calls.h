/* SPDX-License-Identifier: BSD-3-Clause */
/** @file Calls the integration tests make of the provider through a MiniSwitch. */
#pragma once

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <dpsan/dpsan_stats.h>

#include "mini_switch.h"

namespace dpsan::test {

/** An extension function (WSAID_*) of the provider, or nullptr. */
inline void* ext_fn(const perf::MiniSwitch& sw, GUID id) { return sw.extension(id); }

/** The provider's counters (all zero when it is not running). */
inline DPSAN_STATS stats(const perf::MiniSwitch& sw) {
  DPSAN_STATS st;
  sw.stats(&st);
  return st;
}

/** An IPv4 address in network order. */
inline uint32_t ip(const char* a) {
  in_addr v{};
  inet_pton(AF_INET, a, &v);
  return v.s_addr;
}

/**
 * WSPStartupEx, on `config` if not empty (a DPSAN_CONFIG file for this startup only).
 * @return 0 or the WSA code.
 */
inline int startup_with(perf::MiniSwitch& sw, const std::string& config) {
  if (config.empty()) return sw.startup();
  std::string path = "/tmp/dpsan-itest-" + std::to_string(getpid()) + ".toml";
  std::ofstream(path) << config;
  setenv("DPSAN_CONFIG", path.c_str(), 1);
  int rc = sw.startup();
  unlink(path.c_str());
  unsetenv("DPSAN_CONFIG");
  return rc;
}

/**
 * startup_with(`config`), then a connected pair: the server listens on `srv_ip`:`port`, the
 * client is bound to `cli_ip`.
 * @return "" on success, "startup: <WSA code>", or what connect_pair says failed.
 */
inline std::string start_and_connect(perf::MiniSwitch& sw, const std::string& config, uint16_t port,
                                     SOCKET* cli, SOCKET* srv, const char* cli_ip,
                                     const char* srv_ip) {
  if (int rc = startup_with(sw, config); rc != 0) return "startup: " + std::to_string(rc);
  return sw.connect_pair(port, cli, srv, ip(srv_ip), ip(cli_ip));
}

/** The hEvent of an overlapped operation the caller polls for (no event, no upcall). */
inline const WSAEVENT kPoll = reinterpret_cast<WSAEVENT>(uintptr_t{1});

/** Has the provider published `ov`'s completion? (acquire: its other fields are then final) */
inline bool ov_done(WSAOVERLAPPED& ov) {
  return std::atomic_ref<ULONG_PTR>(ov.Internal).load(std::memory_order_acquire) !=
         WSS_OPERATION_IN_PROGRESS;
}

/** Poll `ov` until it completes or `ms` milliseconds pass. @return whether it completed. */
inline bool wait_done(WSAOVERLAPPED& ov, int ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!ov_done(ov)) {
    if (std::chrono::steady_clock::now() > end) return false;
    usleep(50);
  }
  return true;
}

/**
 * A receive of `rb` on `rx`, then a send of `sb` on `tx`, both overlapped and polled for
 * (`rov` and `sov` are reset). A fatal failure unless both are pending.
 */
inline void post_recv_then_send(perf::MiniSwitch& sw, SOCKET rx, WSABUF& rb, WSAOVERLAPPED& rov,
                                SOCKET tx, WSABUF& sb, WSAOVERLAPPED& sov) {
  rov = sov = WSAOVERLAPPED{};
  rov.hEvent = sov.hEvent = kPoll;
  DWORD flags = 0, got = 0;
  int e = 0;
  ASSERT_EQ(sw.proc().lpWSPRecv(rx, &rb, 1, &got, &flags, &rov, nullptr, nullptr, &e), SOCKET_ERROR);
  ASSERT_EQ(e, WSA_IO_PENDING);
  ASSERT_EQ(sw.proc().lpWSPSend(tx, &sb, 1, &got, 0, &sov, nullptr, nullptr, &e), SOCKET_ERROR);
  ASSERT_EQ(e, WSA_IO_PENDING);
}

/**
 * An RDMA write or read (`fn`: WSPRdmaWrite or WSPRdmaRead, one signature) of `b` from `s` at
 * `offset` in the region `desc` names, overlapped and polled for (`ov` is reset). A fatal
 * failure unless it is pending.
 */
inline void post_rdma(LPFN_WSPRDMAWRITE fn, SOCKET s, WSABUFEX b, char* desc, DWORD desc_len,
                      DWORD offset, WSAOVERLAPPED& ov) {
  ov = WSAOVERLAPPED{};
  ov.hEvent = kPoll;
  DWORD got = 0;
  int e = 0;
  ASSERT_EQ(fn(s, &b, 1, desc, desc_len, offset, &got, 0, &ov, nullptr, nullptr, &e), SOCKET_ERROR);
  ASSERT_EQ(e, WSA_IO_PENDING);
}

/**
 * The seed of a fault-injection run: DPSAN_FAULT_SEED if set, else one from the clock. Printed,
 * so that a failing run can be replayed.
 */
inline unsigned long fault_seed() {
  const char* env = std::getenv("DPSAN_FAULT_SEED");
  unsigned long seed =
      env ? std::strtoul(env, nullptr, 10)
          : static_cast<unsigned long>(
                std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
  std::printf("fault seed %lu (DPSAN_FAULT_SEED=%lu replays it)\n", seed, seed);
  return seed;
}

}  // namespace dpsan::test
