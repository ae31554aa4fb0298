/* SPDX-License-Identifier: BSD-3-Clause */
// R18: the final cleanup releases every registration, local and RDMA, cached or not; a peer
// holding an old RDMA descriptor can then neither read nor write the memory.
// R31: WSPCloseSocket (and the final cleanup) with RDMA operations in flight makes each of them
// complete within bounded time, with WSA_OPERATION_ABORTED or a connection error.

#include "rdma_helpers.h"

using namespace dpsan_conf;

namespace {

constexpr size_t kBig = 16u << 20;

bool ended_as_abort(const OvResult& r) {
  return !r.ok && (r.err == WSA_OPERATION_ABORTED || r.err == WSAECONNRESET ||
                   r.err == WSAECONNABORTED);
}

/**
 * Startup, a connection k, and from k.c() writes and reads of kBig bytes into a region of k.a(),
 * big enough to be in flight; their overlappeds. The caller holds the Session.
 */
void rdma_in_flight(Conn* k, std::vector<WSAOVERLAPPED*>* ovs) {
  RdmaRegion remote;
  ASSERT_TRUE(rdma_setup(k, kBig, &remote));
  Region local;
  ASSERT_TRUE(make_region(k->c(), kBig, &local));
  for (int i = 0; i < 6; i++) {
    WSAOVERLAPPED* ov = sw().new_ov(i % 2 ? Mode::Upcall : Mode::Poll);
    if (i < 4) ASSERT_TRUE(write_pending(k->ext, k->c(), local, 0, kBig, remote, 0, ov));
    else ASSERT_TRUE(read_pending(k->ext, k->c(), local, 0, kBig, remote, 0, ov));
    ovs->push_back(ov);
  }
}

}  // namespace

TEST(Conformance, R18_FinalCleanupRevokesRdmaRegistrations) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  RdmaRegion old;
  {
    Conn k;
    ASSERT_TRUE(make_conn(&k));
    ASSERT_TRUE(make_rdma_region(k.ext, k.a(), 65536, &old, MEM_READWRITE, 0x11));
    Region r;
    ASSERT_TRUE(make_region(k.c(), 4096, &r));
    ASSERT_TRUE(make_region(k.a(), 8192, &r));
    int err = 0;
    ASSERT_EQ(k.ext.dereg(k.a(), r.h, &err), 0);  // a deregistered, cached range too
  }
  ASSERT_EQ(sw().cleanup(), 0);
  ASSERT_EQ(sw().startup(), 0);
  DPSAN_STATS st{};
  ASSERT_TRUE(get_stats(&st));
  EXPECT_EQ(st.registrations, 0u);
  EXPECT_EQ(st.rdma_registrations, 0u);
  EXPECT_EQ(st.cache_entries, 0u) << "cached registrations survived the final cleanup";
  // A new connection on the new instance, with a live region in what may be the same slot:
  // the old descriptor reaches nothing.
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  RdmaRegion fresh;
  ASSERT_TRUE(make_rdma_region(k.ext, k.a(), 65536, &fresh, MEM_READWRITE, 0x22));
  Region local;
  ASSERT_TRUE(make_region(k.c(), 4096, &local, MEM_READWRITE, 0x77));
  WSAOVERLAPPED* ov = sw().new_ov(Mode::Poll);
  int err = 0;
  int rc = rdma_write(k.ext, k.c(), local, 0, 4096, old, 0, ov, &err);
  if (rc == SOCKET_ERROR && err == WSA_IO_PENDING) {
    OvResult r;
    ASSERT_TRUE(wait_result(k.c(), ov, &r));
    EXPECT_FALSE(r.ok) << "a write with a descriptor of the previous instance succeeded";
  } else {
    EXPECT_EQ(rc, SOCKET_ERROR);
  }
  EXPECT_TRUE(all_bytes(old.buf, old.len, 0x11)) << "old region changed";
  EXPECT_TRUE(all_bytes(fresh.buf, fresh.len, 0x22)) << "new region changed";
  EXPECT_EQ(sw().cleanup(), 0);
}

TEST(Conformance, R31_CloseAbortsRdmaInFlight) {
  Session ses;
  Conn k;
  std::vector<WSAOVERLAPPED*> ovs;
  ASSERT_NO_FATAL_FAILURE(rdma_in_flight(&k, &ovs));
  auto t0 = Clock::now();
  ASSERT_TRUE(close_socket(k.c()));
  unsigned aborted = 0;
  for (WSAOVERLAPPED* ov : ovs) {
    ASSERT_TRUE(wait_done(ov, Ms(5000))) << "an RDMA in flight did not end after the close";
    if (ov->OffsetHigh != 0) {
      EXPECT_TRUE(ov->OffsetHigh == WSA_OPERATION_ABORTED || ov->OffsetHigh == WSAECONNRESET ||
                  ov->OffsetHigh == WSAECONNABORTED)
          << wsa_name(static_cast<int>(ov->OffsetHigh));
      aborted++;
    }
    if (ov->hEvent == nullptr) {
      EXPECT_LE(sw().completions_of(ov), 1u);
    }
  }
  EXPECT_LT(Clock::now() - t0, Ms(5000));
  EXPECT_GT(aborted, 0u) << "every RDMA had finished before the close: nothing was in flight";
  EXPECT_EQ(sw().cleanup(), 0);
}

TEST(Conformance, R31_FinalCleanupAbortsRdmaInFlight) {
  Session ses;
  Conn k;
  std::vector<WSAOVERLAPPED*> ovs;
  ASSERT_NO_FATAL_FAILURE(rdma_in_flight(&k, &ovs));
  ASSERT_EQ(sw().cleanup(), 0);
  unsigned aborted = 0;
  for (WSAOVERLAPPED* ov : ovs) {
    ASSERT_TRUE(ov_done(ov)) << "an RDMA was still pending after the final cleanup returned";
    OvResult r;
    r.ok = ov->OffsetHigh == 0;
    r.err = static_cast<int>(ov->OffsetHigh);
    if (!r.ok) {
      EXPECT_TRUE(ended_as_abort(r)) << wsa_name(r.err);
      aborted++;
    }
  }
  EXPECT_GT(aborted, 0u);
}
