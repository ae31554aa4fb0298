/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Two network namespaces joined by a veth pair, for tests (header-only). Addresses come from
 * the benchmarking range: 198.18.<k>.1/24 on side 0 and .2/24 on side 1, k from the process id.
 * Made with the `ip` command (iproute2), removed by the destructor. Needs root; `why` says what
 * was missing when the pair could not be made, and the test then skips.
 */
#pragma once

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <sched.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace dpsan::test {

/** Run a command (no shell, output discarded) up to 10 s. @return its exit status, -1 if not. */
inline int run_cmd(const std::vector<std::string>& args) {
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  if (pid < 0) return -1;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int st = 0;
  while (waitpid(pid, &st, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct NetnsPair {
  std::string ns[2], ip[2], veth[2], why;
  /** `kernel_ip[i]`: give side i's veth its address (a raw Ethernet peer there needs none). */
  explicit NetnsPair(const char* tag, bool kernel_ip0 = true, bool kernel_ip1 = true) {
    unsigned k = static_cast<unsigned>(getpid()) % 250;
    std::string id = std::string(tag) + std::to_string(getpid() % 100000);
    for (int i = 0; i < 2; i++) {
      ns[i] = "dpsan-" + id + (i ? "b" : "a");
      veth[i] = "dp" + id + (i ? "b" : "a");  // <= 15 characters
      ip[i] = "198.18." + std::to_string(k) + "." + std::to_string(i + 1);
    }
    if (geteuid() != 0) {
      why = "network namespaces need root";
      return;
    }
    if (run_cmd({"ip", "netns", "add", ns[0]}) != 0 || run_cmd({"ip", "netns", "add", ns[1]}) != 0) {
      why = "cannot create network namespaces (ip netns add failed)";
      return;
    }
    bool ok = run_cmd({"ip", "link", "add", veth[0], "netns", ns[0], "type", "veth", "peer", "name",
                       veth[1], "netns", ns[1]}) == 0;
    bool with_ip[2] = {kernel_ip0, kernel_ip1};
    for (int i = 0; ok && i < 2; i++)
      ok = (!with_ip[i] || run_cmd({"ip", "-n", ns[i], "addr", "add", ip[i] + "/24", "dev", veth[i]}) == 0) &&
           run_cmd({"ip", "-n", ns[i], "link", "set", veth[i], "up"}) == 0 &&
           run_cmd({"ip", "-n", ns[i], "link", "set", "lo", "up"}) == 0;
    if (!ok) why = "cannot create a veth pair between the namespaces";
  }
  ~NetnsPair() {
    for (const auto& n : ns) run_cmd({"ip", "netns", "del", n});
  }
  /** Run `args` inside namespace `i`. @return its exit status. */
  int in(int i, std::vector<std::string> args) const {
    args.insert(args.begin(), {"ip", "netns", "exec", ns[i]});
    return run_cmd(args);
  }
  /** Move the calling thread into namespace `i` (setns). @return false on failure. */
  bool enter(int i) const {
    int fd = open(("/run/netns/" + ns[i]).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = setns(fd, CLONE_NEWNET) == 0;
    close(fd);
    return ok;
  }
};

}  // namespace dpsan::test
