/* SPDX-License-Identifier: BSD-3-Clause */
#include "stale_memif.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace dpsan::control {

namespace {

constexpr const char* kMemifDefaultSocket = "/run/memif.sock";  // DPDK 22.11's default

/** "net_memifN,k=v,..." -> {k: v}; false if the device is not a memif one. */
bool memif_args(const std::string& device, std::map<std::string, std::string>* kv) {
  if (device.rfind("net_memif", 0) != 0) return false;
  std::stringstream ss(device);
  std::string item;
  std::getline(ss, item, ',');  // the device name
  while (std::getline(ss, item, ',')) {
    size_t eq = item.find('=');
    if (eq != std::string::npos) (*kv)[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return true;
}

/** Whether a socket of this network namespace is bound to `path` (/proc/net/unix). */
bool bound_here(const std::string& path) {
  std::ifstream f("/proc/net/unix");
  std::string line;
  while (std::getline(f, line))
    if (line.size() > path.size() && line.compare(line.size() - path.size(), path.size(), path) == 0 &&
        line[line.size() - path.size() - 1] == ' ')
      return true;
  return false;
}

/**
 * Whether no process listens on the Unix socket at `path`. A socket bound in this namespace
 * (this process's own memif server included) is alive; one that is not may still be served
 * from another network namespace, so a connect decides: only a refusal says it is stale.
 * Non-blocking, so that a live server with a full backlog (or a stopped one) answers EAGAIN
 * and is kept, rather than holding this startup in connect.
 */
bool nobody_listens(const std::string& path) {
  if (bound_here(path)) return false;
  sockaddr_un un{};
  if (path.size() >= sizeof un.sun_path) return false;
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  bool refused = connect(fd, reinterpret_cast<sockaddr*>(&un), sizeof un) != 0 && errno == ECONNREFUSED;
  close(fd);
  return refused;
}

}  // namespace

std::string remove_stale_memif_socket(const std::string& device) {
  std::map<std::string, std::string> kv;
  if (!memif_args(device, &kv)) return "";
  // A client does not own the file; DPDK's memif role is client unless role=server is given.
  if (!kv.count("role") || kv["role"] != "server") return "";
  if (!kv.count("socket-abstract") || kv["socket-abstract"] != "no") return "";  // no file at all
  std::string path = kv.count("socket") ? kv["socket"] : kMemifDefaultSocket;
  struct stat before{}, now{};
  if (lstat(path.c_str(), &before) != 0 || !S_ISSOCK(before.st_mode)) return "";
  if (!nobody_listens(path)) return "";
  // Another server on the same path (a configuration error, which must not become a silent one)
  // can bind only once the stale file is gone, so it is another dpsan process removing it too.
  // If that one removed it and bound its own since the first lstat, the inode differs: kept.
  // Still open: its unlink and bind between this lstat and our unlink, and a server of another
  // network namespace between its bind and its listen (refused above, and absent from our
  // /proc/net/unix). Closing them needs a lock that every server takes; the memif driver has none.
  if (lstat(path.c_str(), &now) != 0 || now.st_ino != before.st_ino || now.st_dev != before.st_dev) return "";
  if (unlink(path.c_str()) != 0) return "";
  return path;
}

}  // namespace dpsan::control
