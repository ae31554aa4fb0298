/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Publication of completions into the switch's WSAOVERLAPPED, and the notifier record.
 *
 * OvView mirrors the WSAOVERLAPPED layout of <dpsan/ws2spi.h> (spi-adapter static_asserts that
 * the two agree) so that the fast path needs no header from above it.
 *
 * Publication order (spec section 4), the labelled pair OV-R / OV-A:
 *   OV-R (writer): Offset, OffsetHigh, then InternalHigh, then a release store to Internal.
 *   OV-A (reader, ov_read_result): acquire load of Internal, then the other fields.
 */
#pragma once

#include <atomic>
#include <cstdint>

#include "socket_link.h"

namespace dpsan::fastpath {

struct OvView {
  uintptr_t internal;
  uintptr_t internal_high;
  uint32_t offset;
  uint32_t offset_high;
  void* h_event;
};

inline constexpr uintptr_t kOvInProgress = 0x103;  // WSS_OPERATION_IN_PROGRESS
inline constexpr uintptr_t kOvDone = 0;            // any value but kOvInProgress (spec 4)

/** True when the switch asked for no upcall (hEvent low bit set, R34). */
inline bool ov_poll_mode(const OvView* ov) {
  return (reinterpret_cast<uintptr_t>(ov->h_event) & 1u) != 0;
}

/** Mark an accepted operation pending (R33). Called by the SPI thread before it is queued. */
inline void ov_start(OvView* ov) {
  ov->offset = 0;
  ov->offset_high = 0;
  ov->internal_high = 0;
  std::atomic_ref<uintptr_t>(ov->internal).store(kOvInProgress, std::memory_order_release);
}

/** Poll mode: write the result in place. OV-R pairs with OV-A in ov_is_done(). */
inline void ov_publish_in_place(OvView* ov, uint32_t error, uint32_t bytes, uint32_t flags) {
  ov->offset = flags;
  ov->offset_high = error;
  ov->internal_high = bytes;
  std::atomic_ref<uintptr_t>(ov->internal).store(kOvDone, std::memory_order_release);  // OV-R
}

/** OV-A: acquire load of Internal; the other fields may be read once this returns true. */
inline bool ov_is_done(OvView* ov) {
  return std::atomic_ref<uintptr_t>(ov->internal).load(std::memory_order_acquire) != kOvInProgress;
}

/** What the notifier thread must do. Records are queued by value on an MPSC ring. */
struct NotifyRecord {
  enum Kind : uint32_t { kComplete = 1, kSignalEvent = 2, kCloseHandle = 3 };
  Kind kind;
  uint32_t error;   ///< kComplete: WSA code, 0 on success
  uint32_t bytes;   ///< kComplete: bytes transferred
  uint32_t unused = 0;
  SocketLink* link; ///< holds pending_upcalls until delivered
  OvView* ov;       ///< kComplete only
};
static_assert(sizeof(NotifyRecord) == 32);

}  // namespace dpsan::fastpath
