/* SPDX-License-Identifier: BSD-3-Clause */
// R22: the provider tolerates a process ending without WSPCleanup; no system-wide resource
// stays locked and a new process can start the provider.
// Test: spawn (posix_spawn) dpsan_conf_child, which starts the provider, connects to its own
// listener and _exit(0)s without cleanup; then spawn it again for a full cycle with cleanup.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>

#include "test_switch.h"

extern char** environ;

using namespace dpsan_conf;

namespace {

std::string child_path() {
#ifdef DPSAN_CONF_CHILD
  if (access(DPSAN_CONF_CHILD, X_OK) == 0) return DPSAN_CONF_CHILD;
#endif
  char self[PATH_MAX] = {};
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "dpsan_conf_child";
  std::string p(self, static_cast<size_t>(n));
  return p.substr(0, p.rfind('/') + 1) + "dpsan_conf_child";
}

// Runs the child; returns its wait status, or -1 if it had to be killed after `timeout`.
::testing::AssertionResult run_child(const char* mode, uint16_t port, int* status, Ms timeout) {
  std::string path = child_path();
  std::string port_s = std::to_string(port);
  char* argv[] = {const_cast<char*>(path.c_str()), const_cast<char*>(mode),
                  const_cast<char*>(port_s.c_str()), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv, environ);
  if (rc != 0) return ::testing::AssertionFailure() << "posix_spawn(" << path << "): " << rc;
  auto deadline = Clock::now() + timeout;
  for (;;) {
    pid_t w = waitpid(pid, status, WNOHANG);
    if (w == pid) return ::testing::AssertionSuccess();
    if (w < 0) return ::testing::AssertionFailure() << "waitpid failed";
    if (Clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, status, 0);
      return ::testing::AssertionFailure()
             << "dpsan_conf_child " << mode << " did not exit within " << timeout.count()
             << " ms (killed)";
    }
    sleep_ms(10);
  }
}

}  // namespace

TEST(Conformance, R22_ProcessExitWithoutCleanupLeavesNothingLocked) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);

  // Given: a process that ends without WSPCleanup.
  int status = 0;
  ASSERT_TRUE(run_child("noclean", next_port(), &status, Ms(30000)));
  ASSERT_TRUE(WIFEXITED(status)) << "child ended by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "noclean child failed at step "
                                    << WEXITSTATUS(status) - 10;

  // Expect: a new process can start the provider and do a full cycle with cleanup.
  ASSERT_TRUE(run_child("full", next_port(), &status, Ms(30000)));
  ASSERT_TRUE(WIFEXITED(status)) << "child ended by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "full child failed at step " << WEXITSTATUS(status) - 10;

  // Expect: and this process's own instance is unaffected.
  Conn k;
  EXPECT_TRUE(make_conn(&k));
  EXPECT_EQ(sw().cleanup(), 0);
}
