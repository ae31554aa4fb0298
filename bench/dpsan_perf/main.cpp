/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * dpsan-perf: dpsan's end-to-end benchmark, and the README's main job ("dpsan-perf").
 *
 * With no arguments it runs every mode on the one-process layouts (the embedded default, and a
 * uring port where io_uring works), then the kernel baselines, and prints one table with the
 * ratios to the baselines. `--role server` is the far end of the two-process layouts.
 */
#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dpsan/dpsan_stats.h>

#include "dpsan_transport.h"
#include "json_out.h"
#include "kernel_tcp.h"
#include "kernel_udp.h"
#include "ops.h"
#include "perf_server.h"
#include "two_process.h"

using namespace dpsan::perf;

namespace {

/** A live progress line on stderr for runs longer than a few seconds. */
class Progress {
 public:
  Progress(const std::string& what, double seconds) {
    if (seconds <= 3) return;
    thread_ = std::thread([=, this] {
      auto t0 = std::chrono::steady_clock::now();
      std::unique_lock<std::mutex> lk(mu_);
      while (!cv_.wait_for(lk, std::chrono::seconds(1), [this] { return done_; })) {
        double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::fprintf(stderr, "\r  %s: %.0f of %.0f s", what.c_str(), el, seconds);
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

struct Options {
  std::vector<std::string> modes{"all"};
  std::vector<uint32_t> sizes;  ///< empty: each mode's default
  bool sweep = false;
  double duration = 2;
  std::string baseline = "kernel-tcp";
  unsigned window = 64;
  std::string json, plot;
  bool verbose = false;
  std::vector<std::string> layouts{"all"};
};

const std::vector<std::string> kModes = {"pingpong", "stream", "rdma-write", "rdma-read"};

bool wants(const std::vector<std::string>& list, const std::string& x) {
  for (const auto& m : list)
    if (m == x || m == "all") return true;
  return false;
}

/** The sizes a mode runs at: --size, else --sweep (64 B..1 MiB, x4), else its default. */
std::vector<uint32_t> sizes_for(const Options& o, const std::string& mode) {
  if (!o.sizes.empty()) return o.sizes;
  if (mode == "pingpong") return {64};
  if (o.sweep) return {64, 256, 1024, 4096, 16384, 65536, 262144, 1048576};
  if (mode == "stream") return {64, 1048576};
  return {1048576};
}

const char* transport_of(const std::string& layout) {
  if (layout == "ethdev") return "dpsan";
  if (layout == "uring") return "dpsan-uring";
  if (layout == "memif") return "dpsan-memif";
  return "dpsan-veth";
}

/** Start up with a one-off configuration file (DPSAN_CONFIG for this startup only). */
int startup_with(MiniSwitch& sw, const std::string& toml) {
  std::string path = "/tmp/dpsan-perf-" + std::to_string(getpid()) + ".toml";
  std::ofstream(path) << toml;
  const char* old = std::getenv("DPSAN_CONFIG");
  std::string saved = old ? old : "";
  setenv("DPSAN_CONFIG", path.c_str(), 1);
  int rc = sw.startup();
  unlink(path.c_str());
  if (old) setenv("DPSAN_CONFIG", saved.c_str(), 1);
  else unsetenv("DPSAN_CONFIG");
  return rc;
}

uint32_t ipv4(const char* a) {
  in_addr v{};
  inet_pton(AF_INET, a, &v);
  return v.s_addr;
}

/** One layout's runs: every mode and size, over the instance that is up now. */
class LayoutRunner {
 public:
  LayoutRunner(MiniSwitch& sw, const Options& o, const std::string& layout, TwoProcess* remote)
      : sw_(sw), o_(o), transport_(transport_of(layout)), remote_(remote) {}

  void run_all(std::vector<Result>* rows) {
    for (const std::string& mode : kModes) {
      if (!wants(o_.modes, mode)) continue;
      for (uint32_t size : sizes_for(o_, mode)) {
        std::fprintf(stderr, "running %s %s, %u B, %.1f s\n", transport_.c_str(), mode.c_str(), size, o_.duration);
        Progress p(transport_ + " " + mode, o_.duration);
        Result r = one(mode, size);
        r.transport = transport_;
        if (r.error.empty() && r.messages == 0) r.error = "no messages moved";
        rows->push_back(r);
        counters(mode);
      }
    }
  }

 private:
  Result one(const std::string& mode, uint32_t size) {
    bool rdma = mode.rfind("rdma", 0) == 0;
    unsigned window = window_for(size, o_.window);
    SOCKET a = INVALID_SOCKET, b = INVALID_SOCKET;
    RdmaReply reply{};
    std::string err;
    if (remote_ != nullptr) {
      Hello h;
      h.mode = mode == "pingpong" ? ServeMode::kPingpong : rdma ? ServeMode::kRdma : ServeMode::kStream;
      h.size = size;
      h.window = window;
      err = open_run(sw_, remote_->server_ip(), TwoProcess::kPort, remote_->client_ip(), h, &a, &reply);
    } else {
      err = sw_.connect_pair(port_++, &a, &b);
      if (err.empty() && rdma) err = local_rdma_region(b, size * window, &reply);
    }
    Result r{transport_, mode, size};
    if (!err.empty()) return r.error = err, r;
    if (mode == "pingpong") return dpsan_pingpong(sw_, a, b, size, o_.duration);
    if (mode == "stream") return dpsan_stream(sw_, a, b, size, o_.duration, window);
    r = dpsan_rdma(sw_, a, reply.desc, reply.desc_len, mode == "rdma-write", size, o_.duration, window);
    if (b != INVALID_SOCKET) {
      int e = 0;
      sw_.proc().lpWSPCloseSocket(b, &e);
      region_.reset();
    }
    return r;
  }

  /** The in-process RDMA target: a region of `bytes` registered on socket b. */
  std::string local_rdma_region(SOCKET b, uint32_t bytes, RdmaReply* reply) {
    region_.reset(new char[bytes]);
    reply->desc_len = sizeof reply->desc;
    return register_rdma(sw_, b, region_.get(), bytes, reply->desc, &reply->desc_len);
  }

  void counters(const std::string& what) {
    if (!o_.verbose) return;
    DPSAN_STATS st{};
    sw_.stats(&st);
    std::fprintf(stderr,
                 "%s: tx %llu rx %llu pkts, retransmits %llu, bad %llu, no-conn %llu, "
                 "credit stalls %llu, ops in flight %llu, mbufs %llu\n",
                 what.c_str(), (unsigned long long)st.packets_tx, (unsigned long long)st.packets_rx,
                 (unsigned long long)st.retransmits, (unsigned long long)st.drops_bad_packet,
                 (unsigned long long)st.drops_no_conn, (unsigned long long)st.credit_stalls,
                 (unsigned long long)st.ops_in_flight, (unsigned long long)st.mbufs_in_use);
  }

  MiniSwitch& sw_;
  const Options& o_;
  std::string transport_;
  TwoProcess* remote_;
  uint16_t port_ = 7000;
  std::unique_ptr<char[]> region_;
};

/**
 * The embedded default put its poll core on the last CPU we may use (chosen from this thread's
 * affinity at startup, so only now is it safe to narrow it). Keep this (the switch's) thread off
 * it, so that the two never share a CPU: on a 2-core machine a shared CPU costs the spinning
 * poll loop and this thread most of their time.
 */
void keep_off_poll_cpu() {
  cpu_set_t cpus;
  if (pthread_getaffinity_np(pthread_self(), sizeof cpus, &cpus) != 0 || CPU_COUNT(&cpus) < 2) return;
  for (int c = CPU_SETSIZE - 1; c >= 0; c--)
    if (CPU_ISSET(c, &cpus)) {
      CPU_CLR(c, &cpus);
      break;
    }
  pthread_setaffinity_np(pthread_self(), sizeof cpus, &cpus);
}

/** A row for a layout that failed as a whole (`what`: setup or teardown). */
Result layout_failed(const std::string& layout, const char* what, const std::string& why) {
  Result r{transport_of(layout), what};
  r.error = why;
  return r;
}

/** Run one layout. @return false on a failure that is not a skip (its rows say why). */
bool run_layout(const Options& o, MiniSwitch& sw, const std::string& layout, bool required,
                std::vector<Result>* rows) {
  std::unique_ptr<TwoProcess> remote;
  int rc = 0;
  if (layout == "memif" || layout == "veth") {
    remote = std::make_unique<TwoProcess>(layout);
    bool skip = false;
    std::string why = remote->start(&skip);
    if (!why.empty()) {
      std::fprintf(stderr, "dpsan-perf: layout %s %s: %s\n", layout.c_str(), skip ? "skipped" : "failed", why.c_str());
      if (!skip) rows->push_back(layout_failed(layout, "setup", why));
      return skip;
    }
    rc = sw.startup();
  } else if (layout == "uring") {
    rc = startup_with(sw, "[[port]]\nbackend = \"uring\"\nbind = \"127.0.0.1:21316\"\n");
  } else {
    rc = sw.startup();
  }
  if (rc != 0) {
    std::fprintf(stderr, "dpsan-perf: layout %s cannot start (WSPStartupEx %d, the line above says why)%s\n",
                 layout.c_str(), rc, required ? "" : "; its rows are left out");
    if (required) rows->push_back(layout_failed(layout, "setup", "WSPStartupEx " + std::to_string(rc)));
    return !required;
  }
  keep_off_poll_cpu();
  LayoutRunner(sw, o, layout, remote.get()).run_all(rows);
  if (remote) {  // tell the server the runs are over
    Hello quit;
    quit.mode = ServeMode::kQuit;
    quit.size = quit.window = 1;
    SOCKET s = INVALID_SOCKET;
    RdmaReply unused;
    if (open_run(sw, remote->server_ip(), TwoProcess::kPort, remote->client_ip(), quit, &s, &unused).empty()) {
      int e = 0;
      sw.proc().lpWSPCloseSocket(s, &e);
    }
  }
  sw.cleanup();
  if (remote && !remote->finish()) {
    rows->push_back(layout_failed(layout, "teardown", "the server process failed"));
    return false;
  }
  return true;
}

void run_baselines(const Options& o, std::vector<Result>* rows) {
  auto run = [&](const char* what, uint32_t size, Result (*fn)(uint32_t, double)) {
    std::fprintf(stderr, "running %s, %u B, %.1f s\n", what, size, o.duration);
    Progress p(what, o.duration);
    rows->push_back(fn(size, o.duration));
    if (rows->back().error.empty() && rows->back().messages == 0) rows->back().error = "no messages moved";
  };
  if (wants(o.modes, "pingpong"))
    for (uint32_t size : sizes_for(o, "pingpong")) {
      run("kernel-tcp pingpong", size, tcp_pingpong);
      if (size <= kUdpMaxPayload) run("kernel-udp-busy pingpong", size, udp_busy_pingpong);
      else std::fprintf(stderr, "kernel-udp-busy: %u B is more than a datagram holds; left out\n", size);
    }
  // A TCP stream of the same size is the baseline of stream and of both RDMA modes.
  std::set<uint32_t> stream_sizes;
  for (const char* m : {"stream", "rdma-write", "rdma-read"})
    if (wants(o.modes, m))
      for (uint32_t s : sizes_for(o, m)) stream_sizes.insert(s);
  for (uint32_t size : stream_sizes) run("kernel-tcp stream", size, tcp_stream);
}

/** The ratio of each dpsan row to each baseline measured in this run (>1: dpsan is better). */
std::vector<Ratios> ratios_of(const std::vector<Result>& rows) {
  auto find = [&](const char* transport, const char* mode, uint32_t size) -> const Result* {
    for (const Result& k : rows)
      if (k.transport == transport && k.mode == mode && k.size == size && k.error.empty()) return &k;
    return nullptr;
  };
  std::vector<Ratios> out(rows.size());
  for (size_t i = 0; i < rows.size(); i++) {
    const Result& d = rows[i];
    if (d.transport.rfind("dpsan", 0) != 0 || !d.error.empty()) continue;
    if (d.mode == "pingpong") {
      const Result* t = find("kernel-tcp", "pingpong", d.size);
      const Result* u = find("kernel-udp-busy", "pingpong", d.size);
      if (t && d.rtt_p50_us > 0) out[i].tcp = t->rtt_p50_us / d.rtt_p50_us;
      if (u && d.rtt_p50_us > 0) out[i].udp = u->rtt_p50_us / d.rtt_p50_us;
    } else if (const Result* t = find("kernel-tcp", "stream", d.size); t && t->gbps > 0) {
      out[i].tcp = d.gbps / t->gbps;
    }
  }
  return out;
}

std::string size_str(uint32_t size) {
  if (size >= (1u << 20) && size % (1u << 20) == 0) return std::to_string(size >> 20) + " MiB";
  if (size >= 1024 && size % 1024 == 0) return std::to_string(size >> 10) + " KiB";
  return std::to_string(size) + " B";
}

void print_table(const std::vector<Result>& rows, const std::vector<Ratios>& ratios) {
  std::printf("\n%-15s %-10s %8s %9s %9s %9s %12s %8s %8s %8s\n", "transport", "mode", "size",
              "p50_us", "p99_us", "p99.9_us", "msgs/s", "Gbit/s", "x_tcp", "x_udp");
  for (size_t i = 0; i < rows.size(); i++) {
    const Result& r = rows[i];
    if (!r.error.empty()) {
      std::printf("%-15s %-10s %8s  FAILED: %s\n", r.transport.c_str(), r.mode.c_str(),
                  size_str(r.size).c_str(), r.error.c_str());
      continue;
    }
    auto ratio = [](double x) { return x > 0 ? std::to_string(x).substr(0, std::to_string(x).find('.') + 2) + "x" : std::string("-"); };
    if (r.mode == "pingpong")
      std::printf("%-15s %-10s %8s %9.2f %9.2f %9.2f %12.0f %8.3f %8s %8s\n", r.transport.c_str(),
                  r.mode.c_str(), size_str(r.size).c_str(), r.rtt_p50_us, r.rtt_p99_us, r.rtt_p999_us,
                  r.msgs_per_s, r.gbps, ratio(ratios[i].tcp).c_str(), ratio(ratios[i].udp).c_str());
    else
      std::printf("%-15s %-10s %8s %9s %9s %9s %12.0f %8.3f %8s %8s\n", r.transport.c_str(), r.mode.c_str(),
                  size_str(r.size).c_str(), "-", "-", "-", r.msgs_per_s, r.gbps,
                  ratio(ratios[i].tcp).c_str(), "-");
  }
  std::printf("\nx_tcp, x_udp: how many times better than kernel TCP (TCP_NODELAY) and busy-polled kernel UDP "
              "in this run: p50 round trip for pingpong, Gbit/s against a TCP stream of the same size "
              "for stream and RDMA.\n");
}

/** Draw --plot FILE.png from the JSON with bench/dpsan_perf/plot_perf.py. @return false if it failed. */
bool plot(const std::string& json, const std::string& png) {
  const char* script = std::getenv("DPSAN_PERF_PLOT");
  // Debian's interpreter, which python3-matplotlib installs into (a python3 earlier in PATH,
  // e.g. pyenv's, may lack it).
  const char* python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  std::string cmd = std::string(python) + " '" + (script ? script : DPSAN_PERF_PLOT_SCRIPT) + "' '" +
                    json + "' '" + png + "'";
  int rc = std::system(cmd.c_str());
  return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

bool parse_endpoint(const std::string& s, uint32_t* ip, uint16_t* port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  *ip = ipv4(s.substr(0, colon).c_str());
  int p = std::atoi(s.c_str() + colon + 1);
  if (*ip == 0 || p <= 0 || p > 65535) return false;
  *port = static_cast<uint16_t>(p);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dpsan-perf: dpsan beside kernel TCP and busy-polled UDP, measured in the same run"};
  Options o;
  app.add_option("--mode", o.modes, "pingpong, stream, rdma-write, rdma-read or all (a list)")
      ->check(CLI::IsMember({"pingpong", "stream", "rdma-write", "rdma-read", "all"}))
      ->delimiter(',');
  app.add_option("--size", o.sizes, "message (RDMA: operation) sizes in bytes, 1..1048576 (a list)")
      ->check(CLI::Range(1u, 1u << 20))
      ->delimiter(',');
  app.add_flag("--sweep", o.sweep, "stream and RDMA at 64 B, 256 B, ... 1 MiB (x4 steps)");
  app.add_option("--duration", o.duration, "seconds per run")->check(CLI::Range(0.05, 3600.0));
  app.add_option("--baseline", o.baseline, "kernel-tcp (with busy-polled kernel UDP for pingpong) or none")
      ->check(CLI::IsMember({"kernel-tcp", "none"}));
  app.add_option("--window", o.window, "stream and RDMA: operations in flight (at most 8 MiB of them)")
      ->check(CLI::Range(1u, 1024u));
  app.add_option("--json", o.json, "also write the results to FILE (schema: README \"dpsan-perf JSON\")");
  app.add_option("--plot", o.plot, "draw a latency CDF and throughput against size to FILE.png");
  app.add_flag("--verbose", o.verbose, "print the provider's counters after each dpsan run");
  app.add_option("--layout", o.layouts,
                 "ethdev (the embedded default, or DPSAN_CONFIG), uring (a uring port on 127.0.0.1:21316), "
                 "memif (two processes over net_memif), veth (two network namespaces, root), or all "
                 "(ethdev and uring, uring skipped where io_uring is unavailable); a list")
      ->check(CLI::IsMember({"ethdev", "uring", "memif", "veth", "all"}))
      ->delimiter(',');
  std::string role, listen;
  int ready_fd = -1, sync_fd = -1;
  app.add_option("--role", role, "internal: server, the far end of the memif and veth layouts")
      ->check(CLI::IsMember({"server"}));
  app.add_option("--listen", listen, "internal (--role server): IP:PORT");
  app.add_option("--ready-fd", ready_fd, "internal (--role server)");
  app.add_option("--sync-fd", sync_fd, "internal (--role server)");
  CLI11_PARSE(app, argc, argv);

  if (role == "server") {
    uint32_t ip = 0;
    uint16_t port = 0;
    if (!parse_endpoint(listen, &ip, &port) || ready_fd < 0 || sync_fd < 0) {
      std::fprintf(stderr, "dpsan-perf: --role server needs --listen IP:PORT, --ready-fd and --sync-fd\n");
      return 2;
    }
    return serve(ip, port, ready_fd, sync_fd);
  }

  std::string command = "dpsan-perf";
  for (int i = 1; i < argc; i++) command += std::string(" ") + argv[i];
  cpu_set_t all_cpus;
  pthread_getaffinity_np(pthread_self(), sizeof all_cpus, &all_cpus);
  MiniSwitch sw;
  std::vector<Result> rows;
  bool ok = true;
  for (std::string layout : {"ethdev", "uring", "memif", "veth"}) {
    bool in_all = layout == "ethdev" || layout == "uring";
    bool named = false;
    for (const auto& l : o.layouts) named |= l == layout;
    if (!named && !(in_all && wants(o.layouts, layout))) continue;
    // uring, when only implied by "all", is skipped where io_uring is unavailable.
    ok &= run_layout(o, sw, layout, named || layout != "uring", &rows);
  }
  // The baselines get every CPU back, as an application of their own would have.
  pthread_setaffinity_np(pthread_self(), sizeof all_cpus, &all_cpus);
  if (o.baseline == "kernel-tcp") run_baselines(o, &rows);
  std::vector<Ratios> ratios = ratios_of(rows);
  print_table(rows, ratios);
  std::string json = o.json;
  if (json.empty() && !o.plot.empty()) json = "/tmp/dpsan-perf-" + std::to_string(getpid()) + ".json";
  if (!json.empty() && !write_json(json, command, o.duration, rows, ratios)) {
    std::fprintf(stderr, "dpsan-perf: cannot write %s\n", json.c_str());
    return 1;
  }
  if (!o.plot.empty()) {
    bool drawn = plot(json, o.plot);
    if (o.json.empty()) unlink(json.c_str());
    if (!drawn) {
      std::fprintf(stderr, "dpsan-perf: --plot %s failed (python3-matplotlib installed?)\n", o.plot.c_str());
      return 1;
    }
  }
  for (const Result& r : rows)
    if (!r.error.empty()) ok = false;
  if (rows.empty()) return 77;  // every layout asked for was skipped: meson's "skipped"
  return ok ? 0 : 1;
}
