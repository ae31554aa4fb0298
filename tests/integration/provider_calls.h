/* SPDX-License-Identifier: BSD-3-Clause */
/** @file Two calls the integration tests make of the provider through a MiniSwitch. */
#pragma once

#include <dpsan/dpsan_stats.h>

#include "mini_switch.h"

namespace dpsan::test {

/** An extension function (WSAID_*) of the provider, or nullptr. */
inline void* ext_fn(perf::MiniSwitch& sw, GUID id) {
  void* fn = nullptr;
  DWORD got = 0;
  int e = 0;
  sw.proc().lpWSPIoctl(0, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof id, &fn, sizeof fn, &got,
                       nullptr, nullptr, nullptr, &e);
  return fn;
}

/** The provider's counters (all zero when it is not running). */
inline DPSAN_STATS stats(perf::MiniSwitch& sw) {
  DPSAN_STATS st{};
  DWORD got = 0;
  int e = 0;
  sw.proc().lpWSPIoctl(0, SIO_DPSAN_GET_STATS, nullptr, 0, &st, sizeof st, &got, nullptr, nullptr,
                       nullptr, &e);
  return st;
}

}  // namespace dpsan::test
