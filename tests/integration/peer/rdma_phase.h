/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * dpsan_peer's RDMA phase (--rdma), run on connection 0 once the message exchange is over:
 * the listening end registers a 1 MiB region for remote access (WSPRegisterRdmaMemory) and
 * sends its descriptor as a message; the connecting end writes 1 B to 1 MiB into it
 * (WSPRdmaWrite), reads each size back (WSPRdmaRead) and compares, then says "done"; the
 * listening end checks its region holds the last write (R42-R44). Extension functions come
 * through SIO_GET_EXTENSION_FUNCTION_POINTER (R54). Poll-mode operations, each bounded to 30 s.
 */
#pragma once

#include <string>

#include <dpsan/ws2san.h>
#include <dpsan/ws2spi.h>

namespace dpsan::itest {

/** Listening end. Returns when the peer has closed the connection. @return "" or what failed. */
std::string rdma_target(const WSPPROC_TABLE& proc, LPFN_WSPREGISTERMEMORY reg, SOCKET s);
/** Connecting end. @return "" or what failed. */
std::string rdma_initiator(const WSPPROC_TABLE& proc, LPFN_WSPREGISTERMEMORY reg, SOCKET s);

}  // namespace dpsan::itest
