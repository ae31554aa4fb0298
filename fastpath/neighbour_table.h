/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * NeighbourTable: IPv4 address -> Ethernet address, shared by every poll core of an engine.
 *
 * Any core may learn an entry (from an ARP packet it received) and any core may look one up
 * (when it opens a connection), so the table is lock-free: open addressing over a fixed array,
 * a slot claimed by a compare-and-swap on its address and never given back, the address and
 * its state packed in one 64-bit word so a reader sees a whole MAC or none. Lookups happen when
 * a connection is opened, never per frame: an established connection keeps the peer's MAC it
 * learned from the handshake.
 *
 * Dynamic entries expire `timeout` after they were last confirmed; static entries (configured)
 * never expire and are never overwritten by what the network says.
 */
#pragma once

#include <atomic>
#include <cstdint>

namespace dpsan::fastpath {

class NeighbourTable {
 public:
  static constexpr uint32_t kSlots = 1024;  ///< distinct neighbours per engine

  /** Control, at bring-up. `timeout_tsc`: lifetime of a learned entry. */
  void init(uint64_t timeout_tsc, uint64_t request_interval_tsc);

  /** Control, at bring-up. @return false when the table is full. */
  bool add_static(uint32_t ip, const uint8_t mac[6]);

  /** Any core. Record what the network says about `ip`. @return false when the table is full. */
  bool learn(uint32_t ip, const uint8_t mac[6], uint64_t now_tsc);

  /** Any core. @return true and the MAC if `ip` has a live entry. */
  bool lookup(uint32_t ip, uint64_t now_tsc, uint8_t mac[6]) const;

  /**
   * Any core, after a lookup miss. @return true if the caller should send an ARP request now:
   * at most one per address per request interval, whichever core asks.
   */
  bool should_request(uint32_t ip, uint64_t now_tsc);

  /** Entries learned or configured (for stats and tests). */
  uint32_t size() const { return used_.load(std::memory_order_relaxed); }

 private:
  static constexpr uint64_t kValid = 1ull << 48;
  static constexpr uint64_t kStatic = 1ull << 49;

  struct Slot {
    std::atomic<uint32_t> ip{0};          ///< 0 = free (0.0.0.0 is never a neighbour)
    std::atomic<uint64_t> word{0};        ///< MAC in bits 0..47, kValid, kStatic
    std::atomic<uint64_t> expires{0};     ///< TSC
    std::atomic<uint64_t> last_request{0};///< TSC of the last ARP request sent for it
  };

  /** @return the slot of `ip`, claiming a free one if `claim`; nullptr if absent or full. */
  Slot* find(uint32_t ip, bool claim);
  const Slot* find(uint32_t ip) const;

  Slot slots_[kSlots];
  std::atomic<uint32_t> used_{0};
  uint64_t timeout_tsc_ = 0;
  uint64_t request_interval_tsc_ = 0;
};

}  // namespace dpsan::fastpath
