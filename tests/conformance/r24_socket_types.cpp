/* SPDX-License-Identifier: BSD-3-Clause */
// R24: WSPSocket succeeds for (AF_INET, SOCK_STREAM, IPPROTO_TCP) with the overlapped flag; a
// non-stream type or non-TCP protocol is rejected with WSAEPROTOTYPE, WSAEPROTONOSUPPORT or
// WSAEAFNOSUPPORT (and makes no switch handle).

#include <sys/un.h>

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R24_OnlyTcpStreamSocketsAreCreated) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Sock ok;
  ASSERT_TRUE(new_socket(&ok));

  struct Case {
    int af, type, proto;
    const char* what;
  } cases[] = {
      {AF_INET, SOCK_DGRAM, IPPROTO_UDP, "AF_INET/SOCK_DGRAM/IPPROTO_UDP"},
      {AF_INET, SOCK_DGRAM, IPPROTO_TCP, "AF_INET/SOCK_DGRAM/IPPROTO_TCP"},
      {AF_INET, SOCK_STREAM, IPPROTO_UDP, "AF_INET/SOCK_STREAM/IPPROTO_UDP"},
      {AF_INET, SOCK_RAW, IPPROTO_RAW, "AF_INET/SOCK_RAW/IPPROTO_RAW"},
      {AF_INET, SOCK_SEQPACKET, IPPROTO_TCP, "AF_INET/SOCK_SEQPACKET/IPPROTO_TCP"},
      {AF_INET, SOCK_STREAM, 99, "AF_INET/SOCK_STREAM/99"},
      {AF_UNIX, SOCK_STREAM, IPPROTO_TCP, "AF_UNIX/SOCK_STREAM/IPPROTO_TCP"},
      {12345, SOCK_STREAM, IPPROTO_TCP, "12345/SOCK_STREAM/IPPROTO_TCP"},
  };
  size_t handles = sw().handles_created();
  for (const Case& c : cases) {
    int err = 0;
    SOCKET s = P().lpWSPSocket(c.af, c.type, c.proto, sw().tcp_protocol_info(), 0,
                               WSA_FLAG_OVERLAPPED, &err);
    EXPECT_EQ(s, INVALID_SOCKET) << c.what << " was accepted";
    if (s != INVALID_SOCKET) {
      P().lpWSPCloseSocket(s, &err);
      continue;
    }
    EXPECT_TRUE(err == WSAEPROTOTYPE || err == WSAEPROTONOSUPPORT || err == WSAEAFNOSUPPORT)
        << c.what << ": " << wsa_name(err);
  }
  EXPECT_EQ(sw().handles_created(), handles) << "a rejected WSPSocket made a switch handle";

  // IPv6 is optional: success or WSAEAFNOSUPPORT.
  int err = 0;
  SOCKET s6 = P().lpWSPSocket(AF_INET6, SOCK_STREAM, IPPROTO_TCP, sw().tcp_protocol_info(), 0,
                              WSA_FLAG_OVERLAPPED, &err);
  if (s6 == INVALID_SOCKET) {
    EXPECT_EQ(err, WSAEAFNOSUPPORT) << wsa_name(err);
  } else {
    EXPECT_EQ(P().lpWSPCloseSocket(s6, &err), 0);
  }
  EXPECT_EQ(sw().cleanup(), 0);
}
