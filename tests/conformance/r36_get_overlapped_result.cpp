/* SPDX-License-Identifier: BSD-3-Clause */
// R36: WSPGetOverlappedResult(fWait = FALSE) returns FALSE / WSA_IO_INCOMPLETE for a pending
// operation; TRUE with *lpcbTransfer = bytes and *lpdwFlags = result flags for a success; FALSE
// with the operation's error for a failure.
// Decision 6: with fWait = TRUE it blocks until the operation completes.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R36_ReportsPendingSuccessAndFailure) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra, rc;
  ASSERT_TRUE(make_region(k.a(), 8 * 4096, &ra));
  ASSERT_TRUE(make_region(k.c(), 8 * 4096, &rc));

  // Pending, both modes: FALSE with WSA_IO_INCOMPLETE.
  WSAOVERLAPPED* pu = sw().new_ov(Mode::Upcall);
  WSAOVERLAPPED* pp = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf, 4096, pu));
  ASSERT_TRUE(recv_pending(k.a(), ra.buf + 4096, 4096, pp));
  for (WSAOVERLAPPED* ov : {pu, pp}) {
    OvResult r = get_result(k.a(), ov);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.err, WSA_IO_INCOMPLETE) << wsa_name(r.err);
  }

  // Success: TRUE, bytes, flags 0 for a whole message.
  ASSERT_TRUE(send_pending(k.c(), rc.buf, 333, sw().new_ov(Mode::Poll)));
  ASSERT_TRUE(send_pending(k.c(), rc.buf, 444, sw().new_ov(Mode::Poll)));
  for (auto [ov, n] : {std::pair{pu, 333u}, std::pair{pp, 444u}}) {
    OvResult r;
    ASSERT_TRUE(wait_result(k.a(), ov, &r));
    EXPECT_TRUE(r.ok) << wsa_name(r.err);
    EXPECT_EQ(r.bytes, n);
    EXPECT_EQ(r.flags, 0u);
  }

  // Failure: a message larger than the receive buffer completes with WSAEMSGSIZE and the
  // truncated count (provider decision); the next message is whole in the next receive.
  WSAOVERLAPPED* small = sw().new_ov(Mode::Poll);
  WSAOVERLAPPED* next = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf + 2 * 4096, 100, small));
  ASSERT_TRUE(recv_pending(k.a(), ra.buf + 3 * 4096, 4096, next));
  fill_pattern(rc.buf + 4096, 300, 9);
  ASSERT_TRUE(send_pending(k.c(), rc.buf + 4096, 300, sw().new_ov(Mode::Poll)));
  ASSERT_TRUE(send_pending(k.c(), rc.buf, 50, sw().new_ov(Mode::Poll)));
  OvResult r;
  ASSERT_TRUE(wait_result(k.a(), small, &r));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.err, WSAEMSGSIZE) << wsa_name(r.err);
  EXPECT_EQ(small->OffsetHigh, DWORD{WSAEMSGSIZE});
  EXPECT_EQ(small->InternalHigh, 100u) << "truncated byte count";
  EXPECT_TRUE(check_pattern(ra.buf + 2 * 4096, 100, 9));
  ASSERT_TRUE(wait_result(k.a(), next, &r));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.bytes, 50u) << "the rest of a truncated message leaked into the next receive";

  // Decision 6: fWait = TRUE blocks until the operation completes.
  struct State {
    std::atomic<bool> done{false};
    OvResult r;
  };
  auto st = std::make_shared<State>();
  WSAOVERLAPPED* w = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf + 4 * 4096, 4096, w));
  SOCKET a = k.a();
  std::thread waiter([st, a, w] {
    st->r = get_result(a, w, TRUE);
    st->done = true;
  });
  sleep_ms(200);
  EXPECT_FALSE(st->done.load()) << "fWait = TRUE returned while the operation was pending: "
                                << wsa_name(st->r.err);
  ASSERT_TRUE(send_pending(k.c(), rc.buf, 77, sw().new_ov(Mode::Poll)));
  auto deadline = Clock::now() + Ms(3000);
  while (!st->done.load() && Clock::now() < deadline) sleep_ms(1);
  if (st->done.load()) {
    waiter.join();
    EXPECT_TRUE(st->r.ok) << wsa_name(st->r.err);
    EXPECT_EQ(st->r.bytes, 77u);
  } else {
    waiter.detach();  // returns when the final cleanup aborts the receive
    ADD_FAILURE() << "WSPGetOverlappedResult(fWait = TRUE) did not return after completion";
  }
  EXPECT_EQ(sw().cleanup(), 0);
}
