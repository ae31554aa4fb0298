/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Microbenchmarks of the wire codec (fastpath/wire/codec.h): encode() and decode() of a DATA
 * frame with a 64-byte and a 1400-byte payload, and crc32c() over 64 B, 1 KiB and 9 KiB.
 *
 * "64 B" and "1400 B" are payload sizes: a frame of 64 bytes cannot exist, since the headers
 * (Ethernet, IPv4, UDP, dpsan) alone take kFrameOverhead bytes; the counter frame_bytes shows
 * the frame length. Throughput (bytes/s) counts the whole frame for encode/decode (decode
 * checksums the dpsan header and payload, and the IPv4 header) and the buffer for crc32c.
 * No EAL is needed.
 */
#include <endian.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>

#include "micro_main.h"

#include "fastpath/wire/codec.h"
#include "fastpath/wire/header.h"

namespace {

using namespace dpsan::fastpath::wire;

L3Addr bench_addr() {
  L3Addr a{};
  const uint8_t src[6] = {0x02, 0x00, 0x00, 0xaa, 0xbb, 0x01};
  const uint8_t dst[6] = {0x02, 0x00, 0x00, 0xcc, 0xdd, 0x02};
  std::memcpy(a.src_mac, src, 6);
  std::memcpy(a.dst_mac, dst, 6);
  a.src_ip = htobe32(0x7f000001);  // 127.0.0.1
  a.dst_ip = htobe32(0x7f000001);
  return a;
}

/** A whole single-segment DATA message, as the poll core sends one. */
Fields data_fields(uint32_t payload_len) {
  Fields f{};
  f.opcode = kData;
  f.flags = kFirst | kLast;
  f.dst_conn = 7;
  f.src_conn = 9;
  f.psn = 1000;
  f.ack_psn = 999;
  f.recv_limit = 64;
  f.early_limit = 68;
  f.msg_seq = 42;
  f.msg_len = payload_len;
  f.msg_offset = 0;
  return f;
}

/** A buffer with the payload in place at kFrameOverhead, ready for encode(). */
std::vector<uint8_t> frame_buffer(uint32_t payload_len) {
  std::vector<uint8_t> buf(kFrameOverhead + payload_len);
  for (size_t i = 0; i < payload_len; i++)
    buf[kFrameOverhead + i] = static_cast<uint8_t>(0x31 + i * 13);
  return buf;
}

void BM_Encode(benchmark::State& state) {
  const auto payload = static_cast<uint16_t>(state.range(0));
  std::vector<uint8_t> buf = frame_buffer(payload);
  const L3Addr addr = bench_addr();
  Fields f = data_fields(payload);
  uint32_t len = 0;
  for (auto _ : state) {
    f.psn++;  // a new header each time, as on the wire
    len = encode(buf.data(), addr, f, payload);
    benchmark::DoNotOptimize(len);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * len);
  state.counters["frame_bytes"] = len;
}
BENCHMARK(BM_Encode)->ArgName("payload")->Arg(64)->Arg(1400);

void BM_Decode(benchmark::State& state) {
  const auto payload = static_cast<uint16_t>(state.range(0));
  std::vector<uint8_t> buf = frame_buffer(payload);
  const uint32_t len = encode(buf.data(), bench_addr(), data_fields(payload), payload);
  Frame fr{};
  DecodeStatus st = decode(buf.data(), len, &fr);
  if (st != DecodeStatus::kOk || fr.payload_len != payload) {
    state.SkipWithError(decode_status_name(st));
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(buf.data());
    st = decode(buf.data(), len, &fr);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(fr);
  }
  if (st != DecodeStatus::kOk) state.SkipWithError(decode_status_name(st));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * len);
  state.counters["frame_bytes"] = len;
}
BENCHMARK(BM_Decode)->ArgName("payload")->Arg(64)->Arg(1400);

void BM_Crc32c(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> buf(n);
  for (size_t i = 0; i < n; i++) buf[i] = static_cast<uint8_t>(i * 131 + 7);
  uint32_t c = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(buf.data());
    c = crc32c(buf.data(), n, 0xffffffffu);
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}
BENCHMARK(BM_Crc32c)->ArgName("bytes")->Arg(64)->Arg(1024)->Arg(9 * 1024);

}  // namespace

DPSAN_MICRO_MAIN();
