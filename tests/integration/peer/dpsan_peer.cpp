/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * dpsan_peer: one end of a checked message exchange, driving the provider only through the
 * public SPI (WSPStartupEx, sockets, bind/listen/accept or connect, overlapped send/receive on
 * registered memory) with the minimal switch of bench/dpsan_perf.
 *
 *   dpsan_peer --listen 198.18.0.1:5000 --conns 4 --messages 1000
 *   dpsan_peer --connect 198.18.0.1:5000 --conns 4 --messages 1000
 *   dpsan_peer --both 127.0.0.1:5000 ...      both ends in this process (the loopback default)
 *
 * With --rdma, connection 0 then carries the RDMA phase of rdma_phase.h (writes and reads of
 * 1 B to 1 MiB into the listening end's registered region, each checked).
 *
 * With --rdma-links N --rdma-connect IP:PORT (connecting side), N more connections are RDMA
 * targets for dpsan-soak's memif mode (tests/soak/rdma_wire.h): each registers a region for
 * remote access, checks every RDMA write the soak announces in it (sequence number, size,
 * checksum; R44), and ends as the soak's plan says: gracefully, by the soak's abrupt close or
 * final WSPCleanup (its receives must then end with a close/reset status, R15, R29), or by
 * its own abrupt close (R25).
 *
 * The configuration comes from DPSAN_CONFIG as for any switch. Both ends must be given the
 * same --conns, --messages, --min-size, --max-size and --seed. Every connection carries
 * --messages messages each way (stream.h says what they hold); each end checks that every
 * message arrived exactly once, intact and in order, and that every operation it started
 * completed exactly once. It prints one line on stdout:
 *
 *   dpsan_peer result=ok role=listen conns=4 conns_done=4 ... violations=0 elapsed_ms=812 ...
 *
 * (key=value pairs; README "Two processes over memif" lists them) and exits 0 when the
 * result is ok, 1 on a violation, 2 when --timeout-s ran out, 3 when set-up failed.
 */
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <dpsan/dpsan_stats.h>

#include "../../soak/rdma_wire.h"
#include "engine.h"
#include "mini_switch.h"
#include "rdma_phase.h"
#include "session.h"
#include "stream.h"

using namespace dpsan::itest;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string listen, connect, both, bind, rdma_connect;
  uint32_t rdma_links = 0, rdma_max = 1u << 20;
  uint32_t conns = 1, messages = 100, min_size = 1, max_size = 65536, window = 4;
  uint32_t parallel_connects = 16;
  uint64_t seed = 1;
  double timeout_s = 60;
  bool poll = false, verbose = false, rdma = false;
  int ready_fd = -1;
};

enum Exit { kOk = 0, kViolation = 1, kTimeout = 2, kSetup = 3 };

struct Outcome {
  const char* result = "ok";
  std::string error;  // set-up failure
  unsigned connect_retries = 0;
  DPSAN_STATS stats{};
  bool have_stats = false;
};

struct TargetTotals {
  uint64_t links = 0, ended = 0, notes = 0, bytes = 0, ops = 0, closed_by_soak = 0, own_closes = 0;
  uint64_t violations = 0;
  std::string first;
  uint64_t resets = 0, aborts = 0, eofs = 0;  // how the soak's closes and cleanups arrived
  unsigned connect_retries = 0;
};
TargetTotals g_targets;
std::atomic<uint64_t> g_target_double{0};

