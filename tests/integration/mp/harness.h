/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What the multi-process tests share: a scratch directory, generated configuration files,
 * child processes started with their own environment and reaped within a deadline, the
 * summary line of dpsan_peer, and a pair of network namespaces joined by a veth pair that is
 * removed on every way out (normal end, failed assertion, SIGTERM/SIGINT from the runner).
 *
 * Test threads only; not thread-safe.
 */
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace dpsan::itest {

using Clock = std::chrono::steady_clock;

/** A directory under /tmp named after the test's PID, removed (with its files) at destruction. */
class TempDir {
 public:
  explicit TempDir(const std::string& tag);
  ~TempDir();
  const std::string& path() const { return path_; }
  /** Writes `text` to path()/name. @return the file's path. */
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

/** Path of dpsan_peer: $DPSAN_PEER (meson sets it), else next to the running test. */
std::string peer_path();

/** A child process. Its stdout and stderr go to files (shown when a check fails). */
struct Child {
  pid_t pid = -1;
  std::string name, out_path, err_path;
  int status = -1;        // exit code once reaped, 128 + signal if a signal ended it
  bool reaped = false;
  bool timed_out = false;  // killed by wait_child at its deadline
};

/**
 * Starts argv[0] (a path, or a name found in PATH) with `env` added to this process's
 * environment. @return the child (pid -1 if it could not start; the reason is in err_path).
 */
Child spawn(const std::string& name, const std::vector<std::string>& argv,
            const std::vector<std::string>& env, const std::string& dir);

/** Reaps the child, killing it with SIGKILL at the deadline. @return its status. */
int wait_child(Child* c, Clock::time_point deadline);

/** Kills (SIGKILL) and reaps a child that is still running. */
void kill_child(Child* c);

/**
 * Waits until the child's stderr holds `text` (dpsan_peer -v says "listening on" once its
 * listener is up). @return false if the child ended or the deadline passed first.
 */
bool wait_for_stderr(Child* c, const std::string& text, Clock::time_point deadline);

/** The child's output, for failure messages. */
std::string child_output(const Child& c);

/** The last "dpsan_peer ..." line of the child's stdout as key -> value (empty if none). */
std::map<std::string, std::string> peer_summary(const Child& c);

/** A summary value as a number (0 if missing). */
unsigned long long num(const std::map<std::string, std::string>& s, const std::string& key);

/** Runs a command to the end (bounded by timeout_s). @return its exit code; output into *out. */
int run_command(const std::vector<std::string>& argv, std::string* out, int timeout_s = 20);

/** CPUs this process may use, in order. */
std::vector<unsigned> usable_cpus();

/**
 * A DPSAN_CONFIG text with one port. Process `which` (0 or 1) of a pair gets its poll core on
 * a CPU of its own when there are two to spare, so two spinning poll loops do not share one.
 */
std::string one_port_config(const std::string& device, const std::string& ipv4, int which,
                            const std::string& fastpath_extra = "");

/**
 * [fastpath] lines for exchanges that are not about dead peers: a peer whose poll core is
 * starved on a loaded 2-CPU machine must not be declared dead (peer_timeout_ms 3000 default).
 */
inline const char* kPatientPeers = "peer_timeout_ms = 30000\n";

/**
 * Two network namespaces joined by a veth pair, named after the PID (dpsan-<pid>-a/-b,
 * interfaces dpsv<pid>a/b), links up, no kernel addresses (dpsan answers ARP itself).
 * Namespaces left behind by a test that was killed (their PID is gone) are removed first.
 */
class NetnsPair {
 public:
  NetnsPair();
  ~NetnsPair();
  /** "" when the pair is up; otherwise why namespaces are unavailable here (skip the test). */
  const std::string& unavailable() const { return unavailable_; }
  std::string ns_a, ns_b, if_a, if_b;

 private:
  void remove();
  std::string unavailable_;
  bool created_a_ = false, created_b_ = false;
};

}  // namespace dpsan::itest
