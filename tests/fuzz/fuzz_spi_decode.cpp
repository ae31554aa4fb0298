/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * libFuzzer target: what the provider decodes from caller memory (the SPI side of "untrusted"):
 *
 * - the RDMA descriptor a switch passes back to WSPRdmaWrite/WSPRdmaRead/WSPDeregisterRdmaMemory
 *   (spi::read_rdma_descriptor), on the whole input as (pointer, length);
 * - a sockaddr (spi::as_sockaddr_in), on the whole input as (name, namelen) and on a prefix;
 * - a WSABUFEX / WSABUF list: each entry's (handle, buffer, length) is what WSPRdmaWrite and
 *   WSPSend hand to fastpath::MrTable::acquire/covers, checked here against a model of a small
 *   table holding live, stale and foreign registrations.
 *
 * Input layout: the whole input is the descriptor and the sockaddr; from byte 0, every
 * kEntryLen bytes are one buffer-list entry (layout at Entry below).
 * Never crashes nor reads outside the input; every answer agrees with the model.
 */
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <dpsan/ws2san.h>

#include "fastpath/mr_table.h"
#include "fastpath/rdma_region.h"
#include "spi-adapter/validate.h"

namespace fp = dpsan::fastpath;
namespace spi = dpsan::spi;

namespace {

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "fuzz_spi_decode: check failed at %s:%d: %s\n", __FILE__,     \
                   __LINE__, #cond);                                                     \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

void check_descriptor(const uint8_t* data, size_t size) {
  fp::RdmaDescriptor d;
  const bool ok = spi::read_rdma_descriptor(data, static_cast<DWORD>(size), &d);
  uint32_t magic = 0;
  if (size >= 4) std::memcpy(&magic, data, 4);
  FUZZ_CHECK(ok == (size == sizeof d && magic == fp::kRdmaDescMagic));
  if (ok) FUZZ_CHECK(std::memcmp(&d, data, sizeof d) == 0);
  FUZZ_CHECK(!spi::read_rdma_descriptor(nullptr, sizeof d, &d));
}

void check_sockaddr(const uint8_t* data, size_t size) {
  for (size_t len : {size, size / 2}) {
    const auto* name = reinterpret_cast<const struct sockaddr*>(data);
    const sockaddr_in* sin = spi::as_sockaddr_in(name, static_cast<int>(len));
    uint16_t family = 0;
    if (len >= sizeof family) std::memcpy(&family, data, sizeof family);
    const bool want = len >= sizeof(sockaddr_in) && family == AF_INET;
    FUZZ_CHECK((sin != nullptr) == want);
    if (sin) FUZZ_CHECK(reinterpret_cast<const uint8_t*>(sin) == data);
  }
}

// --- buffer lists against the registration table ---------------------------------------------

constexpr uint64_t kOwnerA = 0x1000a, kOwnerB = 0x2000b;
alignas(64) uint8_t g_mem[16384];

struct Reg {
  uint64_t handle;
  uint64_t owner;
  uintptr_t addr;
  uint32_t len;
  uint32_t flags;
  bool live;
};

/** The table the entries are checked against, and the model of it. Built once. */
struct Table {
  fp::MrTable t;
  Reg regs[5];
  Table() {
    t.init(4);
    auto at = [](size_t off) { return reinterpret_cast<uintptr_t>(g_mem) + off; };
    regs[0] = {0, kOwnerA, at(0), 4096, MEM_READWRITE, true};
    regs[1] = {0, kOwnerA, at(1000), 100, MEM_READ, true};
    regs[2] = {0, kOwnerB, at(8192), 1, MEM_WRITE, true};
    // A slot registered, released and registered again: the first handle is stale.
    regs[3] = {0, kOwnerA, at(0), 16384, MEM_READWRITE, false};
    regs[4] = {0, kOwnerA, at(4096), 0, MEM_READWRITE, true};
    for (Reg& r : regs) r.handle = t.create(r.owner, r.addr, r.len, r.flags);
    FUZZ_CHECK(t.destroy(regs[3].handle, kOwnerA) == 0);
    regs[4].handle = t.create(regs[4].owner, regs[4].addr, regs[4].len, regs[4].flags);
    for (const Reg& r : regs) FUZZ_CHECK(r.handle != 0);
    FUZZ_CHECK((regs[3].handle & 0xffffffffu) == (regs[4].handle & 0xffffffffu));
  }
};

/**
 * One entry, 24 bytes: [0] which handle (0-4: the table's, else the 8 bytes at [8] as is),
 * [1] owner (bit 0: A or B), [2] rights needed (MEM_* bits), [4..7] signed offset of the
 * buffer from the table's memory, [8..15] raw handle, [16..19] length.
 */
constexpr size_t kEntryLen = 24;

bool model_covers(const Table& tb, uint64_t handle, uint64_t owner, uintptr_t addr, uint32_t len,
                  uint32_t need) {
  for (const Reg& r : tb.regs) {
    if (!r.live || r.handle != handle || r.owner != owner || (r.flags & need) != need) continue;
    unsigned __int128 end = static_cast<unsigned __int128>(addr) + len;
    return addr >= r.addr && end <= static_cast<unsigned __int128>(r.addr) + r.len;
  }
  return false;
}

void check_entry(Table& tb, const uint8_t* e) {
  uint64_t handle;
  std::memcpy(&handle, e + 8, 8);
  if (e[0] < 5) handle = tb.regs[e[0]].handle;
  const uint64_t owner = (e[1] & 1) ? kOwnerB : kOwnerA;
  const uint32_t need = e[2] & MEM_READWRITE;
  int32_t off;
  std::memcpy(&off, e + 4, 4);
  uint32_t len;
  std::memcpy(&len, e + 16, 4);
  const uintptr_t addr = reinterpret_cast<uintptr_t>(g_mem) + static_cast<intptr_t>(off);

  const bool want = model_covers(tb, handle, owner, addr, len, need);
  FUZZ_CHECK(tb.t.covers(handle, owner, addr, len) == model_covers(tb, handle, owner, addr, len, 0));
  const uint32_t idx = tb.t.acquire(handle, owner, addr, len, need);
  FUZZ_CHECK((idx != fp::kMrNone) == want);
  if (idx == fp::kMrNone) return;
  FUZZ_CHECK(idx == (handle & 0xffffffffu) - 1);
  // A registration in use cannot be released (R59); it can once the use is dropped.
  FUZZ_CHECK(tb.t.destroy(handle, owner) == -1);
  tb.t.release(idx);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check_descriptor(data, size);
  check_sockaddr(data, size);
  static Table tb;
  for (size_t at = 0; at + kEntryLen <= size; at += kEntryLen) check_entry(tb, data + at);
  FUZZ_CHECK(tb.t.live() == 4);
  return 0;
}
