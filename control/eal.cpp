/* SPDX-License-Identifier: BSD-3-Clause */
#include "eal.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
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
 * The PID in a name "dpsan-<pid>" as eal_init_once makes it, or 0 for any other name. Digits
 * only, no leading zero, at most INT_MAX: strtol would also take "dpsan- +12", and a value past
 * pid_t would be truncated to another process's PID (or to -1, "every process" for kill()).
 */
pid_t prefix_pid(const char* name) {
  if (std::strncmp(name, kPrefix, sizeof kPrefix - 1) != 0) return 0;
  const char* p = name + sizeof kPrefix - 1;
  if (*p == '0') return 0;
  long long pid = 0;
  int digits = 0;
  for (; *p >= '0' && *p <= '9' && digits < 10; p++, digits++) pid = pid * 10 + (*p - '0');
  if (digits == 0 || *p != '\0' || pid > INT_MAX) return 0;
  return static_cast<pid_t>(pid);
}

}  // namespace

int sweep_dead_runtime_dirs(const std::string& parent) {
  int pfd = open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0) return 0;
  DIR* d = fdopendir(pfd);
  if (d == nullptr) {
    close(pfd);
    return 0;
  }
  int removed = 0;
  for (int n = 0; n < 4096; n++) {  // bounded: a runtime directory holds few entries
    dirent* e = readdir(d);
    if (e == nullptr) break;
    pid_t pid = prefix_pid(e->d_name);
    // Alive, or EPERM (alive, another user's): not ours to remove. A zombie still counts as alive.
    if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH) continue;
    // Relative to the directory fds, no symlink followed, and only our own directories: without
    // root and XDG_RUNTIME_DIR the parent is /tmp/dpdk, where anyone may plant a "dpsan-<pid>"
    // symlink to a directory whose files we would otherwise unlink.
    int sfd = openat(pfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0) continue;
    struct stat st{};
    if (fstat(sfd, &st) != 0 || st.st_uid != geteuid()) {
      close(sfd);
      continue;
    }
    if (DIR* sub = fdopendir(sfd)) {
      for (int k = 0; k < 64; k++) {  // the telemetry socket; DPDK puts nothing else there for us
        dirent* f = readdir(sub);
        if (f == nullptr) break;
        if (std::strcmp(f->d_name, ".") != 0 && std::strcmp(f->d_name, "..") != 0) unlinkat(sfd, f->d_name, 0);
      }
      closedir(sub);  // closes sfd
    } else {
      close(sfd);
    }
    // Fails, harmlessly, if something we did not remove is left, or if another starting
    // process swept the same directory first.
    if (unlinkat(pfd, e->d_name, AT_REMOVEDIR) == 0) removed++;
  }
  closedir(d);
  return removed;
}

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
  // R22: the runtime directories of killed processes (our own is <parent>/dpsan-<getpid()>).
  std::string runtime_dir = rte_eal_get_runtime_dir();
  sweep_dead_runtime_dirs(runtime_dir.substr(0, runtime_dir.rfind('/')));
  // Without telemetry (an --no-telemetry in eal_args) the commands are registered but unreachable.
  telemetry_register();
  g_ok = true;
  *info = g_info;
  return true;
}

}  // namespace dpsan::control
