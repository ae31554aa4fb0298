/* SPDX-License-Identifier: BSD-3-Clause */
#include "page_rights.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <string>

namespace dpsan::fastpath {

namespace {

/** The whole of /proc/self/maps ("" if it cannot be read). */
std::string read_self_maps() {
  std::string text;
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char chunk[8192];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

}  // namespace

bool page_rights_allow(uintptr_t addr, size_t len, uint32_t rights) {
  if (len == 0 || addr + len < addr) return false;
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t start = addr & ~(page - 1);
  // MADV_POPULATE_* (Linux 5.14) faults the pages in as a read or a write would, and fails with
  // EFAULT where that access would raise SIGSEGV, ENOMEM where a page is not mapped: the check
  // for the price of a page-table walk. A write implies a read (no write-only pages on x86 or
  // arm64).
  int advice = (rights & kPageWrite) ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;
  if (madvise(reinterpret_cast<void*>(start), addr + len - start, advice) == 0) return true;
  // EINVAL: an older kernel, or memory it cannot populate (device memory: VM_IO, VM_PFNMAP).
  // /proc/self/maps costs about a millisecond in a DPDK process (it has many areas).
  return errno == EINVAL && page_rights_allow_by_maps(addr, len, rights);
}

bool page_rights_allow_by_maps(uintptr_t addr, size_t len, uint32_t rights) {
  if (len == 0 || addr + len < addr) return false;
  uintptr_t cur = addr;
  const uintptr_t end = addr + len;
  const std::string maps = read_self_maps();
  // The kernel lists the areas in ascending order: walk them until [cur, end) is covered, and
  // fail at the first hole or at an area without the rights asked for.
  for (size_t at = 0; at < maps.size();) {
    size_t eol = maps.find('\n', at);
    if (eol == std::string::npos) eol = maps.size();
    uintptr_t lo = 0, hi = 0;
    char perms[5] = {};
    bool parsed = std::sscanf(maps.c_str() + at, "%" SCNxPTR "-%" SCNxPTR " %4s", &lo, &hi,
                              perms) == 3;
    at = eol + 1;
    if (!parsed || hi <= cur) continue;
    if (lo > cur) return false;
    if (((rights & kPageRead) && perms[0] != 'r') || ((rights & kPageWrite) && perms[1] != 'w'))
      return false;
    cur = hi;
    if (cur >= end) return true;
  }
  return false;
}

}  // namespace dpsan::fastpath
