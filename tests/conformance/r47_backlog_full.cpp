/* SPDX-License-Identifier: BSD-3-Clause */
// R47: when the listen backlog is full, a further request is refused at once: the remote
// connect fails with WSAECONNREFUSED, and no FD_ACCEPT is signalled locally.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R47_FullBacklogRefusesAtOnce) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  // Given: a listener with backlog 2 and two queued requests (FD_ACCEPT consumed each time).
  Listener l;
  ASSERT_TRUE(open_listener(&l, 0, 2));
  Connector q[2];
  WSANETWORKEVENTS ne{};
  int err = 0;
  for (auto& c : q) {
    ASSERT_TRUE(start_connect(&c, l.port));
    ASSERT_TRUE(wait_event(l.ev, kWait)) << "FD_ACCEPT not signalled for a queued request";
    sleep_ms(100);
    ASSERT_EQ(P().lpWSPEnumNetworkEvents(l.sock.s, as_wsaevent(l.ev), &ne, &err), 0);
  }
  uint64_t mark = sw().seq();

  // When: a third request arrives.
  auto t0 = Clock::now();
  Connector third;
  ASSERT_TRUE(start_connect(&third, l.port));
  int fd_err = 0;
  ASSERT_TRUE(wait_connect(third, &fd_err, Ms(3000)));
  auto ms = std::chrono::duration_cast<Ms>(Clock::now() - t0).count();

  // Expect: refused at once, with WSAECONNREFUSED, and no FD_ACCEPT signalled.
  EXPECT_EQ(fd_err, WSAECONNREFUSED) << wsa_name(fd_err);
  EXPECT_LT(ms, 1000) << "the refusal took " << ms << " ms";
  sleep_ms(100);
  for (const Record& r : sw().records_since(mark))
    EXPECT_FALSE(r.kind == Up::SetEvent && r.event == as_wsaevent(l.ev))
        << "FD_ACCEPT signalled for a request refused because the backlog was full";

  // Expect: the two queued requests are still there and accepted.
  for (auto& c : q) {
    sockaddr_in a{};
    int alen = sizeof a;
    SOCKET s = P().lpWSPAccept(l.sock.s, reinterpret_cast<sockaddr*>(&a), &alen, condition_fn,
                               reinterpret_cast<DWORD_PTR>(sw().new_cond()), &err);
    EXPECT_NE(s, INVALID_SOCKET) << wsa_name(err);
    ASSERT_TRUE(wait_connect(c, &fd_err));
    EXPECT_EQ(fd_err, 0) << wsa_name(fd_err);
  }
  EXPECT_EQ(sw().cleanup(), 0);
}
