/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A peer process killed with SIGKILL mid-transfer, over net_memif. This process is the
 * survivor (memif server, 198.18.0.1, driving the provider through the public SPI); the victim
 * is a dpsan_peer (memif client) in a child process. When the victim dies:
 *  - every operation pending on its connections completes, once, with a connection error,
 *    within the documented dead-peer bound, peer_timeout_ms + keepalive_ms = 3.25 s by default
 *    (R29; README "Dead peers"), plus a scheduling allowance for a loaded 2-CPU machine;
 *  - the survivor's descriptor, connection, registration and packet-buffer counts
 *    (SIO_DPSAN_GET_STATS) come back to what they were before the transfer (R13), and its
 *    resident memory is no larger than while the victim ran;
 *  - it stays healthy: it accepts a new peer process and exchanges checked messages with it,
 *    and a final cleanup followed by a new startup works, with another exchange after it (R20).
 */
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <dpsan/dpsan_stats.h>

#include "engine.h"
#include "harness.h"
#include "mini_switch.h"
#include "session.h"

using namespace dpsan::itest;

namespace {

constexpr int64_t kDeadPeerBoundMs = 3000 + 250;  // peer_timeout_ms + keepalive_ms (defaults)
constexpr int64_t kSchedulingAllowanceMs = 1500;

/** Resident memory of this process in KiB (VmRSS). */
uint64_t rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

// Resident memory may not shrink (the allocator keeps freed pages), but the dead peer's
// connections, buffers and packets must not add to it: a few MiB of noise are allowed.
constexpr uint64_t kRssSlackKib = 16 * 1024;

DPSAN_STATS stats(const dpsan::perf::MiniSwitch& sw) {
  DPSAN_STATS st;
  sw.stats(&st);
  return st;
}

class SigKill : public ::testing::Test {
 protected:
  void SetUp() override {
    // The same device string in both tests: a probed device stays for the life of the process
    // and its arguments cannot change (README "Ports").
    sock_ = dir_.path() + "/memif.sock";
    cfg_a_ = dir_.write("a.toml", one_port_config("net_memif0,role=server,socket=" + sock_, "198.18.0.1/24", 0));
    cfg_b_ = dir_.write("b.toml", one_port_config("net_memif0,role=client,socket=" + sock_, "198.18.0.2/24", 1));
    install_completion_hook();
    setenv("DPSAN_CONFIG", cfg_a_.c_str(), 1);
  }
  void TearDown() override { unsetenv("DPSAN_CONFIG"); }

