/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Shared argument checks and the error return conventions of the SPI (spec section 0): entry
 * points return SOCKET_ERROR / INVALID_SOCKET with a WSA code in *lpErrno.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>

#include <dpsan/ws2san.h>

#include "control/call_guard.h"
#include "control/instance.h"
#include "fastpath/rdma_region.h"

namespace dpsan::spi {

inline int fail(LPINT lpErrno, int code) {
  if (lpErrno) *lpErrno = code;
  return SOCKET_ERROR;
}

inline SOCKET fail_socket(LPINT lpErrno, int code) {
  if (lpErrno) *lpErrno = code;
  return INVALID_SOCKET;
}

/** The code for a call that found no live instance: stopping -> WSAENETDOWN. */
inline int no_instance_code(const control::CallGuard& g, int otherwise) {
  return g.stopping() ? WSAENETDOWN : otherwise;
}

/** Sleep a little while waiting for another thread (slow paths only). */
inline void nap_us(long us) {
  timespec ts{0, us * 1000};
  nanosleep(&ts, nullptr);
}

/**
 * Is [p, p+len) mapped user memory? (WSAEFAULT otherwise.) Uses mincore, which fails with
 * ENOMEM for an unmapped page. Slow path only: it is a system call.
 */
bool user_range_mapped(const void* p, size_t len);

/** A sockaddr_in from (name, namelen), or nullptr if too short, NULL or not AF_INET. */
const sockaddr_in* as_sockaddr_in(const struct sockaddr* name, int namelen);

/**
 * The RDMA descriptor a switch passes back to WSPRdmaWrite/WSPRdmaRead: a copy of what the
 * peer's WSPRegisterRdmaMemory wrote, or false if (p, len) cannot be one (NULL, wrong length,
 * wrong magic). Its fields are the peer's to check (fastpath/rdma_region.h). Fuzzed by
 * fuzz_spi_decode.
 */
bool read_rdma_descriptor(const void* p, DWORD len, fastpath::RdmaDescriptor* d);

/** The served IPv4 address of the instance (network order). */
/** The local address a connection to `dst` uses when its socket is bound to none (R52). */
inline uint32_t source_ip(control::Instance* inst, uint32_t dst) {
  return control::source_ip_for(inst->config(), dst);
}

/** Limits the provider reports through WSPGetSockOpt (README "Limits"). */
inline constexpr DWORD kMaxMsgSize = 1u << 20;       ///< SO_MAX_MSG_SIZE: 1 MiB
inline constexpr DWORD kMaxRdmaSize = 16u << 20;     ///< SO_MAX_RDMA_SIZE: 16 MiB
inline constexpr DWORD kRdmaThreshold = 64u << 10;   ///< SO_RDMA_THRESHOLD_SIZE: 64 KiB

}  // namespace dpsan::spi
