/* SPDX-License-Identifier: BSD-3-Clause */
#include "eal.h"

#include <cerrno>
#include <cstring>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "fastpath/tsan.h"
#include "telemetry.h"

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

constexpr char kPrefix[] = "dpsan-";

/**
 * Remove the runtime directories (DPDK's telemetry socket, nothing else under --in-memory or
 * --no-shconf) that earlier dpsan processes left behind, so that they do not pile up: those
 * named after a process that no longer exists (seen from this PID namespace: processes of other
 * PID namespaces sharing the runtime directory would need prefixes of their own, via [eal] args).
 * `runtime_dir` is this process's own.
 */
void sweep_dead_runtime_dirs(const std::string& runtime_dir) {
  std::string parent = runtime_dir.substr(0, runtime_dir.rfind('/'));
  DIR* d = opendir(parent.c_str());
  if (d == nullptr) return;
  for (int n = 0; n < 4096; n++) {  // bounded: a runtime directory holds few entries
    dirent* e = readdir(d);
    if (e == nullptr) break;
    if (std::strncmp(e->d_name, kPrefix, sizeof kPrefix - 1) != 0) continue;
    char* end = nullptr;
    long pid = std::strtol(e->d_name + sizeof kPrefix - 1, &end, 10);
    if (pid <= 0 || *end != '\0' || kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)
      continue;
    std::string dir = parent + "/" + e->d_name;
    if (DIR* sub = opendir(dir.c_str())) {
      for (int k = 0; k < 64; k++) {
        dirent* f = readdir(sub);
        if (f == nullptr) break;
        if (f->d_name[0] != '.') unlink((dir + "/" + f->d_name).c_str());
      }
      closedir(sub);
    }
    rmdir(dir.c_str());
  }
  closedir(d);
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
  // A prefix per process: nothing is shared between processes, and each has its own telemetry
  // socket (<runtime dir>/dpsan-<pid>/dpdk_telemetry.v2), which with one shared prefix would
  // collide and fail the second process's rte_eal_init. A killed process leaves only that
  // directory, named after a PID no other live process has, so it cannot stop the next one
  // (R22); the next process removes it (sweep_dead_runtime_dirs).
  std::vector<std::string> args = {"dpsan", "--lcores=" + lcores, "--main-lcore=0",
                                   "--log-level=lib.*:error",
                                   "--file-prefix=" + std::string(kPrefix) + std::to_string(getpid())};
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
  sweep_dead_runtime_dirs(rte_eal_get_runtime_dir());
  // Without telemetry (an --no-telemetry in eal_args) the commands are registered but unreachable.
  telemetry_register();
  g_ok = true;
  *info = g_info;
  return true;
}

}  // namespace dpsan::control
