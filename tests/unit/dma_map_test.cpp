/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * DmaMap (fastpath/dma_map.h) and the registration cache's use of it (fastpath/reg_cache.h).
 *
 * White-box, in two parts:
 *  - DmaMap and RegCache on recording DmaOps (no EAL): page-range counting with overlapping,
 *    nested, adjacent and bridging holds released in every order; DPDK is never asked to
 *    register an overlap, nor to unregister pages still mapped; failures (no memseg list left,
 *    a device that refuses) hold nothing or leave the device out of the mask; IOVA as PA turns
 *    it off; mappings follow the cache (kept after release, dropped on invalidation, R65).
 *  - DmaMap on the real DPDK calls, with the device of a net_ring port (the vdev bus maps
 *    nothing for it and answers 0): the pages become a DPDK memseg list and stop being one
 *    when the last hold goes, and running out of memseg lists fails cleanly and recovers.
 */
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_mempool.h>
#include <rte_mbuf.h>

#include "eal_main.h"
#include "fastpath/dma_map.h"
#include "fastpath/engine.h"
#include "fastpath/port/port.h"
#include "fastpath/reg_cache.h"

namespace dpsan::fastpath {
namespace {

const uintptr_t kPage = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));

/** DmaOps that record what DPDK would hold, check the call rules, and fail on demand. */
class RecordingOps : public DmaOps {
 public:
  bool va = true;
  size_t max_chunks = SIZE_MAX;           ///< ENOSPC beyond this many registered chunks
  std::set<rte_device*> refusing;         ///< devices whose dma_map answers ENOTSUP
  std::map<uintptr_t, size_t> registered;  ///< start -> length
  std::map<std::pair<rte_device*, uintptr_t>, size_t> mapped;
  unsigned register_calls = 0;

  bool iova_is_va() override { return va; }
  int extmem_register(uintptr_t start, size_t len, size_t page) override {
    register_calls++;
    EXPECT_EQ(page, kPage);
    EXPECT_EQ(start % page, 0u);
    EXPECT_EQ(len % page, 0u);
    EXPECT_GT(len, 0u);
    for (auto& [s, l] : registered)
      if (s < start + len && start < s + l) {
        ADD_FAILURE() << "DPDK would refuse an overlap (EEXIST)";
        return EEXIST;
      }
    if (registered.size() >= max_chunks) return ENOSPC;
    registered[start] = len;
    return 0;
  }
  void extmem_unregister(uintptr_t start, size_t len) override {
    auto it = registered.find(start);
    ASSERT_NE(it, registered.end()) << "unregistering what is not registered";
    EXPECT_EQ(it->second, len);
    for (auto& [k, l] : mapped) EXPECT_NE(k.second, start) << "unregistered while still mapped";
    registered.erase(it);
  }
  int dma_map(rte_device* dev, uintptr_t start, size_t len) override {
    EXPECT_TRUE(registered.count(start) && registered[start] == len) << "mapping unregistered pages";
    if (refusing.count(dev)) return ENOTSUP;
    mapped[{dev, start}] = len;
    return 0;
  }
  void dma_unmap(rte_device* dev, uintptr_t start, size_t len) override {
    auto it = mapped.find({dev, start});
    ASSERT_NE(it, mapped.end()) << "unmapping what is not mapped";
    EXPECT_EQ(it->second, len);
    mapped.erase(it);
  }

  /** Is page `p` registered, and mapped for `dev`? */
  bool page_mapped(rte_device* dev, uintptr_t p) const {
    for (auto& [k, l] : mapped)
      if (k.first == dev && k.second <= p && p < k.second + l) return true;
    return false;
  }
  size_t pages_registered() const {
    size_t n = 0;
    for (auto& [s, l] : registered) n += l / kPage;
    return n;
  }
};

// Device pointers for RecordingOps: never dereferenced.
rte_device* const kDev0 = reinterpret_cast<rte_device*>(uintptr_t{0x1000});
rte_device* const kDev1 = reinterpret_cast<rte_device*>(uintptr_t{0x2000});

class DmaMapTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(map_.init({kDev0}, &ops_)); }
  /** Page i of a made-up, page-aligned address range (RecordingOps touches no memory). */
  static uintptr_t pg(uintptr_t i) { return 0x7f0000000000 + i * kPage; }

  RecordingOps ops_;
  DmaMap map_;
};

