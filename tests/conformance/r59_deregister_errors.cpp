/* SPDX-License-Identifier: BSD-3-Clause */
// R59: deregistering an unknown handle, or memory in use by a pending operation, returns
// WSAEINVAL. The same for RDMA descriptors: WSPDeregisterRdmaMemory is mandatory (R54), so a
// provider that does not offer it fails here.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R59_DeregisterUnknownOrBusyIsInvalid) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  int err = 0;
  // Unknown handles.
  for (HANDLE h : {static_cast<HANDLE>(nullptr), reinterpret_cast<HANDLE>(uintptr_t{0x12345}),
                   reinterpret_cast<HANDLE>(uintptr_t{0xdeadbeef0})}) {
    err = 0;
    EXPECT_EQ(k.ext.dereg(k.c(), h, &err), SOCKET_ERROR);
    EXPECT_EQ(err, WSAEINVAL) << wsa_name(err);
  }
  // In use by a pending receive.
  Region ra;
  ASSERT_TRUE(make_region(k.a(), 4096, &ra));
  WSAOVERLAPPED* rov = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf, 4096, rov));
  EXPECT_EQ(k.ext.dereg(k.a(), ra.h, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEINVAL) << "deregistering memory under a pending receive: " << wsa_name(err);
  // In use by a pending send (waiting for credit on a second connection).
  Pair p2;
  ASSERT_TRUE(connect_pair(k.l, &p2));
  Region s2;
  ASSERT_TRUE(make_region(p2.c.sock.s, 4096, &s2));
  WSAOVERLAPPED* sov = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(send_pending(p2.c.sock.s, s2.buf, 2000, sov));
  sleep_ms(50);
  ASSERT_FALSE(ov_done(sov)) << "precondition: the send should wait for credit";
  EXPECT_EQ(k.ext.dereg(p2.c.sock.s, s2.h, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEINVAL) << "deregistering memory under a pending send: " << wsa_name(err);

  // Expect: the refused deregistration left the registration working.
  Region rc;
  ASSERT_TRUE(make_region(k.c(), 4096, &rc));
  fill_pattern(rc.buf, 99, 4);
  ASSERT_TRUE(send_pending(k.c(), rc.buf, 99, sw().new_ov(Mode::Poll)));
  OvResult r;
  ASSERT_TRUE(wait_result(k.a(), rov, &r));
  EXPECT_EQ(r.bytes, 99u);
  EXPECT_TRUE(check_pattern(ra.buf, 99, 4));
  // Once the receive is done, the deregistration succeeds.
  EXPECT_EQ(k.ext.dereg(k.a(), ra.h, &err), 0) << wsa_name(err);

  // RDMA descriptors: an unknown descriptor is WSAEINVAL. A missing entry point fails the test
  // (EXPECT, so that the cleanup below still runs) and only skips the call through it.
  EXPECT_NE(k.ext.dereg_rdma, nullptr) << "WSPDeregisterRdmaMemory not offered (mandatory, R54)";
  if (k.ext.dereg_rdma != nullptr) {
    char desc[64];
    std::memset(desc, 0x5C, sizeof desc);
    EXPECT_EQ(k.ext.dereg_rdma(k.c(), desc, sizeof desc, &err), SOCKET_ERROR);
    EXPECT_EQ(err, WSAEINVAL) << wsa_name(err);
  }
  EXPECT_EQ(sw().cleanup(), 0);
}
