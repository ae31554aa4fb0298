/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A hostile peer on the wire. The target is a dpsan provider in this process with one port,
 * side 0 of the ring pair "hst" (198.18.0.1); nothing in the provider plays side 1. The test
 * does, with a RawPeer (raw_peer.h): it takes the target's frames off the pair's rings and puts
 * its own on them, speaking the wire protocol through fastpath/wire. It resolves the target
 * with ARP, opens two connections to a listening dpsan socket (CONNECT_REQ / ACCEPT), keeps
 * its own psn and acks, and then sends crafted RDMA frames. Each hostile one must be refused:
 * the target sends RESET with reason WSAECONNABORTED (the raw peer sees it), the target
 * socket's pending receive fails with WSAECONNABORTED and so do later calls, the refusal is
 * counted (rdma_denied), every byte of every registered region is unchanged, and the other
 * connection lives on. Honest frames from the same peer are served, which shows that a refusal
 * is about the frame, not about the peer's framing.
 *
 * The target's descriptors come from WSPRegisterRdmaMemory in this process; the raw peer uses
 * their fields as README "RDMA descriptor" documents them. Everything on the target goes
 * through the public interface (libdpsan.so); the frames are made with the provider's own
 * codec sources, compiled into this test.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <dpsan/dpsan_stats.h>

#include "fastpath/rdma_region.h"
#include "fastpath/wire/header.h"
#include "fastpath/wire/rdma.h"
#include "mini_switch.h"
#include "provider_calls.h"
#include "raw_peer.h"

using dpsan::perf::MiniSwitch;
using dpsan::test::after_ms;
using dpsan::test::ext_fn;
using dpsan::test::ip;
using dpsan::test::kPoll;
using dpsan::test::ov_done;
using dpsan::test::RawPeer;
using dpsan::test::RxFrame;
using dpsan::test::wait_done;
namespace fp = dpsan::fastpath;
namespace wire = dpsan::fastpath::wire;
using Bytes = std::vector<uint8_t>;

namespace {

constexpr size_t kRegion = 65536;
// Generous: every wait ends as soon as its event happens, so a long bound costs nothing on a
// quiet machine and keeps a loaded 2-CPU one from failing a test that would have passed.
constexpr int kWaitMs = 10000;
uint16_t g_port = 43000;

// The target's port; no side 1 is configured, so the test owns that end of the wire. The
// dead-peer timeout is long: the raw peer answers keepalives only while the test waits on it.
constexpr const char* kConfig =
    "[fastpath]\npeer_timeout_ms = 60000\n"
    "[[port]]\ndevice = \"ringpair:hst:0\"\nipv4 = \"198.18.0.1/24\"\n";
constexpr const char* kTargetIp = "198.18.0.1";
constexpr const char* kPeerIp = "198.18.0.2";
constexpr uint8_t kPeerMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0xfe};

/** The raw peer's packet buffers: one pool for the process (the EAL outlives every instance). */
rte_mempool* peer_pool() {
  if (rte_mempool* p = rte_mempool_lookup("hostile_peer")) return p;
  return rte_pktmbuf_pool_create("hostile_peer", 2047, 0, 0, 2048 + RTE_PKTMBUF_HEADROOM,
                                 SOCKET_ID_ANY);
}

Bytes pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(seed ^ i);
  return b;
}

