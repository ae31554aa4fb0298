/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * control::sweep_dead_runtime_dirs (control/eal.h), R22: the next dpsan process removes the
 * EAL runtime directory ("dpsan-<pid>", holding the telemetry socket) that a killed one left,
 * and nothing else. Runs on a directory of its own (no EAL): a fake <runtime base>/dpdk.
 */
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "control/eal.h"

namespace fs = std::filesystem;

namespace {

class SweepDeadRuntimeDirs : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dpsan-sweep-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    parent_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(parent_, ec);
  }

  /** A runtime directory `name` with a file in it, as a killed process leaves it. */
  std::string make_dir(const std::string& name) {
    fs::path d = parent_ / name;
    fs::create_directory(d);
    std::ofstream(d / "dpdk_telemetry.v2") << "";
    return d.string();
  }

  fs::path parent_;
};

/** A PID that no process has: a child's, reaped. (Reuse before the sweep is improbable.) */
pid_t dead_pid() {
  pid_t p = fork();
  if (p == 0) _exit(0);
  waitpid(p, nullptr, 0);
  return p;
}

}  // namespace

// Given: the directory of a process that is gone. Expect: it is removed, with its files.
TEST_F(SweepDeadRuntimeDirs, R22_DeadPidDirIsRemoved) {
  const std::string dead = make_dir("dpsan-" + std::to_string(dead_pid()));
  EXPECT_EQ(dpsan::control::sweep_dead_runtime_dirs(parent_), 1);
  EXPECT_FALSE(fs::exists(dead));
  // A second sweep (another process starting) finds nothing left to do.
  EXPECT_EQ(dpsan::control::sweep_dead_runtime_dirs(parent_), 0);
}

// Given: this process's own directory, init's, and a running child's. Expect: all kept.
TEST_F(SweepDeadRuntimeDirs, R22_LivePidDirsAreKept) {
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  ASSERT_GT(child, 0);
  const std::string own = make_dir("dpsan-" + std::to_string(getpid()));
  const std::string init = make_dir("dpsan-1");
  const std::string running = make_dir("dpsan-" + std::to_string(child));
  const std::string dead = make_dir("dpsan-" + std::to_string(dead_pid()));
  EXPECT_EQ(dpsan::control::sweep_dead_runtime_dirs(parent_), 1);
  EXPECT_TRUE(fs::exists(fs::path(own) / "dpdk_telemetry.v2"));
  EXPECT_TRUE(fs::exists(fs::path(init) / "dpdk_telemetry.v2"));
  EXPECT_TRUE(fs::exists(fs::path(running) / "dpdk_telemetry.v2"));
  EXPECT_FALSE(fs::exists(dead));

  // Once the child has died and been reaped, the next sweep takes its directory.
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_EQ(dpsan::control::sweep_dead_runtime_dirs(parent_), 1);
  EXPECT_FALSE(fs::exists(running));
}

// Given: other prefixes' directories and files, a dead PID under another prefix. Expect: untouched.
TEST_F(SweepDeadRuntimeDirs, R22_UnrelatedEntriesAreUntouched) {
  const std::string pid = std::to_string(dead_pid());
  const std::string rte = make_dir("rte");            // DPDK's default file prefix
  const std::string other = make_dir("other-" + pid);  // another application's per-PID prefix
  const std::string bare = make_dir(pid);
  std::ofstream(parent_ / ("dpsan-" + pid + ".lock")) << "";  // a file, not "dpsan-<pid>"
  EXPECT_EQ(dpsan::control::sweep_dead_runtime_dirs(parent_), 0);
  EXPECT_TRUE(fs::exists(fs::path(rte) / "dpdk_telemetry.v2"));
  EXPECT_TRUE(fs::exists(fs::path(other) / "dpdk_telemetry.v2"));
  EXPECT_TRUE(fs::exists(fs::path(bare) / "dpdk_telemetry.v2"));
  EXPECT_TRUE(fs::exists(parent_ / ("dpsan-" + pid + ".lock")));
}

// Given: names that only look like "dpsan-<pid>". Expect: ignored, whatever the number in them.
TEST_F(SweepDeadRuntimeDirs, R22_MalformedNamesAreIgnored) {
  const std::string pid = std::to_string(dead_pid());
  const char* const names[] = {
      "dpsan-",                   // no PID
      "dpsan-0",                  // not a PID
      "dpsan--5",                 // negative
      "dpsan-+12",                // strtol would read 12
      "dpsan- 12",                // and this
      "dpsan-12abc",              // trailing text
      "dpsan-99999999999",        // past pid_t (truncates to another PID)
      "dpsan-4294967297",         // 2^32 + 1: truncates to 1
      "dpsan",                    // the single prefix of before commit 22beaad
      "DPSAN-12",                 // case matters
  };
  for (const char* n : names) make_dir(n);
  const std::string padded = make_dir("dpsan-0" + pid);  // a leading zero: not a name we make
  const std::string suffixed = make_dir("dpsan-" + pid + "x");
  EXPECT_EQ(dpsan::control::sweep_dead_runtime_dirs(parent_), 0);
  for (const char* n : names) EXPECT_TRUE(fs::exists(parent_ / n / "dpdk_telemetry.v2")) << n;
  EXPECT_TRUE(fs::exists(fs::path(padded) / "dpdk_telemetry.v2"));
  EXPECT_TRUE(fs::exists(fs::path(suffixed) / "dpdk_telemetry.v2"));
}

// Given: "dpsan-<dead pid>" as a symlink to a directory with files. Expect: neither the link
// nor the files it points to are removed (in /tmp/dpdk anyone can plant one).
TEST_F(SweepDeadRuntimeDirs, R22_SymlinkIsNotFollowed) {
  const std::string target = make_dir("target");
  const fs::path link = parent_ / ("dpsan-" + std::to_string(dead_pid()));
  fs::create_directory_symlink(target, link);
  EXPECT_EQ(dpsan::control::sweep_dead_runtime_dirs(parent_), 0);
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_TRUE(fs::exists(fs::path(target) / "dpdk_telemetry.v2"));
}

// Given: a dead PID's directory owned by another user (root can make one). Expect: kept.
TEST_F(SweepDeadRuntimeDirs, R22_AnotherOwnersDirIsKept) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a directory to another owner";
  const std::string theirs = make_dir("dpsan-" + std::to_string(dead_pid()));
  ASSERT_EQ(chown(theirs.c_str(), 65534, 65534), 0);
  EXPECT_EQ(dpsan::control::sweep_dead_runtime_dirs(parent_), 0);
  EXPECT_TRUE(fs::exists(fs::path(theirs) / "dpdk_telemetry.v2"));
}

// Given: no such parent (nothing ever ran). Expect: nothing removed, no failure.
TEST_F(SweepDeadRuntimeDirs, R22_MissingParentIsNothingToDo) {
  EXPECT_EQ(dpsan::control::sweep_dead_runtime_dirs((parent_ / "absent").string()), 0);
}
