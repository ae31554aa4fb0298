/* SPDX-License-Identifier: BSD-3-Clause */
// R48: an incoming request on a listening socket with FD_ACCEPT selected signals the event
// (through WPUSetEvent), and WSPEnumNetworkEvents reports FD_ACCEPT.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R48_IncomingRequestSignalsFdAccept) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Listener l;
  ASSERT_TRUE(open_listener(&l));
  sleep_ms(50);
  EXPECT_FALSE(event_signalled(l.ev)) << "FD_ACCEPT signalled with no request";
  uint64_t mark = sw().seq();
  // When: a request arrives.
  Connector c;
  ASSERT_TRUE(start_connect(&c, l.port));
  // Expect: the event is signalled through WPUSetEvent by a provider thread.
  ASSERT_TRUE(wait_event(l.ev, kWait)) << "FD_ACCEPT not signalled";
  bool seen = false;
  for (const Record& r : sw().records_since(mark)) {
    if (r.kind == Up::SetEvent && r.event == as_wsaevent(l.ev)) {
      seen = true;
      EXPECT_NE(r.tid, std::this_thread::get_id());
    }
  }
  EXPECT_TRUE(seen);
  // Expect: WSPEnumNetworkEvents reports FD_ACCEPT without error, resets and clears.
  WSANETWORKEVENTS ne;
  std::memset(&ne, 0xFF, sizeof ne);
  int err = 0;
  ASSERT_EQ(P().lpWSPEnumNetworkEvents(l.sock.s, as_wsaevent(l.ev), &ne, &err), 0)
      << wsa_name(err);
  EXPECT_EQ(ne.lNetworkEvents, FD_ACCEPT);
  EXPECT_EQ(ne.iErrorCode[FD_ACCEPT_BIT], 0);
  EXPECT_FALSE(event_signalled(l.ev));
  std::memset(&ne, 0xFF, sizeof ne);
  ASSERT_EQ(P().lpWSPEnumNetworkEvents(l.sock.s, as_wsaevent(l.ev), &ne, &err), 0);
  EXPECT_EQ(ne.lNetworkEvents, 0);
  // And the request is there to accept.
  sockaddr_in a{};
  int alen = sizeof a;
  SOCKET s = P().lpWSPAccept(l.sock.s, reinterpret_cast<sockaddr*>(&a), &alen, condition_fn,
                             reinterpret_cast<DWORD_PTR>(sw().new_cond()), &err);
  EXPECT_NE(s, INVALID_SOCKET) << wsa_name(err);
  int fd_err = -1;
  ASSERT_TRUE(wait_connect(c, &fd_err));
  EXPECT_EQ(fd_err, 0);
  EXPECT_EQ(sw().cleanup(), 0);
}
