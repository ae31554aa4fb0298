/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Segment size negotiated per connection (fastpath/wire/mss.h, README "Wire format"), public
 * interface only. Two ports of one process joined by a net_ring pair, one at MTU 9000 and one
 * at MTU 1500 (the `mtu` key): a port drops what is longer than its MTU, as a NIC does
 * (DPSAN_DROP_TOO_LONG), so a connection between them works only if both ends send at most
 * what the 1500 side can take. 1 MiB messages, RDMA writes and RDMA reads go both ways and are
 * checked byte for byte. Two jumbo ports use jumbo frames, and the embedded default (the
 * loopback port, MTU 9000) sends large frames zero-copy at the default threshold.
 */
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include <dpsan/dpsan_stats.h>

#include "mini_switch.h"
#include "provider_calls.h"

using dpsan::perf::MiniSwitch;
using dpsan::test::ext_fn;
using dpsan::test::ip;
using dpsan::test::post_rdma;
using dpsan::test::post_recv_then_send;
using dpsan::test::start_and_connect;
using dpsan::test::startup_with;
using dpsan::test::stats;
using dpsan::test::wait_done;

namespace {

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kBuf = kMiB + 64;
// Payload of a 1500-byte MTU frame (wire::kMssConservative): a 1 MiB message needs this many
// frames at least when one end is at MTU 1500.
constexpr uint64_t kFramesPerMiBAt1500 = kMiB / 1416;

/** One end of the connection: a socket, its registered buffers and its RDMA region. */
struct End {
  SOCKET s = INVALID_SOCKET;
  std::unique_ptr<char[]> out{new char[kBuf]}, in{new char[kBuf]}, region{new char[kBuf]};
  HANDLE hout = nullptr, hin = nullptr;
  alignas(8) char desc[64] = {};
  DWORD desc_len = sizeof desc;
};

struct Pair {
  MiniSwitch sw;
  End cli, srv;
  End cli2, srv2;  ///< a second connection, the other way round (server on the client's port)
  LPFN_WSPRDMAWRITE write = nullptr;
  LPFN_WSPRDMAREAD read = nullptr;
};

std::string register_end(Pair& p, End& e) {
  auto reg = reinterpret_cast<LPFN_WSPREGISTERMEMORY>(ext_fn(p.sw, WSAID_REGISTERMEMORY));
  auto reg_rdma = reinterpret_cast<LPFN_WSPREGISTERRDMAMEMORY>(ext_fn(p.sw, WSAID_REGISTERRDMAMEMORY));
  int err = 0;
  e.hout = reg(e.s, e.out.get(), kBuf, MEM_READWRITE, &err);
  e.hin = reg(e.s, e.in.get(), kBuf, MEM_READWRITE, &err);
  if (!e.hout || !e.hin) return "register: " + std::to_string(err);
  if (reg_rdma(e.s, e.region.get(), kBuf, MEM_READWRITE, e.desc, &e.desc_len, &err) != 0)
    return "register RDMA: " + std::to_string(err);
  return "";
}

/** Start on `config` (empty: the embedded default), connect, register. "" on success. */
std::string bring_up(Pair& p, uint16_t port, const std::string& config, const char* cli_ip,
                     const char* srv_ip) {
  std::string why = start_and_connect(p.sw, config, port, &p.cli.s, &p.srv.s, cli_ip, srv_ip);
  if (!why.empty()) return why;
  p.write = reinterpret_cast<LPFN_WSPRDMAWRITE>(ext_fn(p.sw, WSAID_RDMAWRITE));
  p.read = reinterpret_cast<LPFN_WSPRDMAREAD>(ext_fn(p.sw, WSAID_RDMAREAD));
  if (!p.write || !p.read) return "no RDMA";
  if (why = register_end(p, p.cli); !why.empty()) return why;
  return register_end(p, p.srv);
}

void fill(char* p, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; i++) p[i] = static_cast<char>((i * 2654435761u + seed) >> 9);
}

::testing::AssertionResult wait(WSAOVERLAPPED& ov, int seconds) {
  if (!wait_done(ov, seconds * 1000)) return ::testing::AssertionFailure() << "did not complete";
  if (ov.OffsetHigh != 0) return ::testing::AssertionFailure() << "error " << ov.OffsetHigh;
  return ::testing::AssertionSuccess();
}

