/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The uring port back-end (fastpath/port/uring_port.h): the frame translations, and two ports of
 * one process on 127.x.y.z loopback addresses exchanging whole dpsan frames through
 * tx_burst/rx_burst. The port is not an SPI surface: these tests check the wire contract the
 * SPI rules rest on (R40: messages arrive intact, which needs frames that decode).
 */
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <chrono>
#include <cstring>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <rte_mbuf.h>

#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "eal_main.h"
#include "tests/common/netns.h"
#include "fastpath/conn.h"
#include "fastpath/port/uring_frame.h"
#include "fastpath/port/uring_port.h"
#include "fastpath/wire/codec.h"

using namespace dpsan::fastpath;

namespace {

/** Loopback addresses of this process: 127.<pid bits>.<n>, so parallel test runs do not meet. */
uint32_t lo_addr(unsigned n) {
  unsigned p = static_cast<unsigned>(getpid());
  return htonl(127u << 24 | (1 + p % 250) << 16 | ((p / 250) % 250) << 8 | n);
}

rte_mempool* pool() {
  static rte_mempool* p = rte_pktmbuf_pool_create("ut_uring", 8191, 0, 0, 9216 + RTE_PKTMBUF_HEADROOM,
                                                  SOCKET_ID_ANY);
  return p;
}

wire::Fields data_fields(uint32_t dst_conn, uint32_t seq, uint16_t len) {
  wire::Fields f{};
  f.opcode = wire::kData;
  f.flags = wire::kFirst | wire::kLast;
  f.dst_conn = dst_conn;
  f.src_conn = 7;
  f.psn = seq;
  f.msg_seq = seq;
  f.msg_len = len;
  return f;
}

/** A DATA frame from `src` to `dst` whose payload bytes are a function of `seq`. */
rte_mbuf* make_frame(uint32_t src, uint32_t dst, uint32_t seq, uint16_t len, uint32_t dst_conn = 1) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool());
  if (m == nullptr) return nullptr;
  uint8_t* b = rte_pktmbuf_mtod(m, uint8_t*);
  for (uint16_t i = 0; i < len; i++) b[wire::kFrameOverhead + i] = static_cast<uint8_t>(seq * 7 + i);
  wire::L3Addr a{};
  a.src_ip = src;
  a.dst_ip = dst;
  std::memset(a.src_mac, 0x02, 6);
  std::memset(a.dst_mac, 0x04, 6);
  uint32_t n = wire::encode(b, a, data_fields(dst_conn, seq, len), len);
  m->data_len = static_cast<uint16_t>(n);
  m->pkt_len = n;
  return m;
}

/** Poll queue `q` of `p` until `want` frames came or `ms` passed. */
std::vector<rte_mbuf*> receive(Port* p, size_t want, uint16_t q = 0, int ms = 3000) {
  std::vector<rte_mbuf*> got;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (got.size() < want && std::chrono::steady_clock::now() < end) {
    rte_mbuf* b[32];
    uint16_t n = p->rx_burst(q, b, 32);
    got.insert(got.end(), b, b + n);
    if (n == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return got;
}

void free_all(std::vector<rte_mbuf*>& v) {
  for (rte_mbuf* m : v) rte_pktmbuf_free(m);
  v.clear();
}

/** Send all frames, retrying what the port did not take (bounded). */
void send_all(Port* p, std::vector<rte_mbuf*> v, uint16_t q = 0) {
  size_t off = 0;
  for (int tries = 0; off < v.size() && tries < 10000; tries++)
    off += p->tx_burst(q, v.data() + off, static_cast<uint16_t>(std::min<size_t>(32, v.size() - off)));
  ASSERT_EQ(off, v.size());
}

class UringPortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!dpsan::unit::eal_available()) GTEST_SKIP() << dpsan::unit::eal_error();
    ASSERT_NE(pool(), nullptr);
  }
  void TearDown() override {
    for (Port* p : ports_) {
      p->close();
      delete p;
    }
  }
  /** Open a port on lo_addr(n), or skip the test when io_uring is not there. */
  Port* open(unsigned n, uint16_t queues = 1, bool gso = true, bool gro = true) {
    UringPortConfig c;
    c.bind_ip = lo_addr(n);
    c.queues = queues;
    c.gso = gso;
    c.gro = gro;
    std::string err;
    Port* p = uring_port_open(c, pool(), &err);
    if (p == nullptr && err.find("io_uring is not available") != std::string::npos) {
      skip_ = err;
      return nullptr;
    }
    EXPECT_NE(p, nullptr) << err;
    if (p) ports_.push_back(p);
    return p;
  }
  std::vector<Port*> ports_;
  std::string skip_;
};