// Given no device (nothing DMAs), or IOVA as PA (no IO address for the switch's pages)
// Expect: map() answers 0 and makes no DPDK call
TEST(DmaMapOff, NoDeviceOrIovaAsPaMapsNothing) {
  RecordingOps ops;
  DmaMap none;
  ASSERT_TRUE(none.init({}, &ops));
  EXPECT_FALSE(none.enabled());
  EXPECT_EQ(none.map(0x7f0000000000, 8192), 0u);
  RecordingOps pa;
  pa.va = false;
  DmaMap pa_map;
  ASSERT_TRUE(pa_map.init({kDev0}, &pa));
  EXPECT_FALSE(pa_map.enabled());
  EXPECT_EQ(pa_map.map(0x7f0000000000, 8192), 0u);
  EXPECT_EQ(ops.register_calls + pa.register_calls, 0u);
  EXPECT_EQ(pa_map.stats().failures, 0u) << "off is not a failure";
  std::vector<rte_device*> too_many(DmaMap::kMaxDevices + 1, kDev0);
  DmaMap big;
  EXPECT_FALSE(big.init(too_many, &ops));
}

// Given an unaligned range   Expect: its whole pages are registered and mapped, then released
TEST_F(DmaMapTest, UnalignedRangeIsWidenedToPagesAndReleased) {
  EXPECT_EQ(map_.map(pg(1) + 100, kPage), 1u);  // touches pages 1 and 2
  ASSERT_EQ(ops_.registered.size(), 1u);
  EXPECT_EQ(ops_.registered.begin()->first, pg(1));
  EXPECT_EQ(ops_.registered.begin()->second, 2 * kPage);
  EXPECT_TRUE(ops_.page_mapped(kDev0, pg(2)));
  EXPECT_EQ(map_.stats().chunks, 1u);
  map_.unmap(pg(1) + 100, kPage);
  EXPECT_TRUE(ops_.registered.empty());
  EXPECT_TRUE(ops_.mapped.empty());
  EXPECT_EQ(map_.stats().chunks, 0u);
}

// Given A = pages [0,2) and B = pages [1,3) (page 1 shared), released in either order
// Expect: no overlap is ever registered; page 1 stays while either holds it; both go at the end
TEST_F(DmaMapTest, OverlappingRangesSharePagesInEitherReleaseOrder) {
  for (bool a_first : {true, false}) {
    SCOPED_TRACE(a_first ? "A released first" : "B released first");
    ASSERT_EQ(map_.map(pg(0), 2 * kPage), 1u);
    ASSERT_EQ(map_.map(pg(1), 2 * kPage), 1u);
    EXPECT_EQ(ops_.pages_registered(), 3u);
    EXPECT_EQ(map_.stats().chunks, 2u) << "B registers only its uncovered page";
    if (a_first) map_.unmap(pg(0), 2 * kPage); else map_.unmap(pg(1), 2 * kPage);
    // The survivor's pages are all still mapped.
    uintptr_t first = a_first ? 1 : 0;
    EXPECT_TRUE(ops_.page_mapped(kDev0, pg(first)));
    EXPECT_TRUE(ops_.page_mapped(kDev0, pg(first + 1)));
    if (a_first) map_.unmap(pg(1), 2 * kPage); else map_.unmap(pg(0), 2 * kPage);
    EXPECT_TRUE(ops_.registered.empty());
    EXPECT_TRUE(ops_.mapped.empty());
  }
}

// Given a range inside another, and the same range twice
// Expect: nothing new registered; the pages stay until the last hold goes
TEST_F(DmaMapTest, NestedAndRepeatedRangesAreCounted) {
  ASSERT_EQ(map_.map(pg(0), 4 * kPage), 1u);
  ASSERT_EQ(map_.map(pg(1), kPage), 1u);
  ASSERT_EQ(map_.map(pg(1), kPage), 1u);
  EXPECT_EQ(ops_.register_calls, 1u);
  map_.unmap(pg(0), 4 * kPage);
  EXPECT_EQ(ops_.pages_registered(), 4u) << "the chunk is one piece: it goes with its last hold";
  map_.unmap(pg(1), kPage);
  EXPECT_EQ(map_.stats().chunks, 1u);
  map_.unmap(pg(1), kPage);
  EXPECT_TRUE(ops_.registered.empty());
}

