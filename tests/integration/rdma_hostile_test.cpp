/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A hostile peer. Crafted RDMA frames are run through the target connection's receive path
 * (fastpath/rdma_test_hook.h: the owning core encodes each with wire::encode, so it passes the
 * header checks and its CRC, and hands it to wire::decode and the RX handler with the next
 * expected psn). Each case must be refused: the connection is aborted on the target, the
 * honest initiator's pending receive fails with WSAECONNABORTED (the RESET's reason), the
 * refusal is counted, and every byte of every registered region is unchanged.
 *
 * White-box: links the static library for spi::test_inject_frame; everything else goes through
 * the public interface.
 */
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include <dpsan/dpsan_stats.h>

#include "fastpath/rdma_region.h"
#include "fastpath/wire/header.h"
#include "fastpath/wire/rdma.h"
#include "mini_switch.h"
#include "provider_calls.h"
#include "spi-adapter/test_hooks.h"

using dpsan::perf::MiniSwitch;
using dpsan::test::ext_fn;
namespace fp = dpsan::fastpath;
namespace wire = dpsan::fastpath::wire;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kRegion = 65536;
WSAEVENT kPoll = reinterpret_cast<WSAEVENT>(uintptr_t{1});
uint16_t g_port = 43000;

bool wait_done(WSAOVERLAPPED& ov, int ms) {
  auto end = Clock::now() + std::chrono::milliseconds(ms);
  while (std::atomic_ref<ULONG_PTR>(ov.Internal).load(std::memory_order_acquire) ==
         WSS_OPERATION_IN_PROGRESS) {
    if (Clock::now() > end) return false;
    usleep(50);
  }
  return true;
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
    ASSERT_EQ(sw_.startup(), 0);
    reg_ = reinterpret_cast<LPFN_WSPREGISTERMEMORY>(ext_fn(sw_, WSAID_REGISTERMEMORY));
    reg_rdma_ = reinterpret_cast<LPFN_WSPREGISTERRDMAMEMORY>(ext_fn(sw_, WSAID_REGISTERRDMAMEMORY));
    dereg_rdma_ =
        reinterpret_cast<LPFN_WSPDEREGISTERRDMAMEMORY>(ext_fn(sw_, WSAID_DEREGISTERRDMAMEMORY));
    ASSERT_NE(reg_rdma_, nullptr);
    ASSERT_EQ(sw_.connect_pair(g_port++, &init_, &target_), "");
    ASSERT_EQ(sw_.connect_pair(g_port++, &init2_, &target2_), "");
    // A receive on the honest initiator: it fails when the target aborts the connection.
    int e = 0;
    ASSERT_NE(reg_(init_, inbox_, sizeof inbox_, MEM_READWRITE, &e), nullptr);
    recv_ov_.hEvent = kPoll;
    WSABUF wb{sizeof inbox_, inbox_};
    DWORD flags = 0;
    ASSERT_EQ(sw_.proc().lpWSPRecv(init_, &wb, 1, nullptr, &flags, &recv_ov_, nullptr, nullptr, &e),
              SOCKET_ERROR);
    ASSERT_EQ(e, WSA_IO_PENDING);
    ASSERT_TRUE(make_region(target_, MEM_READWRITE, 0xA1, &rw_));
    ASSERT_TRUE(make_region(target_, MEM_READ, 0xA2, &ro_));
    ASSERT_TRUE(make_region(target_, MEM_WRITE, 0xA3, &wo_));
    ASSERT_TRUE(make_region(target2_, MEM_READWRITE, 0xB1, &other_));
    denied0_ = stats().rdma_denied;
  }

  void TearDown() override {
    int e = 0;
    for (SOCKET s : {init_, target_, init2_, target2_}) sw_.proc().lpWSPCloseSocket(s, &e);
    EXPECT_EQ(sw_.cleanup(), 0);
  }

  bool make_region(SOCKET s, DWORD flags, int fill, Region* r) {
    r->buf.reset(new char[kRegion]);
    std::memset(r->buf.get(), fill, kRegion);
    r->snapshot.assign(r->buf.get(), r->buf.get() + kRegion);
    DWORD len = sizeof r->d;
    int e = 0;
    return reg_rdma_(s, r->buf.get(), kRegion, flags, &r->d, &len, &e) == 0;
  }

  DPSAN_STATS stats() {
    DPSAN_STATS st{};
    DWORD got = 0;
    int e = 0;
    sw_.proc().lpWSPIoctl(0, SIO_DPSAN_GET_STATS, nullptr, 0, &st, sizeof st, &got, nullptr,
                          nullptr, nullptr, &e);
    return st;
  }

  static wire::RdmaRef ref_of(const fp::RdmaDescriptor& d, uint64_t offset) {
    return wire::RdmaRef{d.conn, d.region, d.gen, d.key, offset};
  }

  /** Run one frame through `s`'s receive path as its peer's. */
  fp::TestFrame inject(SOCKET s, uint8_t opcode, uint16_t flags, uint32_t msg_len,
                       uint32_t msg_offset, const wire::RdmaRef* ref, size_t data_len,
                       uint32_t msg_seq = 0) {
    std::vector<uint8_t> payload;
    if (ref) {
      payload.resize(sizeof(wire::RdmaBody));
      wire::put_rdma_body(payload.data(), *ref);
    }
    for (size_t i = 0; i < data_len; i++) payload.push_back(static_cast<uint8_t>(0x5C ^ i));
    fp::TestFrame t{};
    t.opcode = opcode;
    t.flags = flags;
    t.msg_seq = msg_seq;
    t.msg_len = msg_len;
    t.msg_offset = msg_offset;
    t.payload = payload.data();
    t.payload_len = static_cast<uint16_t>(payload.size());
    EXPECT_EQ(dpsan::spi::test_inject_frame(s, &t), 0);
    return t;
  }

  fp::TestFrame write(const wire::RdmaRef& ref, uint32_t len, uint16_t flags = wire::kFirst | wire::kLast,
                      uint32_t msg_len = 0, uint32_t msg_offset = 0) {
    return inject(target_, wire::kRdmaWrite, flags, msg_len ? msg_len : len, msg_offset, &ref, len);
  }
  fp::TestFrame read(const wire::RdmaRef& ref, uint32_t len) {
    return inject(target_, wire::kRdmaReadReq, wire::kFirst | wire::kLast, len, 0, &ref, 0);
  }

  /** The frame was refused: target aborted, initiator told, counted, no region changed. */
  void expect_refused(const fp::TestFrame& t) {
    EXPECT_TRUE(t.conn_failed) << "the target accepted the frame";
    ASSERT_TRUE(wait_done(recv_ov_, 5000)) << "the initiator was not told";
    EXPECT_EQ(recv_ov_.OffsetHigh, static_cast<DWORD>(WSAECONNABORTED));
    EXPECT_GT(stats().rdma_denied, denied0_);
    for (const Region* r : {&rw_, &ro_, &wo_, &other_})
      EXPECT_TRUE(r->unchanged()) << "a region changed";
    // Later calls on the aborted connection fail with the sticky error.
    int e = 0;
    WSAOVERLAPPED ov{};
    ov.hEvent = kPoll;
    WSABUF wb{1, inbox_};
    DWORD flags = 0;
    EXPECT_EQ(sw_.proc().lpWSPRecv(target_, &wb, 1, nullptr, &flags, &ov, nullptr, nullptr, &e),
              SOCKET_ERROR);
    EXPECT_EQ(e, WSAECONNABORTED);
  }

  MiniSwitch sw_;
  LPFN_WSPREGISTERMEMORY reg_ = nullptr;
  LPFN_WSPREGISTERRDMAMEMORY reg_rdma_ = nullptr;
  LPFN_WSPDEREGISTERRDMAMEMORY dereg_rdma_ = nullptr;
  SOCKET init_ = INVALID_SOCKET, target_ = INVALID_SOCKET;
  SOCKET init2_ = INVALID_SOCKET, target2_ = INVALID_SOCKET;
  Region rw_, ro_, wo_, other_;
  char inbox_[256] = {};
  WSAOVERLAPPED recv_ov_{};
  uint64_t denied0_ = 0;
};

}  // namespace

