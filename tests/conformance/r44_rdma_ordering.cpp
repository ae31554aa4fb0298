/* SPDX-License-Identifier: BSD-3-Clause */
// R44: a WSPSend posted after an RDMA write or read on the same socket is not delivered to the
// peer before the RDMA's data has been placed. The send is posted at once after the RDMA, without
// waiting for its completion; when the peer's receive completes, the RDMA's bytes must be there.

#include "rdma_helpers.h"

using namespace dpsan_conf;

namespace {

constexpr size_t kLen = 4u << 20;  // many frames: the send could overtake a careless provider

/**
 * Three rounds on one connection (the caller holds the Session): k.a() posts a receive; k.c()
 * posts an RDMA write (`read` false) or read of kLen bytes of k.a()'s region, then at once a
 * 16-byte send. When the receive completes, the RDMA's bytes must be in place.
 */
void send_after_rdma(bool read) {
  Conn k;
  RdmaRegion remote;
  ASSERT_TRUE(rdma_setup(&k, kLen, &remote));
  Region local, note, inbox;
  ASSERT_TRUE(make_region(k.c(), kLen, &local));
  ASSERT_TRUE(make_region(k.c(), 64, &note, MEM_READWRITE, 'n'));
  ASSERT_TRUE(make_region(k.a(), 64, &inbox));
  // A write places local's bytes in remote, a read remote's in local.
  const char* placed = read ? local.buf : remote.buf;
  for (uint32_t round = 0; round < 3; round++) {
    SCOPED_TRACE("round " + std::to_string(round));
    uint32_t seed = (read ? 200 : 100) + round;
    if (read) {
      fill_pattern(remote.buf, kLen, seed);
      std::memset(local.buf, 0, kLen);
    } else {
      fill_pattern(local.buf, kLen, seed);
    }
    WSAOVERLAPPED* rov = sw().new_ov(Mode::Poll);
    ASSERT_TRUE(recv_pending(k.a(), inbox.buf, 64, rov));
    WSAOVERLAPPED* rdma_ov = sw().new_ov(Mode::Upcall);
    ASSERT_TRUE(read ? read_pending(k.ext, k.c(), local, 0, kLen, remote, 0, rdma_ov)
                     : write_pending(k.ext, k.c(), local, 0, kLen, remote, 0, rdma_ov));
    ASSERT_TRUE(send_pending(k.c(), note.buf, 16, sw().new_ov(Mode::Poll)));
    OvResult r;
    ASSERT_TRUE(wait_result(k.a(), rov, &r, Ms(20000)));
    ASSERT_TRUE(r.ok) << wsa_name(r.err);
    // The "transfer complete" message is here: so is every byte of the RDMA.
    EXPECT_TRUE(check_pattern(placed, kLen, seed))
        << "the send overtook the " << (read ? "read" : "write");
    ASSERT_TRUE(wait_result(k.c(), rdma_ov, &r, Ms(20000)));
    EXPECT_TRUE(r.ok) << wsa_name(r.err);
    if (read) {
      EXPECT_EQ(r.bytes, kLen);
    }
  }
}

}  // namespace

TEST(Conformance, R44_SendAfterRdmaWriteArrivesAfterItsData) {
  Session ses;
  ASSERT_NO_FATAL_FAILURE(send_after_rdma(false));
  EXPECT_EQ(sw().cleanup(), 0);
}

TEST(Conformance, R44_SendAfterRdmaReadArrivesAfterItsData) {
  Session ses;
  ASSERT_NO_FATAL_FAILURE(send_after_rdma(true));
  EXPECT_EQ(sw().cleanup(), 0);
}
