/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * SocketLink: the part of a provider socket that the fast path and the notifier see.
 *
 * The socket itself (descriptor, state machine, registrations) belongs to spi-adapter. The fast
 * path only needs to know where to complete, which core owns the connection, which events to
 * record, and how many upcalls are still owed for the socket. A SocketLink lives in the socket
 * slot, which outlives every request that points at it: the socket is not released before the
 * owning core has acknowledged its close and `pending_upcalls` has dropped to zero.
 */
#pragma once

#include <atomic>
#include <cstdint>

namespace dpsan::fastpath {

/** Bits of the recorded network events, as FD_ACCEPT_BIT / FD_CONNECT_BIT of the SPI. */
enum NetEventBit : uint32_t { kAcceptBit = 3, kConnectBit = 4 };

/**
 * Network-event state of one socket (FD_ACCEPT, FD_CONNECT).
 * Written by the owning poll core (record), the SPI threads (select, enumerate) and read by the
 * notifier (signal). All fields are atomics; the event handle belongs to the switch.
 */
struct NetEvents {
  std::atomic<void*> event{nullptr};      ///< WSAEVENT selected by WSPEventSelect
  std::atomic<uint32_t> selected{0};      ///< FD_* mask selected
  std::atomic<uint32_t> recorded{0};      ///< FD_* mask recorded and not yet enumerated
  std::atomic<int32_t> error[8]{};        ///< iErrorCode per FD_*_BIT (bits 0..7)
};

/** Connection state as the SPI sees it; written by the owning core (or by WSPAccept). */
enum LinkState : uint8_t { kLinkNone = 0, kLinkConnecting = 1, kLinkEstablished = 2, kLinkDead = 3 };

struct SocketLink {
  uint64_t switch_handle = 0;               ///< from WPUCreateSocketHandle; immutable while open
  uint16_t core = 0;                        ///< owning poll core; immutable while open
  uint32_t conn_slot_pc = UINT32_MAX;       ///< owner core only: index in its conn table
  std::atomic<uint32_t> pending_upcalls{0}; ///< notifier records not yet delivered
  std::atomic<uint32_t> zc_held{0};         ///< ended zero-copy operations not yet published (zerocopy.h)
  std::atomic<int32_t> sticky_error{0};     ///< set by the owner core when the connection dies
  std::atomic<uint32_t> close_acked{0};     ///< set (release) by whoever finished the close request
  std::atomic<bool> closing{false};         ///< no event is signalled once set
  std::atomic<uint8_t> state{kLinkNone};    ///< LinkState
  std::atomic<bool> event_queued{false};    ///< a kSignalEvent record is on the notifier ring
  NetEvents events;
};

}  // namespace dpsan::fastpath
