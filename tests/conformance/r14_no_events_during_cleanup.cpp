/* SPDX-License-Identifier: BSD-3-Clause */
// R14: once the final cleanup has begun, no FD_ACCEPT or FD_CONNECT is signalled, even when
// remote connect requests and connect completions race with it.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R14_NoNetworkEventSignalledOnceFinalCleanupBegan) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  // Given: a listener with three queued, unaccepted requests whose connects are pending; the
  // switch has consumed the FD_ACCEPT signal (WSPEnumNetworkEvents).
  Listener l;
  ASSERT_TRUE(open_listener(&l));
  Connector q[3];
  for (auto& c : q) ASSERT_TRUE(start_connect(&c, l.port));
  ASSERT_TRUE(wait_event(l.ev, kWait)) << "FD_ACCEPT not signalled";
  sleep_ms(50);
  WSANETWORKEVENTS ne{};
  int err = 0;
  ASSERT_EQ(P().lpWSPEnumNetworkEvents(l.sock.s, as_wsaevent(l.ev), &ne, &err), 0);
  // Given: a connection with a pending receive, so that the cleanup has an abort to make.
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra;
  ASSERT_TRUE(make_region(k.a(), 4096, &ra));
  ASSERT_TRUE(recv_pending(k.a(), ra.buf, 4096, sw().new_ov(Mode::Upcall)));
  // Given: a connect to an address no SAN peer answers (FD_CONNECT due in ~1.5 s).
  Connector far;
  ASSERT_TRUE(start_connect(&far, 9, "127.0.0.2"));
  // Given: a thread that keeps sending connect requests to the listener. The first WSPSocket
  // it sees refused because the provider is stopping marks a point after which the final
  // cleanup has certainly begun.
  std::atomic<bool> stop{false};
  std::atomic<int> racer_connects{0};
  std::atomic<uint64_t> refused_at{0};
  uint16_t port = l.port;
  std::thread racer([&] {
    for (int i = 0; i < 2000 && !stop.load(); ++i) {
      int e = 0;
      SOCKET s = P().lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, sw().tcp_protocol_info(), 0,
                                 WSA_FLAG_OVERLAPPED, &e);
      if (s == INVALID_SOCKET) {
        if (e == WSANOTINITIALISED || e == WSAENETDOWN) refused_at = sw().seq();
        break;
      }
      sockaddr_in local = make_addr("127.0.0.1", 0), peer = make_addr("127.0.0.1", port);
      Event* ev = sw().new_event();
      if (P().lpWSPBind(s, reinterpret_cast<sockaddr*>(&local), sizeof local, &e) != 0 ||
          P().lpWSPEventSelect(s, as_wsaevent(ev), FD_CONNECT, &e) != 0)
        continue;
      P().lpWSPConnect(s, reinterpret_cast<sockaddr*>(&peer), sizeof peer, nullptr, nullptr,
                       nullptr, nullptr, &e);
      racer_connects.fetch_add(1);
      std::this_thread::yield();
    }
  });
  sleep_ms(20);

  // When: the final cleanup runs while the racer connects.
  uint64_t before = sw().seq();
  ASSERT_EQ(sw().cleanup(&err), 0) << wsa_name(err);
  uint64_t after = sw().seq();
  stop = true;
  racer.join();

  // The cleanup has certainly begun at its first abort or WPUCloseSocketHandle upcall, or
  // once the racer saw a WSPSocket refused as "stopping", whichever is first.
  uint64_t begun = 0;
  for (const Record& r : sw().records_since(before)) {
    if ((r.kind == Up::CompleteOverlappedRequest && r.error == WSA_OPERATION_ABORTED) ||
        r.kind == Up::CloseSocketHandle) {
      begun = r.seq;
      break;
    }
  }
  ASSERT_NE(begun, 0u) << "the final cleanup made no abort or WPUCloseSocketHandle upcall";
  if (refused_at.load() != 0 && refused_at.load() < begun) begun = refused_at.load();

  // Wait past the far connect's timeout.
  sleep_ms(2200);
  for (const Record& r : sw().records_since(begun)) {
    EXPECT_NE(r.kind, Up::SetEvent) << "WPUSetEvent (seq " << r.seq
                                    << ") after the final cleanup began (seq " << begun
                                    << "; cleanup returned at seq " << after << ")";
  }
  EXPECT_EQ(event_sets(far.ev), 0u) << "FD_CONNECT signalled for a connect aborted by the cleanup";
  RecordProperty("racer_connects", racer_connects.load());
}