// Given two adjacent ranges (no page shared)   Expect: two chunks, each released on its own
TEST_F(DmaMapTest, AdjacentRangesAreIndependent) {
  ASSERT_EQ(map_.map(pg(0), kPage), 1u);
  ASSERT_EQ(map_.map(pg(1), kPage), 1u);
  EXPECT_EQ(map_.stats().chunks, 2u);
  map_.unmap(pg(0), kPage);
  EXPECT_FALSE(ops_.page_mapped(kDev0, pg(0)));
  EXPECT_TRUE(ops_.page_mapped(kDev0, pg(1)));
  map_.unmap(pg(1), kPage);
  EXPECT_TRUE(ops_.registered.empty());
}

// Given holds on pages 0 and 2, then one over [0,3)
// Expect: only the gap (page 1) is registered; any release order leaves nothing behind
TEST_F(DmaMapTest, BridgingRangeRegistersOnlyTheGap) {
  std::vector<std::pair<uintptr_t, uint64_t>> holds = {{pg(0), kPage}, {pg(2), kPage}, {pg(0), 3 * kPage}};
  std::vector<int> order = {0, 1, 2};
  do {
    for (auto& [a, n] : holds) ASSERT_EQ(map_.map(a, n), 1u);
    EXPECT_EQ(map_.stats().chunks, 3u);
    EXPECT_EQ(ops_.pages_registered(), 3u);
    for (int i : order) map_.unmap(holds[i].first, holds[i].second);
    EXPECT_TRUE(ops_.registered.empty());
    EXPECT_TRUE(ops_.mapped.empty());
  } while (std::next_permutation(order.begin(), order.end()));
}

// Given DPDK out of memseg lists (ENOSPC) for the second gap of a range
// Expect: 0, the gap registered by the same call is undone, older holds untouched
TEST_F(DmaMapTest, RegistrationFailureHoldsNothing) {
  ASSERT_EQ(map_.map(pg(2), kPage), 1u);
  ops_.max_chunks = 2;  // room for one more chunk: [0,2) fits, [3,5) does not
  EXPECT_EQ(map_.map(pg(0), 5 * kPage), 0u);
  EXPECT_EQ(map_.stats().failures, 1u);
  EXPECT_EQ(map_.stats().chunks, 1u);
  EXPECT_EQ(ops_.pages_registered(), 1u);
  EXPECT_TRUE(ops_.page_mapped(kDev0, pg(2)));
  ops_.max_chunks = SIZE_MAX;  // lists free again: the same range now maps
  EXPECT_EQ(map_.map(pg(0), 5 * kPage), 1u);
  map_.unmap(pg(0), 5 * kPage);
  map_.unmap(pg(2), kPage);
  EXPECT_TRUE(ops_.registered.empty());
}

// Given two devices, one refusing every mapping
// Expect: the mask leaves it out (its frames are copied); undone only where it was done
TEST(DmaMapDevices, RefusingDeviceIsLeftOutOfTheMask) {
  RecordingOps ops;
  ops.refusing.insert(kDev1);
  DmaMap map;
  ASSERT_TRUE(map.init({kDev0, kDev1}, &ops));
  uintptr_t a = 0x7f0000000000;
  EXPECT_EQ(map.map(a, kPage), 0b01u);
  EXPECT_EQ(map.stats().failures, 1u);
  EXPECT_FALSE(ops.page_mapped(kDev1, a));
  map.unmap(a, kPage);
  EXPECT_TRUE(ops.registered.empty());
  // Every device refuses: nothing held, nothing left registered.
  ops.refusing.insert(kDev0);
  EXPECT_EQ(map.map(a, kPage), 0u);
  EXPECT_TRUE(ops.registered.empty());
  EXPECT_EQ(map.stats().chunks, 0u);
}

TEST_F(DmaMapTest, ClearDropsEveryChunkWhateverItsCount) {
  ASSERT_EQ(map_.map(pg(0), 2 * kPage), 1u);
  ASSERT_EQ(map_.map(pg(1), 2 * kPage), 1u);
  map_.clear();
  EXPECT_TRUE(ops_.registered.empty());
  EXPECT_TRUE(ops_.mapped.empty());
  EXPECT_EQ(map_.stats().chunks, 0u);
}

