/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * dpsan-perf's two-process layouts: this process is the client, and starts a copy of itself in
 * the server role (perf_server.h) on the far end of
 *   - memif: a net_memif pair (this process the memif client, the server the memif server), or
 *   - veth: a veth pair between two network namespaces made for the run (root only), each end
 *     driven by net_af_packet; this process moves its own thread into the client's namespace.
 * Addresses are in 198.18.0.0/15, the memif socket and namespace names carry this PID.
 */
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace dpsan::perf {

class TwoProcess {
 public:
  /** layout: "memif" or "veth". */
  explicit TwoProcess(std::string layout) : layout_(std::move(layout)) {}
  ~TwoProcess() { finish(); }

  /**
   * Start the server process and wait until it listens; then DPSAN_CONFIG names the client's
   * configuration (for the caller's WSPStartupEx) and, for veth, this thread is in the client
   * namespace. @return "" or why not; `*skip` says whether that is a skip (veth without root).
   */
  std::string start(bool* skip);
  /**
   * After the caller's final WSPCleanup: let the server clean up, wait for it (20 s at most,
   * then SIGKILL), and remove what start() made. @return false if the server failed.
   */
  bool finish();

  uint32_t server_ip() const { return server_ip_; }
  uint32_t client_ip() const { return client_ip_; }
  static constexpr uint16_t kPort = 5000;

 private:
  std::string write_configs();
  std::string make_namespaces();
  std::string spawn(std::vector<std::string> argv);

  std::string layout_;
  std::string dir_;             ///< temporary directory with the two configurations
  std::string ns_a_, ns_b_;     ///< veth: the server's and the client's namespaces
  int home_netns_ = -1;         ///< veth: this thread's namespace before start()
  pid_t child_ = -1;
  int sync_fd_ = -1;            ///< write end; its EOF tells the server the client is done
  uint32_t server_ip_ = 0, client_ip_ = 0;
  bool done_ = false;
  std::optional<std::string> saved_config_;  ///< DPSAN_CONFIG before start()
};

}  // namespace dpsan::perf
