/* SPDX-License-Identifier: BSD-3-Clause */
// R42 (RDMA): every RDMA write and read up to SO_MAX_RDMA_SIZE works; a larger one is refused
// at once with WSAEMSGSIZE (provider decision: SO_MAX_RDMA_SIZE = 16 MiB).
// R43 (RDMA): the provider works when the switch uses RDMA below SO_RDMA_THRESHOLD_SIZE too.

#include "rdma_helpers.h"

using namespace dpsan_conf;

namespace {

/** Write local[loff, +len) to remote[roff, +len), read it back into local2, check both. */
void write_read_check(Conn& k, Region& local, Region& back, RdmaRegion& remote, size_t len,
                      size_t loff, DWORD roff, uint32_t seed) {
  SCOPED_TRACE("RDMA of " + std::to_string(len) + " bytes, local offset " + std::to_string(loff) +
               ", remote offset " + std::to_string(roff));
  fill_pattern(local.buf + loff, len, seed);
  WSAOVERLAPPED* wov = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(write_pending(k.ext, k.c(), local, loff, len, remote, roff, wov));
  OvResult r;
  ASSERT_TRUE(wait_result(k.c(), wov, &r, Ms(20000)));
  ASSERT_TRUE(r.ok) << wsa_name(r.err);
  EXPECT_EQ(r.bytes, len);
  EXPECT_TRUE(check_pattern(remote.buf + roff, len, seed)) << "write: bytes differ";
  WSAOVERLAPPED* rov = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(read_pending(k.ext, k.c(), back, 1, len, remote, roff, rov));
  ASSERT_TRUE(wait_result(k.c(), rov, &r, Ms(20000)));
  ASSERT_TRUE(r.ok) << wsa_name(r.err);
  EXPECT_EQ(r.bytes, len);
  EXPECT_TRUE(check_pattern(back.buf + 1, len, seed)) << "read: bytes differ";
}

}  // namespace

TEST(Conformance, R42_RdmaUpToMaxRdmaSize) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  ASSERT_NE(k.ext.rdma_write, nullptr);
  ASSERT_NE(k.ext.rdma_read, nullptr);
  DWORD max = 0;
  ASSERT_TRUE(get_opt_dword(k.c(), SO_MAX_RDMA_SIZE, &max));
  EXPECT_EQ(max, 16u << 20) << "provider decision: SO_MAX_RDMA_SIZE = 16 MiB";
  Region local, back;
  ASSERT_TRUE(make_region(k.c(), size_t{max} + 16, &local));
  ASSERT_TRUE(make_region(k.c(), size_t{max} + 16, &back));
  RdmaRegion remote;
  ASSERT_TRUE(make_rdma_region(k.ext, k.a(), size_t{max} + 16, &remote));
  ASSERT_NO_FATAL_FAILURE(write_read_check(k, local, back, remote, max, 0, 0, 1));
  ASSERT_NO_FATAL_FAILURE(write_read_check(k, local, back, remote, max - 1, 3, 5, 2));
  // One byte more is refused at once, and nothing completes.
  int err = 0;
  WSAOVERLAPPED* big = sw().new_ov(Mode::Upcall);
  EXPECT_EQ(rdma_write(k.ext, k.c(), local, 0, size_t{max} + 1, remote, 0, big, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEMSGSIZE) << wsa_name(err);
  WSAOVERLAPPED* bigr = sw().new_ov(Mode::Upcall);
  EXPECT_EQ(rdma_read(k.ext, k.c(), back, 0, size_t{max} + 1, remote, 0, bigr, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEMSGSIZE) << wsa_name(err);
  sleep_ms(50);
  EXPECT_EQ(sw().completions_of(big), 0u);
  EXPECT_EQ(sw().completions_of(bigr), 0u);
  EXPECT_EQ(sw().cleanup(), 0);
}

TEST(Conformance, R43_RdmaBelowTheThresholdWorks) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  DWORD thr = 0;
  ASSERT_TRUE(get_opt_dword(k.c(), SO_RDMA_THRESHOLD_SIZE, &thr));
  ASSERT_GT(thr, 2u);
  Region local, back;
  ASSERT_TRUE(make_region(k.c(), size_t{thr} + 64, &local));
  ASSERT_TRUE(make_region(k.c(), size_t{thr} + 64, &back));
  RdmaRegion remote;
  ASSERT_TRUE(make_rdma_region(k.ext, k.a(), size_t{thr} + 64, &remote));
  // When: the switch uses RDMA for small sizes, below and at its preference.
  uint32_t seed = 20;
  for (size_t len : {size_t{1}, size_t{7}, size_t{100}, size_t{thr} / 2, size_t{thr} - 1, size_t{thr}})
    ASSERT_NO_FATAL_FAILURE(write_read_check(k, local, back, remote, len, 1, 7, seed++));
  // And a zero-length RDMA is an operation like any other: it completes, with 0 bytes.
  WSAOVERLAPPED* z = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(write_pending(k.ext, k.c(), local, 0, 0, remote, 0, z));
  OvResult r;
  ASSERT_TRUE(wait_result(k.c(), z, &r));
  EXPECT_TRUE(r.ok) << wsa_name(r.err);
  EXPECT_EQ(r.bytes, 0u);
  WSAOVERLAPPED* zr = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(read_pending(k.ext, k.c(), back, 0, 0, remote, static_cast<DWORD>(remote.len), zr));
  ASSERT_TRUE(wait_result(k.c(), zr, &r));
  EXPECT_TRUE(r.ok) << wsa_name(r.err);
  EXPECT_EQ(r.bytes, 0u);
  EXPECT_EQ(sw().cleanup(), 0);
}
