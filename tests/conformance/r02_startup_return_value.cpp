/* SPDX-License-Identifier: BSD-3-Clause */
// R2: WSPStartupEx returns 0 on success; its errors are the function value, not SOCKET_ERROR
// plus an lpErrno.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R2_StartupReturnsZeroOrTheErrorCodeItself) {
  Session ses;
  // Given: a good request. Expect: 0.
  ASSERT_EQ(sw().startup(MAKEWORD(2, 2)), 0);

  // Given: a version below 2.2. Expect: the value is WSAVERNOTSUPPORTED itself.
  WSPDATA d{};
  WSPPROC_TABLE p{};
  int rc = sw().startup_ex(MAKEWORD(1, 1), &d, sw().tcp_protocol_info(), sw().table(0), &p);
  EXPECT_EQ(rc, WSAVERNOTSUPPORTED) << wsa_name(rc);
  EXPECT_NE(rc, SOCKET_ERROR);

  // Given: no proc table. Expect: the value is WSAEFAULT itself.
  rc = sw().startup_ex(MAKEWORD(2, 2), &d, sw().tcp_protocol_info(), sw().table(0), nullptr);
  EXPECT_EQ(rc, WSAEFAULT) << wsa_name(rc);

  // Given: no upcall table (provider decision). Expect: WSAEFAULT as the value.
  rc = sw().startup_ex(MAKEWORD(2, 2), &d, sw().tcp_protocol_info(), nullptr, &p);
  EXPECT_EQ(rc, WSAEFAULT) << wsa_name(rc);

  // Expect: the failed calls did not count; one cleanup brings the count back to 0.
  EXPECT_EQ(sw().cleanup(), 0);
  int err = 0;
  EXPECT_EQ(sw().cleanup(&err), SOCKET_ERROR);
  EXPECT_EQ(err, WSANOTINITIALISED) << wsa_name(err);
}
