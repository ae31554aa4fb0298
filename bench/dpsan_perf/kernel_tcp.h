/* SPDX-License-Identifier: BSD-3-Clause */
/** @file The baseline: kernel TCP over loopback with TCP_NODELAY, same sizes, two threads. */
#pragma once

#include "results.h"

namespace dpsan::perf {

Result tcp_pingpong(uint32_t size, double seconds);
Result tcp_stream(uint32_t size, double seconds);

}  // namespace dpsan::perf
