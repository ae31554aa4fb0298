/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Test-only entry points of the provider, for white-box tests that link the static library.
 * Not in any SPI table and not exported from libdpsan.so (libdpsan.map).
 */
#pragma once

#include <dpsan/ws2san.h>

#include "fastpath/rdma_test_hook.h"

namespace dpsan::spi {

/**
 * Run `t` through the receive path of the connection of socket `s` as a frame from its peer
 * (fastpath/rdma_test_hook.h). Blocks until the owning core has handled it.
 * @return 0, or a WSA code (WSAENOTSOCK, WSAENOTCONN, WSAEINVAL for a frame decode() refuses).
 */
int test_inject_frame(SOCKET s, fastpath::TestFrame* t);

}  // namespace dpsan::spi
