/* SPDX-License-Identifier: BSD-3-Clause */
// R35: when hEvent & 1 is 0 the provider calls WPUCompleteOverlappedRequest exactly once, with
// the switch handle, the error and the byte count (spec 4: OffsetHigh written before the
// upcall; spec 3.3: from the notifier thread, not the caller's). Decision 5: the provider never
// signals an overlapped's hEvent.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R35_UpcallModeCompletesExactlyOnce) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra, rc;
  ASSERT_TRUE(make_region(k.a(), 4 * 8192, &ra));
  ASSERT_TRUE(make_region(k.c(), 4 * 8192, &rc));
  Event* ov_event = sw().new_event();  // an even, real event as hEvent: must never be signalled
  const ULONG sizes[] = {1, 100, 5000};
  std::vector<std::pair<WSAOVERLAPPED*, SOCKET>> ops;
  for (size_t i = 0; i < 3; ++i) {
    WSAOVERLAPPED* rov = sw().new_ov(Mode::Upcall);
    WSAOVERLAPPED* sov = sw().new_ov(Mode::Upcall);
    if (i == 2) rov->hEvent = sov->hEvent = as_wsaevent(ov_event);
    ASSERT_TRUE(recv_pending(k.a(), ra.buf + i * 8192, 8192, rov));
    fill_pattern(rc.buf + i * 8192, sizes[i], static_cast<uint32_t>(i));
    ASSERT_TRUE(send_pending(k.c(), rc.buf + i * 8192, sizes[i], sov));
    ASSERT_TRUE(wait_done(rov)) << "receive " << i;
    ASSERT_TRUE(wait_done(sov)) << "send " << i;
    auto rr = sw().completion_for(rov);
    auto sr = sw().completion_for(sov);
    ASSERT_TRUE(rr.has_value());
    ASSERT_TRUE(sr.has_value());
    for (const auto& [r, h, what] : {std::tuple{*rr, k.ah(), "receive"},
                                     std::tuple{*sr, k.ch(), "send"}}) {
      EXPECT_EQ(r.handle, h) << what << " " << i;
      EXPECT_EQ(r.error, 0u) << what << " " << i << ": " << wsa_name(r.error);
      EXPECT_EQ(r.bytes, sizes[i]) << what << " " << i;
      EXPECT_EQ(r.ov_offset_high, 0u) << what << " " << i << ": OffsetHigh at upcall time";
      EXPECT_NE(r.tid, std::this_thread::get_id())
          << what << " " << i << ": completion upcall on the caller's thread (spec 3.3)";
    }
    EXPECT_TRUE(check_pattern(ra.buf + i * 8192, sizes[i], static_cast<uint32_t>(i)));
    // Expect: the result reads the same through WSPGetOverlappedResult.
    OvResult res = get_result(k.a(), rov);
    EXPECT_TRUE(res.ok);
    EXPECT_EQ(res.bytes, sizes[i]);
    ops.emplace_back(rov, k.a());
    ops.emplace_back(sov, k.c());
  }
  sleep_ms(100);
  for (size_t i = 0; i < ops.size(); ++i)
    EXPECT_EQ(sw().completions_of(ops[i].first), 1u) << "op #" << i;
  EXPECT_EQ(event_sets(ov_event), 0u) << "the provider signalled an overlapped's hEvent";
  EXPECT_EQ(sw().cleanup(), 0);
}