// The hook itself: an honest frame is placed and the connection lives on.
TEST_F(Hostile, R62_HonestInjectedWriteIsPlaced) {
  fp::TestFrame t = write(ref_of(rw_.d, 100), 64);
  EXPECT_FALSE(t.conn_failed);
  for (size_t i = 0; i < 64; i++) ASSERT_EQ(static_cast<uint8_t>(rw_.buf[100 + i]), 0x5C ^ i);
  EXPECT_FALSE(wait_done(recv_ov_, 50)) << "the connection was aborted";
  EXPECT_EQ(stats().rdma_denied, denied0_);
}

TEST_F(Hostile, R62_WrongKeyIsRefused) {
  wire::RdmaRef r = ref_of(rw_.d, 0);
  r.key ^= 1;
  expect_refused(write(r, 16));
}

TEST_F(Hostile, R62_WrongKeyReadIsRefused) {
  wire::RdmaRef r = ref_of(rw_.d, 0);
  r.key = 0;
  expect_refused(read(r, 16));
}

TEST_F(Hostile, R63_RevokedKeyIsRefused) {
  int e = 0;
  ASSERT_EQ(dereg_rdma_(target_, &rw_.d, sizeof rw_.d, &e), 0);
  expect_refused(write(ref_of(rw_.d, 0), 16));
}

