/* SPDX-License-Identifier: BSD-3-Clause */
#include "harness.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace dpsan::itest {

namespace fs = std::filesystem;

// --- files -----------------------------------------------------------------------------------

TempDir::TempDir(const std::string& tag) {
  path_ = "/tmp/dpsan-" + tag + "-" + std::to_string(getpid());
  std::error_code ec;
  fs::remove_all(path_, ec);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
  std::string p = path_ + "/" + name;
  std::ofstream(p) << text;
  return p;
}

std::string peer_path() {
  if (const char* p = std::getenv("DPSAN_PEER")) return p;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return (self.parent_path() / "dpsan_peer").string();
}

static std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// --- cleanup on SIGTERM/SIGINT (the test runner's timeout) ------------------------------------

namespace {

// Read by the signal handler: fixed storage, no allocation there.
char g_ns[2][64];
std::atomic<pid_t> g_children[16];
bool g_handler_installed = false;
struct sigaction g_old_term, g_old_int;

void delete_ns_from_handler(const char* ns) {
  if (!ns[0]) return;
  pid_t p = fork();
  if (p == 0) {
    execlp("ip", "ip", "netns", "delete", ns, static_cast<char*>(nullptr));
    _exit(127);
  }
  if (p > 0) {
    int st;
    waitpid(p, &st, 0);
  }
}

void on_fatal_signal(int sig) {
  for (auto& c : g_children) {
    pid_t p = c.load();
    if (p > 0) kill(p, SIGKILL);
  }
  delete_ns_from_handler(g_ns[0]);
  delete_ns_from_handler(g_ns[1]);
  signal(sig, SIG_DFL);
  raise(sig);
}

/** Children are killed and namespaces removed if the runner stops the test with a signal. */
void install_signal_cleanup() {
  if (g_handler_installed) return;
  g_handler_installed = true;
  struct sigaction sa{};
  sa.sa_handler = on_fatal_signal;
  sigaction(SIGTERM, &sa, &g_old_term);
  sigaction(SIGINT, &sa, &g_old_int);
}

void track_child(pid_t old_pid, pid_t new_pid) {
  for (auto& c : g_children) {
    pid_t expect = old_pid;
    if (c.compare_exchange_strong(expect, new_pid)) return;
  }
}

}  // namespace

// --- processes -------------------------------------------------------------------------------

Child spawn(const std::string& name, const std::vector<std::string>& argv,
            const std::vector<std::string>& env, const std::string& dir) {
  Child c;
  c.name = name;
  c.out_path = dir + "/" + name + ".out";
  c.err_path = dir + "/" + name + ".err";
  // The environment: ours, with each NAME=value of `env` replacing or adding NAME.
  std::vector<std::string> envs;
  for (char** e = environ; *e; e++) {
    std::string s = *e;
    bool replaced = false;
    for (const auto& add : env)
      if (s.compare(0, add.find('=') + 1, add, 0, add.find('=') + 1) == 0) replaced = true;
    if (!replaced) envs.push_back(s);
  }
  envs.insert(envs.end(), env.begin(), env.end());
  std::vector<char*> ev, av;
  for (auto& s : envs) ev.push_back(s.data());
  ev.push_back(nullptr);
  std::vector<std::string> args = argv;
  for (auto& s : args) av.push_back(s.data());
  av.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, c.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, c.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int rc = posix_spawnp(&c.pid, av[0], &fa, nullptr, av.data(), ev.data());
  posix_spawn_file_actions_destroy(&fa);
  install_signal_cleanup();
  if (rc == 0) track_child(0, c.pid);
  if (rc != 0) {
    c.pid = -1;
    std::ofstream(c.err_path) << "could not start " << argv[0] << ": " << std::strerror(rc) << "\n";
  }
  return c;
}

