/* SPDX-License-Identifier: BSD-3-Clause */
#include "soak.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <vector>

#include "link.h"
#include "mini_switch.h"
#include "op.h"
#include "resources.h"
#include "violation.h"

namespace dpsan::soak {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kCloseDeadlineS = 10;    // a closed link's operations must all end by then
constexpr double kDrainDeadlineS = 60;    // generous: faults and a starved poll core slow drains
constexpr uint32_t kNever = 0xffffffffu;  // streams without an end

uint32_t ip(const char* a) {
  in_addr v{};
  inet_pton(AF_INET, a, &v);
  return v.s_addr;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

class Soak {
 public:
  explicit Soak(const Options& o) : o_(o), rng_(o.seed) {}
  int run();

 private:
  std::string config_text(unsigned cycle) const;
  bool start_instance();
  void connect_down_links();
  void run_cycle(Clock::time_point cycle_end);
  void random_close();
  void end_cycle();
  bool drive_until(double deadline_s, const char* what, bool (*done)(Link&));
  unsigned step_all();
  void progress(bool force);
  void summary(const char* result);
  bool stop() const { return violation_count() > 0; }

  Options o_;
  std::mt19937_64 rng_;
  perf::MiniSwitch sw_;
  Spi spi_;
  Counters c_;
  std::vector<std::unique_ptr<Link>> links_;
  itest::StreamSpec msgs_, rdma_;
  unsigned cycle_ = 0;
  uint32_t next_conn_ = 1;
  uint16_t next_port_ = 20000;
  Baselines base_{o_.rss_tolerance_mib};
  bool have_cache_ = false;
  uint64_t cache_entries_ = 0;
  uint64_t faults_done_ = 0, retransmits_done_ = 0;  // of finished cycles
  DPSAN_STATS live_{};
  Clock::time_point start_ = Clock::now(), next_progress_ = start_;
  uint64_t started_ = 0;  // operations started (pacing)
};

std::string Soak::config_text(unsigned cycle) const {
  std::ostringstream f;
  // Long peer timeouts: this run is about delivery and accounting; a poll core starved for
  // seconds on a loaded machine must not turn into a dead-peer verdict (tested elsewhere).
  f << "[fastpath]\nidle = \"" << o_.idle << "\"\nconnect_timeout_ms = 20000\npeer_timeout_ms = 60000\n"
    << "[fault]\nloss = " << o_.loss << "\nduplicate = " << o_.duplicate << "\nreorder = " << o_.reorder
    << "\ncorrupt = " << o_.corrupt << "\ndelay_us = " << o_.delay_us << "\nflap_period_ms = "
    << o_.flap_period_ms << "\nflap_down_ms = " << o_.flap_down_ms << "\nseed = " << (o_.seed + cycle) << "\n";
  if (o_.port == "ringpair")
    f << "[[port]]\ndevice = \"ringpair:soak:0\"\nipv4 = \"198.18.7.1/24\"\n"
      << "[[port]]\ndevice = \"ringpair:soak:1\"\nipv4 = \"198.18.7.2/24\"\n";
  else
    f << "[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1/32\"\n";
  return f.str();
}

bool Soak::start_instance() {
  std::string path = "/tmp/dpsan-soak-" + std::to_string(getpid()) + ".toml";
  std::ofstream(path) << config_text(cycle_);
  setenv("DPSAN_CONFIG", path.c_str(), 1);
  int rc = sw_.startup();
  unsetenv("DPSAN_CONFIG");
  unlink(path.c_str());
  if (rc != 0) {
    std::fprintf(stderr, "dpsan-soak: WSPStartupEx failed with %d (cycle %u)\n", rc, cycle_);
    return false;
  }
  spi_.sw = &sw_;
  if (std::string e = spi_.load(); !e.empty()) {
    std::fprintf(stderr, "dpsan-soak: %s\n", e.c_str());
    return false;
  }
  // Before any socket: the counts the previous cleanup must have brought back (R13, R20).
  base_.at_startup(sw_.proc(), cycle_);
  return true;
}

void Soak::connect_down_links() {
  for (auto& l : links_) {
    if (stop() || l->state() != Link::State::kDown) continue;
    uint16_t port = next_port_;
    next_port_ = next_port_ >= 60000 ? 20000 : next_port_ + 1;
    std::string e = l->connect(spi_, port, next_conn_++, msgs_, rdma_);
    if (!e.empty()) violation(e);
  }
}

unsigned Soak::step_all() {
  // Pacing: --rate caps the operations started per second, spread over the links in turn.
  uint64_t allowed = o_.rate > 0 ? static_cast<uint64_t>(o_.rate * seconds_since(start_)) + 1 : UINT64_MAX;
  unsigned budget = allowed > started_ ? static_cast<unsigned>(std::min<uint64_t>(allowed - started_, 1u << 20)) : 0;
  unsigned started = 0;
  size_t n = links_.size(), first = n ? cycle_ * 7919u % n : 0;
  for (size_t i = 0; i < n; i++) {
    Link& l = *links_[(first + i) % n];
    unsigned s = l.step(spi_, budget - started);
    started += s;
  }
  started_ += started;
  return started;
}

void Soak::random_close() {
  std::vector<Link*> up;
  for (auto& l : links_)
    if (l->state() == Link::State::kUp) up.push_back(l.get());
  if (up.empty()) return;
  Link* l = up[rng_() % up.size()];
  if (rng_() & 1)
    l->close(spi_, true);
  else
    l->drain();  // closed gracefully once drained (run_cycle)
}

void Soak::run_cycle(Clock::time_point cycle_end) {
  std::exponential_distribution<double> gap(o_.close_rate > 0 ? o_.close_rate : 1.0);
  auto next_close = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(gap(rng_)));
  uint64_t last_done = c_.ops_completed;
  while (!stop() && Clock::now() < cycle_end) {
    unsigned started = step_all();
    for (auto& l : links_) {
      if (l->state() == Link::State::kDraining && l->drained()) l->close(spi_, false);
      if (l->state() == Link::State::kClosing && !l->closed() && l->closing_for() > kCloseDeadlineS)
        violation("link " + std::to_string(l->index()) + ": operations still pending " +
                  std::to_string(kCloseDeadlineS) + " s after both sockets were closed (R25)");
    }
    connect_down_links();
    if (o_.close_rate > 0 && Clock::now() >= next_close) {
      random_close();
      next_close = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(gap(rng_)));
    }
    progress(false);
    if (started == 0 && c_.ops_completed == last_done) usleep(50);
    last_done = c_.ops_completed;
  }
}

