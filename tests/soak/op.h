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

/**
 * Routes MiniSwitch::on_complete to the accounting above. Call once, before startup.
 * `others` takes every completion that is not a soak Op (the memif mode's message engine has
 * its own accounting); without it such a completion is a violation.
 */
void install_completion_hook(void (*others)(LPWSAOVERLAPPED, DWORD) = nullptr);

/** What `x` allows, for violation texts. */
const char* expect_name(Expect x);

/**
 * Self-tests of the checks: the double_at-th completion seen is delivered twice, and the
 * status_at-th arrives as WSAECONNRESET instead of its real status (0: off). Before startup.
 */
void self_test_faults(uint64_t double_at, uint64_t status_at);

/** Completions seen by the hook, in total (any thread). */
uint64_t completions_seen();

}  // namespace dpsan::soak
