/* SPDX-License-Identifier: BSD-3-Clause */
// R39: WSPSend with dwFlags != 0 violates the switch contract; dpsan rejects it with WSAEINVAL
// at once, queues nothing and delivers no completion for it (Decision 3).

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R39_SendWithNonZeroFlagsRejected) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra, rc;
  ASSERT_TRUE(make_region(k.a(), 8192, &ra));
  ASSERT_TRUE(make_region(k.c(), 8192, &rc));
  WSAOVERLAPPED* rov = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf, 4096, rov));

  std::vector<WSAOVERLAPPED*> refused;
  for (DWORD flags : {DWORD{1} /* MSG_OOB */, DWORD{2}, DWORD{0x8}, DWORD{0x80000000u}}) {
    WSAOVERLAPPED* ov = sw().new_ov(Mode::Upcall);
    int err = 0;
    EXPECT_EQ(post_send(k.c(), rc.buf + 4096, 32, ov, &err, flags), SOCKET_ERROR);
    EXPECT_EQ(err, WSAEINVAL) << "flags 0x" << std::hex << flags << ": " << wsa_name(err);
    refused.push_back(ov);
  }
  sleep_ms(100);
  EXPECT_FALSE(ov_done(rov)) << "a refused send reached the peer";
  for (WSAOVERLAPPED* ov : refused) EXPECT_EQ(sw().completions_of(ov), 0u);

  // Expect: the connection is fine; the next valid send is the first message delivered.
  fill_pattern(rc.buf, 48, 5);
  ASSERT_TRUE(send_pending(k.c(), rc.buf, 48, sw().new_ov(Mode::Upcall)));
  OvResult r;
  ASSERT_TRUE(wait_result(k.a(), rov, &r));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.bytes, 48u);
  EXPECT_TRUE(check_pattern(ra.buf, 48, 5));
  EXPECT_EQ(sw().cleanup(), 0);
  for (WSAOVERLAPPED* ov : refused) EXPECT_EQ(sw().completions_of(ov), 0u);
}
