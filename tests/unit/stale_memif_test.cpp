/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * control::remove_stale_memif_socket (control/stale_memif.h), R22: the socket file a killed
 * memif server left is removed, and the socket of a server that is alive is never removed,
 * whether it listens in this network namespace or in another one (where only the connect can
 * tell). The integration test mp/sigkill_test.cpp covers the stale case end to end; these cover
 * the live cases it cannot see. No EAL: plain Unix sockets stand in for the memif server.
 */
#include <gtest/gtest.h>

#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "control/stale_memif.h"

namespace fs = std::filesystem;
using dpsan::control::remove_stale_memif_socket;

namespace {

/** A SOCK_SEQPACKET socket bound to `path`, listening if asked. @return the fd, or -1. */
int bound_socket(const std::string& path, bool listening) {
  sockaddr_un un{};
  if (path.size() >= sizeof un.sun_path) return -1;
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&un), sizeof un) != 0 || (listening && listen(fd, 4) != 0)) {
    close(fd);
    return -1;
  }
  return fd;
}

class StaleMemif : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dpsan-memif-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    sock_ = dir_ + "/memif.sock";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string server() const { return "net_memif0,role=server,socket=" + sock_ + ",socket-abstract=no"; }

  std::string dir_, sock_;
};

}  // namespace

// Given: the socket file of a server that is gone (bound, closed, file left). Expect: removed.
TEST_F(StaleMemif, R22_SocketFileOfADeadServerIsRemoved) {
  int fd = bound_socket(sock_, true);
  ASSERT_GE(fd, 0);
  close(fd);
  ASSERT_TRUE(fs::is_socket(sock_));
  EXPECT_EQ(remove_stale_memif_socket(server()), sock_);
  EXPECT_FALSE(fs::exists(sock_));
}

// Given: a server of this process listening on the path. Expect: kept.
TEST_F(StaleMemif, R22_ListeningServerHereIsKept) {
  int fd = bound_socket(sock_, true);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(remove_stale_memif_socket(server()), "");
  EXPECT_TRUE(fs::is_socket(sock_));
  close(fd);
}

// Given: a server bound but not yet listening, in this network namespace (a connect would be
// refused). Expect: kept, since /proc/net/unix shows it bound.
TEST_F(StaleMemif, R22_BoundNotYetListeningHereIsKept) {
  int fd = bound_socket(sock_, false);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(remove_stale_memif_socket(server()), "");
  EXPECT_TRUE(fs::is_socket(sock_));
  close(fd);
}

// Given: a live server in another process, in a network namespace of its own, so that only
// the connect can see it alive. Expect: kept.
TEST_F(StaleMemif, R22_ListeningServerInAnotherNetnsIsKept) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  if (child == 0) {
    close(ready[0]);
    char ok = unshare(CLONE_NEWNET) == 0 && bound_socket(sock_, true) >= 0 ? 'y' : 'n';
    if (write(ready[1], &ok, 1) != 1) _exit(1);
    pause();  // until the parent kills it
    _exit(0);
  }
  ASSERT_GT(child, 0);
  close(ready[1]);
  char ok = 'n';
  ASSERT_EQ(read(ready[0], &ok, 1), 1);
  close(ready[0]);
  if (ok != 'y') {
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    GTEST_SKIP() << "could not listen in a new network namespace";
  }
  EXPECT_EQ(remove_stale_memif_socket(server()), "") << "removed the socket of a live server";
  EXPECT_TRUE(fs::is_socket(sock_));
  // Once that server is killed, its file is stale and goes.
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_EQ(remove_stale_memif_socket(server()), sock_);
  EXPECT_FALSE(fs::exists(sock_));
}

// Given: a regular file at the path, or nothing. Expect: nothing removed.
TEST_F(StaleMemif, R22_NotASocketIsKept) {
  EXPECT_EQ(remove_stale_memif_socket(server()), "");
  std::ofstream(sock_) << "not a socket";
  EXPECT_EQ(remove_stale_memif_socket(server()), "");
  EXPECT_TRUE(fs::is_regular_file(sock_));
}

// Given: a stale file, and devices that do not own it. Expect: nothing removed.
TEST_F(StaleMemif, R22_OnlyAFilesystemServerRemoves) {
  int fd = bound_socket(sock_, true);
  ASSERT_GE(fd, 0);
  close(fd);
  EXPECT_EQ(remove_stale_memif_socket("net_memif0,role=client,socket=" + sock_ + ",socket-abstract=no"), "");
  EXPECT_EQ(remove_stale_memif_socket("net_memif0,role=server,socket=" + sock_), "");  // abstract
  EXPECT_EQ(remove_stale_memif_socket("net_ring0,socket=" + sock_ + ",socket-abstract=no"), "");
  // No role: DPDK's memif default is client.
  EXPECT_EQ(remove_stale_memif_socket("net_memif0,socket=" + sock_ + ",socket-abstract=no"), "");
  EXPECT_TRUE(fs::is_socket(sock_));
  EXPECT_EQ(remove_stale_memif_socket(server()), sock_);
}
