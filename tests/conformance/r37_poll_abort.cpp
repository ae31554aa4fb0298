/* SPDX-License-Identifier: BSD-3-Clause */
// R37 (Decision 2): a poll-mode operation aborted by close or by the final cleanup is reported
// complete in place: OffsetHigh = WSA_OPERATION_ABORTED, InternalHigh = 0, Internal no longer
// in progress (release store), with no upcall.
//
// Note on the spec: R37 also says "a later WSPGetOverlappedResult poll" reports the abort, but
// R27 makes every call on a closed descriptor (WSPGetOverlappedResult included) answer
// WSAENOTSOCK, and after the final cleanup every descriptor is closed. The in-place fields are
// what a switch can read; WSPGetOverlappedResult on the closed descriptor may answer either.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R37_PollModeAbortCompletedInPlace) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra;
  ASSERT_TRUE(make_region(k.a(), 4 * 4096, &ra));
  // Given: poll-mode receives on k.a, with garbage in the fields the abort must write.
  std::vector<PendingOp> by_close;
  for (int i = 0; i < 3; ++i) {
    WSAOVERLAPPED* ov = sw().new_ov(Mode::Poll);
    ASSERT_TRUE(recv_pending(k.a(), ra.buf + i * 4096, 4096, ov));
    ov->InternalHigh = 1234;  // the provider owns the fields now; the abort must reset them
    by_close.push_back({ov, k.a(), k.ah(), Mode::Poll});
  }
  // When: closed. Expect: aborted in place by the time WSPCloseSocket returns.
  ASSERT_TRUE(close_socket(k.a()));
  EXPECT_TRUE(check_all_aborted(by_close));
  OvResult r = get_result(k.a(), by_close[0].ov);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.err == WSAENOTSOCK || r.err == WSA_OPERATION_ABORTED) << wsa_name(r.err);

  // Given: poll-mode operations pending at the final cleanup: receives on a second
  // connection, and sends on a third one waiting for credit.
  std::vector<PendingOp> by_cleanup;
  Pair p2, p3;
  ASSERT_TRUE(connect_pair(k.l, &p2));
  ASSERT_TRUE(connect_pair(k.l, &p3));
  Region r2, s3;
  ASSERT_TRUE(make_region(p2.a.s, 8192, &r2));
  ASSERT_TRUE(make_region(p3.c.sock.s, 8192, &s3));
  for (int i = 0; i < 2; ++i) {
    WSAOVERLAPPED* ov = sw().new_ov(Mode::Poll);
    ASSERT_TRUE(recv_pending(p2.a.s, r2.buf + i * 4096, 4096, ov));
    by_cleanup.push_back({ov, p2.a.s, p2.a.h, Mode::Poll});
  }
  for (int i = 0; i < 2; ++i) {
    WSAOVERLAPPED* ov = sw().new_ov(Mode::Poll);
    ASSERT_TRUE(send_pending(p3.c.sock.s, s3.buf + i * 4096, 3000, ov));
    by_cleanup.push_back({ov, p3.c.sock.s, p3.c.sock.h, Mode::Poll});
  }
  sleep_ms(50);
  ASSERT_EQ(sw().cleanup(), 0);
  EXPECT_TRUE(check_all_aborted(by_cleanup));
  EXPECT_EQ(sw().count(Up::CompleteOverlappedRequest), 0u);
}
