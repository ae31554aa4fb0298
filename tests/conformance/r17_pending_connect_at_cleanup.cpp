/* SPDX-License-Identifier: BSD-3-Clause */
// R17: a nonblocking connect pending at the final cleanup is aborted, with no FD_CONNECT.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R17_PendingConnectAbortedWithoutFdConnect) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  // Given: a connect to an address no SAN peer answers (its timer would fire in ~1.5 s) and a
  // connect queued at a listener that never accepts.
  Listener l;
  ASSERT_TRUE(open_listener(&l));
  Connector far, queued;
  ASSERT_TRUE(start_connect(&far, 7, "127.0.0.2"));
  ASSERT_TRUE(start_connect(&queued, l.port));
  ASSERT_TRUE(wait_event(l.ev, kWait));
  uint64_t before = sw().seq();

  // When: the final cleanup. Expect: it does not wait for the connect timer.
  auto t0 = Clock::now();
  ASSERT_EQ(sw().cleanup(), 0);
  auto took = std::chrono::duration_cast<Ms>(Clock::now() - t0).count();
  EXPECT_LT(took, 1000) << "final cleanup took " << took << " ms with a pending connect";

  // Expect: no FD_CONNECT, even after the connect timeout would have passed.
  sleep_ms(2200);
  for (const Record& r : sw().records_since(before)) {
    EXPECT_FALSE(r.kind == Up::SetEvent &&
                 (r.event == as_wsaevent(far.ev) || r.event == as_wsaevent(queued.ev)))
        << "FD_CONNECT signalled (seq " << r.seq << ") for a connect aborted by the cleanup";
  }
  EXPECT_TRUE(check_closed_once({far.sock.h, queued.sock.h, l.sock.h}));
}
