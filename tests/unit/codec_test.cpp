/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * fastpath/wire/codec.h: encode() and decode(), the one writer and the one reader of dpsan frames.
 *
 * encode() is checked field by field and against a bitwise reference CRC32C; encode() then
 * decode() round-trips every opcode. Each DecodeStatus is then provoked on its own, on an
 * otherwise valid frame whose checksums are recomputed, so that the status seen is the check
 * under test. Finally decode() is run over every prefix of valid frames placed against a
 * PROT_NONE guard page (and in exactly-sized heap buffers, for ASan), and over seeded random
 * mutations, to show that it never reads past `len`.
 */
#include <endian.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fastpath/wire/body.h"
#include "fastpath/wire/codec.h"
#include "fastpath/wire/header.h"
#include "fastpath/wire/mss.h"

namespace dpsan::fastpath::wire {
namespace {

// Byte offsets in a frame.
constexpr size_t kIp = kEthLen;                      // 14
constexpr size_t kIpTotal = kIp + 2;                 // 16
constexpr size_t kIpFrag = kIp + 6;                  // 20
constexpr size_t kIpProto = kIp + 9;                 // 23
constexpr size_t kIpCsum = kIp + 10;                 // 24
constexpr size_t kUdp = kIp + kIpLen;                // 34
constexpr size_t kUdpDport = kUdp + 2;               // 36
constexpr size_t kUdpLenOff = kUdp + 4;              // 38
constexpr size_t kHdr = kUdp + kUdpLen;              // 42
constexpr size_t kPayload = kHdr + sizeof(Header);   // 90
static_assert(kPayload == kFrameOverhead);

uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void wr16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
uint32_t rd32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
void wr32(uint8_t* p, uint32_t v) {
  wr16(p, static_cast<uint16_t>(v >> 16));
  wr16(p + 2, static_cast<uint16_t>(v));
}

/** Bitwise CRC32C (Castagnoli, reflected 0x82F63B78): the reference the codec must match. */
uint32_t ref_crc32c(const uint8_t* p, size_t n, uint32_t c = 0xffffffffu) {
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
  }
  return c;
}

/** The header checksum as the wire format defines it: header with crc32c = 0, then payload. */
uint32_t ref_header_crc(const uint8_t* frame, size_t payload_len) {
  uint8_t h[sizeof(Header)];
  std::memcpy(h, frame + kHdr, sizeof h);
  std::memset(h + offsetof(Header, crc32c), 0, 4);
  return ~ref_crc32c(frame + kPayload, payload_len, ref_crc32c(h, sizeof h));
}

/** Internet checksum of the IPv4 header; 0 when the stored checksum is right. */
uint16_t ip_sum(const uint8_t* frame) {
  uint32_t s = 0;
  for (size_t i = 0; i < kIpLen; i += 2) s += rd16(frame + kIp + i);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s);
}

/** After editing a field: make the IP checksum and the dpsan CRC right again. */
void reseal(std::vector<uint8_t>& f) {
  wr16(f.data() + kIpCsum, 0);
  wr16(f.data() + kIpCsum, ip_sum(f.data()));
  size_t plen = f.size() > kPayload ? f.size() - kPayload : 0;
  wr32(f.data() + kHdr + offsetof(Header, crc32c), ref_header_crc(f.data(), plen));
}

L3Addr test_addr() {
  L3Addr a{};
  const uint8_t src[6] = {0x02, 0x00, 0x00, 0xaa, 0xbb, 0x01};
  const uint8_t dst[6] = {0x02, 0x00, 0x00, 0xcc, 0xdd, 0x02};
  std::memcpy(a.src_mac, src, 6);
  std::memcpy(a.dst_mac, dst, 6);
  a.src_ip = htobe32(0xC6120001);  // 198.18.0.1
  a.dst_ip = htobe32(0xC6120102);  // 198.18.1.2
  return a;
}

/** Fields with a distinct byte in every position, so that a missing byte swap shows. */
Fields test_fields(uint8_t op) {
  Fields f{};
  f.opcode = op;
  f.flags = 0xA5C0;
  f.dst_conn = 0x11223344;
  f.src_conn = 0x55667788;
  f.psn = 0x99AABBCC;
  f.ack_psn = 0xDDEEFF01;
  f.recv_limit = 0x0BADF00D;
  f.early_limit = 0xFEEDFACE;
  f.msg_seq = 0x12345678;
  f.msg_len = 0xCAFEBABE;
  f.msg_offset = 0x8BADF00D;
  f.sack = 0x0123456789ABCDEFull;
  return f;
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed = 0x31) {
  std::vector<uint8_t> p(n);
  for (size_t i = 0; i < n; i++) p[i] = static_cast<uint8_t>(seed + i * 13);
  return p;
}

/** Encode a frame with `payload` through the codec. */
std::vector<uint8_t> make_frame(const Fields& f, const std::vector<uint8_t>& payload,
                                const L3Addr& a = test_addr()) {
  std::vector<uint8_t> buf(kFrameOverhead + payload.size(), 0x77);
  if (!payload.empty()) std::memcpy(buf.data() + kFrameOverhead, payload.data(), payload.size());
  uint32_t n = encode(buf.data(), a, f, static_cast<uint16_t>(payload.size()));
  EXPECT_EQ(n, buf.size());
  return buf;
}

std::vector<uint8_t> connect_body() {
  ConnectBody b{be32::of(0xC6120001), be16::of(40000), be16::of(5001), be32::of(kRefused)};
  std::vector<uint8_t> v(sizeof b);
  std::memcpy(v.data(), &b, sizeof b);
  return v;
}

/** A valid DATA frame of `n` payload bytes, the whole message in one segment. */
std::vector<uint8_t> data_frame(size_t n) {
  Fields f = test_fields(kData);
  f.flags = kFirst | kLast;
  f.msg_len = static_cast<uint32_t>(n);
  f.msg_offset = 0;
  return make_frame(f, pattern(n));
}

