/* SPDX-License-Identifier: BSD-3-Clause */
// R57: a registration made on socket A is not accepted for a transfer on socket B unless B
// registered the same buffer too. Provider decisions: a Send/Recv buffer outside every
// registration of that socket fails with WSAEFAULT at once (nothing queued); receive buffers
// need MEM_WRITE (spec 2.16: a read-only registration allows no writes).

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R57_RegistrationValidOnlyOnItsSocket) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Pair p2;
  ASSERT_TRUE(connect_pair(k.l, &p2));
  SOCKET b = p2.c.sock.s;
  Region onA;  // registered on k.c only
  ASSERT_TRUE(make_region(k.c(), 4096, &onA));
  Region recvB;
  ASSERT_TRUE(make_region(p2.a.s, 4096, &recvB));
  WSAOVERLAPPED* rov = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(recv_pending(p2.a.s, recvB.buf, 4096, rov));
  int err = 0;

  // Expect: socket B cannot send from or receive into A's registration.
  WSAOVERLAPPED* s1 = sw().new_ov(Mode::Upcall);
  EXPECT_EQ(post_send(b, onA.buf, 64, s1, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEFAULT) << "send on B from A's buffer: " << wsa_name(err);
  WSAOVERLAPPED* r1 = sw().new_ov(Mode::Upcall);
  EXPECT_EQ(post_recv(k.a(), onA.buf, 64, r1, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEFAULT) << "receive on k.a into k.c's buffer: " << wsa_name(err);
  // ... nor deregister A's handle.
  EXPECT_EQ(k.ext.dereg(b, onA.h, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEINVAL) << "deregister A's handle on B: " << wsa_name(err);
  // Memory registered nowhere is refused too.
  char* none = sw().new_buf(4096);
  EXPECT_EQ(post_send(b, none, 64, sw().new_ov(Mode::Poll), &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEFAULT) << wsa_name(err);
  // A range that runs past the end of a registration is refused.
  EXPECT_EQ(post_send(k.c(), onA.buf + 4000, 200, sw().new_ov(Mode::Poll), &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEFAULT) << "range past the registration: " << wsa_name(err);
  sleep_ms(100);
  EXPECT_FALSE(ov_done(rov)) << "a refused send reached the peer";
  EXPECT_EQ(sw().completions_of(s1), 0u);
  EXPECT_EQ(sw().completions_of(r1), 0u);

  // When: B registers the same buffer. Expect: B may use it; A's registration is unaffected by
  // B deregistering its own.
  HANDLE hb = k.ext.reg(b, onA.buf, 4096, MEM_READWRITE, &err);
  ASSERT_NE(hb, nullptr) << wsa_name(err);
  fill_pattern(onA.buf, 64, 3);
  WSAOVERLAPPED* sov = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(send_pending(b, onA.buf, 64, sov));
  OvResult r;
  ASSERT_TRUE(wait_result(p2.a.s, rov, &r));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.bytes, 64u);
  EXPECT_TRUE(check_pattern(recvB.buf, 64, 3));
  // The send holds B's registration until it completes, maybe after the receive (R59).
  ASSERT_TRUE(wait_result(b, sov, &r));
  EXPECT_EQ(k.ext.dereg(b, hb, &err), 0) << wsa_name(err);
  Region ra;
  ASSERT_TRUE(make_region(k.a(), 4096, &ra));
  WSAOVERLAPPED* rov2 = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf, 4096, rov2));
  ASSERT_TRUE(send_pending(k.c(), onA.buf, 32, sw().new_ov(Mode::Poll)))
      << "A's registration was dropped by B's deregistration";
  ASSERT_TRUE(wait_result(k.a(), rov2, &r));
  EXPECT_EQ(r.bytes, 32u);
  EXPECT_EQ(sw().cleanup(), 0);
}

TEST(Conformance, R57_ReadOnlyRegistrationRefusedForReceive) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ro, wo;
  ASSERT_TRUE(make_region(k.a(), 4096, &ro, MEM_READ));
  ASSERT_TRUE(make_region(k.a(), 4096, &wo, MEM_WRITE));
  int err = 0;
  WSAOVERLAPPED* ov = sw().new_ov(Mode::Upcall);
  EXPECT_EQ(post_recv(k.a(), ro.buf, 4096, ov, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEFAULT) << "receive into a MEM_READ registration: " << wsa_name(err);
  // MEM_WRITE is enough to receive; MEM_READ is enough to send.
  WSAOVERLAPPED* ok = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(recv_pending(k.a(), wo.buf, 4096, ok));
  Region rc;
  ASSERT_TRUE(make_region(k.c(), 4096, &rc));
  WSAOVERLAPPED* back = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(recv_pending(k.c(), rc.buf, 4096, back));
  ASSERT_TRUE(send_pending(k.a(), ro.buf, 16, sw().new_ov(Mode::Poll)));
  OvResult r;
  ASSERT_TRUE(wait_result(k.c(), back, &r));
  EXPECT_EQ(r.bytes, 16u);
  EXPECT_EQ(sw().cleanup(), 0);
  EXPECT_EQ(sw().completions_of(ov), 0u);
}
