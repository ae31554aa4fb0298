/* SPDX-License-Identifier: BSD-3-Clause */
// R50: a successful WSPAccept resets the FD_ACCEPT event (through WPUResetEvent, Decision 5),
// and a request arriving later signals it again.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R50_AcceptResetsEventAndLaterRequestSignalsAgain) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Listener l;
  ASSERT_TRUE(open_listener(&l));
  // Given: a request signalled; the switch goes straight to WSPAccept (no enumeration).
  Connector c1;
  ASSERT_TRUE(start_connect(&c1, l.port));
  ASSERT_TRUE(wait_event(l.ev, kWait));
  uint64_t before = sw().seq();
  sockaddr_in a{};
  int alen = sizeof a, err = 0;
  SOCKET s = P().lpWSPAccept(l.sock.s, reinterpret_cast<sockaddr*>(&a), &alen, condition_fn,
                             reinterpret_cast<DWORD_PTR>(sw().new_cond()), &err);
  ASSERT_NE(s, INVALID_SOCKET) << wsa_name(err);
  // Expect: the event was reset through WPUResetEvent, during the call, on the caller's thread.
  EXPECT_FALSE(event_signalled(l.ev)) << "WSPAccept did not reset the FD_ACCEPT event";
  bool reset = false;
  for (const Record& r : sw().records_since(before))
    if (r.kind == Up::ResetEvent && r.event == as_wsaevent(l.ev) &&
        r.tid == std::this_thread::get_id())
      reset = true;
  EXPECT_TRUE(reset) << "no WPUResetEvent for the listener's event inside WSPAccept";
  int fd_err = -1;
  ASSERT_TRUE(wait_connect(c1, &fd_err));
  EXPECT_EQ(fd_err, 0);

  // When: a later request. Expect: the event is signalled again, and it can be accepted.
  uint64_t mark = sw().seq();
  Connector c2;
  ASSERT_TRUE(start_connect(&c2, l.port));
  ASSERT_TRUE(wait_event(l.ev, kWait)) << "a later request did not signal FD_ACCEPT again";
  bool set = false;
  for (const Record& r : sw().records_since(mark))
    if (r.kind == Up::SetEvent && r.event == as_wsaevent(l.ev)) set = true;
  EXPECT_TRUE(set);
  Sock s2;
  EXPECT_TRUE(accept_one(l, &s2));
  ASSERT_TRUE(wait_connect(c2, &fd_err));
  EXPECT_EQ(fd_err, 0);
  EXPECT_EQ(sw().cleanup(), 0);
}
