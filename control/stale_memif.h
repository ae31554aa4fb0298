/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * R22: a process that ends without WSPCleanup (killed, crashed) must not stop the next one
 * from starting the provider. The EAL leaves nothing shared behind (control/eal.cpp:
 * --in-memory or --no-shconf, so no hugepage files and no shared configuration; its runtime
 * directory dpsan-<pid> is its own, and the next process sweeps it), but a memif server with a
 * filesystem socket (socket-abstract=no) leaves its socket file, and the next server's bind then
 * fails with EADDRINUSE. This removes such a file when nobody listens on it.
 */
#pragma once

#include <string>

namespace dpsan::control {

/**
 * For a net_memif device string in the server role with socket-abstract=no: if its socket
 * file exists and a connect to it is refused (its owner is gone), unlink it. A socket that
 * is bound in this network namespace, or answers (or would block) a connect, belongs to a live
 * process and is left alone; so is a file that is not a socket. Other devices: nothing.
 * Control thread (instance startup, before the probe). Races: stale_memif.cpp.
 * @return the path removed, or "".
 */
std::string remove_stale_memif_socket(const std::string& device);

}  // namespace dpsan::control
