/* SPDX-License-Identifier: BSD-3-Clause */
#include "two_process.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sched.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace dpsan::perf {

namespace {

uint32_t ip(const char* a) {
  in_addr v{};
  inet_pton(AF_INET, a, &v);
  return v.s_addr;
}

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

/** Run a command (argv[0] looked up in PATH), quietly. @return its exit status, or -1. */
int run(const std::vector<std::string>& argv) {
  std::string cmd;
  for (const auto& a : argv) cmd += "'" + a + "' ";
  return std::system((cmd + ">/dev/null 2>&1").c_str());
}

/** The last CPU this thread may use; the first is the server's (two poll cores, two CPUs). */
std::pair<unsigned, unsigned> first_last_cpu() {
  cpu_set_t s;
  unsigned first = 0, last = 0;
  bool any = false;
  if (sched_getaffinity(0, sizeof s, &s) == 0)
    for (unsigned c = 0; c < CPU_SETSIZE; c++)
      if (CPU_ISSET(c, &s)) {
        if (!any) first = c;
        any = true;
        last = c;
      }
  return {first, last};
}

}  // namespace

std::string TwoProcess::write_configs() {
  char tmpl[] = "/tmp/dpsan-perf-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return "mkdtemp failed";
  dir_ = tmpl;
  std::string pid = std::to_string(getpid());
  std::string dev_a, dev_b;
  const char *a = "198.18.0.1", *b = "198.18.0.2";
  if (layout_ == "memif") {
    std::string sock = dir_ + "/memif.sock";
    dev_a = "net_memif0,role=server,socket=" + sock;
    dev_b = "net_memif0,role=client,socket=" + sock;
  } else {
    a = "198.18.1.1";
    b = "198.18.1.2";
    dev_a = "net_af_packet0,iface=dpp" + pid + "a";
    dev_b = "net_af_packet0,iface=dpp" + pid + "b";
  }
  server_ip_ = ip(a);
  client_ip_ = ip(b);
  auto [first, last] = first_last_cpu();
  std::ofstream(dir_ + "/server.toml") << "[fastpath]\nlcores = [" << first << "]\n[[port]]\ndevice = \""
                                       << dev_a << "\"\nipv4 = \"" << a << "/24\"\n";
  std::ofstream(dir_ + "/client.toml") << "[fastpath]\nlcores = [" << last << "]\n[[port]]\ndevice = \""
                                       << dev_b << "\"\nipv4 = \"" << b << "/24\"\n";
  return "";
}

std::string TwoProcess::make_namespaces() {
  std::string pid = std::to_string(getpid());
  ns_a_ = "dpsan-perf-a-" + pid;
  ns_b_ = "dpsan-perf-b-" + pid;
  std::string va = "dpp" + pid + "a", vb = "dpp" + pid + "b";
  if (run({"ip", "netns", "add", ns_a_}) != 0 || run({"ip", "netns", "add", ns_b_}) != 0)
    return "ip netns add failed";
  if (run({"ip", "link", "add", va, "netns", ns_a_, "type", "veth", "peer", "name", vb, "netns", ns_b_}) != 0)
    return "ip link add (veth) failed";
  for (auto [ns, dev] : {std::pair{ns_a_, va}, std::pair{ns_b_, vb}}) {
    // As scripts/veth-demo.sh: no IPv6 chatter, no offloads that af_packet would see.
    run({"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf." + dev + ".disable_ipv6=1"});
    run({"ip", "netns", "exec", ns, "ethtool", "-K", dev, "gro", "off", "gso", "off", "tso", "off",
         "tx", "off", "rx", "off"});
    if (run({"ip", "-n", ns, "link", "set", dev, "up"}) != 0 || run({"ip", "-n", ns, "link", "set", "lo", "up"}) != 0)
      return "ip link set up failed";
  }
  home_netns_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int fd = open(("/run/netns/" + ns_b_).c_str(), O_RDONLY | O_CLOEXEC);
  bool ok = fd >= 0 && home_netns_ >= 0 && setns(fd, CLONE_NEWNET) == 0;
  if (fd >= 0) close(fd);
  return ok ? "" : "cannot enter namespace " + ns_b_;
}

