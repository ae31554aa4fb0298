/* SPDX-License-Identifier: BSD-3-Clause */
// R28: WSPCloseSocket never returns WSAEWOULDBLOCK or WSAEINPROGRESS, and returns promptly,
// with no linger, whatever the socket's state.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R28_CloseIsPromptAndNeverWouldBlock) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  // Given: sockets in every state, with work pending.
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra;
  ASSERT_TRUE(make_region(k.a(), 4096, &ra));
  ASSERT_TRUE(recv_pending(k.a(), ra.buf, 4096, sw().new_ov(Mode::Upcall)));
  Pair p2;
  ASSERT_TRUE(connect_pair(k.l, &p2));
  Region s2;
  ASSERT_TRUE(make_region(p2.c.sock.s, 8192, &s2));
  for (int i = 0; i < 3; ++i)  // waiting for credit
    ASSERT_TRUE(send_pending(p2.c.sock.s, s2.buf + i * 2048, 2000, sw().new_ov(Mode::Poll)));
  Connector queued, far;
  ASSERT_TRUE(start_connect(&queued, k.l.port));
  ASSERT_TRUE(start_connect(&far, 13, "127.0.0.2"));
  Sock fresh;
  ASSERT_TRUE(new_socket(&fresh));
  sleep_ms(20);

  struct Item {
    SOCKET s;
    const char* what;
  } items[] = {{p2.c.sock.s, "connected, sends waiting for credit"},
               {k.a(), "connected, receive pending"},
               {queued.sock.s, "connect queued at a listener"},
               {far.sock.s, "connect with no answer"},
               {k.l.sock.s, "listening, with a queued request"},
               {p2.a.s, "connected, peer closed"},
               {k.c(), "connected, peer closed"},
               {fresh.s, "fresh"}};
  for (const Item& it : items) {
    int err = 0;
    auto t0 = Clock::now();
    int rc = P().lpWSPCloseSocket(it.s, &err);
    auto ms = std::chrono::duration_cast<Ms>(Clock::now() - t0).count();
    EXPECT_EQ(rc, 0) << it.what << ": " << wsa_name(err);
    if (rc != 0) {
      EXPECT_NE(err, WSAEWOULDBLOCK) << it.what;
      EXPECT_NE(err, WSAEINPROGRESS) << it.what;
    }
    EXPECT_LT(ms, 1000) << it.what << ": WSPCloseSocket took " << ms << " ms";
  }
  EXPECT_EQ(sw().handles_live(), 0u);
  EXPECT_EQ(sw().cleanup(), 0);
}
