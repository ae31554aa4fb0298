/* SPDX-License-Identifier: BSD-3-Clause */
// R45: after WSPEventSelect(FD_CONNECT), a connect that does not finish at once returns
// WSAEWOULDBLOCK; when it finishes the event is signalled (through WPUSetEvent, Decision 5);
// WSPEnumNetworkEvents reports FD_CONNECT with iErrorCode[FD_CONNECT_BIT], resets the event
// (through WPUResetEvent) and clears the recorded events.
// Provider decision: WSPEventSelect accepts only FD_ACCEPT|FD_CONNECT bits.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R45_ConnectCompletesThroughFdConnect) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Listener l;
  ASSERT_TRUE(open_listener(&l));
  // When: a nonblocking connect (start_connect checks SOCKET_ERROR / WSAEWOULDBLOCK).
  uint64_t mark = sw().seq();
  Connector c;
  ASSERT_TRUE(start_connect(&c, l.port));
  Sock a;
  ASSERT_TRUE(accept_one(l, &a));
  // Expect: the event is signalled, through WPUSetEvent, by a provider thread.
  ASSERT_TRUE(wait_event(c.ev, kWait)) << "FD_CONNECT not signalled";
  bool set_seen = false;
  for (const Record& r : sw().records_since(mark)) {
    if (r.kind == Up::SetEvent && r.event == as_wsaevent(c.ev)) {
      set_seen = true;
      EXPECT_NE(r.tid, std::this_thread::get_id()) << "FD_CONNECT signalled on the caller thread";
    }
  }
  EXPECT_TRUE(set_seen);
  // Expect: WSPEnumNetworkEvents reports FD_CONNECT / 0 and resets the event via the upcall.
  uint64_t before_enum = sw().seq();
  WSANETWORKEVENTS ne;
  std::memset(&ne, 0xFF, sizeof ne);
  int err = 0;
  ASSERT_EQ(P().lpWSPEnumNetworkEvents(c.sock.s, as_wsaevent(c.ev), &ne, &err), 0)
      << wsa_name(err);
  EXPECT_EQ(ne.lNetworkEvents, FD_CONNECT);
  EXPECT_EQ(ne.iErrorCode[FD_CONNECT_BIT], 0) << wsa_name(ne.iErrorCode[FD_CONNECT_BIT]);
  EXPECT_FALSE(event_signalled(c.ev)) << "WSPEnumNetworkEvents did not reset the event";
  bool reset_seen = false;
  for (const Record& r : sw().records_since(before_enum))
    if (r.kind == Up::ResetEvent && r.event == as_wsaevent(c.ev)) reset_seen = true;
  EXPECT_TRUE(reset_seen) << "no WPUResetEvent for the event";
  // Expect: the recorded events were cleared.
  std::memset(&ne, 0xFF, sizeof ne);
  ASSERT_EQ(P().lpWSPEnumNetworkEvents(c.sock.s, as_wsaevent(c.ev), &ne, &err), 0);
  EXPECT_EQ(ne.lNetworkEvents, 0) << "FD_CONNECT reported twice";

  // Provider decision: only FD_ACCEPT and FD_CONNECT may be selected.
  Sock s;
  ASSERT_TRUE(new_socket(&s));
  for (LONG bits : {LONG{FD_READ}, LONG{FD_WRITE}, LONG{FD_CLOSE}, LONG{FD_OOB},
                    LONG{FD_CONNECT | FD_READ}}) {
    err = 0;
    EXPECT_EQ(P().lpWSPEventSelect(s.s, as_wsaevent(sw().new_event()), bits, &err), SOCKET_ERROR)
        << "bits 0x" << std::hex << bits;
    EXPECT_EQ(err, WSAEINVAL) << "bits 0x" << std::hex << bits << ": " << wsa_name(err);
  }
  EXPECT_EQ(sw().cleanup(), 0);
}