/** RegCache over a DmaMap on RecordingOps; the ranges are real memory (the cache mlocks). */
class RegCacheDmaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(map_.init({kDev0}, &ops_));
    mem_ = static_cast<char*>(mmap(nullptr, 8 * kPage, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(mem_, MAP_FAILED);
  }
  void TearDown() override {
    cache_.clear();
    EXPECT_TRUE(ops_.registered.empty()) << "clear() left a chunk";
    munmap(mem_, 8 * kPage);
  }
  uintptr_t at(size_t page) const { return reinterpret_cast<uintptr_t>(mem_) + page * kPage; }

  RecordingOps ops_;
  DmaMap map_;
  RegCache cache_{&map_};
  char* mem_ = nullptr;
};

// Given a registration deregistered (its range stays cached)
// Expect: still mapped; registering again is a hit with no DPDK call; the R65 invalidation
// drops the mapping with the range
TEST_F(RegCacheDmaTest, R65_MappingFollowsTheCacheAndGoesWithInvalidation) {
  uint32_t mask = 0;
  uint64_t id = cache_.acquire(at(1) + 10, 3000, kPageRead, true, &mask);
  EXPECT_EQ(mask, 1u);
  cache_.release(id);
  EXPECT_EQ(map_.stats().chunks, 1u) << "deregistered, still cached and mapped";
  unsigned calls = ops_.register_calls;
  id = cache_.acquire(at(1) + 10, 3000, kPageRead, true, &mask);
  EXPECT_EQ(mask, 1u);
  EXPECT_EQ(ops_.register_calls, calls) << "a cache hit makes no DPDK call";
  cache_.release(id);
  EXPECT_EQ(cache_.invalidate(at(1) + 100, 1), RegCache::Invalidate::kDropped);
  EXPECT_EQ(map_.stats().chunks, 0u);
  EXPECT_TRUE(ops_.registered.empty());
}

// Given a range invalidated while a registration holds it
// Expect: still mapped (a frame may be reading it) until that registration's release
TEST_F(RegCacheDmaTest, R65_InvalidatedInUseStaysMappedUntilTheLastRelease) {
  uint32_t mask = 0;
  uint64_t id = cache_.acquire(at(0), 2 * kPage, kPageRead, true, &mask);
  ASSERT_EQ(mask, 1u);
  EXPECT_EQ(cache_.invalidate(at(0), kPage), RegCache::Invalidate::kInUse);
  EXPECT_TRUE(ops_.page_mapped(kDev0, at(0)));
  cache_.release(id);
  EXPECT_TRUE(ops_.registered.empty());
}

// Given overlapping cached ranges (two cache entries sharing a page)
// Expect: the DmaMap counts the shared page; invalidating one entry keeps the other mapped
TEST_F(RegCacheDmaTest, OverlappingEntriesShareTheirMapping) {
  uint32_t m1 = 0, m2 = 0;
  uint64_t a = cache_.acquire(at(0), 2 * kPage, kPageRead, true, &m1);
  uint64_t b = cache_.acquire(at(1), 2 * kPage, kPageRead, true, &m2);  // not covered by a: new entry
  EXPECT_EQ(m1 & m2, 1u);
  EXPECT_EQ(cache_.stats().entries, 2u);
  cache_.release(a);
  cache_.release(b);
  EXPECT_EQ(cache_.invalidate(at(0), 1), RegCache::Invalidate::kDropped);
  EXPECT_TRUE(ops_.page_mapped(kDev0, at(1))) << "still held by the other entry";
  EXPECT_TRUE(ops_.page_mapped(kDev0, at(2)));
  EXPECT_EQ(cache_.invalidate(at(2), 1), RegCache::Invalidate::kDropped);
  EXPECT_TRUE(ops_.registered.empty());
}

// Given an RDMA registration (no mapping wanted), then a local one of the same range
// Expect: the first maps nothing (no memseg list spent); the second maps the cached range
TEST_F(RegCacheDmaTest, RdmaRangesAreMappedOnlyWhenALocalRegistrationWantsThem) {
  uint32_t mask = 7;
  uint64_t r = cache_.acquire(at(0), kPage, kPageRead, false, &mask);
  EXPECT_EQ(mask, 0u);
  EXPECT_EQ(ops_.register_calls, 0u);
  uint64_t l = cache_.acquire(at(0), kPage, kPageRead, true, &mask);
  EXPECT_EQ(mask, 1u);
  EXPECT_EQ(cache_.stats().entries, 1u);
  cache_.release(r);
  cache_.release(l);
}

