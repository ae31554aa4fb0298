/* SPDX-License-Identifier: BSD-3-Clause */
// R63: after WSPDeregisterRdmaMemory the peer cannot reach the region, even though the range
// stays in the registration cache; after the connection closes it cannot reach any region.
// R65: WSPMemoryRegistrationCacheCallback(addr, size) drops every cached registration that
// overlaps the range, partial overlaps included, so a later registration is a fresh one; it
// answers WSAEINVAL for a range never cached, and WSAEFAULT when a live registration still holds
// part of it (the release fails).

#include "rdma_helpers.h"

using namespace dpsan_conf;

namespace {
DPSAN_STATS stats_now() {
  DPSAN_STATS st{};
  EXPECT_TRUE(get_stats(&st));
  return st;
}
}  // namespace

TEST(Conformance, R63_DeregisteredRegionIsUnreachableThoughCached) {
  Session ses;
  Conn k;
  RdmaRegion rr;
  ASSERT_TRUE(rdma_setup(&k, 65536, &rr, MEM_READWRITE, 0x22));
  Region local;
  ASSERT_TRUE(make_region(k.c(), 65536, &local, MEM_READWRITE, 0x3c));
  ASSERT_TRUE(write_completes(k.ext, k.c(), local, 0, 100, rr, 0));
  RdmaRegion old = rr;  // the peer keeps the descriptor
  int err = 0;
  ASSERT_EQ(k.ext.dereg_rdma(k.a(), rr.desc, rr.desc_len, &err), 0) << wsa_name(err);
  // The range stays cached: registering it again is a cache hit, with a new descriptor.
  DPSAN_STATS before = stats_now();
  RdmaRegion again = rr;
  again.desc_len = sizeof again.desc;
  ASSERT_EQ(k.ext.reg_rdma(k.a(), rr.buf, 65536, MEM_READWRITE, again.desc, &again.desc_len, &err), 0)
      << wsa_name(err);
  DPSAN_STATS after = stats_now();
  EXPECT_EQ(after.cache_hits, before.cache_hits + 1) << "the deregistered range was not cached";
  EXPECT_EQ(after.cache_misses, before.cache_misses);
  std::vector<char> snapshot(rr.buf, rr.buf + rr.len);
  // When: the peer writes with the old descriptor. Expect: refused, nothing written.
  WSAOVERLAPPED* stale = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(write_pending(k.ext, k.c(), local, 0, 4096, old, 0, stale));
  OvResult r;
  ASSERT_TRUE(wait_result(k.c(), stale, &r));
  EXPECT_FALSE(r.ok) << "a deregistered region was written";
  EXPECT_EQ(std::memcmp(snapshot.data(), rr.buf, rr.len), 0) << "the region changed";
  EXPECT_EQ(sw().cleanup(), 0);
}

TEST(Conformance, R63_ClosedConnectionReachesNoRegion) {
  Session ses;
  Conn k;
  RdmaRegion rr;
  ASSERT_TRUE(rdma_setup(&k, 65536, &rr, MEM_READWRITE, 0x19));
  Region local;
  ASSERT_TRUE(make_region(k.c(), 4096, &local, MEM_READWRITE, 0x20));
  ASSERT_TRUE(close_socket(k.a()));  // without deregistering
  WSAOVERLAPPED* ov = sw().new_ov(Mode::Poll);
  int err = 0;
  int rc = rdma_write(k.ext, k.c(), local, 0, 4096, rr, 0, ov, &err);
  if (rc == SOCKET_ERROR && err == WSA_IO_PENDING) {
    OvResult r;
    ASSERT_TRUE(wait_result(k.c(), ov, &r));
    EXPECT_FALSE(r.ok) << "a region of a closed connection was written";
  } else {
    EXPECT_EQ(rc, SOCKET_ERROR);
    EXPECT_TRUE(err == WSAECONNRESET || err == WSAECONNABORTED || err == WSAENOTCONN) << wsa_name(err);
  }
  EXPECT_TRUE(all_bytes(rr.buf, rr.len, 0x19));
  DPSAN_STATS st = stats_now();
  EXPECT_EQ(st.rdma_registrations, 0u) << "the closed socket's region is still reachable";
  EXPECT_EQ(sw().cleanup(), 0);
}

TEST(Conformance, R65_CallbackDropsEveryOverlappingCachedRegistration) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  ASSERT_NE(k.ext.cache_cb, nullptr) << "dpsan offers the cache callback";
  int err = 0;
  // Given: a 64 KiB range registered and deregistered (so cached, unused).
  Region a;
  ASSERT_TRUE(make_region(k.c(), 65536, &a));
  ASSERT_EQ(k.ext.dereg(k.c(), a.h, &err), 0);
  DPSAN_STATS s0 = stats_now();
  ASSERT_GE(s0.cache_entries, 1u);
  // A range never cached is refused.
  char* other = sw().new_buf(8192);
  EXPECT_EQ(k.ext.cache_cb(other, 8192, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEINVAL) << wsa_name(err);
  // When: the callback names a range that only overlaps its last page and beyond.
  EXPECT_EQ(k.ext.cache_cb(a.buf + 65536 - 100, 200, &err), 0) << wsa_name(err);
  DPSAN_STATS s1 = stats_now();
  EXPECT_EQ(s1.cache_entries, s0.cache_entries - 1) << "a partly overlapping range stayed cached";
  // Expect: registering it again is a fresh registration, not a cache hit.
  HANDLE h = k.ext.reg(k.c(), a.buf, 65536, MEM_READWRITE, &err);
  ASSERT_NE(h, nullptr) << wsa_name(err);
  DPSAN_STATS s2 = stats_now();
  EXPECT_EQ(s2.cache_misses, s1.cache_misses + 1);
  EXPECT_EQ(s2.cache_hits, s1.cache_hits);
  // A range a live registration holds cannot be released: WSAEFAULT, and it is not reused.
  EXPECT_EQ(k.ext.cache_cb(a.buf, 1, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEFAULT) << wsa_name(err);
  ASSERT_EQ(k.ext.dereg(k.c(), h, &err), 0);
  DPSAN_STATS s3 = stats_now();
  HANDLE h2 = k.ext.reg(k.c(), a.buf, 4096, MEM_READWRITE, &err);
  ASSERT_NE(h2, nullptr) << wsa_name(err);
  DPSAN_STATS s4 = stats_now();
  EXPECT_EQ(s4.cache_misses, s3.cache_misses + 1) << "an invalidated range was reused";
  ASSERT_EQ(k.ext.dereg(k.c(), h2, &err), 0);
  // RDMA registrations go through the cache as well; overlapping the start drops them.
  RdmaRegion rr;
  ASSERT_TRUE(make_rdma_region(k.ext, k.a(), 8192, &rr));
  ASSERT_EQ(k.ext.dereg_rdma(k.a(), rr.desc, rr.desc_len, &err), 0);
  EXPECT_EQ(k.ext.cache_cb(rr.buf - 1, 2, &err), 0) << wsa_name(err);
  EXPECT_EQ(k.ext.cache_cb(rr.buf, 8192, &err), SOCKET_ERROR) << "dropped twice";
  EXPECT_EQ(err, WSAEINVAL) << wsa_name(err);
  EXPECT_EQ(sw().cleanup(), 0);
}