/** A region the target registered for its peer, its descriptor, and a snapshot of its bytes. */
struct Region {
  std::unique_ptr<char[]> buf;
  fp::RdmaDescriptor d{};
  std::vector<char> snapshot;
  bool unchanged() const { return std::memcmp(buf.get(), snapshot.data(), kRegion) == 0; }
};

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(dpsan::test::startup_with(sw_, kConfig), 0);
    reg_rdma_ = reinterpret_cast<LPFN_WSPREGISTERRDMAMEMORY>(ext_fn(sw_, WSAID_REGISTERRDMAMEMORY));
    dereg_rdma_ =
        reinterpret_cast<LPFN_WSPDEREGISTERRDMAMEMORY>(ext_fn(sw_, WSAID_DEREGISTERRDMAMEMORY));
    rdma_read_ = reinterpret_cast<LPFN_WSPRDMAREAD>(ext_fn(sw_, WSAID_RDMAREAD));
    ASSERT_NE(reg_rdma_, nullptr);
    ASSERT_NE(dereg_rdma_, nullptr);
    ASSERT_NE(rdma_read_, nullptr);

    // Side 0 sends on dpsan_rp_hst_00 and receives from dpsan_rp_hst_10 (fastpath/port/ring_ports.cpp).
    rte_ring* from_target = rte_ring_lookup("dpsan_rp_hst_00");
    rte_ring* to_target = rte_ring_lookup("dpsan_rp_hst_10");
    ASSERT_NE(from_target, nullptr);
    ASSERT_NE(to_target, nullptr);
    rte_mempool* pool = peer_pool();
    ASSERT_NE(pool, nullptr);
    peer_ = std::make_unique<RawPeer>(from_target, to_target, pool, ip(kPeerIp), kPeerMac, ip(kTargetIp));
    ASSERT_TRUE(peer_->resolve(after_ms(kWaitMs))) << "the target did not answer ARP";

    // Two connections from the raw peer to one listening dpsan socket.
    uint16_t port = g_port++;
    ASSERT_EQ(sw_.listen(ip(kTargetIp), port, &lev_, &listener_), "");
    a_ = peer_->connect(port);
    ASSERT_EQ(sw_.accept(listener_, &lev_, kWaitMs, &target_), "");
    ASSERT_TRUE(peer_->wait_accepted(a_, after_ms(kWaitMs))) << "no ACCEPT for connection A";
    b_ = peer_->connect(port);
    ASSERT_EQ(sw_.accept(listener_, &lev_, kWaitMs, &target2_), "");
    ASSERT_TRUE(peer_->wait_accepted(b_, after_ms(kWaitMs))) << "no ACCEPT for connection B";

    // A receive pending on each target socket: it fails when the target aborts its connection.
    ASSERT_TRUE(post_recv(target_, inbox_, &recv_ov_));
    ASSERT_TRUE(post_recv(target2_, inbox2_, &recv2_ov_));
    ASSERT_TRUE(make_region(target_, MEM_READWRITE, 0xA1, &rw_));
    ASSERT_TRUE(make_region(target_, MEM_READ, 0xA2, &ro_));
    ASSERT_TRUE(make_region(target_, MEM_WRITE, 0xA3, &wo_));
    ASSERT_TRUE(make_region(target2_, MEM_READWRITE, 0xB1, &other_));
    before_ = dpsan::test::stats(sw_);
  }

  void TearDown() override {
    int e = 0;
    for (SOCKET s : {target_, target2_, listener_})
      if (s != INVALID_SOCKET) sw_.proc().lpWSPCloseSocket(s, &e);
    EXPECT_EQ(sw_.cleanup(), 0);
  }

  bool post_recv(SOCKET s, char (&buf)[256], WSAOVERLAPPED* ov) {
    int e = 0;
    if (sw_.register_memory(s, buf, sizeof buf, MEM_READWRITE, &e) == nullptr) return false;
    *ov = WSAOVERLAPPED{};
    ov->hEvent = kPoll;
    WSABUF wb{sizeof buf, buf};
    DWORD flags = 0;
    return sw_.proc().lpWSPRecv(s, &wb, 1, nullptr, &flags, ov, nullptr, nullptr, &e) == SOCKET_ERROR &&
           e == WSA_IO_PENDING;
  }

  bool make_region(SOCKET s, DWORD flags, int fill, Region* r) {
    r->buf.reset(new char[kRegion]);
    std::memset(r->buf.get(), fill, kRegion);
    r->snapshot.assign(r->buf.get(), r->buf.get() + kRegion);
    DWORD len = sizeof r->d;
    int e = 0;
    return reg_rdma_(s, r->buf.get(), kRegion, flags, &r->d, &len, &e) == 0;
  }

  static wire::RdmaRef ref_of(const fp::RdmaDescriptor& d, uint64_t offset) {
    return wire::RdmaRef{d.conn, d.region, d.gen, d.key, offset};
  }

  /** An RDMA_WRITE of `len` pattern bytes on connection A (one frame, first|last by default). */
  void write(const wire::RdmaRef& ref, uint32_t len, uint16_t flags = wire::kFirst | wire::kLast,
             uint32_t msg_len = 0, uint32_t msg_offset = 0) {
    ASSERT_TRUE(peer_->send_rdma_write(a_, ref, pattern(len, 0x5C), flags, msg_len ? msg_len : len,
                                       msg_offset));
  }
  void read(const wire::RdmaRef& ref, uint32_t len) {
    ASSERT_TRUE(peer_->send_rdma_read(a_, ref, len, 1));
  }

  void expect_regions_unchanged() {
    for (const Region* r : {&rw_, &ro_, &wo_, &other_}) EXPECT_TRUE(r->unchanged()) << "a region changed";
  }

  /**
   * The refusal was counted under one of `reasons` (DPSAN_RDMA_DENY_*) and under no other: the
   * frame was stopped by the check the test aimed at, not by an earlier one.
   */
  void expect_counted(std::initializer_list<int> reasons) {
    DPSAN_STATS now = dpsan::test::stats(sw_);
    EXPECT_GT(now.rdma_denied, before_.rdma_denied);
    uint64_t counted = 0;
    for (int k = 1; k < static_cast<int>(std::size(now.rdma_denied_by_reason)); k++) {
      uint64_t grew = now.rdma_denied_by_reason[k] - before_.rdma_denied_by_reason[k];
      bool aimed = std::find(reasons.begin(), reasons.end(), k) != reasons.end();
      if (!aimed) {
        EXPECT_EQ(grew, 0u) << "refused by check " << k << " (DPSAN_RDMA_DENY_*)";
      }
      counted += aimed ? grew : 0;
    }
    EXPECT_GE(counted, 1u) << "not counted under the check aimed at";
  }

  /**
   * The last frame on connection A was refused: the target reset A with WSAECONNABORTED, its
   * pending receive failed with it and later calls do too, the refusal was counted, no region
   * changed, and connection B is untouched.
   */
  void expect_refused(std::initializer_list<int> reasons) {
    uint32_t reason = 0;
    ASSERT_TRUE(peer_->wait_reset(a_, after_ms(kWaitMs), &reason)) << "the target accepted the frame";
    EXPECT_EQ(reason, wire::kConnAborted);
    ASSERT_TRUE(wait_done(recv_ov_, kWaitMs)) << "the target's pending receive did not fail";
    EXPECT_EQ(recv_ov_.OffsetHigh, static_cast<DWORD>(WSAECONNABORTED));
    expect_counted(reasons);
    expect_regions_unchanged();
    // Later calls on the aborted connection fail with the sticky error.
    int e = 0;
    WSAOVERLAPPED ov{};
    ov.hEvent = kPoll;
    WSABUF wb{1, inbox_};
    DWORD flags = 0;
    EXPECT_EQ(sw_.proc().lpWSPRecv(target_, &wb, 1, nullptr, &flags, &ov, nullptr, nullptr, &e),
              SOCKET_ERROR);
    EXPECT_EQ(e, WSAECONNABORTED);
    // Only A was aborted.
    peer_->pump();
    EXPECT_FALSE(peer_->conn(b_).reset) << "connection B was reset too";
    EXPECT_FALSE(ov_done(recv2_ov_)) << "connection B's receive ended";
  }

  /** Connection `c` is still up: a message from the raw peer reaches the pending receive. */
  void expect_alive(size_t c, WSAOVERLAPPED& ov, const char* inbox) {
    ASSERT_TRUE(peer_->wait_credit(c, after_ms(kWaitMs))) << "no receive credit from the target";
    Bytes msg = pattern(40, 0x33);
    ASSERT_TRUE(peer_->send_data(c, msg));
    ASSERT_TRUE(wait_done(ov, kWaitMs)) << "the message did not arrive";
    EXPECT_EQ(ov.OffsetHigh, 0u);
    EXPECT_EQ(ov.InternalHigh, msg.size());
    EXPECT_EQ(std::memcmp(inbox, msg.data(), msg.size()), 0);
    EXPECT_FALSE(peer_->conn(c).reset);
  }

  MiniSwitch sw_;
  dpsan::perf::Event lev_;
  LPFN_WSPREGISTERRDMAMEMORY reg_rdma_ = nullptr;
  LPFN_WSPDEREGISTERRDMAMEMORY dereg_rdma_ = nullptr;
  LPFN_WSPRDMAREAD rdma_read_ = nullptr;
  std::unique_ptr<RawPeer> peer_;
  size_t a_ = 0, b_ = 0;  // the raw peer's connections to target_ and target2_
  SOCKET listener_ = INVALID_SOCKET, target_ = INVALID_SOCKET, target2_ = INVALID_SOCKET;
  Region rw_, ro_, wo_, other_;
  char inbox_[256] = {}, inbox2_[256] = {};
  WSAOVERLAPPED recv_ov_{}, recv2_ov_{};
  DPSAN_STATS before_{};
};

}  // namespace