static void note_status(Child* c, int st) {
  track_child(c->pid, 0);
  c->reaped = true;
  c->status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

int wait_child(Child* c, Clock::time_point deadline) {
  if (c->pid < 0 || c->reaped) return c->status;
  for (;;) {
    int st = 0;
    pid_t r = waitpid(c->pid, &st, WNOHANG);
    if (r == c->pid) {
      note_status(c, st);
      return c->status;
    }
    if (r < 0 && errno != EINTR) return c->status;
    if (Clock::now() >= deadline) {
      c->timed_out = true;
      kill_child(c);
      return c->status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void kill_child(Child* c) {
  if (c->pid < 0 || c->reaped) return;
  kill(c->pid, SIGKILL);
  int st = 0;
  while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR) {
  }
  note_status(c, st);
}

bool wait_for_stderr(Child* c, const std::string& text, Clock::time_point deadline) {
  while (Clock::now() < deadline) {
    if (slurp(c->err_path).find(text) != std::string::npos) return true;
    int st = 0;
    if (c->pid < 0 || c->reaped) return false;
    if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
      note_status(c, st);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string child_output(const Child& c) {
  return "--- " + c.name + " (status " + std::to_string(c.status) + (c.timed_out ? ", killed at its deadline" : "") +
         ") stdout:\n" + slurp(c.out_path) + "--- " + c.name + " stderr:\n" + slurp(c.err_path);
}

std::map<std::string, std::string> peer_summary(const Child& c) {
  std::map<std::string, std::string> kv;
  std::istringstream in(slurp(c.out_path));
  std::string line, last;
  while (std::getline(in, line))
    if (line.rfind("dpsan_peer ", 0) == 0) last = line;
  std::istringstream words(last);
  std::string w;
  while (words >> w) {
    auto eq = w.find('=');
    if (eq != std::string::npos) kv[w.substr(0, eq)] = w.substr(eq + 1);
  }
  return kv;
}

unsigned long long num(const std::map<std::string, std::string>& s, const std::string& key) {
  auto it = s.find(key);
  return it == s.end() ? 0 : std::strtoull(it->second.c_str(), nullptr, 10);
}

int run_command(const std::vector<std::string>& argv, std::string* out, int timeout_s) {
  char tmpl[] = "/tmp/dpsan-cmd-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd >= 0) close(fd);
  std::vector<std::string> args = argv;
  std::vector<char*> av;
  for (auto& s : args) av.push_back(s.data());
  av.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, tmpl, O_WRONLY | O_TRUNC, 0);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, av[0], &fa, nullptr, av.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  int code = 127;
  if (rc == 0) {
    Child c;
    c.pid = pid;
    code = wait_child(&c, Clock::now() + std::chrono::seconds(timeout_s));
  }
  if (out) *out = rc == 0 ? slurp(tmpl) : std::string("cannot run ") + argv[0] + ": " + std::strerror(rc);
  unlink(tmpl);
  return code;
}

std::vector<unsigned> usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<unsigned> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (unsigned c = 0; c < CPU_SETSIZE; c++)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

std::string one_port_config(const std::string& device, const std::string& ipv4, int which,
                            const std::string& fastpath_extra) {
  std::string t = "[fastpath]\n" + fastpath_extra;
  std::vector<unsigned> cpus = usable_cpus();
  if (cpus.size() >= 2) t += "lcores = [" + std::to_string(cpus[cpus.size() - 1 - which]) + "]\n";
  t += "[[port]]\ndevice = \"" + device + "\"\nipv4 = \"" + ipv4 + "\"\n";
  return t;
}

// --- network namespaces ----------------------------------------------------------------------

namespace {

bool run_ok(const std::vector<std::string>& argv, std::string* why) {
  std::string out;
  int rc = run_command(argv, &out);
  if (rc == 0) return true;
  if (why) {
    *why = "`";
    for (const auto& a : argv) *why += a + " ";
    why->back() = '`';
    *why += " failed (exit " + std::to_string(rc) + "): " + out;
  }
  return false;
}

/** Removes dpsan-<pid>-a/-b namespaces whose test process is gone (a killed earlier run). */
void sweep_stale() {
  std::string out;
  if (run_command({"ip", "netns", "list"}, &out) != 0) return;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::string name = line.substr(0, line.find(' '));
    if (name.rfind("dpsan-", 0) != 0) continue;
    long pid = std::strtol(name.c_str() + 6, nullptr, 10);
    if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      run_command({"ip", "netns", "delete", name}, nullptr);
  }
}

}  // namespace

NetnsPair::NetnsPair() {
  std::string pid = std::to_string(getpid());
  ns_a = "dpsan-" + pid + "-a";
  ns_b = "dpsan-" + pid + "-b";
  if_a = "dpsv" + pid + "a";  // interface names: at most 15 characters
  if_b = "dpsv" + pid + "b";
  if (geteuid() != 0) {
    unavailable_ = "network namespaces need root (running as uid " + std::to_string(geteuid()) + ")";
    return;
  }
  std::string out;
  if (run_command({"ip", "-V"}, &out) != 0) {
    unavailable_ = "no usable `ip` command (iproute2): " + out;
    return;
  }
  sweep_stale();
  std::snprintf(g_ns[0], sizeof g_ns[0], "%s", ns_a.c_str());
  std::snprintf(g_ns[1], sizeof g_ns[1], "%s", ns_b.c_str());
  install_signal_cleanup();

  std::string why;
  if (!run_ok({"ip", "netns", "add", ns_a}, &why)) {
    unavailable_ = "cannot create a network namespace: " + why;
    return;
  }
  created_a_ = true;
  if (!run_ok({"ip", "netns", "add", ns_b}, &why)) {
    unavailable_ = "cannot create a network namespace: " + why;
    return;
  }
  created_b_ = true;
  if (!run_ok({"ip", "link", "add", if_a, "netns", ns_a, "type", "veth", "peer", "name", if_b, "netns", ns_b}, &why)) {
    unavailable_ = "cannot create a veth pair: " + why;
    return;
  }
  for (auto [ns, ifn] : {std::pair{ns_a, if_a}, std::pair{ns_b, if_b}}) {
    // No IPv6 chatter on the link, and no offloads that would hand af_packet merged frames.
    run_command({"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf." + ifn + ".disable_ipv6=1"}, nullptr);
    run_command({"ip", "netns", "exec", ns, "ethtool", "-K", ifn, "gro", "off", "gso", "off", "tso", "off",
                 "tx", "off", "rx", "off"}, nullptr);
    if (!run_ok({"ip", "-n", ns, "link", "set", ifn, "up"}, &why) ||
        !run_ok({"ip", "-n", ns, "link", "set", "lo", "up"}, &why)) {
      unavailable_ = "cannot bring the veth pair up: " + why;
      return;
    }
  }
}

void NetnsPair::remove() {
  // Deleting a namespace deletes the veth end inside it, and with it the pair.
  if (created_a_) run_command({"ip", "netns", "delete", ns_a}, nullptr);
  if (created_b_) run_command({"ip", "netns", "delete", ns_b}, nullptr);
  created_a_ = created_b_ = false;
}

NetnsPair::~NetnsPair() {
  remove();
  g_ns[0][0] = g_ns[1][0] = '\0';
}

}  // namespace dpsan::itest
