/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Two dpsan processes on `uring` ports (kernel UDP sockets on 127.x.y.z loopback addresses)
 * connect and exchange messages both ways through the public SPI (integration_peer, one
 * process each), with and without injected faults. Skips where io_uring is unavailable.
 */
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <cstdio>
#include <fstream>
#include <liburing.h>
#include <poll.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "tests/common/netns.h"

namespace {

using dpsan::test::NetnsPair;

using Clock = std::chrono::steady_clock;

/** io_uring as the uring port needs it, or why not. */
std::string uring_missing() {
  io_uring ring;
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  int rc = io_uring_queue_init_params(4, &ring, &p);
  if (rc < 0) return std::string("io_uring with DEFER_TASKRUN is unavailable: ") + strerror(-rc);
  io_uring_queue_exit(&ring);
  return "";
}

/** 127.<pid bits>.n: addresses of this test run only. */
std::string lo_ip(unsigned n) {
  unsigned p = static_cast<unsigned>(getpid());
  return "127." + std::to_string(1 + p % 250) + "." + std::to_string((p / 250) % 250) + "." +
         std::to_string(n);
}

std::string write_config(const std::string& name, const std::string& bind, const std::string& extra) {
  std::string path = "/tmp/dpsan-uring-" + std::to_string(getpid()) + "-" + name + ".toml";
  std::ofstream f(path);
  f << "[fastpath]\nconnect_timeout_ms = 20000\n" << (std::getenv("DPSAN_TEST_FASTPATH") ? std::getenv("DPSAN_TEST_FASTPATH") : "") << extra << "[[port]]\nbackend = \"uring\"\nbind = \"" << bind << "\"\n";
  return path;
}

pid_t spawn(const std::vector<std::string>& args, const std::string& config, int keep_fd = -1) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  setenv("DPSAN_CONFIG", config.c_str(), 1);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  (void)keep_fd;  // inherited as is (no CLOEXEC)
  execvp(argv[0], argv.data());
  _exit(127);
}

/** Wait for every pid up to `seconds`; kill what is left. @return exit statuses (-1: killed). */
std::vector<int> wait_all(const std::vector<pid_t>& pids, int seconds) {
  std::vector<int> st(pids.size(), -2);
  auto end = Clock::now() + std::chrono::seconds(seconds);
  size_t left = pids.size();
  while (left && Clock::now() < end) {
    for (size_t i = 0; i < pids.size(); i++) {
      int s = 0;
      if (st[i] == -2 && waitpid(pids[i], &s, WNOHANG) == pids[i]) {
        st[i] = WIFEXITED(s) ? WEXITSTATUS(s) : -1;
        left--;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (size_t i = 0; i < pids.size(); i++) {
    if (st[i] != -2) continue;
    kill(pids[i], SIGKILL);
    waitpid(pids[i], nullptr, 0);
    st[i] = -1;
  }
  return st;
}

/**
 * A listener process and a connector process exchange `n` messages each way. `la`/`lb` are
 * their addresses; `prefix_a`/`prefix_b` the commands they run under (ip netns exec ...).
 */
void run_pair_at(unsigned n, const std::string& extra, const std::string& la, const std::string& lb,
                 const std::vector<std::string>& prefix_a, const std::vector<std::string>& prefix_b) {
  std::string peer = PEER_PATH;
  std::string ca = write_config("a", la, extra), cb = write_config("b", lb + ":21316", extra);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  std::vector<std::string> args_a = prefix_a, args_b = prefix_b;
  for (const auto& x : {peer, std::string("listen"), la, std::string("5000"), std::to_string(n), std::to_string(ready[1])})
    args_a.push_back(x);
  for (const auto& x : {peer, std::string("connect"), la, std::string("5000"), std::to_string(n), lb})
    args_b.push_back(x);
  pid_t server = spawn(args_a, ca, ready[1]);
  ::close(ready[1]);
  pollfd pf{ready[0], POLLIN, 0};
  char c = 0;
  bool listening = poll(&pf, 1, 30000) == 1 && read(ready[0], &c, 1) == 1;
  ::close(ready[0]);
  std::vector<pid_t> pids = {server};
  if (listening) pids.push_back(spawn(args_b, cb));
  auto st = wait_all(pids, 120);
  unlink(ca.c_str());
  unlink(cb.c_str());
  ASSERT_TRUE(listening) << "the listening process did not come up (status " << st[0] << ")";
  EXPECT_EQ(st[0], 0) << "listener";
  EXPECT_EQ(st[1], 0) << "connector";
}

void run_pair(unsigned n, const std::string& extra, unsigned a, unsigned b) {
  run_pair_at(n, extra, lo_ip(a), lo_ip(b), {}, {});
}

}  // namespace

// Given two processes, each on its own uring port; Expect: they connect and 300 messages of
// 1 B to 64 KiB go each way, once, intact and in order.
TEST(Uring, R40_TwoProcessesExchangeMessages) {
  if (std::string why = uring_missing(); !why.empty()) GTEST_SKIP() << why;
  run_pair(300, "", 2, 3);
}

// Given the same under 5 % loss, 2 % duplication, 5 % reordering and 1 % corruption on both
// transmit sides; Expect: the same, through retransmissions.
TEST(Uring, R40_TwoProcessesExchangeMessagesUnderFaults) {
  if (std::string why = uring_missing(); !why.empty()) GTEST_SKIP() << why;
  run_pair(200, "[fault]\nloss = 0.05\nduplicate = 0.02\nreorder = 0.05\ncorrupt = 0.01\n", 4, 5);
}

// Given two processes in two network namespaces, each on a uring port on its end of a veth pair
// (MTU 1500: smaller frames, GSO and GRO through a real device); Expect: the same exchange works,
// with and without faults.
TEST(Uring, R40_TwoNamespacesOverVeth) {
  if (std::string why = uring_missing(); !why.empty()) GTEST_SKIP() << why;
  NetnsPair net("u");
  if (!net.why.empty()) GTEST_SKIP() << net.why;
  run_pair_at(300, "", net.ip[0], net.ip[1], {"ip", "netns", "exec", net.ns[0]},
              {"ip", "netns", "exec", net.ns[1]});
  run_pair_at(100, "[fault]\nloss = 0.05\nduplicate = 0.02\nreorder = 0.05\ncorrupt = 0.01\n",
              net.ip[0], net.ip[1], {"ip", "netns", "exec", net.ns[0]}, {"ip", "netns", "exec", net.ns[1]});
}
