/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Malformed frames sent raw onto a live wire. A connection runs across a net_ring pair; the
 * test takes one of its DATA frames off the wire (and puts it back), derives broken frames from
 * it (truncated, lying lengths, unknown opcode, bad checksums, a wrong connection id, a spoofed
 * source, stale and far-future sequence numbers, other protocols, a well-formed frame longer
 * than the receiving port's MTU) and puts each on the wire many
 * times. Every one must be counted under its reason and dropped; nothing crashes; the healthy
 * connection carries checked traffic before, during and after.
 */
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <dpsan/dpsan_stats.h>

#include "fastpath/wire/codec.h"
#include "mini_switch.h"
#include "provider_calls.h"
#include "traffic.h"

using dpsan::perf::MiniSwitch;
using dpsan::test::TrafficPair;
namespace wire = dpsan::fastpath::wire;

namespace {

using dpsan::test::stats;
using dpsan::test::ip;

constexpr unsigned kCopies = 40;  // of each broken frame
// The test pool's buffers hold the longest frame of the ring pair's ports (MTU 9000 unless
// configured: README "Ports"), as the provider's own pool does.
constexpr uint16_t kFrameRoom = 9216;

uint32_t size_of(unsigned, unsigned seq) { return 1 + (seq * 977) % 30000; }

using Bytes = std::vector<uint8_t>;

/**
 * Take a DATA frame off the wire and put it back (the receiver sees it a little late); the
 * core races us for every frame, so send big messages until one is caught. @return its bytes.
 */
Bytes sniff_data_frame(MiniSwitch& sw, TrafficPair& pr, rte_ring* wire_ring) {
  static std::vector<char> big(200000, 'x'), sink(200000, 'y');
  int err = 0;
  // Buffers must lie in a registration of their socket (R57).
  EXPECT_NE(sw.register_memory(pr.tx, big.data(), big.size(), MEM_READWRITE, &err), nullptr);
  EXPECT_NE(sw.register_memory(pr.rx, sink.data(), sink.size(), MEM_READWRITE, &err), nullptr);
  Bytes out;
  // The poll core takes frames off the same ring, and wins most races on a busy machine: keep
  // sending for up to 20 s (not a fixed number of tries) until one DATA frame is caught.
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (out.empty() && std::chrono::steady_clock::now() < end) {
    // A receive first: a message this big goes only against a posted receive (credit).
    int e = 0;
    WSAOVERLAPPED rov{}, ov{};
    rov.hEvent = ov.hEvent = reinterpret_cast<WSAEVENT>(uintptr_t{1});
    WSABUF rb{static_cast<ULONG>(sink.size()), sink.data()};
    WSABUF wb{static_cast<ULONG>(big.size()), big.data()};
    DWORD flags = 0;
    sw.proc().lpWSPRecv(pr.rx, &rb, 1, nullptr, &flags, &rov, nullptr, nullptr, &e);
    sw.proc().lpWSPSend(pr.tx, &wb, 1, nullptr, 0, &ov, nullptr, nullptr, &e);
    while (!dpsan::test::ov_done(rov) && out.empty()) {
      void* obj;
      if (rte_ring_mc_dequeue(wire_ring, &obj) != 0) continue;
      auto* m = static_cast<rte_mbuf*>(obj);
      wire::Frame fr;
      // Large DATA frames from registered memory are zero-copy chains (fastpath/zerocopy.h):
      // read the whole frame, not its first segment.
      static uint8_t flat[kFrameRoom];
      const uint32_t len = rte_pktmbuf_pkt_len(m);
      const auto* p = len <= sizeof flat ? static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, len, flat))
                                         : nullptr;
      if (p != nullptr && wire::decode(p, len, &fr) == wire::DecodeStatus::kOk &&
          fr.f.opcode == wire::kData && fr.payload_len > 100)
        out.assign(p, p + len);
      while (rte_ring_mp_enqueue(wire_ring, m) != 0) {
      }
    }
    while (!dpsan::test::ov_done(rov) || !dpsan::test::ov_done(ov)) usleep(100);
    EXPECT_EQ(rov.OffsetHigh, 0u);
    EXPECT_EQ(ov.OffsetHigh, 0u);
  }
  return out;
}

