/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * DmaMap: makes ranges of the switch's memory readable by the devices that DMA from it, so that
 * zero-copy frames (zerocopy.h) may go to those devices (README "Zero-copy sends").
 *
 * A device reads a frame attached to the switch's pages by itself, at an IO address: the pages
 * must be known to DPDK (rte_extmem_register, which gives them a memseg list and an IOVA table)
 * and mapped into the device's IOMMU domain (rte_dev_dma_map). This class does both, for every
 * device it was given, and undoes both (rte_dev_dma_unmap, rte_extmem_unregister) when the last
 * hold on those pages goes.
 *
 * Pages shared by several holds. Holds are counted per *chunk*: a page-aligned range registered
 * with rte_extmem_register as one piece. Chunks never overlap (DPDK refuses an overlap with
 * EEXIST): a hold on [a, b) registers only the parts of [a, b) no chunk covers yet, then takes a
 * count on every chunk it touches. A chunk goes when its count falls to 0. So overlapping,
 * nested and adjacent holds share pages, and may be released in any order:
 *
 *     hold A  [0 ............ 8K)                  chunks:  C1 [0, 8K)   refs 2
 *     hold B        [4K ................ 12K)               C2 [8K, 12K) refs 1
 *     release A  ->  C1 refs 1, C2 refs 1;  release B  ->  both go (unmapped, unregistered)
 *
 * Failures never give a wrong zero-copy: map() answers, as a mask, the devices for which the
 * *whole* range is mapped, and a frame goes zero-copy to a DMA device only if its bit is in the
 * mask of the frame's registration. A range DPDK cannot take gets mask 0: no memseg list left
 * (ENOSPC; RTE_MAX_MEMSEG_LISTS is 128 in 22.11 and the EAL's own memory uses some), or pages
 * in a memseg list that is not one of DmaMap's chunks, such as DPDK's own memory (EEXIST;
 * checked here, since DPDK 22.11 would register a second list over its own memory). A device
 * whose mapping fails (ENOTSUP, an IOMMU error) is left out of the chunk's mask for the
 * chunk's life. The memory stays valid for the SPI either way: its frames are copied to that
 * device.
 *
 * IOVA mode. With IOVA as VA (VFIO with an IOMMU, or no physical addresses at all) a page's IO
 * address is its virtual address, and that is what is registered and mapped. With IOVA as PA,
 * the switch's pages have no IO address DPDK could give a device short of pinning and looking up
 * every page (pagemap, root): not done. DmaMap is then off and map() answers 0, so DMA devices
 * get copied frames only.
 *
 * Threading: slow path only (registration, cache invalidation, final cleanup: SPI and control
 * threads), serialised by the object's own mutex; it makes system calls (VFIO ioctls) and
 * allocates. RegCache calls it with its own mutex held (lock order: RegCache, then DmaMap).
 * Complexity: map() and unmap() are O(log C + k) for C chunks of which k are touched.
 */
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

struct rte_device;

namespace dpsan::fastpath {

/** [fastpath] dma_map: which ports need the switch's memory mapped for their device. */
enum class DmaPolicy : uint8_t {
  kAuto,    ///< devices that DMA (not on the vdev bus, e.g. PCI NICs)
  kAlways,  ///< every DPDK port's device, vdevs too (tests the whole path without a NIC)
  kNever,   ///< none: devices that DMA get copied frames only
};

/** The DPDK calls DmaMap makes; tests replace them to count calls and inject failures. */
class DmaOps {
 public:
  virtual ~DmaOps() = default;
  /** True when IO addresses are virtual addresses (rte_eal_iova_mode() == RTE_IOVA_VA). */
  virtual bool iova_is_va();
  /** rte_extmem_register of [va, va+len), iova = va per page. @return 0 or an errno value. */
  virtual int extmem_register(uintptr_t va, size_t len, size_t page);
  virtual void extmem_unregister(uintptr_t va, size_t len);
  /** rte_dev_dma_map of [va, va+len) at iova = va for `dev`. @return 0 or an errno value. */
  virtual int dma_map(rte_device* dev, uintptr_t va, size_t len);
  virtual void dma_unmap(rte_device* dev, uintptr_t va, size_t len);
};

class DmaMap {
 public:
  static constexpr unsigned kMaxDevices = 32;  ///< bits of a device mask

  DmaMap() = default;
  DmaMap(const DmaMap&) = delete;
  DmaMap& operator=(const DmaMap&) = delete;
  /** Releases what is left (see clear()): the owner should have cleared it before. */
  ~DmaMap();

  /**
   * Control, at bring-up, before any map(). Device i gets mask bit i. `ops` (not owned; nullptr:
   * the real DPDK calls) must outlive the object. With no device, or IOVA as PA, the map is
   * off: map() answers 0 and makes no call.
   * @return false when there are more than kMaxDevices devices (nothing set).
   */
  bool init(const std::vector<rte_device*>& devices, DmaOps* ops = nullptr);

  /** True when map() can answer non-zero (devices given, IOVA as VA). */
  bool enabled() const { return enabled_; }

  /**
   * Hold the pages of [addr, addr+len) (widened to whole pages; len 0 counts as 1 byte),
   * registering and mapping the parts not held yet.
   * @return the mask of devices for which the whole range is mapped. Non-zero: one hold is
   *   taken, to be given back by exactly one unmap() of the same range. 0 (off, or failed):
   *   nothing is held and nothing was left registered.
   */
  uint32_t map(uintptr_t addr, uint64_t len);

  /**
   * Give back a hold taken by a map() of the same range that answered non-zero. Chunks whose
   * count falls to 0 are unmapped from every device and unregistered.
   */
  void unmap(uintptr_t addr, uint64_t len);

  /**
   * Unmap and unregister every chunk whatever its count (final cleanup step 6, before the
   * ports close: a device must not be unmapped after it is gone).
   */
  void clear();

  struct Stats {
    uint64_t chunks = 0;    ///< ranges registered and held now
    uint64_t failures = 0;  ///< map() calls that answered 0 while enabled, or left a device out
  };
  Stats stats();

 private:
  struct Chunk {
    uintptr_t end;
    uint32_t refs;
    uint32_t mask;  ///< devices this chunk is mapped for, fixed at its creation
  };
  using Chunks = std::map<uintptr_t, Chunk>;  // by start; disjoint

  bool add_chunk_locked(uintptr_t start, uintptr_t end);
  void drop_chunk_locked(Chunks::iterator it);
  bool fill_gaps_locked(uintptr_t start, uintptr_t end, std::vector<uintptr_t>* created);
  Chunks::iterator first_touching_locked(uintptr_t start);
  void unref_locked(uintptr_t start, uintptr_t end);

  std::mutex mu_;
  Chunks chunks_;
  std::vector<rte_device*> devices_;
  DmaOps* ops_ = nullptr;
  uint32_t all_ = 0;  ///< mask of every device
  bool enabled_ = false;
  uint64_t failures_ = 0;
};

}  // namespace dpsan::fastpath
