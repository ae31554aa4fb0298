/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * ThreadSanitizer annotations for hand-offs that happen inside DPDK (build-tsan only).
 *
 * Debian's DPDK is not built with TSan, and its rings synchronise with plain stores behind
 * compiler barriers (rte_ring_generic_pvt.h on x86) or in uninstrumented shared objects (mempool
 * drivers, PMDs). TSan then sees no happens-before between the thread that hands an object over
 * and the one that takes it, and reports our own accesses to that object as races. These
 * helpers state the hand-off: release before the object goes into DPDK, acquire after it comes
 * out. Without TSan they compile to nothing.
 */
#pragma once

#include <mutex>

#if defined(__SANITIZE_THREAD__)
#define DPSAN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DPSAN_TSAN 1
#endif
#endif
#ifndef DPSAN_TSAN
#define DPSAN_TSAN 0
#endif

#if DPSAN_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace dpsan::fastpath {

/** Everything this thread wrote before is visible to whoever calls tsan_acquire(p) after. */
inline void tsan_release([[maybe_unused]] const void* p) {
#if DPSAN_TSAN
  __tsan_release(const_cast<void*>(p));
#endif
}

inline void tsan_acquire([[maybe_unused]] const void* p) {
#if DPSAN_TSAN
  __tsan_acquire(const_cast<void*>(p));
#endif
}

/**
 * rte_malloc's heap hands memory from the thread that frees it to the next one that allocates
 * it, under a lock inside librte_eal (and rte_free zeroes the block there): call
 * tsan_heap_freed() after each rte_free and tsan_heap_allocated() after each rte_*alloc.
 */
inline char tsan_heap_token;
inline void tsan_heap_freed() { tsan_release(&tsan_heap_token); }
inline void tsan_heap_allocated() { tsan_acquire(&tsan_heap_token); }

#if DPSAN_TSAN
inline std::mutex tsan_heap_mutex;
#endif
/**
 * Where SPI threads free and allocate heap blocks concurrently (listeners), the annotations
 * above come too late: rte_free zeroes the block inside librte_eal before it returns, so a
 * block another thread allocates at once looks raced. In TSan builds this scope holds one
 * mutex across the calls, which TSan sees; elsewhere it is nothing.
 */
class TsanHeapSection {
 public:
#if DPSAN_TSAN
  TsanHeapSection() { tsan_heap_mutex.lock(); }
  ~TsanHeapSection() { tsan_heap_mutex.unlock(); }
#else
  TsanHeapSection() {}  // user-provided: no unused-variable warning where it is nothing
#endif
  TsanHeapSection(const TsanHeapSection&) = delete;
  TsanHeapSection& operator=(const TsanHeapSection&) = delete;
};

/**
 * Make every mempool hand-off visible to TSan: wraps the enqueue and dequeue of each registered
 * mempool driver (all pools, mbufs included) with a release / acquire per object. Call once
 * after rte_eal_init (drivers are loaded then); a no-op without TSan, and on later calls.
 */
void tsan_annotate_mempools();

}  // namespace dpsan::fastpath