DecodeStatus dec(const std::vector<uint8_t>& f) {
  Frame out;
  return decode(f.data(), f.size(), &out);
}

/** Pages ending in a PROT_NONE guard page: a frame placed at the end has nothing readable after. */
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t max) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_ = ((max + page_ - 1) / page_ + 1) * page_;
    void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    base_ = static_cast<uint8_t*>(p);
    end_ = base_ + size_ - page_;
    if (mprotect(end_, page_, PROT_NONE) != 0) {
      munmap(base_, size_);
      base_ = nullptr;
    }
  }
  ~GuardedBuffer() {
    if (base_) munmap(base_, size_);
  }
  bool ok() const { return base_ != nullptr; }
  /** Copy n bytes so that they end right at the guard page. */
  const uint8_t* place(const uint8_t* src, size_t n) {
    std::memcpy(end_ - n, src, n);
    return end_ - n;
  }

 private:
  size_t page_ = 0, size_ = 0;
  uint8_t* base_ = nullptr;
  uint8_t* end_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// crc32c()

TEST(WireCrc32c, MatchesTheCastagnoliCheckValue) {
  // Given the standard check input "123456789"
  const char* s = "123456789";
  // Expect: CRC32C = 0xE3069283 (init ~0, final ~), and the bitwise reference agrees
  EXPECT_EQ(~crc32c(s, 9, 0xffffffffu), 0xE3069283u);
  EXPECT_EQ(~ref_crc32c(reinterpret_cast<const uint8_t*>(s), 9), 0xE3069283u);
  // Given no bytes
  // Expect: the running value passes through unchanged
  EXPECT_EQ(crc32c(s, 0, 0x12345678u), 0x12345678u);
  // Given odd lengths and chaining (the hardware path works in 8-byte steps)
  std::vector<uint8_t> p = pattern(67);
  for (size_t n = 0; n <= p.size(); n++) {
    uint32_t whole = crc32c(p.data(), n, 0xffffffffu);
    EXPECT_EQ(whole, ref_crc32c(p.data(), n)) << "length " << n;
    size_t half = n / 3;
    EXPECT_EQ(crc32c(p.data() + half, n - half, crc32c(p.data(), half, 0xffffffffu)), whole)
        << "chained at " << half << " of " << n;
  }
}

TEST(WireCrc32c, ThreeLaneBlocksMatchTheReferenceOnLargeBuffers) {
  // Given buffers long enough for the 3 x 512 and 3 x 64 byte lane blocks, at odd offsets
  // (not periodic: lanes with equal contents could hide a lane mix-up)
  std::vector<uint8_t> p(9300);
  uint32_t x = 12345;
  for (auto& b : p) b = static_cast<uint8_t>((x = x * 1103515245u + 12345u) >> 16);
  for (size_t n : {191u, 192u, 193u, 1535u, 1536u, 1537u, 1727u, 3072u, 4099u, 8958u, 9216u}) {
    for (size_t off : {0u, 3u}) {
      // Expect: the same value as the bitwise reference, whole and chained at any split
      uint32_t whole = crc32c(p.data() + off, n, 0xffffffffu);
      EXPECT_EQ(whole, ref_crc32c(p.data() + off, n)) << "length " << n << " offset " << off;
      size_t cut = n / 2 + 5;
      EXPECT_EQ(crc32c(p.data() + off + cut, n - cut, crc32c(p.data() + off, cut, 0xffffffffu)),
                whole)
          << "chained at " << cut << " of " << n;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// encode()

TEST(WireEncode, WritesEveryLayerAsDocumented) {
  // Given a DATA frame of 20 payload bytes
  Fields f = test_fields(kData);
  f.flags = kFirst;
  f.msg_len = 100;
  f.msg_offset = 0;
  std::vector<uint8_t> payload = pattern(20);
  std::vector<uint8_t> fr = make_frame(f, payload);
  const uint8_t* p = fr.data();
  L3Addr a = test_addr();

  // Expect: Ethernet: dst MAC, src MAC, ether type IPv4
  EXPECT_EQ(std::memcmp(p, a.dst_mac, 6), 0);
  EXPECT_EQ(std::memcmp(p + 6, a.src_mac, 6), 0);
  EXPECT_EQ(rd16(p + 12), 0x0800);
  // Expect: IPv4, no options, total length, DF and no fragment, TTL, UDP, addresses, checksum
  EXPECT_EQ(p[kIp], 0x45);
  EXPECT_EQ(rd16(p + kIpTotal), kIpLen + kUdpLen + sizeof(Header) + 20);
  EXPECT_EQ(rd16(p + kIpFrag), 0x4000);
  EXPECT_EQ(p[kIp + 8], 64);
  EXPECT_EQ(p[kIpProto], 17);
  EXPECT_EQ(std::memcmp(p + kIp + 12, &a.src_ip, 4), 0);
  EXPECT_EQ(std::memcmp(p + kIp + 16, &a.dst_ip, 4), 0);
  EXPECT_EQ(ip_sum(p), 0) << "IPv4 header checksum";
  // Expect: destination UDP port 21316, a per-connection entropy source port (0xc000..), length,
  // checksum 0
  EXPECT_GE(rd16(p + kUdp), 0xc000);
  EXPECT_EQ(rd16(p + kUdpDport), kUdpPort);
  EXPECT_EQ(rd16(p + kUdpLenOff), kUdpLen + sizeof(Header) + 20);
  EXPECT_EQ(rd16(p + kUdp + 6), 0);
  // Expect: dpsan header big-endian at the documented offsets
  const uint8_t* h = p + kHdr;
  EXPECT_EQ(h[0], kVersion);
  EXPECT_EQ(h[1], kData);
  EXPECT_EQ(rd16(h + 2), kFirst);
  EXPECT_EQ(rd32(h + 4), f.dst_conn);
  EXPECT_EQ(rd32(h + 8), f.src_conn);
  EXPECT_EQ(rd32(h + 12), f.psn);
  EXPECT_EQ(rd32(h + 16), f.ack_psn);
  EXPECT_EQ(rd32(h + 20), f.recv_limit);
  EXPECT_EQ(rd32(h + 24), f.early_limit);
  EXPECT_EQ(rd32(h + 28), f.msg_seq);
  EXPECT_EQ(rd32(h + 32), f.msg_len);
  EXPECT_EQ(rd32(h + 36), f.msg_offset);
  EXPECT_EQ(rd16(h + 40), 20);
  EXPECT_EQ(rd16(h + 42), sizeof(Header));
  EXPECT_EQ(rd32(h + 44), static_cast<uint32_t>(f.sack >> 32));
  EXPECT_EQ(rd32(h + 48), static_cast<uint32_t>(f.sack));
  // Expect: CRC32C of header (this field 0) and payload, as a bitwise reference computes it
  EXPECT_EQ(rd32(h + 52), ref_header_crc(p, 20));
  // Expect: the payload left where it was
  EXPECT_EQ(std::memcmp(p + kPayload, payload.data(), 20), 0);
}

TEST(WireEncode, ReturnsFrameLengthForEmptyAndLargePayloads) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{12}, size_t{1400}, size_t{9000}}) {
    SCOPED_TRACE(testing::Message() << "payload " << n);
    // Given a payload of n bytes
    std::vector<uint8_t> fr = data_frame(n);  // make_frame checks the returned length
    // Expect: kFrameOverhead + n, and the frame decodes
    EXPECT_EQ(fr.size(), kFrameOverhead + n);
    EXPECT_EQ(dec(fr), DecodeStatus::kOk);
  }
}