// Given a mapping that failed (no memseg list)
// Expect: the registration still succeeds with mask 0 (copies), and is not retried while cached
TEST_F(RegCacheDmaTest, FailedMappingStillRegistersAndIsNotRetriedWhileCached) {
  ops_.max_chunks = 0;
  uint32_t mask = 7;
  uint64_t id = cache_.acquire(at(0), kPage, kPageRead, true, &mask);
  EXPECT_NE(id, 0u);
  EXPECT_EQ(mask, 0u);
  cache_.release(id);
  ops_.max_chunks = SIZE_MAX;
  unsigned calls = ops_.register_calls;
  id = cache_.acquire(at(0), kPage, kPageRead, true, &mask);
  EXPECT_EQ(mask, 0u);
  EXPECT_EQ(ops_.register_calls, calls);
  cache_.release(id);
  // Invalidated, the next registration is a fresh one (R65) and maps.
  EXPECT_EQ(cache_.invalidate(at(0), kPage), RegCache::Invalidate::kDropped);
  id = cache_.acquire(at(0), kPage, kPageRead, true, &mask);
  EXPECT_EQ(mask, 1u);
  cache_.release(id);
}

/** The real DPDK calls, for the device of a net_ring port (vdev: nothing to map, answers 0). */
class DmaMapDpdkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!unit::eal_available()) GTEST_SKIP() << "no EAL on this machine: " << unit::eal_error();
    static unsigned instance = 950;
    instance_ = instance++;
    pool_ = rte_pktmbuf_pool_create(("dma_unit" + std::to_string(instance_)).c_str(), 1023, 0, 0,
                                    2048 + RTE_PKTMBUF_HEADROOM, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
    std::string err;
    port_ = loopback_port_open(instance_, pool_, 1, 0, &err);
    ASSERT_NE(port_, nullptr) << err;
    ASSERT_NE(port_->dma_device(), nullptr);
    EXPECT_FALSE(port_->reads_by_dma()) << "a net_ring port is a vdev";
    ASSERT_TRUE(map_.init({port_->dma_device()}));
    if (!map_.enabled()) GTEST_SKIP() << "the EAL runs with IOVA as PA here";
  }
  void TearDown() override {
    map_.clear();  // before the device goes
    if (port_) {
      port_->close();
      delete port_;
    }
    if (pool_) rte_mempool_free(pool_);
  }
  static char* pages(size_t n) {
    void* p = mmap(nullptr, n * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<char*>(p);
  }

  unsigned instance_ = 0;
  rte_mempool* pool_ = nullptr;
  Port* port_ = nullptr;
  DmaMap map_;
};

// Given two overlapping holds on switch memory
// Expect: the pages are DPDK external memory with IO address = virtual address while held,
// and no memseg list is left once both are released
TEST_F(DmaMapDpdkTest, PagesAreExternalMemoryWhileHeld) {
  char* p = pages(4);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(rte_mem_virt2memseg_list(p), nullptr);
  ASSERT_EQ(map_.map(reinterpret_cast<uintptr_t>(p), 2 * kPage), 1u);
  ASSERT_EQ(map_.map(reinterpret_cast<uintptr_t>(p) + kPage, 3 * kPage), 1u);
  for (size_t i = 0; i < 4; i++) {
    rte_memseg_list* msl = rte_mem_virt2memseg_list(p + i * kPage);
    ASSERT_NE(msl, nullptr) << "page " << i;
    EXPECT_TRUE(msl->external);
    EXPECT_EQ(rte_mem_virt2iova(p + i * kPage + 5), reinterpret_cast<uintptr_t>(p) + i * kPage + 5);
  }
  map_.unmap(reinterpret_cast<uintptr_t>(p), 2 * kPage);
  EXPECT_NE(rte_mem_virt2memseg_list(p), nullptr) << "page 1 is still held";
  map_.unmap(reinterpret_cast<uintptr_t>(p) + kPage, 3 * kPage);
  for (size_t i = 0; i < 4; i++) EXPECT_EQ(rte_mem_virt2memseg_list(p + i * kPage), nullptr);
  munmap(p, 4 * kPage);
}

