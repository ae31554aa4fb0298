/* SPDX-License-Identifier: BSD-3-Clause */
// R52: WSPBind to an IP address the provider does not serve returns WSAEADDRNOTAVAIL; a
// wildcard bind followed by listen accepts requests arriving on any served address.
// Spec 2.4: an invalid, short or wrong-family name gives WSAEFAULT.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R52_BindServedAddressesAndWildcard) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  int err = 0;
  // Not served (embedded default serves 127.0.0.1 only).
  for (const char* ip : {"127.0.0.2", "10.1.2.3", "192.0.2.1"}) {
    Sock s;
    ASSERT_TRUE(new_socket(&s));
    sockaddr_in a = make_addr(ip, next_port());
    err = 0;
    EXPECT_EQ(P().lpWSPBind(s.s, reinterpret_cast<sockaddr*>(&a), sizeof a, &err), SOCKET_ERROR)
        << ip;
    EXPECT_EQ(err, WSAEADDRNOTAVAIL) << ip << ": " << wsa_name(err);
  }
  // Bad names.
  Sock b;
  ASSERT_TRUE(new_socket(&b));
  sockaddr_in a = make_addr("127.0.0.1", next_port());
  EXPECT_EQ(P().lpWSPBind(b.s, reinterpret_cast<sockaddr*>(&a), 4, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEFAULT) << "short namelen: " << wsa_name(err);
  EXPECT_EQ(P().lpWSPBind(b.s, nullptr, sizeof a, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEFAULT) << "NULL name: " << wsa_name(err);
  sockaddr_in wrong = a;
  wrong.sin_family = AF_UNIX;
  EXPECT_EQ(P().lpWSPBind(b.s, reinterpret_cast<sockaddr*>(&wrong), sizeof wrong, &err),
            SOCKET_ERROR);
  EXPECT_EQ(err, WSAEFAULT) << "wrong family: " << wsa_name(err);
  // The socket is still usable after the refusals.
  EXPECT_EQ(P().lpWSPBind(b.s, reinterpret_cast<sockaddr*>(&a), sizeof a, &err), 0)
      << wsa_name(err);

  // Wildcard listen: a request to 127.0.0.1 is accepted.
  Listener l;
  ASSERT_TRUE(open_listener(&l, 0, SOMAXCONN, "0.0.0.0"));
  Pair p;
  EXPECT_TRUE(connect_pair(l, &p));
  EXPECT_EQ(sw().cleanup(), 0);
}