#define OPEN_OR_SKIP(var, ...)                   \
  Port* var = open(__VA_ARGS__);                 \
  if (var == nullptr && !skip_.empty()) GTEST_SKIP() << skip_; \
  ASSERT_NE(var, nullptr)

}  // namespace

// Given a frame from wire::encode; Expect: its datagram is the dpsan header + payload, to dst_ip.
TEST(UringFrame, R40_DatagramOfEncodedFrame) {
  uint8_t buf[256] = {};
  wire::L3Addr a{};
  a.src_ip = htonl(0xc6120001);
  a.dst_ip = htonl(0xc6120002);
  uint32_t n = wire::encode(buf, a, data_fields(3, 1, 10), 10);
  uring::Datagram d;
  ASSERT_TRUE(uring::datagram_of_frame(buf, n, wire::kUdpPort, &d));
  EXPECT_EQ(d.dst_ip, a.dst_ip);
  EXPECT_EQ(d.len, sizeof(wire::Header) + 10);
  EXPECT_EQ(d.payload, buf + 42);
}

// Given frames damaged in their headers or too short; Expect: none is sent (a receiver drops them).
TEST(UringFrame, R40_DamagedHeadersAreRefused) {
  uint8_t buf[256] = {};
  wire::L3Addr a{};
  a.src_ip = htonl(0x7f000002);
  a.dst_ip = htonl(0x7f000003);
  uint32_t n = wire::encode(buf, a, data_fields(3, 1, 10), 10);
  uring::Datagram d;
  for (uint32_t byte = 14; byte < 42; byte++) {
    if (byte == 14 + 1 || (byte >= 34 && byte < 36) || byte >= 40) continue;  // TOS, UDP src port, UDP checksum: harmless
    uint8_t copy[256];
    std::memcpy(copy, buf, n);
    copy[byte] ^= 0x10;
    EXPECT_FALSE(uring::datagram_of_frame(copy, n, wire::kUdpPort, &d)) << "byte " << byte;
  }
  for (uint32_t len = 0; len < 42; len++) EXPECT_FALSE(uring::datagram_of_frame(buf, len, wire::kUdpPort, &d));
  EXPECT_FALSE(uring::datagram_of_frame(buf, n - 1, wire::kUdpPort, &d));  // IP length beyond the frame
  EXPECT_FALSE(uring::datagram_of_frame(buf, n, 9999, &d));
}

// Given headers written in front of a received datagram; Expect: wire::decode accepts the frame
// with the kernel's source address and the bound destination, and MACs zero.
TEST(UringFrame, R40_WrittenHeadersDecode) {
  uint8_t src[256] = {}, frame[256] = {};
  wire::L3Addr a{};
  uint32_t n = wire::encode(src, a, data_fields(3, 1, 20), 20);
  std::memcpy(frame + 42, src + 42, n - 42);
  uring::write_headers(frame, htonl(0xc6120001), 4000, htonl(0xc6120002), wire::kUdpPort,
                       static_cast<uint16_t>(n - 42));
  wire::Frame f;
  ASSERT_EQ(wire::decode(frame, n, &f), wire::DecodeStatus::kOk);
  EXPECT_EQ(f.addr.src_ip, htonl(0xc6120001));
  EXPECT_EQ(f.addr.dst_ip, htonl(0xc6120002));
  EXPECT_EQ(f.payload_len, 20);
  for (int i = 0; i < 6; i++) EXPECT_EQ(f.addr.src_mac[i] | f.addr.dst_mac[i], 0);
}

