/* SPDX-License-Identifier: BSD-3-Clause */
#include "eal.h"

#include <fstream>
#include <pthread.h>
#include <sched.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "fastpath/tsan.h"

namespace dpsan::control {

namespace {

bool g_done = false;
bool g_ok = false;
std::string g_error;
EalInfo g_info;

unsigned long read_ulong(const char* path) {
  std::ifstream f(path);
  unsigned long v = 0;
  f >> v;
  return v;
}

/** Enough free 2 MiB pages for an instance (~256 MiB), and a hugetlbfs to take them from. */
bool hugepages_usable() {
  unsigned long free_pages = read_ulong("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
  if (free_pages < 128) return false;
  std::ifstream mounts("/proc/mounts");
  std::string line;
  while (std::getline(mounts, line))
    if (line.find(" hugetlbfs ") != std::string::npos) return true;
  return false;
}

}  // namespace

bool eal_init_once(const Config& cfg, EalInfo* info, std::string* error) {
  if (g_done) {
    *info = g_info;
    *error = g_error;
    return g_ok;
  }
  g_done = true;

  cpu_set_t caller_cpus;
  pthread_getaffinity_np(pthread_self(), sizeof caller_cpus, &caller_cpus);
  std::vector<unsigned> cpus;
  for (unsigned c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &caller_cpus)) cpus.push_back(c);
  if (cpus.empty()) cpus.push_back(0);

  // Main lcore 0 stays with the switch's thread (its affinity is restored below). Poll lcores
  // 1..N go to the configured CPUs, by default the last CPU this process may use.
  std::vector<unsigned> poll_cpus = cfg.lcores;
  if (poll_cpus.empty()) poll_cpus.push_back(cpus.back());
  std::string lcores = "0@" + std::to_string(cpus.front());
  for (size_t i = 0; i < poll_cpus.size(); i++) {
    lcores += "," + std::to_string(i + 1) + "@" + std::to_string(poll_cpus[i]);
    g_info.poll_lcores.push_back(static_cast<unsigned>(i + 1));
  }

  g_info.hugepages = !cfg.force_no_huge && hugepages_usable();
  std::vector<std::string> args = {"dpsan", "--lcores=" + lcores, "--main-lcore=0",
                                   "--no-telemetry", "--log-level=lib.*:error",
                                   // One prefix serves every process: nothing is shared between
                                   // them, so a killed process leaves no files behind that could
                                   // stop the next one (R22).
                                   "--file-prefix=dpsan"};
  // PCI devices are used only when a port names one; vdevs are probed later (rte_dev_probe).
  bool pci = false;
  for (const PortConfig& p : cfg.ports) {
    if (!p.pci) continue;
    args.push_back("-a");
    args.push_back(p.device);
    pci = true;
  }
  if (!pci) args.push_back("--no-pci");
  if (g_info.hugepages) {
    args.push_back("--in-memory");  // hugepages without hugetlbfs files
  } else {
    // --no-huge implies legacy memory, which --in-memory refuses; --no-shconf shares nothing.
    args.insert(args.end(), {"--no-huge", "-m", "512", "--no-shconf"});
  }
  for (const auto& a : cfg.eal_args) args.push_back(a);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int rc = rte_eal_init(static_cast<int>(args.size()), argv.data());
  pthread_setaffinity_np(pthread_self(), sizeof caller_cpus, &caller_cpus);
  if (rc < 0) {
    g_error = std::string("rte_eal_init failed: ") + rte_strerror(rte_errno);
    *error = g_error;
    return false;
  }
  fastpath::tsan_annotate_mempools();  // build-tsan only: DPDK's pools are invisible to TSan
  g_ok = true;
  *info = g_info;
  return true;
}

}  // namespace dpsan::control
