/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Typed wrappers over rte_ring.
 *
 * The synchronisation mode of a ring is fixed when it is created (as rte_ring does), and the
 * method names say which side may call: `enqueue` follows the ring's producer mode, `sc_` means
 * the single consumer that owns the ring. Indices are rte_ring's free-running 32-bit counters.
 *
 * The TSan annotations (tsan.h) state the hand-off that rte_ring's generic x86 code makes with
 * plain stores and compiler barriers, which TSan cannot see; they are nothing in other builds.
 */
#pragma once

#include <cstdint>
#include <rte_errno.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "tsan.h"

namespace dpsan::fastpath {

/** A ring of T* with a fixed mode. Copyable handle; `destroy()` frees it (control only). */
template <class T>
class PtrRing {
 public:
  PtrRing() = default;

  /**
   * Create a ring. Called by control during instance bring-up.
   * @param size  a power of two: the ring holds size - 1 objects; or, with RING_F_EXACT_SZ in
   *              flags, any size, held exactly (rte_ring_create's contract).
   * @param flags rte_ring flags, e.g. RING_F_MP_RTS_ENQ | RING_F_SC_DEQ.
   * @return true on success; false leaves the handle empty and rte_errno set.
   */
  bool create(const char* name, unsigned size, unsigned flags, int socket_id = SOCKET_ID_ANY) {
    r_ = rte_ring_create(name, size, socket_id, flags);
    return r_ != nullptr;
  }
  void destroy() {
    rte_ring_free(r_);
    r_ = nullptr;
  }

  /** Enqueue one object in the ring's producer mode. @return false (ring full): nothing queued. */
  bool enqueue(T* obj) {
    tsan_release(r_);
    return rte_ring_enqueue(r_, obj) == 0;
  }
  /** Dequeue up to n objects in the ring's consumer mode. @return the number dequeued. */
  unsigned dequeue_burst(T** out, unsigned n) {
    unsigned got = rte_ring_dequeue_burst(r_, reinterpret_cast<void**>(out), n, nullptr);
    if (got) tsan_acquire(r_);
    return got;
  }
  unsigned count() const { return rte_ring_count(r_); }
  bool empty() const { return rte_ring_empty(r_); }
  rte_ring* raw() const { return r_; }

 private:
  rte_ring* r_ = nullptr;
};

/** A ring of T by value (rte_ring_elem); sizeof(T) must be a multiple of 4. */
template <class T>
class ElemRing {
  static_assert(sizeof(T) % 4 == 0, "rte_ring_elem needs a size that is a multiple of 4");

 public:
  bool create(const char* name, unsigned size, unsigned flags, int socket_id = SOCKET_ID_ANY) {
    r_ = rte_ring_create_elem(name, sizeof(T), size, socket_id, flags);
    return r_ != nullptr;
  }
  void destroy() {
    rte_ring_free(r_);
    r_ = nullptr;
  }
  /** @return false (ring full): nothing queued. */
  bool enqueue(const T& v) {
    tsan_release(r_);
    return rte_ring_enqueue_elem(r_, const_cast<T*>(&v), sizeof(T)) == 0;
  }
  unsigned dequeue_burst(T* out, unsigned n) {
    unsigned got = rte_ring_dequeue_burst_elem(r_, out, sizeof(T), n, nullptr);
    if (got) tsan_acquire(r_);
    return got;
  }
  unsigned count() const { return rte_ring_count(r_); }
  bool empty() const { return rte_ring_empty(r_); }
  rte_ring* raw() const { return r_; }

 private:
  rte_ring* r_ = nullptr;
};

}  // namespace dpsan::fastpath