TEST_F(Hostile, R63_RevokedSlotReusedWithTheOldGenerationIsRefused) {
  int e = 0;
  ASSERT_EQ(dereg_rdma_(target_, &rw_.d, sizeof rw_.d, &e), 0);
  Region again;  // most likely the same slot, with a new generation and key
  ASSERT_TRUE(make_region(target_, MEM_READWRITE, 0xA4, &again));
  wire::RdmaRef r = ref_of(rw_.d, 0);
  r.key = again.d.key;  // even with the new key: the old generation is dead
  expect_refused(write(r, 16));
  EXPECT_TRUE(again.unchanged());
}

TEST_F(Hostile, R62_OutOfBoundsOffsetIsRefused) {
  expect_refused(write(ref_of(rw_.d, kRegion - 8), 16));
}

TEST_F(Hostile, R62_WriteRunningPastTheEndPlacesNothing) {
  // The first segment alone fits, but the whole write (msg_len) does not: nothing is placed.
  expect_refused(write(ref_of(rw_.d, kRegion - 100), 64, wire::kFirst, 200, 0));
}

TEST_F(Hostile, R62_MiddleSegmentOutOfBoundsIsRefused) {
  // No first segment: a lone middle segment that lies past the region.
  expect_refused(write(ref_of(rw_.d, 0), 64, 0, 1u << 20, kRegion));
}

TEST_F(Hostile, R62_LengthOverflowIsRefused) {
  expect_refused(write(ref_of(rw_.d, UINT64_MAX - 4), 16));
}

TEST_F(Hostile, R62_HugeOffsetReadIsRefused) {
  expect_refused(read(ref_of(rw_.d, uint64_t{1} << 40), 4096));
}

TEST_F(Hostile, R62_ReadLongerThanTheRegionIsRefused) {
  expect_refused(read(ref_of(rw_.d, 1), kRegion));
}

TEST_F(Hostile, R62_WriteToReadOnlyRegionIsRefused) {
  expect_refused(write(ref_of(ro_.d, 0), 16));
}

TEST_F(Hostile, R62_ReadOfWriteOnlyRegionIsRefused) {
  expect_refused(read(ref_of(wo_.d, 0), 16));
}

TEST_F(Hostile, R64_KeyFromAnotherConnectionIsRefused) {
  expect_refused(write(ref_of(other_.d, 0), 16));
}

TEST_F(Hostile, R64_ForgedConnectionIdWithAnotherConnectionsKeyIsRefused) {
  wire::RdmaRef r = ref_of(other_.d, 0);
  r.desc_conn = rw_.d.conn;  // claims our connection, names the other's slot, gen and key
  expect_refused(write(r, 16));
}

TEST_F(Hostile, R62_UnknownRegionSlotIsRefused) {
  wire::RdmaRef r = ref_of(rw_.d, 0);
  r.region = 0xFFFFFFF0u;
  expect_refused(write(r, 16));
}

TEST_F(Hostile, R62_UnsolicitedReadResponseIsRefused) {
  // The initiator has no read outstanding: a READ_RESP is a broken or hostile peer.
  inbox_[0] = 0;
  fp::TestFrame t = inject(init_, wire::kRdmaReadResp, wire::kFirst | wire::kLast, 16, 0, nullptr, 16, 7);
  EXPECT_TRUE(t.conn_failed);
  for (const Region* r : {&rw_, &ro_, &wo_, &other_}) EXPECT_TRUE(r->unchanged());
}
