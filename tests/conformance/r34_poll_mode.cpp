/* SPDX-License-Identifier: BSD-3-Clause */
// R34: when hEvent & 1 is 1 the provider never calls WPUCompleteOverlappedRequest for the
// operation; completion is visible only through the overlapped / WSPGetOverlappedResult.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R34_PollModeNeverUpcalls) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra, rc;
  ASSERT_TRUE(make_region(k.a(), 16 * 4096, &ra));
  ASSERT_TRUE(make_region(k.c(), 16 * 4096, &rc));
  // Given: poll-mode operations whose hEvent is 1, or an odd handle value (the low bit is the
  // mode, not the whole value).
  const uintptr_t events[] = {1, 0x12341, 0xFFFF0001};
  std::vector<WSAOVERLAPPED*> all;
  for (size_t i = 0; i < 3; ++i) {
    WSAOVERLAPPED* rov = sw().new_ov(Mode::Poll);
    WSAOVERLAPPED* sov = sw().new_ov(Mode::Poll);
    rov->hEvent = sov->hEvent = reinterpret_cast<WSAEVENT>(events[i]);
    ASSERT_TRUE(recv_pending(k.a(), ra.buf + i * 4096, 4096, rov));
    ASSERT_TRUE(send_pending(k.c(), rc.buf, static_cast<ULONG>(10 + i), sov));
    // Expect: completion visible through WSPGetOverlappedResult.
    OvResult r;
    ASSERT_TRUE(wait_result(k.a(), rov, &r));
    EXPECT_TRUE(r.ok) << wsa_name(r.err);
    EXPECT_EQ(r.bytes, 10 + i);
    ASSERT_TRUE(wait_result(k.c(), sov, &r));
    EXPECT_TRUE(r.ok) << wsa_name(r.err);
    EXPECT_EQ(r.bytes, 10 + i);
    EXPECT_EQ(rov->hEvent, reinterpret_cast<WSAEVENT>(events[i])) << "provider wrote hEvent";
    all.push_back(rov);
    all.push_back(sov);
  }
  // Given: poll-mode receives aborted by a close.
  std::vector<PendingOp> aborted;
  for (int i = 0; i < 3; ++i) {
    WSAOVERLAPPED* ov = sw().new_ov(Mode::Poll);
    ASSERT_TRUE(recv_pending(k.a(), ra.buf + (8 + i) * 4096, 4096, ov));
    aborted.push_back({ov, k.a(), k.ah(), Mode::Poll});
    all.push_back(ov);
  }
  ASSERT_TRUE(close_socket(k.a()));
  EXPECT_TRUE(check_all_aborted(aborted));
  EXPECT_EQ(sw().cleanup(), 0);
  sleep_ms(50);
  // Expect: no completion upcall, ever, for any of them.
  for (size_t i = 0; i < all.size(); ++i)
    EXPECT_EQ(sw().completions_of(all[i]), 0u) << "poll-mode op #" << i << " got an upcall";
  EXPECT_EQ(sw().count(Up::CompleteOverlappedRequest), 0u);
}
