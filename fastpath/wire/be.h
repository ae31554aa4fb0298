/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Big-endian wire integers: a missing byte swap is a compile error, not a bug.
 * They are byte arrays (alignment 1), so they can sit at any offset of a packed header and be
 * read without an unaligned access (undefined behaviour that UBSan reports).
 */
#pragma once

#include <cstdint>
#include <cstring>
#include <rte_byteorder.h>

namespace dpsan::fastpath::wire {

template <class T, T (*kToCpu)(T), T (*kToBe)(T)>
struct BigEndian {
  uint8_t raw[sizeof(T)];
  static BigEndian of(T v) {
    BigEndian b;
    T be = kToBe(v);
    std::memcpy(b.raw, &be, sizeof be);
    return b;
  }
  T get() const {
    T be;
    std::memcpy(&be, raw, sizeof be);
    return kToCpu(be);
  }
};

inline uint16_t be16_swap(uint16_t v) { return rte_be_to_cpu_16(v); }
inline uint32_t be32_swap(uint32_t v) { return rte_be_to_cpu_32(v); }
inline uint64_t be64_swap(uint64_t v) { return rte_be_to_cpu_64(v); }

using be16 = BigEndian<uint16_t, be16_swap, be16_swap>;
using be32 = BigEndian<uint32_t, be32_swap, be32_swap>;
using be64 = BigEndian<uint64_t, be64_swap, be64_swap>;
static_assert(sizeof(be64) == 8 && alignof(be64) == 1);

}  // namespace dpsan::fastpath::wire
