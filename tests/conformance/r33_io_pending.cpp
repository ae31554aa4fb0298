/* SPDX-License-Identifier: BSD-3-Clause */
// R33: an operation that does not finish synchronously returns SOCKET_ERROR with
// WSA_IO_PENDING and its Internal equals WSS_OPERATION_IN_PROGRESS until completion.
// Decision 3: in dpsan every accepted Send/Recv returns WSA_IO_PENDING, even when its data
// could move at once.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R33_IoPendingAndInProgressUntilCompletion) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra, rc;
  ASSERT_TRUE(make_region(k.a(), 16 * 4096, &ra));
  ASSERT_TRUE(make_region(k.c(), 16 * 4096, &rc));

  // Given: receives with garbage in Internal and no data to come yet.
  std::vector<WSAOVERLAPPED*> rovs;
  for (Mode m : {Mode::Upcall, Mode::Poll}) {
    WSAOVERLAPPED* ov = sw().new_ov(m);
    ov->Internal = 0xdeadbeef;
    ov->InternalHigh = 77;
    ASSERT_TRUE(recv_pending(k.a(), ra.buf + rovs.size() * 4096, 4096, ov));
    // Expect: in progress from the return on, and still after a while.
    EXPECT_EQ(ov->Internal, ULONG_PTR{WSS_OPERATION_IN_PROGRESS});
    rovs.push_back(ov);
  }
  sleep_ms(200);
  for (WSAOVERLAPPED* ov : rovs) EXPECT_EQ(ov->Internal, ULONG_PTR{WSS_OPERATION_IN_PROGRESS});

  // When: sends find receives posted (their data could move at once).
  // Expect: WSA_IO_PENDING all the same, and completion through section 4 only.
  for (size_t i = 0; i < rovs.size(); ++i) {
    fill_pattern(rc.buf + i * 4096, 300, static_cast<uint32_t>(i));
    WSAOVERLAPPED* sov = sw().new_ov(i ? Mode::Poll : Mode::Upcall);
    ASSERT_TRUE(send_pending(k.c(), rc.buf + i * 4096, 300, sov));
    OvResult r;
    ASSERT_TRUE(wait_result(k.a(), rovs[i], &r));
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.bytes, 300u);
    EXPECT_TRUE(check_pattern(ra.buf + i * 4096, 300, static_cast<uint32_t>(i)));
    ASSERT_TRUE(wait_result(k.c(), sov, &r));
    EXPECT_TRUE(r.ok);
  }

  // When: a message is already waiting (early buffer) when the receive is posted.
  // Expect: WSA_IO_PENDING, then the data through the completion.
  WSAOVERLAPPED* s2 = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(send_pending(k.c(), rc.buf + 8 * 4096, 64, s2));
  sleep_ms(100);
  WSAOVERLAPPED* r2 = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf + 8 * 4096, 4096, r2));
  OvResult r;
  ASSERT_TRUE(wait_result(k.a(), r2, &r));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.bytes, 64u);

  // Given: a send that must wait for a credit (too large for the early buffer).
  // Expect: WSA_IO_PENDING and Internal in progress while it waits.
  WSAOVERLAPPED* s3 = sw().new_ov(Mode::Upcall);
  s3->Internal = 0xdeadbeef;
  ASSERT_TRUE(send_pending(k.c(), rc.buf + 9 * 4096, 2048, s3));
  sleep_ms(200);
  EXPECT_EQ(s3->Internal, ULONG_PTR{WSS_OPERATION_IN_PROGRESS});
  WSAOVERLAPPED* r3 = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf + 9 * 4096, 4096, r3));
  ASSERT_TRUE(wait_result(k.c(), s3, &r));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.bytes, 2048u);
  ASSERT_TRUE(wait_result(k.a(), r3, &r));
  EXPECT_EQ(r.bytes, 2048u);
  EXPECT_EQ(sw().cleanup(), 0);
}
