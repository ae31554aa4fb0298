/* SPDX-License-Identifier: BSD-3-Clause */
// R40: message boundaries are kept: each WSPRecv completion holds exactly one peer message,
// with a byte count equal to that message's length. Gathered sends are one message;
// scattered receives take one message. (Provider decision: at most 8 WSABUFs per call.)

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R40_OneMessagePerReceive) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  const ULONG sizes[] = {1, 2, 17, 255, 256, 257, 1000, 1500, 4096, 9000, 65536, 3};
  constexpr size_t kSlot = 65536 + 4096;
  constexpr size_t n = sizeof sizes / sizeof sizes[0];
  Region ra, rc;
  ASSERT_TRUE(make_region(k.a(), n * kSlot, &ra));
  ASSERT_TRUE(make_region(k.c(), n * kSlot, &rc));
  // Given: one receive per message, each larger than any message.
  std::vector<WSAOVERLAPPED*> recvs;
  for (size_t i = 0; i < n; ++i) {
    WSAOVERLAPPED* ov = sw().new_ov(i % 2 ? Mode::Poll : Mode::Upcall);
    ASSERT_TRUE(recv_pending(k.a(), ra.buf + i * kSlot, kSlot, ov));
    recvs.push_back(ov);
  }
  // When: the messages are sent back to back.
  for (size_t i = 0; i < n; ++i) {
    fill_pattern(rc.buf + i * kSlot, sizes[i], static_cast<uint32_t>(100 + i));
    ASSERT_TRUE(send_pending(k.c(), rc.buf + i * kSlot, sizes[i], sw().new_ov(Mode::Poll)));
  }
  // Expect: receive i holds exactly message i.
  for (size_t i = 0; i < n; ++i) {
    OvResult r;
    ASSERT_TRUE(wait_result(k.a(), recvs[i], &r)) << "receive " << i;
    EXPECT_TRUE(r.ok) << "receive " << i << ": " << wsa_name(r.err);
    EXPECT_EQ(r.bytes, sizes[i]) << "receive " << i;
    EXPECT_TRUE(check_pattern(ra.buf + i * kSlot, sizes[i], static_cast<uint32_t>(100 + i)))
        << "receive " << i << " does not hold message " << i;
  }

  // Gather: three buffers are one message; scatter: one message over two buffers.
  WSAOVERLAPPED* g = sw().new_ov(Mode::Poll);
  WSABUF two[2] = {{40, ra.buf}, {4096, ra.buf + 8192}};
  int err = 0;
  ASSERT_EQ(post_recv_v(k.a(), two, 2, g, &err), SOCKET_ERROR);
  ASSERT_EQ(err, WSA_IO_PENDING) << wsa_name(err);
  WSAOVERLAPPED* after = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf + 16384, 4096, after));
  fill_pattern(rc.buf, 100, 77);
  WSABUF three[3] = {{10, rc.buf}, {20, rc.buf + 10}, {70, rc.buf + 30}};
  ASSERT_EQ(post_send_v(k.c(), three, 3, sw().new_ov(Mode::Poll), &err), SOCKET_ERROR);
  ASSERT_EQ(err, WSA_IO_PENDING) << wsa_name(err);
  ASSERT_TRUE(send_pending(k.c(), rc.buf + 200, 5, sw().new_ov(Mode::Poll)));
  OvResult r;
  ASSERT_TRUE(wait_result(k.a(), g, &r));
  EXPECT_TRUE(r.ok) << wsa_name(r.err);
  EXPECT_EQ(r.bytes, 100u);
  std::vector<char> got(ra.buf, ra.buf + 40);
  got.insert(got.end(), ra.buf + 8192, ra.buf + 8192 + 60);
  EXPECT_TRUE(check_pattern(got.data(), 100, 77)) << "scatter/gather misplaced bytes";
  ASSERT_TRUE(wait_result(k.a(), after, &r));
  EXPECT_EQ(r.bytes, 5u);
  EXPECT_EQ(sw().cleanup(), 0);
}

TEST(Conformance, R40_MoreThanEightBuffersRejected) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra;
  ASSERT_TRUE(make_region(k.a(), 16 * 256, &ra));
  WSABUF nine[9];
  for (int i = 0; i < 9; ++i) nine[i] = WSABUF{256, ra.buf + i * 256};
  int err = 0;
  WSAOVERLAPPED* ov = sw().new_ov(Mode::Upcall);
  EXPECT_EQ(post_recv_v(k.a(), nine, 9, ov, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEINVAL) << wsa_name(err);
  EXPECT_EQ(post_send_v(k.a(), nine, 9, sw().new_ov(Mode::Upcall), &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEINVAL) << wsa_name(err);
  // Eight is fine.
  EXPECT_EQ(post_recv_v(k.a(), nine, 8, sw().new_ov(Mode::Poll), &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSA_IO_PENDING) << wsa_name(err);
  EXPECT_EQ(sw().cleanup(), 0);
  EXPECT_EQ(sw().completions_of(ov), 0u);
}
