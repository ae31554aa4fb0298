/* SPDX-License-Identifier: BSD-3-Clause */
// R58: a buffer registered twice and deregistered once stays usable; the second
// deregistration releases it. Provider decision: the same (buffer, length, flags) on one socket
// returns the same handle, with a reference count.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R58_TwiceRegisteredSurvivesOneDeregistration) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra;
  ASSERT_TRUE(make_region(k.a(), 16 * 1024, &ra));
  char* buf = sw().new_buf(4096);
  int err = 0;
  DPSAN_STATS st0{};
  ASSERT_TRUE(get_stats(&st0));
  HANDLE h1 = k.ext.reg(k.c(), buf, 4096, MEM_READWRITE, &err);
  ASSERT_NE(h1, nullptr) << wsa_name(err);
  HANDLE h2 = k.ext.reg(k.c(), buf, 4096, MEM_READWRITE, &err);
  ASSERT_NE(h2, nullptr) << wsa_name(err);
  EXPECT_EQ(h1, h2) << "provider decision: same handle for the same registration";

  auto send_works = [&](int i) -> int {
    WSAOVERLAPPED* rov = sw().new_ov(Mode::Poll);
    EXPECT_TRUE(recv_pending(k.a(), ra.buf + i * 4096, 4096, rov));
    int e = 0;
    WSAOVERLAPPED* sov = sw().new_ov(Mode::Poll);
    int rc = post_send(k.c(), buf, 100, sov, &e);
    if (rc == SOCKET_ERROR && e == WSA_IO_PENDING) {
      OvResult r;
      EXPECT_TRUE(wait_result(k.a(), rov, &r));
      EXPECT_EQ(r.bytes, 100u);
      // The send holds its registration until it completes, which may come after the
      // receive (the ack has to travel back): a deregistration before then is R59's WSAEINVAL.
      EXPECT_TRUE(wait_result(k.c(), sov, &r));
      return 0;
    }
    return e;
  };
  // When: deregistered once. Expect: still usable.
  EXPECT_EQ(k.ext.dereg(k.c(), h1, &err), 0) << wsa_name(err);
  EXPECT_EQ(send_works(0), 0) << "the buffer stopped working after one of two deregistrations";
  // When: deregistered twice. Expect: released (WSAEFAULT on use, WSAEINVAL on a third).
  EXPECT_EQ(k.ext.dereg(k.c(), h2, &err), 0) << wsa_name(err);
  EXPECT_EQ(send_works(1), WSAEFAULT) << "the buffer is still usable after both deregistrations";
  EXPECT_EQ(k.ext.dereg(k.c(), h2, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEINVAL) << wsa_name(err);
  DPSAN_STATS st1{};
  ASSERT_TRUE(get_stats(&st1));
  EXPECT_EQ(st1.registrations, st0.registrations) << "registration leaked";
  EXPECT_EQ(sw().cleanup(), 0);
}