  Child start_peer(const std::string& name, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {peer_path(), "--connect", "198.18.0.1:5400"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return spawn(name, argv, {"DPSAN_CONFIG=" + cfg_b_}, dir_.path());
  }

  /** Accepts n connections from a peer into `engine` within 30 s. @return "" or what failed. */
  std::string accept_into(Acceptor& acc, Engine& engine, size_t n, Child& peer) {
    auto end = Clock::now() + std::chrono::seconds(30);
    size_t taken = acc.accepted().size();
    size_t want = taken + n;
    while (taken < want) {
      if (Clock::now() > end) return "no connection within 30 s\n" + child_output(peer);
      if (std::string e = acc.step(); !e.empty()) return e;
      for (; taken < acc.accepted().size() && taken < want; taken++)
        if (std::string e = engine.add(acc.accepted()[taken], false, 0); !e.empty()) return e;
      engine.step();
      usleep(100);
    }
    return "";
  }

  /** A full checked exchange with a fresh peer process: the survivor is healthy. */
  void healthy_exchange(dpsan::perf::MiniSwitch& sw, Acceptor& acc, const std::string& name) {
    const std::vector<std::string> args = {"--conns", "2", "--messages", "100", "--max-size", "8192",
                                           "--seed", "33", "--timeout-s", "40"};
    Child peer = start_peer(name, args);
    EngineOptions eo;
    eo.stream = StreamSpec{33, 100, 1, 8192};
    eo.conns = 2;
    Engine engine(sw.proc(), sw.register_memory, eo);
    ASSERT_EQ(accept_into(acc, engine, 2, peer), "");
    auto end = Clock::now() + std::chrono::seconds(40);
    while (!engine.finished() && Clock::now() < end)
      if (!engine.step()) usleep(50);
    EXPECT_TRUE(engine.finished()) << "the exchange with " << name << " did not finish";
    engine.close_all(3000);
    wait_child(&peer, Clock::now() + std::chrono::seconds(30));
    EXPECT_EQ(peer.status, 0) << child_output(peer);
    EXPECT_EQ(engine.violation_count(), 0u) << (engine.violations().empty() ? "" : engine.violations()[0]);
    EXPECT_EQ(engine.totals().msgs_rx, 200u);
    EXPECT_EQ(peer_summary(peer)["result"], "ok") << child_output(peer);
  }

  void kill_mid_transfer(dpsan::perf::MiniSwitch& sw, Acceptor& acc);

  TempDir dir_{"sigkill"};
  std::string sock_, cfg_a_, cfg_b_;
  uint64_t rss_before_kill_kib_ = 0;
};


/**
 * Starts a victim peer on 4 connections, lets the transfer run, kills the victim with SIGKILL
 * and checks the survivor's side: every pending operation ends once, with a connection
 * error, within the dead-peer bound. Closes the survivor's sockets afterwards.
 */
void SigKill::kill_mid_transfer(dpsan::perf::MiniSwitch& sw, Acceptor& acc) {
  // A victim that would run for a long time: 4 connections, a million messages each.
  Child victim = start_peer("victim", {"--conns", "4", "--messages", "1000000", "--max-size", "16384",
                                       "--seed", "31", "--timeout-s", "120"});
  EngineOptions eo;
  eo.stream = StreamSpec{31, 1000000, 1, 16384};
  eo.conns = 4;
  eo.window = 4;
  eo.peer_death_expected = true;
  Engine engine(sw.proc(), sw.register_memory, eo);
  ASSERT_EQ(accept_into(acc, engine, 4, victim), "");
  auto end = Clock::now() + std::chrono::seconds(30);
  while (engine.totals().msgs_rx < 2000 && Clock::now() < end)
    if (!engine.step()) usleep(50);
  ASSERT_GE(engine.totals().msgs_rx, 2000u) << "the transfer did not get going\n" << child_output(victim);

  rss_before_kill_kib_ = rss_kib();
  ASSERT_EQ(kill(victim.pid, SIGKILL), 0);
  const int64_t killed_ns = monotonic_ns();
  wait_child(&victim, Clock::now() + std::chrono::seconds(10));
  const uint64_t pending_at_kill = engine.pending_ops();
  EXPECT_GT(pending_at_kill, 0u) << "nothing was pending when the peer died";

  // Every pending operation must end, with an error, within the bound.
  auto give_up = Clock::now() + std::chrono::milliseconds(kDeadPeerBoundMs + kSchedulingAllowanceMs + 5000);
  while (!engine.finished() && Clock::now() < give_up)
    if (!engine.step()) usleep(50);
  EngineTotals tot = engine.totals();
  const int64_t last_ms = (tot.last_error_ns - killed_ns) / 1000000;
  std::printf("victim killed with %llu operations pending; first failure after %lld ms, last after %lld ms "
              "(error %d); bound %lld ms\n",
              (unsigned long long)pending_at_kill, (long long)((tot.first_error_ns - killed_ns) / 1000000),
              (long long)last_ms, tot.first_error, (long long)kDeadPeerBoundMs);
  EXPECT_TRUE(engine.finished()) << engine.pending_ops() << " operations still pending "
                                 << (kDeadPeerBoundMs + kSchedulingAllowanceMs + 5000) << " ms after the kill";
  EXPECT_EQ(tot.ops_posted, tot.ops_completed);
  EXPECT_EQ(tot.conns_failed, 4u);
  EXPECT_GE(tot.ops_failed, pending_at_kill);
  EXPECT_TRUE(tot.first_error == WSAECONNABORTED || tot.first_error == WSAECONNRESET) << tot.first_error;
  EXPECT_LE(last_ms, kDeadPeerBoundMs + kSchedulingAllowanceMs) << "pending operations outlived the dead-peer bound";
  EXPECT_EQ(tot.double_completions, 0u);
  EXPECT_EQ(engine.violation_count(), 0u) << (engine.violations().empty() ? "" : engine.violations()[0]);
  engine.close_all(3000);
}

/** Waits up to 3 s for the counts to come back to `base`. @return the last snapshot. */
DPSAN_STATS settle(const dpsan::perf::MiniSwitch& sw, const DPSAN_STATS& base) {
  DPSAN_STATS now{};
  auto end = Clock::now() + std::chrono::seconds(3);
  do {
    usleep(20 * 1000);
    now = stats(sw);
  } while ((now.ops_in_flight != base.ops_in_flight || now.connections != base.connections ||
            now.mbufs_in_use != base.mbufs_in_use || now.sockets_open != base.sockets_open ||
            now.registrations != base.registrations) &&
           Clock::now() < end);
  return now;
}

}  // namespace

TEST_F(SigKill, R29_R13_PeerKilledMidTransferPendingOpsFailWithinBoundCountsReturnAndNewPeerWorks) {
  dpsan::perf::MiniSwitch sw;
  ASSERT_EQ(sw.startup(), 0) << "WSPStartupEx with " << cfg_a_;
  Acceptor acc(sw.proc());
  sockaddr_in at{};
  ASSERT_TRUE(parse_endpoint("198.18.0.1:5400", &at));
  ASSERT_EQ(acc.listen(at, 16), "");
  const DPSAN_STATS base = stats(sw);

  kill_mid_transfer(sw, acc);

  // Back to baseline (R13): descriptors, connections, sockets, packet buffers.
  DPSAN_STATS now = settle(sw, base);
  EXPECT_EQ(now.ops_in_flight, base.ops_in_flight);
  EXPECT_EQ(now.connections, base.connections);
  EXPECT_EQ(now.sockets_open, base.sockets_open);
  EXPECT_EQ(now.mbufs_in_use, base.mbufs_in_use) << "packet buffers held after the dead peer's connections closed";
  EXPECT_EQ(now.registrations, base.registrations) << "memory registrations held after the close";
  EXPECT_EQ(now.pending_upcalls, 0u);
  const uint64_t rss_after = rss_kib();
  std::printf("resident memory: %llu KiB while the victim ran, %llu KiB after its connections closed\n",
              (unsigned long long)rss_before_kill_kib_, (unsigned long long)rss_after);
  EXPECT_LE(rss_after, rss_before_kill_kib_ + kRssSlackKib) << "resident memory grew after the peer died";

  // Healthy: a new peer process connects and exchanges checked messages.
  healthy_exchange(sw, acc, "peer-after-kill");
  now = settle(sw, base);
  EXPECT_EQ(now.ops_in_flight, base.ops_in_flight);
  EXPECT_EQ(now.mbufs_in_use, base.mbufs_in_use) << "packet buffers held after the second exchange";
  acc.close();
  EXPECT_EQ(sw.cleanup(), 0);
}

TEST_F(SigKill, R20_RestartAfterAPeerWasKilledThenANewPeerWorks) {
  dpsan::perf::MiniSwitch sw;
  ASSERT_EQ(sw.startup(), 0) << "WSPStartupEx with " << cfg_a_;
  sockaddr_in at{};
  ASSERT_TRUE(parse_endpoint("198.18.0.1:5400", &at));
  {
    Acceptor acc(sw.proc());
    ASSERT_EQ(acc.listen(at, 16), "");
    kill_mid_transfer(sw, acc);
  }
  // A final cleanup and a new startup on the same configuration (R20), then an exchange.
  ASSERT_EQ(sw.cleanup(), 0);
  ASSERT_EQ(sw.startup(), 0) << "WSPStartupEx after the final cleanup (same memif server port)";
  Acceptor acc(sw.proc());
  ASSERT_EQ(acc.listen(at, 16), "");
  healthy_exchange(sw, acc, "peer-after-restart");
  acc.close();
  EXPECT_EQ(sw.cleanup(), 0);
}

/**
 * Where DPDK 22.11 puts the runtime directory of the dpsan process `pid`: its file prefix is
 * dpsan-<pid> (control/eal.cpp), under /var/run/dpdk as root, else $XDG_RUNTIME_DIR/dpdk or
 * /tmp/dpdk, as the child (which inherits our environment) computes it.
 */
static std::filesystem::path runtime_dir_of(pid_t pid) {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  std::filesystem::path base = getuid() == 0 ? "/var/run" : (xdg ? xdg : "/tmp");
  return base / "dpdk" / ("dpsan-" + std::to_string(pid));
}

/** The names in `dir`, space separated ("" if it is empty or absent). */
static std::string names_in(const std::filesystem::path& dir) {
  std::string names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) names += e.path().filename().string() + " ";
  return names;
}

