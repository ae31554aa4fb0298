/* SPDX-License-Identifier: BSD-3-Clause */
// Self-test of the recording test switch: it must flag the violations the rule tests rely on
// it to flag. Drives the upcall table directly; no provider call is made.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(TestSwitchSelfTest, FlagsUpcallViolations) {
  sw().drain();
  sw().reset();
  WSPUPCALLTABLEEX* t = sw().table(0);
  int err = 0;
  auto expect_violation = [](const char* needle, const char* what) {
    std::string v = sw().take_unreported_violations();
    EXPECT_NE(v.find(needle), std::string::npos) << what << " not flagged; got:\n" << v;
  };

  SOCKET h = t->lpWPUCreateSocketHandle(0, 42, &err);
  EXPECT_GE(h, kHandleBase);
  DWORD_PTR ctx = 0;
  EXPECT_EQ(t->lpWPUQuerySocketHandleContext(h, &ctx, &err), 0);
  EXPECT_EQ(ctx, 42u);

  // Upcall mode completion: InternalHigh then Internal are written.
  WSAOVERLAPPED* ov = sw().new_ov(Mode::Upcall);
  ov->Internal = WSS_OPERATION_IN_PROGRESS;
  EXPECT_EQ(t->lpWPUCompleteOverlappedRequest(h, ov, 0, 17, &err), 0);
  EXPECT_TRUE(ov_done(ov));
  EXPECT_EQ(ov->InternalHigh, 17u);
  EXPECT_EQ(sw().take_unreported_violations(), "");
  // Twice: flagged.
  t->lpWPUCompleteOverlappedRequest(h, ov, 0, 17, &err);
  expect_violation("more than once", "double completion");
  // Poll-mode overlapped: flagged (R34).
  WSAOVERLAPPED* pov = sw().new_ov(Mode::Poll);
  t->lpWPUCompleteOverlappedRequest(h, pov, 0, 1, &err);
  expect_violation("R34", "upcall for a poll-mode op");
  // Unknown overlapped: flagged, not written.
  WSAOVERLAPPED stray{};
  stray.Internal = WSS_OPERATION_IN_PROGRESS;
  t->lpWPUCompleteOverlappedRequest(h, &stray, 0, 1, &err);
  expect_violation("never posted", "unknown overlapped");
  EXPECT_EQ(stray.Internal, ULONG_PTR{WSS_OPERATION_IN_PROGRESS});
  // Close, then use: flagged (R26); close twice: flagged.
  EXPECT_EQ(t->lpWPUCloseSocketHandle(h, &err), 0);
  t->lpWPUCompleteOverlappedRequest(h, sw().new_ov(Mode::Upcall), 0, 1, &err);
  expect_violation("R26", "completion after close");
  EXPECT_EQ(t->lpWPUCloseSocketHandle(h, &err), SOCKET_ERROR);
  expect_violation("second time", "double close");
  EXPECT_EQ(t->lpWPUCloseSocketHandle(0x1234, &err), SOCKET_ERROR);
  expect_violation("not a switch handle", "unknown handle");
  // Events: signalled and reset only through the upcalls; unknown events flagged.
  Event* ev = sw().new_event();
  EXPECT_TRUE(t->lpWPUSetEvent(as_wsaevent(ev), &err));
  EXPECT_TRUE(wait_event(ev, Ms(10)));
  EXPECT_TRUE(t->lpWPUResetEvent(as_wsaevent(ev), &err));
  EXPECT_FALSE(event_signalled(ev));
  Event other;
  EXPECT_FALSE(t->lpWPUSetEvent(as_wsaevent(&other), &err));
  expect_violation("not an event", "unknown event");
  // Forbidden upcalls.
  t->lpWPUCreateEvent(&err);
  expect_violation("Decision 5", "WPUCreateEvent");
  t->lpWPUQueueApc(nullptr, nullptr, 0, &err);
  expect_violation("R32", "WPUQueueApc");
  // Poisoned: any upcall flagged (R19).
  sw().set_poisoned(true);
  t->lpWPUSetEvent(as_wsaevent(ev), &err);
  sw().set_poisoned(false);
  expect_violation("R19", "upcall while poisoned");
  // Table 1 records as table 1.
  sw().table(1)->lpWPUSetEvent(as_wsaevent(ev), &err);
  auto recs = sw().records_of(Up::SetEvent);
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs.back().table, 1);
  sw().reset();
}
