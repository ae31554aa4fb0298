/* SPDX-License-Identifier: BSD-3-Clause */
// R23: WSPSocket calls WPUCreateSocketHandle exactly once per new socket and returns the
// provider descriptor, not the switch handle; every later upcall for the socket uses the
// switch handle.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R23_OneSwitchHandlePerSocketUsedByEveryUpcall) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  // Expect: WSPSocket makes exactly one WPUCreateSocketHandle, on the calling thread
  // (checked by new_socket), and returns a descriptor other than that handle.
  for (int i = 0; i < 5; ++i) {
    Sock s;
    ASSERT_TRUE(new_socket(&s));
    EXPECT_NE(s.s, s.h) << "WSPSocket returned the switch handle";
    EXPECT_TRUE(close_socket(s.s));
  }
  // Same for the accepted socket (one WPUCreateSocketHandle inside WSPAccept).
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  EXPECT_NE(k.a(), k.ah());
  EXPECT_NE(k.c(), k.ch());

  // Expect: completions carry the socket's switch handle.
  Region ra, rc;
  ASSERT_TRUE(make_region(k.a(), 4096, &ra));
  ASSERT_TRUE(make_region(k.c(), 4096, &rc));
  WSAOVERLAPPED* rov = sw().new_ov(Mode::Upcall);
  WSAOVERLAPPED* sov = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf, 4096, rov));
  ASSERT_TRUE(send_pending(k.c(), rc.buf, 10, sov));
  ASSERT_TRUE(wait_done(rov));
  ASSERT_TRUE(wait_done(sov));
  auto rr = sw().completion_for(rov);
  auto sr = sw().completion_for(sov);
  ASSERT_TRUE(rr && sr);
  EXPECT_EQ(rr->handle, k.ah()) << "receive completion did not use the switch handle";
  EXPECT_EQ(sr->handle, k.ch()) << "send completion did not use the switch handle";

  // Expect: the close uses the switch handle.
  EXPECT_TRUE(close_socket(k.a()));
  EXPECT_EQ(sw().count(Up::CloseSocketHandle, k.ah()), 1u);
  EXPECT_EQ(sw().count(Up::CloseSocketHandle, k.a()), 0u) << "closed the provider descriptor";
  EXPECT_EQ(sw().cleanup(), 0);

  // Expect: no upcall ever named anything but a switch handle of this test.
  for (const Record& r : sw().records()) {
    if (r.handle == INVALID_SOCKET) continue;
    EXPECT_TRUE(sw().handle_known(r.handle))
        << up_name(r.kind) << " with " << r.handle << ", not a switch handle";
  }
  EXPECT_EQ(sw().count(Up::CreateSocketHandle), 5u + 3u);
}
