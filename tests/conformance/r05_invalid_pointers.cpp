/* SPDX-License-Identifier: BSD-3-Clause */
// R5: an invalid lpWSPData or lpProcTable (NULL) yields WSAEFAULT (and, by provider decision,
// so does a NULL upcall table); the count does not change.

#include "test_switch.h"

using namespace dpsan_conf;

namespace {
void try_bad_pointers() {
  WSPDATA d{};
  WSPPROC_TABLE p{};
  int rc = sw().startup_ex(MAKEWORD(2, 2), nullptr, sw().tcp_protocol_info(), sw().table(0), &p);
  EXPECT_EQ(rc, WSAEFAULT) << "NULL lpWSPData: " << wsa_name(rc);
  rc = sw().startup_ex(MAKEWORD(2, 2), &d, sw().tcp_protocol_info(), sw().table(0), nullptr);
  EXPECT_EQ(rc, WSAEFAULT) << "NULL lpProcTable: " << wsa_name(rc);
  rc = sw().startup_ex(MAKEWORD(2, 2), &d, sw().tcp_protocol_info(), nullptr, &p);
  EXPECT_EQ(rc, WSAEFAULT) << "NULL lpUpcallTable: " << wsa_name(rc);
}
}  // namespace

TEST(Conformance, R5_NullDataOrProcTableIsWSAEFAULT) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  ASSERT_EQ(sw().cleanup(), 0);

  // Given: count 0. When: bad pointers. Expect: WSAEFAULT, count still 0.
  try_bad_pointers();
  int err = 0;
  EXPECT_EQ(sw().cleanup(&err), SOCKET_ERROR);
  EXPECT_EQ(err, WSANOTINITIALISED) << wsa_name(err);

  // Given: count 1. When: bad pointers. Expect: WSAEFAULT, count still 1, instance intact.
  ASSERT_EQ(sw().startup(), 0);
  try_bad_pointers();
  Sock s;
  EXPECT_TRUE(new_socket(&s));
  EXPECT_TRUE(close_socket(s.s));
  EXPECT_EQ(sw().cleanup(), 0);
  EXPECT_EQ(sw().cleanup(&err), SOCKET_ERROR);
  EXPECT_EQ(err, WSANOTINITIALISED) << wsa_name(err);
}
