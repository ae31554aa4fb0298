/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * WSAOVERLAPPED as the fast path sees it (fastpath::OvView): the layouts must agree, since the
 * poll cores publish completions straight into the switch's structure (spec section 4).
 */
#pragma once

#include <cstddef>

#include <dpsan/ws2spi.h>

#include "fastpath/completion.h"

namespace dpsan::spi {

static_assert(sizeof(WSAOVERLAPPED) == sizeof(fastpath::OvView));
static_assert(offsetof(WSAOVERLAPPED, Internal) == offsetof(fastpath::OvView, internal));
static_assert(offsetof(WSAOVERLAPPED, InternalHigh) == offsetof(fastpath::OvView, internal_high));
static_assert(offsetof(WSAOVERLAPPED, Offset) == offsetof(fastpath::OvView, offset));
static_assert(offsetof(WSAOVERLAPPED, OffsetHigh) == offsetof(fastpath::OvView, offset_high));
static_assert(offsetof(WSAOVERLAPPED, hEvent) == offsetof(fastpath::OvView, h_event));
static_assert(WSS_OPERATION_IN_PROGRESS == fastpath::kOvInProgress);

inline fastpath::OvView* ov_view(LPWSAOVERLAPPED ov) { return reinterpret_cast<fastpath::OvView*>(ov); }

}  // namespace dpsan::spi