TEST(UringMessage, NamesTheCause) {
  EXPECT_NE(uring_unavailable_message(ENOSYS).find("without io_uring"), std::string::npos);
  EXPECT_NE(uring_unavailable_message(EINVAL).find("6.1"), std::string::npos);
  EXPECT_NE(uring_unavailable_message(EPERM).find("io_uring is not available"), std::string::npos);
}

// Given a thread whose io_uring_setup fails (a seccomp filter answers EPERM, as
// kernel.io_uring_disabled = 2 would); Expect: open fails with a message that says io_uring is
// unavailable, and nothing else in the process is affected.
TEST_F(UringPortTest, OpenFailsClearlyWithoutIoUring) {
  std::string err;
  Port* p = nullptr;
  bool filtered = false;
  std::thread t([&] {
    sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{4, code};
    // Both are per thread: the filter ends with this thread.
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
      return;
    filtered = true;
    UringPortConfig c;
    c.bind_ip = lo_addr(9);
    p = uring_port_open(c, pool(), &err);
  });
  t.join();
  if (!filtered) GTEST_SKIP() << "cannot install a seccomp filter here";
  EXPECT_EQ(p, nullptr);
  EXPECT_NE(err.find("io_uring is not available"), std::string::npos) << err;
  EXPECT_NE(err.find("Operation not permitted"), std::string::npos) << err;
  // The port of this thread still opens.
  OPEN_OR_SKIP(ok, 10);
}

// Given two uring ports; Expect: frames sent by one arrive at the other whole, and decode with
// the sender's address as source and MACs zero.
TEST_F(UringPortTest, R40_TwoPortsExchangeFrames) {
  OPEN_OR_SKIP(a, 2);
  OPEN_OR_SKIP(b, 3);
  EXPECT_GE(a->mtu(), 1500);
  EXPECT_LE(a->mtu(), 9000);
  std::vector<rte_mbuf*> v;
  for (uint32_t i = 0; i < 8; i++) v.push_back(make_frame(lo_addr(2), lo_addr(3), i, 100 + i));
  send_all(a, v);
  auto got = receive(b, 8);
  ASSERT_EQ(got.size(), 8u);
  for (uint32_t i = 0; i < 8; i++) {
    wire::Frame f;
    ASSERT_EQ(wire::decode(rte_pktmbuf_mtod(got[i], uint8_t*), rte_pktmbuf_data_len(got[i]), &f),
              wire::DecodeStatus::kOk);
    EXPECT_EQ(f.addr.src_ip, lo_addr(2));
    EXPECT_EQ(f.addr.dst_ip, lo_addr(3));
    EXPECT_EQ(f.f.msg_seq, i);
    ASSERT_EQ(f.payload_len, 100 + i);
    for (uint32_t k = 0; k < f.payload_len; k++) ASSERT_EQ(f.payload[k], static_cast<uint8_t>(i * 7 + k));
    for (int k = 0; k < 6; k++) EXPECT_EQ(f.addr.src_mac[k] | f.addr.dst_mac[k], 0);
  }
  free_all(got);
  // And back.
  send_all(b, {make_frame(lo_addr(3), lo_addr(2), 99, 1)});
  got = receive(a, 1);
  ASSERT_EQ(got.size(), 1u);
  free_all(got);
}