std::string TwoProcess::spawn(std::vector<std::string> argv) {
  int ready[2], sync[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return "pipe failed";
  if (pipe2(sync, O_CLOEXEC) != 0) {
    close(ready[0]);
    close(ready[1]);
    return "pipe failed";
  }
  argv.insert(argv.end(), {"--ready-fd", std::to_string(ready[1]), "--sync-fd", std::to_string(sync[0])});
  // Everything the child needs is built before fork: only async-signal-safe calls follow it.
  std::vector<char*> args, env;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::string config = "DPSAN_CONFIG=" + dir_ + "/server.toml";
  for (char** e = environ; *e; e++)
    if (std::strncmp(*e, "DPSAN_CONFIG=", 13) != 0) env.push_back(*e);
  env.push_back(config.data());
  env.push_back(nullptr);
  child_ = fork();
  if (child_ == 0) {
    fcntl(ready[1], F_SETFD, 0);  // these two survive the exec
    fcntl(sync[0], F_SETFD, 0);
    execvpe(args[0], args.data(), env.data());
    _exit(127);
  }
  close(ready[1]);
  close(sync[0]);
  sync_fd_ = sync[1];
  if (child_ < 0) {
    close(ready[0]);
    return "fork failed";
  }
  // The server starts first (a memif client's port does not start without the server's
  // socket); its startup may take a while on a loaded machine: 60 s at most.
  pollfd p{ready[0], POLLIN, 0};
  char buf[8] = {};
  bool ok = poll(&p, 1, 60000) == 1 && read(ready[0], buf, sizeof buf) == 6;
  close(ready[0]);
  return ok ? "" : "the server process did not start (its errors are above)";
}

std::string TwoProcess::start(bool* skip) {
  *skip = false;
  if (const char* old = std::getenv("DPSAN_CONFIG")) saved_config_ = old;
  if (layout_ == "veth") {
    if (geteuid() != 0) {
      *skip = true;
      return "layout veth needs root (network namespaces)";
    }
    if (run({"ip", "netns", "list"}) != 0) {
      *skip = true;
      return "layout veth needs iproute2 with network namespace support";
    }
  }
  std::string why = write_configs();
  if (why.empty() && layout_ == "veth") why = make_namespaces();
  if (!why.empty()) return why;
  std::string self = self_exe();
  char ipbuf[INET_ADDRSTRLEN];
  in_addr a{server_ip_};
  inet_ntop(AF_INET, &a, ipbuf, sizeof ipbuf);
  std::vector<std::string> argv = {self, "--role", "server", "--listen",
                                   std::string(ipbuf) + ":" + std::to_string(kPort)};
  if (layout_ == "veth") argv.insert(argv.begin(), {"ip", "netns", "exec", ns_a_});
  why = spawn(argv);
  if (!why.empty()) return why;
  setenv("DPSAN_CONFIG", (dir_ + "/client.toml").c_str(), 1);
  return "";
}

bool TwoProcess::finish() {
  if (done_) return true;
  done_ = true;
  bool ok = true;
  if (sync_fd_ >= 0) close(sync_fd_);
  if (child_ > 0) {
    int status = 0;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (waitpid(child_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > end) {
        kill(child_, SIGKILL);
        waitpid(child_, &status, 0);
        std::fprintf(stderr, "dpsan-perf: the %s server did not end within 20 s: killed\n", layout_.c_str());
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  if (home_netns_ >= 0) {
    setns(home_netns_, CLONE_NEWNET);
    close(home_netns_);
  }
  if (!ns_a_.empty()) run({"ip", "netns", "delete", ns_a_});
  if (!ns_b_.empty()) run({"ip", "netns", "delete", ns_b_});
  if (!dir_.empty()) {
    for (const char* f : {"/server.toml", "/client.toml", "/memif.sock"}) unlink((dir_ + f).c_str());
    rmdir(dir_.c_str());
  }
  if (saved_config_) setenv("DPSAN_CONFIG", saved_config_->c_str(), 1);
  else unsetenv("DPSAN_CONFIG");
  return ok;
}

}  // namespace dpsan::perf
