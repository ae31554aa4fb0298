/* SPDX-License-Identifier: BSD-3-Clause */
#include "stream.h"

#include <cmath>
#include <cstring>

namespace dpsan::itest {

namespace {

struct Header {
  uint32_t magic, conn, dir, seq, size, checksum;
};
static_assert(sizeof(Header) == kHeaderBytes);

uint64_t mix(uint64_t z) {  // splitmix64's finaliser: a good 64-bit bijection
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t stream_key(const StreamSpec& s, uint32_t conn, Dir dir, uint32_t seq) {
  uint64_t k = mix(s.seed ^ 0x647073616eull);
  k = mix(k ^ (uint64_t{conn} << 1 | static_cast<uint32_t>(dir)));
  return mix(k ^ seq);
}

void fill_body(uint64_t key, char* p, uint32_t n) {
  uint64_t x = key;
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    x += 0x9e3779b97f4a7c15ull;
    uint64_t w = mix(x);
    std::memcpy(p + i, &w, 8);
  }
  x += 0x9e3779b97f4a7c15ull;
  uint64_t w = mix(x);
  std::memcpy(p + i, &w, n - i);
}

uint32_t checksum(const char* p, uint32_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
  }
  for (; i < n; i++) h = (h ^ static_cast<uint8_t>(p[i])) * 0x100000001b3ull;
  return static_cast<uint32_t>(h ^ (h >> 32));
}

}  // namespace

uint32_t stream_size(const StreamSpec& s, uint32_t conn, Dir dir, uint32_t seq) {
  if (seq >= s.messages) return kHeaderBytes;  // DONE
  if (seq == 0 && dir == Dir::kFromConnector) return kHeaderBytes;  // hello
  if (s.max_size <= s.min_size) return s.max_size;
  // Log-uniform: pick a size class by its logarithm, then a size inside it.
  uint64_t r = mix(stream_key(s, conn, dir, seq) ^ 0x5153ull);
  double lo = std::log2(static_cast<double>(s.min_size));
  double hi = std::log2(static_cast<double>(s.max_size) + 1.0);
  double u = static_cast<double>(r >> 11) / 9007199254740992.0;  // [0, 1)
  auto v = static_cast<uint64_t>(std::exp2(lo + u * (hi - lo)));
  if (v < s.min_size) v = s.min_size;
  if (v > s.max_size) v = s.max_size;
  return static_cast<uint32_t>(v);
}

void stream_fill(const StreamSpec& s, uint32_t conn, Dir dir, uint32_t seq, char* buf) {
  uint32_t n = stream_size(s, conn, dir, seq);
  uint32_t body = n > kHeaderBytes ? n - kHeaderBytes : 0;
  if (body) fill_body(stream_key(s, conn, dir, seq), buf + kHeaderBytes, body);
  Header h{kMagic, conn, static_cast<uint32_t>(dir), seq, n,
           body ? checksum(buf + kHeaderBytes, body) : 0};
  std::memcpy(buf, &h, n < kHeaderBytes ? n : kHeaderBytes);
}

std::string stream_check(const StreamSpec& s, uint32_t conn, Dir dir, uint32_t seq,
                         const char* buf, uint32_t n, char* scratch) {
  uint32_t want = stream_size(s, conn, dir, seq);
  std::string where = "conn " + std::to_string(conn) + " dir " +
                      std::to_string(static_cast<uint32_t>(dir)) + " message " + std::to_string(seq);
  if (n >= kHeaderBytes) {
    Header h;
    std::memcpy(&h, buf, sizeof h);
    if (h.magic == kMagic && (h.seq != seq || h.conn != conn || h.dir != static_cast<uint32_t>(dir)))
      return where + ": got conn " + std::to_string(h.conn) + " dir " + std::to_string(h.dir) +
             " message " + std::to_string(h.seq) + " instead (lost, duplicated or out of order)";
  }
  if (n != want)
    return where + ": " + std::to_string(n) + " bytes, expected " + std::to_string(want);
  stream_fill(s, conn, dir, seq, scratch);
  if (std::memcmp(buf, scratch, n) == 0) return "";
  uint32_t at = 0;
  while (at < n && buf[at] == scratch[at]) at++;
  Header want_h;
  std::memcpy(&want_h, scratch, sizeof want_h);
  bool sum_ok = n > kHeaderBytes && at >= kHeaderBytes &&
                checksum(buf + kHeaderBytes, n - kHeaderBytes) == want_h.checksum;
  return where + ": damaged, first wrong byte at offset " + std::to_string(at) +
         (sum_ok ? "" : " (body checksum mismatch)");
}

bool stream_hello_conn(const char* buf, uint32_t n, uint32_t* conn) {
  if (n != kHeaderBytes) return false;
  Header h;
  std::memcpy(&h, buf, sizeof h);
  if (h.magic != kMagic || h.seq != 0 || h.dir != static_cast<uint32_t>(Dir::kFromConnector) ||
      h.size != kHeaderBytes)
    return false;
  *conn = h.conn;
  return true;
}

}  // namespace dpsan::itest
