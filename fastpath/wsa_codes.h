/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The WSA error codes the fast path completes operations with. fastpath/ includes no Winsock
 * header (it calls nothing above it), so the values are spelled here once.
 */
#pragma once

#include <cstdint>

namespace dpsan::fastpath {

inline constexpr uint32_t kWsaAborted = 995;        ///< WSA_OPERATION_ABORTED
inline constexpr uint32_t kWsaInval = 10022;        ///< WSAEINVAL
inline constexpr uint32_t kWsaMsgSize = 10040;      ///< WSAEMSGSIZE
inline constexpr uint32_t kWsaConnAborted = 10053;  ///< WSAECONNABORTED
inline constexpr uint32_t kWsaConnReset = 10054;    ///< WSAECONNRESET
inline constexpr uint32_t kWsaNoBufs = 10055;       ///< WSAENOBUFS
inline constexpr uint32_t kWsaNotConn = 10057;      ///< WSAENOTCONN

}  // namespace dpsan::fastpath
