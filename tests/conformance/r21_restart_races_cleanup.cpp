/* SPDX-License-Identifier: BSD-3-Clause */
// R21: a re-startup issued while the previous final cleanup is still running in another
// thread is serialized after it and never sees half-torn-down global state.
// Test: two threads each run startup / use / cleanup cycles at once, so that each thread's
// startups race the other's final cleanups. No crash; every call succeeds; the counts agree.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R21_StartupRacingFinalCleanupIsSerialized) {
  Session ses;
  constexpr int kIters = 20;
  std::mutex m;
  std::vector<std::string> problems;
  std::atomic<int> startups{0}, cleanups{0};
  std::atomic<bool> go{false};
  auto note = [&](int id, int i, const std::string& what) {
    std::lock_guard<std::mutex> lk(m);
    problems.push_back("thread " + std::to_string(id) + " iteration " + std::to_string(i) + ": " +
                       what);
  };
  auto worker = [&](int id) {
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < kIters; ++i) {
      int rc = sw().startup();
      if (rc != 0) {
        note(id, i, "WSPStartupEx returned " + wsa_name(rc));
        continue;
      }
      startups.fetch_add(1);
      // The instance must be fully usable while this thread holds a count.
      Listener l;
      Pair p;
      auto r = open_listener(&l);
      if (r) r = connect_pair(l, &p);
      if (r) r = close_socket(p.a.s);
      if (r) r = close_socket(p.c.sock.s);
      if (r) r = close_socket(l.sock.s);
      if (!r) note(id, i, r.message());
      int err = 0;
      rc = sw().cleanup(&err);
      if (rc != 0)
        note(id, i, "WSPCleanup failed: " + wsa_name(err));
      else
        cleanups.fetch_add(1);
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  go = true;
  a.join();
  b.join();

  for (const auto& p : problems) ADD_FAILURE() << p;
  EXPECT_EQ(startups.load(), 2 * kIters);
  EXPECT_EQ(cleanups.load(), startups.load());
  // Expect: the count is back to 0.
  int err = 0;
  EXPECT_EQ(sw().cleanup(&err), SOCKET_ERROR);
  EXPECT_EQ(err, WSANOTINITIALISED) << wsa_name(err);
  // Expect: every handle the provider created was closed exactly once.
  EXPECT_EQ(sw().handles_live(), 0u);
  EXPECT_EQ(sw().count(Up::CloseSocketHandle), sw().count(Up::CreateSocketHandle));
  EXPECT_TRUE(check_closed_once(sw().all_handles()));
}
