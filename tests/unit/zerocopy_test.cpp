/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Zero-copy reference counting (fastpath/zerocopy.h): an operation whose frames are attached to
 * the switch's memory completes only once it has ended AND every mbuf pointing into that memory
 * is freed (R19), whoever frees it last; its registration uses stay taken until then (R59); a
 * receiver flattens such a frame and lets it go at once; the ports that cannot carry them say
 * so (the copy fallback). White-box, on an Engine with one loopback port (no poll loop runs).
 */
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <rte_mbuf.h>

#include "eal_main.h"
#include "fastpath/engine.h"
#include "fastpath/port/port.h"
#include "fastpath/zerocopy.h"

namespace dpsan::fastpath {
namespace {

constexpr uint32_t kAborted = 995;

class ZeroCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!unit::eal_available()) GTEST_SKIP() << "no EAL on this machine: " << unit::eal_error();
    static unsigned instance = 900;
    instance_ = instance++;
    pool_ = rte_pktmbuf_pool_create(("zc_unit" + std::to_string(instance_)).c_str(), 1023, 0, 0,
                                    2048 + RTE_PKTMBUF_HEADROOM, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
    std::string err;
    port_ = loopback_port_open(instance_, pool_, 1, 0, &err);
    ASSERT_NE(port_, nullptr) << err;
    EngineConfig cfg;
    cfg.max_conns_per_core = 16;
    cfg.max_requests = 1024;
    cfg.mbufs = 1023;
    cfg.mbuf_data_room = 2048 + RTE_PKTMBUF_HEADROOM;
    cfg.max_registrations = 16;
    const char* why = nullptr;
    ASSERT_TRUE(engine_.init(cfg, instance_, &port_, pool_, &why)) << why;
    mr_ = engine_.mrs.create(7, reinterpret_cast<uintptr_t>(mem_.data()), mem_.size(), 0);
    ASSERT_NE(mr_, 0u);
  }
  void TearDown() override {
    if (port_) {
      port_->close();
      delete port_;
    }
    if (pool_) rte_mempool_free(pool_);
  }

  /** A send of `mem_` in poll mode, holding one use of the registration, as WSPSend makes it. */
  Request* op() {
    Request* r = engine_.request_get();
    r->kind = ReqKind::kSend;
    r->link = &link_;
    r->ov = &ov_;
    ov_ = OvView{};
    ov_.h_event = reinterpret_cast<void*>(uintptr_t{1});  // poll mode: published in place
    ov_start(&ov_);
    r->nsge = 1;
    r->sge[0] = Sge{mem_.data(), static_cast<uint32_t>(mem_.size()),
                    engine_.mrs.acquire(mr_, 7, reinterpret_cast<uintptr_t>(mem_.data()), 1, 0)};
    return r;
  }

  unsigned instance_ = 0;
  rte_mempool* pool_ = nullptr;
  Port* port_ = nullptr;
  Engine engine_;
  SocketLink link_;
  OvView ov_{};
  std::vector<char> mem_ = std::vector<char>(64 * 1024, 'z');
  uint64_t mr_ = 0;
};

TEST_F(ZeroCopyTest, R19_CompletesOnlyAfterTheLastAttachedMbufIsFreed) {
  Request* r = op();
  zc_begin(r, &engine_);
  rte_mbuf* m[3];
  for (int i = 0; i < 3; i++) ASSERT_NE(m[i] = zc_attach(pool_, r, mem_.data() + i * 4096, 4096), nullptr);
  engine_.finish(r, 0, 12288);  // acknowledged, but three frames still point into mem_
  EXPECT_FALSE(ov_is_done(&ov_));
  EXPECT_EQ(engine_.zc_waiting.load(), 1u);
  EXPECT_EQ(link_.pending_upcalls.load(), 1u) << "a close must wait for the release";
  EXPECT_EQ(engine_.mrs.destroy(mr_, 7), -1) << "R59: the registration is still in use";
  rte_pktmbuf_free(m[1]);
  rte_pktmbuf_free(m[0]);
  EXPECT_FALSE(ov_is_done(&ov_));
  rte_pktmbuf_free(m[2]);
  ASSERT_TRUE(ov_is_done(&ov_));
  EXPECT_EQ(ov_.offset_high, 0u);
  EXPECT_EQ(ov_.internal_high, 12288u);
  EXPECT_EQ(engine_.zc_waiting.load(), 0u);
  EXPECT_EQ(link_.pending_upcalls.load(), 0u);
  EXPECT_EQ(engine_.requests_in_use(), 0u);
  EXPECT_EQ(engine_.mrs.destroy(mr_, 7), 0) << "released with the completion";
}

TEST_F(ZeroCopyTest, R19_NoFrameLeftCompletesAtOnce) {
  Request* r = op();
  zc_begin(r, &engine_);
  rte_mbuf* m = zc_attach(pool_, r, mem_.data(), 2048);
  rte_pktmbuf_free(m);  // acked and freed before the operation ended
  EXPECT_FALSE(ov_is_done(&ov_));
  engine_.finish(r, 0, 2048);
  EXPECT_TRUE(ov_is_done(&ov_));
  EXPECT_EQ(engine_.zc_waiting.load(), 0u);
  EXPECT_EQ(link_.pending_upcalls.load(), 0u);
}