// ---------------------------------------------------------------------------------------------
// encode() then decode(): every opcode round-trips.

// A zero-copy frame (fastpath/zerocopy.h): the last bytes of the payload live elsewhere; the
// headers and CRC must be those of the same frame encoded in one piece.
TEST(WireEncode, ExternalPayloadTailGivesTheSameFrame) {
  Fields f = test_fields(kData);
  f.flags = kFirst | kLast;
  f.msg_offset = 0;
  for (size_t in_buf : {size_t{0}, size_t{32}}) {
    std::vector<uint8_t> payload = pattern(in_buf + 1500);
    f.msg_len = static_cast<uint32_t>(payload.size());
    std::vector<uint8_t> whole = make_frame(f, payload);
    std::vector<uint8_t> head(kFrameOverhead + in_buf, 0x77);
    std::memcpy(head.data() + kFrameOverhead, payload.data(), in_buf);
    uint32_t n = encode(head.data(), test_addr(), f, static_cast<uint16_t>(payload.size()), true,
                        payload.data() + in_buf, 1500);
    EXPECT_EQ(n, whole.size());
    EXPECT_EQ(std::memcmp(head.data(), whole.data(), head.size()), 0) << in_buf << " bytes in the buffer";
    Frame fr;
    ASSERT_EQ(decode(whole.data(), whole.size(), &fr), DecodeStatus::kOk);
  }
}

TEST(WireDecode, RoundTripEveryOpcode) {
  for (uint8_t op = 1; op <= kOpcodeMax; op++) {
    for (size_t plen : {size_t{0}, size_t{12}, size_t{333}}) {
      bool connect = op == kConnectReq || op == kAccept || op == kReject;
      if (connect && plen != sizeof(ConnectBody)) continue;  // connect frames carry exactly a body
      if (op == kReset && plen != 0) plen = sizeof(ResetBody);  // none, or a reason
      if (op == kRdmaReadReq) plen = sizeof(RdmaBody);           // exactly the body
      if (op == kRdmaWrite && plen < sizeof(RdmaBody)) plen += sizeof(RdmaBody);
      SCOPED_TRACE(testing::Message() << "opcode " << int(op) << " payload " << plen);
      // Given a frame of this opcode with distinctive fields
      Fields f = test_fields(op);
      if (op == kData || op == kRdmaWrite || op == kRdmaReadResp) {
        f.flags = 0xA5C0;  // a middle segment that lies inside its message
        f.msg_len = 0x10000;
        f.msg_offset = 0x100;
      }
      if (op == kRdmaReadReq) {  // one request for the whole read
        f.flags = kFirst | kLast;
        f.msg_offset = 0;
      }
      std::vector<uint8_t> payload = connect ? connect_body() : pattern(plen, op);
      std::vector<uint8_t> fr = make_frame(f, payload);
      // Decode it
      Frame out;
      ASSERT_EQ(decode(fr.data(), fr.size(), &out), DecodeStatus::kOk);
      // Expect: every field back in host order, the addresses, and the payload in place
      EXPECT_EQ(out.f.opcode, op);
      EXPECT_EQ(out.f.flags, f.flags);
      EXPECT_EQ(out.f.dst_conn, f.dst_conn);
      EXPECT_EQ(out.f.src_conn, f.src_conn);
      EXPECT_EQ(out.f.psn, f.psn);
      EXPECT_EQ(out.f.ack_psn, f.ack_psn);
      EXPECT_EQ(out.f.recv_limit, f.recv_limit);
      EXPECT_EQ(out.f.early_limit, f.early_limit);
      EXPECT_EQ(out.f.msg_seq, f.msg_seq);
      EXPECT_EQ(out.f.msg_len, f.msg_len);
      EXPECT_EQ(out.f.msg_offset, f.msg_offset);
      EXPECT_EQ(out.f.sack, f.sack);
      L3Addr a = test_addr();
      EXPECT_EQ(std::memcmp(out.addr.src_mac, a.src_mac, 6), 0);
      EXPECT_EQ(std::memcmp(out.addr.dst_mac, a.dst_mac, 6), 0);
      EXPECT_EQ(out.addr.src_ip, a.src_ip);
      EXPECT_EQ(out.addr.dst_ip, a.dst_ip);
      EXPECT_EQ(out.payload, fr.data() + kFrameOverhead);
      ASSERT_EQ(out.payload_len, payload.size());
      if (!payload.empty()) {
        EXPECT_EQ(std::memcmp(out.payload, payload.data(), payload.size()), 0);
      }
      if (connect) {
        ConnectBody b;
        std::memcpy(&b, out.payload, sizeof b);
        EXPECT_EQ(b.src_ip.get(), 0xC6120001u);
        EXPECT_EQ(b.src_port.get(), 40000);
        EXPECT_EQ(b.dst_port.get(), 5001);
        EXPECT_EQ(b.reason.get(), uint32_t{kRefused});
      }
    }
  }
}