bool Soak::drive_until(double deadline_s, const char* what, bool (*done)(Link&)) {
  auto t0 = Clock::now();
  while (!stop()) {
    step_all();
    bool all = true;
    for (auto& l : links_) all = done(*l) && all;
    if (all) return true;
    if (seconds_since(t0) > deadline_s) {
      violation(std::string("links did not ") + what + " within " + std::to_string(deadline_s) + " s");
      return false;
    }
    progress(false);
    usleep(20);
  }
  return false;
}

/**
 * Drains every link (nothing lost), checks that the counts are flat, parks operations in
 * flight (receives nobody sends to, sends nobody receives, and live traffic), and ends the
 * instance with WSPCleanup: each parked operation must complete exactly once with
 * WSA_OPERATION_ABORTED, and none may still be pending when WSPCleanup returns.
 */
void Soak::end_cycle() {
  drive_until(kCloseDeadlineS, "close", [](Link& l) { return l.state() != Link::State::kClosing || l.closed(); });
  connect_down_links();
  for (auto& l : links_) l->drain();
  drive_until(kDrainDeadlineS, "drain", [](Link& l) { return l.state() != Link::State::kDraining || l.drained(); });
  if (stop()) return;
  // Flat over time: with every link connected and idle, the counts are the same each cycle.
  Held want = base_.counts();
  uint64_t n = links_.size();
  want.sockets_open += 2 * n;
  want.connections += 2 * n;
  want.registrations += n * (o_.rdma_max ? 6 : 4);
  want.rdma_registrations += o_.rdma_max ? n : 0;
  if (!have_cache_) {
    usleep(100 * 1000);
    cache_entries_ = stats(sw_.proc()).cache_entries;
    have_cache_ = true;
  }
  want.cache_entries = cache_entries_;
  if (o_.self_test_leak) {  // a socket nobody closes: the count check must see it
    int err = 0;
    sw_.proc().lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED, &err);
  }
  live_ = expect_counts(sw_.proc(), want, "cycle " + std::to_string(cycle_) + ", all links idle", false);
  if (stop()) return;

  for (size_t i = 0; i < links_.size(); i++)
    links_[i]->park(spi_, static_cast<Link::Park>(i % 3));
  auto t0 = Clock::now();
  while (!stop() && seconds_since(t0) < 0.2) step_all();  // let the parked sends stall
  live_ = stats(sw_.proc());
  faults_done_ += live_.faults_injected;
  retransmits_done_ += live_.retransmits;
  live_ = DPSAN_STATS{};
  int rc = sw_.cleanup();
  if (rc != 0) violation("final WSPCleanup failed with " + std::to_string(rc));
  for (auto& l : links_) l->after_cleanup();
  usleep(20 * 1000);  // a completion after WSPCleanup returned would be a second one (R19)
  // Resident memory after the cleanup: flat within the tolerance (see RELIABILITY.md).
  base_.after_cleanup(cycle_);
}

