/* SPDX-License-Identifier: BSD-3-Clause */
// R59 (RDMA): WSPDeregisterRdmaMemory answers WSAEINVAL for an unknown descriptor: never
// registered, already deregistered, another socket's, or mangled; and for one a peer's RDMA is
// using (the read the target is serving, the write it is placing).
// R61 (more): the descriptor is opaque, its length is what the probe reported, and every
// registration gets a different one (a fresh key).

#include <cstring>
#include <thread>

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

TEST(Conformance, R59_LocalBufferOfPendingRdmaStaysRegistered) {
  Session ses;
  Conn k;
  RdmaRegion remote;
  ASSERT_TRUE(rdma_setup(&k, 65536, &remote));
  Region msg, local, inbox;
  ASSERT_TRUE(make_region(k.c(), 4096, &msg, MEM_READWRITE, 'm'));
  ASSERT_TRUE(make_region(k.c(), 65536, &local, MEM_READWRITE, 'w'));
  ASSERT_TRUE(make_region(k.a(), 4096, &inbox));
  // Given: a 4 KiB send that waits for a receive the peer has not posted (too big for an early
  // slot), and an RDMA write queued behind it: the write is certainly pending.
  WSAOVERLAPPED* sov = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(send_pending(k.c(), msg.buf, 4096, sov));
  WSAOVERLAPPED* wov = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(write_pending(k.ext, k.c(), local, 0, 65536, remote, 0, wov));
  sleep_ms(50);
  ASSERT_FALSE(ov_done(wov));
  // Expect: its local buffer cannot be deregistered.
  int err = 0;
  EXPECT_EQ(k.ext.dereg(k.c(), local.h, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEINVAL) << wsa_name(err);
  // When the receive is posted, both complete, and then it can.
  WSAOVERLAPPED* rov = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(recv_pending(k.a(), inbox.buf, 4096, rov));
  OvResult r;
  ASSERT_TRUE(wait_result(k.c(), wov, &r));
  EXPECT_TRUE(r.ok) << wsa_name(r.err);
  EXPECT_TRUE(all_bytes(remote.buf, 65536, 'w'));
  EXPECT_EQ(k.ext.dereg(k.c(), local.h, &err), 0) << wsa_name(err);
  EXPECT_EQ(sw().cleanup(), 0);
}

// R59 (RDMA): "the same holds for RDMA descriptors": deregistering one that an RDMA is using
// answers WSAEINVAL, and the region stays registered (so R63 is not at stake: nothing was
// deregistered). Once the operation is over, it deregisters.
TEST(Conformance, R59_RdmaDescriptorInUseByAPeerReadIsRefused) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  constexpr size_t kLen = 16u << 20;
  RdmaRegion remote;
  ASSERT_TRUE(make_rdma_region(k.ext, k.a(), kLen, &remote, MEM_READWRITE, 'r'));
  Region local;
  ASSERT_TRUE(make_region(k.c(), kLen, &local, MEM_READWRITE, 'l'));
  int refused = 0;
  for (int attempt = 0; attempt < 5 && refused == 0; attempt++) {
    std::memset(local.buf, 'l', kLen);
    // Given: a 16 MiB read of A's region by its peer C, seen under way (bytes arriving).
    WSAOVERLAPPED* ov = sw().new_ov(Mode::Poll);
    ASSERT_TRUE(read_pending(k.ext, k.c(), local, 0, kLen, remote, 0, ov));
    while (static_cast<volatile char*>(local.buf)[0] != 'r' && !ov_done(ov)) std::this_thread::yield();
    // When: A deregisters the descriptor meanwhile.
    int err = 0;
    int rc = k.ext.dereg_rdma(k.a(), remote.desc, remote.desc_len, &err);
    OvResult r;
    ASSERT_TRUE(wait_result(k.c(), ov, &r));
    if (rc == 0) {
      // The read had ended just before: the region is gone, register a new one and retry.
      ASSERT_TRUE(r.ok) << wsa_name(r.err);
      ASSERT_TRUE(make_rdma_region(k.ext, k.a(), kLen, &remote, MEM_READWRITE, 'r'));
      continue;
    }
    // Expect: WSAEINVAL, and the read (never revoked) completes with every byte.
    EXPECT_EQ(rc, SOCKET_ERROR);
    EXPECT_EQ(err, WSAEINVAL) << wsa_name(err);
    EXPECT_TRUE(r.ok) << wsa_name(r.err);
    EXPECT_TRUE(all_bytes(local.buf, kLen, 'r'));
    refused++;
  }
  EXPECT_EQ(refused, 1) << "the read was never seen under way";
  int err = 0;
  EXPECT_EQ(k.ext.dereg_rdma(k.a(), remote.desc, remote.desc_len, &err), 0) << wsa_name(err);
  EXPECT_EQ(sw().cleanup(), 0);
}
