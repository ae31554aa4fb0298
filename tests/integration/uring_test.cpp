/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Two dpsan processes on `uring` ports (kernel UDP sockets on 127.x.y.z loopback addresses)
 * connect and exchange messages both ways through the public SPI, then RDMA writes and reads
 * (dpsan_peer --rdma, one process each), with and without injected faults; also with an
 * ethdev (net_af_packet) peer, at the same MTU and at different ones. Skips where io_uring is
 * unavailable, and the namespace cases without root.
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

/** The [[port]] table of a uring port bound to `bind`. */
std::string uring_port(const std::string& bind, const std::string& more = "") {
  return "[[port]]\nbackend = \"uring\"\nbind = \"" + bind + "\"\n" + more;
}

/** The [[port]] table of an ethdev port on net_af_packet over `iface`, serving `ip`/24. */
std::string af_packet_port(const std::string& iface, const std::string& ip) {
  return "[[port]]\ndevice = \"net_af_packet0,iface=" + iface + "\"\nipv4 = \"" + ip + "/24\"\n";
}

/** A configuration file: [fastpath] (+ DPSAN_TEST_FASTPATH), `extra` sections, then `port`. */
std::string write_config(const std::string& name, const std::string& port, const std::string& extra) {
  std::string path = "/tmp/dpsan-uring-" + std::to_string(getpid()) + "-" + name + ".toml";
  std::ofstream f(path);
  const char* more = std::getenv("DPSAN_TEST_FASTPATH");
  f << "[fastpath]\nconnect_timeout_ms = 20000\n" << (more ? more : "") << extra << port;
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

/** One endpoint: its configuration's [[port]], its address, and the command prefix it runs under. */
struct Side {
  std::string port, ip;
  std::vector<std::string> prefix;
};

/**
 * A listener process (side `l`) and a connector process (side `c`) exchange `n` messages each
 * way; `extra` goes into both configurations (a [fault] section).
 */
void run_pair_sides(unsigned n, const std::string& extra, const Side& l, const Side& c) {
  std::string peer = PEER_PATH;
  std::string cl = write_config("l", l.port, extra), cc = write_config("c", c.port, extra);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  std::vector<std::string> args_l = l.prefix, args_c = c.prefix;
  const std::vector<std::string> common = {"--conns", "1", "--messages", std::to_string(n), "--max-size",
                                           "65536", "--rdma", "--timeout-s", "100"};
  for (const auto& x : {peer, std::string("--listen"), l.ip + ":5000", std::string("--ready-fd"), std::to_string(ready[1])})
    args_l.push_back(x);
  for (const auto& x : {peer, std::string("--connect"), l.ip + ":5000", std::string("--bind"), c.ip})
    args_c.push_back(x);
  args_l.insert(args_l.end(), common.begin(), common.end());
  args_c.insert(args_c.end(), common.begin(), common.end());
  pid_t server = spawn(args_l, cl, ready[1]);
  ::close(ready[1]);
  pollfd pf{ready[0], POLLIN, 0};
  char ch = 0;
  bool listening = poll(&pf, 1, 30000) == 1 && read(ready[0], &ch, 1) == 1;
  ::close(ready[0]);
  std::vector<pid_t> pids = {server};
  if (listening) pids.push_back(spawn(args_c, cc));
  auto st = wait_all(pids, 120);
  unlink(cl.c_str());
  unlink(cc.c_str());
  ASSERT_TRUE(listening) << "the listening process did not come up (status " << st[0] << ")";
  EXPECT_EQ(st[0], 0) << "listener";
  EXPECT_EQ(st[1], 0) << "connector";
}

void run_pair(unsigned n, const std::string& extra, unsigned a, unsigned b) {
  run_pair_sides(n, extra, {uring_port(lo_ip(a)), lo_ip(a), {}}, {uring_port(lo_ip(b) + ":21316"), lo_ip(b), {}});
}

const char* kFaults = "[fault]\nloss = 0.05\nduplicate = 0.02\nreorder = 0.05\ncorrupt = 0.01\n";

}  // namespace

// Given two processes, each on its own uring port; Expect: they connect and 300 messages of
// 1 B to 64 KiB go each way, once, intact and in order; then RDMA writes and reads of 1 B to
// 1 MiB into the listener's region are each checked (R42-R44).
TEST(Uring, R40_TwoProcessesExchangeMessages) {
  if (std::string why = uring_missing(); !why.empty()) GTEST_SKIP() << why;
  run_pair(300, "", 2, 3);
}

