/* SPDX-License-Identifier: BSD-3-Clause */
// R49: WSPAccept calls the condition function exactly once, on the calling thread, before it
// returns. CF_ACCEPT: a new socket with its own WPUCreateSocketHandle, `addr` holding the peer's
// address, and a successful remote connect. CF_REJECT: WSAECONNREFUSED returned and the remote
// connect failing with WSAECONNREFUSED.
// Provider decisions: CF_DEFER -> WSATRY_AGAIN (the request stays queued); nothing queued ->
// WSAEWOULDBLOCK; *addrlen too small -> WSAEFAULT.

#include "test_switch.h"

using namespace dpsan_conf;

namespace {

// Start a connect and wait for its FD_ACCEPT at the listener (consumed by the switch).
void queue_request(Listener& l, Connector* c) {
  ASSERT_TRUE(start_connect(c, l.port));
  ASSERT_TRUE(wait_event(l.ev, kWait)) << "FD_ACCEPT not signalled";
  WSANETWORKEVENTS ne{};
  int err = 0;
  ASSERT_EQ(P().lpWSPEnumNetworkEvents(l.sock.s, as_wsaevent(l.ev), &ne, &err), 0);
  ASSERT_NE(ne.lNetworkEvents & FD_ACCEPT, 0);
}

SOCKET do_accept(Listener& l, CondCtx* cond, sockaddr_in* a, int* alen, int* err) {
  return P().lpWSPAccept(l.sock.s, reinterpret_cast<sockaddr*>(a), alen, condition_fn,
                         reinterpret_cast<DWORD_PTR>(cond), err);
}

}  // namespace

TEST(Conformance, R49_ConditionFunctionDecidesOnTheCallingThread) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Listener l;
  ASSERT_TRUE(open_listener(&l));
  int err = 0;
  sockaddr_in a{};
  int alen = sizeof a;

  // Nothing queued: WSAEWOULDBLOCK, and the condition function is not called.
  CondCtx* none = sw().new_cond(CF_ACCEPT);
  EXPECT_EQ(do_accept(l, none, &a, &alen, &err), INVALID_SOCKET);
  EXPECT_EQ(err, WSAEWOULDBLOCK) << wsa_name(err);
  EXPECT_EQ(none->calls.load(), 0);

  // CF_ACCEPT.
  Connector c1;
  ASSERT_NO_FATAL_FAILURE(queue_request(l, &c1));
  CondCtx* acc = sw().new_cond(CF_ACCEPT);
  uint64_t before = sw().seq();
  alen = sizeof a;
  std::memset(&a, 0, sizeof a);
  SOCKET s = do_accept(l, acc, &a, &alen, &err);
  ASSERT_NE(s, INVALID_SOCKET) << wsa_name(err);
  EXPECT_EQ(acc->calls.load(), 1);
  EXPECT_EQ(acc->tid, std::this_thread::get_id()) << "condition function not on the caller";
  auto hs = sw().created_by_this_thread_since(before);
  ASSERT_EQ(hs.size(), 1u) << "WPUCreateSocketHandle calls inside WSPAccept";
  EXPECT_NE(s, hs[0]);
  EXPECT_EQ(a.sin_family, AF_INET);
  EXPECT_EQ(a.sin_addr.s_addr, htonl(INADDR_LOOPBACK)) << "addr is not the peer's 127.0.0.1";
  EXPECT_GE(alen, int{sizeof(sockaddr_in)});
  sockaddr_in cl{};
  int cllen = sizeof cl;
  if (P().lpWSPGetSockName(c1.sock.s, reinterpret_cast<sockaddr*>(&cl), &cllen, &err) == 0) {
    EXPECT_EQ(a.sin_port, cl.sin_port) << "addr does not hold the peer's port";
  }
  int fd_err = -1;
  ASSERT_TRUE(wait_connect(c1, &fd_err));
  EXPECT_EQ(fd_err, 0) << wsa_name(fd_err);

  // CF_REJECT.
  Connector c2;
  ASSERT_NO_FATAL_FAILURE(queue_request(l, &c2));
  CondCtx* rej = sw().new_cond(CF_REJECT);
  before = sw().seq();
  alen = sizeof a;
  EXPECT_EQ(do_accept(l, rej, &a, &alen, &err), INVALID_SOCKET);
  EXPECT_EQ(err, WSAECONNREFUSED) << wsa_name(err);
  EXPECT_EQ(rej->calls.load(), 1);
  EXPECT_EQ(rej->tid, std::this_thread::get_id());
  EXPECT_TRUE(sw().created_by_this_thread_since(before).empty()) << "handle made for a reject";
  ASSERT_TRUE(wait_connect(c2, &fd_err));
  EXPECT_EQ(fd_err, WSAECONNREFUSED) << wsa_name(fd_err);

  // CF_DEFER: WSATRY_AGAIN, the request stays queued and can be accepted later.
  Connector c3;
  ASSERT_NO_FATAL_FAILURE(queue_request(l, &c3));
  CondCtx* def = sw().new_cond(CF_DEFER);
  before = sw().seq();
  alen = sizeof a;
  EXPECT_EQ(do_accept(l, def, &a, &alen, &err), INVALID_SOCKET);
  EXPECT_EQ(err, WSATRY_AGAIN) << wsa_name(err);
  EXPECT_EQ(def->calls.load(), 1);
  EXPECT_TRUE(sw().created_by_this_thread_since(before).empty()) << "handle made for a defer";
  sleep_ms(100);
  EXPECT_FALSE(event_signalled(c3.ev)) << "a deferred request's connect completed";
  CondCtx* acc3 = sw().new_cond(CF_ACCEPT);
  alen = sizeof a;
  SOCKET s3 = do_accept(l, acc3, &a, &alen, &err);
  EXPECT_NE(s3, INVALID_SOCKET) << "deferred request not accepted later: " << wsa_name(err);
  if (s3 != INVALID_SOCKET) {
    ASSERT_TRUE(wait_connect(c3, &fd_err));
    EXPECT_EQ(fd_err, 0) << wsa_name(fd_err);
  }

  // *addrlen too small: WSAEFAULT.
  Connector c4;
  ASSERT_NO_FATAL_FAILURE(queue_request(l, &c4));
  int tiny = 4;
  EXPECT_EQ(do_accept(l, sw().new_cond(CF_ACCEPT), &a, &tiny, &err), INVALID_SOCKET);
  EXPECT_EQ(err, WSAEFAULT) << wsa_name(err);
  EXPECT_EQ(sw().cleanup(), 0);
}
