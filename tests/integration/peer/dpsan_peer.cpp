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

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <dpsan/dpsan_stats.h>

#include "engine.h"
#include "mini_switch.h"
#include "rdma_phase.h"
#include "session.h"

using namespace dpsan::itest;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string listen, connect, both, bind;
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
  if (!o.error.empty()) std::printf(" error=\"%s\"", o.error.c_str());
  std::printf("\n");
  std::fflush(stdout);
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
  std::unique_ptr<Dialer> dialer;
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
    moved |= engine.step();
    bool all_in = (!listening || accepted >= a.conns) && (!dialer || dialer->done());
    if (all_in && engine.finished()) break;
    if (!moved) usleep(50);  // the poll core needs the CPU more than we do on small machines
  }
  if (o.error.empty() && !timed_out && a.rdma) o.error = run_rdma(sw, engine, listening, connecting);
  if (dialer) o.connect_retries = dialer->retries();
  dialer.reset();
  acceptor.close();
  engine.close_all(5000);
  usleep(50 * 1000);  // a late second completion would show up now

  o.have_stats = sw.stats(&o.stats) == 0;
  EngineTotals t = engine.totals();
  uint64_t v = engine.violation_count();
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