// The raw peer itself: an honest write is placed, exactly there, and the connection lives on.
TEST_F(Hostile, R62_HonestWriteIsPlacedAndTheConnectionLivesOn) {
  write(ref_of(rw_.d, 100), 64);
  ASSERT_TRUE(peer_->wait_acked(a_, after_ms(kWaitMs))) << "the write was not acknowledged";
  Bytes want = pattern(64, 0x5C);
  std::memcpy(rw_.snapshot.data() + 100, want.data(), want.size());
  EXPECT_TRUE(rw_.unchanged()) << "not placed, or placed elsewhere too";
  for (const Region* r : {&ro_, &wo_, &other_}) EXPECT_TRUE(r->unchanged());
  expect_alive(a_, recv_ov_, inbox_);
  EXPECT_EQ(dpsan::test::stats(sw_).rdma_denied, before_.rdma_denied);
}

// An honest read is served from the region, in several frames, and the connection lives on.
TEST_F(Hostile, R62_HonestReadIsServed) {
  constexpr uint32_t kLen = 3000;  // more than one frame
  ASSERT_TRUE(peer_->send_rdma_read(a_, ref_of(rw_.d, 5), kLen, 9));
  Bytes got;
  for (bool last = false; !last;) {
    RxFrame fr;
    ASSERT_TRUE(peer_->wait_frame(a_, wire::kRdmaReadResp, after_ms(kWaitMs), &fr)) << got.size();
    EXPECT_EQ(fr.f.msg_seq, 9u);
    EXPECT_EQ(fr.f.msg_len, kLen);
    ASSERT_EQ(fr.f.msg_offset, got.size());
    got.insert(got.end(), fr.payload.begin(), fr.payload.end());
    last = fr.f.flags & wire::kLast;
  }
  ASSERT_EQ(got.size(), kLen);
  EXPECT_EQ(std::memcmp(got.data(), rw_.buf.get() + 5, kLen), 0);
  expect_regions_unchanged();
  expect_alive(a_, recv_ov_, inbox_);
  EXPECT_EQ(dpsan::test::stats(sw_).rdma_denied, before_.rdma_denied);
}