// Given one burst of equal frames to one peer, then a mixed burst; Expect: GSO sends each run
// of same-destination, same-size frames (the last may be shorter) as one sendmsg, and every
// frame arrives as its own datagram, in order.
TEST_F(UringPortTest, GsoBatchesARunIntoOneSend) {
  OPEN_OR_SKIP(a, 4);
  OPEN_OR_SKIP(b, 5);
  OPEN_OR_SKIP(c, 6);
  UringPortStats s0;
  ASSERT_TRUE(uring_port_stats(a, &s0));
  std::vector<rte_mbuf*> v;
  for (uint32_t i = 0; i < 32; i++) v.push_back(make_frame(lo_addr(4), lo_addr(5), i, 1000));
  ASSERT_EQ(a->tx_burst(0, v.data(), 32), 32);
  UringPortStats s1;
  uring_port_stats(a, &s1);
  EXPECT_EQ(s1.tx_frames - s0.tx_frames, 32u);
  bool gso = s1.tx_gso_sends > s0.tx_gso_sends;
  if (gso) {
    EXPECT_EQ(s1.tx_sends - s0.tx_sends, 1u);
  } else {
    EXPECT_EQ(s1.tx_sends - s0.tx_sends, 32u);  // the kernel has no UDP GSO: one by one
  }
  auto got = receive(b, 32);
  ASSERT_EQ(got.size(), 32u);
  for (uint32_t i = 0; i < 32; i++) {
    wire::Frame f;
    ASSERT_EQ(wire::decode(rte_pktmbuf_mtod(got[i], uint8_t*), rte_pktmbuf_data_len(got[i]), &f),
              wire::DecodeStatus::kOk);
    EXPECT_EQ(f.f.msg_seq, i);
  }
  free_all(got);

  // 4 x 500 B and 1 x 200 B to b (one batch), then 3 x 300 B to c (another).
  v.clear();
  for (uint32_t i = 0; i < 4; i++) v.push_back(make_frame(lo_addr(4), lo_addr(5), i, 500));
  v.push_back(make_frame(lo_addr(4), lo_addr(5), 4, 200));
  for (uint32_t i = 0; i < 3; i++) v.push_back(make_frame(lo_addr(4), lo_addr(6), i, 300));
  ASSERT_EQ(a->tx_burst(0, v.data(), 8), 8);
  UringPortStats s2;
  uring_port_stats(a, &s2);
  if (gso) {
    EXPECT_EQ(s2.tx_sends - s1.tx_sends, 2u);
  }
  auto gb = receive(b, 5), gc = receive(c, 3);
  EXPECT_EQ(gb.size(), 5u);
  EXPECT_EQ(gc.size(), 3u);
  if (gb.size() == 5) {
    EXPECT_EQ(rte_pktmbuf_data_len(gb[4]), wire::kFrameOverhead + 200);
  }
  free_all(gb);
  free_all(gc);
  if (!gso) GTEST_SKIP() << "UDP GSO not offered by this kernel: frames went one by one";
}

// Given a frame whose IPv4 header was corrupted (as the fault injector does); Expect: the port
// takes it and drops it, and sends the good frames around it.
TEST_F(UringPortTest, R40_CorruptedHeaderIsDropped) {
  OPEN_OR_SKIP(a, 7);
  OPEN_OR_SKIP(b, 8);
  std::vector<rte_mbuf*> v = {make_frame(lo_addr(7), lo_addr(8), 0, 64),
                              make_frame(lo_addr(7), lo_addr(8), 1, 64),
                              make_frame(lo_addr(7), lo_addr(8), 2, 64)};
  rte_pktmbuf_mtod(v[1], uint8_t*)[14 + 16] ^= 1;  // destination address: checksum now wrong
  ASSERT_EQ(a->tx_burst(0, v.data(), 3), 3);
  auto got = receive(b, 2);
  EXPECT_EQ(got.size(), 2u);
  UringPortStats s;
  uring_port_stats(a, &s);
  EXPECT_EQ(s.tx_dropped, 1u);
  free_all(got);
}