// Given the same under 5 % loss, 2 % duplication, 5 % reordering and 1 % corruption on both
// transmit sides; Expect: the same, through retransmissions.
TEST(Uring, R40_TwoProcessesExchangeMessagesUnderFaults) {
  if (std::string why = uring_missing(); !why.empty()) GTEST_SKIP() << why;
  run_pair(200, kFaults, 4, 5);
}

// Given two processes in two network namespaces, each on a uring port on its end of a veth pair
// (MTU 1500: smaller frames, GSO and GRO through a real device); Expect: the same exchange works,
// with and without faults.
TEST(Uring, R40_TwoNamespacesOverVeth) {
  if (std::string why = uring_missing(); !why.empty()) GTEST_SKIP() << why;
  NetnsPair net("u");
  if (!net.why.empty()) GTEST_SKIP() << net.why;
  Side a{uring_port(net.ip[0]), net.ip[0], {"ip", "netns", "exec", net.ns[0]}};
  Side b{uring_port(net.ip[1]), net.ip[1], {"ip", "netns", "exec", net.ns[1]}};
  run_pair_sides(300, "", a, b);
  run_pair_sides(100, kFaults, a, b);
}

// Given an ethdev process (net_af_packet on one end of a veth pair, namespace 0, no kernel
// address there: dpsan answers ARP itself) and a uring process (a kernel UDP socket on the
// other end, namespace 1); Expect: each connects to the other and they exchange messages both
// ways, also under faults on both sides. The uring side's veth cuts GSO batches in software
// (tx-udp-segmentation off), as the README asks toward a raw Ethernet peer; without ethtool the
// uring port sends with gso = false instead.
TEST(Uring, R40_InteropEthdevAfPacketAndUringInNamespaces) {
  if (std::string why = uring_missing(); !why.empty()) GTEST_SKIP() << why;
  NetnsPair net("i", false, true);
  if (!net.why.empty()) GTEST_SKIP() << net.why;
  bool cut = net.in(1, {"ethtool", "-K", net.veth[1], "tx-udp-segmentation", "off"}) == 0;
  Side ethdev{af_packet_port(net.veth[0], net.ip[0]), net.ip[0], {"ip", "netns", "exec", net.ns[0]}};
  Side uring{uring_port(net.ip[1], cut ? "" : "gso = false\n"), net.ip[1], {"ip", "netns", "exec", net.ns[1]}};
  {
    SCOPED_TRACE("ethdev listens, uring connects");
    run_pair_sides(300, "", ethdev, uring);
  }
  {
    SCOPED_TRACE("uring listens, ethdev connects");
    run_pair_sides(300, "", uring, ethdev);
  }
  {
    SCOPED_TRACE("uring listens, ethdev connects, faults on both sides");
    run_pair_sides(150, kFaults, uring, ethdev);
  }
  {
    SCOPED_TRACE("ethdev listens, uring connects, faults on both sides");
    run_pair_sides(150, kFaults, ethdev, uring);
  }
}

// Given the same pair, but the uring side's veth at MTU 9000 while the ethdev side's stays at
// 1500 (its net_af_packet port takes no more): the uring port runs at 9000, and a datagram
// longer than 1500 dies at the veth's far end. Expect: the segment size agreed in the handshake
// (README "Wire format") keeps both sides at 1,416 payload bytes per frame, so messages and
// RDMA (1 B to 1 MiB, both directions of connection) go through either way round.
TEST(Uring, R40_InteropMixedMtuEthdev1500AndUring9000) {
  if (std::string why = uring_missing(); !why.empty()) GTEST_SKIP() << why;
  NetnsPair net("j", false, true);
  if (!net.why.empty()) GTEST_SKIP() << net.why;
  ASSERT_EQ(net.in(1, {"ip", "link", "set", "dev", net.veth[1], "mtu", "9000"}), 0);
  bool cut = net.in(1, {"ethtool", "-K", net.veth[1], "tx-udp-segmentation", "off"}) == 0;
  Side ethdev{af_packet_port(net.veth[0], net.ip[0]), net.ip[0], {"ip", "netns", "exec", net.ns[0]}};
  Side uring{uring_port(net.ip[1], cut ? "" : "gso = false\n"), net.ip[1], {"ip", "netns", "exec", net.ns[1]}};
  {
    SCOPED_TRACE("ethdev (1500) listens, uring (9000) connects");
    run_pair_sides(200, "", ethdev, uring);
  }
  {
    SCOPED_TRACE("uring (9000) listens, ethdev (1500) connects");
    run_pair_sides(200, "", uring, ethdev);
  }
}
