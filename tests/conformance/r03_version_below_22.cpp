/* SPDX-License-Identifier: BSD-3-Clause */
// R3: a requested version below 2.2 yields WSAVERNOTSUPPORTED and leaves the count unchanged.

#include "test_switch.h"

using namespace dpsan_conf;

namespace {
const WORD kTooOld[] = {MAKEWORD(0, 0), MAKEWORD(1, 0), MAKEWORD(1, 1), MAKEWORD(2, 0),
                        MAKEWORD(2, 1), MAKEWORD(1, 9)};
}

TEST(Conformance, R3_VersionBelow22RejectedCountUnchanged) {
  Session ses;
  // Given: the provider started and fully cleaned up (count 0).
  ASSERT_EQ(sw().startup(), 0);
  ASSERT_EQ(sw().cleanup(), 0);

  // When: too-old versions are requested at count 0.
  for (WORD v : kTooOld) {
    WSPDATA d{};
    WSPPROC_TABLE p{};
    int rc = sw().startup_ex(v, &d, sw().tcp_protocol_info(), sw().table(0), &p);
    EXPECT_EQ(rc, WSAVERNOTSUPPORTED) << "version " << int(LOBYTE(v)) << "." << int(HIBYTE(v));
  }
  // Expect: the count is still 0.
  int err = 0;
  EXPECT_EQ(sw().cleanup(&err), SOCKET_ERROR);
  EXPECT_EQ(err, WSANOTINITIALISED) << wsa_name(err);

  // When: the same at count 1.
  ASSERT_EQ(sw().startup(), 0);
  for (WORD v : kTooOld) {
    WSPDATA d{};
    WSPPROC_TABLE p{};
    int rc = sw().startup_ex(v, &d, sw().tcp_protocol_info(), sw().table(0), &p);
    EXPECT_EQ(rc, WSAVERNOTSUPPORTED) << "version " << int(LOBYTE(v)) << "." << int(HIBYTE(v));
  }
  // Expect: the instance still works, and one cleanup is the final one.
  Sock s;
  EXPECT_TRUE(new_socket(&s));
  EXPECT_TRUE(close_socket(s.s));
  EXPECT_EQ(sw().cleanup(), 0);
  err = 0;
  EXPECT_EQ(sw().cleanup(&err), SOCKET_ERROR);
  EXPECT_EQ(err, WSANOTINITIALISED) << wsa_name(err);
}
