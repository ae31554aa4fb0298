/* SPDX-License-Identifier: BSD-3-Clause */
// A switch may close a socket, or make the final cleanup, from inside a completion upcall (the
// upcall runs on the provider's notifier thread). The contract still holds:
//   R26/R25: a close made inside an upcall aborts the socket's other operations exactly once,
//            and WPUCloseSocketHandle is still the socket's last upcall;
//   R12/R15/R20: a final cleanup made inside an upcall returns, aborts everything exactly once,
//            closes every handle once, and the next WSPStartupEx works at once;
//   R10: a cleanup made from a nested upcall of that final cleanup answers WSANOTINITIALISED.
// Nothing may hang: every wait is bounded.

#include "test_switch.h"

using namespace dpsan_conf;

namespace {

constexpr int kRecvs = 8;

struct Posted {
  Region region;
  std::vector<WSAOVERLAPPED*> ovs;
};

// Given: kRecvs upcall-mode receives pending on the accepted socket.
void post_receives(const Conn& k, Posted* out) {
  ASSERT_TRUE(make_region(k.a(), kRecvs * 1024, &out->region));
  for (int i = 0; i < kRecvs; ++i) {
    out->ovs.push_back(sw().new_ov(Mode::Upcall));
    ASSERT_TRUE(recv_pending(k.a(), out->region.buf + i * 1024, 1024, out->ovs.back()));
  }
}

// One message from the connecting side: it completes the first receive.
void send_one(const Conn& k) {
  Region rc;
  ASSERT_TRUE(make_region(k.c(), 64, &rc, MEM_READWRITE, 0x5a));
  ASSERT_TRUE(send_pending(k.c(), rc.buf, 64, sw().new_ov(Mode::Poll)));
}

struct HookResult {
  std::atomic<bool> done{false};
  int rc = -1;
  int err = 0;
  std::atomic<int> nested_cleanups{0};
  std::atomic<int> nested_not_initialised{0};
};

bool wait_flag(const std::atomic<bool>& f, Ms timeout) {
  auto end = Clock::now() + timeout;
  while (!f.load() && Clock::now() < end) sleep_ms(1);
  return f.load();
}

std::vector<PendingOp> rest_of(const Conn& k, const Posted& p) {
  std::vector<PendingOp> ops;
  for (int i = 1; i < kRecvs; ++i) ops.push_back({p.ovs[i], k.a(), k.ah(), Mode::Upcall});
  return ops;
}

/** Given: a started provider, a connection, and kRecvs receives posted on its side a. */
void start_with_receives(Conn* k, Posted* p) {
  ASSERT_EQ(sw().startup(), 0);
  ASSERT_TRUE(make_conn(k));
  ASSERT_NO_FATAL_FAILURE(post_receives(*k, p));
}

}  // namespace

TEST(Conformance, R26_R25_CloseInsideCompletionUpcall) {
  Session ses;
  Conn k;
  Posted p;
  ASSERT_NO_FATAL_FAILURE(start_with_receives(&k, &p));
  auto res = std::make_shared<HookResult>();
  WSAOVERLAPPED* first = p.ovs[0];
  SOCKET a = k.a();
  sw().set_complete_hook([res, first, a](const Record& r) {
    if (r.ov != first) return;
    res->rc = P().lpWSPCloseSocket(a, &res->err);
    res->done = true;
  });

  // When: the first receive completes, and its upcall closes the socket.
  ASSERT_NO_FATAL_FAILURE(send_one(k));
  ASSERT_TRUE(wait_flag(res->done, kWait)) << "WSPCloseSocket inside the upcall did not return";
  EXPECT_EQ(res->rc, 0) << wsa_name(res->err);
  ASSERT_TRUE(sw().wait_for(
      [&](const Record& r) { return r.kind == Up::CloseSocketHandle && r.handle == k.ah(); }, kWait))
      << "no WPUCloseSocketHandle after a close made inside an upcall";
  sw().set_complete_hook(nullptr);

  // Expect: the other receives aborted once each, before the handle's close, which is its last.
  EXPECT_TRUE(check_all_aborted(rest_of(k, p)));
  sleep_ms(50);  // anything late would now be recorded (and be a violation)
  EXPECT_TRUE(check_closed_once({k.ah()}));
  // The descriptor is closed (R27), the rest of the session carries on.
  int err = 0;
  EXPECT_EQ(P().lpWSPCloseSocket(k.a(), &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAENOTSOCK);
  EXPECT_EQ(sw().cleanup(), 0);
  EXPECT_TRUE(check_closed_once(sw().all_handles()));
}

TEST(Conformance, R12_R15_R20_FinalCleanupInsideCompletionUpcall) {
  Session ses;
  Conn k;
  Posted p;
  ASSERT_NO_FATAL_FAILURE(start_with_receives(&k, &p));
  auto res = std::make_shared<HookResult>();
  WSAOVERLAPPED* first = p.ovs[0];
  sw().set_complete_hook([res, first](const Record& r) {
    if (r.ov == first) {
      res->rc = sw().cleanup(&res->err);
      res->done = true;
      return;
    }
    // An abort delivered inside that cleanup: a cleanup from here finds nothing to clean (R10).
    res->nested_cleanups++;
    int err = 0;
    if (P().lpWSPCleanup(&err) == SOCKET_ERROR && err == WSANOTINITIALISED)
      res->nested_not_initialised++;
  });

  // When: the first receive completes, and its upcall makes the final cleanup.
  ASSERT_NO_FATAL_FAILURE(send_one(k));
  ASSERT_TRUE(wait_flag(res->done, kWait)) << "the final WSPCleanup inside an upcall hung";
  sw().set_complete_hook(nullptr);
  EXPECT_EQ(res->rc, 0) << wsa_name(res->err);

  // Expect: every other receive aborted exactly once, every handle closed once as its last
  // upcall, and nothing after the cleanup returned (R19).
  EXPECT_TRUE(check_all_aborted(rest_of(k, p)));
  EXPECT_EQ(res->nested_cleanups.load(), kRecvs - 1);
  EXPECT_EQ(res->nested_not_initialised.load(), kRecvs - 1);
  sw().set_poisoned(true);
  sleep_ms(50);
  sw().set_poisoned(false);
  EXPECT_TRUE(check_closed_once(sw().all_handles()));
  EXPECT_EQ(sw().handles_live(), 0u);

  // Expect (R20): the provider starts again at once, and carries a message.
  ASSERT_EQ(sw().startup(), 0);
  Conn k2;
  ASSERT_TRUE(make_conn(&k2));
  Posted p2;
  ASSERT_NO_FATAL_FAILURE(post_receives(k2, &p2));
  ASSERT_NO_FATAL_FAILURE(send_one(k2));
  OvResult r;
  ASSERT_TRUE(wait_result(k2.a(), p2.ovs[0], &r));
  EXPECT_EQ(r.bytes, 64u);
  EXPECT_EQ(sw().cleanup(), 0);
}
