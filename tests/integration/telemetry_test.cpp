/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The provider's counters through DPDK telemetry (README "Telemetry"), read the way
 * dpdk-telemetry.py reads them: a SOCK_SEQPACKET connection to <runtime dir>/dpdk_telemetry.v2,
 * one command per message, one JSON reply each. Traffic runs on a second thread meanwhile; the
 * counters must move while it runs.
 */
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <rte_eal.h>

#include "traffic.h"

namespace {

using dpsan::perf::MiniSwitch;

/** A telemetry client. ok() is false when the socket cannot be reached. */
class Telemetry {
 public:
  explicit Telemetry(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (fd_ < 0 || path.size() >= sizeof sun.sun_path) return;
    path.copy(sun.sun_path, path.size());
    if (connect(fd_, reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0) return;
    hello_ = read();  // the server speaks first: version, pid, max_output_len
    ok_ = !hello_.empty();
  }
  ~Telemetry() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return ok_; }
  const std::string& hello() const { return hello_; }
  std::string ask(const std::string& cmd) {
    if (send(fd_, cmd.data(), cmd.size(), 0) != static_cast<ssize_t>(cmd.size())) return "";
    return read();
  }

 private:
  std::string read() {
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string buf(65536, '\0');
    ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
  }
  int fd_ = -1;
  bool ok_ = false;
  std::string hello_;
};

/** The unsigned value of "key": in a flat telemetry reply, or UINT64_MAX when it is absent. */
uint64_t value(const std::string& json, const std::string& key) {
  size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return UINT64_MAX;
  return std::strtoull(json.c_str() + at + key.size() + 3, nullptr, 10);
}

uint32_t size_of(unsigned, unsigned seq) { return 64 + (seq % 8) * 500; }

class TelemetryTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(sw_.startup(), 0); }
  void TearDown() override { sw_.cleanup(); }
  std::string socket_path() const { return std::string(rte_eal_get_runtime_dir()) + "/dpdk_telemetry.v2"; }
  MiniSwitch sw_;
};

TEST_F(TelemetryTest, CommandsAreListed) {
  Telemetry t(socket_path());
  ASSERT_TRUE(t.ok()) << socket_path();
  EXPECT_NE(t.hello().find("\"pid\":" + std::to_string(getpid())), std::string::npos) << t.hello();
  std::string list = t.ask("/");
  for (const char* c : {"/dpsan/packets", "/dpsan/reliability", "/dpsan/drops", "/dpsan/ops",
                        "/dpsan/mempool", "/dpsan/all"})
    EXPECT_NE(list.find(c), std::string::npos) << c << " missing from " << list;
}

TEST_F(TelemetryTest, CountersMoveWhileTrafficRuns) {
  std::vector<std::unique_ptr<dpsan::test::TrafficPair>> pairs;
  pairs.push_back(std::make_unique<dpsan::test::TrafficPair>(8, 4096));
  ASSERT_EQ(sw_.connect_pair(7600, &pairs[0]->tx, &pairs[0]->rx), "");
  int e = 0;
  ASSERT_NE(sw_.register_memory(pairs[0]->tx, pairs[0]->tbuf.get(), 8 * 4096, MEM_READWRITE, &e), nullptr);
  ASSERT_NE(sw_.register_memory(pairs[0]->rx, pairs[0]->rbuf.get(), 8 * 4096, MEM_READWRITE, &e), nullptr);
  Telemetry t(socket_path());
  ASSERT_TRUE(t.ok()) << socket_path();
  std::string before = t.ask("/dpsan/all");
  ASSERT_EQ(value(before, "instance_live"), 1u) << before;

  std::atomic<bool> stop{false}, running{true};
  uint64_t corrupt = 0, bad = 0;
  std::thread traffic([&] {
    // Batches of 1,000 messages until told to stop (bounded: 60 batches).
    for (unsigned batch = 1; batch <= 60 && !stop.load(); batch++) {
      auto r = dpsan::test::run_traffic(sw_, pairs, batch * 1000, size_of, std::chrono::seconds(10));
      corrupt += r.corrupt;
      bad += r.bad_status;
      if (!r.all_done) break;
    }
    running.store(false);
  });
  std::string during;
  for (int i = 0; i < 100 && running.load(); i++) {  // at most ~5 s
    usleep(50000);
    during = t.ask("/dpsan/all");
    if (value(during, "packets_tx") > value(before, "packets_tx") + 100) break;
  }
  bool still_running = running.load();
  std::string mid = t.ask("/dpsan/packets");
  usleep(100000);
  std::string later = t.ask("/dpsan/packets");
  stop.store(true);
  traffic.join();
  dpsan::test::close_pairs(sw_, pairs);

  EXPECT_TRUE(still_running) << "the traffic ended before the counters were read";
  EXPECT_EQ(corrupt + bad, 0u);
  for (const char* k : {"packets_tx", "packets_rx", "bytes_tx", "bytes_rx"}) {
    EXPECT_GT(value(during, k), value(before, k)) << k << ": " << before << " -> " << during;
    EXPECT_NE(value(during, k), UINT64_MAX) << k;
  }
  if (still_running) {
    EXPECT_GT(value(later, "packets_tx"), value(mid, "packets_tx")) << mid << " -> " << later;
  }
  // Every section is in /dpsan/all, with the pools sized.
  for (const char* k : {"retransmits", "credit_stalls", "checksum", "no_conn", "in_flight",
                        "awaiting_upcall", "mbufs_in_use", "requests_in_use", "pending_conns_size"})
    EXPECT_NE(value(during, k), UINT64_MAX) << k << " missing: " << during;
  EXPECT_GT(value(during, "mbufs_size"), 0u);
  EXPECT_GT(value(during, "requests_size"), 0u);
}

TEST_F(TelemetryTest, NoInstanceAnswersNotLive) {
  Telemetry t(socket_path());
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(sw_.cleanup(), 0);
  std::string r = t.ask("/dpsan/packets");
  EXPECT_EQ(value(r, "instance_live"), 0u) << r;
  EXPECT_EQ(value(r, "packets_tx"), UINT64_MAX) << r;
  ASSERT_EQ(sw_.startup(), 0);  // for TearDown
}

}  // namespace
