/* SPDX-License-Identifier: BSD-3-Clause */
// R19: once the final WSPCleanup has returned, no provider thread makes another upcall or
// touches switch-owned memory (overlapped structures, buffers, events).
// Test: poison the upcall table when the cleanup returns; snapshot every overlapped and buffer;
// wait past every timer the provider had running; nothing may have changed.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R19_NothingTouchedAfterFinalCleanupReturned) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  // Given: pending receives (both modes), sends waiting for credit (both modes), a connect
  // timer running, a queued connect request.
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra;
  ASSERT_TRUE(make_region(k.a(), 8 * 4096, &ra));
  std::vector<WSAOVERLAPPED*> ovs;
  ASSERT_TRUE(recvs_pending(k.a(), ra, 4, &ovs));
  Pair p2;
  ASSERT_TRUE(connect_pair(k.l, &p2));
  Region s2;
  ASSERT_TRUE(make_region(p2.c.sock.s, 8 * 1024, &s2, MEM_READWRITE, 0x5A));
  for (int i = 0; i < 4; ++i) {
    WSAOVERLAPPED* ov = sw().new_ov(i % 2 ? Mode::Poll : Mode::Upcall);
    ASSERT_TRUE(send_pending(p2.c.sock.s, s2.buf + i * 2048, 1024, ov));
    ovs.push_back(ov);
  }
  Connector far, queued;
  ASSERT_TRUE(start_connect(&far, 11, "127.0.0.2"));
  ASSERT_TRUE(start_connect(&queued, k.l.port));
  std::vector<Event*> evs = {k.l.ev, k.p.c.ev, p2.c.ev, far.ev, queued.ev};

  // When: the final cleanup returns, the switch poisons its table and takes snapshots; the
  // receive buffers get a fresh pattern.
  ASSERT_EQ(sw().cleanup(), 0);
  sw().set_poisoned(true);
  uint64_t seq_at_return = sw().seq();
  std::vector<WSAOVERLAPPED> snap;
  for (WSAOVERLAPPED* ov : ovs) snap.push_back(*ov);
  std::memset(ra.buf, 0xC3, 8 * 4096);
  std::vector<char> send_copy(s2.buf, s2.buf + 8 * 1024);
  std::vector<uint64_t> sets;
  for (Event* e : evs) sets.push_back(event_sets(e));

  sleep_ms(2500);  // past the 1.5 s connect timeout and any retransmit or ack timer
  sw().set_poisoned(false);

  // Expect: no upcall at all, nothing written.
  auto late = sw().records_since(seq_at_return);
  EXPECT_TRUE(late.empty()) << late.size() << " upcall(s) after the final cleanup returned, first: "
                            << up_name(late.front().kind);
  for (size_t i = 0; i < ovs.size(); ++i)
    EXPECT_EQ(std::memcmp(&snap[i], ovs[i], sizeof(WSAOVERLAPPED)), 0)
        << "overlapped #" << i << " written after the final cleanup returned";
  bool recv_untouched = true;
  for (size_t i = 0; i < 8 * 4096; ++i)
    if (static_cast<unsigned char>(ra.buf[i]) != 0xC3) recv_untouched = false;
  EXPECT_TRUE(recv_untouched) << "a receive buffer was written after the final cleanup returned";
  EXPECT_EQ(std::memcmp(send_copy.data(), s2.buf, send_copy.size()), 0);
  for (size_t i = 0; i < evs.size(); ++i)
    EXPECT_EQ(event_sets(evs[i]), sets[i]) << "event #" << i << " signalled after cleanup";
}
