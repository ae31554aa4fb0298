/* SPDX-License-Identifier: BSD-3-Clause */
// R62: a remote write into a MEM_READ region fails, and so does a remote read of a MEM_WRITE
// region; the operation completes with an error and the connection is aborted (provider
// decision: WSAECONNABORTED on both sides). The target memory is untouched.
// R64: a descriptor registered on connection A cannot be used by the peer of connection B.

#include "rdma_helpers.h"

using namespace dpsan_conf;

namespace {

/** The operation ends in error, the connection is aborted on both sides (a receive on each
 *  fails, later calls fail), and the refusal was counted. */
void expect_refused_and_aborted(SOCKET init, WSAOVERLAPPED* op, SOCKET target,
                                WSAOVERLAPPED* target_recv, uint64_t denied_before) {
  OvResult r;
  ASSERT_TRUE(wait_result(init, op, &r));
  EXPECT_FALSE(r.ok) << "the refused RDMA completed with success";
  EXPECT_EQ(r.err, WSAECONNABORTED) << wsa_name(r.err);
  ASSERT_TRUE(wait_result(target, target_recv, &r));
  EXPECT_FALSE(r.ok) << "the target's connection was not aborted";
  DPSAN_STATS st{};
  ASSERT_TRUE(get_stats(&st));
  EXPECT_GT(st.rdma_denied, denied_before);
}

uint64_t denied_now() {
  DPSAN_STATS st{};
  EXPECT_TRUE(get_stats(&st));
  return st.rdma_denied;
}

}  // namespace

TEST(Conformance, R62_RemoteWriteIntoReadOnlyRegionFails) {
  Session ses;
  Conn k;
  RdmaRegion ro;
  ASSERT_TRUE(rdma_setup(&k, 65536, &ro, MEM_READ, 0x5a));
  Region local, inbox;
  ASSERT_TRUE(make_region(k.c(), 65536, &local));
  ASSERT_TRUE(make_region(k.a(), 64, &inbox));
  // Reading it is allowed.
  ASSERT_TRUE(read_completes(k.ext, k.c(), local, 0, 65536, ro, 0));
  EXPECT_TRUE(all_bytes(local.buf, 65536, 0x5a));
  // Writing is not: even one byte.
  WSAOVERLAPPED* trecv = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(recv_pending(k.a(), inbox.buf, 64, trecv));
  uint64_t before = denied_now();
  fill_pattern(local.buf, 65536, 9);
  WSAOVERLAPPED* wr = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(write_pending(k.ext, k.c(), local, 0, 1, ro, 0, wr));
  ASSERT_NO_FATAL_FAILURE(expect_refused_and_aborted(k.c(), wr, k.a(), trecv, before));
  EXPECT_TRUE(all_bytes(ro.buf, ro.len, 0x5a)) << "the read-only region was written";
  int err = 0;
  EXPECT_EQ(post_send(k.c(), local.buf, 8, sw().new_ov(Mode::Poll), &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAECONNABORTED) << wsa_name(err);
  EXPECT_EQ(sw().cleanup(), 0);
}

TEST(Conformance, R62_RemoteReadOfWriteOnlyRegionFails) {
  Session ses;
  Conn k;
  RdmaRegion wo;
  ASSERT_TRUE(rdma_setup(&k, 65536, &wo, MEM_WRITE, 0));
  Region local, inbox;
  ASSERT_TRUE(make_region(k.c(), 65536, &local, MEM_READWRITE, 0x33));
  ASSERT_TRUE(make_region(k.a(), 64, &inbox));
  // Writing it is allowed.
  ASSERT_TRUE(write_completes(k.ext, k.c(), local, 0, 1000, wo, 10));
  EXPECT_TRUE(all_bytes(wo.buf + 10, 1000, 0x33));
  // Reading is not: nothing comes back into the local buffer.
  std::memset(local.buf, 0x44, 65536);
  WSAOVERLAPPED* trecv = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(recv_pending(k.a(), inbox.buf, 64, trecv));
  uint64_t before = denied_now();
  WSAOVERLAPPED* rd = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(read_pending(k.ext, k.c(), local, 0, 4096, wo, 0, rd));
  ASSERT_NO_FATAL_FAILURE(expect_refused_and_aborted(k.c(), rd, k.a(), trecv, before));
  EXPECT_TRUE(all_bytes(local.buf, 65536, 0x44)) << "bytes of the write-only region came back";
  EXPECT_EQ(sw().cleanup(), 0);
}

TEST(Conformance, R64_DescriptorOfAnotherConnectionIsRefused) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;  // connection A: k.c() <-> k.a()
  ASSERT_TRUE(make_conn(&k));
  Pair b;  // connection B: b.c <-> b.a, on the same listener (same process, same core)
  ASSERT_TRUE(connect_pair(k.l, &b));
  RdmaRegion onA;  // registered by A's accepted side: usable by k.c() only
  ASSERT_TRUE(make_rdma_region(k.ext, k.a(), 65536, &onA, MEM_READWRITE, 0x61));
  RdmaRegion onB;  // B's target has a live region in its table as well
  ASSERT_TRUE(make_rdma_region(k.ext, b.a.s, 65536, &onB, MEM_READWRITE, 0x62));
  Region localB, inboxB;
  ASSERT_TRUE(make_region(b.c.sock.s, 65536, &localB, MEM_READWRITE, 0x7e));
  ASSERT_TRUE(make_region(b.a.s, 64, &inboxB));
  WSAOVERLAPPED* trecv = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(recv_pending(b.a.s, inboxB.buf, 64, trecv));
  uint64_t before = denied_now();
  // When: B's initiator uses A's descriptor.
  WSAOVERLAPPED* wr = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(write_pending(k.ext, b.c.sock.s, localB, 0, 4096, onA, 0, wr));
  ASSERT_NO_FATAL_FAILURE(expect_refused_and_aborted(b.c.sock.s, wr, b.a.s, trecv, before));
  EXPECT_TRUE(all_bytes(onA.buf, onA.len, 0x61)) << "A's region was written through B";
  EXPECT_TRUE(all_bytes(onB.buf, onB.len, 0x62)) << "B's region was written";
  // A itself still works with it.
  Region localA;
  ASSERT_TRUE(make_region(k.c(), 4096, &localA, MEM_READWRITE, 0x0f));
  EXPECT_TRUE(write_completes(k.ext, k.c(), localA, 0, 4096, onA, 100));
  EXPECT_TRUE(all_bytes(onA.buf + 100, 4096, 0x0f));
  EXPECT_EQ(sw().cleanup(), 0);
}
