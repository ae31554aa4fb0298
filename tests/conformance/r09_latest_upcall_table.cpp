/* SPDX-License-Identifier: BSD-3-Clause */
// R9: after a second WSPStartupEx with a different upcall table, every later upcall goes
// through the most recent table.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R9_MostRecentUpcallTableIsUsed) {
  Session ses;
  // Given: started with table 0, a connection, a pending upcall-mode receive.
  ASSERT_EQ(sw().startup(MAKEWORD(2, 2), 0), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra, rc;
  ASSERT_TRUE(make_region(k.a(), 8192, &ra));
  ASSERT_TRUE(make_region(k.c(), 8192, &rc));
  WSAOVERLAPPED* rov = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf, 4096, rov));

  // When: a second startup supplies table 1.
  ASSERT_EQ(sw().startup(MAKEWORD(2, 2), 1), 0);
  uint64_t mark = sw().seq();

  // ... and traffic, a new connection and closes follow.
  WSAOVERLAPPED* sov = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(send_pending(k.c(), rc.buf, 64, sov));
  ASSERT_TRUE(sw().wait_for([&](const Record& r) { return r.ov == rov; }, kWait, mark));
  ASSERT_TRUE(sw().wait_for([&](const Record& r) { return r.ov == sov; }, kWait, mark));
  Pair p2;
  ASSERT_TRUE(connect_pair(k.l, &p2));
  EXPECT_TRUE(close_socket(p2.a.s));
  EXPECT_TRUE(close_socket(p2.c.sock.s));
  EXPECT_EQ(sw().cleanup(), 0);  // not final
  WSAOVERLAPPED* rov2 = sw().new_ov(Mode::Upcall);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf + 4096, 4096, rov2));
  EXPECT_EQ(sw().cleanup(), 0);  // final: aborts rov2, closes the rest

  // Expect: every upcall after the second startup came through table 1, and there were some
  // of each kind we caused.
  auto recs = sw().records_since(mark);
  size_t kinds[static_cast<int>(Up::kCount)] = {};
  for (const Record& r : recs) {
    EXPECT_EQ(r.table, 1) << up_name(r.kind) << " (seq " << r.seq << ") used upcall table "
                          << r.table;
    ++kinds[static_cast<int>(r.kind)];
  }
  EXPECT_GE(kinds[static_cast<int>(Up::CompleteOverlappedRequest)], 3u);
  EXPECT_GE(kinds[static_cast<int>(Up::CreateSocketHandle)], 2u);
  EXPECT_GE(kinds[static_cast<int>(Up::SetEvent)], 2u);
  EXPECT_GE(kinds[static_cast<int>(Up::CloseSocketHandle)], 5u);
}
