/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The EAL of a microbenchmark with its own main (rings, mbufs, ports): brought up once by main
 * before the benchmarks run, and down after them. Benchmarks that need it call eal_ready(),
 * which reports an error (failing the `micro-smoke` test, micro_main.h) when it is not up.
 */
#pragma once

#include <pthread.h>
#include <sched.h>

#include <string>

#include <benchmark/benchmark.h>
#include <rte_eal.h>
#include <rte_errno.h>

namespace dpsan::micro {

/** Set by eal_start (main thread, before the benchmarks); read-only afterwards. */
struct EalState {
  bool up = false;
  std::string error = "not started";  ///< why it is not up
};
inline EalState g_eal;

/**
 * Main thread, once, before run_benchmarks(): rte_eal_init with no hugepages, no PCI, no
 * telemetry and no shared files (DPDK 22.11 refuses --in-memory with --no-huge, so
 * --no-shconf stands in for it), its files named after `file_prefix`. "-l 0" pins this thread
 * to CPU 0: the affinity is put back afterwards so that the benchmarks run where the caller let
 * them.
 * @return whether it is up; if not, g_eal.error says why ("rte_eal_init failed: ...").
 */
inline bool eal_start(const char* file_prefix) {
  std::string prefix = std::string("--file-prefix=") + file_prefix;
  const char* eal_args[] = {"bench",          "--no-huge",      "-m",
                            "256",            "--no-shconf",    prefix.c_str(),
                            "--no-pci",       "--no-telemetry", "--log-level=lib.*:error",
                            "-l",             "0"};
  cpu_set_t cpus;
  pthread_getaffinity_np(pthread_self(), sizeof cpus, &cpus);
  int eal_argc = static_cast<int>(sizeof eal_args / sizeof eal_args[0]);
  if (rte_eal_init(eal_argc, const_cast<char**>(eal_args)) < 0) {
    g_eal.error = std::string("rte_eal_init failed: ") + rte_strerror(rte_errno);
  } else {
    g_eal = EalState{true, ""};
  }
  pthread_setaffinity_np(pthread_self(), sizeof cpus, &cpus);
  return g_eal.up;
}

/** Main thread, after the benchmarks and after freeing what they took from the EAL. */
inline void eal_stop() {
  if (g_eal.up) rte_eal_cleanup();
  g_eal.up = false;
}

/** For a benchmark that needs the EAL: true if it is up, else false after SkipWithError. */
inline bool eal_ready(benchmark::State& state) {
  if (g_eal.up) return true;
  state.SkipWithError(("no EAL: " + g_eal.error).c_str());
  return false;
}

}  // namespace dpsan::micro