void print_summary(const Args& a, const char* role, const Outcome& o, const EngineTotals& t,
                   uint64_t violations, int64_t elapsed_ms) {
  std::printf(
      "dpsan_peer result=%s role=%s conns=%u conns_done=%llu conns_failed=%llu msgs_tx=%llu "
      "msgs_rx=%llu bytes_tx=%llu bytes_rx=%llu ops_posted=%llu ops_completed=%llu ops_failed=%llu "
      "double_completions=%llu violations=%llu connect_retries=%u first_error=%d "
      "first_error_mono_ns=%lld last_error_mono_ns=%lld elapsed_ms=%lld",
      o.result, role, a.conns, (unsigned long long)t.conns_done, (unsigned long long)t.conns_failed,
      (unsigned long long)t.msgs_tx, (unsigned long long)t.msgs_rx, (unsigned long long)t.bytes_tx,
      (unsigned long long)t.bytes_rx, (unsigned long long)t.ops_posted,
      (unsigned long long)t.ops_completed, (unsigned long long)t.ops_failed,
      (unsigned long long)t.double_completions, (unsigned long long)violations, o.connect_retries,
      t.first_error, (long long)t.first_error_ns, (long long)t.last_error_ns, (long long)elapsed_ms);
  if (o.have_stats)
    std::printf(" ops_in_flight=%llu mbufs_in_use=%llu connections=%llu retransmits=%llu "
                "drops_bad_packet=%llu drops_duplicate=%llu",
                (unsigned long long)o.stats.ops_in_flight, (unsigned long long)o.stats.mbufs_in_use,
                (unsigned long long)o.stats.connections, (unsigned long long)o.stats.retransmits,
                (unsigned long long)o.stats.drops_bad_packet,
                (unsigned long long)o.stats.drops_duplicate);
  if (a.rdma_links)
    std::printf(" rdma_links=%llu rdma_links_ended=%llu rdma_notes_checked=%llu rdma_bytes_checked=%llu "
                "rdma_target_ops=%llu rdma_closed_by_soak=%llu rdma_own_closes=%llu rdma_double_completions=%llu "
                "rdma_soak_close_resets=%llu rdma_soak_close_aborts=%llu rdma_soak_close_eofs=%llu rdma_connect_retries=%u",
                (unsigned long long)g_targets.links, (unsigned long long)g_targets.ended,
                (unsigned long long)g_targets.notes, (unsigned long long)g_targets.bytes,
                (unsigned long long)g_targets.ops, (unsigned long long)g_targets.closed_by_soak,
                (unsigned long long)g_targets.own_closes, (unsigned long long)g_target_double.load(),
                (unsigned long long)g_targets.resets, (unsigned long long)g_targets.aborts,
                (unsigned long long)g_targets.eofs, g_targets.connect_retries);
  if (!o.error.empty()) std::printf(" error=\"%s\"", o.error.c_str());
  std::printf("\n");
  std::fflush(stdout);
}

// ---- RDMA targets for dpsan-soak's memif mode (--rdma-links; protocol: tests/soak/rdma_wire.h)

namespace wire = dpsan::soak::rdma_wire;
constexpr uint32_t kTargetMagic = 0x54475452;  // "RTGT": an operation of a Target, not the engine's

/** One operation of a Target, counted in the completion hook (exactly once, R35). */
struct TOp {
  WSAOVERLAPPED ov{};  // first, and magic next, as in the engine's slots: the hook tells them apart
  uint32_t magic = kTargetMagic;
  std::atomic<uint32_t> completions{0};
  DWORD error = 0;
  bool busy = false;
  void arm() {
    ov = WSAOVERLAPPED{};  // hEvent NULL: upcall mode, through the hook
    completions.store(0, std::memory_order_relaxed);
    error = 0;
    busy = true;
  }
  bool done() const {
    return std::atomic_ref<ULONG_PTR>(const_cast<ULONG_PTR&>(ov.Internal)).load(std::memory_order_acquire) !=
           WSS_OPERATION_IN_PROGRESS;
  }
};
static_assert(offsetof(TOp, ov) == 0);

void (*g_engine_hook)(LPWSAOVERLAPPED, DWORD) = nullptr;

void target_hook(LPWSAOVERLAPPED ov, DWORD error) {
  auto* op = reinterpret_cast<TOp*>(ov);
  if (op->magic != kTargetMagic) return g_engine_hook(ov, error);
  op->error = error;
  if (op->completions.fetch_add(1, std::memory_order_acq_rel) != 0) g_target_double.fetch_add(1);
}

