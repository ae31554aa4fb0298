/* SPDX-License-Identifier: BSD-3-Clause */
#include "engine.h"

#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <thread>

#include "mini_switch.h"

namespace dpsan::itest {

namespace {

constexpr uint32_t kSlotMagic = 0x51504e45;
std::atomic<uint64_t> g_double{0};   // completions beyond the operations posted on a slot
std::atomic<uint64_t> g_foreign{0};  // completions for an overlapped that is no slot of ours

/** One operation in flight: the overlapped comes first so the completion hook finds the slot. */
struct Slot {
  WSAOVERLAPPED ov{};
  uint32_t magic = kSlotMagic;
  std::atomic<uint32_t> posts{0};        // written by the application thread
  std::atomic<uint32_t> completions{0};  // written by the notifier thread (upcall mode)
  DWORD error = 0;                       // published by the switch's release store of Internal
  char* buf = nullptr;
  bool busy = false;
};
static_assert(offsetof(Slot, ov) == 0);

void hook(LPWSAOVERLAPPED ov, DWORD error) {
  auto* s = reinterpret_cast<Slot*>(ov);
  if (s->magic != kSlotMagic) {
    g_foreign.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  s->error = error;
  uint32_t n = s->completions.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (n > s->posts.load(std::memory_order_acquire)) g_double.fetch_add(1, std::memory_order_relaxed);
}

bool internal_done(const WSAOVERLAPPED& ov) {
  return std::atomic_ref<ULONG_PTR>(const_cast<ULONG_PTR&>(ov.Internal)).load(std::memory_order_acquire) !=
         WSS_OPERATION_IN_PROGRESS;
}

}  // namespace

void install_completion_hook() { perf::MiniSwitch::on_complete = hook; }

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

struct Engine::Conn {
  SOCKET s = INVALID_SOCKET;
  bool connector = false;
  int64_t index = -1;  // unknown on the listener side until the hello arrives
  std::unique_ptr<char[]> mem;
  std::unique_ptr<Slot[]> send, recv;
  uint32_t send_posted = 0, send_done = 0, recv_posted = 0, recv_done = 0;
  bool failed = false, ended = false, closed = false;
  bool kept = false;             // exchange over, left open for the caller (keep_first_open)
  bool done_send_reset = false;  // our DONE was answered by the peer's close (see on_result)
  Dir tx_dir() const { return connector ? Dir::kFromConnector : Dir::kFromListener; }
  Dir rx_dir() const { return connector ? Dir::kFromListener : Dir::kFromConnector; }
};

Engine::Engine(const WSPPROC_TABLE& proc, LPFN_WSPREGISTERMEMORY reg, const EngineOptions& opt)
    : proc_(proc), reg_(reg), opt_(opt), index_seen_(opt.conns, false),
      scratch_(new char[opt.stream.buffer_size()]) {
  if (opt_.window == 0) opt_.window = 1;
}

Engine::~Engine() { close_all(5000); }

std::string Engine::add(SOCKET s, bool connector, uint32_t index) {
  auto c = std::make_unique<Conn>();
  c->s = s;
  c->connector = connector;
  if (connector) c->index = index;
  const uint32_t w = opt_.window, b = opt_.stream.buffer_size();
  c->mem.reset(new char[size_t{2} * w * b]);
  c->send.reset(new Slot[w]);
  c->recv.reset(new Slot[w]);
  for (uint32_t i = 0; i < w; i++) {
    c->send[i].buf = c->mem.get() + size_t{i} * b;
    c->recv[i].buf = c->mem.get() + size_t{w + i} * b;
  }
  int err = 0;
  if (reg_(s, c->mem.get(), 2 * w * b, MEM_READWRITE, &err) == nullptr)
    return "WSPRegisterMemory: error " + std::to_string(err);
  conns_.push_back(std::move(c));
  t_.conns_added++;
  return "";
}

void Engine::violation(const std::string& v) {
  if (violations_.size() < 32) violations_.push_back(v);
  violation_count_++;
}

uint64_t Engine::violation_count() const {
  return violation_count_ + g_double.load() + g_foreign.load();
}

void Engine::fail(Conn& c, int err, const std::string& what) {
  if (!c.failed) {
    c.failed = true;
    t_.conns_failed++;
    if (!opt_.peer_death_expected)
      violation("conn " + std::to_string(c.index) + ": " + what + " failed with error " + std::to_string(err));
  }
  if (t_.first_error == 0) t_.first_error = err;
}

bool Engine::post_one(Conn& c, bool send, uint32_t seq) {
  Slot& sl = (send ? c.send : c.recv)[seq % opt_.window];
  sl.ov = WSAOVERLAPPED{};
  sl.ov.hEvent = opt_.poll_mode ? reinterpret_cast<WSAEVENT>(uintptr_t{1}) : nullptr;
  sl.error = 0;
  const uint32_t cap = opt_.stream.buffer_size();
  WSABUF wb{cap, sl.buf};
  if (send) {
    stream_fill(opt_.stream, static_cast<uint32_t>(c.index), c.tx_dir(), seq, sl.buf);
    wb.len = stream_size(opt_.stream, static_cast<uint32_t>(c.index), c.tx_dir(), seq);
  }
  // Counted before the call: the completion may arrive before the call returns.
  sl.posts.fetch_add(1, std::memory_order_release);
  int err = 0;
  DWORD flags = 0;
  int rc = send ? proc_.lpWSPSend(c.s, &wb, 1, nullptr, 0, &sl.ov, nullptr, nullptr, &err)
                : proc_.lpWSPRecv(c.s, &wb, 1, nullptr, &flags, &sl.ov, nullptr, nullptr, &err);
  if (rc == SOCKET_ERROR && err == WSA_IO_PENDING) {
    sl.busy = true;
    t_.ops_posted++;
    (send ? c.send_posted : c.recv_posted)++;
    return true;
  }
  sl.posts.fetch_sub(1, std::memory_order_release);
  if (rc == 0) {  // dpsan pends every accepted transfer (Decision 3)
    violation("conn " + std::to_string(c.index) + ": a transfer completed synchronously");
    return false;
  }
  fail(c, err, send ? "WSPSend" : "WSPRecv");
  return false;
}

void Engine::post(Conn& c) {
  const uint32_t m = opt_.stream.messages, w = opt_.window;
  while (!c.failed && c.recv_posted <= m && c.recv_posted - c.recv_done < w)
    if (!post_one(c, false, c.recv_posted)) return;
  if (c.index < 0) return;  // a listener sends once it knows the connection's number
  while (!c.failed && c.send_posted < m && c.send_posted - c.send_done < w)
    if (!post_one(c, true, c.send_posted)) return;
  // DONE goes once everything of ours was delivered and everything of the peer's arrived.
  if (!c.failed && c.send_posted == m && c.send_done == m && c.recv_done >= m) post_one(c, true, m);
}

void Engine::on_result(Conn& c, bool send, uint32_t seq, int err, uint32_t bytes, const char* buf) {
  const uint32_t m = opt_.stream.messages;
  // The peer closes (a reset) once it has our DONE and its own DONE was delivered, possibly
  // before it acknowledged ours. Our DONE failing that way is a clean end if the peer's DONE
  // arrives too: the peer sends DONE only after it has all our data. Checked at the end.
  if (err != 0 && send && seq == m && (err == WSAECONNRESET || err == WSAECONNABORTED)) {
    c.done_send_reset = true;
    return;
  }
  if (err != 0) {
    t_.ops_failed++;
    int64_t now = monotonic_ns();
    if (t_.first_error_ns == 0) t_.first_error_ns = now;
    t_.last_error_ns = now;
    fail(c, err, std::string(send ? "send" : "receive") + " of message " + std::to_string(seq));
    return;
  }
  if (send) {
    if (seq < m) {
      t_.msgs_tx++;
      t_.bytes_tx += bytes;
    }
    return;
  }
  if (c.index < 0) {
    uint32_t idx = 0;
    if (seq != 0 || !stream_hello_conn(buf, bytes, &idx) || idx >= opt_.conns) {
      violation("accepted connection: the first message is no valid hello");
      c.failed = true;
      t_.conns_failed++;
      return;
    }
    if (index_seen_[idx]) {
      violation("connection " + std::to_string(idx) + " said hello twice");
      c.failed = true;
      t_.conns_failed++;
      return;
    }
    index_seen_[idx] = true;
    c.index = idx;
  }
  std::string bad = stream_check(opt_.stream, static_cast<uint32_t>(c.index), c.rx_dir(), seq, buf,
                                 bytes, scratch_.get());
  if (!bad.empty()) {
    violation(bad);
    return;
  }
  if (seq < m) {
    t_.msgs_rx++;
    t_.bytes_rx += bytes;
  }
}

bool Engine::reap(Conn& c, bool send) {
  uint32_t& done = send ? c.send_done : c.recv_done;
  const uint32_t posted = send ? c.send_posted : c.recv_posted;
  bool moved = false;
  // In posting order: message k belongs to the k-th receive posted (R40).
  while (done < posted) {
    Slot& sl = (send ? c.send : c.recv)[done % opt_.window];
    if (!internal_done(sl.ov)) break;
    int err = 0;
    uint32_t bytes = 0;
    if (opt_.poll_mode) {
      DWORD n = 0, flags = 0;
      if (c.closed) {
        err = WSA_OPERATION_ABORTED;  // a closed descriptor answers WSAENOTSOCK (R27)
      } else if (!proc_.lpWSPGetOverlappedResult(c.s, &sl.ov, &n, FALSE, &flags, &err)) {
        if (err == WSA_IO_INCOMPLETE) break;
      } else {
        err = 0;
        bytes = n;
      }
    } else {
      err = static_cast<int>(sl.error);
      bytes = static_cast<uint32_t>(sl.ov.InternalHigh);
      if (sl.completions.load(std::memory_order_acquire) == 0)
        violation("an overlapped was completed without a WPUCompleteOverlappedRequest");
    }
    sl.busy = false;
    done++;
    t_.ops_completed++;
    moved = true;
    if (!c.closed) on_result(c, send, done - 1, err, bytes, sl.buf);
  }
  return moved;
}

bool Engine::step_conn(Conn& c) {
  if (c.ended) return false;
  bool moved = reap(c, false);
  moved |= reap(c, true);
  if (c.closed) {
    c.ended = c.send_done == c.send_posted && c.recv_done == c.recv_posted;
    return moved;
  }
  post(c);
  const uint32_t m = opt_.stream.messages;
  if (!c.failed && c.send_done == m + 1 && c.recv_done == m + 1) {
    int err = 0;
    c.kept = opt_.keep_first_open && c.index == 0;
    if (c.kept)
      kept_[c.connector] = c.s;
    else
      proc_.lpWSPCloseSocket(c.s, &err);
    c.closed = c.ended = true;
    t_.conns_done++;
    return true;
  }
  if (c.failed && c.send_done == c.send_posted && c.recv_done == c.recv_posted) c.ended = true;
  return moved;
}

bool Engine::step() {
  bool moved = false;
  for (auto& c : conns_) moved |= step_conn(*c);
  return moved;
}

bool Engine::finished() const {
  for (auto& c : conns_)
    if (!c->ended) return false;
  return true;
}

uint64_t Engine::pending_ops() const { return t_.ops_posted - t_.ops_completed; }

void Engine::close_all(int timeout_ms) {
  for (auto& c : conns_) {
    if (c->closed && !c->kept) continue;
    int err = 0;
    proc_.lpWSPCloseSocket(c->s, &err);
    c->closed = true;
    c->kept = false;
  }
  kept_[0] = kept_[1] = INVALID_SOCKET;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!finished() && std::chrono::steady_clock::now() < end) {
    if (!step()) usleep(200);
  }
  if (!finished()) violation("operations still pending " + std::to_string(timeout_ms) + " ms after close");
}

EngineTotals Engine::totals() const {
  EngineTotals t = t_;
  t.double_completions = g_double.load() + g_foreign.load();
  return t;
}

}  // namespace dpsan::itest
