/* SPDX-License-Identifier: BSD-3-Clause */
// R41: on a just-accepted connection, messages of up to 256 bytes that arrive before any
// receive is posted do not drop the connection; they are delivered in order, one per receive,
// to the receives posted later. Decision 8 (provider bounds): up to 4 such messages are kept;
// a larger message, or more, waits at the sender (its send stays pending) until receives are
// posted; nothing is lost.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R41_EarlyMessagesKeptAndDeliveredInOrder) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  // Given: a just-accepted connection; the acceptor has posted nothing.
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra, rc;
  ASSERT_TRUE(make_region(k.a(), 16 * 1024, &ra));
  ASSERT_TRUE(make_region(k.c(), 16 * 1024, &rc));

  // When: the connector sends 4 small messages at once (like the session negotiation).
  const ULONG early[] = {1, 100, 200, 256};
  for (int i = 0; i < 4; ++i) {
    fill_pattern(rc.buf + i * 1024, early[i], static_cast<uint32_t>(i));
    ASSERT_TRUE(send_pending(k.c(), rc.buf + i * 1024, early[i], sw().new_ov(Mode::Poll)));
  }
  sleep_ms(300);

  // Expect: the connection is alive and the messages come out in order, one per receive.
  for (int i = 0; i < 4; ++i) {
    WSAOVERLAPPED* ov = sw().new_ov(i % 2 ? Mode::Poll : Mode::Upcall);
    ASSERT_TRUE(recv_pending(k.a(), ra.buf + i * 1024, 1024, ov)) << "receive " << i;
    OvResult r;
    ASSERT_TRUE(wait_result(k.a(), ov, &r)) << "early message " << i << " was lost";
    EXPECT_TRUE(r.ok) << "receive " << i << ": " << wsa_name(r.err);
    EXPECT_EQ(r.bytes, early[i]) << "receive " << i;
    EXPECT_TRUE(check_pattern(ra.buf + i * 1024, early[i], static_cast<uint32_t>(i)))
        << "receive " << i << " holds the wrong message";
  }

  // When: more than the buffer holds: 6 x 200 bytes, then one of 300 bytes, nothing posted.
  std::vector<WSAOVERLAPPED*> sends;
  std::vector<ULONG> lens = {200, 200, 200, 200, 200, 200, 300};
  for (size_t i = 0; i < lens.size(); ++i) {
    fill_pattern(rc.buf + i * 1024, lens[i], static_cast<uint32_t>(50 + i));
    WSAOVERLAPPED* ov = sw().new_ov(Mode::Poll);
    ASSERT_TRUE(send_pending(k.c(), rc.buf + i * 1024, lens[i], ov));
    sends.push_back(ov);
  }
  sleep_ms(300);
  // Expect: what does not fit waits at the sender.
  for (size_t i = 4; i < sends.size(); ++i)
    EXPECT_FALSE(ov_done(sends[i])) << "send " << i << " completed with no receive posted "
                                    << "beyond the early-message buffer";
  // When: receives are posted. Expect: all 7 in order, every send succeeds.
  for (size_t i = 0; i < lens.size(); ++i) {
    WSAOVERLAPPED* ov = sw().new_ov(Mode::Poll);
    ASSERT_TRUE(recv_pending(k.a(), ra.buf + (4 + i) * 1024, 1024, ov));
    OvResult r;
    ASSERT_TRUE(wait_result(k.a(), ov, &r)) << "message " << i << " lost";
    EXPECT_TRUE(r.ok) << wsa_name(r.err);
    EXPECT_EQ(r.bytes, lens[i]) << "receive " << i;
    EXPECT_TRUE(check_pattern(ra.buf + (4 + i) * 1024, lens[i], static_cast<uint32_t>(50 + i)))
        << "receive " << i << " holds the wrong message";
  }
  for (size_t i = 0; i < sends.size(); ++i) {
    OvResult r;
    ASSERT_TRUE(wait_result(k.c(), sends[i], &r)) << "send " << i;
    EXPECT_TRUE(r.ok) << "send " << i << ": " << wsa_name(r.err);
  }
  EXPECT_EQ(sw().cleanup(), 0);
}