TEST(WireDecode, TrailingEthernetPaddingIsIgnored) {
  // Given a valid frame followed by 30 bytes of padding (the IP length is the authority)
  std::vector<uint8_t> fr = data_frame(10);
  fr.resize(fr.size() + 30, 0);
  Frame out;
  // Expect: kOk, and the payload is the 10 bytes, not the padding
  ASSERT_EQ(decode(fr.data(), fr.size(), &out), DecodeStatus::kOk);
  EXPECT_EQ(out.payload_len, 10);
}

// ---------------------------------------------------------------------------------------------
// decode(): each failure, one at a time.

TEST(WireDecode, TooShortAtEveryLengthBelowTheHeaders) {
  std::vector<uint8_t> fr = data_frame(0);
  ASSERT_EQ(fr.size(), kFrameOverhead);
  for (size_t n = 0; n < kFrameOverhead; n++) {
    // Given the first n bytes of a frame, n below Ethernet+IP+UDP+dpsan
    std::vector<uint8_t> prefix(fr.begin(), fr.begin() + static_cast<long>(n));
    Frame out;
    // Expect: kTooShort
    EXPECT_EQ(decode(prefix.data(), n, &out), DecodeStatus::kTooShort) << "length " << n;
  }
  // Given a null pointer with length 0
  Frame out;
  // Expect: kTooShort, nothing read
  EXPECT_EQ(decode(nullptr, 0, &out), DecodeStatus::kTooShort);
}

TEST(WireDecode, WrongEtherTypeIsNotIpv4) {
  for (uint16_t et : {0x86DD, 0x0806, 0x8100, 0x0000, 0x0008, 0x88CC}) {
    // Given an otherwise valid frame with this ether type
    std::vector<uint8_t> fr = data_frame(8);
    wr16(fr.data() + 12, et);
    // Expect: kNotIpv4
    EXPECT_EQ(dec(fr), DecodeStatus::kNotIpv4) << "ether type 0x" << std::hex << et;
  }
}

TEST(WireDecode, IpVersionOrHeaderLengthNotOursIsNotIpv4) {
  for (uint8_t vihl : {0x46, 0x4F, 0x44, 0x40, 0x65, 0x55, 0x05, 0x00}) {
    // Given an IP first byte other than version 4 with a 20-byte header
    std::vector<uint8_t> fr = data_frame(8);
    fr[kIp] = vihl;
    reseal(fr);
    // Expect: kNotIpv4
    EXPECT_EQ(dec(fr), DecodeStatus::kNotIpv4) << "version/ihl 0x" << std::hex << int(vihl);
  }
}

