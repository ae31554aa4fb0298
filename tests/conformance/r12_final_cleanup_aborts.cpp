/* SPDX-License-Identifier: BSD-3-Clause */
// R12: in a final WSPCleanup every pending overlapped operation gets exactly one completion
// with WSA_OPERATION_ABORTED: through the table's WPUCompleteOverlappedRequest and its socket's
// switch handle in upcall mode (Decision 1), in place in poll mode (Decision 2, R37).
// Also covers, for sockets open at the final cleanup: R15 (one WPUCloseSocketHandle each, after
// the aborts) and R34 (no upcall for poll-mode operations).

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R12_EveryPendingOpAbortedExactlyOnce) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  // Given: connection k with receives pending on both sides, in both modes.
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra, rc;
  ASSERT_TRUE(make_region(k.a(), 64 * 1024, &ra));
  ASSERT_TRUE(make_region(k.c(), 64 * 1024, &rc));
  std::vector<PendingOp> ops;
  for (int i = 0; i < 8; ++i) {
    Mode m = i % 2 == 0 ? Mode::Upcall : Mode::Poll;
    WSAOVERLAPPED* ov = sw().new_ov(m);
    ASSERT_TRUE(recv_pending(k.a(), ra.buf + i * 4096, 4096, ov));
    ops.push_back({ov, k.a(), k.ah(), m});
  }
  for (int i = 0; i < 2; ++i) {
    WSAOVERLAPPED* ov = sw().new_ov(Mode::Upcall);
    ASSERT_TRUE(recv_pending(k.c(), rc.buf + i * 4096, 4096, ov));
    ops.push_back({ov, k.c(), k.ch(), Mode::Upcall});
  }
  // Given: a second connection whose sender has sends waiting for credit (no receive posted
  // at the peer, messages too large for the early-message buffer).
  Pair p2;
  ASSERT_TRUE(connect_pair(k.l, &p2));
  Region s2;
  ASSERT_TRUE(make_region(p2.c.sock.s, 16 * 1024, &s2));
  for (int i = 0; i < 4; ++i) {
    Mode m = i % 2 == 0 ? Mode::Upcall : Mode::Poll;
    WSAOVERLAPPED* ov = sw().new_ov(m);
    ASSERT_TRUE(send_pending(p2.c.sock.s, s2.buf + i * 2048, 1024, ov));
    ops.push_back({ov, p2.c.sock.s, p2.c.sock.h, m});
  }
  sleep_ms(100);
  for (size_t i = 0; i < ops.size(); ++i)
    ASSERT_FALSE(ov_done(ops[i].ov)) << "precondition: op #" << i << " completed before cleanup";
  ASSERT_EQ(sw().count(Up::CompleteOverlappedRequest), 0u);

  // When: the final cleanup.
  int err = 0;
  ASSERT_EQ(sw().cleanup(&err), 0) << wsa_name(err);

  // Expect: each op aborted exactly once, in its mode; nothing else completed.
  EXPECT_TRUE(check_all_aborted(ops));
  size_t upcall_ops = 0;
  for (const auto& op : ops) upcall_ops += op.mode == Mode::Upcall;
  EXPECT_EQ(sw().count(Up::CompleteOverlappedRequest), upcall_ops);
  // Expect: every socket's handle closed exactly once, as its last upcall.
  EXPECT_TRUE(check_closed_once(sw().all_handles()));
  EXPECT_EQ(sw().handles_live(), 0u);
}

TEST(Conformance, R12_AbortUnderLoad_10000PendingRecvs) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  constexpr int kPairs = 100;
  constexpr int kPerSocket = 100;
  // Given: 100 connected pairs on the loopback.
  Listener l;
  ASSERT_TRUE(open_listener(&l));
  std::vector<Pair> pairs(kPairs);
  for (int i = 0; i < kPairs; ++i) ASSERT_TRUE(connect_pair(l, &pairs[i])) << "pair " << i;

  // Given: on one socket of each pair (accepted for even pairs, connected for odd ones), 100
  // pending receives sharing one registered buffer, alternating upcall and poll mode.
  std::vector<PendingOp> ops;
  ops.reserve(kPairs * kPerSocket);
  for (int i = 0; i < kPairs; ++i) {
    Sock s = i % 2 == 0 ? pairs[i].a : pairs[i].c.sock;
    Region r;
    ASSERT_TRUE(make_region(s.s, 4096, &r)) << "pair " << i;
    for (int j = 0; j < kPerSocket; ++j) {
      Mode m = j % 2 == 0 ? Mode::Upcall : Mode::Poll;
      WSAOVERLAPPED* ov = sw().new_ov(m);
      ASSERT_TRUE(recv_pending(s.s, r.buf, 4096, ov)) << "pair " << i << " receive " << j;
      ops.push_back({ov, s.s, s.h, m});
    }
  }
  ASSERT_EQ(ops.size(), size_t{kPairs * kPerSocket});
  sleep_ms(50);
  size_t early = 0;
  for (const auto& op : ops) early += ov_done(op.ov);
  ASSERT_EQ(early, 0u) << "receives completed before the cleanup";

  // When: the final cleanup.
  auto t0 = Clock::now();
  int err = 0;
  ASSERT_EQ(sw().cleanup(&err), 0) << wsa_name(err);
  auto took = std::chrono::duration_cast<Ms>(Clock::now() - t0).count();

  // Expect: exactly 10,000 aborts, each overlapped completed exactly once in its mode, every
  // abort upcall before its socket's WPUCloseSocketHandle.
  EXPECT_TRUE(check_all_aborted(ops));
  EXPECT_EQ(sw().count(Up::CompleteOverlappedRequest), size_t{kPairs * kPerSocket / 2});
  size_t aborted = 0;
  for (const auto& op : ops)
    aborted += ov_done(op.ov) && op.ov->OffsetHigh == WSA_OPERATION_ABORTED;
  EXPECT_EQ(aborted, size_t{kPairs * kPerSocket});
  // Expect: exactly one WPUCloseSocketHandle per socket (200 + the listener).
  EXPECT_EQ(sw().handles_created(), size_t{2 * kPairs + 1});
  EXPECT_EQ(sw().count(Up::CloseSocketHandle), size_t{2 * kPairs + 1});
  EXPECT_TRUE(check_closed_once(sw().all_handles()));
  RecordProperty("final_cleanup_ms", static_cast<int>(took));
}