/** The frame re-encoded (valid checksums) with `edit` applied to its decoded fields. */
template <class F>
Bytes reencode(const Bytes& good, F edit) {
  wire::Frame fr;
  EXPECT_EQ(wire::decode(good.data(), good.size(), &fr), wire::DecodeStatus::kOk);
  Bytes out(good.size());
  std::memcpy(out.data() + wire::kFrameOverhead, fr.payload, fr.payload_len);
  wire::L3Addr a = fr.addr;
  edit(a, fr.f);
  out.resize(wire::encode(out.data(), a, fr.f, fr.payload_len));
  return out;
}

void inject(rte_mempool* pool, rte_ring* wire_ring, const Bytes& b, unsigned copies) {
  ASSERT_LE(b.size(), rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM) << "frame too long for the test pool";
  for (unsigned i = 0; i < copies; i++) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    ASSERT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), b.data(), b.size());
    m->data_len = static_cast<uint16_t>(b.size());
    m->pkt_len = static_cast<uint32_t>(b.size());
    while (rte_ring_mp_enqueue(wire_ring, m) != 0) usleep(10);
  }
}

}  // namespace

TEST(Malformed, EachBrokenFrameIsCountedAndDroppedAndTheHealthyConnectionGoesOn) {
  std::string path = "/tmp/dpsan-malformed-" + std::to_string(getpid()) + ".toml";
  {
    std::ofstream f(path);
    f << "[[port]]\ndevice = \"ringpair:mal:0\"\nipv4 = \"198.18.0.1/24\"\n"
         "[[port]]\ndevice = \"ringpair:mal:1\"\nipv4 = \"198.18.0.2/24\"\n";
  }
  setenv("DPSAN_CONFIG", path.c_str(), 1);
  MiniSwitch sw;
  ASSERT_EQ(sw.startup(), 0);
  unlink(path.c_str());
  unsetenv("DPSAN_CONFIG");

  // A healthy connection: client on port 0 (198.18.0.1), server on port 1 (198.18.0.2).
  std::vector<std::unique_ptr<TrafficPair>> pairs;
  pairs.push_back(std::make_unique<TrafficPair>(4, 30000));
  TrafficPair& pr = *pairs[0];
  ASSERT_EQ(sw.connect_pair(43000, &pr.tx, &pr.rx, ip("198.18.0.2"), ip("198.18.0.1")), "");
  int e = 0;
  ASSERT_NE(sw.register_memory(pr.tx, pr.tbuf.get(), 4 * 30000, MEM_READWRITE, &e), nullptr);
  ASSERT_NE(sw.register_memory(pr.rx, pr.rbuf.get(), 4 * 30000, MEM_READWRITE, &e), nullptr);
  auto r = dpsan::test::run_traffic(sw, pairs, 200, size_of, std::chrono::seconds(30));
  ASSERT_TRUE(r.all_done && r.corrupt == 0 && r.bad_status == 0);

  // The wire from port 0 to port 1 (what side 0 sends, side 1 receives).
  rte_ring* wire_ring = rte_ring_lookup("dpsan_rp_mal_00");
  ASSERT_NE(wire_ring, nullptr);
  rte_mempool* pool = rte_pktmbuf_pool_create("malformed_pool", 2047, 0, 0, kFrameRoom + RTE_PKTMBUF_HEADROOM,
                                              SOCKET_ID_ANY);
  ASSERT_NE(pool, nullptr);
  Bytes good = sniff_data_frame(sw, pr, wire_ring);
  ASSERT_FALSE(good.empty()) << "no DATA frame seen on the wire";
  wire::Frame gf;
  ASSERT_EQ(wire::decode(good.data(), good.size(), &gf), wire::DecodeStatus::kOk);

  struct Case {
    const char* what;
    Bytes frame;
    int reason;  // DPSAN_DROP_*, or -1 for the other counters checked below
  };
  std::vector<Case> cases;
  cases.push_back({"truncated inside the headers", Bytes(good.begin(), good.begin() + 30),
                   DPSAN_DROP_TOO_SHORT});
  cases.push_back({"truncated payload (IP length lies)", Bytes(good.begin(), good.end() - 10),
                   DPSAN_DROP_IP_LENGTH});
  Bytes udp_lies = good;
  udp_lies[14 + 20 + 5] ^= 0x10;  // UDP length (not covered by the IP checksum)
  cases.push_back({"UDP length lies", udp_lies, DPSAN_DROP_UDP_LENGTH});
  Bytes payload_lies = good;
  payload_lies[wire::kFrameOverhead - 56 + 41] ^= 0x01;  // payload_len, low byte
  cases.push_back({"payload_len lies", payload_lies, DPSAN_DROP_PAYLOAD_LENGTH});
  cases.push_back({"unknown opcode", reencode(good, [](auto&, auto& f) { f.opcode = 0x7e; }),
                   DPSAN_DROP_OPCODE});
  Bytes bad_crc = good;
  bad_crc[wire::kFrameOverhead + 3] ^= 0x40;
  cases.push_back({"payload bit flipped (CRC32C)", bad_crc, DPSAN_DROP_CHECKSUM});
  Bytes bad_ipsum = good;
  bad_ipsum[14 + 8] ^= 0x01;  // TTL: the IP checksum no longer holds
  cases.push_back({"IP checksum", bad_ipsum, DPSAN_DROP_IP_CHECKSUM});
  Bytes bad_version = good;
  bad_version[wire::kFrameOverhead - 56] = 9;
  cases.push_back({"unknown version", bad_version, DPSAN_DROP_VERSION});
  Bytes wrong_port = good;
  wrong_port[14 + 20 + 2] ^= 0x01;
  cases.push_back({"not our UDP port", wrong_port, DPSAN_DROP_WRONG_PORT});
  Bytes ipv6 = good;
  ipv6[12] = 0x86, ipv6[13] = 0xdd;
  cases.push_back({"another ether type", ipv6, DPSAN_DROP_NOT_IPV4});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    wire::Frame fr;
    ASSERT_EQ(static_cast<int>(wire::decode(c.frame.data(), c.frame.size(), &fr)), c.reason)
        << "the test's broken frame is not broken the way it says";
  }
  Bytes wrong_conn = reencode(good, [](auto&, auto& f) { f.dst_conn ^= 0x0000a5a5u; });
  Bytes spoofed = reencode(good, [](auto& a, auto&) { a.src_ip = ip("198.18.0.77"); });
  Bytes stale = reencode(good, [](auto&, auto& f) { f.psn -= 100; });
  Bytes future = reencode(good, [](auto&, auto& f) { f.psn += 100000; });
  Bytes not_ours = reencode(good, [](auto& a, auto&) { a.dst_ip = ip("198.18.0.9"); });
  // Well formed, but longer than the receiving port's MTU (9000): dropped as a NIC would.
  Bytes too_long(wire::kFrameOverhead + 9000, 0x5a);
  {
    wire::Fields f = gf.f;
    f.flags = wire::kFirst | wire::kLast;
    f.msg_len = 9000;
    f.msg_offset = 0;
    too_long.resize(wire::encode(too_long.data(), gf.addr, f, 9000));
    wire::Frame fr;
    ASSERT_EQ(wire::decode(too_long.data(), too_long.size(), &fr), wire::DecodeStatus::kOk);
  }

  DPSAN_STATS before = stats(sw);
  for (const Case& c : cases) inject(pool, wire_ring, c.frame, kCopies);
  inject(pool, wire_ring, wrong_conn, kCopies);
  inject(pool, wire_ring, spoofed, kCopies);
  inject(pool, wire_ring, stale, kCopies);
  inject(pool, wire_ring, future, kCopies);
  inject(pool, wire_ring, not_ours, kCopies);
  inject(pool, wire_ring, too_long, kCopies);
  // The healthy connection carries on meanwhile and after.
  for (auto& p : pairs) p->next_send = p->next_recv_post = p->received = 0;
  r = dpsan::test::run_traffic(sw, pairs, 300, size_of, std::chrono::seconds(30));
  EXPECT_TRUE(r.all_done);
  EXPECT_EQ(r.corrupt, 0u);
  EXPECT_EQ(r.bad_status, 0u) << "first error " << r.first_error;
  DPSAN_STATS after = stats(sw);

  for (const Case& c : cases)
    EXPECT_GE(after.drops_by_reason[c.reason] - before.drops_by_reason[c.reason], kCopies) << c.what;
  EXPECT_GE(after.drops_no_conn - before.drops_no_conn, 2 * kCopies) << "wrong id, spoofed source";
  EXPECT_GE(after.drops_duplicate - before.drops_duplicate, 2 * kCopies) << "stale, far-future psn";
  EXPECT_GE(after.drops_not_ours - before.drops_not_ours, kCopies) << "address not served";
  EXPECT_GE(after.drops_by_reason[DPSAN_DROP_TOO_LONG] - before.drops_by_reason[DPSAN_DROP_TOO_LONG], kCopies)
      << "longer than the port's MTU";
  EXPECT_EQ(after.connections, 2u) << "a broken frame disturbed the healthy connection";
  dpsan::test::close_pairs(sw, pairs);
  EXPECT_EQ(sw.cleanup(), 0);
}