TEST(WireDecode, IpTotalLengthLyingIsRejected) {
  std::vector<uint8_t> good = data_frame(40);
  const uint16_t real = rd16(good.data() + kIpTotal);
  const uint16_t min = kIpLen + kUdpLen + sizeof(Header);
  struct Case {
    uint16_t total;
    DecodeStatus want;
    const char* what;
  } cases[] = {
      {static_cast<uint16_t>(real + 1), DecodeStatus::kIpLength, "one more than the frame holds"},
      {0xFFFF, DecodeStatus::kIpLength, "largest"},
      {0, DecodeStatus::kIpLength, "zero"},
      {static_cast<uint16_t>(min - 1), DecodeStatus::kIpLength, "too small for the headers"},
      {kIpLen, DecodeStatus::kIpLength, "IP header only"},
      // Too small but not below the headers: the UDP length no longer agrees, which is the
      // first check that can see it.
      {static_cast<uint16_t>(real - 1), DecodeStatus::kUdpLength, "one less than the frame"},
      {min, DecodeStatus::kUdpLength, "headers only"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    // Given a frame whose IP total length is `total`
    std::vector<uint8_t> fr = good;
    wr16(fr.data() + kIpTotal, c.total);
    reseal(fr);
    // Expect: the stated status
    EXPECT_EQ(dec(fr), c.want) << "total " << c.total;
  }
  // Given IP and UDP both claiming one byte less than the frame
  std::vector<uint8_t> fr = good;
  wr16(fr.data() + kIpTotal, static_cast<uint16_t>(real - 1));
  wr16(fr.data() + kUdpLenOff, static_cast<uint16_t>(real - 1 - kIpLen));
  reseal(fr);
  // Expect: the dpsan payload length disagrees
  EXPECT_EQ(dec(fr), DecodeStatus::kPayloadLength);
}

TEST(WireDecode, FragmentsAreRejected) {
  struct Case {
    uint16_t frag;
    DecodeStatus want;
  } cases[] = {
      {0x2000, DecodeStatus::kFragment},  // MF
      {0x6000, DecodeStatus::kFragment},  // DF | MF
      {0x0001, DecodeStatus::kFragment},  // offset 8
      {0x1FFF, DecodeStatus::kFragment},  // largest offset
      {0x4001, DecodeStatus::kFragment},  // DF with an offset
      {0x4000, DecodeStatus::kOk},        // DF only: what encode writes
      {0x0000, DecodeStatus::kOk},        // not fragmented, DF clear
  };
  for (const Case& c : cases) {
    // Given an otherwise valid frame with these flags/offset
    std::vector<uint8_t> fr = data_frame(8);
    wr16(fr.data() + kIpFrag, c.frag);
    reseal(fr);
    // Expect: kFragment for any MF or offset
    EXPECT_EQ(dec(fr), c.want) << "flags/offset 0x" << std::hex << c.frag;
  }
}

TEST(WireDecode, NonUdpIsRejected) {
  for (uint8_t proto : {0, 1, 6, 132, 255}) {
    // Given an IP protocol other than UDP
    std::vector<uint8_t> fr = data_frame(8);
    fr[kIpProto] = proto;
    reseal(fr);
    // Expect: kNotUdp
    EXPECT_EQ(dec(fr), DecodeStatus::kNotUdp) << "protocol " << int(proto);
  }
}

TEST(WireDecode, WrongUdpDestinationPortIsRejected) {
  for (uint16_t port : {uint16_t(kUdpPort + 1), uint16_t(kUdpPort - 1), uint16_t(0), uint16_t(0x4453),
                        uint16_t(0xFFFF)}) {
    // Given a UDP destination port other than 21316
    std::vector<uint8_t> fr = data_frame(8);
    wr16(fr.data() + kUdpDport, port);
    reseal(fr);
    // Expect: kWrongPort
    EXPECT_EQ(dec(fr), DecodeStatus::kWrongPort) << "port " << port;
  }
}

TEST(WireDecode, UdpLengthLyingIsRejected) {
  std::vector<uint8_t> good = data_frame(40);
  const uint16_t real = rd16(good.data() + kUdpLenOff);
  for (uint16_t len : {uint16_t(real + 1), uint16_t(real - 1), uint16_t(0), uint16_t(kUdpLen),
                       uint16_t(0xFFFF), uint16_t(real + kIpLen)}) {
    // Given a UDP length that disagrees with the IP total length
    std::vector<uint8_t> fr = good;
    wr16(fr.data() + kUdpLenOff, len);
    reseal(fr);
    // Expect: kUdpLength
    EXPECT_EQ(dec(fr), DecodeStatus::kUdpLength) << "udp length " << len;
  }
}

TEST(WireDecode, BadVersionOrHeaderLengthIsRejected) {
  for (uint8_t v : {0, 2, 0x10, 0xFF}) {
    // Given dpsan version v, checksum recomputed
    std::vector<uint8_t> fr = data_frame(8);
    fr[kHdr] = v;
    reseal(fr);
    // Expect: kVersion
    EXPECT_EQ(dec(fr), DecodeStatus::kVersion) << "version " << int(v);
  }
  for (uint16_t hl : {0, 47, 49, 64, 0x3000, 0xFFFF}) {
    // Given hdr_len other than 56, checksum recomputed
    std::vector<uint8_t> fr = data_frame(8);
    wr16(fr.data() + kHdr + offsetof(Header, hdr_len), hl);
    reseal(fr);
    // Expect: kVersion
    EXPECT_EQ(dec(fr), DecodeStatus::kVersion) << "hdr_len " << hl;
  }
}

TEST(WireDecode, UnknownOpcodeIsRejected) {
  for (unsigned op : {0u, unsigned(kOpcodeMax) + 1, 0x10u, 0x80u, 0xFFu}) {
    // Given a frame encoded with opcode op (so every checksum is right)
    std::vector<uint8_t> fr = make_frame(test_fields(static_cast<uint8_t>(op)), pattern(4));
    // Expect: kOpcode
    EXPECT_EQ(dec(fr), DecodeStatus::kOpcode) << "opcode " << op;
  }
}

TEST(WireDecode, PayloadLengthDisagreeingWithUdpIsRejected) {
  std::vector<uint8_t> good = data_frame(20);
  for (uint16_t pl : {19, 21, 0, 0xFFFF, 20 + 8}) {
    // Given a header payload_len other than the 20 bytes UDP carries, checksum recomputed
    std::vector<uint8_t> fr = good;
    wr16(fr.data() + kHdr + offsetof(Header, payload_len), pl);
    reseal(fr);
    // Expect: kPayloadLength
    EXPECT_EQ(dec(fr), DecodeStatus::kPayloadLength) << "payload_len " << pl;
  }
}

TEST(WireDecode, FlippedBitInHeaderOrPayloadIsRejected) {
  // Given valid DATA and CONNECT_REQ frames
  Fields cf = test_fields(kConnectReq);
  const std::vector<std::vector<uint8_t>> frames = {data_frame(37), make_frame(cf, connect_body()),
                                                    data_frame(0)};
  for (const auto& good : frames) {
    ASSERT_EQ(dec(good), DecodeStatus::kOk);
    for (size_t byte = kHdr; byte < good.size(); byte++) {
      for (int bit = 0; bit < 8; bit++) {
        // Flip one bit of the dpsan header or the payload
        std::vector<uint8_t> fr = good;
        fr[byte] ^= static_cast<uint8_t>(1u << bit);
        DecodeStatus s = dec(fr);
        // Expect: never kOk. The CRC catches it, unless a check that runs before the CRC does
        // (version, hdr_len, opcode, payload_len); never a check after it.
        size_t h = byte - kHdr;
        DecodeStatus want = DecodeStatus::kChecksum;
        if (h == offsetof(Header, version)) want = DecodeStatus::kVersion;
        if (h == offsetof(Header, hdr_len) || h == offsetof(Header, hdr_len) + 1)
          want = DecodeStatus::kVersion;
        if (h == offsetof(Header, payload_len) || h == offsetof(Header, payload_len) + 1)
          want = DecodeStatus::kPayloadLength;
        if (h == offsetof(Header, opcode) && (fr[byte] == 0 || fr[byte] > kOpcodeMax))
          want = DecodeStatus::kOpcode;
        ASSERT_EQ(s, want) << "frame of " << good.size() << " bytes, byte " << byte << " bit " << bit;
      }
    }
  }
}

TEST(WireDecode, ConnectBodyOfWrongSizeIsBadBody) {
  for (uint8_t op : {kConnectReq, kAccept, kReject}) {
    for (size_t n : {size_t{0}, size_t{1}, sizeof(ConnectBody) - 1, sizeof(ConnectBody) + 1,
                     2 * sizeof(ConnectBody)}) {
      // Given a connect frame (checksums right) whose payload is not one ConnectBody
      std::vector<uint8_t> fr = make_frame(test_fields(op), pattern(n));
      // Expect: kBadBody
      EXPECT_EQ(dec(fr), DecodeStatus::kBadBody) << "opcode " << int(op) << " payload " << n;
    }
    // Given exactly one ConnectBody
    // Expect: kOk
    EXPECT_EQ(dec(make_frame(test_fields(op), connect_body())), DecodeStatus::kOk);
  }
}

TEST(WireDecode, DataSegmentMustLieInsideItsMessage) {
  struct Case {
    uint32_t msg_len, msg_offset;
    uint16_t payload;
    uint16_t flags;
    DecodeStatus want;
    const char* what;
  } cases[] = {
      {100, 0, 100, kFirst | kLast, DecodeStatus::kOk, "whole message"},
      {100, 0, 40, kFirst, DecodeStatus::kOk, "first segment"},
      {100, 40, 40, 0, DecodeStatus::kOk, "middle segment"},
      {100, 60, 40, kLast, DecodeStatus::kOk, "last segment ends at msg_len"},
      {100, 100, 0, kLast, DecodeStatus::kOk, "empty segment at the end"},
      {0, 0, 0, kFirst | kLast, DecodeStatus::kOk, "empty message"},
      {UINT32_MAX, UINT32_MAX - 32, 32, kLast, DecodeStatus::kOk, "ends at 2^32-1"},
      {100, 61, 40, 0, DecodeStatus::kBadBody, "overruns msg_len by one"},
      {100, 101, 0, 0, DecodeStatus::kBadBody, "offset past msg_len"},
      {0, 0, 1, kFirst | kLast, DecodeStatus::kBadBody, "payload in an empty message"},
      {UINT32_MAX, 0xFFFFFFF0u, 32, 0, DecodeStatus::kBadBody, "offset + payload wraps 32 bits"},
      {0x10, 0xFFFFFFF0u, 32, 0, DecodeStatus::kBadBody, "wraps to exactly msg_len"},
      {UINT32_MAX, UINT32_MAX, 1, 0, DecodeStatus::kBadBody, "offset 2^32-1 plus one byte"},
      {100, 10, 40, kFirst, DecodeStatus::kBadBody, "first segment not at offset 0"},
      {100, 0, 40, kLast, DecodeStatus::kBadBody, "last segment short of msg_len"},
      {100, 0, 40, kFirst | kLast, DecodeStatus::kBadBody, "single segment short of msg_len"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    // Given a DATA frame (checksums right) with these segment fields
    Fields f = test_fields(kData);
    f.msg_len = c.msg_len;
    f.msg_offset = c.msg_offset;
    f.flags = c.flags;
    std::vector<uint8_t> fr = make_frame(f, pattern(c.payload));
    // Expect: the stated status
    EXPECT_EQ(dec(fr), c.want);
  }
}

/** A packed DATA payload: per message a be32 length, then its bytes (header.h, kPacked). */
std::vector<uint8_t> packed_payload(const std::vector<uint32_t>& lens) {
  std::vector<uint8_t> v;
  for (uint32_t n : lens) {
    uint8_t len[4];
    packed_put_len(len, n);
    v.insert(v.end(), len, len + 4);
    std::vector<uint8_t> body = pattern(n, static_cast<uint8_t>(n));
    v.insert(v.end(), body.begin(), body.end());
  }
  return v;
}

TEST(WireDecode, PackedDataHoldsExactlyItsMessages) {
  struct Case {
    uint32_t count;
    std::vector<uint32_t> lens;
    size_t trim;     ///< bytes cut off the end of the payload
    size_t extra;    ///< bytes added after the last message
    uint16_t flags;
    uint32_t msg_offset;
    DecodeStatus want;
    const char* what;
  } cases[] = {
      {3, {64, 1, 200}, 0, 0, kFirst | kLast | kPacked, 0, DecodeStatus::kOk, "three messages"},
      {2, {0, 0}, 0, 0, kFirst | kLast | kPacked, 0, DecodeStatus::kOk, "empty messages"},
      {1, {9}, 0, 0, kFirst | kLast | kPacked, 0, DecodeStatus::kOk, "one message"},
      {0, {}, 0, 0, kFirst | kLast | kPacked, 0, DecodeStatus::kBadBody, "no message"},
      {4, {64, 1, 200}, 0, 0, kFirst | kLast | kPacked, 0, DecodeStatus::kBadBody, "count too high"},
      {2, {64, 1, 200}, 0, 0, kFirst | kLast | kPacked, 0, DecodeStatus::kBadBody, "count too low"},
      {0xFFFFFFFFu, {64, 1}, 0, 0, kFirst | kLast | kPacked, 0, DecodeStatus::kBadBody, "huge count"},
      {3, {64, 1, 200}, 1, 0, kFirst | kLast | kPacked, 0, DecodeStatus::kBadBody, "last one cut"},
      {3, {64, 1, 200}, 202, 0, kFirst | kLast | kPacked, 0, DecodeStatus::kBadBody, "length cut"},
      {3, {64, 1, 200}, 0, 3, kFirst | kLast | kPacked, 0, DecodeStatus::kBadBody, "bytes after"},
      {2, {64, 1}, 0, 0, kFirst | kPacked, 0, DecodeStatus::kBadBody, "not last"},
      {2, {64, 1}, 0, 0, kLast | kPacked, 0, DecodeStatus::kBadBody, "not first"},
      {2, {64, 1}, 0, 0, kFirst | kLast | kPacked | 8, 0, DecodeStatus::kBadBody, "unknown flag"},
      {2, {64, 1}, 0, 0, kFirst | kLast | kPacked, 4, DecodeStatus::kBadBody, "an offset"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    // Given a packed DATA frame (checksums right) with these messages and fields
    Fields f = test_fields(kData);
    f.flags = c.flags;
    f.msg_len = c.count;
    f.msg_offset = c.msg_offset;
    std::vector<uint8_t> p = packed_payload(c.lens);
    p.resize(p.size() - c.trim + c.extra, 0);
    std::vector<uint8_t> fr = make_frame(f, p);
    // Expect: the stated status; accepted ones walk back to the same lengths and bytes
    Frame out{};
    ASSERT_EQ(decode(fr.data(), fr.size(), &out), c.want);
    if (c.want != DecodeStatus::kOk) continue;
    uint32_t off = 0;
    for (uint32_t n : c.lens) {
      const uint8_t* data;
      ASSERT_EQ(packed_next(out.payload, &off, &data), n);
      // memcmp's pointers must not be null even for 0 bytes (UBSan): an empty message has none.
      if (n != 0) {
        EXPECT_EQ(std::memcmp(data, pattern(n, static_cast<uint8_t>(n)).data(), n), 0);
      }
    }
    EXPECT_EQ(off, out.payload_len);
  }
}

TEST(WireDecode, SegmentFieldsAreNotCheckedOnOtherOpcodes) {
  // Given ACK, CREDIT, RESET, KEEPALIVE frames whose msg fields would be bad for DATA
  for (uint8_t op : {kAck, kCredit, kReset, kKeepalive}) {
    Fields f = test_fields(op);
    f.msg_len = 1;
    f.msg_offset = 0xFFFFFFF0u;
    f.flags = kFirst | kLast;
    // Expect: kOk (only DATA and the RDMA opcodes carry a segment; RESET a 4-byte reason)
    EXPECT_EQ(dec(make_frame(f, pattern(op == kReset ? 4 : 5))), DecodeStatus::kOk)
        << "opcode " << int(op);
  }
}

// ---------------------------------------------------------------------------------------------
// decode() never reads past `len`.

TEST(WireDecode, EveryPrefixStaysInsideTheBuffer) {
  Fields cf = test_fields(kAccept);
  const std::vector<std::vector<uint8_t>> frames = {data_frame(0), make_frame(cf, connect_body()),
                                                    data_frame(700), data_frame(5000)};
  GuardedBuffer g(8192);
  ASSERT_TRUE(g.ok()) << "mmap/mprotect failed";
  for (const auto& fr : frames) {
    for (size_t n = 0; n <= fr.size(); n++) {
      SCOPED_TRACE(testing::Message() << "frame of " << fr.size() << ", prefix " << n);
      // Given the first n bytes, ending right at a PROT_NONE page
      const uint8_t* p = g.place(fr.data(), n);
      Frame out;
      DecodeStatus s = decode(p, n, &out);
      // And the same bytes in a heap buffer of exactly n bytes (ASan sees any overread)
      std::vector<uint8_t> exact(fr.begin(), fr.begin() + static_cast<long>(n));
      Frame out2;
      DecodeStatus s2 = decode(exact.data(), n, &out2);
      // Expect: no fault; too short below the headers, an IP length error for a cut payload,
      // kOk for the whole frame
      DecodeStatus want = n < kFrameOverhead  ? DecodeStatus::kTooShort
                          : n < fr.size()     ? DecodeStatus::kIpLength
                                              : DecodeStatus::kOk;
      ASSERT_EQ(s, want);
      ASSERT_EQ(s2, want);
    }
  }
}

TEST(WireDecode, RandomMutationsStayInsideTheBuffer) {
  // Seeded: set DPSAN_TEST_SEED to replay a run.
  uint64_t seed = 0x5eed5eedull;
  if (const char* s = std::getenv("DPSAN_TEST_SEED")) seed = std::strtoull(s, nullptr, 0);
  SCOPED_TRACE(testing::Message() << "seed " << seed << " (DPSAN_TEST_SEED to replay)");
  std::mt19937_64 rng(seed);
  Fields cf = test_fields(kConnectReq);
  const std::vector<std::vector<uint8_t>> seeds = {data_frame(0), data_frame(64), make_frame(cf, connect_body())};
  GuardedBuffer g(4096);
  ASSERT_TRUE(g.ok());
  unsigned ok_count = 0;
  std::set<DecodeStatus> seen;
  for (unsigned it = 0; it < 200000; it++) {
    // Given a valid frame with a few random bytes changed, then cut or extended at random
    std::vector<uint8_t> fr = seeds[rng() % seeds.size()];
    unsigned edits = 1 + rng() % 4;
    for (unsigned e = 0; e < edits; e++) {
      size_t at = rng() % fr.size();
      if (rng() & 1)
        fr[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
      else
        fr[at] = static_cast<uint8_t>(rng());
    }
    if (rng() % 4 == 0) fr.resize(rng() % (fr.size() + 64), static_cast<uint8_t>(rng()));
    if (rng() % 8 == 0) reseal(fr);
    const uint8_t* p = g.place(fr.data(), fr.size());
    Frame out;
    DecodeStatus s = decode(p, fr.size(), &out);
    seen.insert(s);
    // Expect: a known status; on kOk, a payload that lies inside the buffer
    ASSERT_LT(static_cast<unsigned>(s), static_cast<unsigned>(DecodeStatus::kCount)) << "iteration " << it;
    if (s == DecodeStatus::kOk) {
      ok_count++;
      ASSERT_GE(out.payload, p + kFrameOverhead) << "iteration " << it;
      ASSERT_LE(out.payload + out.payload_len, p + fr.size()) << "iteration " << it;
    }
  }
  RecordProperty("decoded_ok", std::to_string(ok_count));
  RecordProperty("distinct_statuses", std::to_string(seen.size()));
}

// ---------------------------------------------------------------------------------------------
// decode_status_name()

TEST(WireDecodeStatusName, EveryStatusHasItsOwnName) {
  std::set<std::string> names;
  for (unsigned i = 0; i < static_cast<unsigned>(DecodeStatus::kCount); i++) {
    // Given each defined status
    const char* n = decode_status_name(static_cast<DecodeStatus>(i));
    // Expect: a real, distinct name
    ASSERT_NE(n, nullptr);
    EXPECT_STRNE(n, "?") << "status " << i;
    EXPECT_TRUE(names.insert(n).second) << "duplicate name " << n;
  }
  EXPECT_STREQ(decode_status_name(DecodeStatus::kOk), "ok");
  EXPECT_STREQ(decode_status_name(DecodeStatus::kChecksum), "checksum");
  // Given kCount and an out-of-range value
  // Expect: "?"
  EXPECT_STREQ(decode_status_name(DecodeStatus::kCount), "?");
  EXPECT_STREQ(decode_status_name(static_cast<DecodeStatus>(200)), "?");
}

// ---------------------------------------------------------------------------------------------
// Segment size negotiation (mss.h): ConnectBody::rx_mss in CONNECT_REQ and ACCEPT.

/** A connect frame of opcode `op` whose body's last word is `word` (rx_mss, or a reject reason). */
Frame connect_frame_with(uint8_t op, uint32_t word, std::vector<uint8_t>* keep) {
  ConnectBody b{be32::of(0xC6120001), be16::of(40000), be16::of(5001), be32::of(word)};
  std::vector<uint8_t> body(sizeof b);
  std::memcpy(body.data(), &b, sizeof b);
  *keep = make_frame(test_fields(op), body);
  Frame fr;
  EXPECT_EQ(decode(keep->data(), keep->size(), &fr), DecodeStatus::kOk);
  return fr;
}

TEST(WireMss, MssOfMtuLeavesRoomForTheHeaders) {
  // Expect: MTU less IPv4 (20), UDP (8) and dpsan (56) headers
  EXPECT_EQ(mss_of_mtu(1500), 1416u);
  EXPECT_EQ(mss_of_mtu(9000), 8916u);
  EXPECT_EQ(kMssConservative, 1416);
  EXPECT_EQ(kMssMin, 492);
  static_assert(kMssMin > sizeof(RdmaBody), "an RDMA_WRITE frame always has room for data");
}

TEST(WireMss, ReadConnectTakesTheAdvertisedSizeFromConnectReqAndAccept) {
  for (uint8_t op : {kConnectReq, kAccept}) {
    SCOPED_TRACE(int(op));
    std::vector<uint8_t> keep;
    ConnectInfo ci{};
    // Given a peer that says it takes 8,902 bytes per frame; Expect: 8,902
    ASSERT_TRUE(read_connect(connect_frame_with(op, 8916, &keep), &ci));
    EXPECT_EQ(ci.rx_mss, 8916u);
    EXPECT_EQ(ci.src_port, 40000);
    EXPECT_EQ(ci.dst_port, 5001);
    // Given an older peer (0: the field did not exist); Expect: what MTU 1500 carries
    ASSERT_TRUE(read_connect(connect_frame_with(op, 0, &keep), &ci));
    EXPECT_EQ(ci.rx_mss, kMssConservative);
    // Given sizes out of range; Expect: clamped to kMssMin..65535
    for (uint32_t tiny : {1u, 32u, 491u}) {
      ASSERT_TRUE(read_connect(connect_frame_with(op, tiny, &keep), &ci));
      EXPECT_EQ(ci.rx_mss, kMssMin) << tiny;
    }
    ASSERT_TRUE(read_connect(connect_frame_with(op, kMssMin, &keep), &ci));
    EXPECT_EQ(ci.rx_mss, kMssMin);
    for (uint32_t huge : {65535u, 65536u, 0xffffffffu}) {
      ASSERT_TRUE(read_connect(connect_frame_with(op, huge, &keep), &ci));
      EXPECT_EQ(ci.rx_mss, 65535u) << huge;
    }
  }
}

TEST(WireMss, RejectKeepsItsReasonAndAdvertisesNothing) {
  std::vector<uint8_t> keep;
  ConnectInfo ci{};
  // Given a REJECT with WSAENOBUFS; Expect: the reason, and no size
  ASSERT_TRUE(read_connect(connect_frame_with(kReject, kNoResources, &keep), &ci));
  EXPECT_EQ(ci.reason, uint32_t{kNoResources});
  EXPECT_EQ(ci.rx_mss, 0u);
  // Given a REJECT with another code; Expect: read as refused
  ASSERT_TRUE(read_connect(connect_frame_with(kReject, 8916, &keep), &ci));
  EXPECT_EQ(ci.reason, uint32_t{kRefused});
}

TEST(WireMss, ConnectionSendsTheSmallerOfOwnAndPeerSizes) {
  // Given our port at MTU 9000 (8,916) and a peer at 1500; Expect: 1,416, either way round
  EXPECT_EQ(conn_mss(8916, 1416), 1416);
  EXPECT_EQ(conn_mss(1416, 8916), 1416);
  // Given two jumbo ports; Expect: jumbo frames
  EXPECT_EQ(conn_mss(8916, 8916), 8916);
  // Given an older peer (0); Expect: 1,416 even from a jumbo port
  EXPECT_EQ(conn_mss(8916, 0), 1416);
  // Given a port smaller than the peer's claim; Expect: our own limit
  EXPECT_EQ(conn_mss(600, 65535), 600);
  // Given a peer claiming less than kMssMin; Expect: kMssMin
  EXPECT_EQ(conn_mss(8916, 10), kMssMin);
}

TEST(WireMss, ConnectBodyKeepsItsSizeSoOlderPeersDecodeIt) {
  // The field reuses the reject reason's word: an older decoder, which wants exactly 12 bytes,
  // still accepts a CONNECT_REQ that carries it.
  static_assert(sizeof(ConnectBody) == 12);
  static_assert(offsetof(ConnectBody, rx_mss) == offsetof(ConnectBody, reason));
  std::vector<uint8_t> keep;
  connect_frame_with(kConnectReq, 8916, &keep);
  EXPECT_EQ(rd32(keep.data() + kPayload + 8), 8916u);
}

}  // namespace
}  // namespace dpsan::fastpath::wire