// Given a port receiving straight into mbufs (no GRO), more datagrams waiting than its buffer
// ring holds, and no mbuf in the pool to refill it; Expect: the multishot receive ends for want
// of buffers, is armed again once mbufs are back, and every frame still arrives, in order.
TEST_F(UringPortTest, MultishotReceiveIsArmedAgain) {
  OPEN_OR_SKIP(a, 11);
  OPEN_OR_SKIP(b, 12, 1, true, false);
  constexpr uint32_t kN = 1500;
  for (uint32_t i = 0; i < kN; i += 30) {
    std::vector<rte_mbuf*> v;
    for (uint32_t k = i; k < i + 30 && k < kN; k++) v.push_back(make_frame(lo_addr(11), lo_addr(12), k, 64));
    send_all(a, v);
    rte_mbuf* none[1];
    a->rx_burst(0, none, 0);  // reap send completions so mbufs go back to the pool
  }
  std::vector<rte_mbuf*> hog;  // the pool, emptied
  for (rte_mbuf* m; (m = rte_pktmbuf_alloc(pool())) != nullptr;) hog.push_back(m);
  auto got = receive(b, kN, 0, 300);
  EXPECT_LT(got.size(), kN);  // only what the buffer ring held
  free_all(hog);
  auto rest = receive(b, kN - got.size());
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(got.size(), kN);
  for (uint32_t i = 0; i < got.size(); i++) {
    wire::Frame f;
    ASSERT_EQ(wire::decode(rte_pktmbuf_mtod(got[i], uint8_t*), rte_pktmbuf_data_len(got[i]), &f),
              wire::DecodeStatus::kOk);
    ASSERT_EQ(f.f.msg_seq, i);
  }
  free_all(got);
  UringPortStats s;
  uring_port_stats(b, &s);
  EXPECT_GE(s.rx_rearms, 1u);
  EXPECT_GE(s.rx_no_mbuf, 1u);
  EXPECT_EQ(s.rx_dropped, 0u);
}

// Given a port with two queues, and frames for connections of both cores in one burst; Expect:
// each datagram lands on the queue of the poll core that owns its destination connection
// (conn_id_core of dst_conn; dst_conn 0 goes to queue 0), GSO batches included.
TEST_F(UringPortTest, TwoQueuesSteerByConnectionCore) {
  OPEN_OR_SKIP(a, 13);
  OPEN_OR_SKIP(b, 14, 2);
  rte_mbuf* none[1];
  b->rx_burst(1, none, 0);  // both queues armed before anything is sent
  b->rx_burst(0, none, 0);
  std::vector<rte_mbuf*> v;
  for (uint32_t i = 0; i < 6; i++)
    v.push_back(make_frame(lo_addr(13), lo_addr(14), i, 64, i < 3 ? conn_id_make(1, 1, i + 1) : 0));
  send_all(a, v);
  auto q1 = receive(b, 3, 1);
  auto q0 = receive(b, 3, 0);
  EXPECT_EQ(q1.size(), 3u);
  EXPECT_EQ(q0.size(), 3u);
  free_all(q1);
  free_all(q0);
}

// Given a GSO batch of 32 frames to a port with GRO, and the same to a port without; Expect:
// with GRO the kernel may hand them over coalesced (fewer datagrams than frames) and the port
// splits them into 32 whole frames, in order; without GRO each is a datagram of its own.
TEST_F(UringPortTest, GroSplitsCoalescedDatagramsIntoFrames) {
  OPEN_OR_SKIP(a, 15);
  OPEN_OR_SKIP(b, 16);
  OPEN_OR_SKIP(c, 17, 1, true, false);
  rte_mbuf* none[1];
  b->rx_burst(0, none, 0);
  c->rx_burst(0, none, 0);
  for (Port* to : {b, c}) {
    uint32_t dst = to == b ? lo_addr(16) : lo_addr(17);
    std::vector<rte_mbuf*> v;
    for (uint32_t i = 0; i < 32; i++) v.push_back(make_frame(lo_addr(15), dst, i, i == 31 ? 300 : 1200));
    ASSERT_EQ(a->tx_burst(0, v.data(), 32), 32);
    auto got = receive(to, 32);
    ASSERT_EQ(got.size(), 32u);
    for (uint32_t i = 0; i < 32; i++) {
      wire::Frame f;
      ASSERT_EQ(wire::decode(rte_pktmbuf_mtod(got[i], uint8_t*), rte_pktmbuf_data_len(got[i]), &f),
                wire::DecodeStatus::kOk);
      EXPECT_EQ(f.f.msg_seq, i);
      EXPECT_EQ(f.addr.src_ip, lo_addr(15));
      EXPECT_EQ(f.payload_len, i == 31 ? 300 : 1200);
    }
    free_all(got);
  }
  UringPortStats sb, sc, sa;
  uring_port_stats(a, &sa);
  uring_port_stats(b, &sb);
  uring_port_stats(c, &sc);
  EXPECT_EQ(sb.rx_frames, 32u);
  EXPECT_EQ(sc.rx_frames, 32u);
  EXPECT_EQ(sc.rx_datagrams, 32u);
  if (sa.tx_gso_sends > 0) {
    // Loopback hands a GSO send to a GRO socket whole.
    EXPECT_LT(sb.rx_datagrams, 32u);
  }
}

