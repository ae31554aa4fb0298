/* SPDX-License-Identifier: BSD-3-Clause */
// R38: Send and Recv are never refused with WSAEWOULDBLOCK just because WSPEventSelect made the
// socket nonblocking. Decision 8: a send that finds no peer credit stays pending; nothing is
// lost.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R38_NoWouldBlockOnEventSelectedSockets) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  // Given: a connection whose connecting side went through WSPEventSelect(FD_CONNECT).
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  constexpr int kMsgs = 64;
  constexpr ULONG kLen = 1000;
  Region ra, rc;
  ASSERT_TRUE(make_region(k.a(), kMsgs * 1024, &ra));
  ASSERT_TRUE(make_region(k.c(), kMsgs * 1024, &rc));

  // When: 64 sends with no receive posted at the peer.
  std::vector<WSAOVERLAPPED*> sends;
  for (int i = 0; i < kMsgs; ++i) {
    fill_pattern(rc.buf + i * 1024, kLen, static_cast<uint32_t>(i));
    WSAOVERLAPPED* ov = sw().new_ov(i % 2 ? Mode::Poll : Mode::Upcall);
    int err = 0;
    int rc0 = post_send(k.c(), rc.buf + i * 1024, kLen, ov, &err);
    // Expect: accepted as pending, never WSAEWOULDBLOCK.
    ASSERT_EQ(rc0, SOCKET_ERROR);
    ASSERT_NE(err, WSAEWOULDBLOCK) << "send #" << i;
    ASSERT_EQ(err, WSA_IO_PENDING) << "send #" << i << ": " << wsa_name(err);
    sends.push_back(ov);
  }
  // Also a receive on the event-selected socket.
  WSAOVERLAPPED* back = sw().new_ov(Mode::Poll);
  int err = 0;
  ASSERT_EQ(post_recv(k.c(), rc.buf, 64, back, &err), SOCKET_ERROR);
  ASSERT_EQ(err, WSA_IO_PENDING) << wsa_name(err);

  // When: the peer posts receives. Expect: every message arrives once, in order, intact, and
  // every send succeeds.
  std::vector<WSAOVERLAPPED*> recvs;
  for (int i = 0; i < kMsgs; ++i) {
    WSAOVERLAPPED* ov = sw().new_ov(i % 2 ? Mode::Upcall : Mode::Poll);
    ASSERT_TRUE(recv_pending(k.a(), ra.buf + i * 1024, 1024, ov)) << "receive #" << i;
    recvs.push_back(ov);
  }
  for (int i = 0; i < kMsgs; ++i) {
    OvResult r;
    ASSERT_TRUE(wait_result(k.a(), recvs[i], &r)) << "receive #" << i;
    EXPECT_TRUE(r.ok) << "receive #" << i << ": " << wsa_name(r.err);
    EXPECT_EQ(r.bytes, kLen) << "receive #" << i;
    EXPECT_TRUE(check_pattern(ra.buf + i * 1024, kLen, static_cast<uint32_t>(i)))
        << "receive #" << i << " holds the wrong message";
  }
  for (int i = 0; i < kMsgs; ++i) {
    OvResult r;
    ASSERT_TRUE(wait_result(k.c(), sends[i], &r)) << "send #" << i;
    EXPECT_TRUE(r.ok) << "send #" << i << ": " << wsa_name(r.err);
    EXPECT_EQ(r.bytes, kLen);
  }
  EXPECT_EQ(sw().cleanup(), 0);
}