/** A message of n bytes from `a` to `b`, checked byte for byte. */
void send_msg(Pair& p, End& a, End& b, size_t n, uint32_t seed) {
  SCOPED_TRACE("send of " + std::to_string(n));
  fill(a.out.get() + 1, n, seed);
  std::memset(b.in.get(), 0, n + 16);
  WSAOVERLAPPED rov, sov;
  WSABUF rb{static_cast<ULONG>(n + 16), b.in.get()}, sb{static_cast<ULONG>(n), a.out.get() + 1};
  ASSERT_NO_FATAL_FAILURE(post_recv_then_send(p.sw, b.s, rb, rov, a.s, sb, sov));
  ASSERT_TRUE(wait(sov, 30));
  ASSERT_TRUE(wait(rov, 30));
  ASSERT_EQ(rov.InternalHigh, n);
  ASSERT_EQ(std::memcmp(b.in.get(), a.out.get() + 1, n), 0) << "bytes differ";
}

/** `a` writes n bytes into `b`'s region at offset 3, then reads them back: both checked. */
void write_and_read(Pair& p, End& a, End& b, size_t n, uint32_t seed) {
  SCOPED_TRACE("RDMA of " + std::to_string(n));
  fill(a.out.get() + 5, n, seed);
  std::memset(b.region.get(), 0, n + 16);
  WSAOVERLAPPED ov;
  WSABUFEX wb{static_cast<ULONG>(n), a.out.get() + 5, a.hout};
  ASSERT_NO_FATAL_FAILURE(post_rdma(p.write, a.s, wb, b.desc, b.desc_len, 3, ov));
  ASSERT_TRUE(wait(ov, 30));
  ASSERT_EQ(std::memcmp(b.region.get() + 3, a.out.get() + 5, n), 0) << "write: bytes differ";
  // The region changes under the read's feet no more: read it back into `in`.
  fill(b.region.get() + 3, n, seed + 1);
  std::memset(a.in.get(), 0, n + 16);
  WSABUFEX rb{static_cast<ULONG>(n), a.in.get() + 2, a.hin};
  ASSERT_NO_FATAL_FAILURE(post_rdma(p.read, a.s, rb, b.desc, b.desc_len, 3, ov));
  ASSERT_TRUE(wait(ov, 30));
  ASSERT_EQ(std::memcmp(a.in.get() + 2, b.region.get() + 3, n), 0) << "read: bytes differ";
}

/** A second connection in the running instance: server on `srv_ip`, client on `cli_ip`. */
std::string connect_more(Pair& p, uint16_t port, End& cli, End& srv, const char* cli_ip,
                         const char* srv_ip) {
  std::string why = p.sw.connect_pair(port, &cli.s, &srv.s, ip(srv_ip), ip(cli_ip));
  if (!why.empty()) return why;
  if (why = register_end(p, cli); !why.empty()) return why;
  return register_end(p, srv);
}

void tear_down(Pair& p) {
  int e = 0;
  for (End* x : {&p.cli, &p.srv, &p.cli2, &p.srv2})
    if (x->s != INVALID_SOCKET) p.sw.proc().lpWSPCloseSocket(x->s, &e);
  EXPECT_EQ(p.sw.cleanup(), 0);
}

std::string ring_pair(const std::string& name, const std::string& mtu0, const std::string& mtu1) {
  return "[[port]]\ndevice = \"ringpair:" + name + ":0\"\nipv4 = \"198.18.0.1/24\"\n" + mtu0 +
         "[[port]]\ndevice = \"ringpair:" + name + ":1\"\nipv4 = \"198.18.0.2/24\"\n" + mtu1;
}

/** Frames the instance received while `f` ran. */
template <class F>
uint64_t frames_rx_during(Pair& p, F f) {
  uint64_t before = stats(p.sw).packets_rx;
  f();
  return stats(p.sw).packets_rx - before;
}

}  // namespace

