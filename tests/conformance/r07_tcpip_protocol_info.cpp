/* SPDX-License-Identifier: BSD-3-Clause */
// R7: WSPStartupEx accepts the TCP/IP provider's WSAPROTOCOL_INFOW (ProviderId and catalog id
// differ from the SAN provider's own) and does not fail because of the mismatch.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R7_AcceptsTcpIpProtocolInfo) {
  Session ses;
  // Given: the Microsoft TCP/IP provider's protocol info, plus an arbitrary other catalog id
  // and provider id.
  WSAPROTOCOL_INFOW tcp = *sw().tcp_protocol_info();
  WSAPROTOCOL_INFOW other = tcp;
  other.dwCatalogEntryId = 424242;
  other.ProviderId = GUID{0x12345678, 0x9ABC, 0xDEF0, {1, 2, 3, 4, 5, 6, 7, 8}};
  WSAPROTOCOL_INFOW before = tcp;

  WSPDATA d{};
  WSPPROC_TABLE p{};
  int rc = sw().startup_ex(MAKEWORD(2, 2), &d, &tcp, sw().table(0), &p);
  ASSERT_EQ(rc, 0) << wsa_name(rc);
  // Expect: the caller's protocol info is input only.
  EXPECT_EQ(std::memcmp(&before, &tcp, sizeof tcp), 0) << "WSPStartupEx wrote lpProtocolInfo";
  rc = sw().startup_ex(MAKEWORD(2, 2), &d, &other, sw().table(0), &p);
  EXPECT_EQ(rc, 0) << wsa_name(rc);

  // Expect: sockets work, created with the TCP/IP protocol info (dwProviderReserved 0).
  int err = 0;
  SOCKET s = p.lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, &tcp, 0, WSA_FLAG_OVERLAPPED, &err);
  EXPECT_NE(s, INVALID_SOCKET) << wsa_name(err);
  if (s != INVALID_SOCKET) {
    EXPECT_EQ(p.lpWSPCloseSocket(s, &err), 0) << wsa_name(err);
  }

  // Two startups, two cleanups.
  EXPECT_EQ(sw().cleanup(&err), 0) << wsa_name(err);
  if (rc == 0) {
    EXPECT_EQ(sw().cleanup(&err), 0) << wsa_name(err);
  }
  EXPECT_EQ(sw().cleanup(&err), SOCKET_ERROR);
  EXPECT_EQ(err, WSANOTINITIALISED);
}
