/* SPDX-License-Identifier: BSD-3-Clause */
// R66 (deviation for this milestone): WSPDuplicateSocket is not implemented yet and answers
// WSAEOPNOTSUPP, leaving the socket and its outstanding receives untouched. When duplication
// lands this test becomes the R66 check proper (receives completed with success and 0 bytes,
// non-zero dwProviderReserved, WSPSocket in the target process).

#include <unistd.h>

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R66_DuplicateSocketNotSupportedYet) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra;
  ASSERT_TRUE(make_region(k.a(), 4096, &ra));
  WSAOVERLAPPED* rov = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf, 4096, rov));
  WSAPROTOCOL_INFOW info{};
  int err = 0;
  EXPECT_EQ(P().lpWSPDuplicateSocket(k.a(), static_cast<DWORD>(getpid()), &info, &err),
            SOCKET_ERROR);
  EXPECT_EQ(err, WSAEOPNOTSUPP) << wsa_name(err);
  sleep_ms(50);
  EXPECT_FALSE(ov_done(rov)) << "a refused duplication completed a receive";
  // The socket still works.
  Region rc;
  ASSERT_TRUE(make_region(k.c(), 4096, &rc));
  ASSERT_TRUE(send_pending(k.c(), rc.buf, 10, sw().new_ov(Mode::Poll)));
  OvResult r;
  ASSERT_TRUE(wait_result(k.a(), rov, &r));
  EXPECT_EQ(r.bytes, 10u);
  EXPECT_EQ(sw().cleanup(), 0);
}
