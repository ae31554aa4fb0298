/* SPDX-License-Identifier: BSD-3-Clause */
// R55: without QoS support, WSPGetQOSByName fails with WSAEOPNOTSUPP.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R55_GetQOSByNameNotSupported) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Sock s;
  ASSERT_TRUE(new_socket(&s));
  char name[] = "G711";
  WSABUF b{sizeof name, name};
  QOS q{};
  int err = 0;
  EXPECT_EQ(P().lpWSPGetQOSByName(s.s, &b, &q, &err), FALSE);
  EXPECT_EQ(err, WSAEOPNOTSUPP) << wsa_name(err);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  err = 0;
  EXPECT_EQ(P().lpWSPGetQOSByName(k.c(), &b, &q, &err), FALSE);
  EXPECT_EQ(err, WSAEOPNOTSUPP) << wsa_name(err);
  EXPECT_EQ(sw().cleanup(), 0);
}