// Given more separate ranges than DPDK has memseg lists (RTE_MAX_MEMSEG_LISTS)
// Expect: the later ones answer 0 (their frames are copied), the earlier ones stay mapped, and
// once released every list is free again
TEST_F(DmaMapDpdkTest, RunningOutOfMemsegListsFailsCleanlyAndRecovers) {
  constexpr size_t kRanges = RTE_MAX_MEMSEG_LISTS + 8;
  char* p = pages(2 * kRanges);  // every other page: no two ranges adjacent
  ASSERT_NE(p, nullptr);
  std::vector<uintptr_t> held;
  size_t refused = 0;
  for (size_t i = 0; i < kRanges; i++) {
    uintptr_t a = reinterpret_cast<uintptr_t>(p) + 2 * i * kPage;
    if (map_.map(a, kPage) != 0) held.push_back(a);
    else refused++;
  }
  EXPECT_GT(refused, 0u) << "more ranges than memseg lists, yet every one was registered";
  EXPECT_LT(held.size(), size_t{RTE_MAX_MEMSEG_LISTS});
  EXPECT_EQ(map_.stats().failures, refused);
  EXPECT_EQ(map_.stats().chunks, held.size());
  std::printf("memseg lists available to external memory here: %zu\n", held.size());
  for (uintptr_t a : held) EXPECT_NE(rte_mem_virt2memseg_list(reinterpret_cast<void*>(a)), nullptr);
  for (uintptr_t a : held) map_.unmap(a, kPage);
  for (size_t i = 0; i < kRanges; i++)
    EXPECT_EQ(rte_mem_virt2memseg_list(p + 2 * i * kPage), nullptr);
  uintptr_t last = reinterpret_cast<uintptr_t>(p) + 2 * (kRanges - 1) * kPage;
  EXPECT_EQ(map_.map(last, kPage), 1u) << "lists given back can be used again";
  map_.unmap(last, kPage);
  munmap(p, 2 * kRanges * kPage);
}

// Given an Engine on a vdev port under each [fastpath] dma_map policy, and registrations
// mapped for the port's device (mask 1) or not (mask 0)
// Expect: "always" lets only the mapped one go zero-copy; "auto" and "never" treat the vdev
// as reading through the CPU (both go), and only "always" maps anything
TEST_F(DmaMapDpdkTest, EnginePolicyDecidesWhichFramesMayBeAttached) {
  static unsigned instance = 960;
  static char mem[2 * 4096];
  for (DmaPolicy policy : {DmaPolicy::kAlways, DmaPolicy::kAuto, DmaPolicy::kNever}) {
    EngineConfig cfg;
    cfg.max_conns_per_core = 16;
    cfg.max_requests = 1024;
    cfg.mbufs = 1023;
    cfg.max_registrations = 16;
    cfg.dma_map = policy;
    Engine e;
    const char* why = nullptr;
    ASSERT_TRUE(e.init(cfg, instance++, &port_, pool_, &why)) << why;
    EXPECT_EQ(e.dma.enabled(), policy == DmaPolicy::kAlways);
    auto a = reinterpret_cast<uintptr_t>(mem);
    uint64_t mapped = e.mrs.create(1, a, 4096, 0, 1);
    uint64_t unmapped = e.mrs.create(1, a + 4096, 4096, 0, 0);
    uint32_t im = e.mrs.acquire(mapped, 1, a, 1, 0);
    uint32_t iu = e.mrs.acquire(unmapped, 1, a + 4096, 1, 0);
    ASSERT_NE(im, kMrNone);
    ASSERT_NE(iu, kMrNone);
    EXPECT_TRUE(e.zero_copy_ok(0, im));
    EXPECT_EQ(e.zero_copy_ok(0, iu), policy != DmaPolicy::kAlways)
        << "a frame from unmapped memory must never go zero-copy to a device that DMAs";
    e.mrs.release(im);
    e.mrs.release(iu);
  }
}

// Given memory DPDK already owns (the EAL's heap: DMA-mapped by the EAL itself where needed)
// Expect: it is not registered a second time
TEST_F(DmaMapDpdkTest, DpdkOwnMemoryIsNotRegisteredAgain) {
  void* p = rte_malloc(nullptr, 64 * 1024, 4096);
  ASSERT_NE(p, nullptr);
  rte_memseg_list* before = rte_mem_virt2memseg_list(p);
  ASSERT_NE(before, nullptr);
  uint32_t mask = map_.map(reinterpret_cast<uintptr_t>(p), 64 * 1024);
  std::printf("map of EAL heap memory answered %u, rte_errno %d\n", mask, rte_errno);
  EXPECT_EQ(mask, 0u);
  EXPECT_EQ(rte_mem_virt2memseg_list(p), before);
  if (mask) map_.unmap(reinterpret_cast<uintptr_t>(p), 64 * 1024);
  rte_free(p);
}

}  // namespace
}  // namespace dpsan::fastpath
