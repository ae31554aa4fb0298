/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Two hosts over a veth pair: the test creates two network namespaces joined by a veth pair
 * (names carry its PID; addresses 198.18.1.1 and 198.18.1.2 in the benchmarking range), runs
 * a dpsan_peer with net_af_packet on each end through `ip netns exec`, checks both summaries
 * (R40: every message once, intact and in order; R35: every operation completed once), and
 * removes the namespaces on every way out. Without root, `ip` or namespace support it skips,
 * saying why.
 */
#include <gtest/gtest.h>

#include "harness.h"

using namespace dpsan::itest;

TEST(Veth, R40_TwoNamespacesOverAfPacketEveryMessageOnceInOrder) {
  NetnsPair net;
  if (!net.unavailable().empty()) GTEST_SKIP() << "veth test skipped: " << net.unavailable();
  TempDir dir("veth");
  std::string cfg_a = dir.write("a.toml", one_port_config("net_af_packet0,iface=" + net.if_a, "198.18.1.1/24", 0, kPatientPeers));
  std::string cfg_b = dir.write("b.toml", one_port_config("net_af_packet0,iface=" + net.if_b, "198.18.1.2/24", 1, kPatientPeers));
  const std::string peer = peer_path();
  const std::vector<std::string> common = {"--conns", "4", "--messages", "300", "--min-size", "1",
                                           "--max-size", "262144", "--seed", "21", "--timeout-s", "75"};
  std::vector<std::string> la = {"ip", "netns", "exec", net.ns_a, peer, "--listen", "198.18.1.1:5300", "-v"};
  std::vector<std::string> lb = {"ip", "netns", "exec", net.ns_b, peer, "--connect", "198.18.1.1:5300"};
  la.insert(la.end(), common.begin(), common.end());
  lb.insert(lb.end(), common.begin(), common.end());
  // The connecting side retries until its listener is up, but starting it second saves retries.
  Child a = spawn("peer-a", la, {"DPSAN_CONFIG=" + cfg_a}, dir.path());
  auto deadline = Clock::now() + std::chrono::seconds(90);
  wait_for_stderr(&a, "listening on", Clock::now() + std::chrono::seconds(30));
  Child b = spawn("peer-b", lb, {"DPSAN_CONFIG=" + cfg_b}, dir.path());
  wait_child(&a, deadline);
  wait_child(&b, deadline);
  std::string logs = child_output(a) + child_output(b);
  auto sa = peer_summary(a), sb = peer_summary(b);
  ASSERT_EQ(a.status, 0) << logs;
  ASSERT_EQ(b.status, 0) << logs;
  for (auto* s : {&sa, &sb}) {
    EXPECT_EQ((*s)["result"], "ok") << logs;
    EXPECT_EQ(num(*s, "conns_done"), 4u) << logs;
    EXPECT_EQ(num(*s, "msgs_rx"), 1200u) << logs;
    EXPECT_EQ(num(*s, "ops_posted"), num(*s, "ops_completed")) << logs;
    EXPECT_EQ(num(*s, "violations"), 0u) << logs;
    std::printf("veth: role=%s msgs_rx=%s bytes_rx=%s retransmits=%s elapsed_ms=%s\n", (*s)["role"].c_str(),
                (*s)["msgs_rx"].c_str(), (*s)["bytes_rx"].c_str(), (*s)["retransmits"].c_str(),
                (*s)["elapsed_ms"].c_str());
  }
  EXPECT_EQ(num(sa, "bytes_rx"), num(sb, "bytes_tx")) << logs;
}