TEST_F(Hostile, R62_WrongKeyIsRefused) {
  wire::RdmaRef r = ref_of(rw_.d, 0);
  r.key ^= 1;
  write(r, 16);
  expect_refused({DPSAN_RDMA_DENY_KEY});
}

TEST_F(Hostile, R62_WrongKeyReadIsRefused) {
  wire::RdmaRef r = ref_of(rw_.d, 0);
  r.key = 0;
  read(r, 16);
  expect_refused({DPSAN_RDMA_DENY_KEY});
}

TEST_F(Hostile, R63_RevokedKeyIsRefused) {
  int e = 0;
  ASSERT_EQ(dereg_rdma_(target_, &rw_.d, sizeof rw_.d, &e), 0);
  write(ref_of(rw_.d, 0), 16);
  expect_refused({DPSAN_RDMA_DENY_REVOKED});
}

TEST_F(Hostile, R63_RevokedKeyReadIsRefused) {
  int e = 0;
  ASSERT_EQ(dereg_rdma_(target_, &rw_.d, sizeof rw_.d, &e), 0);
  read(ref_of(rw_.d, 0), 16);
  expect_refused({DPSAN_RDMA_DENY_REVOKED});
}

TEST_F(Hostile, R63_RevokedSlotReusedWithTheOldGenerationIsRefused) {
  int e = 0;
  ASSERT_EQ(dereg_rdma_(target_, &rw_.d, sizeof rw_.d, &e), 0);
  Region again;  // most likely the same slot, with a new generation and key
  ASSERT_TRUE(make_region(target_, MEM_READWRITE, 0xA4, &again));
  wire::RdmaRef r = ref_of(rw_.d, 0);
  r.key = again.d.key;  // even with the new key: the old generation is dead
  write(r, 16);
  expect_refused({DPSAN_RDMA_DENY_REVOKED});
  EXPECT_TRUE(again.unchanged());
}

