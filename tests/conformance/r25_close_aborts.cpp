/* SPDX-License-Identifier: BSD-3-Clause */
// R25: WSPCloseSocket with overlapped operations pending gives each one completion with
// WSA_OPERATION_ABORTED through WPUCompleteOverlappedRequest (poll mode: in place, R37); only
// then the single WPUCloseSocketHandle follows.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R25_CloseAbortsPendingOpsThenClosesHandle) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  // Given: receives pending on k.a (both modes) ...
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra;
  ASSERT_TRUE(make_region(k.a(), 8 * 4096, &ra));
  std::vector<PendingOp> recvs;
  for (int i = 0; i < 6; ++i) {
    Mode m = i < 3 ? Mode::Upcall : Mode::Poll;
    WSAOVERLAPPED* ov = sw().new_ov(m);
    ASSERT_TRUE(recv_pending(k.a(), ra.buf + i * 4096, 4096, ov));
    recvs.push_back({ov, k.a(), k.ah(), m});
  }
  // ... and sends waiting for credit on p2.c.
  Pair p2;
  ASSERT_TRUE(connect_pair(k.l, &p2));
  Region s2;
  ASSERT_TRUE(make_region(p2.c.sock.s, 8 * 1024, &s2));
  std::vector<PendingOp> sends;
  for (int i = 0; i < 4; ++i) {
    Mode m = i % 2 ? Mode::Poll : Mode::Upcall;
    WSAOVERLAPPED* ov = sw().new_ov(m);
    ASSERT_TRUE(send_pending(p2.c.sock.s, s2.buf + i * 2048, 1024, ov));
    sends.push_back({ov, p2.c.sock.s, p2.c.sock.h, m});
  }
  sleep_ms(50);
  for (const auto& op : recvs) ASSERT_FALSE(ov_done(op.ov)) << "precondition";
  for (const auto& op : sends) ASSERT_FALSE(ov_done(op.ov)) << "precondition";

  // When: WSPCloseSocket. Expect, by the time it returns: every op aborted once, then exactly
  // one WPUCloseSocketHandle for that socket.
  ASSERT_TRUE(close_socket(k.a()));
  EXPECT_TRUE(check_all_aborted(recvs));
  EXPECT_TRUE(check_closed_once({k.ah()}));
  ASSERT_TRUE(close_socket(p2.c.sock.s));
  EXPECT_TRUE(check_all_aborted(sends));
  EXPECT_TRUE(check_closed_once({p2.c.sock.h}));

  EXPECT_EQ(sw().cleanup(), 0);
  // No op completed a second time during the final cleanup.
  EXPECT_TRUE(check_all_aborted(recvs));
  EXPECT_TRUE(check_all_aborted(sends));
}
