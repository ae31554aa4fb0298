/* SPDX-License-Identifier: BSD-3-Clause */
// R16: listening sockets open at the final cleanup stop accepting; queued, unaccepted requests
// are refused. In one process: the connectors are torn down with the cleanup and get no
// FD_CONNECT (R14); after a re-startup nothing listens on the old port any more, and the port
// can be listened on again.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R16_ListenersStopAcceptingAtFinalCleanup) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  // Given: a listener on port P with two queued, unaccepted requests.
  Listener l;
  ASSERT_TRUE(open_listener(&l));
  Connector q1, q2;
  ASSERT_TRUE(start_connect(&q1, l.port));
  ASSERT_TRUE(start_connect(&q2, l.port));
  ASSERT_TRUE(wait_event(l.ev, kWait));

  // When: the final cleanup.
  ASSERT_EQ(sw().cleanup(), 0);
  EXPECT_TRUE(check_closed_once({l.sock.h, q1.sock.h, q2.sock.h}));
  sleep_ms(100);
  EXPECT_EQ(event_sets(q1.ev) + event_sets(q2.ev), 0u) << "FD_CONNECT signalled for a cleaned-up connector";

  // Expect: after a re-startup, a connect to P is refused (nothing listens there any more).
  ASSERT_EQ(sw().startup(), 0);
  Connector c;
  ASSERT_TRUE(start_connect(&c, l.port));
  int fd_err = 0;
  ASSERT_TRUE(wait_connect(c, &fd_err));
  EXPECT_TRUE(fd_err == WSAECONNREFUSED || fd_err == WSAECONNRESET) << wsa_name(fd_err);
  // Expect: P can be listened on again and accepts.
  Listener l2;
  ASSERT_TRUE(open_listener(&l2, l.port));
  Pair p;
  EXPECT_TRUE(connect_pair(l2, &p));
  EXPECT_EQ(sw().cleanup(), 0);
}
