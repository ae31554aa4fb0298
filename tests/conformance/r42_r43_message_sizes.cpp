/* SPDX-License-Identifier: BSD-3-Clause */
// R42 (messages): SO_MAX_MSG_SIZE is honoured: every WSPSend up to that size works; a larger one
// is refused with WSAEMSGSIZE (provider decision: SO_MAX_MSG_SIZE = 1 MiB).
// R43: WSPGetSockOpt(SO_RDMA_THRESHOLD_SIZE) returns a DWORD, and the provider still works when
// the switch uses another threshold (sends of any size up to SO_MAX_MSG_SIZE).
// (The RDMA halves of R42/R43 join when the RDMA extensions land.)

#include "test_switch.h"

using namespace dpsan_conf;

namespace {

void send_and_check(Conn& k, Region& ra, Region& rc, size_t len, uint32_t seed) {
  SCOPED_TRACE("message of " + std::to_string(len) + " bytes");
  WSAOVERLAPPED* rov = sw().new_ov(Mode::Poll);
  WSAOVERLAPPED* sov = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf, static_cast<ULONG>(ra.len), rov));
  fill_pattern(rc.buf, len, seed);
  ASSERT_TRUE(send_pending(k.c(), rc.buf, static_cast<ULONG>(len), sov));
  OvResult r;
  ASSERT_TRUE(wait_result(k.a(), rov, &r, Ms(10000)));
  EXPECT_TRUE(r.ok) << wsa_name(r.err);
  EXPECT_EQ(r.bytes, len);
  EXPECT_TRUE(check_pattern(ra.buf, len, seed)) << "payload corrupted";
  ASSERT_TRUE(wait_result(k.c(), sov, &r, Ms(10000)));
  EXPECT_TRUE(r.ok) << wsa_name(r.err);
  EXPECT_EQ(r.bytes, len);
}

}  // namespace

TEST(Conformance, R42_MaxMsgSizeHonoured) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  DWORD max = 0;
  DWORD v = 0;
  int len = sizeof v, err = 0;
  ASSERT_EQ(P().lpWSPGetSockOpt(k.c(), SOL_SOCKET, SO_MAX_MSG_SIZE, reinterpret_cast<char*>(&v),
                                &len, &err),
            0)
      << wsa_name(err);
  EXPECT_EQ(len, int{sizeof(DWORD)});
  max = v;
  EXPECT_EQ(max, 1048576u) << "provider decision: SO_MAX_MSG_SIZE = 1 MiB";
  ASSERT_GT(max, 0u);
  ASSERT_LE(max, 64u * 1024 * 1024) << "unexpectedly large SO_MAX_MSG_SIZE";
  Region ra, rc;
  ASSERT_TRUE(make_region(k.a(), max + 4096, &ra));
  ASSERT_TRUE(make_region(k.c(), size_t{max} + 1, &rc));
  // Expect: messages up to and including SO_MAX_MSG_SIZE go through intact.
  ASSERT_NO_FATAL_FAILURE(send_and_check(k, ra, rc, max, 1));
  ASSERT_NO_FATAL_FAILURE(send_and_check(k, ra, rc, max - 1, 2));
  // Expect: one byte more is refused at once with WSAEMSGSIZE and nothing is sent.
  WSAOVERLAPPED* rov = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf, static_cast<ULONG>(ra.len), rov));
  WSAOVERLAPPED* big = sw().new_ov(Mode::Upcall);
  EXPECT_EQ(post_send(k.c(), rc.buf, max + 1, big, &err), SOCKET_ERROR);
  EXPECT_EQ(err, WSAEMSGSIZE) << wsa_name(err);
  sleep_ms(100);
  EXPECT_FALSE(ov_done(rov)) << "the refused message was delivered";
  EXPECT_EQ(sw().completions_of(big), 0u);
  EXPECT_EQ(sw().cleanup(), 0);
}

TEST(Conformance, R43_RdmaThresholdIsOnlyAPreference) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  DWORD thr = 0, max = 0, rdma_max = 0;
  DWORD v = 0;
  int len = sizeof v, err = 0;
  ASSERT_EQ(P().lpWSPGetSockOpt(k.c(), SOL_SOCKET, SO_RDMA_THRESHOLD_SIZE,
                                reinterpret_cast<char*>(&v), &len, &err),
            0)
      << wsa_name(err);
  EXPECT_EQ(len, int{sizeof(DWORD)});
  thr = v;
  ASSERT_TRUE(get_opt_dword(k.c(), SO_MAX_MSG_SIZE, &max));
  ASSERT_TRUE(get_opt_dword(k.c(), SO_MAX_RDMA_SIZE, &rdma_max));
  EXPECT_EQ(rdma_max, 16u * 1024 * 1024) << "provider decision: SO_MAX_RDMA_SIZE = 16 MiB";
  ASSERT_GT(max, 0u);
  ASSERT_LE(max, 64u * 1024 * 1024);
  RecordProperty("rdma_threshold", static_cast<int>(thr));
  Region ra, rc;
  ASSERT_TRUE(make_region(k.a(), max + 4096, &ra));
  ASSERT_TRUE(make_region(k.c(), max, &rc));
  // When: the switch ignores the preference and sends sizes around and above it by WSPSend.
  std::vector<size_t> sizes;
  for (size_t s : {size_t{thr} - 1, size_t{thr}, size_t{thr} + 1, 2 * size_t{thr} + 3,
                   size_t{max} / 2, size_t{max}})
    if (s >= 1 && s <= max) sizes.push_back(s);
  uint32_t seed = 10;
  for (size_t s : sizes) ASSERT_NO_FATAL_FAILURE(send_and_check(k, ra, rc, s, seed++));
  EXPECT_EQ(sw().cleanup(), 0);
}
