/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * One overlapped operation of the soak, accounted exactly once (R35). Operations run in upcall
 * mode (hEvent = NULL): every completion passes through the switch's
 * WPUCompleteOverlappedRequest, where the hook (install_completion_hook) counts it on the
 * notifier thread. A second completion, or a completion of an operation that is not in
 * flight, is a violation at once; the driving thread sees the first completion through the
 * switch's release store of Internal.
 */
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <dpsan/ws2spi.h>

namespace dpsan::soak {

/** Which completion statuses are right for an operation, given what happened around it. */
enum class Expect : uint8_t {
  kSuccess,  // normal traffic: status 0 and the full byte count
  kClosed,   // its socket (or the peer's) was closed: 0, aborted, reset or connection aborted
  kCleanup,  // the final cleanup came while it was running: 0 or WSA_OPERATION_ABORTED
  kAborted,  // it could not complete before the final cleanup: WSA_OPERATION_ABORTED only
};

struct Op {
  WSAOVERLAPPED ov{};  // first: the hook maps the overlapped back to its Op
  uint32_t magic = 0;
  std::atomic<uint32_t> in_flight{0};    // 1 from posting to the first completion
  std::atomic<uint32_t> completions{0};  // since the last posting (notifier thread)
  DWORD error = 0;                       // published by the switch's release store of Internal
  bool busy = false;                     // posted, not yet reaped by the driving thread
  Expect expect = Expect::kSuccess;
  uint32_t seq = 0;                      // message (or RDMA operation) number
  uint32_t len = 0;                      // bytes posted

  /** Prepares the overlapped for a new posting (driving thread, before the SPI call). */
  void arm(uint32_t seq_no, uint32_t bytes);
  /** The provider did not accept the posting: no completion may follow. */
  void refused();
  /** The driving thread has seen the completion (Internal no longer in progress). */
  bool done() const;
  /** Whether `error` is right for this operation's expectation. */
  bool status_ok() const;
};
static_assert(offsetof(Op, ov) == 0);

/** Routes MiniSwitch::on_complete to the accounting above. Call once, before startup. */
void install_completion_hook();

/** Completions seen by the hook, in total (any thread). */
uint64_t completions_seen();

}  // namespace dpsan::soak