TEST_F(Hostile, R62_OutOfBoundsOffsetIsRefused) {
  write(ref_of(rw_.d, kRegion - 8), 16);
  expect_refused({DPSAN_RDMA_DENY_BOUNDS});
}

TEST_F(Hostile, R62_WriteRunningPastTheEndPlacesNothing) {
  // The first segment alone fits, but the whole write (msg_len) does not: nothing is placed.
  write(ref_of(rw_.d, kRegion - 100), 64, wire::kFirst, 200, 0);
  expect_refused({DPSAN_RDMA_DENY_BOUNDS});
}

TEST_F(Hostile, R62_MiddleSegmentOutOfBoundsIsRefused) {
  // No first segment: a lone middle segment that lies past the region.
  write(ref_of(rw_.d, 0), 64, 0, 1u << 20, kRegion);
  expect_refused({DPSAN_RDMA_DENY_BOUNDS});
}

TEST_F(Hostile, R62_LengthOverflowIsRefused) {
  write(ref_of(rw_.d, UINT64_MAX - 4), 16);
  expect_refused({DPSAN_RDMA_DENY_PROTOCOL});
}

TEST_F(Hostile, R62_HugeOffsetReadIsRefused) {
  read(ref_of(rw_.d, uint64_t{1} << 40), 4096);
  expect_refused({DPSAN_RDMA_DENY_BOUNDS});
}

TEST_F(Hostile, R62_ReadLongerThanTheRegionIsRefused) {
  read(ref_of(rw_.d, 1), kRegion);
  expect_refused({DPSAN_RDMA_DENY_BOUNDS});
}

TEST_F(Hostile, R62_WriteToReadOnlyRegionIsRefused) {
  write(ref_of(ro_.d, 0), 16);
  expect_refused({DPSAN_RDMA_DENY_RIGHTS});
}

TEST_F(Hostile, R62_ReadOfWriteOnlyRegionIsRefused) {
  read(ref_of(wo_.d, 0), 16);
  expect_refused({DPSAN_RDMA_DENY_RIGHTS});
}

TEST_F(Hostile, R64_KeyFromAnotherConnectionIsRefused) {
  // other_ was registered on connection B; A's peer may not use it...
  write(ref_of(other_.d, 0), 16);
  expect_refused({DPSAN_RDMA_DENY_CONN});
  // ...although B's peer may: the descriptor is good, only the connection is wrong.
  ASSERT_TRUE(peer_->send_rdma_write(b_, ref_of(other_.d, 0), pattern(16, 0x5C),
                                     wire::kFirst | wire::kLast, 16, 0));
  ASSERT_TRUE(peer_->wait_acked(b_, after_ms(kWaitMs)));
  Bytes want = pattern(16, 0x5C);
  EXPECT_EQ(std::memcmp(other_.buf.get(), want.data(), want.size()), 0);
  expect_alive(b_, recv2_ov_, inbox2_);
}

