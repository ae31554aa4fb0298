/* SPDX-License-Identifier: BSD-3-Clause */
// R20: right after the final WSPCleanup returns, WSPStartupEx succeeds again and a full cycle
// works (socket, bind, connect/listen, register, send/recv, close, cleanup), at least twice.
// (RDMA joins the cycle when the RDMA extensions land.)

#include "test_switch.h"

using namespace dpsan_conf;

namespace {

// One message each way in each mode.
void exchange(Conn& k, Region& ra, Region& rc) {
  struct Dir {
    SOCKET from, to;
    Region *sbuf, *rbuf;
  } dirs[] = {{k.c(), k.a(), &rc, &ra}, {k.a(), k.c(), &ra, &rc}};
  uint32_t seed = 1;
  for (auto& d : dirs) {
    for (Mode m : {Mode::Upcall, Mode::Poll}) {
      char* rbuf = d.rbuf->buf + 32 * 1024;
      char* sbuf = d.sbuf->buf;
      size_t len = 1000 + seed * 10;
      std::memset(rbuf, 0, len);
      fill_pattern(sbuf, len, seed);
      WSAOVERLAPPED* rov = sw().new_ov(m);
      WSAOVERLAPPED* sov = sw().new_ov(m);
      ASSERT_TRUE(recv_pending(d.to, rbuf, 16 * 1024, rov));
      ASSERT_TRUE(send_pending(d.from, sbuf, static_cast<ULONG>(len), sov));
      OvResult r;
      ASSERT_TRUE(wait_result(d.to, rov, &r));
      EXPECT_TRUE(r.ok) << wsa_name(r.err);
      EXPECT_EQ(r.bytes, len);
      EXPECT_TRUE(check_pattern(rbuf, len, seed));
      ASSERT_TRUE(wait_result(d.from, sov, &r));
      EXPECT_TRUE(r.ok) << wsa_name(r.err);
      EXPECT_EQ(r.bytes, len);
      ++seed;
    }
  }
}

}  // namespace

TEST(Conformance, R20_RestartAfterFinalCleanupFullCycle) {
  Session ses;
  for (int cycle = 0; cycle < 3; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    sw().reset();
    int rc0 = sw().startup();
    ASSERT_EQ(rc0, 0) << wsa_name(rc0);
    Conn k;
    ASSERT_TRUE(make_conn(&k));
    Region ra, rc;
    ASSERT_TRUE(make_region(k.a(), 64 * 1024, &ra));
    ASSERT_TRUE(make_region(k.c(), 64 * 1024, &rc));
    ASSERT_NO_FATAL_FAILURE(exchange(k, ra, rc));

    // Close like the switch: deregister, then close every socket.
    int err = 0;
    EXPECT_EQ(k.ext.dereg(k.a(), ra.h, &err), 0) << wsa_name(err);
    EXPECT_EQ(k.ext.dereg(k.c(), rc.h, &err), 0) << wsa_name(err);
    EXPECT_TRUE(close_socket(k.c()));
    EXPECT_TRUE(close_socket(k.a()));
    EXPECT_TRUE(close_socket(k.l.sock.s));

    // Expect: the instance is back to its baseline before the cleanup.
    DPSAN_STATS st{};
    auto deadline = Clock::now() + Ms(3000);
    do {
      ASSERT_TRUE(get_stats(&st));
      if (st.sockets_open == 0 && st.registrations == 0 && st.ops_in_flight == 0 &&
          st.connections == 0)
        break;
      sleep_ms(10);
    } while (Clock::now() < deadline);
    EXPECT_EQ(st.sockets_open, 0u);
    EXPECT_EQ(st.registrations, 0u);
    EXPECT_EQ(st.ops_in_flight, 0u);
    EXPECT_EQ(st.connections, 0u);

    ASSERT_EQ(sw().cleanup(&err), 0) << wsa_name(err);
    EXPECT_EQ(get_stats_raw(&st, &err), SOCKET_ERROR) << "stats answered with no instance";
    EXPECT_EQ(err, WSANOTINITIALISED) << wsa_name(err);
    EXPECT_TRUE(check_closed_once(sw().all_handles()));
    expect_no_violations();
  }
}