bool close_status(DWORD e) {
  return e == 0 || e == WSA_OPERATION_ABORTED || e == WSAECONNRESET || e == WSAECONNABORTED;
}

/** The target end of one soak RDMA link. One application thread. */
class Target {
 public:
  Target(const WSPPROC_TABLE& proc, LPFN_WSPREGISTERMEMORY reg, uint32_t rdma_max, TargetTotals* t)
      : proc_(proc), reg_(reg), max_(rdma_max), t_(t), region_(new char[rdma_max + wire::kPad]()),
        ctl_(new char[4 * wire::kMaxMsg]()), scratch_(new char[std::max(rdma_max, kHeaderBytes)]) {}
  std::string start(SOCKET s);
  void step();
  bool ended() const { return state_ == kDown; }

 private:
  enum State { kWaitPlan, kRun, kClosing, kDown };
  bool post_rx(int slot);
  void send_ctl(const wire::Ctl& c, const char* extra, uint32_t extra_len);
  void on_ctl(const char* buf, uint32_t n);
  void reap();
  void close_socket(bool own);
  void bad(const std::string& what);
  void refused(int e, const char* what);
  std::string where() const { return "rdma target (connection " + std::to_string(plan_.conn) + ")"; }

  const WSPPROC_TABLE& proc_;
  LPFN_WSPREGISTERMEMORY reg_;
  uint32_t max_;
  TargetTotals* t_;
  std::unique_ptr<char[]> region_, ctl_, scratch_;  // ctl_: receive slots 0-1, send slots 2-3
  SOCKET s_ = INVALID_SOCKET;
  State state_ = kWaitPlan;
  wire::Ctl plan_{};
  uint32_t next_ = 0;  // the next RDMA operation announced
  bool done_ = false;  // DONE arrived (graceful plan)
  Clock::time_point close_at_ = Clock::time_point::max();
  TOp op_[4];
};

void Target::bad(const std::string& what) {
  if (t_->violations++ == 0) t_->first = where() + ": " + what;
  std::fprintf(stderr, "dpsan_peer: violation: %s: %s\n", where().c_str(), what.c_str());
}

bool Target::post_rx(int slot) {
  TOp& op = op_[slot];
  op.arm();
  WSABUF wb{wire::kMaxMsg, ctl_.get() + slot * wire::kMaxMsg};
  DWORD flags = 0;
  int e = 0;
  if (proc_.lpWSPRecv(s_, &wb, 1, nullptr, &flags, &op.ov, nullptr, nullptr, &e) == 0 || e == WSA_IO_PENDING) {
    t_->ops++;
    return true;
  }
  op.busy = false;
  refused(e, "WSPRecv");
  return false;
}

/** Once the soak may close (every plan but the graceful one), a post refused with a
 *  close/reset status is that close arriving (R29): this end closes too. */
void Target::refused(int e, const char* what) {
  bool soak_may_close = state_ == kRun && plan_.plan != wire::kGraceful && plan_.plan != wire::kTargetAbrupt;
  if (!soak_may_close || !close_status(static_cast<DWORD>(e)) || e == 0)
    return bad(std::string(what) + " refused with " + std::to_string(e));
  t_->closed_by_soak++;
  (e == WSAECONNRESET ? t_->resets : t_->aborts)++;
  close_socket(false);
}

