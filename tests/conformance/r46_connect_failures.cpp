/* SPDX-License-Identifier: BSD-3-Clause */
// R46: a connect to a peer where nothing listens fails with WSAECONNRESET or WSAECONNREFUSED;
// a connect to an address with no SAN-capable peer fails with WSAETIMEDOUT, never
// WSAEHOSTUNREACH, WSAECONNRESET or WSAECONNREFUSED (so the switch falls back to TCP).
// Provider decisions: 127.0.0.1 on an idle port -> WSAECONNREFUSED; 127.0.0.2 (not served) ->
// WSAETIMEDOUT after DPSAN_CONNECT_TIMEOUT_MS (1500 in this suite).

#include <cstdlib>

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R46_ConnectFailureCodesKeepTheFallback) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  // Given: a served address, a port where nothing listens.
  Connector c1;
  ASSERT_TRUE(start_connect(&c1, next_port()));
  int fd_err = 0;
  ASSERT_TRUE(wait_connect(c1, &fd_err));
  EXPECT_TRUE(fd_err == WSAECONNREFUSED || fd_err == WSAECONNRESET) << wsa_name(fd_err);
  EXPECT_EQ(fd_err, WSAECONNREFUSED) << "provider decision";

  // Given: an address no SAN peer answers.
  auto t0 = Clock::now();
  Connector c2;
  ASSERT_TRUE(start_connect(&c2, next_port(), "127.0.0.2"));
  ASSERT_TRUE(wait_connect(c2, &fd_err, Ms(8000)));
  auto ms = std::chrono::duration_cast<Ms>(Clock::now() - t0).count();
  EXPECT_EQ(fd_err, WSAETIMEDOUT) << wsa_name(fd_err);
  EXPECT_NE(fd_err, WSAEHOSTUNREACH);
  const char* env = std::getenv("DPSAN_CONNECT_TIMEOUT_MS");
  if (env != nullptr && std::atoi(env) > 0) {
    long want = std::atoi(env);
    EXPECT_GE(ms, want - 100) << "timed out after " << ms << " ms, configured " << want;
    EXPECT_LE(ms, want + 2000) << "timed out after " << ms << " ms, configured " << want;
  }
  RecordProperty("timeout_ms", static_cast<int>(ms));
  EXPECT_EQ(sw().cleanup(), 0);
}
