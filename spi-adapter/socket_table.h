/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The descriptor table: provider SOCKET = (generation << 32) | (slot + 1).
 *
 * Slots live for the whole process and are reused with a new generation, so a stale or closed
 * descriptor answers WSAENOTSOCK and never reaches freed memory (R27). A SocketRef pins a slot
 * for the length of one SPI call; WSPCloseSocket bumps the generation first (every later lookup
 * fails), then waits for the calls already inside to leave.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <netinet/in.h>

#include <dpsan/ws2san.h>

#include "fastpath/descriptor.h"
#include "fastpath/listener.h"
#include "fastpath/socket_link.h"

namespace dpsan::spi {

inline constexpr uint32_t kMaxSockets = 16384;
inline constexpr unsigned kMaxRegsPerSocket = 16;

enum class SockState : uint8_t { kFree, kCreated, kBound, kListening, kConnecting, kConnected, kClosing };

/** One local registration of this socket (spec 2.16); guarded by Socket::mu. */
struct RegEntry {
  uintptr_t addr = 0;
  uint32_t len = 0;
  uint32_t flags = 0;
  uint32_t refs = 0;   ///< R58: the same buffer registered twice needs two deregistrations
  uint64_t cache_id = 0;  ///< its reference on the registration cache
};

/** One RDMA registration of this socket (WSPRegisterRdmaMemory); guarded by Socket::mu. */
struct RdmaEntry {
  bool used = false;
  fastpath::wire::RdmaRef ref;  ///< what its descriptor names (offset unused)
  uint64_t cache_id = 0;
};

struct Socket {
  std::atomic<uint32_t> gen{1};
  std::atomic<uint32_t> refs{0};      ///< SPI calls inside, plus one while open
  std::atomic<uint8_t> finisher{0};   ///< who makes the last upcall: 1 = close, 2 = cleanup
  std::atomic<bool> allocated{false};
  uint32_t index = 0;
  uint64_t self = 0;                  ///< this socket's SOCKET value while open
  std::atomic<uint64_t> live_value{0};  ///< == self while open, 0 once invalidated

  std::mutex mu;                      ///< slow-path state below
  SockState state = SockState::kFree;
  sockaddr_in local{};
  sockaddr_in peer{};
  fastpath::Listener* listener = nullptr;
  uint16_t reserved_port = 0;         ///< port taken in the port map (0 = none)
  int so_debug = 0;
  RegEntry regs[kMaxRegsPerSocket];
  RdmaEntry rdma_regs[kMaxRegsPerSocket];  ///< the core's table holds the rights themselves
  /// Hot-path copy of the registration handles, read without the lock; MrTable validates.
  std::atomic<uint64_t> reg_handles[kMaxRegsPerSocket];
  std::atomic<bool> shut_send{false}, shut_recv{false};

  fastpath::SocketLink link;
  fastpath::Request close_req;        ///< the socket's own close request: never pooled
};

class SocketTable {
 public:
  static SocketTable& get();

  /** Take a free slot and make it open. Slow path. @return nullptr when full (WSAEMFILE). */
  Socket* open();
  /** Invalidate the descriptor: every later lookup fails. Returns false if already closed. */
  bool invalidate(Socket* s);
  /** Return a closed socket's slot for reuse. */
  void release(Socket* s);

  /** Pin an open socket for one call; nullptr for any stale, closed or bogus value. */
  Socket* acquire(SOCKET s);
  void put(Socket* s) { s->refs.fetch_sub(1, std::memory_order_release); }
  /** The socket whose `link` this is (a notifier record names a socket by its link). */
  Socket* of_link(const fastpath::SocketLink* link) {
    auto off = reinterpret_cast<const char*>(link) - reinterpret_cast<const char*>(&slots_[0].link);
    return &slots_[static_cast<size_t>(off) / sizeof(Socket)];
  }

  /** Every allocated slot (open or closing), for the final cleanup. */
  template <class F>
  void for_each_allocated(F&& f) {
    for (uint32_t i = 0; i < kMaxSockets; i++)
      if (slots_[i].allocated.load(std::memory_order_acquire)) f(slots_[i]);
  }
  uint32_t open_count() const { return open_count_.load(std::memory_order_relaxed); }

 private:
  SocketTable();
  Socket* slots_;
  std::mutex mu_;
  uint32_t* free_;
  uint32_t nfree_;
  std::atomic<uint32_t> open_count_{0};
};

/** RAII pin of a socket for one SPI call. */
class SocketRef {
 public:
  explicit SocketRef(SOCKET s) : s_(SocketTable::get().acquire(s)) {}
  ~SocketRef() {
    if (s_) SocketTable::get().put(s_);
  }
  SocketRef(const SocketRef&) = delete;
  SocketRef& operator=(const SocketRef&) = delete;
  Socket* operator->() const { return s_; }
  Socket* get() const { return s_; }
  explicit operator bool() const { return s_ != nullptr; }

 private:
  Socket* s_;
};

}  // namespace dpsan::spi