void Target::send_ctl(const wire::Ctl& c, const char* extra, uint32_t extra_len) {
  for (int slot = 2; slot < 4; slot++) {
    TOp& op = op_[slot];
    if (op.busy) continue;
    op.arm();
    char* buf = ctl_.get() + slot * wire::kMaxMsg;
    std::memcpy(buf, &c, sizeof c);
    if (extra_len) std::memcpy(buf + sizeof c, extra, extra_len);
    WSABUF wb{static_cast<ULONG>(sizeof c + extra_len), buf};
    int e = 0;
    if (proc_.lpWSPSend(s_, &wb, 1, nullptr, 0, &op.ov, nullptr, nullptr, &e) == 0 || e == WSA_IO_PENDING) {
      t_->ops++;
      return;
    }
    op.busy = false;
    return refused(e, "WSPSend");
  }
  bad("no free send slot (at most one ACK is due at a time)");
}

std::string Target::start(SOCKET s) {
  s_ = s;
  t_->links++;
  auto reg_rdma = [&] {
    void* fn = nullptr;
    GUID id = WSAID_REGISTERRDMAMEMORY;
    DWORD got = 0;
    int e = 0;
    proc_.lpWSPIoctl(0, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof id, &fn, sizeof fn, &got, nullptr,
                     nullptr, nullptr, &e);
    return reinterpret_cast<LPFN_WSPREGISTERRDMAMEMORY>(fn);
  }();
  alignas(8) char desc[wire::kMaxMsg - sizeof(wire::Ctl)];
  DWORD dlen = sizeof desc;
  int e = 0;
  if (!reg_rdma || !reg_(s, ctl_.get(), 4 * wire::kMaxMsg, MEM_READWRITE, &e) ||
      reg_rdma(s, region_.get(), max_ + wire::kPad, MEM_READWRITE, desc, &dlen, &e) != 0)
    return "rdma target: registration failed with " + std::to_string(e);
  if (!post_rx(0) || !post_rx(1)) return "rdma target: a receive was refused";
  wire::Ctl d{};
  d.kind = wire::kDesc;
  d.len = dlen;
  send_ctl(d, desc, dlen);
  return "";
}

/** NOTE(n): write n must be in the region already (R44), whole and the next one; then ACK(n). */
void Target::on_ctl(const char* buf, uint32_t n) {
  wire::Ctl c{};
  if (n < sizeof c || (std::memcpy(&c, buf, sizeof c), c.magic != wire::kMagic))
    return bad("a control message of " + std::to_string(n) + " bytes without its magic");
  if (state_ == kWaitPlan && c.kind == wire::kPlan) {
    plan_ = c;
    state_ = kRun;
    if (c.plan == wire::kTargetAbrupt) close_at_ = Clock::now() + std::chrono::milliseconds(c.close_ms);
    return;
  }
  if (state_ == kRun && c.kind == wire::kNote && c.seq == next_ && c.len <= max_ && c.off < wire::kPad) {
    StreamSpec spec{plan_.seed, 0xffffffffu, 1, max_};
    std::string e = stream_check(spec, plan_.conn, Dir::kFromConnector, c.seq, region_.get() + c.off, c.len,
                                 scratch_.get());
    if (!e.empty()) bad("RDMA write " + std::to_string(c.seq) + " in the region: " + e);
    next_++;
    t_->notes++;
    t_->bytes += c.len;
    wire::Ctl ack{};
    ack.kind = wire::kAck;
    ack.conn = plan_.conn;
    ack.seq = c.seq;
    return send_ctl(ack, nullptr, 0);
  }
  if (state_ == kRun && c.kind == wire::kDone && plan_.plan == wire::kGraceful && c.seq == next_) {
    done_ = true;
    return close_socket(true);  // the target closes first (rdma_wire.h)
  }
  bad("unexpected control message kind " + std::to_string(c.kind) + " seq " + std::to_string(c.seq) +
      " (next " + std::to_string(next_) + ")");
}

