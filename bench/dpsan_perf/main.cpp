/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * dpsan-perf: dpsan's end-to-end benchmark, and the README's main job.
 *
 * With no arguments it runs, on the embedded default (two sockets of one process over the
 * built-in loopback port), a 64-byte ping-pong and a 64-byte stream, then prints a table.
 */
#include <CLI/CLI.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <dpsan/dpsan_stats.h>

#include "dpsan_transport.h"
#include "json_out.h"
#include "kernel_tcp.h"

using namespace dpsan::perf;

namespace {

/** A live progress line on stderr for runs longer than a few seconds. */
class Progress {
 public:
  Progress(const char* what, double seconds) {
    if (seconds <= 3) return;
    thread_ = std::thread([=, this] {
      auto t0 = std::chrono::steady_clock::now();
      std::unique_lock<std::mutex> lk(mu_);
      while (!cv_.wait_for(lk, std::chrono::seconds(1), [this] { return done_; })) {
        double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::fprintf(stderr, "\r  %s: %.0f of %.0f s", what, el, seconds);
      }
      std::fprintf(stderr, "\n");
    });
  }
  ~Progress() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lk(mu_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

/**
 * Bring dpsan up on a uring port serving 127.0.0.1 (UDP 21316), through a configuration file of
 * our own. @return false when it cannot; `required` says whether that is an error or a skip.
 */
bool uring_startup(MiniSwitch& sw, bool required) {
  std::string path = "/tmp/dpsan-perf-uring-" + std::to_string(getpid()) + ".toml";
  {
    std::ofstream f(path);
    f << "[[port]]\nbackend = \"uring\"\nbind = \"127.0.0.1:21316\"\n";
  }
  const char* old = std::getenv("DPSAN_CONFIG");
  std::string saved = old ? old : "";
  setenv("DPSAN_CONFIG", path.c_str(), 1);
  int rc = sw.startup();
  unlink(path.c_str());
  if (old) setenv("DPSAN_CONFIG", saved.c_str(), 1);
  else unsetenv("DPSAN_CONFIG");
  if (rc != 0)
    std::fprintf(stderr, "dpsan-perf: the uring layout cannot start (WSPStartupEx %d, the line above says why)%s\n",
                 rc, required ? "" : "; its rows are left out");
  return rc == 0;
}

void print_table(const std::vector<Result>& rows) {
  std::printf("\n%-11s %-9s %8s %10s %10s %10s %14s %9s\n", "transport", "mode", "size",
              "p50_us", "p99_us", "p99.9_us", "msgs/s", "Gbit/s");
  for (const Result& r : rows) {
    if (!r.error.empty()) {
      std::printf("%-11s %-9s %8u  FAILED: %s\n", r.transport.c_str(), r.mode.c_str(), r.size,
                  r.error.c_str());
      continue;
    }
    std::printf("%-11s %-9s %8u %10.2f %10.2f %10.2f %14.0f %9.3f\n", r.transport.c_str(),
                r.mode.c_str(), r.size, r.rtt_p50_us, r.rtt_p99_us, r.rtt_p999_us, r.msgs_per_s,
                r.gbps);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dpsan-perf: dpsan beside kernel TCP, measured in the same run"};
  std::string mode = "all";
  uint32_t size = 64;
  double duration = 3;
  std::string baseline = "kernel-tcp";
  unsigned window = 64;
  app.add_option("--mode", mode, "pingpong, stream or all")
      ->check(CLI::IsMember({"pingpong", "stream", "all"}));
  app.add_option("--size", size, "message size in bytes")->check(CLI::Range(1u, 1u << 20));
  app.add_option("--duration", duration, "seconds per run")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--baseline", baseline, "kernel-tcp or none")
      ->check(CLI::IsMember({"kernel-tcp", "none"}));
  app.add_option("--window", window, "stream: messages in flight")->check(CLI::Range(1u, 1024u));
  std::string json;
  app.add_option("--json", json, "also write the results to FILE (schema in json_out.h)");
  bool verbose = false;
  app.add_flag("--verbose", verbose, "print the provider's counters after each dpsan run");
  std::string layout = "all";
  app.add_option("--layout", layout,
                 "ethdev (the embedded default, or DPSAN_CONFIG), uring (a uring port on "
                 "127.0.0.1:21316) or all (both, uring skipped where io_uring is unavailable)")
      ->check(CLI::IsMember({"ethdev", "uring", "all"}));
  CLI11_PARSE(app, argc, argv);

  MiniSwitch sw;
  bool want_ethdev = layout != "uring", want_uring = layout != "ethdev";
  std::vector<Result> rows;
  if (want_ethdev) {
    if (int rc = sw.startup()) {
      std::fprintf(stderr, "dpsan-perf: WSPStartupEx failed: %d\n", rc);
      return 1;
    }
  } else if (!uring_startup(sw, true)) {
    return 1;
  }
  // The embedded default put its poll core on the last CPU we may use (chosen from this
  // thread's affinity at startup, so only now is it safe to narrow it). Keep this (the
  // switch's) thread off it, so that the two never share a CPU: on a 2-core machine a shared
  // CPU costs the spinning poll loop and this thread most of their time.
  cpu_set_t cpus;
  if (pthread_getaffinity_np(pthread_self(), sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) > 1) {
    for (int c = CPU_SETSIZE - 1; c >= 0; c--)
      if (CPU_ISSET(c, &cpus)) {
        CPU_CLR(c, &cpus);
        break;
      }
    pthread_setaffinity_np(pthread_self(), sizeof cpus, &cpus);
  }
  SOCKET a, b;
  uint16_t port = 7000;
  bool pingpong = mode != "stream", stream = mode != "pingpong";
  auto pair = [&](const char* what) {
    std::string err = sw.connect_pair(port++, &a, &b);
    if (!err.empty()) std::fprintf(stderr, "dpsan-perf: %s: %s\n", what, err.c_str());
    return err.empty();
  };
  auto counters = [&](const char* what) {
    if (!verbose) return;
    DPSAN_STATS st{};
    DWORD got = 0;
    int e = 0;
    sw.proc().lpWSPIoctl(0, SIO_DPSAN_GET_STATS, nullptr, 0, &st, sizeof st, &got, nullptr, nullptr,
                         nullptr, &e);
    std::fprintf(stderr,
                 "%s: tx %llu rx %llu pkts, retransmits %llu, bad %llu, no-conn %llu, "
                 "credit stalls %llu, ops in flight %llu, mbufs %llu\n",
                 what, (unsigned long long)st.packets_tx, (unsigned long long)st.packets_rx,
                 (unsigned long long)st.retransmits, (unsigned long long)st.drops_bad_packet,
                 (unsigned long long)st.drops_no_conn, (unsigned long long)st.credit_stalls,
                 (unsigned long long)st.ops_in_flight, (unsigned long long)st.mbufs_in_use);
  };
  // One layout: the instance that is up now, labelled `transport` in the results.
  auto run_layout = [&](const char* transport) {
    if (pingpong && pair("pingpong")) {
      std::fprintf(stderr, "running %s pingpong, %u B, %.1f s\n", transport, size, duration);
      Progress p("pingpong", duration);
      rows.push_back(dpsan_pingpong(sw, a, b, size, duration));
      rows.back().transport = transport;
      counters("pingpong");
    }
    if (stream && pair("stream")) {
      std::fprintf(stderr, "running %s stream, %u B, %.1f s\n", transport, size, duration);
      Progress p("stream", duration);
      rows.push_back(dpsan_stream(sw, a, b, size, duration, window));
      rows.back().transport = transport;
      counters("stream");
    }
    sw.cleanup();
  };
  if (want_ethdev) run_layout("dpsan");
  // The EAL and its poll lcore stay for the process; the next startup builds a new instance
  // on a uring port instead.
  if (want_ethdev && want_uring && !uring_startup(sw, false)) want_uring = false;
  if (want_uring) run_layout("dpsan-uring");
  if (baseline == "kernel-tcp") {
    if (pingpong) {
      std::fprintf(stderr, "running kernel-tcp pingpong, %u B, %.1f s\n", size, duration);
      Progress p("kernel-tcp pingpong", duration);
      rows.push_back(tcp_pingpong(size, duration));
    }
    if (stream) {
      std::fprintf(stderr, "running kernel-tcp stream, %u B, %.1f s\n", size, duration);
      Progress p("kernel-tcp stream", duration);
      rows.push_back(tcp_stream(size, duration));
    }
  }
  print_table(rows);
  if (!json.empty() && !write_json(json, rows)) {
    std::fprintf(stderr, "dpsan-perf: cannot write --json %s\n", json.c_str());
    return 1;
  }
  // Ratios against the baseline measured in this run.
  for (const Result& d : rows) {
    if (d.transport == "kernel-tcp" || !d.error.empty()) continue;
    for (const Result& k : rows) {
      if (k.transport != "kernel-tcp" || k.mode != d.mode || !k.error.empty()) continue;
      if (d.mode == "pingpong" && d.rtt_p50_us > 0)
        std::printf("pingpong p50: %s is %.1fx lower than kernel TCP\n", d.transport.c_str(),
                    k.rtt_p50_us / d.rtt_p50_us);
      if (d.mode == "stream" && k.msgs_per_s > 0)
        std::printf("stream rate: %s is %.1fx kernel TCP\n", d.transport.c_str(),
                    d.msgs_per_s / k.msgs_per_s);
    }
  }
  for (const Result& r : rows)
    if (!r.error.empty()) return 1;
  return 0;
}
