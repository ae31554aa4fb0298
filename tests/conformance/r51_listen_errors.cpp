/* SPDX-License-Identifier: BSD-3-Clause */
// R51: WSPListen returns WSAEINVAL on an unbound socket and WSAEISCONN on a connected one; it
// never returns WSAEADDRINUSE (nor WSAEINPROGRESS or WSAEOPNOTSUPP).

#include "test_switch.h"

using namespace dpsan_conf;

namespace {
bool listen_error_allowed(int e) {
  return e == WSAENETDOWN || e == WSAEINVAL || e == WSAEISCONN || e == WSAEMFILE ||
         e == WSAENOBUFS || e == WSAENOTSOCK;
}
}  // namespace

TEST(Conformance, R51_ListenErrors) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  int err = 0;
  // Unbound: WSAEINVAL.
  Sock u;
  ASSERT_TRUE(new_socket(&u));
  EXPECT_EQ(P().lpWSPListen(u.s, 5, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEINVAL) << wsa_name(err);
  // Connected (either side): WSAEISCONN.
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  for (SOCKET s : {k.c(), k.a()}) {
    err = 0;
    EXPECT_EQ(P().lpWSPListen(s, 5, &err), SOCKET_ERROR);
    EXPECT_EQ(err, WSAEISCONN) << wsa_name(err);
  }
  // A second socket on a port already listened on: bind may refuse; listen never says
  // WSAEADDRINUSE.
  Sock dup;
  ASSERT_TRUE(new_socket(&dup));
  sockaddr_in a = make_addr("127.0.0.1", k.l.port);
  err = 0;
  if (P().lpWSPBind(dup.s, reinterpret_cast<sockaddr*>(&a), sizeof a, &err) == 0) {
    err = 0;
    if (P().lpWSPListen(dup.s, 5, &err) != 0) {
      EXPECT_NE(err, WSAEADDRINUSE);
      EXPECT_TRUE(listen_error_allowed(err)) << wsa_name(err);
    }
  } else {
    RecordProperty("second_bind_error", wsa_name(err));
  }
  // Listening again (a new backlog) is not an error of the forbidden kinds.
  err = 0;
  if (P().lpWSPListen(k.l.sock.s, 10, &err) != 0) {
    EXPECT_TRUE(listen_error_allowed(err)) << wsa_name(err);
  }
  // The listener still works.
  Pair p;
  EXPECT_TRUE(connect_pair(k.l, &p));
  EXPECT_EQ(sw().cleanup(), 0);
}