void Target::reap() {
  for (int slot = 0; slot < 4; slot++) {
    TOp& op = op_[slot];
    if (!op.busy || !op.done()) continue;
    op.busy = false;
    auto n = static_cast<uint32_t>(op.ov.InternalHigh);
    // Before this end closes, only the plan's end may fail an operation; after, R25 (aborted).
    bool graceful_run = plan_.plan == wire::kGraceful && state_ != kClosing;
    if (op.error != 0 && (graceful_run || !close_status(op.error)))
      bad("an operation completed with status " + std::to_string(op.error));
    if (slot >= 2 || state_ == kClosing || op.error != 0 || n == 0) {
      if (slot < 2 && state_ != kClosing) {  // the soak closed or cleaned up: survivor's receives end
        if (graceful_run) bad("the soak closed the connection before DONE");
        t_->closed_by_soak++;
        (op.error == WSAECONNRESET ? t_->resets : op.error == 0 ? t_->eofs : t_->aborts)++;
        close_socket(false);
      }
      continue;
    }
    on_ctl(ctl_.get() + slot * wire::kMaxMsg, n);
    if (state_ == kRun || state_ == kWaitPlan) post_rx(slot);  // a refusal may close: state says
  }
}

void Target::close_socket(bool own) {
  int e = 0;
  if (proc_.lpWSPCloseSocket(s_, &e) != 0) bad("WSPCloseSocket failed with " + std::to_string(e));
  s_ = INVALID_SOCKET;
  if (own) t_->own_closes++;
  state_ = kClosing;
}

void Target::step() {
  if (state_ == kDown) return;
  reap();
  if (state_ == kRun && Clock::now() >= close_at_) close_socket(true);  // abrupt: receives in flight
  if (state_ != kClosing) return;
  for (const TOp& op : op_)
    if (op.busy) return;
  state_ = kDown;
  t_->ended++;
}

/** The RDMA phase on connection 0 (both ends of it in --both mode). @return "" or what failed. */
std::string run_rdma(dpsan::perf::MiniSwitch& sw, Engine& engine, bool listening, bool connecting) {
  SOCKET target = engine.kept_socket(false), initiator = engine.kept_socket(true);
  if ((listening && target == INVALID_SOCKET) || (connecting && initiator == INVALID_SOCKET))
    return "rdma: connection 0 did not finish its message exchange";
  std::string target_err, initiator_err;
  std::thread t;
  if (listening) t = std::thread([&] { target_err = rdma_target(sw.proc(), sw.register_memory, target); });
  if (connecting) {
    initiator_err = rdma_initiator(sw.proc(), sw.register_memory, initiator);
    int e = 0;
    sw.proc().lpWSPCloseSocket(initiator, &e);  // the target waits for this close
  }
  if (t.joinable()) t.join();
  if (!initiator_err.empty()) return "rdma initiator: " + initiator_err;
  if (!target_err.empty()) return "rdma target: " + target_err;
  return "";
}

