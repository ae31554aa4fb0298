/* SPDX-License-Identifier: BSD-3-Clause */
// R6: on success the 17 required WSPPROC_TABLE entries are non-NULL. Decision 7 adds
// WSPShutdown, WSPGetSockName and WSPGetPeerName.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R6_RequiredProcTableEntriesNonNull) {
  Session ses;
  WSPPROC_TABLE p;
  std::memset(&p, 0, sizeof p);
  ASSERT_EQ(sw().startup(MAKEWORD(2, 2), 0, nullptr, &p), 0);
  EXPECT_NE(p.lpWSPAccept, nullptr);
  EXPECT_NE(p.lpWSPBind, nullptr);
  EXPECT_NE(p.lpWSPCleanup, nullptr);
  EXPECT_NE(p.lpWSPCloseSocket, nullptr);
  EXPECT_NE(p.lpWSPConnect, nullptr);
  EXPECT_NE(p.lpWSPDuplicateSocket, nullptr);
  EXPECT_NE(p.lpWSPEnumNetworkEvents, nullptr);
  EXPECT_NE(p.lpWSPEventSelect, nullptr);
  EXPECT_NE(p.lpWSPGetOverlappedResult, nullptr);
  EXPECT_NE(p.lpWSPGetQOSByName, nullptr);
  EXPECT_NE(p.lpWSPGetSockOpt, nullptr);
  EXPECT_NE(p.lpWSPIoctl, nullptr);
  EXPECT_NE(p.lpWSPListen, nullptr);
  EXPECT_NE(p.lpWSPRecv, nullptr);
  EXPECT_NE(p.lpWSPSend, nullptr);
  EXPECT_NE(p.lpWSPSetSockOpt, nullptr);
  EXPECT_NE(p.lpWSPSocket, nullptr);
  // Decision 7.
  EXPECT_NE(p.lpWSPShutdown, nullptr) << "Decision 7";
  EXPECT_NE(p.lpWSPGetSockName, nullptr) << "Decision 7";
  EXPECT_NE(p.lpWSPGetPeerName, nullptr) << "Decision 7";

  // A second startup fills the same table again.
  WSPPROC_TABLE p2;
  std::memset(&p2, 0, sizeof p2);
  ASSERT_EQ(sw().startup(MAKEWORD(2, 2), 0, nullptr, &p2), 0);
  EXPECT_EQ(std::memcmp(&p, &p2, sizeof p), 0) << "the second startup filled a different table";
  EXPECT_EQ(sw().cleanup(), 0);
  EXPECT_EQ(sw().cleanup(), 0);
}