TEST_F(Hostile, R64_ForgedConnectionIdWithAnotherConnectionsKeyIsRefused) {
  wire::RdmaRef r = ref_of(other_.d, 0);
  r.desc_conn = rw_.d.conn;  // claims our connection, names the other's slot, gen and key
  write(r, 16);
  // Our slot of that number holds another region: refused as another generation or key.
  expect_refused({DPSAN_RDMA_DENY_KEY, DPSAN_RDMA_DENY_REVOKED});
}

TEST_F(Hostile, R62_UnknownRegionSlotIsRefused) {
  wire::RdmaRef r = ref_of(rw_.d, 0);
  r.region = 0xFFFFFFF0u;
  write(r, 16);
  expect_refused({DPSAN_RDMA_DENY_REGION});
}

TEST_F(Hostile, R62_UnsolicitedReadResponseIsRefused) {
  // The target has no read outstanding: a READ_RESP is a broken or hostile peer.
  ASSERT_TRUE(peer_->send_reliable(a_, wire::kRdmaReadResp, wire::kFirst | wire::kLast, 7, 16, 0,
                                   pattern(16, 0x5C)));
  expect_refused({DPSAN_RDMA_DENY_PROTOCOL});
}

/**
 * The other direction: the target reads 64 bytes from the raw peer, with a descriptor the test
 * made up (opaque to the target, as any peer's is). post_read() leaves the read pending and the
 * raw peer holding its RDMA_READ_REQ; the test then answers it, honestly or not.
 */
class HostileRead : public Hostile {
 protected:
  void post_read() {
    int e = 0;
    handle_ = sw_.register_memory(target_, local_, sizeof local_, MEM_READWRITE, &e);
    ASSERT_NE(handle_, nullptr);
    std::memset(local_, 0x77, sizeof local_);
    fp::RdmaDescriptor d{fp::kRdmaDescMagic, 0x1234, 3, 1, 0xfeedface};
    WSABUFEX buf{64, local_, handle_};
    read_ov_.hEvent = kPoll;
    ASSERT_EQ(rdma_read_(target_, &buf, 1, &d, sizeof d, 0, nullptr, 0, &read_ov_, nullptr, nullptr, &e),
              SOCKET_ERROR);
    ASSERT_EQ(e, WSA_IO_PENDING);
    ASSERT_TRUE(peer_->wait_frame(a_, wire::kRdmaReadReq, after_ms(kWaitMs), &req_)) << "no READ_REQ";
    EXPECT_EQ(req_.f.msg_len, 64u);
  }
  HANDLE handle_ = nullptr;
  char local_[64];
  WSAOVERLAPPED read_ov_{};
  RxFrame req_;
};

// The raw peer as an RDMA target: an honest response completes the target's read.
TEST_F(HostileRead, R62_HonestReadResponseCompletesTheRead) {
  post_read();
  ASSERT_TRUE(peer_->send_reliable(a_, wire::kRdmaReadResp, wire::kFirst | wire::kLast,
                                   req_.f.msg_seq, 64, 0, pattern(64, 0x21)));
  ASSERT_TRUE(wait_done(read_ov_, kWaitMs));
  EXPECT_EQ(read_ov_.OffsetHigh, 0u);
  EXPECT_EQ(read_ov_.InternalHigh, 64u);
  Bytes want = pattern(64, 0x21);
  EXPECT_EQ(std::memcmp(local_, want.data(), 64), 0);
  expect_alive(a_, recv_ov_, inbox_);
}

// A response naming another read is refused: the target's read fails and its buffer is untouched.
TEST_F(HostileRead, R62_ResponseToAnotherReadIsRefused) {
  post_read();
  ASSERT_TRUE(peer_->send_reliable(a_, wire::kRdmaReadResp, wire::kFirst | wire::kLast,
                                   req_.f.msg_seq + 1, 64, 0, pattern(64, 0x21)));
  expect_refused({DPSAN_RDMA_DENY_PROTOCOL});
  ASSERT_TRUE(wait_done(read_ov_, kWaitMs));
  EXPECT_EQ(read_ov_.OffsetHigh, static_cast<DWORD>(WSAECONNABORTED));
  for (char ch : local_) ASSERT_EQ(ch, 0x77) << "the read's buffer was written";
}
