/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Two processes over net_memif: two dpsan_peer processes, each with its own EAL and its own
 * configuration (one memif server, one client, 198.18.0.1 and 198.18.0.2), exchange checked
 * messages on several connections. Each peer checks that every message arrived exactly once,
 * intact and in order (R40) and that every operation completed exactly once (R35, R36); the
 * test checks both summaries agree.
 */
#include <gtest/gtest.h>

#include <thread>

#include "harness.h"

using namespace dpsan::itest;

namespace {

struct Exchange {
  std::vector<std::string> args;  // dpsan_peer arguments both ends share
  unsigned conns, messages;
  int timeout_s;
};

/** Runs a listening and a connecting dpsan_peer over memif; b_extra goes to the connector only.
 *  With client_first, the memif client's process starts a second before the server's. */
void run_memif_pair(const char* tag, const Exchange& x, const std::vector<std::string>& b_extra = {},
                    int want_status = 0, bool client_first = false) {
  TempDir dir(tag);
  const std::string sock = dir.path() + "/memif.sock";
  std::string cfg_a = dir.write("a.toml", one_port_config("net_memif0,role=server,socket=" + sock, "198.18.0.1/24", 0, kPatientPeers));
  std::string cfg_b = dir.write("b.toml", one_port_config("net_memif0,role=client,socket=" + sock, "198.18.0.2/24", 1, kPatientPeers));
  const std::string peer = peer_path();
  const std::string to = "198.18.0.1:5200";
  std::vector<std::string> la = {peer, "--listen", to, "-v"}, lb = {peer, "--connect", to};
  la.insert(la.end(), x.args.begin(), x.args.end());
  lb.insert(lb.end(), x.args.begin(), x.args.end());
  lb.insert(lb.end(), b_extra.begin(), b_extra.end());
  Child b;
  if (client_first) {
    b = spawn("peer-b", lb, {"DPSAN_CONFIG=" + cfg_b}, dir.path());
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  Child a = spawn("peer-a", la, {"DPSAN_CONFIG=" + cfg_a}, dir.path());
  auto deadline = Clock::now() + std::chrono::seconds(x.timeout_s + 15);
  if (!wait_for_stderr(&a, "listening on", Clock::now() + std::chrono::seconds(30))) {
    kill_child(&a);
    if (client_first) kill_child(&b);
    FAIL() << "the memif server process did not come up\n" << child_output(a);
  }
  if (!client_first) b = spawn("peer-b", lb, {"DPSAN_CONFIG=" + cfg_b}, dir.path());
  wait_child(&a, deadline);
  wait_child(&b, deadline);
  std::string logs = child_output(a) + child_output(b);
  auto sa = peer_summary(a), sb = peer_summary(b);
  ASSERT_EQ(a.status, want_status) << logs;
  ASSERT_EQ(b.status, want_status) << logs;
  if (want_status != 0) {
    EXPECT_EQ(sa["result"], "violation") << logs;
    EXPECT_GT(num(sb, "violations"), 0u) << logs;
    return;
  }
  const unsigned long long want = uint64_t{x.conns} * x.messages;
  for (auto* s : {&sa, &sb}) {
    EXPECT_EQ((*s)["result"], "ok") << logs;
    EXPECT_EQ(num(*s, "conns_done"), x.conns) << logs;
    EXPECT_EQ(num(*s, "msgs_rx"), want) << logs;
    EXPECT_EQ(num(*s, "msgs_tx"), want) << logs;
    EXPECT_EQ(num(*s, "ops_posted"), num(*s, "ops_completed")) << logs;
    EXPECT_EQ(num(*s, "double_completions"), 0u) << logs;
    EXPECT_EQ(num(*s, "violations"), 0u) << logs;
    EXPECT_EQ(num(*s, "ops_in_flight"), 0u) << logs;
  }
  EXPECT_EQ(num(sa, "bytes_rx"), num(sb, "bytes_tx")) << logs;
  EXPECT_EQ(num(sb, "bytes_rx"), num(sa, "bytes_tx")) << logs;
  for (auto* s : {&sa, &sb})
    std::printf("%s: role=%s msgs_rx=%s bytes_rx=%s retransmits=%s elapsed_ms=%s\n", tag, (*s)["role"].c_str(),
                (*s)["msgs_rx"].c_str(), (*s)["bytes_rx"].c_str(), (*s)["retransmits"].c_str(),
                (*s)["elapsed_ms"].c_str());
}

}  // namespace

TEST(Memif, R40_TwoProcessesMixedSizesEveryMessageOnceInOrder) {
  run_memif_pair("memif-mixed", {{"--conns", "8", "--messages", "400", "--min-size", "1", "--max-size", "65536", "--rdma",
                                  "--seed", "11", "--timeout-s", "60"},
                                 8, 400, 60});
}

TEST(Memif, R42_TwoProcessesMessagesUpToOneMiB) {
  run_memif_pair("memif-large", {{"--conns", "2", "--messages", "24", "--min-size", "65536", "--max-size",
                                  "1048576", "--window", "2", "--seed", "12", "--timeout-s", "60"},
                                 2, 24, 60});
}

TEST(Memif, R36_TwoProcessesPollModeCompletions) {
  run_memif_pair("memif-poll", {{"--conns", "4", "--messages", "200", "--max-size", "4096", "--poll",
                                 "--seed", "13", "--timeout-s", "60"},
                                4, 200, 60});
}

// A memif client whose server is not up yet waits for it (bounded, 5 s) instead of failing
// its WSPStartupEx.
TEST(Memif, R20_ClientStartedBeforeServer) {
  run_memif_pair("memif-client-first", {{"--conns", "2", "--messages", "50", "--max-size", "4096",
                                         "--seed", "14", "--timeout-s", "45"},
                                        2, 50, 45},
                 {}, 0, true);
}

// The checks have teeth across processes: a connector with another seed sends other messages,
// and both ends must say so (exit 1, result=violation).
TEST(Memif, R40_MismatchedStreamsAreReportedAsViolations) {
  run_memif_pair("memif-mismatch", {{"--conns", "2", "--messages", "20", "--max-size", "2048", "--timeout-s", "30"},
                                    2, 20, 30},
                 {"--seed", "99"}, 1);
}
