/* SPDX-License-Identifier: BSD-3-Clause */
/** @file Big-endian wire integers: a missing byte swap is a compile error, not a bug. */
#pragma once

#include <cstdint>
#include <rte_byteorder.h>

namespace dpsan::fastpath::wire {

struct be16 {
  uint16_t raw;
  static be16 of(uint16_t v) { return {rte_cpu_to_be_16(v)}; }
  uint16_t get() const { return rte_be_to_cpu_16(raw); }
};
struct be32 {
  uint32_t raw;
  static be32 of(uint32_t v) { return {rte_cpu_to_be_32(v)}; }
  uint32_t get() const { return rte_be_to_cpu_32(raw); }
};
struct be64 {
  uint64_t raw;
  static be64 of(uint64_t v) { return {rte_cpu_to_be_64(v)}; }
  uint64_t get() const { return rte_be_to_cpu_64(raw); }
};

}  // namespace dpsan::fastpath::wire