/** The hugetlbfs mount points (/proc/mounts). */
static std::vector<std::string> hugetlbfs_mounts() {
  std::vector<std::string> dirs;
  std::ifstream mounts("/proc/mounts");
  std::string dev, dir, type, rest;
  while (mounts >> dev >> dir >> type && std::getline(mounts, rest))
    if (type == "hugetlbfs") dirs.push_back(dir);
  return dirs;
}

/** Hugepage files of `pid`'s prefix in every hugetlbfs mount (DPDK: <mount>/<prefix>map_<n>). */
static std::string hugepage_files_of(pid_t pid) {
  const std::string prefix = "dpsan-" + std::to_string(pid) + "map_";
  std::string found;
  for (const std::string& m : hugetlbfs_mounts()) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(m, ec))
      if (e.path().filename().string().rfind(prefix, 0) == 0) found += e.path().string() + " ";
  }
  return found;
}

/** KiB of `pid`'s mappings backed by huge pages (/proc/PID/smaps, KernelPageSize above 4 kB). */
static uint64_t huge_mapped_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/smaps");
  std::string line;
  uint64_t size_kib = 0, total_kib = 0;
  while (std::getline(f, line)) {
    if (line.rfind("Size:", 0) == 0) size_kib = std::stoull(line.substr(5));
    if (line.rfind("KernelPageSize:", 0) == 0 && std::stoull(line.substr(15)) > 4) total_kib += size_kib;
  }
  return total_kib;
}

