/* SPDX-License-Identifier: BSD-3-Clause */
// R29: when the peer resets or disconnects, the local socket's pending receives complete with
// an error (WSAECONNRESET or WSAECONNABORTED); the socket context stays valid until
// WSPCloseSocket, and the descriptor is not freed or reused early.

#include "test_switch.h"

using namespace dpsan_conf;

namespace {
bool conn_error(DWORD e) { return e == WSAECONNRESET || e == WSAECONNABORTED; }
}  // namespace

TEST(Conformance, R29_PeerCloseFailsPendingReceives) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  // Given: receives pending on k.a in both modes.
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra;
  ASSERT_TRUE(make_region(k.a(), 8 * 4096, &ra));
  std::vector<WSAOVERLAPPED*> ovs;
  ASSERT_TRUE(recvs_pending(k.a(), ra, 4, &ovs));

  // When: the peer closes.
  ASSERT_TRUE(close_socket(k.c()));

  // Expect: each receive completes once, with WSAECONNRESET or WSAECONNABORTED.
  for (size_t i = 0; i < ovs.size(); ++i) {
    ASSERT_TRUE(wait_done(ovs[i], Ms(3000))) << "receive #" << i << " still pending";
    if (i % 2 == 0) {
      auto r = sw().completion_for(ovs[i]);
      ASSERT_TRUE(r.has_value());
      EXPECT_TRUE(conn_error(r->error)) << "receive #" << i << ": " << wsa_name(r->error);
      EXPECT_EQ(r->handle, k.ah());
      EXPECT_EQ(sw().completions_of(ovs[i]), 1u);
    } else {
      EXPECT_TRUE(conn_error(ovs[i]->OffsetHigh))
          << "receive #" << i << ": " << wsa_name(static_cast<int>(ovs[i]->OffsetHigh));
      EXPECT_EQ(sw().completions_of(ovs[i]), 0u);
      // The context is still valid: the result can be read on the socket.
      OvResult res = get_result(k.a(), ovs[i]);
      EXPECT_FALSE(res.ok);
      EXPECT_TRUE(conn_error(static_cast<DWORD>(res.err))) << wsa_name(res.err);
    }
  }

  // Expect: the descriptor still names the socket (never WSAENOTSOCK) ...
  DWORD v = 0;
  int vlen = sizeof v, err = 0;
  int rc = P().lpWSPGetSockOpt(k.a(), SOL_SOCKET, SO_MAX_MSG_SIZE, reinterpret_cast<char*>(&v),
                               &vlen, &err);
  if (rc != 0) {
    EXPECT_NE(err, WSAENOTSOCK);
  }
  // ... and a new receive fails, at once or through its completion, but not as WSAENOTSOCK.
  WSAOVERLAPPED* late = sw().new_ov(Mode::Poll);
  rc = post_recv(k.a(), ra.buf + 4 * 4096, 4096, late, &err);
  ASSERT_EQ(rc, SOCKET_ERROR);
  EXPECT_NE(err, WSAENOTSOCK);
  if (err == WSA_IO_PENDING) {
    ASSERT_TRUE(wait_done(late, Ms(3000))) << "a receive posted after the reset never completed";
    EXPECT_NE(late->OffsetHigh, 0u) << "a receive posted after the reset succeeded";
  }
  // ... and is not reused while open.
  for (int i = 0; i < 10; ++i) {
    Sock s;
    ASSERT_TRUE(new_socket(&s));
    EXPECT_NE(s.s, k.a()) << "descriptor reused before WSPCloseSocket";
  }
  EXPECT_TRUE(sw().handle_live(k.ah())) << "switch handle closed before WSPCloseSocket";

  // When: the switch closes it. Expect: the one WPUCloseSocketHandle.
  EXPECT_TRUE(close_socket(k.a()));
  EXPECT_TRUE(check_closed_once({k.ah(), k.ch()}));
  EXPECT_EQ(sw().cleanup(), 0);
}
