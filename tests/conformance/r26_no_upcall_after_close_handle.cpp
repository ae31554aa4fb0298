/* SPDX-License-Identifier: BSD-3-Clause */
// R26: no upcall uses a switch handle after its WPUCloseSocketHandle.
// Test: close sockets, and run the final cleanup, while messages are in flight on them; the
// test switch flags any upcall naming a closed handle.

#include "test_switch.h"

using namespace dpsan_conf;

namespace {

struct Traffic {
  std::vector<WSAOVERLAPPED*> recvs, sends;
};

// 32 upcall-mode receives on `to`, 64 sends (both modes) of 512 bytes from `from`.
void start_traffic(SOCKET from, SOCKET to, Traffic* t) {
  Region rr, sr;
  ASSERT_TRUE(make_region(to, 32 * 1024, &rr));
  ASSERT_TRUE(make_region(from, 64 * 512, &sr));
  for (int i = 0; i < 32; ++i) {
    WSAOVERLAPPED* ov = sw().new_ov(Mode::Upcall);
    ASSERT_TRUE(recv_pending(to, rr.buf + i * 1024, 1024, ov));
    t->recvs.push_back(ov);
  }
  for (int i = 0; i < 64; ++i) {
    WSAOVERLAPPED* ov = sw().new_ov(i % 2 ? Mode::Poll : Mode::Upcall);
    int err = 0;
    int rc = post_send(from, sr.buf + i * 512, 512, ov, &err);
    ASSERT_TRUE(rc == SOCKET_ERROR && err == WSA_IO_PENDING) << wsa_name(err);
    t->sends.push_back(ov);
  }
}

}  // namespace

TEST(Conformance, R26_NoUpcallAfterCloseSocketHandle) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  // Given: traffic in flight on k.
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Traffic t;
  ASSERT_NO_FATAL_FAILURE(start_traffic(k.c(), k.a(), &t));

  // When: the receiver, then the sender, is closed mid-stream.
  ASSERT_TRUE(close_socket(k.a()));
  ASSERT_TRUE(close_socket(k.c()));
  sleep_ms(300);
  // Expect: every operation completed exactly once, none after its handle's close.
  for (WSAOVERLAPPED* ov : t.recvs) {
    EXPECT_TRUE(ov_done(ov));
    EXPECT_EQ(sw().completions_of(ov), 1u);
  }
  for (size_t i = 0; i < t.sends.size(); ++i) {
    EXPECT_TRUE(ov_done(t.sends[i])) << "send #" << i;
    EXPECT_EQ(sw().completions_of(t.sends[i]), i % 2 ? 0u : 1u) << "send #" << i;
  }
  EXPECT_TRUE(check_closed_once({k.ah(), k.ch()}));

  // Given: traffic in flight on a second pair. When: the final cleanup.
  Pair p2;
  ASSERT_TRUE(connect_pair(k.l, &p2));
  Traffic t2;
  ASSERT_NO_FATAL_FAILURE(start_traffic(p2.c.sock.s, p2.a.s, &t2));
  ASSERT_EQ(sw().cleanup(), 0);
  sleep_ms(300);

  // Expect: the last upcall of every handle is its WPUCloseSocketHandle, and the switch saw
  // no upcall naming a closed handle.
  EXPECT_TRUE(check_closed_once(sw().all_handles()));
  for (const Violation& v : sw().violations())
    EXPECT_EQ(v.what.find("R26"), std::string::npos) << v.what;
  for (WSAOVERLAPPED* ov : t2.recvs) EXPECT_TRUE(ov_done(ov));
  for (WSAOVERLAPPED* ov : t2.sends) EXPECT_TRUE(ov_done(ov));
}
