/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Provider configuration: the file named by DPSAN_CONFIG (TOML), then environment overrides,
 * over the embedded default. The result is immutable for the life of an instance.
 *
 * Every key is documented in README.md ("Configuration"). An unknown key or a bad value is an
 * error that names the key and the value; WSPStartupEx then answers WSASYSNOTREADY.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fastpath/engine.h"
#include "fastpath/port/port.h"

namespace dpsan::control {

struct Neighbour {
  uint32_t ipv4;          ///< network order
  uint8_t mac[6];
};

struct PortConfig {
  /** kUring: backend = "uring", a kernel UDP socket (no device); the others are ethdev ports. */
  enum class Kind { kLoopback, kRingPair, kDpdk, kUring };
  std::string device;     ///< as written: "loopback", "ringpair:NAME:SIDE", a vdev string or PCI
  Kind kind = Kind::kLoopback;
  uint16_t bind_port = 21316;  ///< kUring: bind = "IP[:PORT]" (IP is ipv4; host order)
  bool gso = true;             ///< kUring: send runs of frames as UDP GSO batches
  /// IP MTU (`mtu`, kMtuMin..kMtuMax); 0 = the port's default: kRingMtuDefault (9000) for
  /// loopback and ringpair, the device's own for DPDK devices, the interface's for uring.
  uint16_t mtu = 0;
  std::string pair;       ///< kRingPair: the pair's name
  unsigned side = 0;      ///< kRingPair: 0 or 1
  bool pci = false;       ///< kDpdk: a PCI address (allowed on the EAL command line)
  uint32_t ipv4 = 0;      ///< network order
  uint8_t prefix = 32;
  std::vector<Neighbour> neighbours;  ///< static ARP entries
};

struct Config {
  std::vector<std::string> eal_args;     ///< extra EAL arguments ([eal] args)
  std::vector<unsigned> lcores;          ///< CPUs of the poll cores ([fastpath] lcores)
  std::vector<PortConfig> ports;
  fastpath::EngineConfig engine;
  fastpath::FaultConfig fault;           ///< [fault]: injected on every port's transmit side
  bool force_no_huge = false;
};

/** The embedded default: one loopback port serving 127.0.0.1, one poll core. */
Config embedded_default();

/** @return true if one of the ports serves `ip` (network order). */
bool serves_ip(const Config& c, uint32_t ip);

/**
 * The address a connection to `dst` goes out from when its socket is not bound to one: the
 * port whose subnet holds `dst`, else the first port. Network order.
 */
uint32_t source_ip_for(const Config& c, uint32_t dst);

/**
 * Load the configuration: DPSAN_CONFIG if set, then DPSAN_* environment overrides.
 * @return true, or false with a one-line message naming the key and value in *error.
 */
bool load_config(Config* out, std::string* error);

/** Parse TOML text (the file's contents) onto *out. Used by load_config and the fuzz target. */
bool parse_config_text(const std::string& text, const std::string& origin, Config* out,
                       std::string* error);

}  // namespace dpsan::control
