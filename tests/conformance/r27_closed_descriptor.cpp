/* SPDX-License-Identifier: BSD-3-Clause */
// R27: after WSPCloseSocket returns, every call on that descriptor fails with WSAENOTSOCK,
// including WSPGetOverlappedResult, WSPDeregisterMemory, WSPDeregisterRdmaMemory and WSPRecv.
// The descriptor is not handed out again while it could be mistaken for the old socket.

#include "test_switch.h"

using namespace dpsan_conf;

namespace {

// Every entry point that takes a socket, on descriptor `s`; all must say WSAENOTSOCK.
void expect_all_notsock(SOCKET s, const Ext& ext, WSAOVERLAPPED* old_ov, HANDLE old_reg,
                        const char* what) {
  SCOPED_TRACE(what);
  const WSPPROC_TABLE p = P();
  int err = 0;
  auto expect = [&](bool failed, const char* call) {
    EXPECT_TRUE(failed) << call << " succeeded";
    EXPECT_EQ(err, WSAENOTSOCK) << call << ": " << wsa_name(err);
    err = 0;
  };
  char* buf = sw().new_buf(4096);
  sockaddr_in a = make_addr("127.0.0.1", next_port());
  int alen = sizeof a;
  if (old_ov != nullptr) {
    DWORD bytes = 0, flags = 0;
    expect(!p.lpWSPGetOverlappedResult(s, old_ov, &bytes, FALSE, &flags, &err),
           "WSPGetOverlappedResult");
  }
  WSAOVERLAPPED* ov = sw().new_ov(Mode::Upcall);
  ov->Internal = 0xC0FFEE;  // sentinel: a refused call never completes the overlapped
  expect(post_recv(s, buf, 4096, ov, &err) == SOCKET_ERROR, "WSPRecv");
  expect(post_send(s, buf, 16, sw().new_ov(Mode::Upcall), &err) == SOCKET_ERROR, "WSPSend");
  if (old_reg != nullptr) expect(ext.dereg(s, old_reg, &err) == SOCKET_ERROR, "WSPDeregisterMemory");
  expect(ext.reg(s, buf, 4096, MEM_READWRITE, &err) == nullptr, "WSPRegisterMemory");
  if (ext.dereg_rdma != nullptr) {
    char desc[64] = {};
    expect(ext.dereg_rdma(s, desc, sizeof desc, &err) == SOCKET_ERROR, "WSPDeregisterRdmaMemory");
  }
  expect(p.lpWSPBind(s, reinterpret_cast<sockaddr*>(&a), sizeof a, &err) == SOCKET_ERROR,
         "WSPBind");
  expect(p.lpWSPListen(s, 5, &err) == SOCKET_ERROR, "WSPListen");
  expect(p.lpWSPConnect(s, reinterpret_cast<sockaddr*>(&a), sizeof a, nullptr, nullptr, nullptr,
                        nullptr, &err) == SOCKET_ERROR,
         "WSPConnect");
  expect(p.lpWSPAccept(s, reinterpret_cast<sockaddr*>(&a), &alen, condition_fn,
                       reinterpret_cast<DWORD_PTR>(sw().new_cond()), &err) == INVALID_SOCKET,
         "WSPAccept");
  expect(p.lpWSPEventSelect(s, as_wsaevent(sw().new_event()), FD_CONNECT, &err) == SOCKET_ERROR,
         "WSPEventSelect");
  WSANETWORKEVENTS ne{};
  expect(p.lpWSPEnumNetworkEvents(s, as_wsaevent(sw().new_event()), &ne, &err) == SOCKET_ERROR,
         "WSPEnumNetworkEvents");
  DWORD v = 0;
  int vlen = sizeof v;
  expect(p.lpWSPGetSockOpt(s, SOL_SOCKET, SO_MAX_MSG_SIZE, reinterpret_cast<char*>(&v), &vlen,
                           &err) == SOCKET_ERROR,
         "WSPGetSockOpt");
  int one = 1;
  expect(p.lpWSPSetSockOpt(s, SOL_SOCKET, SO_DEBUG, reinterpret_cast<char*>(&one), sizeof one,
                           &err) == SOCKET_ERROR,
         "WSPSetSockOpt");
  alen = sizeof a;
  expect(p.lpWSPGetSockName(s, reinterpret_cast<sockaddr*>(&a), &alen, &err) == SOCKET_ERROR,
         "WSPGetSockName");
  alen = sizeof a;
  expect(p.lpWSPGetPeerName(s, reinterpret_cast<sockaddr*>(&a), &alen, &err) == SOCKET_ERROR,
         "WSPGetPeerName");
  expect(p.lpWSPShutdown(s, SD_BOTH, &err) == SOCKET_ERROR, "WSPShutdown");
  expect(p.lpWSPCloseSocket(s, &err) == SOCKET_ERROR, "WSPCloseSocket");
  sleep_ms(50);
  EXPECT_TRUE(ov->Internal == 0xC0FFEE || ov->Internal == WSS_OPERATION_IN_PROGRESS)
      << "a refused WSPRecv was completed (Internal " << ov->Internal << ")";
  EXPECT_EQ(sw().completions_of(ov), 0u) << "a refused WSPRecv got a completion (Decision 3)";
}

}  // namespace

TEST(Conformance, R27_ClosedDescriptorAnswersNotSock) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  // Given: a connected socket with a registration and a pending poll-mode receive, closed.
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  Region ra;
  ASSERT_TRUE(make_region(k.a(), 8192, &ra));
  WSAOVERLAPPED* pov = sw().new_ov(Mode::Poll);
  ASSERT_TRUE(recv_pending(k.a(), ra.buf, 4096, pov));
  SOCKET old = k.a();
  ASSERT_TRUE(close_socket(old));

  // Expect: every call on it answers WSAENOTSOCK.
  expect_all_notsock(old, k.ext, pov, ra.h, "right after WSPCloseSocket");

  // Expect: new sockets get other descriptors, and the old one stays dead.
  std::vector<Sock> fresh(20);
  for (auto& s : fresh) {
    ASSERT_TRUE(new_socket(&s));
    EXPECT_NE(s.s, old) << "the closed descriptor was handed out again";
  }
  expect_all_notsock(old, k.ext, pov, ra.h, "after 20 new sockets");

  // Expect: descriptors that never existed answer WSAENOTSOCK too.
  for (SOCKET bogus : {SOCKET{0xdeadbeef}, INVALID_SOCKET - 1, SOCKET{0x7fffffffffff}})
    expect_all_notsock(bogus, k.ext, nullptr, nullptr, "a descriptor that never existed");
  EXPECT_EQ(sw().cleanup(), 0);
}
