/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Page rights: may the data plane read, or write, every byte of a user range?
 *
 * Registration must refuse memory that does not allow the access its flags grant (spec 2.16:
 * WSAEFAULT for memory that is not entirely valid): a receive, or a peer's RDMA write, into a
 * read-only page would fault inside a poll core and take the whole process down. mincore
 * cannot tell (a read-only or PROT_NONE page is "mapped").
 *
 * Slow path only: system calls. The registration cache (reg_cache.h) checks a range once, when
 * it enters the cache, so registering a cached range again costs nothing here.
 */
#pragma once

#include <cstddef>
#include <cstdint>

namespace dpsan::fastpath {

inline constexpr uint32_t kPageRead = 1, kPageWrite = 2;  ///< as MEM_READ / MEM_WRITE

/**
 * True if every page of [addr, addr+len) is mapped and allows `rights` (kPageRead,
 * kPageWrite; 0: mapped at all). Faults the pages in, as registration wants them anyway.
 * False for len 0 or a range that wraps.
 */
bool page_rights_allow(uintptr_t addr, size_t len, uint32_t rights);

/**
 * The same answer from the protections in /proc/self/maps, touching no page: what
 * page_rights_allow falls back on where the kernel cannot populate the range. Exposed for its
 * unit test.
 */
bool page_rights_allow_by_maps(uintptr_t addr, size_t len, uint32_t rights);

}  // namespace dpsan::fastpath
