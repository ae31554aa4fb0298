/* SPDX-License-Identifier: BSD-3-Clause */
#include "op.h"

#include <string>

#include "mini_switch.h"
#include "violation.h"

namespace dpsan::soak {

namespace {

constexpr uint32_t kOpMagic = 0x4b414f53;  // "SOAK"
std::atomic<uint64_t> g_completions{0};
void (*g_others)(LPWSAOVERLAPPED, DWORD) = nullptr;
std::atomic<uint64_t> g_double_at{0}, g_status_at{0};  // self-tests (0: off)

void hook(LPWSAOVERLAPPED ov, DWORD error) {
  auto* op = reinterpret_cast<Op*>(ov);
  if (op->magic != kOpMagic && g_others) return g_others(ov, error);
  uint64_t nth = g_completions.fetch_add(1, std::memory_order_relaxed) + 1;
  if (nth == g_status_at.load(std::memory_order_relaxed)) error = WSAECONNRESET;  // self-test
  if (op->magic != kOpMagic) {
    violation("a completion for an overlapped the soak never posted");
    return;
  }
  op->error = error;
  uint32_t n = op->completions.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (op->in_flight.exchange(0, std::memory_order_acq_rel) != 1 || n != 1)
    violation("operation " + std::to_string(op->seq) + " completed " + std::to_string(n) +
              " times (status " + std::to_string(error) + ")");
  // Self-test: the provider upcalls twice for one overlapped (the check above must see it).
  uint64_t twice = nth;
  if (g_double_at.compare_exchange_strong(twice, 0)) hook(ov, error);
}

}  // namespace

void install_completion_hook(void (*others)(LPWSAOVERLAPPED, DWORD)) {
  g_others = others;
  perf::MiniSwitch::on_complete = hook;
}

const char* expect_name(Expect x) {
  switch (x) {
    case Expect::kSuccess: return "success";
    case Expect::kClosed: return "success or a close/reset status";
    case Expect::kCleanup: return "success or WSA_OPERATION_ABORTED";
    case Expect::kAborted: return "WSA_OPERATION_ABORTED";
  }
  return "?";
}

void self_test_faults(uint64_t double_at, uint64_t status_at) {
  g_double_at.store(double_at);
  g_status_at.store(status_at);
}

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
