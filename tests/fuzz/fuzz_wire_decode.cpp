/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * libFuzzer target: fastpath::wire::decode() on arbitrary bytes taken as one received frame, with
 * libFuzzer's own mutations and nothing fixed up: the checks decode() makes before any body (IPv4
 * header checksum, lengths, CRC32C) are what this target fuzzes. Mutated frames almost never get
 * past the two checksums; fuzz_wire_body (same checks, a mutator that repairs them) is the one
 * that reaches every opcode's body. The checks on the result: wire_checks.h.
 */
#include <cstddef>
#include <cstdint>

#include "wire_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz_wire::check_frame(data, size);
  return 0;
}