void Soak::progress(bool force) {
  auto now = Clock::now();
  if (!force && now < next_progress_) return;
  next_progress_ = now + std::chrono::seconds(1);
  if (sw_.proc().lpWSPIoctl) {
    DPSAN_STATS st = stats(sw_.proc());
    if (st.poll_cores) live_ = st;
  }
  std::fprintf(stderr,
               "soak: %6.0f s  cycle %u  ops %llu  msgs %llu  %.1f GiB  rdma %llu  closes %llu  "
               "faults %llu  violations %llu\n",
               seconds_since(start_), cycle_, (unsigned long long)c_.ops_completed,
               (unsigned long long)c_.msgs, double(c_.bytes + c_.rdma_bytes) / (1 << 30),
               (unsigned long long)c_.rdma_ops, (unsigned long long)(c_.graceful_closes + c_.abrupt_closes),
               (unsigned long long)(faults_done_ + live_.faults_injected),
               (unsigned long long)violation_count());
}

void Soak::summary(const char* result) {
  std::printf("dpsan-soak result=%s mode=one-process port=%s elapsed_s=%.0f connections=%u cycles=%u "
              "ops_posted=%llu ops_completed=%llu msgs=%llu bytes=%llu rdma_ops=%llu rdma_bytes=%llu "
              "connects=%llu graceful_closes=%llu abrupt_closes=%llu aborted_at_cleanup=%llu "
              "faults_injected=%llu retransmits=%llu loss=%g duplicate=%g reorder=%g corrupt=%g "
              "rss_first_mib=%llu rss_max_mib=%llu violations=%llu seed=%llu",
              result, o_.port.c_str(), seconds_since(start_), o_.connections, cycle_,
              (unsigned long long)c_.ops_posted, (unsigned long long)c_.ops_completed,
              (unsigned long long)c_.msgs, (unsigned long long)c_.bytes, (unsigned long long)c_.rdma_ops,
              (unsigned long long)c_.rdma_bytes, (unsigned long long)c_.connects,
              (unsigned long long)c_.graceful_closes, (unsigned long long)c_.abrupt_closes,
              (unsigned long long)c_.aborted_at_cleanup, (unsigned long long)(faults_done_ + live_.faults_injected),
              (unsigned long long)(retransmits_done_ + live_.retransmits), o_.loss, o_.duplicate, o_.reorder, o_.corrupt,
              (unsigned long long)base_.rss_first_mib(), (unsigned long long)base_.rss_max_mib(),
              (unsigned long long)violation_count(), (unsigned long long)o_.seed);
  if (violation_count()) std::printf(" first_violation=\"%s\"", first_violation().c_str());
  std::printf("\n");
  std::fflush(stdout);
}

int Soak::run() {
  install_completion_hook();
  if (o_.self_test_corrupt) Link::corrupt_nth_message(o_.self_test_corrupt);
  LinkParams lp;
  lp.window = o_.window;
  lp.max_size = o_.max_size;
  lp.rdma_max = o_.rdma_max;
  lp.server_ip = ip(o_.port == "ringpair" ? "198.18.7.1" : "127.0.0.1");
  lp.client_ip = ip(o_.port == "ringpair" ? "198.18.7.2" : "127.0.0.1");
  for (unsigned i = 0; i < o_.connections; i++) links_.push_back(std::make_unique<Link>(i, lp, &c_));
  msgs_ = itest::StreamSpec{o_.seed, kNever, 1, o_.max_size};
  rdma_ = itest::StreamSpec{o_.seed ^ 0x52444d41ull, kNever, 1, std::max<uint32_t>(o_.rdma_max, 1)};
  auto end = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.duration_s));
  std::uniform_real_distribution<double> cycle_len(o_.cycle_min_s, std::max(o_.cycle_min_s, o_.cycle_max_s));
  do {
    cycle_++;
    if (!start_instance()) {
      summary("error");
      return 2;
    }
    connect_down_links();
    auto cycle_end = std::min(end, Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                      std::chrono::duration<double>(cycle_len(rng_))));
    run_cycle(cycle_end);
    if (!stop()) end_cycle();
  } while (!stop() && Clock::now() < end);
  progress(true);
  if (stop()) {
    summary("violation");
    std::fflush(stderr);
    std::_Exit(1);  // leave at once: the provider may be wedged (R22 covers the exit)
  }
  summary("ok");
  return 0;
}

}  // namespace

int run_soak(const Options& o) { return Soak(o).run(); }

}  // namespace dpsan::soak
