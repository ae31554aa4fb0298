/* SPDX-License-Identifier: BSD-3-Clause */
#include "validate.h"

#include <cerrno>
#include <cstring>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace dpsan::spi {

bool user_range_mapped(const void* p, size_t len) {
  if (p == nullptr || len == 0) return false;
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t start = reinterpret_cast<uintptr_t>(p) & ~(page - 1);
  uintptr_t end = reinterpret_cast<uintptr_t>(p) + len;
  if (end < reinterpret_cast<uintptr_t>(p)) return false;  // wraps
  unsigned char vec[256];
  // Probe in chunks so that a huge range needs no large vector.
  for (uintptr_t a = start; a < end; a += 256 * page) {
    size_t span = std::min<uintptr_t>(256 * page, ((end - a) + page - 1) & ~(page - 1));
    if (mincore(reinterpret_cast<void*>(a), span, vec) != 0 && errno == ENOMEM) return false;
  }
  return true;
}

const sockaddr_in* as_sockaddr_in(const struct sockaddr* name, int namelen) {
  if (name == nullptr || namelen < static_cast<int>(sizeof(sockaddr_in))) return nullptr;
  if (!user_range_mapped(name, sizeof(sockaddr_in))) return nullptr;
  if (name->sa_family != AF_INET) return nullptr;
  return reinterpret_cast<const sockaddr_in*>(name);
}

bool read_rdma_descriptor(const void* p, DWORD len, fastpath::RdmaDescriptor* d) {
  if (p == nullptr || len != sizeof(fastpath::RdmaDescriptor)) return false;
  std::memcpy(d, p, sizeof *d);
  return d->magic == fastpath::kRdmaDescMagic;
}

}  // namespace dpsan::spi
