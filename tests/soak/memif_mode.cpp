/* SPDX-License-Identifier: BSD-3-Clause */
#include "memif_mode.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "engine.h"
#include "harness.h"
#include "mini_switch.h"
#include "resources.h"
#include "session.h"
#include "violation.h"

namespace dpsan::soak {

namespace {

using itest::Clock;
constexpr const char* kListen = "198.18.0.1:5600";

/** $DPSAN_PEER, else the build tree's dpsan_peer (tests/integration beside tests/soak). */
std::string default_peer_path() {
  if (std::getenv("DPSAN_PEER")) return itest::peer_path();
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (self.parent_path().parent_path() / "integration" / "dpsan_peer").string();
}

bool stop_now() { return violation_count() > 0; }

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

class MemifSoak {
 public:
  MemifSoak(const Options& o, const MemifOptions& m) : o_(o), m_(m) {}
  int run();

 private:
  std::string fault_text(uint64_t seed) const;
  bool start(unsigned cycle);
  void round(itest::Acceptor& acc, unsigned n);
  void check_server_counts(const std::string& when);
  void progress(bool force);
  void summary(const char* result);

  Options o_;
  MemifOptions m_;
  itest::TempDir dir_{"soak-memif"};
  std::string sock_, server_dev_;
  perf::MiniSwitch sw_;
  Baselines base_{o_.rss_tolerance_mib};
  unsigned cycle_ = 0, rounds_ = 0;
  uint64_t msgs_ = 0, bytes_ = 0, ops_ = 0, faults_ = 0, retransmits_ = 0, peer_faults_ = 0;
  Clock::time_point start_ = Clock::now(), next_progress_ = start_;
};

std::string MemifSoak::fault_text(uint64_t seed) const {
  std::ostringstream f;
  f << "[fault]\nloss = " << o_.loss << "\nduplicate = " << o_.duplicate << "\nreorder = " << o_.reorder
    << "\ncorrupt = " << o_.corrupt << "\ndelay_us = " << o_.delay_us << "\nseed = " << seed << "\n";
  return f.str();
}

bool MemifSoak::start(unsigned cycle) {
  std::string cfg = dir_.write("server.toml", itest::one_port_config(server_dev_, "198.18.0.1/24", 0,
                                                                     itest::kPatientPeers) +
                                                  fault_text(o_.seed + cycle));
  setenv("DPSAN_CONFIG", cfg.c_str(), 1);
  int rc = sw_.startup();
  unsetenv("DPSAN_CONFIG");
  if (rc != 0) {
    std::fprintf(stderr, "dpsan-soak: memif server WSPStartupEx failed with %d\n", rc);
    return false;
  }
  base_.at_startup(sw_.proc(), cycle);
  return true;
}

void MemifSoak::check_server_counts(const std::string& when) {
  Held want = base_.counts();
  want.sockets_open += 1;  // the listener
  expect_counts(sw_.proc(), want, when, true);  // the cache keeps deregistered ranges by design
}

/** One peer process: it connects `n` connections, both sides exchange and check, it exits. */
void MemifSoak::round(itest::Acceptor& acc, unsigned n) {
  rounds_++;
  uint64_t seed = o_.seed * 1000003u + rounds_;
  const uint32_t messages = 400;  // per connection and direction: a few seconds per round
  std::string cfg = dir_.write("client.toml",
                               itest::one_port_config("net_memif0,role=client,socket=" + sock_, "198.18.0.2/24", 1,
                                                      itest::kPatientPeers) +
                                   fault_text(seed));
  std::vector<std::string> argv = {m_.peer_path, "--connect", kListen, "--conns", std::to_string(n),
                                   "--messages", std::to_string(messages), "--min-size", "1",
                                   "--max-size", std::to_string(o_.max_size), "--window",
                                   std::to_string(o_.window), "--seed", std::to_string(seed),
                                   "--timeout-s", "120"};
  itest::Child peer = itest::spawn("peer-" + std::to_string(rounds_), argv, {"DPSAN_CONFIG=" + cfg}, dir_.path());
  itest::EngineOptions eo;
  eo.stream = itest::StreamSpec{seed, messages, 1, o_.max_size};
  eo.conns = n;
  eo.window = o_.window;
  itest::Engine engine(sw_.proc(), sw_.register_memory, eo);
  auto give_up = Clock::now() + std::chrono::seconds(150);
  size_t taken = 0;
  while (!stop_now() && Clock::now() < give_up) {
    if (std::string e = acc.step(); !e.empty()) violation("accept: " + e);
    for (; taken < acc.accepted().size(); taken++)
      if (std::string e = engine.add(acc.accepted()[taken], false, 0); !e.empty()) violation(e);
    bool moved = engine.step();
    if (taken == n && engine.finished()) break;
    progress(false);
    if (!moved) usleep(50);
  }
  acc.accepted().clear();
  if (!engine.finished()) violation("round " + std::to_string(rounds_) + ": the exchange did not finish in 150 s");
  engine.close_all(5000);
  itest::wait_child(&peer, Clock::now() + std::chrono::seconds(60));
  auto sum = itest::peer_summary(peer);
  itest::EngineTotals t = engine.totals();
  if (engine.violation_count())
    violation("round " + std::to_string(rounds_) + " (server): " + engine.violations()[0]);
  if (t.msgs_rx != uint64_t{n} * messages || t.double_completions || t.ops_posted != t.ops_completed)
    violation("round " + std::to_string(rounds_) + " (server): " + std::to_string(t.msgs_rx) + " of " +
              std::to_string(uint64_t{n} * messages) + " messages, " + std::to_string(t.ops_completed) + " of " +
              std::to_string(t.ops_posted) + " operations completed, " + std::to_string(t.double_completions) +
              " twice");
  if (peer.status != 0 || sum["result"] != "ok")
    violation("round " + std::to_string(rounds_) + ": the peer process exited " + std::to_string(peer.status) +
              " (result " + sum["result"] + "):\n" + itest::child_output(peer));
  msgs_ += t.msgs_rx + itest::num(sum, "msgs_rx");
  bytes_ += t.bytes_rx + itest::num(sum, "bytes_rx");
  ops_ += t.ops_completed + itest::num(sum, "ops_completed");
  peer_faults_ += itest::num(sum, "retransmits");
  check_server_counts("memif round " + std::to_string(rounds_) + ", after its connections closed");
}

void MemifSoak::progress(bool force) {
  if (!force && Clock::now() < next_progress_) return;
  next_progress_ = Clock::now() + std::chrono::seconds(1);
  DPSAN_STATS st = stats(sw_.proc());
  std::fprintf(stderr, "soak: %6.0f s  cycle %u  round %u  ops %llu  msgs %llu  %.1f GiB  faults %llu  violations %llu\n",
               since(start_), cycle_, rounds_, (unsigned long long)ops_, (unsigned long long)msgs_,
               double(bytes_) / (1 << 30), (unsigned long long)(faults_ + st.faults_injected),
               (unsigned long long)violation_count());
}

void MemifSoak::summary(const char* result) {
  std::printf("dpsan-soak result=%s mode=memif elapsed_s=%.0f connections=%u cycles=%u rounds=%u ops_completed=%llu "
              "msgs=%llu bytes=%llu server_faults_injected=%llu server_retransmits=%llu peer_retransmits=%llu "
              "loss=%g duplicate=%g reorder=%g corrupt=%g rss_first_mib=%llu rss_max_mib=%llu violations=%llu seed=%llu",
              result, since(start_), o_.connections, cycle_, rounds_, (unsigned long long)ops_,
              (unsigned long long)msgs_, (unsigned long long)bytes_, (unsigned long long)faults_,
              (unsigned long long)retransmits_, (unsigned long long)peer_faults_, o_.loss, o_.duplicate, o_.reorder,
              o_.corrupt, (unsigned long long)base_.rss_first_mib(), (unsigned long long)base_.rss_max_mib(),
              (unsigned long long)violation_count(), (unsigned long long)o_.seed);
  if (violation_count()) std::printf(" first_violation=\"%s\"", first_violation().c_str());
  std::printf("\n");
  std::fflush(stdout);
}

int MemifSoak::run() {
  if (m_.peer_path.empty()) m_.peer_path = default_peer_path();
  if (access(m_.peer_path.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "dpsan-soak: dpsan_peer not found at %s (--peer)\n", m_.peer_path.c_str());
    return 2;
  }
  itest::install_completion_hook();
  sock_ = dir_.path() + "/memif.sock";
  server_dev_ = "net_memif0,role=server,socket=" + sock_;
  sockaddr_in at{};
  itest::parse_endpoint(kListen, &at);
  auto end = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.duration_s));
  do {
    cycle_++;
    if (!start(cycle_)) {
      summary("error");
      return 2;
    }
    {
      itest::Acceptor acc(sw_.proc());
      if (std::string e = acc.listen(at, 64); !e.empty()) violation("listen: " + e);
      for (unsigned r = 0; r < m_.rounds_per_cycle && !stop_now() && Clock::now() < end; r++)
        round(acc, o_.connections);
      acc.close();
    }
    DPSAN_STATS st = stats(sw_.proc());
    faults_ += st.faults_injected;
    retransmits_ += st.retransmits;
    if (int rc = sw_.cleanup(); rc != 0) violation("final WSPCleanup failed with " + std::to_string(rc));
    base_.after_cleanup(cycle_);
  } while (!stop_now() && Clock::now() < end);
  progress(true);
  summary(stop_now() ? "violation" : "ok");
  return stop_now() ? 1 : 0;
}

}  // namespace

int run_memif(const Options& o, const MemifOptions& m) { return MemifSoak(o, m).run(); }

}  // namespace dpsan::soak
