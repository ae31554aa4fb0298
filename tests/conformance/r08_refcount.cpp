/* SPDX-License-Identifier: BSD-3-Clause */
// R8: N WSPStartupEx calls need N WSPCleanup calls; cleanups 1..N-1 return 0 and leave sockets,
// registrations and pending operations untouched and working.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R8_NonFinalCleanupsLeaveEverythingWorking) {
  Session ses;
  // Given: a connection with registered memory and two pending receives (both modes).
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra, rc;
  ASSERT_TRUE(make_region(k.a(), 64 * 1024, &ra));
  ASSERT_TRUE(make_region(k.c(), 64 * 1024, &rc));
  WSAOVERLAPPED* r1 = sw().new_ov(Mode::Upcall);
  WSAOVERLAPPED* r2 = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf, 4096, r1));
  ASSERT_TRUE(recv_pending(k.a(), ra.buf + 4096, 4096, r2));

  // When: two more startups, then two cleanups (count 3 -> 1).
  ASSERT_EQ(sw().startup(), 0);
  ASSERT_EQ(sw().startup(), 0);
  uint64_t mark = sw().seq();
  int err = 0;
  EXPECT_EQ(sw().cleanup(&err), 0) << wsa_name(err);
  EXPECT_EQ(sw().cleanup(&err), 0) << wsa_name(err);
  sleep_ms(100);

  // Expect: nothing was aborted or closed.
  EXPECT_FALSE(ov_done(r1)) << "a non-final cleanup completed a pending receive";
  EXPECT_FALSE(ov_done(r2)) << "a non-final cleanup completed a pending receive";
  for (const Record& r : sw().records_since(mark)) {
    EXPECT_NE(r.kind, Up::CloseSocketHandle) << "non-final cleanup closed a handle";
    EXPECT_NE(r.kind, Up::CompleteOverlappedRequest) << "non-final cleanup completed an op";
  }

  // Expect: the connection still carries data, into the receives posted before.
  fill_pattern(rc.buf, 100, 1);
  fill_pattern(rc.buf + 4096, 200, 2);
  WSAOVERLAPPED* s1 = sw().new_ov(Mode::Upcall);
  WSAOVERLAPPED* s2 = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(send_pending(k.c(), rc.buf, 100, s1));
  ASSERT_TRUE(send_pending(k.c(), rc.buf + 4096, 200, s2));
  OvResult res;
  ASSERT_TRUE(wait_result(k.a(), r1, &res));
  EXPECT_TRUE(res.ok) << wsa_name(res.err);
  EXPECT_EQ(res.bytes, 100u);
  EXPECT_TRUE(check_pattern(ra.buf, 100, 1));
  ASSERT_TRUE(wait_result(k.a(), r2, &res));
  EXPECT_TRUE(res.ok) << wsa_name(res.err);
  EXPECT_EQ(res.bytes, 200u);
  EXPECT_TRUE(check_pattern(ra.buf + 4096, 200, 2));
  ASSERT_TRUE(wait_result(k.c(), s1, &res));
  EXPECT_TRUE(res.ok) << wsa_name(res.err);
  ASSERT_TRUE(wait_result(k.c(), s2, &res));
  EXPECT_TRUE(res.ok) << wsa_name(res.err);

  // Expect: new registrations, sockets and connections work.
  Region more;
  EXPECT_TRUE(make_region(k.a(), 4096, &more));
  Pair p2;
  EXPECT_TRUE(connect_pair(k.l, &p2));

  // The last cleanup is the final one.
  EXPECT_EQ(sw().cleanup(&err), 0) << wsa_name(err);
  EXPECT_EQ(sw().cleanup(&err), SOCKET_ERROR);
  EXPECT_EQ(err, WSANOTINITIALISED) << wsa_name(err);
}
