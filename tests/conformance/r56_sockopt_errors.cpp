/* SPDX-License-Identifier: BSD-3-Clause */
// R56: WSPGetSockOpt and WSPSetSockOpt fail with WSAENOPROTOOPT for an unsupported option, and
// neither ever returns WSAEINPROGRESS. (Provider decision: a level other than SOL_SOCKET ->
// WSAENOPROTOOPT.)

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R56_UnsupportedOptionsAreNoProtoOpt) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Sock fresh;
  ASSERT_TRUE(new_socket(&fresh));
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  for (SOCKET s : {fresh.s, k.c(), k.l.sock.s}) {
    char buf[64] = {};
    int len = sizeof buf, err = 0;
    // Unknown option at SOL_SOCKET.
    EXPECT_EQ(P().lpWSPGetSockOpt(s, SOL_SOCKET, 0x7777, buf, &len, &err), SOCKET_ERROR);
    EXPECT_EQ(err, WSAENOPROTOOPT) << "get 0x7777: " << wsa_name(err);
    int one = 1;
    EXPECT_EQ(P().lpWSPSetSockOpt(s, SOL_SOCKET, 0x7777, reinterpret_cast<char*>(&one),
                                  sizeof one, &err),
              SOCKET_ERROR);
    EXPECT_EQ(err, WSAENOPROTOOPT) << "set 0x7777: " << wsa_name(err);
    // Another level.
    len = sizeof buf;
    EXPECT_EQ(P().lpWSPGetSockOpt(s, IPPROTO_IP, 1, buf, &len, &err), SOCKET_ERROR);
    EXPECT_EQ(err, WSAENOPROTOOPT) << "get at IPPROTO_IP: " << wsa_name(err);
    EXPECT_EQ(P().lpWSPSetSockOpt(s, IPPROTO_IP, 1, reinterpret_cast<char*>(&one), sizeof one,
                                  &err),
              SOCKET_ERROR);
    EXPECT_EQ(err, WSAENOPROTOOPT) << "set at IPPROTO_IP: " << wsa_name(err);
    // Supported read-only size options are not settable, but never WSAEINPROGRESS.
    err = 0;
    if (P().lpWSPSetSockOpt(s, SOL_SOCKET, SO_MAX_MSG_SIZE, reinterpret_cast<char*>(&one),
                            sizeof one, &err) != 0) {
      EXPECT_NE(err, WSAEINPROGRESS);
    }
    // SO_DEBUG may be set (spec 2.12), or be unsupported.
    err = 0;
    if (P().lpWSPSetSockOpt(s, SOL_SOCKET, SO_DEBUG, reinterpret_cast<char*>(&one), sizeof one,
                            &err) != 0) {
      EXPECT_EQ(err, WSAENOPROTOOPT) << "SO_DEBUG: " << wsa_name(err);
    }
    // A short optlen for a supported option: WSAEFAULT, not WSAEINPROGRESS.
    len = 2;
    err = 0;
    EXPECT_EQ(P().lpWSPGetSockOpt(s, SOL_SOCKET, SO_MAX_MSG_SIZE, buf, &len, &err),
              SOCKET_ERROR);
    EXPECT_EQ(err, WSAEFAULT) << wsa_name(err);
  }
  // The supported options answer on a connected socket.
  DWORD v = 0;
  EXPECT_TRUE(get_opt_dword(k.c(), SO_MAX_MSG_SIZE, &v));
  EXPECT_TRUE(get_opt_dword(k.c(), SO_RDMA_THRESHOLD_SIZE, &v));
  EXPECT_TRUE(get_opt_dword(k.c(), SO_MAX_RDMA_SIZE, &v));
  EXPECT_EQ(sw().cleanup(), 0);
}
