/* SPDX-License-Identifier: BSD-3-Clause */
// R10: WSPCleanup at count 0 returns SOCKET_ERROR with WSANOTINITIALISED.
// R11: WSPCleanup never reports WSAEINVAL.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R10_CleanupAtCountZeroIsNotInitialised) {
  Session ses;
  // Given: started once and fully cleaned up.
  ASSERT_EQ(sw().startup(), 0);
  ASSERT_EQ(sw().cleanup(), 0);
  // Expect: every further cleanup answers SOCKET_ERROR / WSANOTINITIALISED.
  for (int i = 0; i < 3; ++i) {
    int err = 0;
    EXPECT_EQ(sw().cleanup(&err), SOCKET_ERROR);
    EXPECT_EQ(err, WSANOTINITIALISED) << wsa_name(err);
  }
  // And a fresh start still works afterwards.
  ASSERT_EQ(sw().startup(), 0);
  Sock s;
  EXPECT_TRUE(new_socket(&s));
  EXPECT_EQ(sw().cleanup(), 0);
  int err = 0;
  EXPECT_EQ(sw().cleanup(&err), SOCKET_ERROR);
  EXPECT_EQ(err, WSANOTINITIALISED) << wsa_name(err);
}

TEST(Conformance, R11_CleanupNeverReportsWSAEINVAL) {
  Session ses;
  auto check = [](int expect_rc, const char* when) {
    int err = -7;
    int rc = sw().cleanup(&err);
    EXPECT_EQ(rc, expect_rc) << when << ": " << wsa_name(err);
    if (rc != 0) {
      EXPECT_NE(err, WSAEINVAL) << when;
      EXPECT_TRUE(err == WSANOTINITIALISED || err == WSAENETDOWN) << when << ": " << wsa_name(err);
    }
  };
  // Count 2 with open sockets, a listener and pending operations.
  ASSERT_EQ(sw().startup(), 0);
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra;
  ASSERT_TRUE(make_region(k.a(), 4096, &ra));
  ASSERT_TRUE(recv_pending(k.a(), ra.buf, 4096, sw().new_ov(Mode::Upcall)));
  Sock loose;
  ASSERT_TRUE(new_socket(&loose));
  check(0, "non-final cleanup");
  check(0, "final cleanup with sockets and pending ops");
  check(SOCKET_ERROR, "cleanup at count 0");
  check(SOCKET_ERROR, "cleanup at count 0 again");
}
