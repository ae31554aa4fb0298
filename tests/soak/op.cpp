/* SPDX-License-Identifier: BSD-3-Clause */
#include "op.h"

#include <string>

#include "mini_switch.h"
#include "violation.h"

namespace dpsan::soak {

namespace {

constexpr uint32_t kOpMagic = 0x4b414f53;  // "SOAK"
std::atomic<uint64_t> g_completions{0};

void hook(LPWSAOVERLAPPED ov, DWORD error) {
  auto* op = reinterpret_cast<Op*>(ov);
  g_completions.fetch_add(1, std::memory_order_relaxed);
  if (op->magic != kOpMagic) {
    violation("a completion for an overlapped the soak never posted");
    return;
  }
  op->error = error;
  uint32_t n = op->completions.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (op->in_flight.exchange(0, std::memory_order_acq_rel) != 1 || n != 1)
    violation("operation " + std::to_string(op->seq) + " completed " + std::to_string(n) +
              " times (status " + std::to_string(error) + ")");
}

}  // namespace

void install_completion_hook() { perf::MiniSwitch::on_complete = hook; }

uint64_t completions_seen() { return g_completions.load(std::memory_order_relaxed); }

void Op::arm(uint32_t seq_no, uint32_t bytes) {
  ov = WSAOVERLAPPED{};  // hEvent NULL: upcall mode
  magic = kOpMagic;
  error = 0;
  seq = seq_no;
  len = bytes;
  expect = Expect::kSuccess;
  completions.store(0, std::memory_order_relaxed);
  in_flight.store(1, std::memory_order_release);
  busy = true;
}

void Op::refused() {
  in_flight.store(0, std::memory_order_release);
  busy = false;
}

bool Op::done() const {
  return std::atomic_ref<ULONG_PTR>(const_cast<ULONG_PTR&>(ov.Internal)).load(std::memory_order_acquire) !=
         WSS_OPERATION_IN_PROGRESS;
}

bool Op::status_ok() const {
  switch (expect) {
    case Expect::kSuccess: return error == 0;
    case Expect::kClosed:
      return error == 0 || error == WSA_OPERATION_ABORTED || error == WSAECONNRESET ||
             error == WSAECONNABORTED;
    case Expect::kCleanup: return error == 0 || error == WSA_OPERATION_ABORTED;
    case Expect::kAborted: return error == WSA_OPERATION_ABORTED;
  }
  return false;
}

}  // namespace dpsan::soak