// R22: a memif server killed without WSPCleanup leaves its socket file behind (with
// socket-abstract=no the socket lives in the filesystem) and its EAL runtime directory
// (dpsan-<pid>, the telemetry socket); the next server process on the same configuration must
// still start, remove both, and serve a peer.
TEST(ProcessDeath, R22_AKilledMemifServerLeavesNothingThatStopsTheNextOne) {
  TempDir dir("r22");
  const std::string sock = dir.path() + "/memif.sock";
  const std::string cfg_a = dir.write(
      "a.toml", one_port_config("net_memif0,role=server,socket=" + sock + ",socket-abstract=no", "198.18.0.1/24", 0,
                                kPatientPeers));
  const std::string cfg_b = dir.write(
      "b.toml", one_port_config("net_memif0,role=client,socket=" + sock + ",socket-abstract=no", "198.18.0.2/24", 1,
                                kPatientPeers));
  const std::vector<std::string> xfer = {"--conns", "2", "--messages", "50", "--max-size", "4096", "--seed", "41",
                                         "--timeout-s", "40"};
  auto listener = [&](const std::string& name) {
    std::vector<std::string> argv = {peer_path(), "--listen", "198.18.0.1:5450", "-v"};
    argv.insert(argv.end(), xfer.begin(), xfer.end());
    return spawn(name, argv, {"DPSAN_CONFIG=" + cfg_a}, dir.path());
  };
  Child first = listener("server-killed");
  ASSERT_TRUE(wait_for_stderr(&first, "listening on", Clock::now() + std::chrono::seconds(30))) << child_output(first);
  const pid_t victim = first.pid;
  const std::filesystem::path victim_run = runtime_dir_of(victim);
  // While it runs: its runtime directory is where the checks below look (else they prove nothing).
  ASSERT_TRUE(std::filesystem::is_directory(victim_run))
      << "the live server's EAL runtime directory is not at " << victim_run << "\n" << child_output(first);
  const uint64_t huge_kib = huge_mapped_kib(victim);
  std::printf("victim pid %d: runtime directory %s holds [%s]; %llu KiB of hugepages mapped; hugetlbfs mounts:",
              (int)victim, victim_run.c_str(), names_in(victim_run).c_str(), (unsigned long long)huge_kib);
  for (const std::string& m : hugetlbfs_mounts()) std::printf(" %s", m.c_str());
  std::printf("\n");
  // With hugepages, --in-memory takes them from memfds: no file in any hugetlbfs mount.
  EXPECT_EQ(hugepage_files_of(victim), "") << "hugepage files of the live server";

  kill_child(&first);  // SIGKILL: no WSPCleanup, no DPDK teardown
  struct stat st{};
  ASSERT_EQ(lstat(sock.c_str(), &st), 0) << "the scenario needs the killed server's socket file left behind";
  // The EAL shares nothing between processes (--in-memory or --no-shconf, control/eal.cpp): its
  // runtime directory holds at most the telemetry socket (no config, IPC socket, fbarray or
  // hugepage_info file), and no hugepage file of its prefix is left in any hugetlbfs mount.
  // (Another dpsan process starting meanwhile may already have swept the directory.)
  const std::string left = names_in(victim_run);
  EXPECT_TRUE(left == "" || left == "dpdk_telemetry.v2 ") << "DPDK files a killed process left: " << left;
  EXPECT_EQ(hugepage_files_of(victim), "") << "hugepage files a killed process left";
  if (huge_kib == 0)
    std::printf("the victim ran with --no-huge (no hugepage mapped): the hugepage-file check had nothing to "
                "find on this run\n");
  else
    std::printf("the victim ran on hugepages: checked for %smap_* files in every hugetlbfs mount\n",
                victim_run.filename().c_str());

  Child second = listener("server-next");
  ASSERT_TRUE(wait_for_stderr(&second, "listening on", Clock::now() + std::chrono::seconds(30)))
      << "the next server did not start after a killed one (R22)\n" << child_output(second);
  EXPECT_NE(child_output(second).find("removed the stale memif socket"), std::string::npos) << child_output(second);
  // Its startup swept the dead server's runtime directory (control/eal.cpp), and kept its own.
  EXPECT_FALSE(std::filesystem::exists(victim_run)) << "the killed server's runtime directory outlived the next startup: "
                                                    << names_in(victim_run);
  EXPECT_TRUE(std::filesystem::is_directory(runtime_dir_of(second.pid)));
  std::vector<std::string> cargv = {peer_path(), "--connect", "198.18.0.1:5450"};
  cargv.insert(cargv.end(), xfer.begin(), xfer.end());
  Child client = spawn("client", cargv, {"DPSAN_CONFIG=" + cfg_b}, dir.path());
  auto deadline = Clock::now() + std::chrono::seconds(60);
  wait_child(&client, deadline);
  wait_child(&second, deadline);
  EXPECT_EQ(client.status, 0) << child_output(client);
  EXPECT_EQ(second.status, 0) << child_output(second);
  EXPECT_EQ(peer_summary(second)["result"], "ok") << child_output(second);
}
