/* SPDX-License-Identifier: BSD-3-Clause */
// R44: a WSPSend posted after an RDMA write or read on the same socket is not delivered to the
// peer before the RDMA's data has been placed. The send is posted at once after the RDMA, without
// waiting for its completion; when the peer's receive completes, the RDMA's bytes must be there.

#include "rdma_helpers.h"

using namespace dpsan_conf;

namespace {
constexpr size_t kLen = 4u << 20;  // many frames: the send could overtake a careless provider
}

TEST(Conformance, R44_SendAfterRdmaWriteArrivesAfterItsData) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region local, note, inbox;
  ASSERT_TRUE(make_region(k.c(), kLen, &local));
  ASSERT_TRUE(make_region(k.c(), 64, &note, MEM_READWRITE, 'n'));
  ASSERT_TRUE(make_region(k.a(), 64, &inbox));
  RdmaRegion remote;
  ASSERT_TRUE(make_rdma_region(k.ext, k.a(), kLen, &remote));
  for (uint32_t round = 0; round < 3; round++) {
    SCOPED_TRACE("round " + std::to_string(round));
    WSAOVERLAPPED* rov = sw().new_ov(Mode::Poll);
    ASSERT_TRUE(recv_pending(k.a(), inbox.buf, 64, rov));
    fill_pattern(local.buf, kLen, 100 + round);
    WSAOVERLAPPED* wov = sw().new_ov(Mode::Upcall);
    ASSERT_TRUE(write_pending(k.ext, k.c(), local, 0, kLen, remote, 0, wov));
    ASSERT_TRUE(send_pending(k.c(), note.buf, 16, sw().new_ov(Mode::Poll)));
    OvResult r;
    ASSERT_TRUE(wait_result(k.a(), rov, &r, Ms(20000)));
    ASSERT_TRUE(r.ok) << wsa_name(r.err);
    // The "transfer complete" message is here: so is every byte of the write.
    EXPECT_TRUE(check_pattern(remote.buf, kLen, 100 + round)) << "the send overtook the write";
    ASSERT_TRUE(wait_result(k.c(), wov, &r, Ms(20000)));
    EXPECT_TRUE(r.ok) << wsa_name(r.err);
  }
  EXPECT_EQ(sw().cleanup(), 0);
}

TEST(Conformance, R44_SendAfterRdmaReadArrivesAfterItsData) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region local, note, inbox;
  ASSERT_TRUE(make_region(k.c(), kLen, &local));
  ASSERT_TRUE(make_region(k.c(), 64, &note, MEM_READWRITE, 'n'));
  ASSERT_TRUE(make_region(k.a(), 64, &inbox));
  RdmaRegion remote;
  ASSERT_TRUE(make_rdma_region(k.ext, k.a(), kLen, &remote));
  for (uint32_t round = 0; round < 3; round++) {
    SCOPED_TRACE("round " + std::to_string(round));
    fill_pattern(remote.buf, kLen, 200 + round);
    std::memset(local.buf, 0, kLen);
    WSAOVERLAPPED* rov = sw().new_ov(Mode::Poll);
    ASSERT_TRUE(recv_pending(k.a(), inbox.buf, 64, rov));
    WSAOVERLAPPED* rdov = sw().new_ov(Mode::Upcall);
    ASSERT_TRUE(read_pending(k.ext, k.c(), local, 0, kLen, remote, 0, rdov));
    ASSERT_TRUE(send_pending(k.c(), note.buf, 16, sw().new_ov(Mode::Poll)));
    OvResult r;
    ASSERT_TRUE(wait_result(k.a(), rov, &r, Ms(20000)));
    ASSERT_TRUE(r.ok) << wsa_name(r.err);
    // The peer has the message: the read's data is already in the initiator's buffer.
    EXPECT_TRUE(check_pattern(local.buf, kLen, 200 + round)) << "the send overtook the read";
    ASSERT_TRUE(wait_result(k.c(), rdov, &r, Ms(20000)));
    EXPECT_TRUE(r.ok) << wsa_name(r.err);
    EXPECT_EQ(r.bytes, kLen);
  }
  EXPECT_EQ(sw().cleanup(), 0);
}
