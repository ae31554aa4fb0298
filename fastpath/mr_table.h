/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * MrTable: the table of local memory registrations (WSPRegisterMemory).
 *
 * Slots are allocated and freed on the slow path (SPI threads, serialised by the table's own
 * mutex). The hot path only takes and drops *uses*: a use pins a registration so that
 * WSPDeregisterMemory answers WSAEINVAL while an operation is pending on it (R59).
 *
 * A slot's `state` word packs a dead bit and the use count, so that "free only when unused" and
 * "use only when alive" are a single atomic each: free is CAS(0 -> kDead), use is fetch_add
 * followed by a check of the dead bit and the generation.
 *
 * A registration handle is (generation << 32) | (index + 1); 0 is never a handle.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace dpsan::fastpath {

inline constexpr uint32_t kMrNone = UINT32_MAX;

class MrTable {
 public:
  /** Size the table. Control, at instance bring-up. @return false on allocation failure. */
  bool init(uint32_t capacity);

  /**
   * Register [addr, addr+len) for `owner` with MEM_* `flags`; `dma_mask`: the devices its pages
   * are mapped for (DmaMap), fixed for the registration's life. Slow path, any SPI thread.
   * @return the handle, or 0 when the table is full (WSAENOBUFS).
   */
  uint64_t create(uint64_t owner, uintptr_t addr, uint32_t len, uint32_t flags,
                  uint32_t dma_mask = 0);

  /**
   * Release a registration that no operation uses. Slow path.
   * @return 0, or -1 (unknown / stale handle, wrong owner, or in use): nothing changed.
   */
  int destroy(uint64_t handle, uint64_t owner);

  /** Drop every registration regardless of uses (final cleanup step 6, after all aborts). */
  void destroy_all();

  /**
   * Take one use of `handle` for a transfer touching [addr, addr+len) that needs `need` rights.
   * Any thread, lock-free. @return the slot index, or kMrNone (nothing taken).
   */
  uint32_t acquire(uint64_t handle, uint64_t owner, uintptr_t addr, uint32_t len, uint32_t need);

  /** Drop a use taken by acquire(). Any thread, lock-free. */
  void release(uint32_t index) {
    slots_[index].state.fetch_sub(1, std::memory_order_release);
  }

  /**
   * The devices the registration's pages are mapped for. Poll core, for a slot it holds a use
   * of (acquire()): the use keeps the registration, and with it the mapping, alive.
   */
  uint32_t dma_mask(uint32_t index) const {
    return slots_[index].dma_mask.load(std::memory_order_relaxed);
  }

  /** Does `handle` (live, owned by `owner`) cover [addr, addr+len)? Lock-free, takes nothing. */
  bool covers(uint64_t handle, uint64_t owner, uintptr_t addr, uint32_t len) const;

  /** Live registrations (for stats and leak checks). */
  uint32_t live() const { return live_.load(std::memory_order_relaxed); }

 private:
  static constexpr uint64_t kDead = 1ull << 63;
  struct Slot {
    std::atomic<uint64_t> state{kDead};  // kDead | uses
    std::atomic<uint32_t> gen{1};
    std::atomic<uint64_t> owner{0};
    std::atomic<uintptr_t> addr{0};
    std::atomic<uint32_t> len{0};
    std::atomic<uint32_t> flags{0};
    std::atomic<uint32_t> dma_mask{0};
  };
  Slot* slot_of(uint64_t handle, uint32_t* index) const;

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;  // guarded by mu_
  std::mutex mu_;
  std::atomic<uint32_t> live_{0};
};

}  // namespace dpsan::fastpath