// Given an address already served by a port; Expect: a second port on it, with one queue or
// with several (SO_REUSEPORT must not let it join the first one's group), fails and says why.
TEST_F(UringPortTest, AddressInUseIsRefused) {
  OPEN_OR_SKIP(a, 18);
  (void)a;
  for (uint16_t queues : {1, 2}) {
    UringPortConfig c;
    c.bind_ip = lo_addr(18);
    c.queues = queues;
    std::string err;
    Port* p = uring_port_open(c, pool(), &err);
    EXPECT_EQ(p, nullptr) << queues << " queue(s)";
    EXPECT_NE(err.find("cannot bind UDP"), std::string::npos) << err;
    EXPECT_NE(err.find("Address already in use"), std::string::npos) << err;
    delete p;
  }
}

namespace {

/** The MAC of `ifname` in the calling thread's namespace. */
bool mac_of(const std::string& ifname, uint8_t mac[6]) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq r{};
  std::snprintf(r.ifr_name, sizeof r.ifr_name, "%s", ifname.c_str());
  bool ok = s >= 0 && ioctl(s, SIOCGIFHWADDR, &r) == 0;
  if (ok) std::memcpy(mac, r.ifr_hwaddr.sa_data, 6);
  if (s >= 0) close(s);
  return ok;
}

/** Raw dpsan frames from `raw` (an AF_PACKET socket) that decode, until `want` or 3 s. */
std::vector<wire::Frame> raw_receive(int raw, size_t want, std::vector<std::vector<uint8_t>>* keep) {
  std::vector<wire::Frame> out;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (out.size() < want && std::chrono::steady_clock::now() < end) {
    std::vector<uint8_t> b(65536);
    ssize_t n = recv(raw, b.data(), b.size(), MSG_DONTWAIT);
    if (n <= 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      continue;
    }
    b.resize(static_cast<size_t>(n));
    if (n > 34 && b[12] == 0x08 && b[13] == 0 && b[14 + 9] == 17) keep->push_back(b);  // UDP only
    wire::Frame f;
    if (wire::decode(b.data(), b.size(), &f) == wire::DecodeStatus::kOk) out.push_back(f);
  }
  return out;
}

}  // namespace

