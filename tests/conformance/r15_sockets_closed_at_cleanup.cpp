/* SPDX-License-Identifier: BSD-3-Clause */
// R15: every socket open at the final cleanup is reset and freed as if WSPCloseSocket had been
// called: its switch handle gets exactly one WPUCloseSocketHandle, as its last upcall, and its
// descriptor answers WSAENOTSOCK from then on.
// (The reset as seen by a *remote* provider needs two processes over a shared port, which the
// embedded loopback does not give; in-process peers end as WSA_OPERATION_ABORTED, see R12.)

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R15_OpenSocketsClosedByFinalCleanup) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  // Given: sockets in every state: listening, connected (with a pending op), connecting,
  // bound, fresh.
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra;
  ASSERT_TRUE(make_region(k.a(), 4096, &ra));
  WSAOVERLAPPED* ov = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf, 4096, ov));
  Connector queued;
  ASSERT_TRUE(start_connect(&queued, k.l.port));
  Sock bound, fresh;
  ASSERT_TRUE(new_socket(&bound));
  ASSERT_TRUE(new_socket(&fresh));
  int err = 0;
  sockaddr_in a = make_addr("127.0.0.1", next_port());
  ASSERT_EQ(P().lpWSPBind(bound.s, reinterpret_cast<sockaddr*>(&a), sizeof a, &err), 0);
  std::vector<Sock> all = {k.l.sock, k.p.c.sock, k.p.a, queued.sock, bound, fresh};
  ASSERT_EQ(sw().handles_created(), all.size());

  // When: the final cleanup.
  ASSERT_EQ(sw().cleanup(&err), 0) << wsa_name(err);

  // Expect: one WPUCloseSocketHandle per socket, each the handle's last upcall, after the abort.
  std::vector<SOCKET> hs;
  for (const Sock& s : all) hs.push_back(s.h);
  EXPECT_TRUE(check_closed_once(hs));
  EXPECT_TRUE(check_all_aborted({{ov, k.a(), k.ah(), Mode::Upcall}}));
  // Expect: every old descriptor answers WSAENOTSOCK, before and after a re-startup.
  auto expect_notsock = [&](const char* when) {
    for (const Sock& s : all) {
      DWORD v = 0;
      int len = sizeof v;
      int e = 0;
      EXPECT_EQ(P().lpWSPGetSockOpt(s.s, SOL_SOCKET, SO_MAX_MSG_SIZE,
                                    reinterpret_cast<char*>(&v), &len, &e),
                SOCKET_ERROR);
      EXPECT_EQ(e, WSAENOTSOCK) << when << ": WSPGetSockOpt: " << wsa_name(e);
      e = 0;
      EXPECT_EQ(P().lpWSPCloseSocket(s.s, &e), SOCKET_ERROR);
      EXPECT_EQ(e, WSAENOTSOCK) << when << ": WSPCloseSocket: " << wsa_name(e);
    }
  };
  expect_notsock("after the final cleanup");
  ASSERT_EQ(sw().startup(), 0);
  Sock n1, n2;
  ASSERT_TRUE(new_socket(&n1));
  ASSERT_TRUE(new_socket(&n2));
  expect_notsock("after a re-startup");
  EXPECT_EQ(sw().cleanup(), 0);
  EXPECT_EQ(sw().count(Up::CloseSocketHandle), all.size() + 2);
}