TEST_F(ZeroCopyTest, R19_SharedChainNeedsEveryHolderToLetGo) {
  // A frame kept for retransmission and duplicated by the fault injector: one chain, three
  // holders (mbuf refcounts on every segment), one reference of the operation.
  Request* r = op();
  zc_begin(r, &engine_);
  rte_mbuf* h = rte_pktmbuf_alloc(pool_);
  rte_mbuf* d = zc_attach(pool_, r, mem_.data() + 100, 3000);
  ASSERT_EQ(rte_pktmbuf_chain(h, d), 0);
  rte_pktmbuf_refcnt_update(h, 2);
  engine_.finish(r, 0, 3000);
  rte_pktmbuf_free(h);
  rte_pktmbuf_free(h);
  EXPECT_FALSE(ov_is_done(&ov_));
  rte_pktmbuf_free(h);
  EXPECT_TRUE(ov_is_done(&ov_));
}

TEST_F(ZeroCopyTest, R19_ReleaseOnAnotherThreadPublishes) {
  Request* r = op();
  zc_begin(r, &engine_);
  rte_mbuf* m = zc_attach(pool_, r, mem_.data(), 4096);
  engine_.finish(r, 10053, 0);  // failed (connection aborted) while a port holds the frame
  std::thread([m] { rte_pktmbuf_free(m); }).join();
  ASSERT_TRUE(ov_is_done(&ov_));
  EXPECT_EQ(ov_.offset_high, 10053u);
  EXPECT_EQ(link_.pending_upcalls.load(), 0u);
}

TEST_F(ZeroCopyTest, R12_ReleasedDuringTheFinalCleanupEndsAsAnAbort) {
  Request* r = op();
  zc_begin(r, &engine_);
  rte_mbuf* m = zc_attach(pool_, r, mem_.data(), 4096);
  engine_.finish(r, 0, 4096);  // acked before the cleanup began, frame still held
  engine_.mark_stopping();
  rte_pktmbuf_free(m);
  ASSERT_TRUE(ov_is_done(&ov_));
  EXPECT_EQ(ov_.offset_high, kAborted);
  EXPECT_EQ(ov_.internal_high, 0u);
}

TEST_F(ZeroCopyTest, FlattenCopiesTheChainAndReleasesTheSwitchBuffer) {
  for (size_t i = 0; i < mem_.size(); i++) mem_[i] = static_cast<char>(i * 7);
  Request* r = op();
  zc_begin(r, &engine_);
  rte_mbuf* h = rte_pktmbuf_alloc(pool_);
  std::memset(rte_pktmbuf_append(h, 90), 0xab, 90);
  ASSERT_EQ(rte_pktmbuf_chain(h, zc_attach(pool_, r, mem_.data() + 5, 1900)), 0);
  engine_.finish(r, 0, 1900);
  rte_mbuf* flat = zc_flatten(h, pool_);
  ASSERT_NE(flat, nullptr);
  EXPECT_TRUE(ov_is_done(&ov_)) << "the receiver let go of the switch's memory";
  EXPECT_EQ(flat->nb_segs, 1);
  ASSERT_EQ(rte_pktmbuf_data_len(flat), 1990u);
  const auto* p = rte_pktmbuf_mtod(flat, const uint8_t*);
  EXPECT_EQ(p[0], 0xab);
  EXPECT_EQ(p[89], 0xab);
  EXPECT_EQ(std::memcmp(p + 90, mem_.data() + 5, 1900), 0);
  rte_pktmbuf_free(flat);
}

TEST_F(ZeroCopyTest, FlattenOfTooLongAChainDropsIt) {
  Request* r = op();
  zc_begin(r, &engine_);
  rte_mbuf* h = rte_pktmbuf_alloc(pool_);
  rte_pktmbuf_append(h, 200);
  ASSERT_EQ(rte_pktmbuf_chain(h, zc_attach(pool_, r, mem_.data(), 2000)), 0);  // > 2048 room
  engine_.finish(r, 0, 2000);
  EXPECT_EQ(zc_flatten(h, pool_), nullptr);
  EXPECT_TRUE(ov_is_done(&ov_)) << "dropped like a lost frame: the buffer is released";
}

TEST_F(ZeroCopyTest, InProcessRingsAndTheirFaultWrapperTakeZeroCopyFrames) {
  EXPECT_TRUE(port_->zero_copy_tx());
  std::string err;
  Port* pair = ring_pair_port_open("zcu" + std::to_string(instance_), 0, pool_, 1, 0, &err);
  ASSERT_NE(pair, nullptr) << err;
  EXPECT_TRUE(pair->zero_copy_tx());
  FaultConfig f;
  f.loss = 0.5;
  Port* faulty = fault_port_wrap(pair, f, pool_, 1);
  EXPECT_TRUE(faulty->zero_copy_tx()) << "the injector forwards what its port can do";
  faulty->close();
  delete faulty;
}

}  // namespace
}  // namespace dpsan::fastpath