// Given a raw Ethernet peer (an AF_PACKET socket, as net_af_packet uses) on one end of a veth
// pair and a uring port on the other; Expect: the port accepts the peer's frames, and what the
// port sends arrives as frames wire::decode accepts, one per dpsan frame: with gso = false, and
// with GSO once the port's veth segments UDP in software (tx-udp-segmentation off). With
// segmentation offload left on, a veth hands a GSO batch to a packet socket whole, as one
// oversized frame: that is why a uring port facing a raw peer on veth needs one of the two.
TEST_F(UringPortTest, R40_RawEthernetPeerOverVeth) {
  dpsan::test::NetnsPair net("r", false, true);
  if (!net.why.empty()) GTEST_SKIP() << net.why;
  std::string skip;
  std::thread t([&] {
    // Side 1: the uring port and its kernel; side 0: the raw peer (no kernel address there).
    uint8_t mac0[6], mac1[6];
    if (!net.enter(0) || !mac_of(net.veth[0], mac0)) return void(skip = "cannot enter namespace 0");
    int raw = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_IP));
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_protocol = htons(ETH_P_IP);
    ll.sll_ifindex = static_cast<int>(if_nametoindex(net.veth[0].c_str()));
    ASSERT_GE(raw, 0);
    ASSERT_EQ(bind(raw, reinterpret_cast<sockaddr*>(&ll), sizeof ll), 0);
    if (!net.enter(1) || !mac_of(net.veth[1], mac1)) return void(skip = "cannot enter namespace 1");
    char mac0s[18];
    std::snprintf(mac0s, sizeof mac0s, "%02x:%02x:%02x:%02x:%02x:%02x", mac0[0], mac0[1], mac0[2], mac0[3], mac0[4], mac0[5]);
    ASSERT_EQ(net.in(1, {"ip", "neigh", "add", net.ip[0], "lladdr", mac0s, "dev", net.veth[1]}), 0);
    uint32_t ip0 = inet_addr(net.ip[0].c_str()), ip1 = inet_addr(net.ip[1].c_str());

    for (int round = 0; round < 2; round++) {
      // Round 0: gso = false. Round 1: GSO, the veth cutting batches in software.
      if (round == 1 && net.in(1, {"ethtool", "-K", net.veth[1], "tx-udp-segmentation", "off"}) != 0) {
        skip = "ethtool cannot turn tx-udp-segmentation off (is ethtool installed?)";
        break;
      }
      UringPortConfig c;
      c.bind_ip = ip1;
      c.gso = round == 1;
      std::string err;
      Port* p = uring_port_open(c, pool(), &err);  // the socket is made in namespace 1
      // The previous round's socket goes when its ring's teardown ends, which the kernel may
      // finish a little after close(): wait for the address (bounded).
      for (int i = 0; p == nullptr && err.find("in use") != std::string::npos && i < 100; i++) {
        usleep(20000);
        err.clear();
        p = uring_port_open(c, pool(), &err);
      }
      ASSERT_NE(p, nullptr) << err;
      ports_.push_back(p);
      EXPECT_EQ(p->mtu(), 1500);

      // The raw peer's frames reach the port.
      for (uint32_t i = 0; i < 4; i++) {
        rte_mbuf* m = make_frame(ip0, ip1, i, 200);
        uint8_t* b = rte_pktmbuf_mtod(m, uint8_t*);
        std::memcpy(b, mac1, 6);
        std::memcpy(b + 6, mac0, 6);
        EXPECT_EQ(send(raw, b, rte_pktmbuf_data_len(m), 0), static_cast<ssize_t>(rte_pktmbuf_data_len(m)));
        rte_pktmbuf_free(m);
      }
      auto got = receive(p, 4);
      EXPECT_EQ(got.size(), 4u) << "round " << round;
      for (rte_mbuf* m : got) {
        wire::Frame f;
        EXPECT_EQ(wire::decode(rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_data_len(m), &f), wire::DecodeStatus::kOk);
        EXPECT_EQ(f.addr.src_ip, ip0);
      }
      free_all(got);

      // The port's frames reach the raw peer, each whole: 16 of one size (a GSO batch), one shorter.
      std::vector<rte_mbuf*> v;
      for (uint32_t i = 0; i < 17; i++) v.push_back(make_frame(ip1, ip0, i, i == 16 ? 100 : 1000));
      ASSERT_EQ(p->tx_burst(0, v.data(), 17), 17);
      std::vector<std::vector<uint8_t>> seen;
      auto frames = raw_receive(raw, 17, &seen);
      EXPECT_EQ(frames.size(), 17u) << "round " << round << ": " << seen.size() << " UDP frames seen, the first of "
                                    << (seen.empty() ? 0 : seen[0].size()) << " bytes";
      for (size_t i = 0; i < frames.size(); i++) {
        EXPECT_EQ(frames[i].f.msg_seq, i);
        EXPECT_EQ(frames[i].addr.src_ip, ip1);
        EXPECT_EQ(frames[i].payload_len, i == 16 ? 100 : 1000);
      }
      UringPortStats st;
      uring_port_stats(p, &st);
      if (round == 1) {
        EXPECT_GE(st.tx_gso_sends, 1u);
      }
      p->close();
    }
    close(raw);
  });
  t.join();
  if (!skip.empty()) GTEST_SKIP() << skip;
}
