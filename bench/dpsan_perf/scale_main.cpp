/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * dpsan-scale: stream throughput from 1 to N poll cores.
 *
 * The EAL starts once per process, so each core count runs in a child process of its own
 * (this program again, with --child N and a generated DPSAN_CONFIG). A child starts the
 * provider with N poll cores on the last N CPUs, connects N pairs over the loopback port (the
 * sockets go to the cores in turn, so pair i lives on core i), streams on all of them at once
 * from N driver threads on the other CPUs, and prints one line; the parent prints the table
 * and each count's speed-up over one core. N defaults to the CPUs minus one (the switch's).
 */
#include <CLI/CLI.hpp>

#include <cstdio>
#include <pthread.h>
#include <sched.h>
#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "dpsan_transport.h"
#include "mini_switch.h"

using namespace dpsan::perf;

namespace {

/** Child: stream on `cores` pairs at once; print "msgs_per_s gbps" or "error ...". */
int run_child(unsigned cores, uint32_t size, double seconds, unsigned window) {
  MiniSwitch sw;
  if (int rc = sw.startup()) {
    std::printf("error WSPStartupEx %d\n", rc);
    return 1;
  }
  std::vector<SOCKET> a(cores), b(cores);
  for (unsigned i = 0; i < cores; i++) {
    std::string err = sw.connect_pair(static_cast<uint16_t>(47000 + i), &a[i], &b[i]);
    if (!err.empty()) {
      std::printf("error %s\n", err.c_str());
      return 1;
    }
  }
  // Drivers stay off the poll cores' CPUs (the last `cores`), where there are others.
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  cpu_set_t free_cpus;
  CPU_ZERO(&free_cpus);
  for (long c = 0; c < cpus - static_cast<long>(cores); c++) CPU_SET(c, &free_cpus);
  std::vector<Result> res(cores);
  std::vector<std::thread> drivers;
  for (unsigned i = 0; i < cores; i++)
    drivers.emplace_back([&, i] {
      if (CPU_COUNT(&free_cpus)) pthread_setaffinity_np(pthread_self(), sizeof free_cpus, &free_cpus);
      res[i] = dpsan_stream(sw, a[i], b[i], size, seconds, window);
    });
  for (auto& t : drivers) t.join();
  double msgs = 0, gbps = 0;
  for (const Result& r : res) {
    if (!r.error.empty()) {
      std::printf("error %s\n", r.error.c_str());
      return 1;
    }
    msgs += r.msgs_per_s;
    gbps += r.gbps;
  }
  std::printf("%.0f %.3f\n", msgs, gbps);
  return sw.cleanup() == 0 ? 0 : 1;
}

/** Parent: run a child for `cores` and read its line. */
std::string run_count(const char* self, unsigned cores, uint32_t size, double seconds,
                      unsigned window) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  std::string lcores;
  for (unsigned i = 0; i < cores; i++)
    lcores += (i ? ", " : "") + std::to_string(cpus - cores + i);
  std::string cfg = "/tmp/dpsan-scale-" + std::to_string(getpid()) + ".toml";
  std::ofstream(cfg) << "[fastpath]\nlcores = [" << lcores << "]\n";
  std::string cmd = "DPSAN_CONFIG=" + cfg + " " + self + " --child " + std::to_string(cores) +
                    " --size " + std::to_string(size) + " --duration " + std::to_string(seconds) +
                    " --window " + std::to_string(window);
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, p)) out = line;
    pclose(p);
  }
  unlink(cfg.c_str());
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dpsan-scale: stream throughput from 1 to N poll cores"};
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  unsigned max_cores = cpus > 1 ? static_cast<unsigned>(cpus - 1) : 1, child = 0, window = 64;
  uint32_t size = 64;
  double duration = 2;
  app.add_option("--max-cores", max_cores, "largest poll-core count (default: CPUs - 1)")
      ->check(CLI::Range(1u, 16u));
  app.add_option("--size", size, "message size in bytes")->check(CLI::Range(1u, 1u << 20));
  app.add_option("--duration", duration, "seconds per core count")->check(CLI::Range(0.1, 600.0));
  app.add_option("--window", window, "messages in flight per connection")->check(CLI::Range(1u, 1024u));
  app.add_option("--child", child, "internal: run one core count")->group("");
  CLI11_PARSE(app, argc, argv);
  if (child) return run_child(child, size, duration, window);

  std::printf("%-6s %14s %10s %9s\n", "cores", "msgs/s", "Gbit/s", "speed-up");
  double base = 0;
  int status = 0;
  for (unsigned n = 1; n <= max_cores; n++) {
    std::string line = run_count(argv[0], n, size, duration, window);
    double msgs = 0, gbps = 0;
    if (std::sscanf(line.c_str(), "%lf %lf", &msgs, &gbps) != 2) {
      std::printf("%-6u  FAILED: %s\n", n, line.empty() ? "no output" : line.c_str());
      status = 1;
      continue;
    }
    if (n == 1) base = msgs;
    std::printf("%-6u %14.0f %10.3f %8.2fx\n", n, msgs, gbps, base > 0 ? msgs / base : 0.0);
  }
  return status;
}
