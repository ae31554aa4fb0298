/* SPDX-License-Identifier: BSD-3-Clause */
// R32: Send and Recv accept lpCompletionRoutine == NULL and lpThreadId == NULL, and never queue
// APCs (no WPUQueueApc / WPUOpenCurrentThread / WPUCloseThread).
// (RdmaRead/RdmaWrite join when the RDMA extensions land.)

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R32_NullRoutineAndThreadIdNoApcs) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra, rc;
  ASSERT_TRUE(make_region(k.a(), 16 * 1024, &ra));
  ASSERT_TRUE(make_region(k.c(), 16 * 1024, &rc));
  // Given: sends and receives posted with a NULL completion routine and thread id (as the
  // helpers always do), in both modes, both directions.
  for (int i = 0; i < 4; ++i) {
    Mode m = i % 2 ? Mode::Poll : Mode::Upcall;
    bool fwd = i < 2;
    SOCKET to = fwd ? k.a() : k.c(), from = fwd ? k.c() : k.a();
    char* rb = (fwd ? ra.buf : rc.buf) + 8192;
    char* sb = fwd ? rc.buf : ra.buf;
    WSAOVERLAPPED* rov = sw().new_ov(m);
    WSAOVERLAPPED* sov = sw().new_ov(m);
    ASSERT_TRUE(recv_pending(to, rb, 4096, rov));
    ASSERT_TRUE(send_pending(from, sb, 123, sov));
    OvResult r;
    ASSERT_TRUE(wait_result(to, rov, &r));
    EXPECT_TRUE(r.ok) << wsa_name(r.err);
    ASSERT_TRUE(wait_result(from, sov, &r));
    EXPECT_TRUE(r.ok) << wsa_name(r.err);
  }
  // Given: an abort too.
  ASSERT_TRUE(recv_pending(k.a(), ra.buf, 4096, sw().new_ov(Mode::Upcall)));
  EXPECT_EQ(sw().cleanup(), 0);
  // Expect: no APC machinery was touched.
  EXPECT_EQ(sw().count(Up::QueueApc), 0u);
  EXPECT_EQ(sw().count(Up::OpenCurrentThread), 0u);
  EXPECT_EQ(sw().count(Up::CloseThread), 0u);
}