/** Messages and RDMA both ways between `a` and `b` (one of them on the MTU 1500 port). */
void exchange_at_1500(Pair& p, End& a, End& b) {
  uint64_t frames = frames_rx_during(p, [&] { send_msg(p, a, b, kMiB, 1); });
  EXPECT_GE(frames, kFramesPerMiBAt1500) << "frames larger than the 1500 side takes?";
  frames = frames_rx_during(p, [&] { send_msg(p, b, a, kMiB, 2); });
  EXPECT_GE(frames, kFramesPerMiBAt1500);
  for (size_t n : {size_t{1}, size_t{1416}, size_t{1417}, size_t{8916}, size_t{65537}, kMiB - 1}) {
    ASSERT_NO_FATAL_FAILURE(send_msg(p, a, b, n, 3));
    ASSERT_NO_FATAL_FAILURE(send_msg(p, b, a, n, 4));
  }
  for (size_t n : {size_t{1}, size_t{1384}, size_t{1385}, size_t{8884}, kMiB}) {
    ASSERT_NO_FATAL_FAILURE(write_and_read(p, a, b, n, 5));
    ASSERT_NO_FATAL_FAILURE(write_and_read(p, b, a, n, 6));
  }
}

// Given a port at MTU 9000 and a port at MTU 1500, each dropping what is longer than its MTU,
// and a connection each way round (the jumbo side connects, then accepts); Expect: 1 MiB
// messages, RDMA writes and RDMA reads go both ways intact on both (each end sends at most what
// the 1500 side takes), and no frame was too long for its port.
TEST(Mtu, MixedMtuRingPairCarriesMessagesAndRdmaBothWays) {
  Pair p;
  ASSERT_EQ(bring_up(p, 47100, ring_pair("mix", "mtu = 9000\n", "mtu = 1500\n"), "198.18.0.1",
                     "198.18.0.2"),
            "");
  ASSERT_EQ(connect_more(p, 47101, p.cli2, p.srv2, "198.18.0.2", "198.18.0.1"), "");
  DPSAN_STATS s0 = stats(p.sw);
  {
    SCOPED_TRACE("client on MTU 9000, server on MTU 1500");
    exchange_at_1500(p, p.cli, p.srv);
  }
  {
    SCOPED_TRACE("client on MTU 1500, server on MTU 9000");
    exchange_at_1500(p, p.cli2, p.srv2);
  }
  DPSAN_STATS s1 = stats(p.sw);
  EXPECT_EQ(s1.drops_by_reason[DPSAN_DROP_TOO_LONG], s0.drops_by_reason[DPSAN_DROP_TOO_LONG])
      << "a frame longer than its port's MTU was sent";
  tear_down(p);
}

// Given two ports at the default MTU of in-process ports (9000); Expect: a 1 MiB message goes in
// jumbo frames (about 118 DATA frames and their acks, where MTU 1500 needs 741 DATA frames).
TEST(Mtu, JumboRingPairUsesJumboFrames) {
  Pair p;
  ASSERT_EQ(bring_up(p, 47200, ring_pair("jum", "", ""), "198.18.0.1", "198.18.0.2"), "");
  uint64_t frames = frames_rx_during(p, [&] { send_msg(p, p.cli, p.srv, kMiB, 7); });
  EXPECT_LT(frames, kFramesPerMiBAt1500 / 2);
  ASSERT_NO_FATAL_FAILURE(write_and_read(p, p.cli, p.srv, kMiB, 8));
  tear_down(p);
}

// Given the embedded default (loopback port, default zerocopy_min = 2048); Expect: large sends
// and RDMA writes from registered memory go out zero-copy (their frames carry up to 8,902 bytes).
TEST(Mtu, ZeroCopyFiresInTheDefaultLayout) {
  Pair p;
  ASSERT_EQ(bring_up(p, 47300, "", "127.0.0.1", "127.0.0.1"), "");
  uint64_t zc0 = stats(p.sw).zerocopy_frames;
  ASSERT_NO_FATAL_FAILURE(send_msg(p, p.cli, p.srv, kMiB, 9));
  uint64_t zc1 = stats(p.sw).zerocopy_frames;
  EXPECT_GE(zc1 - zc0, kMiB / 8916) << "the 1 MiB send was not sent zero-copy";
  ASSERT_NO_FATAL_FAILURE(write_and_read(p, p.cli, p.srv, kMiB, 10));
  EXPECT_GT(stats(p.sw).zerocopy_frames, zc1) << "the 1 MiB RDMA write was not sent zero-copy";
  tear_down(p);
}

// Given a port whose MTU is out of range; Expect: WSPStartupEx fails (WSASYSNOTREADY).
TEST(Mtu, BadMtuFailsTheStartup) {
  MiniSwitch sw;
  EXPECT_EQ(startup_with(sw, "[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1/32\"\nmtu = 100\n"),
            WSASYSNOTREADY);
}