int run(const Args& a) {
  const bool listening = !a.listen.empty() || !a.both.empty();
  const bool connecting = !a.connect.empty() || !a.both.empty();
  const char* role = !a.both.empty() ? "both" : listening ? "listen" : "connect";
  const std::string& ep = !a.both.empty() ? a.both : listening ? a.listen : a.connect;
  Outcome o;
  EngineTotals none{};
  sockaddr_in addr{}, from{};
  if (!parse_endpoint(ep, &addr) || (!a.bind.empty() && !parse_endpoint(a.bind + ":1", &from))) {
    o.result = "error";
    o.error = "bad address " + ep + (a.bind.empty() ? "" : " or --bind " + a.bind);
    print_summary(a, role, o, none, 0, 0);
    return kSetup;
  }
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::milliseconds(static_cast<int64_t>(a.timeout_s * 1000));
  auto ms_since = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  };

  install_completion_hook();
  if (a.rdma_links) {  // the targets' operations are counted apart from the engine's
    g_engine_hook = dpsan::perf::MiniSwitch::on_complete;
    dpsan::perf::MiniSwitch::on_complete = target_hook;
  }
  dpsan::perf::MiniSwitch sw;
  if (int rc = sw.startup(); rc != 0) {
    o.result = "error";
    o.error = "WSPStartupEx returned " + std::to_string(rc);
    print_summary(a, role, o, none, 0, ms_since());
    return kSetup;
  }

  EngineOptions eo;
  eo.stream = StreamSpec{a.seed, a.messages, a.min_size, a.max_size};
  eo.conns = a.conns;
  eo.window = a.window;
  eo.poll_mode = a.poll;
  eo.keep_first_open = a.rdma;
  Engine engine(sw.proc(), sw.register_memory, eo);
  Acceptor acceptor(sw.proc());
  std::unique_ptr<Dialer> dialer, rdialer;
  std::vector<std::unique_ptr<Target>> targets;
  sockaddr_in raddr{};
  if (connecting && a.rdma_links && !parse_endpoint(a.rdma_connect, &raddr)) o.error = "bad --rdma-connect";
  int exit_code = kOk;

  if (listening) {
    o.error = acceptor.listen(addr, static_cast<int>(a.conns < 1024 ? a.conns : 1024));
    if (o.error.empty() && a.verbose) std::fprintf(stderr, "dpsan_peer: listening on %s\n", ep.c_str());
    if (o.error.empty() && a.ready_fd >= 0) {
      char r = 'R';
      if (write(a.ready_fd, &r, 1) != 1) o.error = "cannot write to --ready-fd";
      ::close(a.ready_fd);
    }
  }
  if (o.error.empty() && connecting) dialer = std::make_unique<Dialer>(sw.proc(), addr, from, a.conns, a.parallel_connects);
  if (o.error.empty() && connecting && a.rdma_links)
    rdialer = std::make_unique<Dialer>(sw.proc(), raddr, from, a.rdma_links, a.parallel_connects);

  size_t accepted = 0;
  bool timed_out = false;
  while (o.error.empty()) {
    auto now = Clock::now();
    if (now >= deadline) {
      timed_out = true;
      break;
    }
    bool moved = false;
    if (listening && accepted < a.conns) {
      o.error = acceptor.step();
      for (; accepted < acceptor.accepted().size() && o.error.empty(); accepted++) {
        if (accepted >= a.conns) break;
        o.error = engine.add(acceptor.accepted()[accepted], false, 0);
        moved = true;
      }
      if (accepted >= a.conns) acceptor.close();
    }
    if (dialer && o.error.empty()) {
      o.error = dialer->step(now);
      for (auto [i, s] : dialer->take_connected()) {
        if (o.error.empty()) o.error = engine.add(s, true, i);
        moved = true;
      }
    }
    if (rdialer && o.error.empty()) {
      o.error = rdialer->step(now);
      for (auto [i, s] : rdialer->take_connected()) {
        targets.push_back(std::make_unique<Target>(sw.proc(), sw.register_memory, a.rdma_max, &g_targets));
        if (o.error.empty()) o.error = targets.back()->start(s);
        moved = true;
      }
    }
    for (auto& t : targets) t->step();
    moved |= engine.step();
    bool all_in = (!listening || accepted >= a.conns) && (!dialer || dialer->done()) && (!rdialer || rdialer->done());
    bool targets_ended = std::all_of(targets.begin(), targets.end(), [](auto& t) { return t->ended(); });
    if (all_in && engine.finished() && targets_ended) break;
    if (!moved) usleep(50);  // the poll core needs the CPU more than we do on small machines
  }
  if (o.error.empty() && !timed_out && a.rdma) o.error = run_rdma(sw, engine, listening, connecting);
  if (dialer) o.connect_retries = dialer->retries();
  if (rdialer) g_targets.connect_retries = rdialer->retries();
  dialer.reset();
  rdialer.reset();
  acceptor.close();
  engine.close_all(5000);
  usleep(50 * 1000);  // a late second completion would show up now

  o.have_stats = sw.stats(&o.stats) == 0;
  EngineTotals t = engine.totals();
  uint64_t v = engine.violation_count() + g_targets.violations + g_target_double.load();
  for (const auto& s : engine.violations()) std::fprintf(stderr, "dpsan_peer: violation: %s\n", s.c_str());
  if (t.ops_posted != t.ops_completed) {
    std::fprintf(stderr, "dpsan_peer: violation: %llu operations never completed\n",
                 (unsigned long long)(t.ops_posted - t.ops_completed));
    v++;
  }
  if (!o.error.empty()) {
    o.result = "error";
    exit_code = kSetup;
  } else if (timed_out) {
    o.result = "timeout";
    exit_code = kTimeout;
  } else if (v != 0) {
    o.result = "violation";
    exit_code = kViolation;
  }
  if (int rc = sw.cleanup(); rc != 0) {
    std::fprintf(stderr, "dpsan_peer: WSPCleanup failed with %d\n", rc);
    if (exit_code == kOk) {
      o.result = "error";
      exit_code = kSetup;
    }
  }
  print_summary(a, role, o, t, v, ms_since());
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  CLI::App app{"dpsan_peer: one end of a checked dpsan message exchange (public SPI only)"};
  auto* l = app.add_option("--listen", a.listen, "listen on IP:PORT and accept --conns connections");
  auto* c = app.add_option("--connect", a.connect, "connect --conns connections to IP:PORT");
  auto* b = app.add_option("--both", a.both, "listen on IP:PORT and connect to it, in this process");
  l->excludes(c)->excludes(b);
  c->excludes(b);
  app.add_option("--bind", a.bind, "bind connecting sockets to this local IP first");
  app.add_option("--conns", a.conns, "connections")->check(CLI::Range(1u, 1024u));
  app.add_option("--messages", a.messages, "messages per connection, each way")->check(CLI::Range(1u, 100000000u));
  app.add_option("--min-size", a.min_size, "smallest message (bytes)")->check(CLI::Range(1u, 1u << 20));
  app.add_option("--max-size", a.max_size, "largest message (bytes, <= SO_MAX_MSG_SIZE)")->check(CLI::Range(1u, 1u << 20));
  app.add_option("--seed", a.seed, "seed of the message sizes and contents (same on both ends)");
  app.add_option("--window", a.window, "sends and receives in flight per connection")->check(CLI::Range(1u, 64u));
  app.add_option("--parallel-connects", a.parallel_connects, "connects in flight at once")->check(CLI::Range(1u, 1024u));
  app.add_option("--timeout-s", a.timeout_s, "give up (exit 2) after this long")->check(CLI::PositiveNumber);
  app.add_flag("--poll", a.poll, "poll-mode completions (hEvent & 1, WSPGetOverlappedResult) instead of upcalls");
  app.add_flag("--rdma", a.rdma, "then RDMA writes and reads of 1 B to 1 MiB on connection 0, checked");
  app.add_option("--rdma-links", a.rdma_links, "connecting side: this many RDMA target links for dpsan-soak (tests/soak/rdma_wire.h)")
      ->check(CLI::Range(0u, 256u));
  app.add_option("--rdma-connect", a.rdma_connect, "where the --rdma-links connect (IP:PORT)");
  app.add_option("--rdma-max", a.rdma_max, "largest RDMA write of the --rdma-links (bytes)")->check(CLI::Range(1u, 16u << 20));
  app.add_option("--ready-fd", a.ready_fd, "write one byte to this file descriptor once listening");
  app.add_flag("-v,--verbose", a.verbose, "progress on stderr");
  CLI11_PARSE(app, argc, argv);
  if (a.listen.empty() && a.connect.empty() && a.both.empty()) {
    std::fprintf(stderr, "dpsan_peer: one of --listen, --connect or --both is needed\n");
    return 64;
  }
  if (a.min_size > a.max_size) {
    std::fprintf(stderr, "dpsan_peer: --min-size is larger than --max-size\n");
    return 64;
  }
  return run(a);
}
