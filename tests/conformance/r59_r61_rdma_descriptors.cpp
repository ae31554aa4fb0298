/* SPDX-License-Identifier: BSD-3-Clause */
// R59 (RDMA): WSPDeregisterRdmaMemory answers WSAEINVAL for an unknown descriptor: never
// registered, already deregistered, another socket's, or mangled.
// R61 (more): the descriptor is opaque, its length is what the probe reported, and every
// registration gets a different one (a fresh key).

#include "rdma_helpers.h"

using namespace dpsan_conf;

TEST(Conformance, R59_RdmaDescriptorDeregisterErrors) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  ASSERT_NE(k.ext.dereg_rdma, nullptr);
  RdmaRegion a;
  ASSERT_TRUE(make_rdma_region(k.ext, k.a(), 8192, &a));
  int err = 0;
  // Another socket's descriptor.
  EXPECT_EQ(k.ext.dereg_rdma(k.c(), a.desc, a.desc_len, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEINVAL) << wsa_name(err);
  // A mangled one (key changed), and a wrong length.
  char bad[sizeof a.desc];
  std::memcpy(bad, a.desc, sizeof bad);
  bad[a.desc_len - 1] ^= 0x40;
  EXPECT_EQ(k.ext.dereg_rdma(k.a(), bad, a.desc_len, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEINVAL) << wsa_name(err);
  EXPECT_EQ(k.ext.dereg_rdma(k.a(), a.desc, a.desc_len - 1, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEINVAL) << wsa_name(err);
  // Zeros were never registered.
  char zero[sizeof a.desc] = {};
  EXPECT_EQ(k.ext.dereg_rdma(k.a(), zero, a.desc_len, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEINVAL) << wsa_name(err);
  // The real one works once.
  EXPECT_EQ(k.ext.dereg_rdma(k.a(), a.desc, a.desc_len, &err), 0) << wsa_name(err);
  EXPECT_EQ(k.ext.dereg_rdma(k.a(), a.desc, a.desc_len, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEINVAL) << wsa_name(err);
  EXPECT_EQ(sw().cleanup(), 0);
}

TEST(Conformance, R61_RdmaDescriptorsAreDistinct) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  RdmaRegion a, b;
  ASSERT_TRUE(make_rdma_region(k.ext, k.a(), 4096, &a));
  // The same buffer again: a registration of its own, with another descriptor.
  b.sock = k.a();
  b.buf = a.buf;
  b.len = a.len;
  b.desc_len = sizeof b.desc;
  int err = 0;
  ASSERT_EQ(k.ext.reg_rdma(k.a(), b.buf, 4096, MEM_READ, b.desc, &b.desc_len, &err), 0)
      << wsa_name(err);
  EXPECT_EQ(a.desc_len, b.desc_len);
  EXPECT_NE(std::memcmp(a.desc, b.desc, a.desc_len), 0);
  // Bad flags and a NULL length are refused.
  DWORD len = sizeof b.desc;
  EXPECT_EQ(k.ext.reg_rdma(k.a(), b.buf, 4096, 0, b.desc, &len, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEINVAL) << wsa_name(err);
  EXPECT_EQ(k.ext.reg_rdma(k.a(), b.buf, 4096, MEM_READ, b.desc, nullptr, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEFAULT) << wsa_name(err);
  EXPECT_EQ(k.ext.dereg_rdma(k.a(), a.desc, a.desc_len, &err), 0) << wsa_name(err);
  EXPECT_EQ(k.ext.dereg_rdma(k.a(), b.desc, b.desc_len, &err), 0) << wsa_name(err);
  EXPECT_EQ(sw().cleanup(), 0);
}
