/* SPDX-License-Identifier: BSD-3-Clause */
// R30: WSPCloseSocket on a socket with a pending nonblocking connect aborts the connect
// promptly and releases its resources; no FD_CONNECT is signalled afterwards, and the remote
// side is not left with a half-open connection.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R30_ClosingAConnectingSocket) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  // Given: a connect nobody answers, and a connect queued at a listener.
  Listener l;
  ASSERT_TRUE(open_listener(&l));
  Connector far, queued;
  ASSERT_TRUE(start_connect(&far, 17, "127.0.0.2"));
  ASSERT_TRUE(start_connect(&queued, l.port));
  ASSERT_TRUE(wait_event(l.ev, kWait)) << "request never reached the listener";

  // When: both are closed. Expect: promptly.
  for (SOCKET s : {far.sock.s, queued.sock.s}) {
    auto t0 = Clock::now();
    EXPECT_TRUE(close_socket(s));
    EXPECT_LT(std::chrono::duration_cast<Ms>(Clock::now() - t0).count(), 1000);
  }
  uint64_t closed_at = sw().seq();
  EXPECT_TRUE(check_closed_once({far.sock.h, queued.sock.h}));

  // Expect: the remote side holds no half-open connection: the queued request is withdrawn,
  // or the connection it yields fails at once.
  WSANETWORKEVENTS ne{};
  int err = 0;
  sleep_ms(100);
  ASSERT_EQ(P().lpWSPEnumNetworkEvents(l.sock.s, as_wsaevent(l.ev), &ne, &err), 0);
  sockaddr_in a{};
  int alen = sizeof a;
  SOCKET s = P().lpWSPAccept(l.sock.s, reinterpret_cast<sockaddr*>(&a), &alen, condition_fn,
                             reinterpret_cast<DWORD_PTR>(sw().new_cond()), &err);
  if (s == INVALID_SOCKET) {
    EXPECT_EQ(err, WSAEWOULDBLOCK) << wsa_name(err);
  } else {
    // The accepted connection must already be dead: registration refused as not connected,
    // or a receive failing with a connection error.
    static const GUID kReg = WSAID_REGISTERMEMORY;
    void* fn = nullptr;
    ASSERT_EQ(get_ext_fn(s, kReg, &fn, &err), 0);
    char* buf = sw().new_buf(4096);
    HANDLE h = reinterpret_cast<LPFN_WSPREGISTERMEMORY>(fn)(s, buf, 4096, MEM_READWRITE, &err);
    if (h == nullptr) {
      EXPECT_TRUE(err == WSAENOTCONN || err == WSAECONNRESET || err == WSAECONNABORTED)
          << wsa_name(err);
    } else {
      WSAOVERLAPPED* ov = sw().new_ov(Mode::Poll);
      int rc = post_recv(s, buf, 4096, ov, &err);
      if (rc == SOCKET_ERROR && err == WSA_IO_PENDING) {
        ASSERT_TRUE(wait_done(ov, Ms(3000)))
            << "a connection accepted from a closed connector stays half-open";
        EXPECT_TRUE(ov->OffsetHigh == WSAECONNRESET || ov->OffsetHigh == WSAECONNABORTED)
            << wsa_name(static_cast<int>(ov->OffsetHigh));
      } else {
        EXPECT_EQ(rc, SOCKET_ERROR);
        EXPECT_TRUE(err == WSAENOTCONN || err == WSAECONNRESET || err == WSAECONNABORTED)
            << wsa_name(err);
      }
    }
  }

  // Expect: no FD_CONNECT after the close, even past the connect timeout.
  sleep_ms(2200);
  for (const Record& r : sw().records_since(closed_at)) {
    EXPECT_FALSE(r.kind == Up::SetEvent &&
                 (r.event == as_wsaevent(far.ev) || r.event == as_wsaevent(queued.ev)))
        << "FD_CONNECT signalled (seq " << r.seq << ") after WSPCloseSocket";
  }
  EXPECT_EQ(sw().cleanup(), 0);
}
